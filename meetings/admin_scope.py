"""The admin side of curator scopes (meetings/curation.py): one mixin that
narrows an admin's queryset, its object permissions and the choices of its
foreign keys. Lists, change forms, history, actions and autocompletes all
read `get_queryset` or these permissions, so none can reach another body's
rows: an object outside the scope is "not found"."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from fellowships.models import Fellowship, ServiceBody
from meetings import curation
from meetings.filters import whole_number
from meetings.models import ChangeRequest, FeedSource, ImportRun, Location, Meeting

# Which selector narrows rows of each model, wherever they are listed or offered.
SCOPES = {
    Meeting: curation.meetings_curated_by,
    Location: curation.locations_curated_by,
    FeedSource: curation.feed_sources_curated_by,
    ImportRun: curation.import_runs_curated_by,
    ChangeRequest: curation.change_requests_curated_by,
    ServiceBody: curation.service_bodies_curated_by,
    Fellowship: curation.fellowships_curated_by,
}


def scoped(request: HttpRequest, queryset):
    scope = SCOPES.get(queryset.model)
    return queryset if scope is None else scope(user=request.user, queryset=queryset)


class CuratorScopedAdmin(admin.ModelAdmin):
    """Mix in first: `class MeetingAdmin(CuratorScopedAdmin, ...)`."""

    def get_queryset(self, request: HttpRequest):
        return scoped(request, super().get_queryset(request))

    def in_scope(self, request: HttpRequest, obj) -> bool:
        if obj is None or obj.pk is None or request.user.is_superuser:
            return True
        return scoped(request, self.model._default_manager.filter(pk=obj.pk)).exists()

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_view_permission(request, obj) and self.in_scope(request, obj)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_change_permission(request, obj) and self.in_scope(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and self.in_scope(request, obj)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        # A curator can only point a row at rows they curate (a meeting at
        # their body and their locations); the form refuses anything else.
        if db_field.related_model in SCOPES and "queryset" not in kwargs:
            kwargs["queryset"] = scoped(request, db_field.related_model._default_manager.all())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ServiceBodyTreeFilter(admin.SimpleListFilter):
    """A service body with every body below it (a curator's whole scope)."""

    title = gettext_lazy("service body (with children)")
    parameter_name = "body"

    def lookups(self, request, model_admin):
        return [(str(b.pk), b.name) for b in curation.service_bodies_curated_by(user=request.user).order_by("name")]

    def queryset(self, request, queryset):
        body = whole_number(self.value())
        if body is None:
            return queryset
        return queryset.filter(service_body_id__in=curation.service_body_tree_ids(root_ids=[body]))
