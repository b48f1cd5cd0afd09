"""The generator of large directories (fixtures/directory.py) that the
benchmarks and scale tests load: deterministic, realistic, and its rows hold
exactly what the services would derive."""

from __future__ import annotations

import collections
import copy
import datetime as dt

import pytest
import zipcodes
from django.db import connection

from fixtures import directory
from fellowships.vocabularies import fellowship_entries
from meetings.keywords import language_named, type_search_names
from meetings.models import Meeting
from meetings.services import meeting_refresh_derived


def offline_catalog() -> directory.Catalog:
    """Ids as a database would hand them out, without one."""
    entries = fellowship_entries()
    type_ids, service_body_ids, types, languages = {}, {}, [], {}
    for f in entries:
        for t in f.types:
            type_ids[(f.slug, t.code)] = len(type_ids) + 1
            types.append((type_ids[(f.slug, t.code)], t.name, t.translations))
            languages[type_ids[(f.slug, t.code)]] = language_named(t.kind, t.language)
        for key, _, _ in directory.service_body_areas():
            service_body_ids[(f.slug, key)] = len(service_body_ids) + 1
    return directory.Catalog({f.slug: i + 1 for i, f in enumerate(entries)}, type_ids, service_body_ids,
                             type_search_names(types), languages, dict.fromkeys(service_body_ids.values(), "en"))


@pytest.fixture(scope="module")
def generated() -> directory.Directory:
    return directory.generate(size=20_000, seed=7, catalog=offline_catalog())


def shares(values) -> dict:
    counts = collections.Counter(values)
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()}


def test_same_seed_same_directory_and_other_seed_another(generated):
    again = directory.generate(size=20_000, seed=7, catalog=offline_catalog())
    assert again.meetings == generated.meetings
    assert again.locations == generated.locations
    assert again.meeting_types == generated.meeting_types
    # Another seed, at a tenth of the size (each 20,000 took 1.4 s of CPU), gives another directory of that size.
    seven, eight = (directory.generate(size=2_000, seed=seed, catalog=offline_catalog()) for seed in (7, 8))
    assert len(seven.meetings) == len(eight.meetings) == 2_000 and eight.meetings != seven.meetings


def test_exact_size_and_unique_slugs(generated):
    assert len(generated.meetings) == 20_000
    assert len({m["slug"] for m in generated.meetings}) == 20_000
    location_ids = {loc["id"] for loc in generated.locations}
    assert {m["location_id"] for m in generated.meetings} <= location_ids


def test_fellowship_and_attendance_mix(generated):
    catalog = offline_catalog()
    by_id = {v: k for k, v in catalog.fellowship_ids.items()}
    fellowship = shares(by_id[m["fellowship_id"]] for m in generated.meetings)
    assert fellowship["aa"] == pytest.approx(0.65, abs=0.02)
    assert fellowship["na"] == pytest.approx(0.25, abs=0.02)
    assert fellowship["al-anon"] == pytest.approx(0.10, abs=0.02)
    attendance = shares(m["attendance"] for m in generated.meetings)
    assert attendance["in_person"] == pytest.approx(0.75, abs=0.02)
    assert attendance["hybrid"] == pytest.approx(0.10, abs=0.02)
    assert attendance["online"] == pytest.approx(0.10, abs=0.02)
    assert attendance["inactive"] == pytest.approx(0.05, abs=0.02)
    open_closed = shares(m["open_closed"] for m in generated.meetings)
    assert 0.3 < open_closed["open"] < 0.55 and 0.35 < open_closed["closed"] < 0.6


def test_start_times_peak_morning_noon_and_evening(generated):
    hours = shares(m["time"].hour for m in generated.meetings)
    assert hours[7] > 2 * hours[9]
    assert hours[12] > 2 * hours[14 if 14 in hours else 9]
    assert hours[19] + hours[20] > 0.3
    assert all(6 <= h <= 23 for h in hours)
    days = shares(m["day"] for m in generated.meetings if m["day"] is not None)
    assert all(d == pytest.approx(1 / 7, abs=0.02) for d in days.values()) and len(days) == 7


def test_meetings_cluster_around_population_centres(generated):
    located = [loc for loc in generated.locations if not loc["approximate"]]
    new_york = next(m for m in directory.METROS if m.city == "New York")
    near_ny = sum(
        directory.distance_km(new_york.latitude, new_york.longitude, loc["latitude"], loc["longitude"]) < 10
        for loc in located
    )
    # A 10 km disc around Manhattan holds far more than its share of the land.
    assert near_ny / len(located) > 0.02
    countries = shares(loc["country"] for loc in generated.locations)
    assert countries["US"] > 0.6 and len(countries) > 10


def test_us_time_zones_are_the_zip_codes_own(generated):
    with_zip = [loc for loc in generated.locations if loc["country"] == "US" and loc["postal_code"]]
    assert len(with_zip) > 1000
    for loc in with_zip[:500]:
        assert loc["timezone"] == zipcodes.matching(loc["postal_code"])[0]["timezone"], loc
    for meeting in generated.meetings[:2000]:
        assert meeting["timezone"]


def test_bench_points_are_where_they_say():
    import random

    rng = random.Random(1)
    centres = directory.dense_metros()
    for lat, lng in directory.dense_points(rng, 50):
        assert min(directory.distance_km(m.latitude, m.longitude, lat, lng) for m in centres) < 5
    us = [m for m in directory.METROS if m.country == "US"]
    for lat, lng in directory.rural_points(rng, 50):
        assert min(directory.distance_km(m.latitude, m.longitude, lat, lng) for m in us) >= 80


@pytest.mark.django_db
def test_loaded_rows_hold_what_the_services_derive():
    _, report = directory.directory_load(size=1500, seed=3)
    assert report.meetings == Meeting.objects.count() == 1500
    sample = list(
        Meeting.objects.select_related("fellowship", "service_body", "location").prefetch_related("types")
        .order_by("id")[::7]
    )
    assert len(sample) > 200
    derived_fields = ("open_closed", "attendance", "conference_provider", "latitude", "longitude", "timezone",
                      "search_text", "type_code_text", "language_text")
    attendances = set()
    for meeting in sample:
        stored = {name: getattr(meeting, name) for name in derived_fields}
        refreshed = meeting_refresh_derived(meeting=copy.copy(meeting))
        assert {name: getattr(refreshed, name) for name in derived_fields} == stored, meeting.slug
        attendances.add(meeting.attendance)
    assert attendances == {"in_person", "hybrid", "online", "inactive"}
    # New rows after a bulk load get fresh ids, not the loaded ones.
    assert Meeting.objects.create(
        fellowship=sample[0].fellowship, service_body=sample[0].service_body, slug="after-load", name="After",
        day=1, time=dt.time(19),
    ).pk > max(m.pk for m in sample)


@pytest.mark.django_db
def test_a_bulk_load_is_not_cancelled_by_the_web_statement_timeout():
    """The web's statement_timeout bounds requests, not a bulk load: a COPY
    streaming rows on a busy machine outlasted it (10 s) and failed the load."""
    if connection.vendor != "postgresql":
        pytest.skip("statement_timeout is PostgreSQL's: run with DATABASE_URL=postgres://...")
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 1")  # 1 ms: any COPY of these rows outlasts it
    try:
        _, report = directory.directory_load(size=1500, seed=3)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")
    assert report.meetings == Meeting.objects.count() == 1500
