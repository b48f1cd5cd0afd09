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
    return list(listing_rows(meeting_search(point=point, radius_m=radius_m, filters=filters))[window])


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
                assert got == expected, (filters, window)
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
