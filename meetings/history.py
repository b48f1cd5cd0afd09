"""History of meetings and locations: who or what changed them, when, and
the values before and after (django-simple-history's tables, migration 0004).

- A save records itself (simple-history's post_save); the signed-in user
  comes from its middleware. What else made the change, an import run or an
  approved change request, is set around the write with `attributed(...)`.
- Writes that skip `save()` (the importer's bulk writes, queryset updates)
  record with `history_bulk_record(...)`: one historical row per object, in
  bulk, attributed the same way.
- A meeting's historical row carries its type codes (`type_codes`), since
  the types are a many-to-many the row would not hold.
- `previous_records(...)` pairs each row with the one before it, for the
  admin and the `/api/v1/changes/` feed; what the public may learn of a
  change is `public_change(...)`. Undoing a change is a write:
  `meetings.services.history_revert(...)`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import (BooleanField, Case, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery,
                              When)
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.models import HistoricalRecords

from fellowships.models import MeetingType
from meetings import schedule
from meetings.models import Location, Meeting
from meetings.querysets import PUBLISHED

_attribution: ContextVar[dict] = ContextVar("history_attribution", default={})

# Fields a revert may set back; the rest are derived (recomputed by the
# services), bookkeeping, or the feed's (`removed`).
MEETING_REVERTIBLE = (
    "name", "slug", "fellowship", "service_body", "location", "day", "time", "end_time", "timezone", "notes",
    "conference_url", "conference_url_notes", "conference_phone", "conference_phone_notes", "group", "group_notes",
    "url", "published", "needs_review", "review_reason",
)
LOCATION_REVERTIBLE = (
    "name", "address", "city", "state", "postal_code", "country", "formatted_address", "latitude", "longitude",
    "approximate", "timezone", "region", "notes",
)
# Left out of what a change shows: timestamps every save moves, and the row's own id.
NOT_SHOWN = {"id", "updated", "created"}


@contextmanager
def attributed(*, import_run=None, change_request=None) -> Iterator[None]:
    """Attribute every change recorded inside to an import run or a request."""
    token = _attribution.set({
        "import_run_id": getattr(import_run, "pk", None),
        "change_request_id": getattr(change_request, "pk", None),
    })
    try:
        yield
    finally:
        _attribution.reset(token)


def record_type_codes(meeting: Meeting, types: Iterable[MeetingType]) -> None:
    """Tell the next historical row of `meeting` its types (they are set
    after the row is saved, so the database still has the old ones)."""
    meeting._history_type_codes = sorted(t.code for t in types)


def on_pre_create_historical_record(sender, instance, history_instance, **kwargs) -> None:
    """simple-history's hook for each row it writes on save (connected in
    MeetingsConfig.ready): add the attribution and a meeting's types."""
    for name, value in _attribution.get().items():
        setattr(history_instance, name, value)
    if isinstance(instance, Meeting):
        codes = instance.__dict__.pop("_history_type_codes", None)
        if codes is None:
            codes = sorted(instance.types.values_list("code", flat=True)) if instance.pk else []
        history_instance.type_codes = codes


def _request_user():
    # The user simple-history's middleware saw sign in to this request, if any.
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _type_codes_of(meeting_ids: list[int]) -> dict[int, list[str]]:
    codes: dict[int, list[str]] = defaultdict(list)
    rows = Meeting.types.through.objects.filter(meeting_id__in=meeting_ids).values_list("meeting_id", "meetingtype__code")
    for meeting_id, code in rows:
        codes[meeting_id].append(code)
    return {pk: sorted(found) for pk, found in codes.items()}


def history_bulk_record(*, instances: Iterable[models.Model], history_type: str = "~", user=None, reason: str = "",
                        date: dt.datetime | None = None, type_codes: dict[int, list[str]] | None = None) -> int:
    """Record the current state of saved `instances` (meetings or locations,
    all of one model) as one historical row each, in bulk. `type_codes`
    (meeting id -> codes) saves reading them back."""
    instances = list(instances)
    if not instances:
        return 0
    model = type(instances[0])
    History = model.history.model
    date = date or timezone.now()
    user = user or _request_user()
    attribution = _attribution.get()
    if model is Meeting:
        missing = [m.pk for m in instances if type_codes is None or m.pk not in type_codes]
        type_codes = {**(_type_codes_of(missing) if missing else {}), **(type_codes or {})}
    rows = []
    for obj in instances:
        row = History(
            history_date=date, history_type=history_type, history_user=user, history_change_reason=reason,
            **{field.attname: getattr(obj, field.attname) for field in History.tracked_fields},
            **attribution,
        )
        if model is Meeting:
            row.type_codes = type_codes.get(obj.pk, [])
        rows.append(row)
    History.objects.bulk_create(rows, batch_size=500)
    return len(rows)


# Reading ---------------------------------------------------------------------

def encode_value(value):
    """A field's value as JSON: times as HH:MM, datetimes ISO 8601."""
    if isinstance(value, dt.time):
        return schedule.hh_mm(value)
    return value.isoformat() if isinstance(value, dt.date) else value  # a datetime is a date too


@cache  # per model, not per record: a page of changes asked it twice a change
def _shown_fields(History) -> tuple[tuple[str, str], ...]:
    """(name shown, attribute) of each field a change lists."""
    return tuple((f.name, f.attname) for f in History.tracked_fields if f.name not in NOT_SHOWN)


def shows_change(model: type[models.Model], *, fields: Iterable[str]) -> bool:
    """Whether a write of `fields` of `model` changes what its history shows
    (not one of its feed's copy of curated values and timestamps alone)."""
    return bool(set(fields) & {name for name, _ in _shown_fields(model.history.model)})


def record_values(record) -> dict:
    values = {name: encode_value(getattr(record, attname)) for name, attname in _shown_fields(type(record))}
    if hasattr(record, "type_codes"):
        values["types"] = record.type_codes or []
    return values


def record_diff(record, previous) -> dict[str, dict]:
    """{field: {"old": ..., "new": ...}} of what `record` changed since
    `previous` (every field, old None, when there is no previous row)."""
    new = record_values(record)
    old = record_values(previous) if previous is not None else {}
    return {name: {"old": old.get(name), "new": value} for name, value in new.items()
            if previous is None or old.get(name) != value}


def previous_records(records: list) -> dict[int, object]:
    """history_id -> the row before it of the same object, for rows of one
    model, in three queries whatever their number."""
    if not records:
        return {}
    History = type(records[0])
    object_ids = {r.id for r in records}
    latest = max(r.history_date for r in records)
    order = defaultdict(list)
    for object_id, history_id, date in (
        History.objects.filter(id__in=object_ids, history_date__lte=latest)
        .order_by("history_date", "history_id").values_list("id", "history_id", "history_date")
    ):
        order[object_id].append(history_id)
    wanted: dict[int, int] = {}
    for record in records:
        ids = order[record.id]
        position = ids.index(record.history_id) if record.history_id in ids else 0
        if position:
            wanted[record.history_id] = ids[position - 1]
    found = History.objects.in_bulk(list(wanted.values()))
    return {history_id: found.get(previous_id) for history_id, previous_id in wanted.items()}


# What the public may learn ---------------------------------------------------
#
# A change tells the public what it could see before and after it, nothing
# more: what search showed of a meeting (querysets.PUBLISHED), and a place
# while it served such a meeting. A place counts as serving at the end of the
# instant of its change, with the meetings written at that same instant: an
# import writes a place and its meetings at one time, in one transaction. A
# place never public is never shown, nor any of its values from before a
# public meeting came to it: the meeting that makes it public brings it whole.

# A meeting's row records it as the public saw it: there (not its deletion) and shown.
PUBLIC_MEETING_ROW = PUBLISHED & ~Q(history_type="-")


def _true_of(condition: Q) -> ExpressionWrapper:
    return ExpressionWrapper(condition, output_field=BooleanField())


def _later_than_outer_row() -> Q:
    return Q(history_date__gt=OuterRef("history_date")) | Q(history_date=OuterRef("history_date"),
                                                            history_id__gt=OuterRef("history_id"))


def _meeting_row_before() -> QuerySet:
    """The meeting's row before the outer one (the row previous_records finds)."""
    return Meeting.history.filter(
        Q(history_date__lt=OuterRef("history_date"))
        | Q(history_date=OuterRef("history_date"), history_id__lt=OuterRef("history_id")),
        id=OuterRef("id"),
    ).order_by("-history_date", "-history_id")


def _meeting_shown_before() -> Subquery:
    """Whether the public saw the meeting as its row before the outer one
    recorded it (null for its first row)."""
    return Subquery(_meeting_row_before().annotate(shown=_true_of(PUBLIC_MEETING_ROW)).values("shown")[:1],
                    output_field=BooleanField())


def _place_shown_before() -> Subquery:
    """The place the public saw the meeting at before the outer row (null
    when it saw the meeting nowhere then)."""
    return Subquery(_meeting_row_before().annotate(
        place=Case(When(PUBLIC_MEETING_ROW, then="location_id"))).values("place")[:1])


def _up_to(by: str, outer) -> Q:
    """The rows written by the end of the outer row's instant (`by`
    "instant"), before it ("before"), or up to the outer row itself ("row"):
    `outer(name)` refers to the outer row's field."""
    if by == "before":
        return Q(history_date__lt=outer("history_date"))
    if by == "instant":
        return Q(history_date__lte=outer("history_date"))
    return Q(history_date__lt=outer("history_date")) | Q(history_date=outer("history_date"),
                                                         history_id__lte=outer("history_id"))


def _place_served(*, by: str, place: str = "id") -> Subquery:
    """A public meeting's row at the outer row's place (a location row's own
    id, or the field `place` names) by the end of the row's instant, before
    it or up to the row (`by`, as `_up_to`): some meeting's latest row by
    then, public and at the place; null when none was.

    A scalar subquery, not EXISTS: PostgreSQL turns an EXISTS into a join
    over every public meeting row ever written, where this one is asked of
    the location rows a page reads, in the time index's order, each through
    the index of its place's meeting rows."""
    superseded = Meeting.history.filter(_later_than_outer_row(), _up_to(by, lambda name: OuterRef(OuterRef(name))),
                                        id=OuterRef("id"))
    serving = Meeting.history.filter(PUBLIC_MEETING_ROW, _up_to(by, OuterRef), ~Exists(superseded),
                                     location_id=OuterRef(place))
    return Subquery(serving.order_by().values("history_id")[:1])


def meeting_rows_seen(rows: QuerySet) -> QuerySet:
    """The meeting rows of `rows` that change what the public could see: the
    meeting was public as the row records it, or as the row before it did."""
    return rows.alias(shown_before=_meeting_shown_before()).filter(Q(PUBLIC_MEETING_ROW) | Q(shown_before=True))


def location_rows_seen(rows: QuerySet) -> QuerySet:
    """The location rows of `rows` the public may see: their place served a
    public meeting then."""
    return rows.alias(served_by=_place_served(by="instant")).filter(served_by__isnull=False)


def _with_place_left(rows: QuerySet) -> QuerySet:
    """`rows` with `place_left` aliased: the place the public saw the meeting
    at before the row when no public meeting is there at the end of the
    row's instant."""
    return rows.alias(place_before=_place_shown_before()).alias(
        # Once: by the last of the instant's rows that leave it, when none comes there later in the instant.
        served_after_row=_place_served(by="row", place="place_before"),
        served_after_instant=_place_served(by="instant", place="place_before"),
    ).alias(place_left=Case(When(
        # Asked only of a row that leaves the place it was seen at (most rows, made or kept where they
        # were, do not): one public there after it is itself.
        Q(place_before__isnull=False) & ~(PUBLIC_MEETING_ROW & Q(location_id=F("place_before"))),
        then=Case(When(Q(served_after_row__isnull=True, served_after_instant__isnull=True), then="place_before")))))


def meeting_rows_withdrawing(rows: QuerySet) -> QuerySet:
    """The meeting rows of `rows` that take a place from the public (`place_left`)."""
    return _with_place_left(rows).filter(place_left__isnull=False)


def meeting_rows_as_public(rows: QuerySet) -> QuerySet:
    """Meeting rows with what `public_change` needs: `shown`, `shown_before`,
    `place_row`, the history id of its place's row as it stood then, and
    `place_left` (`_with_place_left`)."""
    place_row = Location.history.filter(id=OuterRef("location_id"), history_date__lte=OuterRef("history_date"))
    return _with_place_left(rows).annotate(
        shown=_true_of(PUBLIC_MEETING_ROW), shown_before=_meeting_shown_before(),
        place_row=Subquery(place_row.order_by("-history_date", "-history_id").values("history_id")[:1]),
        place_left=F("place_left"),
    )


def location_rows_as_public(rows: QuerySet) -> QuerySet:
    """Location rows with what `public_change` needs: `shown`, `shown_before`."""
    return rows.alias(served_by=_place_served(by="instant"),
                      served_before_by=_place_served(by="before")).annotate(
        shown=_true_of(Q(served_by__isnull=False)), shown_before=_true_of(Q(served_before_by__isnull=False)))


@dataclass
class PublicChange:
    """A change as the public may learn it."""
    history_type: str  # "+": new to the public (made, or shown again), "~": changed, "-": gone from it
    changes: dict[str, dict]  # {field: {"old": ..., "new": ...}}, as record_diff
    slug: str | None  # a meeting's slug, as the public knew or now knows it
    place_id: int | None  # a meeting's place, when the public learns the meeting is there
    place_left: int | None  # the place a meeting left with no public meeting there: gone from the public


def public_change(*, record, previous) -> PublicChange | None:
    """What the public may learn from `record` (annotated by
    `meeting_rows_as_public` or `location_rows_as_public`) after `previous`,
    or None when nothing. Shown after only, the whole of it is new; a meeting
    shown before only is gone, with nothing of it but its slug; a meeting
    that leaves its place with no public meeting there takes the place from
    the public too (`place_left`): it may be someone's home."""
    shown, shown_before = bool(record.shown), bool(record.shown_before) and previous is not None
    is_meeting = record.instance_type is Meeting  # not Meeting.history: a manager class made anew each time
    place_left = record.place_left if is_meeting and shown_before else None
    if not shown:
        if not (is_meeting and shown_before):
            return None
        return PublicChange(history_type="-", changes={}, slug=previous.slug, place_id=None, place_left=place_left)
    if shown_before:
        history_type, changes = record.history_type, record_diff(record, previous)
    else:
        history_type, changes = "+", record_diff(record, None)
    moved_in = is_meeting and record.location_id is not None and (history_type == "+" or "location" in changes)
    return PublicChange(history_type=history_type, changes=changes, slug=record.slug if is_meeting else None,
                        place_id=record.location_id if moved_in else None, place_left=place_left)


@dataclass
class Attribution:
    kind: str  # "user", "import", "change_request", "system"
    user_id: int | None  # kept when the account is deleted
    import_run_id: int | None
    change_request_id: int | None
    reason: str

    def describe(self, *, users: Mapping[int, object]) -> str:
        """In words; `users`: the accounts of the records described (`record_users`)."""
        parts = []
        if self.change_request_id:
            parts.append(_("change request #%(id)s") % {"id": self.change_request_id})
        if self.import_run_id:
            parts.append(_("import run #%(id)s") % {"id": self.import_run_id})
        if self.user_id in users:
            parts.append(str(users[self.user_id]))  # under "Changed by", or after "made by": the name alone
        elif self.user_id is not None:
            parts.append(_("a deleted account (#%(id)s)") % {"id": self.user_id})
        text = ", ".join(parts) or _("system")
        return f"{text} ({self.reason})" if self.reason else text


def record_users(records: Iterable) -> dict[int, object]:
    """The accounts that made `records` by id, in one query (the user id is
    a plain column: an account deleted since is not among them)."""
    ids = {record.history_user_id for record in records if record.history_user_id is not None}
    return get_user_model().objects.in_bulk(ids) if ids else {}


def record_attribution(record) -> Attribution:
    if record.change_request_id:
        kind = "change_request"
    elif record.import_run_id:
        kind = "import"
    elif record.history_user_id:
        kind = "user"
    else:
        kind = "system"
    return Attribution(kind=kind, user_id=record.history_user_id,
                       import_run_id=record.import_run_id, change_request_id=record.change_request_id,
                       reason=record.history_change_reason or "")


# Reverting -------------------------------------------------------------------

class RevertError(Exception):
    """A change that cannot be reverted, with the reason a curator reads."""


def current_values(obj) -> dict:
    """A meeting's or location's values as they stand, shaped like `record_values`."""
    values = {name: encode_value(getattr(obj, attname)) for name, attname in _shown_fields(obj.history.model)}
    if isinstance(obj, Meeting):
        values["types"] = sorted(obj.types.values_list("code", flat=True))
    return values


def revert_changes(*, record, current) -> dict[str, dict]:
    """{field: {"now": ..., "restored": ...}} of exactly what reverting
    `record` would change on `current`: the fields that change set that a
    revert may set back (not derived ones), whose value now is not already
    the one from before. The preview shows this and the revert applies it."""
    previous = record.prev_record
    if previous is None:
        return {}
    changed = record_diff(record, previous)
    now = current_values(current)
    restored = record_values(previous)
    if isinstance(current, Meeting):
        revertible = (*MEETING_REVERTIBLE, "types")
        # Codes the meeting's fellowship still has: the only ones a revert can set.
        restored["types"] = sorted(MeetingType.objects.filter(
            fellowship_id=current.fellowship_id, code__in=previous.type_codes or []).values_list("code", flat=True))
    else:
        revertible = LOCATION_REVERTIBLE
    return {name: {"now": now[name], "restored": restored[name]} for name in revertible
            if name in changed and now[name] != restored[name]}


def revert_schedule_problem(*, record, changes: dict[str, dict], current) -> str:
    """Why reverting `record` (its `revert_changes`) would leave a meeting a
    day without a time or a time without a day, or "" when it would not: a
    revert sets back what one change made, so it can restore half a schedule."""
    if not isinstance(current, Meeting) or not {"day", "time"} & changes.keys():
        return ""
    previous = record.prev_record
    day = previous.day if "day" in changes else current.day
    time = previous.time if "time" in changes else current.time
    if schedule.is_schedule(day=day, time=time):
        return ""
    if time is None:
        return _("Reverting this change would leave the meeting with a day but no start time: a weekly meeting has "
                 "both, one by appointment neither, never one without the other. Set its day and time on the "
                 "meeting's page instead.")
    return _("Reverting this change would leave the meeting with a start time but no day: a weekly meeting has "
             "both, one by appointment neither, never one without the other. Set its day and time on the "
             "meeting's page instead.")
