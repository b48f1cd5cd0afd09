"""The one place for geo math: distances, units, bounding boxes and the SQL
that serves nearest-first search on each database.

Distances are great-circle distances on a sphere of PostgreSQL earthdistance's
radius, so the SQLite and PostgreSQL paths agree to the centimetre.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from django.db import connections, transaction

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


def great_circle_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Haversine distance in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lng2 - lng1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


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


# PostgreSQL: cube + earthdistance. The GiST index on MEETING_EARTH (migration
# 0002) serves both the earth_box containment and the `<->` KNN ordering;
# the chord order of `<->` is the great-circle order.
MEETING_EARTH = 'll_to_earth("meetings_meeting"."latitude", "meetings_meeting"."longitude")'
POINT_EARTH = "ll_to_earth(%s::float8, %s::float8)"
PG_DISTANCE_SQL = f"earth_distance({MEETING_EARTH}, {POINT_EARTH})"
PG_KNN_SQL = f"({MEETING_EARTH} <-> {POINT_EARTH})"
PG_WITHIN_BOX_SQL = f"earth_box({POINT_EARTH}, %s::float8) @> {MEETING_EARTH}"


@contextmanager
def nearest_first_plan(*, using: str) -> Iterator[None]:
    """Within the block, PostgreSQL plans without bitmap scans, so a nearest-
    first search is the GiST KNN scan. The setting is local to a transaction
    (or savepoint) of its own: an error rolls it back with the savepoint, and
    on success it is put back for an enclosing transaction."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('enable_bitmapscan'), set_config('enable_bitmapscan', 'off', true)")
            previous = cursor.fetchone()[0]
        yield
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('enable_bitmapscan', %s, true)", [previous])
