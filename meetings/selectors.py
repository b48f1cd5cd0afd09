"""Reads: the meeting search and the lookups the API needs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet, SmallIntegerField, Value
from django.db.models.functions import Cast

from fellowships.models import Fellowship, MeetingType, ServiceBody
from meetings import geo
from meetings.models import Meeting


@dataclass(frozen=True)
class MeetingFilters:
    """Everything a meeting search can ask, already validated."""

    fellowships: tuple[Fellowship, ...] = ()
    days: tuple[int, ...] = ()
    time_after: dt.time | None = None
    time_before: dt.time | None = None
    open_closed: str | None = None
    attendance: tuple[str, ...] = ()
    type_codes: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    region_ids: tuple[int, ...] = ()
    service_body_ids: tuple[int, ...] = ()
    keyword: str = ""
    starting_within: int | None = None
    in_progress: bool = False
    now: dt.datetime | None = field(default=None, compare=False)


# `in_person` includes hybrid and so does `online`, as in existing tools.
ATTENDANCE_MATCHES = {
    "in_person": ("in_person", "hybrid"),
    "online": ("online", "hybrid"),
    "hybrid": ("hybrid",),
    "inactive": ("inactive",),
}


def descendant_ids(model, roots) -> tuple[int, ...]:
    """Ids of `roots` and everything below them in a parent tree (small trees:
    regions and service bodies, one query per level)."""
    ids = {r.pk for r in roots}
    frontier = set(ids)
    while frontier:
        frontier = set(model.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)) - ids
        ids |= frontier
    return tuple(sorted(ids))


def meeting_search(*, point: geo.Point | None, radius_m: float | None, filters: MeetingFilters) -> QuerySet[Meeting]:
    """Published meetings matching `filters`: nearest first with `distance_m`
    when a point is given, else soonest first with `starting_within`, else by
    weekday and time."""
    qs = Meeting.objects.published()
    f = filters
    if f.fellowships:
        qs = qs.filter(fellowship__in=[x.pk for x in f.fellowships])
    if len(f.days) == 1:
        # Typed smallint like the column: btree_gist compares int2 only with
        # int2, so `day = 2` (an int4) would stay a filter, while
        # `day = 2::smallint` is a condition of the (earth, day) GiST scan
        # (migration 0005) and skips the other weekdays inside the index.
        qs = qs.filter(day=Cast(Value(f.days[0]), SmallIntegerField()))
    elif f.days:
        qs = qs.filter(day__in=f.days)
    if f.time_after and f.time_before and f.time_after > f.time_before:
        # A range across midnight: "after 22:00, before 02:00".
        qs = qs.filter(Q(time__gte=f.time_after) | Q(time__lt=f.time_before))
    else:
        if f.time_after:
            qs = qs.filter(time__gte=f.time_after)
        if f.time_before:
            qs = qs.filter(time__lt=f.time_before)
    if f.open_closed:
        qs = qs.filter(open_closed=f.open_closed)
    if f.attendance:
        qs = qs.filter(attendance__in=sorted({a for wanted in f.attendance for a in ATTENDANCE_MATCHES[wanted]}))
    for code in f.type_codes:
        # Every code is required; each is read in the meeting's own fellowship.
        qs = qs.filter(Exists(Meeting.types.through.objects.filter(meeting_id=OuterRef("pk"), meetingtype__code=code)))
    if f.languages:
        spoken = Meeting.types.through.objects.filter(meeting_id=OuterRef("pk"), meetingtype__kind="language")
        qs = qs.filter(
            Exists(spoken.filter(meetingtype__language__in=f.languages))
            # A meeting that names no language is held in its service body's.
            | (~Exists(spoken) & Q(service_body__default_language__in=f.languages))
        )
    if f.region_ids:
        qs = qs.filter(location__region__in=f.region_ids)
    if f.service_body_ids:
        qs = qs.filter(service_body__in=f.service_body_ids)
    if f.keyword:
        words = f.keyword.split()
        for word in words:
            qs = qs.filter(
                Q(name__icontains=word) | Q(group__icontains=word) | Q(notes__icontains=word)
                | Q(location__name__icontains=word) | Q(location__formatted_address__icontains=word)
                | Q(location__city__icontains=word)
            )
    if f.starting_within is not None:
        qs = qs.starting_within(now=f.now or dt.datetime.now(dt.timezone.utc), minutes=f.starting_within)
    if f.in_progress:
        qs = qs.in_progress(now=f.now or dt.datetime.now(dt.timezone.utc))
    if point is not None:
        # Without a radius the widest one applies: it bounds the index scan.
        return qs.near(point, radius_m=radius_m if radius_m is not None else settings.MEETINGS_MAX_RADIUS_KM * 1000)
    if f.starting_within is not None:
        return qs.order_by("starts_in", "name", "id")
    return qs.order_by("day", "time", "name", "id")


def known_type_codes(fellowships: tuple[Fellowship, ...]) -> set[str]:
    qs = MeetingType.objects.all()
    if fellowships:
        qs = qs.filter(fellowship__in=[f.pk for f in fellowships])
    return set(qs.values_list("code", flat=True))


def known_languages() -> set[str]:
    spoken = set(MeetingType.objects.filter(kind="language").exclude(language="").values_list("language", flat=True))
    return spoken | set(ServiceBody.objects.values_list("default_language", flat=True))
