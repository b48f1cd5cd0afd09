"""Fellowships and their type vocabularies. Service bodies are registered by
`meetings/admin_service_bodies.py`: which bodies a curator sees is a curator
scope (`meetings/curation.py`), and this app knows nothing of meetings."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy, ngettext

from fellowships.models import Fellowship, MeetingType


class VocabularyAdmin(admin.ModelAdmin):
    """Shown, never written: the vocabularies are code (`fellowships/vocabularies.py`)
    and `vocabularies_sync()` writes them (the sample data's loading step too),
    so a hand edit would be overwritten on the next sync without a word."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Fellowship)
class FellowshipAdmin(VocabularyAdmin):
    """A new default open/closed (from the vocabulary) is followed by every
    meeting whose types say neither (`meetings.services.fellowship_saved`)."""

    list_display = ("name", "slug", "default_open_closed", "types_link")
    search_fields = ("name", "slug")
    readonly_fields = ("types_link",)
    fields = ("name", "slug", "website", "default_open_closed", "types_link")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Fellowship]:
        return super().get_queryset(request).annotate(type_count=Count("types"))

    @admin.display(description=gettext_lazy("types"), ordering="type_count")
    def types_link(self, fellowship: Fellowship) -> str:
        url = reverse("admin:fellowships_meetingtype_changelist") + f"?fellowship__id__exact={fellowship.pk}"
        count = getattr(fellowship, "type_count", 0)
        return format_html('<a href="{}">{}</a>', url, ngettext("%(count)d type", "%(count)d types", count)
                           % {"count": count})


@admin.register(MeetingType)
class MeetingTypeAdmin(VocabularyAdmin):
    """A changed name, language or meaning (from the vocabulary) is followed
    by the meetings carrying the type (`meetings.services.type_texts_follow`)."""

    list_display = ("code", "name", "fellowship", "kind", "meaning", "language")
    list_filter = ("fellowship", "kind", "meaning")
    search_fields = ("code", "name")
    list_select_related = ("fellowship",)
    ordering = ("fellowship__slug", "code")
