"""Reads: the meeting search, and the page of rows it gives.

`meeting_search` is the one query builder: the API's list, the search page,
the search calendar and the BMLT interface all call it with a validated
`MeetingSearch` (meetings/filters.py parses query parameters into one), and
`search_page` reads a window of it as rows (meetings/rows.py)."""

from __future__ import annotations

import bisect
import datetime as dt
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from functools import lru_cache, reduce
from operator import or_
from weakref import WeakKeyDictionary

from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Count, F, Q, QuerySet, SmallIntegerField, Value
from django.db.models.functions import Cast

from fellowships.models import Fellowship
from meetings import geo, schedule
from meetings.directory_version import kept_per_version
from meetings.keywords import keyword_conditions, language_condition, type_code_conditions
from meetings.models import Attendance, Meeting
from meetings.querysets import near, times_under_way
from meetings.rows import IdsStatement, meeting_rows_of_page


@dataclass(frozen=True)
class MeetingFilters:
    """Everything a meeting search can ask, already validated."""

    fellowships: tuple[Fellowship, ...] = ()
    days: tuple[int, ...] = ()
    time_after: dt.time | None = None
    time_before: dt.time | None = None
    open_closed: str | None = None
    attendance: tuple[str, ...] = ()
    # Each a code, or codes of which a meeting needs one (`type=D|DISC`).
    type_codes: tuple[tuple[str, ...], ...] = ()
    languages: tuple[str, ...] = ()
    region_ids: tuple[int, ...] = ()
    service_body_ids: tuple[int, ...] = ()
    keyword: str = ""
    starting_within: int | None = None
    in_progress: bool = False
    times_of_day: tuple[str, ...] = ()
    # UTC [start, stop) of the viewer's dates asked for (`starts_on`): the
    # next start from now must fall in one of them.
    start_windows: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
    # By next start from now (`order=soonest`), also near a place.
    soonest_first: bool = False
    now: dt.datetime | None = field(default=None, compare=False)


# `in_person` includes hybrid and so does `online`, as in existing tools.
ATTENDANCE_MATCHES = {
    "in_person": ("in_person", "hybrid"),
    "online": ("online", "hybrid"),
    "hybrid": ("hybrid",),
    "inactive": ("inactive",),
}


@dataclass(frozen=True)
class MeetingSearch:
    """A whole validated search: where, what, and how the rows are shown."""

    point: geo.Point | None = None
    radius_m: float | None = None
    filters: MeetingFilters = MeetingFilters()
    unit: geo.Unit = "mi"
    viewer_zone: ZoneInfo | None = None
    now: dt.datetime | None = field(default=None, compare=False)
    # The place `near` was taken to be, e.g. "Irvine, CA" for "Irvine".
    place: str = ""


WEEK_MINUTES = 7 * 24 * 60
# The condition of one weekday (meeting_search), each made once: the same for every search.
# Typed smallint like the column: btree_gist compares int2 only with int2, so `day = 2`
# (an int4) would stay a filter, while `day = 2::smallint` is a condition of the
# (earth, day) GiST scan (migration 0005) and skips the other weekdays inside the index.
ONE_WEEKDAY = tuple(Q(day=Cast(Value(day), SmallIntegerField())) for day in range(7))
# Every weekly meeting's next start is within a week of wall time; in real
# time a week can be longer by the clocks going back (an hour, two in
# Antarctica/Troll), so this window orders by next start and leaves none out.
LONGEST_WEEK_MINUTES = WEEK_MINUTES + 120

# Parts of the day by local start time, [from, until); night wraps past midnight.
TIMES_OF_DAY = {
    "morning": (dt.time(4), dt.time(12)),
    "midday": (dt.time(11), dt.time(17)),
    "evening": (dt.time(17), dt.time(21)),
    "night": (dt.time(21), dt.time(4)),
}


def _wall_time_range(after: dt.time | None, before: dt.time | None) -> Q:
    """Meetings starting in [after, before) local time; after > before wraps past midnight."""
    if after and before and after > before:
        return Q(time__gte=after) | Q(time__lt=before)
    condition = Q()
    if after:
        condition &= Q(time__gte=after)
    if before:
        condition &= Q(time__lt=before)
    return condition


def tree_ids(model, *, root_ids, children: dict[int, list[int]] | None = None) -> tuple[int, ...]:
    """Ids of the given rows and everything below them in a `parent` tree
    (regions, service bodies: small trees), sorted. `children`: the ids
    below each id (`tree_children`), read here when not given."""
    if children is None:
        children = tree_children(model)
    ids = set(root_ids)
    frontier = list(ids)
    while frontier:
        frontier = [child for parent in frontier for child in children.get(parent, ()) if child not in ids]
        ids.update(frontier)
    return tuple(sorted(ids))


def tree_children(model, *, using: str | None = None) -> dict[int, list[int]]:
    """{id: ids of the rows right below it} of a `parent` tree, in one query."""
    children: dict[int, list[int]] = {}
    for pk, parent_id in model.objects.using(using).filter(parent__isnull=False).values_list("pk", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    return children


# The distinct weekly times of every meeting, one probe of their index per
# time (Meeting.Meta; PostgreSQL 15 has no skip scan), where a time without an
# end comes before its ends: after one, the same start's first end, else
# the next time. At 1,000,000 meetings 12,136 times in ~45-100 ms, where
# SELECT DISTINCT read every meeting (0.24-0.7 s; bench/README.md, round 35).
CLOCK_TIMES_SQL = """
WITH RECURSIVE times AS (
    (SELECT timezone, day, time, end_time FROM meetings_meeting WHERE day IS NOT NULL AND time IS NOT NULL
     ORDER BY timezone, day, time, end_time NULLS FIRST LIMIT 1)
    UNION ALL
    SELECT next.* FROM times, LATERAL (
        (SELECT m.timezone, m.day, m.time, m.end_time FROM meetings_meeting m
         WHERE times.end_time IS NULL AND (m.timezone, m.day, m.time) = (times.timezone, times.day, times.time)
           AND m.end_time IS NOT NULL ORDER BY m.end_time NULLS FIRST LIMIT 1)
        UNION ALL
        (SELECT m.timezone, m.day, m.time, m.end_time FROM meetings_meeting m
         WHERE (m.timezone, m.day, m.time, m.end_time) > (times.timezone, times.day, times.time, times.end_time)
           AND m.day IS NOT NULL AND m.time IS NOT NULL
         ORDER BY m.timezone, m.day, m.time, m.end_time NULLS FIRST LIMIT 1)
        LIMIT 1) next
) SELECT timezone, day, time, end_time FROM times"""


def clock_turns(*, using: str) -> dict[str, schedule.ZoneTurns]:
    """Per valid IANA zone of the meetings in the database `using` that have a
    weekly time, where in its week what the clock shows of them can change
    (schedule.zone_turns); read once per directory version for every process."""

    def read() -> dict[str, schedule.ZoneTurns]:
        known = schedule.known_zone_names()
        if connections[using].vendor == "postgresql":
            with connections[using].cursor() as cursor:
                cursor.execute(CLOCK_TIMES_SQL)
                rows = cursor.fetchall()
        else:
            rows = (Meeting.objects.using(using).order_by().filter(day__isnull=False, time__isnull=False)
                    .values_list("timezone", "day", "time", "end_time").distinct())
        by_zone: dict[str, list] = {}
        for name, day, time, end_time in rows:
            if name in known:
                by_zone.setdefault(name, []).append((day, time, end_time))
        return {name: schedule.zone_turns(times) for name, times in by_zone.items()}

    return kept_per_version("clock_turns", using=using, read=read, shared=True)


def clock_counts(*, using: str) -> dict[str, dict[tuple[int, int | None], int]]:
    """Per zone of `clock_turns`, how many meetings, published or not, have
    each of its weekly times (`ZoneTurns.times`): what the (zone, day, time,
    end) index reads for the time. Read once per directory version for every
    process, by the first search that chooses its plan by them
    (`_meetings_at_clock_times`) and apart from the turns, which every
    answer reads: counting reads every meeting (about 0.3 s at 1,000,000,
    against 0.1 s for the turns' probes; bench/README.md, round 39)."""

    def read() -> dict[str, dict[tuple[int, int | None], int]]:
        counts: dict[str, dict[tuple[int, int | None], int]] = {}
        rows = (Meeting.objects.using(using).order_by().filter(day__isnull=False, time__isnull=False)
                .values_list("timezone", "day", "time", "end_time").annotate(count=Count("*")))
        for name, day, time, end_time, count in rows:
            counts.setdefault(name, {})[schedule.weekly_time(day=day, time=time, end_time=end_time)] = count
        return counts

    return kept_per_version("clock_counts", using=using, read=read, shared=True)


def zones_in_use(*, using: str) -> list[str]:
    """The valid IANA zones of the meetings with a weekly time in the database
    `using`, sorted: a clock search builds its clauses for these, not for all
    ~600 zones."""
    return sorted(clock_turns(using=using))


@lru_cache(maxsize=256)
def _matching(f: MeetingFilters, *, near: bool) -> QuerySet[Meeting]:
    """The published meetings matching what `f` asks that the place and the
    clock do not change, built once per process for each such question
    (`near`: the search is near a place): resolving each condition against
    the query was most of the cost of building a search (bench/README.md,
    round 45). A search adds its place and clock to a clone (filter()); this
    is never read itself."""
    where: list[Q] = []
    if f.fellowships:
        where.append(Q(fellowship__in=[x.pk for x in f.fellowships]))
    if len(f.days) == 1:
        where.append(ONE_WEEKDAY[f.days[0]])
    elif f.days:
        where.append(Q(day__in=f.days))
    if f.time_after or f.time_before:
        where.append(_wall_time_range(f.time_after, f.time_before))
    if f.open_closed:
        where.append(Q(open_closed=f.open_closed))
    attendance = {a for wanted in f.attendance for a in ATTENDANCE_MATCHES[wanted]}
    if near:
        # An online-only meeting's pin is a city, not a place to go: a search
        # near a place lists meetings one can go to (search online meetings
        # without a place). One condition with the attendance asked for.
        attendance = (attendance or set(Attendance.values)) - {Attendance.ONLINE}
    if attendance:
        where.append(Q(attendance__in=sorted(attendance)))
    # Every code is required, and one of the languages: conditions on the meeting's own row.
    where.extend(type_code_conditions(f.type_codes))
    if f.languages:
        where.append(language_condition(f.languages))
    if f.region_ids:
        where.append(Q(location__region__in=f.region_ids))
    if f.service_body_ids:
        where.append(Q(service_body__in=f.service_body_ids))
    where.extend(keyword_conditions(f.keyword))
    if f.times_of_day:
        where.append(reduce(or_, (_wall_time_range(*TIMES_OF_DAY[name]) for name in f.times_of_day)))
    return Meeting.objects.published().filter(*where)


@lru_cache(maxsize=64)
def _matching_at(f: MeetingFilters, *, near: bool, now: dt.datetime | None, windows: tuple | None, zones: tuple[str, ...],
                 keep_unscheduled: bool, under_way: tuple | None) -> QuerySet[Meeting]:
    """`_matching` of the meetings whose next start from `now` lies in one of
    `windows` (MeetingQuerySet.starting_between, which reads both to the
    minute) and of those at the weekly times `under_way` ((time, zones) pairs
    of times_under_way; `now` is None without windows: what is under way is
    its key), built once per process for each question and minute: one condition per group of zones or per weekly time, resolved
    against the query, was most of a search page's Python (bench/README.md,
    round 46). Never read itself."""
    qs = _matching(f, near=near)
    if windows is not None:
        qs = qs.starting_between(now=now, windows=list(windows), zones=list(zones), keep_unscheduled=keep_unscheduled)
    if under_way is not None:
        qs = qs.in_progress(dict(under_way))
    return qs


def _to_the_minute(instant: dt.datetime) -> dt.datetime:
    return instant.astimezone(schedule.UTC).replace(second=0, microsecond=0)


# Near a place, a search that asks the clock (`in_progress`, a window of
# starts) whose weekly times at most this many meetings of the directory have
# reads them through the (zone, day, time, end) index and sorts those within
# the radius: about 10 ms a thousand at 1,000,000 on a loaded machine. Above
# it, the KNN scan found a page of them near in 12-53 ms, where with fewer it
# often walked the whole radius (up to 0.5 s within 10 mi, 2.3 s within
# 500 km; bench/README.md, round 39).
CLOCK_PLAN_MAX_MEETINGS = 10_000


@dataclass(frozen=True)
class Nearest:
    """Where a search on PostgreSQL lists meetings nearest first: its
    statement is geo.NEAREST_FIRST_SQL around the search's other conditions
    (`ids_statement`). `walk_index`: the KNN scan of the GiST index (read
    under geo.nearest_first_plan); else the clock plan."""

    point: geo.Point
    radius_m: float
    walk_index: bool


@dataclass(frozen=True)
class Found:
    """A search's meetings: `meetings` in the search's order, or, when
    `nearest` is given, `meetings` (unordered, the place not applied) read
    nearest first around it by `ids_statement`."""

    meetings: QuerySet[Meeting]
    nearest: Nearest | None = None


def meeting_search(*, point: geo.Point | None, radius_m: float | None, filters: MeetingFilters) -> Found:
    """Published meetings matching `filters`:
    soonest first when asked (`soonest_first`), else nearest first when a
    point is given, else soonest first with `starting_within` or
    `start_windows`, else by weekday and time. Soonest first, meetings
    starting at the same instant come nearer first. Nearest first on
    PostgreSQL, the plan is chosen here: the KNN scan of the GiST index
    (read under geo.nearest_first_plan), unless the search asks the clock
    and few meetings have the weekly times it names (CLOCK_PLAN_MAX_MEETINGS),
    and the place is applied by the one near statement (`Found.nearest`,
    read by `ids_statement`)."""
    f = filters
    where: list[Q] = []
    now = f.now or dt.datetime.now(dt.timezone.utc)
    windows = _start_windows(f, now=now)
    using = Meeting.objects.db
    under_way = times_under_way(now=now, turns=clock_turns(using=using)) if f.in_progress else None
    nearest_first = nearest = None
    if point is not None:
        vendor = connections[using].vendor
        # Without a radius the widest one applies: it bounds the index scan.
        radius = radius_m if radius_m is not None else settings.MEETINGS_MAX_RADIUS_KM * 1000
        if vendor == "postgresql" and not _by_next_start(point=point, filters=f):
            walk_index = ((under_way is None and windows is None)
                          or _meetings_at_clock_times(under_way=under_way, windows=windows, using=using)
                          > CLOCK_PLAN_MAX_MEETINGS)
            nearest = Nearest(point=point, radius_m=radius, walk_index=walk_index)
        else:
            within, nearest_first = near(point, radius_m=radius, vendor=vendor)
            where.extend(within)
    asked = replace(f, starting_within=None, in_progress=False, start_windows=(), soonest_first=False)
    if windows is None and under_way is None:
        qs = _matching(asked, near=point is not None)
    else:
        # Listed by next start without a window asked: ordered, none left out
        # (those with no next start, by appointment, come last).
        qs = _matching_at(
            asked, near=point is not None, now=None if windows is None else _to_the_minute(now),
            windows=None if windows is None else tuple((_to_the_minute(start), _to_the_minute(stop))
                                                       for start, stop in windows),
            zones=() if windows is None else tuple(zones_in_use(using=using)), keep_unscheduled=_orders_only(f),
            under_way=None if under_way is None else tuple((time, tuple(names)) for time, names in under_way.items()))
    if nearest is not None:  # the query kept for the question, whose SQL is kept with it (ids_statement)
        return Found(qs, nearest)
    qs = qs.filter(*where)
    if _by_next_start(point=point, filters=f):  # a window of starts was asked: `starts_in` is annotated
        return Found(qs.order_by(F("starts_in").asc(nulls_last=True), *nearest_first[:1] if nearest_first else (),
                                 "name", "id"))
    if nearest_first is not None:
        return Found(qs.order_by(*nearest_first))
    # By appointment (no day, no time) last on every database, as PostgreSQL's index sorts NULL.
    # What is under way has a day and a time, so NULL may sort first: an order
    # no index holds, so PostgreSQL reads the meetings under way through their
    # times and sorts them, where it walked the weekday-and-time index (they
    # all start about now, which its estimate cannot know: 3 s at 1,000,000
    # meetings; bench/README.md, round 37).
    nulls = {"nulls_first": True} if f.in_progress else {"nulls_last": True}
    return Found(qs.order_by(F("day").asc(**nulls), F("time").asc(**nulls), "name", "id"))


def ids_statement(found: Found, *, window: slice, meetings: QuerySet[Meeting] | None = None,
                  columns: str = '"id"') -> tuple[str, tuple] | None:
    """PostgreSQL, nearest first (`found.nearest`): the statement of the
    `columns` of `window` of the search's meetings, or of `meetings` (those
    of the search, narrowed further), nearest first (geo.nearest_first_sql).
    None: no meeting can match. The SQL of the search's own conditions is
    kept with their query (`_matching`, `_matching_at`), so a search near a
    new place compiles nothing but its place: building and compiling the
    whole query was a sixth of a search's instructions (bench/README.md,
    round 47)."""
    assert found.nearest is not None
    if meetings is None:
        matching = _kept_matching_sql(found.meetings, found.meetings.db)
    else:
        matching = _matching_sql(meetings, meetings.db)
    if matching is None:
        return None
    near = found.nearest
    return geo.nearest_first_sql(*matching, point=near.point, radius_m=near.radius_m, walk_index=near.walk_index,
                                 window=window, columns=columns)


def _matching_sql(meetings: QuerySet[Meeting], using: str) -> tuple[str, tuple] | None:
    """The SQL and parameters of `meetings` as geo.NEAREST_FIRST_SQL reads
    them; None: a condition no meeting can meet (in_progress with none under way)."""
    try:
        sql, params = (meetings.order_by().values_list("id", "latitude", "longitude")
                       .query.get_compiler(using=using).as_sql())
    except EmptyResultSet:
        return None
    return sql, tuple(params)


# The SQL of each query kept by _matching or _matching_at (the same object for
# the same question), per database, for as long as that query is kept: held
# weakly, so a query its cache drops takes its SQL with it. (A cache of its
# own kept the queries too: a clock search's, dropped each minute, ~240 KB each.)
_KEPT_SQL: WeakKeyDictionary[QuerySet[Meeting], dict[str, tuple[str, tuple] | None]] = WeakKeyDictionary()


def _kept_matching_sql(meetings: QuerySet[Meeting], using: str) -> tuple[str, tuple] | None:
    by_database = _KEPT_SQL.setdefault(meetings, {})
    if using not in by_database:
        by_database[using] = _matching_sql(meetings, using)
    return by_database[using]


def _meetings_at_clock_times(*, under_way: dict[tuple, list[str]] | None,
                             windows: list[tuple[dt.datetime, dt.datetime]] | None, using: str) -> int:
    """How many meetings of the directory, published or not, have a weekly
    time under way (`under_way`: times_under_way) or starting in `windows`,
    of the fewer when both are asked, from the clock's facts: no meeting is read."""
    turns, counts = clock_turns(using=using), clock_counts(using=using)
    found = []
    if under_way is not None:
        found.append(sum(counts.get(name, {}).get(schedule.weekly_time(day=day, time=time, end_time=end_time), 0)
                         for (day, time, end_time), names in under_way.items() for name in names))
    if windows is not None:
        starting = 0
        for name, zone in turns.items():
            for start, stop in windows:
                for segment in schedule.starting_segments(timezone=name, start=start, stop=stop):
                    week_minute = segment.day * schedule.MINUTES_PER_DAY
                    first, last = (bisect.bisect_left(zone.times, week_minute + minute, key=lambda t: t[0])
                                   for minute in (segment.start_minute, segment.end_minute))
                    starting += sum(counts.get(name, {}).get(weekly, 0) for weekly in zone.times[first:last])
        found.append(starting)
    return min(found)


def _by_next_start(*, point: geo.Point | None, filters: MeetingFilters) -> bool:
    """Whether a search lists by next start from now: asked for
    (`order=soonest`), or a window of starts asked for without a place."""
    f = filters
    return f.soonest_first or (point is None and (f.starting_within is not None or bool(f.start_windows)))


def _orders_only(f: MeetingFilters) -> bool:
    """Listed by next start (`order=soonest`) with no window of starts asked:
    an order, which leaves no meeting out."""
    return f.soonest_first and f.starting_within is None and not f.start_windows


def _start_windows(f: MeetingFilters, *, now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]] | None:
    """The UTC windows [start, stop) a meeting's next start must fall in:
    `starting_within` from now, cut to the viewer's dates of `start_windows`,
    neither before now. None: the search asks no such thing."""
    starting_within = f.starting_within
    if _orders_only(f):
        starting_within = LONGEST_WEEK_MINUTES
    elif starting_within is None and not f.start_windows:
        return None
    within = (now, now + dt.timedelta(minutes=starting_within + 1)) if starting_within is not None else None
    windows = []
    for start, stop in f.start_windows or [within]:
        start = max(start, now)
        if within is not None:
            stop = min(stop, within[1])
        if start < stop:
            windows.append((start, stop))
    return windows


def search_page(search: MeetingSearch, *, window: slice, found: Found | None = None) -> list[dict]:
    """The rows of one window of a search (meetings/rows.py), in its order.
    `found`: the search's meetings when already built (`search_query`)."""
    shown = {"now": search.now or dt.datetime.now(dt.timezone.utc), "unit": search.unit,
             "viewer_zone": search.viewer_zone, "centre": search.point}
    if search.point is None or search.filters.soonest_first:
        # Soonest first, the meetings starting within a few hours come first:
        # when they fill the window they are its rows, read through the
        # (zone, day, time) index instead of ordering a whole week's meetings.
        for minutes in _narrower_windows(search, window=window):
            narrowed = search_query(replace(search, filters=replace(search.filters, starting_within=minutes))).meetings
            rows = meeting_rows_of_page(narrowed.values_list("id", flat=True)[window], run_on=narrowed.db, **shown)
            if len(rows) == window.stop - window.start:
                return rows
    found = search_query(search) if found is None else found
    meetings = found.meetings
    if found.nearest is None:
        return meeting_rows_of_page(meetings.values_list("id", flat=True)[window], run_on=meetings.db, **shown)
    # Every window is its ids alone, then their rows by key, in one statement:
    # venues and the rest are joined for the window's rows only (a listing
    # whose matches PostgreSQL underestimated joined them all before sorting;
    # bench/README.md, round 20). Nearest first, the index scan that yields
    # the ids stops after the window (no join between the scan and its LIMIT).
    statement = ids_statement(found, window=window)
    if statement is None:
        return []
    with _nearest_first_plan(found) as run_on:
        return meeting_rows_of_page(IdsStatement(*statement, using=meetings.db), run_on=run_on, **shown)


def nearest_first_values(found: Found, *, window: slice, meetings: QuerySet[Meeting] | None = None,
                         columns: str = '"id"') -> list[tuple]:
    """The rows of `ids_statement` (the same arguments), read under its plan."""
    statement = ids_statement(found, window=window, meetings=meetings, columns=columns)
    if statement is None:
        return []
    with _nearest_first_plan(found) as run_on, connections[run_on].cursor() as cursor:
        cursor.execute(*statement)
        return cursor.fetchall()


def _nearest_first_plan(found: Found):
    """The connection a nearest-first statement runs on: under
    geo.nearest_first_plan for the KNN scan; the search's own for the clock plan."""
    using = found.meetings.db
    return geo.nearest_first_plan(using=using) if found.nearest.walk_index else nullcontext(using)


# Soonest first, the windows (minutes from now) tried before the search's own.
SOONEST_FIRST_WINDOWS = (120, 24 * 60)


def _narrower_windows(search: MeetingSearch, *, window: slice) -> tuple[int, ...]:
    """The windows narrower than the search's own that a soonest-first page
    can be read from: ordered by next start, the meetings starting within
    `minutes` are the first ones of every wider window, so when they fill the
    page they are its rows."""
    f = search.filters
    if not _by_next_start(point=search.point, filters=f) or f.in_progress or window.stop is None:
        return ()
    widest = f.starting_within if f.starting_within is not None else LONGEST_WEEK_MINUTES
    return tuple(minutes for minutes in SOONEST_FIRST_WINDOWS if minutes < widest)


def search_query(search: MeetingSearch) -> Found:
    return meeting_search(point=search.point, radius_m=search.radius_m, filters=search.filters)


class SearchResults:
    """A search as a paginator reads it: windows of rows, and a count that
    never costs more than the page (meetings/api/pagination.py)."""

    def __init__(self, search: MeetingSearch):
        self.search = search
        # Built once for the count and the window (a clock search builds a clause per zone).
        self.found = search_query(search)
        # A nearest-first search is read with one row of lookahead instead of a count.
        self.counts_by_lookahead = search.point is not None

    def __getitem__(self, window: slice) -> list[dict]:
        return search_page(self.search, window=window, found=self.found)

    def count_up_to(self, cap: int) -> int:
        """How many meetings match, counting no further than `cap`."""
        if self.found.nearest is None:
            return self.found.meetings.order_by()[:cap].count()
        return len(nearest_first_values(self.found, window=slice(0, cap)))
