"""The one place for geo math: distances, units, bounding boxes and the SQL
that serves nearest-first search on each database.

Distances are great-circle distances on a sphere of PostgreSQL earthdistance's
radius, computed with its arithmetic, so the SQLite and PostgreSQL paths agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from django.db import DatabaseError, connections, transaction
from django.db.models import BooleanField, F, FloatField, Func

from meetingfinder import replicas

# earthdistance's earth() in metres; using it everywhere keeps both paths equal.
EARTH_RADIUS_M = 6378168.0
METRES_PER_UNIT = {"km": 1000.0, "mi": 1609.344}
Unit = Literal["km", "mi"]


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float


def to_metres(value: float, unit: Unit) -> float:
    return value * METRES_PER_UNIT[unit]


def from_metres(metres: float, unit: Unit) -> float:
    return metres / METRES_PER_UNIT[unit]


# earthdistance's arithmetic in Python, operation for operation, so a
# distance computed here equals PostgreSQL's bit for bit (same libm): a row's
# distance is computed here (meetings/rows.py), not in SQL.

def earth_point(latitude: float, longitude: float) -> tuple[float, float, float]:
    """ll_to_earth(latitude, longitude): the point on earthdistance's sphere."""
    lat, lng = math.radians(latitude), math.radians(longitude)
    return (EARTH_RADIUS_M * math.cos(lat) * math.cos(lng), EARTH_RADIUS_M * math.cos(lat) * math.sin(lng),
            EARTH_RADIUS_M * math.sin(lat))


def earth_distance_m(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """earth_distance(a, b): sec_to_gc(cube_distance(a, b)); a square root is
    never negative, so sec_to_gc's first case never applies."""
    chord = math.sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2]))
    if chord / (2 * EARTH_RADIUS_M) > 1:
        return math.pi * EARTH_RADIUS_M
    return 2 * EARTH_RADIUS_M * math.asin(chord / (2 * EARTH_RADIUS_M))


def great_circle_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """The distance in metres between two points, as PostgreSQL's earth_distance gives it."""
    return earth_distance_m(earth_point(lat1, lng1), earth_point(lat2, lng2))


def cube_literal(point: tuple[float, float, float]) -> str:
    """A cube's text form that reads back as exactly these floats."""
    return f"({point[0]!r}, {point[1]!r}, {point[2]!r})"


@dataclass(frozen=True)
class BoundingBox:
    """Latitude/longitude ranges that contain every point within a radius.

    `longitude_ranges` has two ranges when the box crosses the antimeridian.
    """

    min_latitude: float
    max_latitude: float
    longitude_ranges: tuple[tuple[float, float], ...]


def bounding_box(point: Point, radius_m: float) -> BoundingBox:
    angular = radius_m / EARTH_RADIUS_M
    min_lat = point.latitude - math.degrees(angular)
    max_lat = point.latitude + math.degrees(angular)
    if min_lat <= -90 or max_lat >= 90:
        # The circle reaches a pole: every longitude is in range.
        return BoundingBox(max(min_lat, -90.0), min(max_lat, 90.0), ((-180.0, 180.0),))
    # Widest longitude span of the circle (Chamberlain & Duquette's bound).
    dlng = math.degrees(math.asin(min(1.0, math.sin(angular) / math.cos(math.radians(point.latitude)))))
    west, east = point.longitude - dlng, point.longitude + dlng
    if west < -180:
        ranges = ((west + 360, 180.0), (-180.0, east))
    elif east > 180:
        ranges = ((west, 180.0), (-180.0, east - 360))
    else:
        ranges = ((west, east),)
    return BoundingBox(min_lat, max_lat, ranges)


def _sqlite_great_circle_m(lat1, lng1, lat2, lng2):
    if lat1 is None or lng1 is None or lat2 is None or lng2 is None:
        return None
    return great_circle_m(lat1, lng1, lat2, lng2)


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """Give SQLite the great-circle function geo search orders by."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("gc_distance_m", 4, _sqlite_great_circle_m, deterministic=True)


# PostgreSQL: cube + earthdistance, the near search's SQL, named once. The
# GiST index on (ll_to_earth(latitude, longitude), day) (migration 0005)
# serves both the earth_box containment and the `<->` KNN ordering, and a
# one-weekday condition in the same scan; the chord order of `<->` is the
# great-circle order. Each takes the point as its earth cube (cube_literal),
# so a plan computes nothing from the parameters per row. The columns are
# the query's own, not SQL naming the table: inside a subquery (the
# narrowing of `in_progress`) a table name would be the outer query's row,
# and the subquery a correlated one run for every row.
# Their output fields, shared as Django's own expressions share theirs
# (Exists, Count): making a Field costs more than the expression it types.
BOOLEAN, FLOAT = BooleanField(), FloatField()


class MeetingEarthSQL(Func):
    """SQL over the meeting's point on the earth: `{earth}` in `sql` stands
    for ll_to_earth(latitude, longitude) of the meeting's table under the
    alias the query gives it, `{latitude}` and `{longitude}` for its columns;
    `params` fill the SQL's placeholders. One
    expression node (a custom expression's documented as_sql), so a search
    compiles it as cheaply as raw SQL."""

    def __init__(self, sql: str, params: tuple, output_field):
        super().__init__(F("latitude"), F("longitude"), output_field=output_field)
        self.sql, self.params = sql, params

    def as_sql(self, compiler, connection, **extra_context):
        (latitude, no_params), (longitude, none_either) = (compiler.compile(column)
                                                          for column in self.get_source_expressions())
        assert not no_params and not none_either  # columns
        return (self.sql.format(earth=f"ll_to_earth({latitude}, {longitude})", latitude=latitude, longitude=longitude),
                self.params)


# earth_distance(ll_to_earth(latitude, longitude), centre) with earthdistance's
# arithmetic written out, operation for operation (ll_to_earth's axes,
# cube_distance's sum of squares, sec_to_gc), so it equals the function's
# value bit for bit (tests/test_geo_index_plan.py): earthdistance's functions
# are SQL functions that PostgreSQL calls for each row, ~6.5 µs a row where
# the same arithmetic inline takes ~0.1 µs, and a near search's radius cut
# reads every row its index scan passes (bench/README.md, round 13). LEAST
# keeps asin's argument in range where sec_to_gc answers pi * earth(): no
# radius reaches that far. The centre comes as its axes, each twice.
_EARTH = f"{EARTH_RADIUS_M!r}::float8"  # earth(): the same double
_AXES = (f"({_EARTH} * cos(radians({{latitude}})) * cos(radians({{longitude}})))",
         f"({_EARTH} * cos(radians({{latitude}})) * sin(radians({{longitude}})))",
         f"({_EARTH} * sin(radians({{latitude}})))")
_CHORD = " + ".join(f"({axis} - %s::float8) * ({axis} - %s::float8)" for axis in _AXES)
PG_DISTANCE_SQL = f"(2 * {_EARTH} * asin(LEAST(sqrt({_CHORD}) / (2 * {_EARTH}), 1)))"
PG_WITHIN_RADIUS_SQL = f"{PG_DISTANCE_SQL} <= %s::float8"
PG_WITHIN_SQL = f"(earth_box(%s::cube, %s::float8) @> {{earth}} AND {PG_WITHIN_RADIUS_SQL})"


PG_KNN_SQL = "({earth} <-> %s::cube)"


def _centre_params(centre: tuple[float, float, float]) -> tuple[float, ...]:
    return tuple(axis for axis in centre for _ in range(2))


# Each piece of the near search as (SQL, its parameters), made in one place
# for the ORM's expressions below and for NEAREST_FIRST_SQL.

def _distance(centre: tuple[float, float, float]) -> tuple[str, tuple]:
    return PG_DISTANCE_SQL, _centre_params(centre)


def _within_radius(centre: tuple[float, float, float], radius_m: float) -> tuple[str, tuple]:
    return PG_WITHIN_RADIUS_SQL, (*_centre_params(centre), radius_m)


def _within(centre: tuple[float, float, float], cube: str, radius_m: float) -> tuple[str, tuple]:
    return PG_WITHIN_SQL, (cube, radius_m, *_centre_params(centre), radius_m)


def pg_distance_m(centre: tuple[float, float, float]) -> MeetingEarthSQL:
    """The meeting's great-circle distance from `centre` (earth_point), in metres."""
    return MeetingEarthSQL(*_distance(centre), FLOAT)


def pg_within_radius(centre: tuple[float, float, float], radius_m: float) -> MeetingEarthSQL:
    return MeetingEarthSQL(*_within_radius(centre, radius_m), BOOLEAN)


def pg_within(centre: tuple[float, float, float], cube: str, radius_m: float) -> MeetingEarthSQL:
    """The meeting is within `radius_m` of `centre` (`cube`: its cube_literal):
    inside the earth_box (the index condition) and within the radius
    (pg_within_radius), as one condition of the query, its SQL written once
    (one node to build and compile, not two; PostgreSQL flattens the AND, so the plan is the same)."""
    return MeetingEarthSQL(*_within(centre, cube, radius_m), BOOLEAN)


def pg_knn(cube: str) -> MeetingEarthSQL:
    """Orders nearest first from the same GiST index scan (`<->`)."""
    return MeetingEarthSQL(PG_KNN_SQL, (cube,), FLOAT)


# PostgreSQL's nearest-first search, its statement written once: of the
# meetings of a search's other conditions ({matching}: that query compiled,
# giving "id", "latitude" and "longitude"), those within the radius of a
# place, nearest first, a window of them ({columns} of each). PostgreSQL
# pulls the subquery up into one plan, so its conditions go with the GiST
# scan (a weekday inside the (earth, day) index, migration 0005); the place
# is the statement's own parameters, after the subquery's; the window is
# written in, as Django writes a slice.
# Nearest first is the KNN scan (`<->`) within the earth_box; else (the
# clock plan, selectors.CLOCK_PLAN_MAX_MEETINGS) the radius as a condition no
# index serves and the great-circle order, ties by id. Read it under
# `nearest_first_plan`.
NEAREST_FIRST_SQL = 'SELECT {columns} FROM ({matching}) "matching" WHERE {within} ORDER BY {order}{window}'
# The subquery's columns, as the pieces above name the meeting's.
_MATCHING_COLUMNS = {"earth": 'll_to_earth("latitude", "longitude")', "latitude": '"latitude"',
                     "longitude": '"longitude"'}


def nearest_first_sql(matching: str, matching_params: tuple, *, point: Point, radius_m: float, walk_index: bool,
                      window: slice, columns: str = '"id"') -> tuple[str, tuple]:
    """NEAREST_FIRST_SQL and its parameters: `window` (its stop None: to the
    end) of the meetings of the compiled query `matching` within `radius_m`
    of `point`, nearest first."""
    centre = earth_point(point.latitude, point.longitude)
    if walk_index:
        cube = cube_literal(centre)
        (within, within_params), (order, order_params) = _within(centre, cube, radius_m), (PG_KNN_SQL, (cube,))
    else:
        (within, within_params), (order, order_params) = _within_radius(centre, radius_m), _distance(centre)
        order += ', "id"'
    # A prepared statement's generic plan is then chosen knowing how many rows it reads.
    offset = int(window.start or 0)
    limit = "" if window.stop is None else f" LIMIT {max(int(window.stop) - offset, 0)}"
    sql = NEAREST_FIRST_SQL.format(columns=columns, matching=matching, within=within.format(**_MATCHING_COLUMNS),
                                   order=order.format(**_MATCHING_COLUMNS), window=f"{limit} OFFSET {offset}")
    return sql, (*matching_params, *within_params, *order_params)


@contextmanager
def nearest_first_plan(*, using: str) -> Iterator[str]:
    """The database alias on which a nearest-first search's statement runs
    so that PostgreSQL plans it without bitmap scans, as the GiST KNN scan:
    the planner guesses that any earth_box holds 0.1% of the rows and would
    rather read the whole box and sort it, which grows with density
    (bench/README.md has both plans). Outside a transaction, the connection
    whose session has that setting (meetingfinder/replicas.py); inside one
    (which that connection could not see), the setting for the block, put
    back after it (and in a transaction of its own where no such connection is
    configured)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield using
        return
    twin = replicas.nearest_first_alias(using)
    if not connection.in_atomic_block:
        if twin is not None:
            yield twin
            return
        with transaction.atomic(using=using):
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_bitmapscan = off")
            yield using
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_bitmapscan'), set_config('enable_bitmapscan', 'off', true)")
        previous = cursor.fetchone()[0]
    aborted = False
    try:
        yield using
    except DatabaseError:
        aborted = True  # the enclosing transaction's rollback puts the setting back
        raise
    finally:
        if not aborted:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('enable_bitmapscan', %s, true)", [previous])
