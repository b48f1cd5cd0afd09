"""Service bodies in the admin. Registered from `meetings`, not from
`fellowships`, because which bodies a curator sees is a curator scope
(`meetings/curation.py`); the fellowships app stands alone."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy

from fellowships.models import ServiceBody
from meetings.admin_scope import CuratorScopedAdmin
from meetings.forms import ServiceBodyAdminForm


@admin.register(ServiceBody)
class ServiceBodyAdmin(CuratorScopedAdmin):
    form = ServiceBodyAdminForm
    list_display = ("name", "fellowship", "parent", "timezone", "location")
    list_filter = (("fellowship", admin.RelatedOnlyFieldListFilter),)  # of the bodies the user may see
    search_fields = ("name", "slug", "location")
    list_select_related = ("fellowship", "parent")
    autocomplete_fields = ("parent",)
    filter_horizontal = ("curators",)
    prepopulated_fields = {"slug": ("name",)}
    fieldsets = (
        (None, {"fields": ("name", "slug", "fellowship", "parent", "location")}),
        (gettext_lazy("Curators"), {
            "fields": ("curators",),
            "description": gettext_lazy("Staff users in the Curators group who keep this body's listings and those "
                                        "of the bodies below it (see README, Curators)."),
        }),
        (gettext_lazy("Defaults for its meetings"), {"fields": ("timezone", "default_language")}),
        (gettext_lazy("Contact"), {"fields": ("website", "email", "phone")}),
    )
