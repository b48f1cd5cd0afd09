"""Where curators keep the listings right. Every save goes through
`meetings.services`, so what the admin stores is what an import would store:
open/closed, attendance, provider and the meetings' copied coordinates are
derived there, never typed in here.

Other modules (the feed importer) register their own admin classes; nothing
here registers models it does not name.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import ngettext

from meetings.forms import LocationAdminForm, MeetingAdminForm
from meetings.models import Location, Meeting, Region
from meetings.services import location_save, meeting_save, meetings_set_published, meetings_set_temporarily_closed


def openstreetmap_link(latitude: float | None, longitude: float | None) -> str:
    """A link that opens the pin on OpenStreetMap, for checking it by eye."""
    if latitude is None or longitude is None:
        return "No coordinates yet"
    return format_html(
        '<a href="https://www.openstreetmap.org/?mlat={lat}&amp;mlon={lng}#map=18/{lat}/{lng}" '
        'target="_blank" rel="noopener noreferrer">{lat}, {lng} on OpenStreetMap</a>',
        lat=latitude,
        lng=longitude,
    )


class OpenClosedFilter(admin.SimpleListFilter):
    # The stock choices filter cannot offer "not stated" (a blank value),
    # which is what most AA and NA meetings are.
    title = "open/closed"
    parameter_name = "open_closed"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("closed", "Closed"), ("none", "Not stated")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(open_closed="")
        if value in ("open", "closed"):
            return queryset.filter(open_closed=value)
        return queryset


@admin.action(description="Publish selected meetings", permissions=["change"])
def publish(modeladmin: MeetingAdmin, request: HttpRequest, queryset: QuerySet[Meeting]) -> None:
    selected = queryset.count()
    changed = meetings_set_published(meetings=queryset, published=True)
    modeladmin.report_bulk_change(request, changed=changed, selected=selected, done="published",
                                  unchanged_because="already published")


@admin.action(description="Unpublish selected meetings", permissions=["change"])
def unpublish(modeladmin: MeetingAdmin, request: HttpRequest, queryset: QuerySet[Meeting]) -> None:
    selected = queryset.count()
    changed = meetings_set_published(meetings=queryset, published=False)
    modeladmin.report_bulk_change(request, changed=changed, selected=selected, done="unpublished",
                                  unchanged_because="already unpublished")


@admin.action(description="Mark selected meetings temporarily closed", permissions=["change"])
def mark_temporarily_closed(modeladmin: MeetingAdmin, request: HttpRequest, queryset: QuerySet[Meeting]) -> None:
    selected = queryset.count()
    changed = meetings_set_temporarily_closed(meetings=queryset, closed=True)
    modeladmin.report_bulk_change(
        request, changed=changed, selected=selected, done="marked temporarily closed",
        unchanged_because="already closed, or their fellowship has no temporarily-closed type",
    )


@admin.action(description="Reopen selected meetings", permissions=["change"])
def reopen(modeladmin: MeetingAdmin, request: HttpRequest, queryset: QuerySet[Meeting]) -> None:
    selected = queryset.count()
    changed = meetings_set_temporarily_closed(meetings=queryset, closed=False)
    modeladmin.report_bulk_change(request, changed=changed, selected=selected, done="reopened",
                                  unchanged_because="not temporarily closed")


@admin.register(Meeting)
class MeetingAdmin(admin.ModelAdmin):
    form = MeetingAdminForm
    list_display = (
        "name", "fellowship", "day", "time", "city", "attendance", "open_closed", "published", "needs_review",
    )
    list_filter = (
        "fellowship", "day", "attendance", OpenClosedFilter, "published", "needs_review", "service_body",
    )
    search_fields = (
        "name", "group", "location__name", "location__address", "location__city", "location__formatted_address",
    )
    # Everything list_display reads, joined in the one changelist query.
    list_select_related = ("fellowship", "location")
    list_per_page = 50
    autocomplete_fields = ("location", "service_body")
    filter_horizontal = ("types",)
    prepopulated_fields = {"slug": ("name",)}
    actions = (publish, unpublish, mark_temporarily_closed, reopen)
    readonly_fields = (
        "open_closed", "attendance", "conference_provider", "latitude", "longitude", "map_link",
        "source", "source_key", "created", "updated",
    )
    fieldsets = (
        (None, {"fields": ("name", "slug", "fellowship", "service_body", "group", "url", "notes", "group_notes")}),
        ("Schedule", {
            "fields": ("day", "time", "end_time", "timezone"),
            "description": "Wall-clock time where the meeting is held. Leave the time zone blank to take the "
                           "location's, or else the service body's.",
        }),
        ("Place", {
            "fields": ("location", "latitude", "longitude", "map_link"),
            "description": "Coordinates are copied from the location; edit the location to move the pin.",
        }),
        ("Online", {"fields": (
            "conference_url", "conference_url_notes", "conference_provider", "conference_phone",
            "conference_phone_notes",
        )}),
        ("Classification", {
            "fields": ("types", "open_closed", "attendance"),
            "description": "Open/closed and attendance are derived from the types, the online details and the "
                           "location when you save.",
        }),
        ("Publishing and review", {"fields": ("published", "needs_review", "review_reason")}),
        ("Provenance", {"fields": ("source", "source_key", "created", "updated"), "classes": ("collapse",)}),
    )

    @admin.display(description="city", ordering="location__city")
    def city(self, meeting: Meeting) -> str:
        return meeting.location.city if meeting.location else ""

    @admin.display(description="map")
    def map_link(self, meeting: Meeting) -> str:
        return openstreetmap_link(meeting.latitude, meeting.longitude)

    def save_model(self, request: HttpRequest, obj: Meeting, form: MeetingAdminForm, change: bool) -> None:
        if not change and not obj.source:
            obj.source = "admin"
        # Types come from the form rather than the saved rows, so what is
        # derived matches what the curator chose; save_related then finds the
        # types already set and changes nothing.
        meeting_save(meeting=obj, types=form.cleaned_data.get("types", []))

    def report_bulk_change(self, request: HttpRequest, *, changed: int, selected: int, done: str,
                           unchanged_because: str) -> None:
        text = ngettext("%(count)d meeting %(done)s.", "%(count)d meetings %(done)s.", changed) % {
            "count": changed, "done": done,
        }
        unchanged = selected - changed
        if unchanged:
            text += " " + ngettext(
                "%(count)d left as it was (%(why)s).", "%(count)d left as they were (%(why)s).", unchanged
            ) % {"count": unchanged, "why": unchanged_because}
        self.message_user(request, text, messages.SUCCESS if changed else messages.WARNING)


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    form = LocationAdminForm
    list_display = ("__str__", "city", "formatted_address", "latitude", "longitude", "approximate", "geocode_status")
    list_filter = ("geocode_status", "approximate", "region")
    search_fields = ("name", "address", "city", "postal_code", "formatted_address")
    list_select_related = ("region",)
    autocomplete_fields = ("region",)
    readonly_fields = ("geocode_status", "geocode_error", "map_link")
    fieldsets = (
        (None, {"fields": ("name", "region", "notes")}),
        ("Address", {
            "fields": ("address", "city", "state", "postal_code", "country", "formatted_address"),
            "description": "Changing the address looks the place up again when you save.",
        }),
        ("Position", {
            "fields": ("latitude", "longitude", "map_link", "approximate", "timezone", "geocode_status",
                       "geocode_error"),
            "description": "Type latitude and longitude to place the pin by hand; it will not be geocoded "
                           "over. Clear both to geocode the address again.",
        }),
    )

    @admin.display(description="map")
    def map_link(self, location: Location) -> str:
        return openstreetmap_link(location.latitude, location.longitude)

    def save_model(self, request: HttpRequest, obj: Location, form: LocationAdminForm, change: bool) -> None:
        location_save(
            location=obj,
            address_changed=form.address_changed or not change,
            coordinates_changed=form.coordinates_changed,
        )
        if obj.geocode_status == Location.GeocodeStatus.FAILED:
            flagged = obj.meetings.count()
            self.message_user(
                request,
                f"Saved, but the address could not be placed on the map ({obj.geocode_error}). "
                + ngettext("%(count)d meeting here is", "%(count)d meetings here are", flagged) % {"count": flagged}
                + " flagged for review. Enter latitude and longitude by hand to place it.",
                messages.WARNING,
            )


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "parent")
    search_fields = ("name", "slug")
    list_select_related = ("parent",)
    autocomplete_fields = ("parent",)
    prepopulated_fields = {"slug": ("name",)}
from meetings.feeds import admin as feeds_admin  # noqa: E402,F401  (registers FeedSource and ImportRun)
