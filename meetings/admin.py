"""Where curators keep the listings right. Every save goes through
`meetings.services`, so what the admin stores is what an import would store:
the derived fields are derived there, never typed in here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import DateTimeField, QuerySet
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext as _, gettext_lazy, ngettext, ngettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from meetings import curation, history, quality
from meetings.admin_change_requests import field_label, shown_value  # (also registers ChangeRequest)
from meetings.admin_quality import quality_context
from meetings.admin_scope import CuratorScopedAdmin, ServiceBodyTreeFilter
from meetings.feeds.locks import LOCATION_FEED_FIELDS, MEETING_LOCKABLE_FIELDS, PLACE
from meetings.keywords import keyword_conditions
from meetings.forms import LocationAdminForm, MeetingAdminForm, RegionAdminForm
from meetings.models import Location, Meeting, Region
from meetings.services import (history_revert, location_lock_fields, location_save, meeting_feed_place,
                               meeting_fields_released, meeting_lock_fields, meeting_release_lock, meeting_save,
                               meetings_delete, meetings_not_copies, meetings_not_copies_undo,
                               meetings_set_published, meetings_set_temporarily_closed)


def openstreetmap_link(latitude: float | None, longitude: float | None) -> str:
    """A link that opens the pin on OpenStreetMap, for checking it by eye."""
    if latitude is None or longitude is None:
        return _("No coordinates yet")
    return format_html(
        '<a href="https://www.openstreetmap.org/?mlat={lat}&amp;mlon={lng}#map=18/{lat}/{lng}" '
        'target="_blank" rel="noopener noreferrer">{text}</a>',
        lat=latitude,
        lng=longitude,
        text=_("%(latitude)s, %(longitude)s on OpenStreetMap") % {"latitude": latitude, "longitude": longitude},
    )


class OpenClosedFilter(admin.SimpleListFilter):
    # The stock choices filter cannot offer "not stated" (a blank value),
    # which is what most AA and NA meetings are.
    title = gettext_lazy("open or closed")
    parameter_name = "open_closed"

    def lookups(self, request, model_admin):
        return [("open", _("Open")), ("closed", _("Closed")), ("none", _("Not stated"))]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(open_closed="")
        if value in ("open", "closed"):
            return queryset.filter(open_closed=value)
        return queryset


class NeedsAttentionFilter(admin.SimpleListFilter):
    """The data-quality rules (meetings/quality.py) as a list filter, so the
    review page links to exactly the meetings it counted."""

    title = gettext_lazy("needs attention")
    parameter_name = "quality"

    def lookups(self, request, model_admin):
        return [(rule.slug, rule.label) for rule in quality.QUALITY_RULES]

    def queryset(self, request, queryset):
        rule = quality.RULES_BY_SLUG.get(self.value() or "")
        return rule.select(meetings=queryset) if rule else queryset


def feed_value_text(field: str, value, meeting: Meeting) -> str:
    """What the feed says for a curated field: its place by name (the feed
    keeps a key for it), anything else as stored."""
    if field != PLACE:
        return shown_value(value)
    if value == "":
        return _("(no place: online only)")
    place = meeting_feed_place(meeting)
    if place is not None:
        return str(place)
    return _("(a place not stored yet: releasing puts the meeting there at the next import)")


def bulk_action(name: str, *, description: str, change, done: str, unchanged_because: str):
    """The action `name` on the selected meetings: one service call,
    `change(meetings, request)`, returning how many it changed, reported by
    `MeetingAdmin.report_bulk_change` (`done` an ngettext_lazy on "count")."""
    @admin.action(description=description, permissions=["change"])
    def action(modeladmin: MeetingAdmin, request: HttpRequest, queryset: QuerySet[Meeting]) -> None:
        selected = queryset.count()
        modeladmin.report_bulk_change(request, changed=change(queryset, request), selected=selected, done=done,
                                      unchanged_because=unchanged_because)

    action.__name__ = name
    return action


publish = bulk_action(
    "publish", description=gettext_lazy("Publish selected meetings"),
    change=lambda meetings, request: meetings_set_published(meetings=meetings, published=True),
    done=ngettext_lazy("%(count)d meeting published.", "%(count)d meetings published.", "count"),
    unchanged_because=gettext_lazy("already published"))
unpublish = bulk_action(
    "unpublish", description=gettext_lazy("Unpublish selected meetings"),
    change=lambda meetings, request: meetings_set_published(meetings=meetings, published=False),
    done=ngettext_lazy("%(count)d meeting unpublished.", "%(count)d meetings unpublished.", "count"),
    unchanged_because=gettext_lazy("already unpublished"))
mark_temporarily_closed = bulk_action(
    "mark_temporarily_closed", description=gettext_lazy("Mark selected meetings temporarily closed"),
    change=lambda meetings, request: meetings_set_temporarily_closed(meetings=meetings, closed=True),
    done=ngettext_lazy("%(count)d meeting marked temporarily closed.",
                       "%(count)d meetings marked temporarily closed.", "count"),
    unchanged_because=gettext_lazy("already closed, or their fellowship has no temporarily-closed type"))
reopen = bulk_action(
    "reopen", description=gettext_lazy("Reopen selected meetings"),
    change=lambda meetings, request: meetings_set_temporarily_closed(meetings=meetings, closed=False),
    done=ngettext_lazy("%(count)d meeting reopened.", "%(count)d meetings reopened.", "count"),
    unchanged_because=gettext_lazy("not temporarily closed"))
# Also the change form's "Not a copy: show it", for one meeting (MeetingAdmin.not_a_copy_view).
not_a_copy = bulk_action(
    "not_a_copy", description=gettext_lazy("Not a copy: show selected meetings"),
    change=lambda meetings, request: meetings_not_copies(meetings=meetings, user=request.user),
    done=ngettext_lazy("%(count)d meeting shown: not a copy.", "%(count)d meetings shown: not copies.", "count"),
    unchanged_because=gettext_lazy("not hidden as a copy"))


@admin.action(description=gettext_lazy("Give curated fields back to the feed"), permissions=["change"])
def release_curated_fields(modeladmin: MeetingAdmin, request: HttpRequest, queryset: QuerySet[Meeting]) -> None:
    released = 0
    for meeting in queryset.exclude(locked_fields=[]).select_related("fellowship", "service_body", "location"):
        released += len(meeting.locked_fields)
        for field in list(meeting.locked_fields):
            if field in meeting.locked_fields:  # a day's release may have given back its time
                meeting = meeting_release_lock(meeting=meeting, field=field)
    modeladmin.message_user(request, ngettext("%(count)d curated field released.", "%(count)d curated fields released.",
                                              released) % {"count": released},
                            messages.SUCCESS if released else messages.WARNING)


def history_changes_shown(model, changes: list[dict[str, dict]]) -> list[list[dict]]:
    """Each of `changes` ({field: {key: value}} in `history.record_values`'
    encoding, as `history.record_diff` and `history.revert_changes` give
    them) as a curator reads it: [{"field": label, key: text}], a day by its
    name, yes or no, a place or body by its name (one query per model named)."""
    fields = {name: model._meta.get_field(name) for change in changes for name in change}
    wanted = defaultdict(set)
    for change in changes:
        for name, values in change.items():
            if fields[name].many_to_one:
                wanted[fields[name].related_model].update(v for v in values.values() if v is not None)
    names = {(related, pk): str(row) for related, ids in wanted.items()
             for pk, row in related._default_manager.in_bulk(ids).items()}

    def text(field, value) -> str:
        if value is None or value == "" or isinstance(value, list):
            return shown_value(value)
        if field.many_to_one:
            return names.get((field.related_model, value), str(value))
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if isinstance(field, DateTimeField):
            return formats.localize(timezone.localtime(dt.datetime.fromisoformat(value)))
        return str(formats.localize(value))

    return [[{"field": capfirst(field_label(model, name)),
              **{key: text(fields[name], value) for key, value in values.items()}}
             for name, values in change.items()] for change in changes]


class HistoryColumns:
    """Columns of the history page (simple-history's), shared by meetings and locations."""

    # Who made each change is set with what it made, for the page at once (set_history_delta_changes).
    history_list_display = ["revert_link"]
    # simple-history's table heads columns with their attribute names and
    # prints "None" for a change without a user or reason; this one reads.
    object_history_list_template = "admin/meetings/object_history_list.html"
    # Its page of an old version, with the admin's breadcrumbs and a word that it only shows it.
    object_history_form_template = "admin/meetings/object_history_form.html"

    def history_view_title(self, request: HttpRequest, obj) -> str:
        return _("History of %(object)s") % {"object": obj}

    def history_form_view_title(self, request: HttpRequest, obj) -> str:
        return _("A recorded version of %(object)s") % {"object": obj}

    def set_history_delta_changes(self, request: HttpRequest, historical_records, foreign_keys_are_objs=True):
        """What each change made (`history.record_diff` against the row
        before it, as the revert page and the changes feed read it), in the
        curator's words, not simple-history's raw values ("False", "0" for
        Sunday); and who made each (`made_by`), the page's accounts in one query."""
        records = list(historical_records)
        previous = history.previous_records(records)
        diffs = [history.record_diff(record, previous[record.history_id]) if previous.get(record.history_id) else {}
                 for record in records]
        users = history.record_users(records)
        for record, shown in zip(records, history_changes_shown(self.model, diffs)):
            record.history_delta_changes = shown
            record.made_by = history.record_attribution(record).describe(users=users)

    def _object_to_change(self, request: HttpRequest, object_id: str):
        """What a page linked from the change form acts on: outside the
        curator's scope it is not found; without the change permission, refused."""
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        return obj

    @admin.display(description=gettext_lazy("Revert"))
    def revert_link(self, record) -> str:
        if record.history_type == "+":
            return ""
        opts = self.model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_revert", args=[record.id, record.history_id])
        return format_html('<a href="{}">{}</a>', url, _("Revert this change…"))

    def history_revert_view(self, request: HttpRequest, object_id: str, history_id: int):
        """GET: what the revert would do; POST: do it."""
        obj = self._object_to_change(request, object_id)
        record = self.model.history.filter(id=obj.pk, history_id=history_id).first()
        if record is None:
            raise Http404
        history_url = reverse(f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_history",
                              args=[obj.pk])
        changes = history.revert_changes(record=record, current=obj)
        outside = curation.revert_leaves_scope(user=request.user, changes=changes)
        if outside:
            fields = ", ".join(field_label(self.model, name) for name in outside)
            self.message_user(request, _("Reverting this change would set its %(fields)s to one you do not "
                                         "curate; a superuser can.") % {"fields": fields}, messages.ERROR)
            return HttpResponseRedirect(history_url)
        if request.method == "POST":
            try:
                history_revert(record=record, user=request.user)
            except history.RevertError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(request, _("Change %(id)s reverted.") % {"id": history_id}, messages.SUCCESS)
            return HttpResponseRedirect(history_url)
        previous = record.prev_record
        made = history.record_diff(record, previous) if previous is not None else {}
        return render(request, "admin/meetings/revert_confirm.html", {
            **self.admin_site.each_context(request),
            "opts": self.model._meta, "object": obj, "record": record, "history_url": history_url,
            "attribution": history.record_attribution(record).describe(users=history.record_users([record])),
            "changes": changes,
            "changed_fields": history_changes_shown(self.model, [changes])[0],
            # What the revert would refuse, said before the curator asks for it.
            "refusal": history.revert_schedule_problem(record=record, changes=changes, current=obj),
            "left_as_they_are": [field_label(self.model, name) for name in made
                                 if name not in changes and name not in history.NOT_SHOWN],
            "title": _("Revert a change to %(object)s") % {"object": obj},
        })

    def history_form_view(self, request: HttpRequest, object_id: str, version_id: str, extra_context=None):
        """simple-history's view of an old version, to read only: its form
        would save every field of that version back at once, past curated
        fields (SIMPLE_HISTORY_REVERT_DISABLED only hides it)."""
        if request.method != "GET":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def history_urls(self):
        opts = self.model._meta
        return [path("<path:object_id>/revert/<int:history_id>/",
                     self.admin_site.admin_view(self.history_revert_view),
                     name=f"{opts.app_label}_{opts.model_name}_revert")]


@admin.register(Meeting)
class MeetingAdmin(HistoryColumns, CuratorScopedAdmin, SimpleHistoryAdmin):
    form = MeetingAdminForm
    # The meetings it is told apart from, below the fields (`told_apart`).
    change_form_template = "admin/meetings/meeting/change_form.html"
    list_display = (
        "name", "fellowship", "day", "time", "city", "attendance", "open_closed", "published", "needs_review",
    )
    list_filter = (
        # The fellowships of the meetings the user may see, not every one.
        NeedsAttentionFilter, ServiceBodyTreeFilter, ("fellowship", admin.RelatedOnlyFieldListFilter), "day",
        "attendance", OpenClosedFilter,
        "published", "needs_review",
    )
    # What a search box finds: the words of the meeting's search text, as
    # the public search finds them (get_search_results).
    search_fields = ("search_text",)
    # Everything list_display reads, joined in the one changelist query.
    list_select_related = ("fellowship", "location")
    list_per_page = 50
    autocomplete_fields = ("location", "service_body")
    filter_horizontal = ("types",)
    prepopulated_fields = {"slug": ("name",)}
    actions = (publish, unpublish, mark_temporarily_closed, reopen, release_curated_fields, not_a_copy)
    readonly_fields = (
        "open_closed", "attendance", "conference_provider", "latitude", "longitude", "map_link",
        "source", "source_key", "created", "updated", "curated_fields", "copy_of",
    )
    fieldsets = (
        (None, {"fields": ("name", "slug", "fellowship", "service_body", "group", "url", "notes", "group_notes")}),
        (gettext_lazy("Schedule"), {
            "fields": ("day", "time", "end_time", "timezone"),
            "description": gettext_lazy("Wall-clock time where the meeting is held. Leave the time zone blank to "
                                        "take the location's, or else the service body's."),
        }),
        (gettext_lazy("Place"), {
            "fields": ("location", "latitude", "longitude", "map_link"),
            "description": gettext_lazy("Coordinates are copied from the location; edit the location to move the pin."),
        }),
        (gettext_lazy("Online"), {"fields": (
            "conference_url", "conference_url_notes", "conference_provider", "conference_phone",
            "conference_phone_notes",
        )}),
        (gettext_lazy("Classification"), {
            "fields": ("types", "open_closed", "attendance"),
            "description": gettext_lazy("Open/closed and attendance are derived from the types, the online details "
                                        "and the location when you save."),
        }),
        (gettext_lazy("Publishing and review"), {
            "fields": ("published", "needs_review", "review_reason", "copy_of"),
        }),
        (gettext_lazy("Curated fields"), {
            "fields": ("curated_fields",),
            "description": gettext_lazy("Fields of an imported meeting edited here are curated: imports leave them "
                                        "alone. The feed's latest value is shown beside each; release one to take "
                                        "the feed's value."),
        }),
        (gettext_lazy("Provenance"), {
            "fields": ("source", "source_key", "created", "updated"), "classes": ("collapse",),
        }),
    )

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        """Every word, folded for case and accents, in the meeting's name,
        group, notes, venue, address, city or type names: the public search's
        keyword rule (meetings/keywords.py), read through the search text's
        trigram index. Searched column by column with joins, a word took
        2.5 s at 1,000,000 meetings (bench/README.md, round 24)."""
        return queryset.filter(*keyword_conditions(search_term)), False

    @admin.display(description=gettext_lazy("city"), ordering="location__city")
    def city(self, meeting: Meeting) -> str:
        return meeting.location.city if meeting.location else ""

    @admin.display(description=gettext_lazy("map"))
    def map_link(self, meeting: Meeting) -> str:
        return openstreetmap_link(meeting.latitude, meeting.longitude)

    @admin.display(description=gettext_lazy("curated fields"))
    def curated_fields(self, meeting: Meeting) -> str:
        if not meeting.pk or not meeting.feed_source_id:
            return _("Not imported: every field is kept as edited here.")
        if not meeting.locked_fields:
            return _("None: every field follows the feed.")
        feed = meeting.feed_values or {}
        # Links to a page that asks first, not buttons submitting the change
        # form there: the curator's unsaved edits in it would be dropped.
        rows = format_html_join("", (
            '<tr><td>{}</td><td>{}</td><td><a class="button" href="{}">{}</a></td></tr>'
        ), (
            (capfirst(field_label(Meeting, field)), feed_value_text(field, feed.get(field), meeting),
             reverse("admin:meetings_meeting_release_lock", args=[meeting.pk, field]), _("Release"))
            for field in meeting.locked_fields
        ))
        return format_html("<table><tr><th>{}</th><th>{}</th><th></th></tr>{}</table>",
                           _("curated field"), _("feed's value"), rows)

    @admin.display(description=gettext_lazy("copy of"))
    def copy_of(self, meeting: Meeting) -> str:
        """Whether an import hid it as another source's copy of a meeting
        shown instead, with a link to the page that says it is not (a link:
        a button submitting the change form would drop unsaved edits)."""
        if not meeting.pk or not meeting.duplicate_of_id:
            return "-" if not meeting.pk else _("Not hidden as a copy.")
        kept = Meeting.objects.select_related("service_body").get(pk=meeting.duplicate_of_id)
        return format_html(
            '{} <a class="button" href="{}">{}</a>',
            format_html(_("Hidden: the same meeting, {meeting} from {body}, is shown instead."),
                        meeting=self._public_link(kept), body=kept.service_body.name),
            reverse("admin:meetings_meeting_not_a_copy", args=[meeting.pk]), _("Not a copy: show it"))

    def told_apart(self, request: HttpRequest, *, meeting: Meeting) -> dict:
        """The meetings a curator said `meeting` is not a copy of, for its
        change form: those the viewer may see named (`curation.meetings_seen_by`),
        each with the link that takes the word back, and how many others."""
        others = meeting.not_copy_of.all()
        count = others.count()
        if not count:
            return {}
        seen = list(curation.meetings_seen_by(user=request.user, queryset=others).select_related("service_body")
                    .order_by("name", "pk"))
        return {
            "told_apart": [(self._meeting_link(request, other), other.service_body.name,
                            reverse("admin:meetings_meeting_not_a_copy_undo", args=[meeting.pk, other.pk]))
                           for other in seen],
            "told_apart_unseen": count - len(seen),
        }

    def render_change_form(self, request: HttpRequest, context: dict, add: bool = False, change: bool = False,
                           form_url: str = "", obj: Meeting | None = None):
        if obj is not None and obj.pk:
            context = {**context, **self.told_apart(request, meeting=obj)}
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def _meeting_link(self, request: HttpRequest, meeting: Meeting) -> str:
        """A meeting by name, linked to its change form when the viewer
        curates it, else as the public sees it (`_public_link`)."""
        if self.get_queryset(request).filter(pk=meeting.pk).exists():
            return format_html('<a href="{}">{}</a>', reverse("admin:meetings_meeting_change", args=[meeting.pk]),
                               meeting.name)
        return self._public_link(meeting)

    @staticmethod
    def _public_link(meeting: Meeting) -> str:
        """A meeting by name, linked to its public page when the public sees it."""
        if Meeting.objects.published().filter(pk=meeting.pk).exists():
            return format_html('<a href="{}">{}</a>', reverse("meeting-page", args=[meeting.slug]), meeting.name)
        return meeting.name

    def get_urls(self):
        return [
            path("quality/", self.admin_site.admin_view(self.quality_index_view), name="meetings_meeting_quality"),
            path("quality/<int:body_id>/", self.admin_site.admin_view(self.quality_view),
                 name="meetings_meeting_quality_body"),
            path("<path:object_id>/release-lock/<str:field>/", self.admin_site.admin_view(self.release_lock_view),
                 name="meetings_meeting_release_lock"),
            path("<path:object_id>/not-a-copy/", self.admin_site.admin_view(self.not_a_copy_view),
                 name="meetings_meeting_not_a_copy"),
            path("<path:object_id>/not-a-copy/<int:other_id>/undo/",
                 self.admin_site.admin_view(self.not_a_copy_undo_view), name="meetings_meeting_not_a_copy_undo"),
            *self.history_urls(),
            *super().get_urls(),
        ]

    def _confirmation_page(self, request: HttpRequest, *, meeting: Meeting, template: str, title: str, **context):
        """A change-form link's page: GET names what its POST will do and
        changes nothing; its own form (with its CSRF token) confirms, and
        Cancel goes back to the change form."""
        return render(request, template, {
            **self.admin_site.each_context(request),
            "opts": self.model._meta, "object": meeting, "title": title,
            "change_form_url": reverse("admin:meetings_meeting_change", args=[meeting.pk]), **context,
        })

    def release_lock_view(self, request: HttpRequest, object_id: str, field: str):
        """The change form's "Release" for one curated field. GET: the field
        and the feed's value it takes (for the location, the feed's place),
        nothing changed; POST: release it."""
        meeting = self._object_to_change(request, object_id)
        if field not in MEETING_LOCKABLE_FIELDS:
            raise Http404
        label = field_label(Meeting, field)
        if request.method != "POST":
            curated = field in meeting.locked_fields
            # A day or time released beside the feed's dropped schedule brings the other half (one rule).
            also = meeting_fields_released(meeting=meeting, field=field)[1:] if curated else []
            return self._confirmation_page(
                request, meeting=meeting, template="admin/meetings/release_confirm.html",
                title=_("Release %(field)s of %(meeting)s") % {"field": label, "meeting": meeting},
                field=label, curated=curated, is_place=field == PLACE,
                feed_value=feed_value_text(field, (meeting.feed_values or {}).get(field), meeting),
                also=(_("With it, time goes back to the feed too: a day without a time is no schedule.")
                      if also == ["time"] else
                      _("With it, day goes back to the feed too: a time without a day is no schedule.")
                      if also == ["day"] else ""))
        locked = set(meeting.locked_fields)
        try:
            meeting = meeting_release_lock(meeting=meeting, field=field)
        except ValueError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            # A day's release may give back its time too: both are named.
            released = ", ".join(field_label(Meeting, name) for name in sorted(locked - set(meeting.locked_fields)))
            self.message_user(request, capfirst(_("%(field)s follows the feed again.") % {"field": released or label}),
                              messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:meetings_meeting_change", args=[meeting.pk]))

    def not_a_copy_view(self, request: HttpRequest, object_id: str):
        """The change form's "Not a copy: show it" (the action's, for one
        meeting). GET: both meetings named, nothing changed; POST: do it."""
        meeting = self._object_to_change(request, object_id)
        if request.method == "POST":
            not_a_copy(self, request, Meeting.objects.filter(pk=meeting.pk))
            return HttpResponseRedirect(reverse("admin:meetings_meeting_change", args=[meeting.pk]))
        kept = None
        if meeting.duplicate_of_id:
            kept = Meeting.objects.select_related("service_body").get(pk=meeting.duplicate_of_id)
        return self._confirmation_page(
            request, meeting=meeting, template="admin/meetings/not_a_copy_confirm.html",
            title=_("Not a copy: show %(meeting)s") % {"meeting": meeting},
            kept=kept, kept_link=self._public_link(kept) if kept else "")

    def not_a_copy_undo_view(self, request: HttpRequest, object_id: str, other_id: int):
        """A meeting's "May be copies again", for one meeting a curator said
        it is not a copy of, by whoever could have said it: one they may
        change and one they may see. GET: both named, nothing changed; POST:
        take the word back (`meetings_not_copies_undo`)."""
        meeting = self._object_to_change(request, object_id)
        other = curation.meetings_seen_by(user=request.user).select_related("service_body").filter(
            pk=other_id).first()
        if other is None:
            raise Http404
        names = {"meeting": meeting.name, "other": other.name}
        not_told_apart = _("%(meeting)s and %(other)s are not told apart: there is nothing to take back.") % names
        if request.method == "POST":
            if meetings_not_copies_undo(meeting=meeting, other=other, user=request.user):
                self.message_user(request, _("%(meeting)s and %(other)s may be copies again: the next import of "
                                             "their feeds decides.") % names, messages.SUCCESS)
            else:
                self.message_user(request, not_told_apart, messages.WARNING)
            return HttpResponseRedirect(reverse("admin:meetings_meeting_change", args=[meeting.pk]))
        return self._confirmation_page(
            request, meeting=meeting, template="admin/meetings/not_a_copy_undo_confirm.html",
            title=_("May be copies again: %(meeting)s and %(other)s") % names,
            other=other, other_link=self._meeting_link(request, other),
            told_apart=meeting.not_copy_of.filter(pk=other.pk).exists(), not_told_apart=not_told_apart)

    def quality_index_view(self, request: HttpRequest):
        if not self.has_view_permission(request):
            raise PermissionDenied
        bodies = list(curation.service_bodies_curated_by(user=request.user).select_related("fellowship")
                      .order_by("name"))
        if len(bodies) == 1:
            return HttpResponseRedirect(reverse("admin:meetings_meeting_quality_body", args=[bodies[0].pk]))
        return render(request, "admin/meetings/quality_index.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "bodies": bodies,
            "title": _("Data-quality review"),
        })

    def quality_view(self, request: HttpRequest, body_id: int):
        body = curation.service_bodies_curated_by(user=request.user).filter(pk=body_id).first()
        if body is None or not self.has_view_permission(request):
            raise Http404
        return render(request, "admin/meetings/quality.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            **quality_context(request=request, body=body, meetings=self.get_queryset(request)),
        })

    def save_model(self, request: HttpRequest, obj: Meeting, form: MeetingAdminForm, change: bool) -> None:
        if not change and not obj.source:
            obj.source = "admin"
        obj._history_user = request.user
        # Types come from the form rather than the saved rows, so what is
        # derived matches what the curator chose; save_related then finds the
        # types already set and changes nothing.
        meeting_save(meeting=obj, types=form.cleaned_data.get("types", []))
        # An edit of an imported meeting's feed field, or a move to another
        # location, is curated at once, so the next import keeps it
        # (meetings/feeds/locks.py).
        edited = [name for name in form.changed_data if name in MEETING_LOCKABLE_FIELDS]
        if change and obj.feed_source_id and edited:
            meeting_lock_fields(meeting=obj, fields=edited)

    def delete_model(self, request: HttpRequest, obj: Meeting) -> None:
        meetings_delete(meetings=Meeting.objects.filter(pk=obj.pk), user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Meeting]) -> None:
        meetings_delete(meetings=queryset, user=request.user)

    def report_bulk_change(self, request: HttpRequest, *, changed: int, selected: int, done: str,
                           unchanged_because: str) -> None:
        # `done` is the action's own sentence (ngettext_lazy on "count"), so each language words it whole.
        text = done % {"count": changed}
        unchanged = selected - changed
        if unchanged:
            text += " " + ngettext(
                "%(count)d left as it was (%(why)s).", "%(count)d left as they were (%(why)s).", unchanged
            ) % {"count": unchanged, "why": unchanged_because}
        self.message_user(request, text, messages.SUCCESS if changed else messages.WARNING)


@admin.register(Location)
class LocationAdmin(HistoryColumns, CuratorScopedAdmin, SimpleHistoryAdmin):
    form = LocationAdminForm
    list_display = ("__str__", "city", "formatted_address", "latitude", "longitude", "approximate", "geocode_status")
    list_filter = ("geocode_status", "approximate", "region")
    search_fields = ("name", "address", "city", "postal_code", "formatted_address")
    list_select_related = ("region",)
    autocomplete_fields = ("region",)
    readonly_fields = ("geocode_status", "geocode_error", "map_link")
    fieldsets = (
        (None, {"fields": ("name", "region", "notes")}),
        (gettext_lazy("Address"), {
            "fields": ("address", "city", "state", "postal_code", "country", "formatted_address"),
            "description": gettext_lazy("Changing the address looks the place up again when you save."),
        }),
        (gettext_lazy("Position"), {
            "fields": ("latitude", "longitude", "map_link", "approximate", "timezone", "geocode_status",
                       "geocode_error"),
            "description": gettext_lazy("Type latitude and longitude to place the pin by hand; it will not be "
                                        "geocoded over. Clear both to geocode the address again."),
        }),
    )

    @admin.display(description=gettext_lazy("map"))
    def map_link(self, location: Location) -> str:
        return openstreetmap_link(location.latitude, location.longitude)

    def get_urls(self):
        return [*self.history_urls(), *super().get_urls()]

    def save_model(self, request: HttpRequest, obj: Location, form: LocationAdminForm, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        obj._history_user = request.user
        location_save(
            location=obj,
            address_changed=form.address_changed or not change,
            coordinates_changed=form.coordinates_changed,
        )
        # A place a feed described keeps what the curator edited at its next
        # import, as a meeting's curated fields do (meetings/feeds/locks.py).
        edited = [name for name in form.changed_data if name in LOCATION_FEED_FIELDS]
        if change and obj.source and edited:
            location_lock_fields(location=obj, fields=edited)
        if obj.geocode_status == Location.GeocodeStatus.FAILED:
            flagged = obj.meetings.count()
            self.message_user(
                request,
                ngettext(
                    "Saved, but the address could not be placed on the map (%(error)s). %(count)d meeting here is "
                    "flagged for review. Enter latitude and longitude by hand to place it.",
                    "Saved, but the address could not be placed on the map (%(error)s). %(count)d meetings here are "
                    "flagged for review. Enter latitude and longitude by hand to place it.",
                    flagged) % {"error": obj.geocode_error, "count": flagged},
                messages.WARNING,
            )


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    form = RegionAdminForm
    list_display = ("name", "slug", "parent")
    search_fields = ("name", "slug")
    list_select_related = ("parent",)
    autocomplete_fields = ("parent",)
    prepopulated_fields = {"slug": ("name",)}

    def has_change_permission(self, request: HttpRequest, obj: Region | None = None) -> bool:
        return super().has_change_permission(request, obj) and (
            obj is None or curation.region_is_theirs(user=request.user, region=obj))


from meetings.feeds import admin as feeds_admin  # noqa: E402,F401  (registers FeedSource and ImportRun)
from meetings import admin_service_bodies  # noqa: E402,F401  (registers ServiceBody)
