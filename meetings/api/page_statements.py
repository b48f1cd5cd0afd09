"""Nearest-first listing pages without building the query each time.

The SQL of a page depends only on the search's shape (which filters, how many
values each, open/closed and attendance wanted, the page window); its
parameters hold the values (point, radius, weekdays, fellowship, region and
service body ids). Building and compiling the query is ~40% of a search's
time in Python (bench/README.md), so the first search of a shape is built
with sentinel values and compiled, and later ones reuse the statement with
their own values where the sentinels were. Shapes with any other filter, and
anything but a pipelined PostgreSQL search, take the ORM as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from django.conf import settings
from django.db.models import QuerySet

from fellowships.models import Fellowship
from meetings import geo
from meetings.api.listing import listing_rows
from meetings.selectors import MeetingFilters, meeting_search

# Values no search can hold, so each parameter that equals one is that slot's.
_SENTINEL_BASE = 7_700_000_001
MAX_SHAPES = 512


@dataclass(frozen=True)
class _Statement:
    sql: str
    # Per parameter: the index of the search value it holds, or None for a constant.
    slots: tuple[int | None, ...]
    constants: tuple
    # Turns raw rows into .values() dicts; only its converters are used, which
    # need no database access, so threads may share it.
    compiler: object
    names: tuple[str, ...]


_statements: dict[tuple, _Statement | None] = {}
_UNSEEN = object()


def _search_values(point: geo.Point, radius_m: float, f: MeetingFilters) -> list:
    return [point.latitude, point.longitude, radius_m, *(x.pk for x in f.fellowships), *f.days, *f.region_ids,
            *f.service_body_ids]


def _shape(*, using: str, radius_m: float, f: MeetingFilters, window: slice) -> tuple | None:
    if (f.time_after or f.time_before or f.type_codes or f.languages or f.keyword
            or f.starting_within is not None or f.in_progress):
        return None
    lists = ([x.pk for x in f.fellowships], f.days, f.region_ids, f.service_body_ids)
    if any(len(set(values)) != len(values) for values in lists):
        return None  # `__in` drops repeats, so the statement would hold fewer parameters
    return (using, *(len(values) for values in lists), f.open_closed, tuple(sorted(f.attendance)),
            window.start, window.stop)


def _compile(*, using: str, f: MeetingFilters, window: slice) -> _Statement | None:
    """The shape's statement, built from sentinels; None when a sentinel does
    not come out as a parameter of its own (then the shape is not cached)."""
    count = 3 + len(f.fellowships) + len(f.days) + len(f.region_ids) + len(f.service_body_ids)
    sentinels = [_SENTINEL_BASE + n for n in range(count)]
    ints = iter(sentinels[3:])
    stand_in = replace(
        f,
        fellowships=tuple(Fellowship(pk=next(ints)) for _ in f.fellowships),
        days=tuple(next(ints) for _ in f.days),
        region_ids=tuple(next(ints) for _ in f.region_ids),
        service_body_ids=tuple(next(ints) for _ in f.service_body_ids),
    )
    lat, lng, radius = (float(s) for s in sentinels[:3])
    rows = listing_rows(meeting_search(point=geo.Point(lat, lng), radius_m=radius, filters=stand_in))
    query = rows[window.start:window.stop].query
    compiler = query.get_compiler(using=using)
    sql, params = compiler.as_sql()
    position = {value: n for n, value in enumerate(sentinels)}
    slots = tuple(position.get(p) if isinstance(p, (int, float)) and not isinstance(p, bool) else None
                  for p in params)
    if set(slots) - {None} != set(range(count)):
        return None
    names = (*query.extra_select, *query.values_select, *query.annotation_select)
    return _Statement(sql=sql, slots=slots, constants=tuple(params), compiler=compiler, names=names)


def cached_page(*, using: str, point: geo.Point, radius_m: float, filters: MeetingFilters,
                window: slice) -> list[dict] | None:
    """The rows `listing_rows(meeting_search(...))[window]` would give, or
    None when this search is not served from a cached statement."""
    if not geo.can_pipeline_nearest_first(using=using):
        return None
    shape = _shape(using=using, radius_m=radius_m, f=filters, window=window)
    if shape is None:
        return None
    # Threads share the dict: read once, so a clear() in between cannot bite.
    statement = _statements.get(shape, _UNSEEN)
    if statement is _UNSEEN:
        if len(_statements) >= MAX_SHAPES:
            _statements.clear()
        statement = _statements[shape] = _compile(using=using, f=filters, window=window)
    if statement is None:
        return None
    values = _search_values(point, radius_m, filters)
    params = [values[slot] if slot is not None else constant
              for slot, constant in zip(statement.slots, statement.constants)]
    raw = geo.nearest_first_rows(using=using, sql=statement.sql, params=params)
    return [dict(zip(statement.names, row)) for row in statement.compiler.results_iter(results=[raw])]


class NearestFirstPages:
    """What the paginator slices for a nearest-first search: a window comes
    from cached_page when it can, else from the ORM's queryset (also for the
    paginator's count, which geo searches only need past their last page)."""

    def __init__(self, *, using: str, point: geo.Point, radius_m: float | None, filters: MeetingFilters):
        self.using, self.point, self.filters = using, point, filters
        # meeting_search's default, applied here so that the cached statement and the ORM agree.
        self.radius_m = radius_m if radius_m is not None else settings.MEETINGS_MAX_RADIUS_KM * 1000
        self._queryset: QuerySet | None = None

    def queryset(self) -> QuerySet:
        if self._queryset is None:
            self._queryset = listing_rows(meeting_search(point=self.point, radius_m=self.radius_m,
                                                         filters=self.filters))
        return self._queryset

    def __getitem__(self, window: slice):
        rows = cached_page(using=self.using, point=self.point, radius_m=self.radius_m, filters=self.filters,
                           window=window)
        return rows if rows is not None else self.queryset()[window]

    def __getattr__(self, name: str) -> Callable:
        # order_by(), count() and the rest: the queryset's own.
        return getattr(self.queryset(), name)
