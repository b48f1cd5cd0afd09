"""What one search costs the database: its statements.

A nearest-first page is the window's ids (the KNN index scan under its
LIMIT, on PostgreSQL planned without bitmap scans), then the window's rows by
key with their type codes (one statement on PostgreSQL). Outside a transaction
(how requests run: no ATOMIC_REQUESTS) that statement runs on a connection
whose session has the planner setting; inside one the setting is put back after."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from meetingfinder import replicas
from meetings import clock, geo
from tests.factories import LocationFactory, make_meeting

URL = "/api/v1/meetings/"
NEWPORT = {"lat": 33.6295, "lng": -117.8684}
GEO_QUERIES = [
    {**NEWPORT, "radius": 25, "day": 2, "open": "open", "attendance": "in_person"},
    {**NEWPORT, "radius": 25, "units": "km", "limit": 2},
    {**NEWPORT, "limit": 2, "offset": 2, "tz": "Europe/Berlin"},
    {**NEWPORT, "radius": 0.01},
]


@pytest.fixture
def directory(vocabularies, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: dt.datetime(2026, 11, 3, 17, 0, tzinfo=dt.timezone.utc))
    for n in range(6):
        make_meeting(name=f"Meeting {n}", types=("O", "D") if n % 2 else ("C",), day=2, time=f"1{n}:00",
                     location=LocationFactory(latitude=33.63 + n * 0.01, longitude=-117.87))


def setting(on=connection) -> str:
    with on.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_bitmapscan')")
        return cursor.fetchone()[0]


def statements(client, query) -> tuple[dict, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL, query)
    assert response.status_code == 200, response.content
    return response.json(), [q["sql"] for q in captured.captured_queries]


@pytest.mark.django_db
def test_a_geo_page_is_its_ids_then_its_rows(directory, client, type_names_read):
    type_names_read()
    body, sql = statements(client, GEO_QUERIES[0])
    # Open meetings (type O) only, nearest first, with their types.
    assert [m["name"] for m in body["results"]] == ["Meeting 1", "Meeting 3", "Meeting 5"]
    assert body["results"][0]["types"] == ["D", "O"]
    searches = [s for s in sql if 'FROM "meetings_meeting" ' in s]
    assert not [s for s in sql if "COUNT(" in s.upper()], sql
    # First the directory version (the answer's cache key and ETag).
    assert "meetings_directoryversion" in sql[0], sql
    if connection.vendor == "postgresql":
        # One statement: the window's ids (nearest first, nothing joined) as
        # "page", under the window's rows by key with their types.
        assert len(searches) == 1, sql
        page, rows = searches[0].split(" FROM unnest(ARRAY(", 1)[1].split("WITH ORDINALITY", 1)
        assert page.startswith('SELECT "id" FROM (SELECT "meetings_meeting"."id"') and "<->" in page, sql
        assert " JOIN " not in page, sql
        assert '"meetings_meeting"."id" IN (SELECT "id" FROM "page")' in rows and "ARRAY(" in rows, sql
        # Inside the test's transaction: the setting, the page, the setting put back.
        assert len(sql) == 1 + 3, sql
        assert setting() == "on"
    else:
        # The window's ids, then the window's rows by key, then their types.
        assert len(searches) == 2, sql
        assert searches[0].startswith('SELECT "meetings_meeting"."id"') and " JOIN " not in searches[0], sql
        assert '"meetings_meeting"."id" IN (' in searches[1] and "ORDER BY" not in searches[1], sql
        assert len(sql) == 1 + 3, sql


@pytest.mark.django_db
@pytest.mark.parametrize("query", [GEO_QUERIES[1], {"day": "2"}])
def test_any_number_of_type_codes_costs_the_same_statements(directory, client, query, type_names_read):
    """Each code used to add its own subquery (issue 12: 200 codes took 30 s)."""
    type_names_read()
    client.get(URL, {**query, "type": "C"})  # the codes, read once per directory version
    one, few = statements(client, {**query, "type": "O"}), statements(client, {**query, "type": "O,D"})
    assert [m["name"] for m in few[0]["results"]] == [m["name"] for m in one[0]["results"] if "D" in m["types"]]
    assert len(one[1]) == len(few[1])
    search = next(s for s in few[1] if 'FROM "meetings_meeting" ' in s)
    assert search.count("meetings_meeting_types") == next(
        s for s in one[1] if 'FROM "meetings_meeting" ' in s).count("meetings_meeting_types")


@pytest.mark.django_db
def test_the_names_a_search_asks_for_cost_no_statement_once_read(directory, client, type_names_read, settings):
    """fellowship, type, language, region and service_body are checked against
    what is kept per directory version: after the first search of a version,
    a search naming them all runs the statements of one naming none."""
    from fellowships.models import ServiceBody
    from tests.factories import RegionFactory

    county = RegionFactory(name="Orange County")
    RegionFactory(name="Newport Beach", parent=county)
    body = ServiceBody.objects.get()
    settings.CACHE_ANSWERS = False  # each search computed
    type_names_read()
    named = {**NEWPORT, "fellowship": "aa", "type": "O", "language": "en", "region": county.slug,
             "service_body": body.slug}
    assert client.get(URL, named).status_code == 200  # what this version's first search reads
    names = ('FROM "fellowships_fellowship"', 'FROM "fellowships_meetingtype"', 'FROM "meetings_region"',
             'FROM "fellowships_servicebody"')
    sql = statements(client, named)[1]
    assert not [s for s in sql if any(name in s for name in names)], sql


@pytest.mark.django_db
def test_a_name_written_without_a_new_version_is_read_when_asked_for(directory, client, type_names_read):
    """A region written where no signal told (a raw INSERT) is not in what was
    kept: a name not found there is looked for again before it is refused."""
    type_names_read()
    assert client.get(URL, {**NEWPORT, "region": "nowhere"}).status_code == 400
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO meetings_region (slug, name) VALUES ('laguna', 'Laguna')")
    response = client.get(URL, {**NEWPORT, "region": "laguna"})
    assert response.status_code == 200, response.content
    assert response.json()["results"] == []


@pytest.mark.django_db
def test_names_changed_by_a_bulk_write_are_read_at_once(directory, client, type_names_read):
    """What is kept goes with the directory version, which every write bumps,
    a queryset's update() too: a renamed slug and a region moved under
    another are what the next search reads."""
    from fellowships.models import ServiceBody
    from meetings.models import Region
    from tests.factories import RegionFactory

    county, city = RegionFactory(name="Orange County"), RegionFactory(name="Irvine")
    make_meeting(name="In Irvine", day=2, location=LocationFactory(latitude=33.68, longitude=-117.82, region=city))
    body = ServiceBody.objects.get(meetings__name="In Irvine")
    type_names_read()
    assert client.get(URL, {**NEWPORT, "region": county.slug}).json()["results"] == []
    assert client.get(URL, {**NEWPORT, "service_body": body.slug}).status_code == 200
    Region.objects.filter(pk=city.pk).update(parent=county)
    ServiceBody.objects.filter(pk=body.pk).update(slug="renamed")
    assert [m["name"] for m in client.get(URL, {**NEWPORT, "region": county.slug}).json()["results"]] == ["In Irvine"]
    assert client.get(URL, {**NEWPORT, "service_body": body.slug}).status_code == 400
    assert client.get(URL, {**NEWPORT, "service_body": "renamed"}).status_code == 200


@pytest.fixture
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the planner setting exists only on PostgreSQL: run with DATABASE_URL=postgres://...")


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_outside_a_transaction_the_page_runs_on_the_nearest_first_connection(
        postgresql_only, directory, client, settings):
    """How requests run (no ATOMIC_REQUESTS): the page's one statement goes to
    the connection whose session plans without bitmap scans, in one round
    trip; the primary's own connection keeps the planner as it was."""
    settings.CACHE_ANSWERS = False  # each search runs (a kept answer would read nothing but the version)
    knn = connections[replicas.nearest_first_alias("default")]
    in_transaction = {}
    with transaction.atomic():
        for n, query in enumerate(GEO_QUERIES):
            in_transaction[n] = client.get(URL, query).json()
    assert not connection.in_atomic_block
    for n, query in enumerate(GEO_QUERIES):
        with CaptureQueriesContext(knn) as on_knn:
            body, sql = statements(client, query)
        # The same answer as inside a transaction, to the byte.
        assert body == in_transaction[n], query
        # The directory version on the primary's connection, the page on the other, alone.
        assert len(sql) == 1 and "meetings_directoryversion" in sql[0], sql
        page = [q["sql"] for q in on_knn.captured_queries]
        assert len(page) == 1 and "<->" in page[0], page
        assert setting() == "on" and setting(knn) == "off"
        for each in (connection, knn):
            assert each.connection.info.transaction_status.name == "IDLE"


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_outside_a_transaction_the_block_runs_where_the_setting_holds(postgresql_only):
    with geo.nearest_first_plan(using="default") as alias:
        run_on = connections[alias]
        seen = [setting(run_on), setting(run_on)]  # a statement after the first one's results were read
    assert alias == "knn_default" and seen == ["off", "off"]
    assert setting() == "on"


@pytest.mark.django_db(transaction=True)
def test_with_no_such_connection_the_setting_holds_for_a_transaction_of_its_own(postgresql_only, monkeypatch):
    monkeypatch.setattr(replicas, "nearest_first_alias", lambda alias: None)
    with geo.nearest_first_plan(using="default") as alias:
        seen = [setting(), setting()]
        with connection.cursor() as cursor:
            cursor.execute("SELECT txid_current()")
            first = cursor.fetchone()[0]
            cursor.execute("SELECT txid_current()")
            assert cursor.fetchone()[0] == first  # the block's own transaction
    assert alias == "default" and seen == ["off", "off"]
    assert setting() == "on"
    assert connection.connection.info.transaction_status.name == "IDLE"


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_failing_search_leaves_the_connections_as_they_were(postgresql_only):
    with pytest.raises(DatabaseError):
        with geo.nearest_first_plan(using="default") as alias, connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1 / %s", [0])
    assert setting() == "on" and setting(connections[alias]) == "off"
    for each in (connection, connections[alias]):
        assert each.connection.info.transaction_status.name == "IDLE"


@pytest.mark.django_db
def test_a_search_run_again_is_planned_once(directory, client):
    """Prepared statements (settings.DATABASE_PREPARE_THRESHOLD): a search's
    statement run a few times on a connection is planned once, not per request."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    for n in range((settings.DATABASES["default"]["OPTIONS"].get("prepare_threshold") or 5) + 1):
        statements(client, {**GEO_QUERIES[0], "radius": 25 + n})  # not an answer kept from the last request
    with connection.cursor() as cursor:
        cursor.execute("""SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'WITH "page"%%'""")
        assert cursor.fetchone()[0] == 1
