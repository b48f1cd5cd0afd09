"""Nearest-first listing pages from one statement compiled per search shape.

The SQL of a page depends only on the search's shape (which filters, how many
values each, open/closed and attendance wanted, the page window); its
parameters hold the values (the point, radius, weekdays, fellowship, region
and service body ids). Building and compiling a query with the ORM is ~40% of
a search's time in Python (bench/README.md), so the first search of a shape is
built with sentinel values and compiled, and later ones reuse the statement
with their own values where the sentinels were. Shapes with any other filter,
and anything but a pipelined PostgreSQL search, take the ORM as before.

The statement is cheaper for the database than the ORM's query, with the same
rows (tests/test_page_statements.py compares them):

- The nearest-first scan (the ORM's filters, the earth_box and `<->` order)
  selects meeting ids only, under its LIMIT, in a MATERIALIZED CTE: the
  planner cannot put joins between the KNN index scan and the LIMIT, so the
  scan stops after a page's worth of rows whatever it guesses (it guesses ~2
  rows for any box, and with joins above the scan it may hash the whole box).
  The page's other columns come by primary key for those rows only.
- The point is a parameter as its earth cube (geo.cube_literal), so a generic
  plan computes nothing from the parameters per row.
- The distance and the exact radius cut happen here (geo.earth_distance_m is
  earthdistance's arithmetic): rows come nearest first, so the rows within the
  radius are a prefix of the page, and cutting the page there is the ORM's
  `earth_distance(...) <= radius` filter.
- Types, fellowships, service bodies and regions come as ids and are named
  from small per-process maps of those tables (Names), read again on an
  unknown id, on a change in this process, and at most NAMES_MAX_AGE seconds
  after a change made elsewhere. Joining the type codes in SQL cost a scan of
  the type table per row in every plan PostgreSQL chose (~0.5 ms a page); the
  three slug joins ~0.2 ms of a ~1.2 ms page (100,000 meetings).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from django.conf import settings
from django.db import connections
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.signals import post_delete, post_save

from fellowships.models import Fellowship, MeetingType, ServiceBody
from meetings import geo
from meetings.api.listing import VALUE_PATHS, listing_rows
from meetings.models import Meeting, Region
from meetings.selectors import MeetingFilters, meeting_search

# Values no search can hold, so each parameter that equals one is that slot's.
_SENTINEL_BASE = 7_700_000_001
_CUBE_SENTINEL = "(7700000001.5, 0, 0)"
MAX_SHAPES = 512
NAMES_MAX_AGE = 60.0


@dataclass(frozen=True)
class _Statement:
    sql: str
    # Per parameter: the index of the search value it holds, or None for a constant.
    slots: tuple[int | None, ...]
    constants: tuple


_statements: dict[tuple, _Statement | None] = {}
_UNSEEN = object()


def _search_values(cube: str, radius_m: float, f: MeetingFilters) -> list:
    return [cube, radius_m, *(x.pk for x in f.fellowships), *f.days, *f.region_ids, *f.service_body_ids]


def _shape(*, using: str, f: MeetingFilters, window: slice) -> tuple | None:
    if (f.time_after or f.time_before or f.type_codes or f.languages or f.keyword
            or f.starting_within is not None or f.in_progress):
        return None
    lists = ([x.pk for x in f.fellowships], f.days, f.region_ids, f.service_body_ids)
    if any(len(set(values)) != len(values) for values in lists):
        return None  # `__in` drops repeats, so the statement would hold fewer parameters
    return (using, *(len(values) for values in lists), f.open_closed, tuple(sorted(f.attendance)),
            window.start, window.stop)


# --- the statement ----------------------------------------------------------------

# The page's columns, in the order of PAGE_NAMES: listing_rows' `.values()`
# paths (VALUE_PATHS), each read from the meeting or the relation it names.
PAGE_NAMES = ("id", *VALUE_PATHS.values(), "distance_m", "type_codes")


def _details_sql(quote: Callable[[str], str]) -> tuple[str, str]:
    """(select list, joins) of the page's details, for meeting alias `m`."""
    aliases: dict[str, str] = {"": "m"}
    joins: list[str] = []

    def alias_of(path: tuple[str, ...]) -> tuple[str, type]:
        model, key = Meeting, ""
        for name in path:
            field = model._meta.get_field(name)
            parent, key = aliases[key], f"{key}__{name}"
            model = field.related_model
            if key not in aliases:
                aliases[key] = f"r{len(aliases)}"
                kind = "LEFT OUTER JOIN" if field.null else "INNER JOIN"
                joins.append(f"{kind} {quote(model._meta.db_table)} {aliases[key]} ON ({aliases[key]}."
                             f"{quote(model._meta.pk.column)} = {parent}.{quote(field.column)})")
        return aliases[key], model

    columns = []
    for path in ("id", *VALUE_PATHS.values()):
        *relations, name = path.split("__")
        if path in NAMED_PATHS:  # the foreign key's id, named in Python
            *relations, name = relations
        alias, model = alias_of(tuple(relations))
        columns.append(f"{alias}.{quote(model._meta.get_field(name).column)}")
    through = Meeting.types.through._meta
    columns.append("NULL")  # distance_m: computed in Python
    columns.append(f"ARRAY(SELECT t.{quote(through.get_field('meetingtype').column)} FROM {quote(through.db_table)} t "
                   f"WHERE t.{quote(through.get_field('meeting').column)} = m.{quote(Meeting._meta.pk.column)})")
    return ", ".join(columns), " ".join(joins)


def _knn_queryset(f: MeetingFilters, *, cube: str, radius_m: float) -> QuerySet:
    """The ids of meetings passing the filters within the box, nearest first."""
    qs = meeting_search(point=None, radius_m=None, filters=f).filter(latitude__isnull=False, longitude__isnull=False)
    qs = qs.filter(RawSQL(geo.PG_WITHIN_BOX_CUBE_SQL, (cube, radius_m), output_field=BooleanField()))
    return qs.order_by(RawSQL(geo.PG_KNN_CUBE_SQL, (cube,)).asc()).values("id")


def _compile(*, using: str, f: MeetingFilters, window: slice) -> _Statement | None:
    """The shape's statement, built from sentinels; None when a sentinel does
    not come out as a parameter of its own (then the shape is not cached)."""
    count = 2 + len(f.fellowships) + len(f.days) + len(f.region_ids) + len(f.service_body_ids)
    sentinels = [_CUBE_SENTINEL, float(_SENTINEL_BASE + 1), *(_SENTINEL_BASE + 2 + n for n in range(count - 2))]
    ints = iter(sentinels[2:])
    stand_in = replace(
        f,
        fellowships=tuple(Fellowship(pk=next(ints)) for _ in f.fellowships),
        days=tuple(next(ints) for _ in f.days),
        region_ids=tuple(next(ints) for _ in f.region_ids),
        service_body_ids=tuple(next(ints) for _ in f.service_body_ids),
    )
    knn = _knn_queryset(stand_in, cube=sentinels[0], radius_m=sentinels[1])[window.start:window.stop]
    knn_sql, params = knn.query.get_compiler(using=using).as_sql()
    position = {value: n for n, value in enumerate(sentinels)}
    slots = tuple(position.get(p) if isinstance(p, (int, float, str)) and not isinstance(p, bool) else None
                  for p in params)
    if set(slots) - {None} != set(range(count)):
        return None
    quote = connections[using].ops.quote_name
    columns, joins = _details_sql(quote)
    sql = (f"WITH page AS MATERIALIZED (SELECT row_number() OVER () AS position, knn.id FROM ({knn_sql}) knn) "
           f"SELECT {columns} FROM page INNER JOIN {quote(Meeting._meta.db_table)} m "
           f"ON (m.{quote(Meeting._meta.pk.column)} = page.id) {joins} ORDER BY page.position")
    return _Statement(sql=sql, slots=slots, constants=tuple(params))


# --- names of small tables, per process -------------------------------------------

class Names:
    """One text column of a small table by primary key, kept per process and
    database alias: read whole on first use, on an id it lacks, after a save or
    delete of the model in this process, and NAMES_MAX_AGE seconds after the
    last read (a change made by another process shows within that)."""

    def __init__(self, model, field: str):
        self.model, self.field = model, field
        self._maps: dict[str, dict[int, str]] = {}
        self._read: dict[str, float] = {}
        self._lock = threading.Lock()
        for signal in (post_save, post_delete):
            signal.connect(self.forget, sender=model, weak=False,
                           dispatch_uid=f"page_statements.names.{model._meta.label}.{signal is post_save}")

    def of(self, ids, *, using: str) -> dict[int, str]:
        """The map, read again first if it is stale or lacks one of `ids` (None: no row)."""
        found, read = self._maps.get(using), self._read.get(using)
        if (found is None or read is None or time.monotonic() - read > NAMES_MAX_AGE
                or any(i is not None and i not in found for i in ids)):
            with self._lock:
                found = dict(self.model.objects.using(using).values_list("pk", self.field))
                self._maps[using], self._read[using] = found, time.monotonic()
        return found

    def forget(self, **kwargs) -> None:
        self._read.clear()


TYPE_CODES = Names(MeetingType, "code")
# The page's `.values()` paths served from a map: the statement selects the id there.
NAMED_PATHS = {"fellowship__slug": Names(Fellowship, "slug"), "service_body__slug": Names(ServiceBody, "slug"),
               "location__region__slug": Names(Region, "slug")}


def forget_names() -> None:
    """Read every map again at its next use."""
    for names in (TYPE_CODES, *NAMED_PATHS.values()):
        names.forget()


# --- a page -----------------------------------------------------------------------

def page_statement(*, using: str, point: geo.Point, radius_m: float, filters: MeetingFilters,
                   window: slice) -> tuple[str, list] | None:
    """(sql, params) of this search's page, or None when its shape is not
    served from a cached statement."""
    if not geo.can_pipeline_nearest_first(using=using):
        return None
    shape = _shape(using=using, f=filters, window=window)
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
    values = _search_values(geo.cube_literal(geo.earth_point(point.latitude, point.longitude)), radius_m, filters)
    return statement.sql, [values[slot] if slot is not None else constant
                           for slot, constant in zip(statement.slots, statement.constants)]


_LAT, _LNG, _DISTANCE, _TYPES = (PAGE_NAMES.index(n) for n in ("latitude", "longitude", "distance_m", "type_codes"))
_NAMED = tuple((PAGE_NAMES.index(path), names) for path, names in NAMED_PATHS.items())


def cached_page(*, using: str, point: geo.Point, radius_m: float, filters: MeetingFilters,
                window: slice) -> list[dict] | None:
    """The rows `listing_rows(meeting_search(...))[window]` would give, or
    None when this search is not served from a cached statement."""
    statement = page_statement(using=using, point=point, radius_m=radius_m, filters=filters, window=window)
    if statement is None:
        return None
    centre = geo.earth_point(point.latitude, point.longitude)
    rows = []
    for row in geo.nearest_first_rows(using=using, sql=statement[0], params=statement[1], native_timestamps=True):
        row = list(row)
        row[_DISTANCE] = geo.earth_distance_m(geo.earth_point(row[_LAT], row[_LNG]), centre)
        if row[_DISTANCE] > radius_m:
            break  # nearest first: every row after this one is farther
        rows.append(row)
    codes = TYPE_CODES.of([i for row in rows for i in row[_TYPES]], using=using)
    for row in rows:
        row[_TYPES] = [codes[i] for i in row[_TYPES] if i in codes]
    for at, names in _NAMED:
        found = names.of([row[at] for row in rows], using=using)
        for row in rows:
            row[at] = found.get(row[at]) if row[at] is not None else None
    return [dict(zip(PAGE_NAMES, row)) for row in rows]


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
