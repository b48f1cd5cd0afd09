import math
import random

import pytest

from meetings.geo import Point, bounding_box, great_circle_m, to_metres


def test_great_circle_matches_a_known_distance():
    # Los Angeles City Hall to Newport Beach: about 36 miles.
    assert great_circle_m(34.0537, -118.2428, 33.6189, -117.9289) / 1609.344 == pytest.approx(34.9, abs=0.5)


@pytest.mark.parametrize("centre", [Point(33.7, -117.8), Point(64.8, -147.7), Point(-33.9, 151.2),
                                    Point(0.0, 179.9), Point(0.0, -179.9), Point(89.5, 10.0)])
def test_bounding_box_contains_every_point_of_the_circle(centre):
    radius = to_metres(100, "mi")
    box = bounding_box(centre, radius)
    rng = random.Random(1)
    for _ in range(2000):
        bearing = rng.uniform(0, 2 * math.pi)
        d = rng.uniform(0, radius) / 6378168.0
        lat1, lng1 = math.radians(centre.latitude), math.radians(centre.longitude)
        lat2 = math.asin(math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(bearing))
        lng2 = lng1 + math.atan2(math.sin(bearing) * math.sin(d) * math.cos(lat1),
                                 math.cos(d) - math.sin(lat1) * math.sin(lat2))
        lat, lng = math.degrees(lat2), (math.degrees(lng2) + 540) % 360 - 180
        assert box.min_latitude <= lat <= box.max_latitude
        assert any(west <= lng <= east for west, east in box.longitude_ranges), (lat, lng)


def test_bounding_box_splits_at_the_antimeridian():
    box = bounding_box(Point(0.0, 179.9), to_metres(50, "km"))
    assert len(box.longitude_ranges) == 2


def test_the_near_conditions_name_the_row_of_their_own_query_inside_a_subquery():
    # `in_progress` narrows with the search as a subquery: a condition naming
    # the table "meetings_meeting" there is the outer query's row, and the
    # subquery a correlated one run once per row (1.3 s at 100,000 meetings).
    from meetings.models import Meeting
    from meetings.querysets import near

    for vendor in ("postgresql", "sqlite"):
        conditions, order = near(Point(33.63, -117.87), radius_m=5000, vendor=vendor)
        inner = Meeting.objects.filter(*conditions).order_by(*order).values("pk")
        sql = str(Meeting.objects.filter(pk__in=inner).query)
        start = sql.index(" IN (") + len(" IN (")
        depth, end = 1, start
        while depth:
            depth += {"(": 1, ")": -1}.get(sql[end], 0)
            end += 1
        subquery = sql[start:end - 1]
        assert 'FROM "meetings_meeting" U0' in subquery
        assert '"meetings_meeting".' not in subquery, (vendor, subquery)
