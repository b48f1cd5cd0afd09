"""Fellowships, their type vocabularies and the service bodies that keep lists."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from fellowships.models import Fellowship, MeetingType, ServiceBody
from meetings.admin_scope import CuratorScopedAdmin
from meetings.forms import clean_zone_name


@admin.register(Fellowship)
class FellowshipAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "default_open_closed", "types_link")
    search_fields = ("name", "slug")
    readonly_fields = ("types_link",)
    fields = ("name", "slug", "website", "default_open_closed", "types_link")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Fellowship]:
        return super().get_queryset(request).annotate(type_count=Count("types"))

    @admin.display(description="types", ordering="type_count")
    def types_link(self, fellowship: Fellowship) -> str:
        url = reverse("admin:fellowships_meetingtype_changelist") + f"?fellowship__id__exact={fellowship.pk}"
        return format_html('<a href="{}">{} types</a>', url, getattr(fellowship, "type_count", 0))


@admin.register(MeetingType)
class MeetingTypeAdmin(admin.ModelAdmin):
    """Read-only: the vocabularies are code (`fellowships/vocabularies.py`)
    and `vocabularies_sync()` writes them; a hand edit would be overwritten
    on the next sync, and a changed meaning would leave every meeting's
    derived open/closed and attendance stale."""

    list_display = ("code", "name", "fellowship", "kind", "meaning", "language")
    list_filter = ("fellowship", "kind", "meaning")
    search_fields = ("code", "name")
    list_select_related = ("fellowship",)
    ordering = ("fellowship__slug", "code")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: MeetingType | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: MeetingType | None = None) -> bool:
        return False


class ServiceBodyAdminForm(forms.ModelForm):
    class Meta:
        model = ServiceBody
        fields = "__all__"

    def clean_timezone(self) -> str:
        name = clean_zone_name(self.cleaned_data.get("timezone", ""))
        if not name:
            raise forms.ValidationError("A service body needs a default time zone for its meetings.")
        return name

    def clean_parent(self) -> ServiceBody | None:
        parent = self.cleaned_data.get("parent")
        # Walk up from the chosen parent: reaching this body would make a loop.
        ancestor, seen = parent, set()
        while ancestor is not None and self.instance.pk and ancestor.pk not in seen:
            if ancestor.pk == self.instance.pk:
                raise forms.ValidationError("A service body cannot sit under itself or one of its own children.")
            seen.add(ancestor.pk)
            ancestor = ancestor.parent
        return parent


@admin.register(ServiceBody)
class ServiceBodyAdmin(CuratorScopedAdmin):
    form = ServiceBodyAdminForm
    list_display = ("name", "fellowship", "parent", "timezone", "location")
    list_filter = ("fellowship",)
    search_fields = ("name", "slug", "location")
    list_select_related = ("fellowship", "parent")
    autocomplete_fields = ("parent",)
    filter_horizontal = ("curators",)
    prepopulated_fields = {"slug": ("name",)}
    fieldsets = (
        (None, {"fields": ("name", "slug", "fellowship", "parent", "location")}),
        ("Curators", {
            "fields": ("curators",),
            "description": "Staff users in the Curators group who keep this body's listings and those of the "
                           "bodies below it (see README, Curators).",
        }),
        ("Defaults for its meetings", {"fields": ("timezone", "default_language")}),
        ("Contact", {"fields": ("website", "email", "phone")}),
    )
