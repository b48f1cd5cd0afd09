"""Nearest-first pages from a statement compiled once per search shape
(meetings/api/page_statements.py): the same rows as building the search with
the ORM, for every shape it serves and every set of values, the first time a
shape is seen and every time after; anything else is left to the ORM."""

from __future__ import annotations

import random

import pytest
from django.db import connection

from bench import directory
from fellowships.models import Fellowship, ServiceBody
from meetings import geo
from meetings.api import page_statements
from meetings.api.listing import listing_rows
from meetings.selectors import MeetingFilters, meeting_search

RADIUS_M = geo.to_metres(25, "mi")


def orm_page(point, radius_m, filters, window) -> list[dict]:
    return sorted_types(listing_rows(meeting_search(point=point, radius_m=radius_m, filters=filters))[window])


def sorted_types(rows) -> list[dict]:
    """Rows with their type codes sorted: neither query orders them (the listing does)."""
    return [{**row, "type_codes": sorted(row["type_codes"])} for row in rows]


@pytest.fixture
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("cached statements serve only pipelined PostgreSQL searches: run with DATABASE_URL=postgres://...")


@pytest.fixture
def fresh_statements(monkeypatch):
    monkeypatch.setattr(page_statements, "_statements", {})
    return page_statements._statements


@pytest.mark.django_db(transaction=True)
def test_cached_pages_equal_the_orm_for_every_shape_and_value(postgresql_only, vocabularies, fresh_statements):
    directory.directory_load(size=3000, seed=21)
    aa, na = Fellowship.objects.get(slug="aa"), Fellowship.objects.get(slug="na")
    bodies = tuple(ServiceBody.objects.order_by("pk").values_list("pk", flat=True)[:3])
    assert len(bodies) == 3
    rng = random.Random(4)
    points = directory.dense_points(rng, 4) + directory.populated_points(rng, 4)
    shapes = [
        lambda n: MeetingFilters(days=(n % 7,), open_closed="open", attendance=("in_person",)),
        lambda n: MeetingFilters(),
        lambda n: MeetingFilters(fellowships=(aa,) if n % 2 else (na,), days=(n % 7, (n + 2) % 7)),
        lambda n: MeetingFilters(fellowships=(aa, na), open_closed="closed", attendance=("online", "in_person")),
        lambda n: MeetingFilters(service_body_ids=bodies[n % 2:n % 2 + 2], days=(n % 7,)),
    ]
    compared = 0
    for shape in shapes:
        for n, (lat, lng) in enumerate(points):
            point, filters = geo.Point(lat, lng), shape(n)
            for window in (slice(0, 26), slice(5, 8)):
                expected = orm_page(point, RADIUS_M, filters, window)
                got = page_statements.cached_page(using="default", point=point, radius_m=RADIUS_M,
                                                  filters=filters, window=window)
                assert sorted_types(got) == expected, (filters, window)
                compared += len(got)
    assert compared > 300
    # One statement per shape and window, each compiled once and reused for the other points.
    assert len(fresh_statements) == len(shapes) * 2
    assert all(statement is not None for statement in fresh_statements.values())


@pytest.mark.django_db(transaction=True)
def test_other_searches_are_left_to_the_orm(postgresql_only, vocabularies, fresh_statements):
    aa = Fellowship.objects.get(slug="aa")
    point = geo.Point(40.72, -74.0)
    for filters in (MeetingFilters(type_codes=("O",)), MeetingFilters(keyword="hope"), MeetingFilters(languages=("es",)),
                    MeetingFilters(starting_within=60), MeetingFilters(fellowships=(aa, aa))):
        assert page_statements.cached_page(using="default", point=point, radius_m=RADIUS_M, filters=filters,
                                           window=slice(0, 26)) is None, filters
    assert not [s for s in fresh_statements.values() if s is not None]


@pytest.mark.django_db
def test_inside_a_transaction_or_on_sqlite_pages_come_from_the_orm(vocabularies, fresh_statements):
    assert page_statements.cached_page(using="default", point=geo.Point(40.72, -74.0), radius_m=RADIUS_M,
                                       filters=MeetingFilters(), window=slice(0, 26)) is None
    assert fresh_statements == {}


@pytest.mark.django_db
def test_python_earth_arithmetic_is_earthdistances_to_the_bit(postgresql_only):
    rng = random.Random(9)
    pairs = [(rng.uniform(-89, 89), rng.uniform(-180, 180), rng.uniform(-89, 89), rng.uniform(-180, 180))
             for _ in range(300)]
    # Near pairs too: the page's distances are mostly a few km.
    pairs += [(a, b, a + rng.uniform(-0.3, 0.3), b + rng.uniform(-0.3, 0.3)) for a, b, _, _ in pairs[:300]]
    with connection.cursor() as cursor:
        for lat1, lng1, lat2, lng2 in pairs:
            here, there = geo.earth_point(lat1, lng1), geo.earth_point(lat2, lng2)
            cursor.execute("SELECT earth_distance(ll_to_earth(%s, %s), ll_to_earth(%s, %s)), "
                           "%s::cube = ll_to_earth(%s, %s)::cube", [lat1, lng1, lat2, lng2, geo.cube_literal(here),
                                                                   lat1, lng1])
            distance, same_cube = cursor.fetchone()
            assert geo.earth_distance_m(here, there) == distance
            assert same_cube


@pytest.mark.django_db(transaction=True)
def test_type_codes_follow_the_vocabulary(postgresql_only, vocabularies, fresh_statements):
    from fellowships.models import MeetingType
    from tests.factories import LocationFactory, make_meeting

    meeting = make_meeting(location=LocationFactory(latitude=40.72, longitude=-74.0, timezone="America/New_York"),
                           types=("O", "D"))
    soft = MeetingType.objects.get(fellowship=meeting.fellowship, code="ST")

    def codes():
        [row] = page_statements.cached_page(using="default", point=geo.Point(40.72, -74.0), radius_m=RADIUS_M,
                                            filters=MeetingFilters(), window=slice(0, 26))
        return sorted(row["type_codes"])

    before = codes()
    assert before == ["D", "O"]
    meeting.types.add(soft)  # a type the map holds
    assert codes() == sorted([*before, soft.code])
    soft.code = "ZZ9"
    soft.save()  # renamed in this process: the map is read again
    assert codes() == sorted([*before, "ZZ9"])
    added = MeetingType.objects.create(fellowship=meeting.fellowship, code="ZZ8", name="New", kind="format")
    MeetingType.objects.filter(pk=soft.pk).update(code="ZZ7")  # elsewhere, unseen until the map's age runs out
    meeting.types.add(added)  # an id the map lacks: read again, which also brings ZZ7
    assert codes() == sorted([*before, "ZZ7", "ZZ8"])


@pytest.mark.django_db(transaction=True)
def test_slugs_follow_their_tables(postgresql_only, vocabularies, fresh_statements, monkeypatch):
    from meetings.models import Location, Region
    from tests.factories import LocationFactory, RegionFactory, make_meeting

    county = RegionFactory(name="Orange County", slug="orange-county")
    place = LocationFactory(latitude=40.72, longitude=-74.0, timezone="America/New_York", region=county)
    meeting = make_meeting(location=place)
    bare = make_meeting(location=LocationFactory(latitude=40.7202, longitude=-74.0002,
                                                 timezone="America/New_York"))

    def page():
        rows = page_statements.cached_page(using="default", point=geo.Point(40.72, -74.0), radius_m=RADIUS_M,
                                           filters=MeetingFilters(), window=slice(0, 26))
        return {row["slug"]: row for row in rows}

    rows = page()
    assert (rows[meeting.slug]["location__region__slug"], rows[bare.slug]["location__region__slug"]) == (
        "orange-county", None)
    assert rows[meeting.slug]["fellowship__slug"] == "aa"
    assert rows[meeting.slug]["service_body__slug"] == meeting.service_body.slug
    county.slug = "oc"
    county.save()  # in this process: read again
    assert page()[meeting.slug]["location__region__slug"] == "oc"
    body = meeting.service_body
    type(body).objects.filter(pk=body.pk).update(slug="renamed-elsewhere")
    assert page()[meeting.slug]["service_body__slug"] == body.slug  # kept, for now
    monkeypatch.setattr(page_statements, "NAMES_MAX_AGE", 0.0)
    assert page()[meeting.slug]["service_body__slug"] == "renamed-elsewhere"  # once the map is old enough
    monkeypatch.setattr(page_statements, "NAMES_MAX_AGE", 60.0)
    page()
    # Made elsewhere, without signals here: an id the map lacks makes it read again.
    [south] = Region.objects.bulk_create([Region(name="South County", slug="south-county", parent=county)])
    Location.objects.filter(pk=place.pk).update(region=south)
    assert page()[meeting.slug]["location__region__slug"] == "south-county"
