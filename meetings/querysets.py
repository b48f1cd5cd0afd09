"""Query vocabulary for meetings: what is published, what is near a point, what starts when."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from functools import reduce
from operator import or_

from django.db import models
from django.db.models import Case, ExpressionWrapper, F, FloatField, Func, IntegerField, Q, Value, When
from django.db.models.functions import Cast, ExtractHour, ExtractMinute
from django.db.models.lookups import LessThanOrEqual

from fellowships.querysets import AnnouncedWritesQuerySet
from meetings import geo, schedule


def _wall_segment_q(segment: schedule.WallSegment) -> Q:
    q = Q(day=segment.day, time__gte=dt.time(segment.start_minute // 60, segment.start_minute % 60))
    if segment.end_minute < schedule.MINUTES_PER_DAY:
        q &= Q(time__lt=dt.time(segment.end_minute // 60, segment.end_minute % 60))
    return q


# Shown to the public: not removed from its feed, not a second source's copy
# of a meeting shown once.
PUBLISHED = Q(published=True, removed=False, duplicate_of__isnull=True)


def near(point: geo.Point, *, radius_m: float, vendor: str) -> tuple[tuple, tuple]:
    """(conditions, order) of the meetings with coordinates within `radius_m`
    of `point`, nearest first, on a database of `vendor`, as the ORM's
    conditions: on SQLite, and on PostgreSQL for the order by next start near
    a place, whose ties come nearer first (selectors.meeting_search; a
    nearest-first search there is geo.NEAREST_FIRST_SQL). PostgreSQL: within
    the earth_box, the GiST index's condition, and by `<->`, its order.
    Elsewhere: a latitude and longitude box, then the great-circle distance,
    ties by id."""
    if vendor == "postgresql":
        centre = geo.earth_point(point.latitude, point.longitude)
        cube = geo.cube_literal(centre)
        # Rows without coordinates are outside every box (ll_to_earth of NULL is NULL).
        return (geo.pg_within(centre, cube, radius_m),), (geo.pg_knn(cube).asc(),)
    box = geo.bounding_box(point, radius_m)
    longitudes = reduce(or_, (Q(longitude__gte=west, longitude__lte=east) for west, east in box.longitude_ranges))
    distance = Func(F("latitude"), F("longitude"), Value(point.latitude), Value(point.longitude),
                    function="gc_distance_m", output_field=FloatField())
    # Rows without coordinates are outside every box (NULL compares as unknown).
    return ((Q(latitude__gte=box.min_latitude, latitude__lte=box.max_latitude) & longitudes,
             LessThanOrEqual(distance, radius_m)),
            (distance.asc(), "id"))


def _zone_groups(*, windows: Sequence[tuple[dt.datetime, dt.datetime]],
                 zones: list[str] | None) -> dict[tuple[schedule.WallSegment, ...], list[str]]:
    """The stretches of wall time in which a meeting starts within one of the
    UTC `windows` [start, stop), with the zones (by default all) whose clocks
    agree on them over the windows."""
    by_segments: dict[tuple[schedule.WallSegment, ...], list[str]] = defaultdict(list)
    for name in sorted(schedule.known_zone_names()) if zones is None else zones:
        by_segments[tuple(segment for start, stop in windows
                          for segment in schedule.starting_segments(timezone=name, start=start, stop=stop))].append(name)
    return by_segments


# A meeting's start as minutes into the day, and into the week, of its wall clock.
DAY_MINUTE = ExtractHour("time") * 60 + ExtractMinute("time")
WEEK_MINUTE = ExpressionWrapper(F("day") * schedule.MINUTES_PER_DAY + DAY_MINUTE, output_field=IntegerField())


class MeetingQuerySet(AnnouncedWritesQuerySet):
    def published(self) -> MeetingQuerySet:
        return self.filter(PUBLISHED)

    def with_listing_relations(self) -> MeetingQuerySet:
        return self.select_related("fellowship", "service_body", "location", "location__region").prefetch_related(
            "types"
        )

    def starting_within(self, *, now: dt.datetime, minutes: int, zones: list[str] | None = None) -> MeetingQuerySet:
        """Meetings whose next start lies in [now, now + minutes], each in its
        own zone, DST exact; annotated with `starts_in` (minutes from now).
        `zones`: the zones to consider (selectors.zones_in_use), by default all."""
        return self.starting_between(now=now, windows=[(now, now + dt.timedelta(minutes=minutes + 1))], zones=zones)

    def starting_between(self, *, now: dt.datetime, windows: Sequence[tuple[dt.datetime, dt.datetime]],
                         zones: list[str] | None = None, keep_unscheduled: bool = False) -> MeetingQuerySet:
        """Meetings whose next start from `now` lies in one of the UTC `windows`
        [start, stop) (each within the week after `now`, to the minute), each in
        its own zone, DST exact; annotated with `starts_in` (minutes from now).
        `zones`: the zones to consider (selectors.zones_in_use), by default all.
        `keep_unscheduled`: also the meetings with no next start (by
        appointment, no usable zone), their `starts_in` null."""
        now = now.astimezone(schedule.UTC).replace(second=0, microsecond=0)
        found, branches = [], []
        whole_week = any(stop - start >= dt.timedelta(minutes=schedule.MINUTES_PER_WEEK) for start, stop in windows)
        for segments, names in _zone_groups(windows=windows, zones=zones).items():
            in_zones = Q(timezone__in=names)
            if len({segment.utc_offset_minutes for segment in segments}) == 1:
                # One offset throughout: a start is so many minutes of wall
                # clock after the first stretch's, within a week; one branch
                # for every day, where building one per day and zone cost
                # 140 ms of Python per week-long search in 48 zones.
                first = min(segments, key=lambda segment: (segment.midnight, segment.start_minute))
                to_first = int((first.midnight - now).total_seconds()) // 60 + first.start_minute
                after_first = (WEEK_MINUTE + Value(schedule.MINUTES_PER_WEEK - first.day * schedule.MINUTES_PER_DAY
                                                   - first.start_minute)) % schedule.MINUTES_PER_WEEK
                branches.append(When(in_zones, then=Value(to_first) + after_first))
                if whole_week:  # one offset over a week of real time: every minute of its wall clock
                    found.append(in_zones & Q(day__isnull=False, time__isnull=False))
                    continue
            else:
                # Minutes from now to the start: to the wall midnight of its date, then into its day.
                branches.extend(When(in_zones & _wall_segment_q(segment),
                                     then=Value(int((segment.midnight - now).total_seconds()) // 60) + DAY_MINUTE)
                                for segment in segments)
            found.extend(in_zones & _wall_segment_q(segment) for segment in segments)
        starts_in = Case(*branches, default=None, output_field=IntegerField()) if branches \
            else Cast(Value(None), IntegerField())  # typed: PostgreSQL orders by no bare NULL
        if keep_unscheduled:
            found.append(Q(day__isnull=True) | Q(time__isnull=True)
                         | ~Q(timezone__in=sorted(schedule.known_zone_names()) if zones is None else zones))
        if not found:  # no meeting in any zone, or none of them starts in the windows
            return self.annotate(starts_in=Value(0, output_field=IntegerField())).none()
        return self.filter(reduce(or_, found)).annotate(starts_in=starts_in)

    def in_progress(self, times: dict[tuple, list[str]]) -> MeetingQuerySet:
        """Meetings under way: those at the weekly `times` under way, each in
        the zones named (`times_under_way`). No meeting is read to decide: the
        conditions go with the search's own on the (zone, day, time, end)
        index, where reading the recent starts and sending back the ids under
        way took 0.8 s at 1,000,000 meetings (bench/README.md, round 37)."""
        return self.filter(reduce(or_, (Q(timezone__in=names, day=day, time=time, end_time=end_time)
                                        for (day, time, end_time), names in times.items()), Q(pk__in=[])))


def times_under_way(*, now: dt.datetime, turns: dict[str, schedule.ZoneTurns]) -> dict[tuple, list[str]]:
    """The weekly times (day, time, end_time) under way at `now` (started, not
    yet ended), each in its own zone, DST exact, with the zones of `turns`
    (selectors.clock_turns) where they are: `schedule.in_progress` decides
    for each weekly time of the clock's facts."""
    zones_by_time: dict[tuple, list[str]] = defaultdict(list)
    for name, zone_turns in turns.items():
        for weekly_time in schedule.under_way(zone_turns, timezone=name, now=now):
            zones_by_time[weekly_time].append(name)
    return zones_by_time


MeetingManager = models.Manager.from_queryset(MeetingQuerySet)


# A source's body is written only by the handover that moves its meetings.
BODY_BY_SERVICE = ("A feed source is given another service body by services.feed_source_save, which moves its "
                   "meetings with it.")


def _refuse_body(fields) -> None:
    if {"service_body", "service_body_id"} & set(fields):
        raise ValueError(BODY_BY_SERVICE)


class FeedSourceQuerySet(models.QuerySet):
    """Writes that skip `save()` refuse a new service body, as `FeedSource.save` does."""

    def update(self, **kwargs) -> int:
        _refuse_body(kwargs)
        return super().update(**kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        # Before its transaction begins: a refusal inside would spoil the caller's.
        _refuse_body(fields)
        return super().bulk_update(objs, fields, *args, **kwargs)
