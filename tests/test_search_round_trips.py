"""What one search costs the database: statements, round trips and planning.

On PostgreSQL, outside a transaction (how requests run: no ATOMIC_REQUESTS),
a nearest-first page is one round trip: the planner setting and the search are
pipelined into one implicit transaction, the search is a prepared statement
whose generic plan PostgreSQL reuses, and the page's type codes come in the
same statement. Inside a transaction (the other tests) the search takes the
savepoint path; both must return the same thing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

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


def setting() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_bitmapscan')")
        return cursor.fetchone()[0]


def statements(client, query) -> tuple[dict, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL, query)
    assert response.status_code == 200, response.content
    return response.json(), [q["sql"] for q in captured.captured_queries]


@pytest.mark.django_db
def test_a_geo_page_is_one_statement_with_its_types(directory, client):
    body, sql = statements(client, GEO_QUERIES[0])
    # Open meetings (type O) only, nearest first, with their types.
    assert [m["name"] for m in body["results"]] == ["Meeting 1", "Meeting 3", "Meeting 5"]
    assert body["results"][0]["types"] == ["D", "O"]
    searches = [s for s in sql if 'FROM "meetings_meeting" ' in s]
    assert len(searches) == 1, sql  # no count, no separate types query
    assert not [s for s in sql if "COUNT(" in s.upper()], sql
    if connection.vendor == "postgresql":
        assert "ARRAY(" in searches[0]
        # Inside the test's transaction: the setting, the search, the setting put back.
        assert len(sql) == 3, sql
        assert setting() == "on"
    else:
        assert len(sql) == 2, sql  # the page, the page's types


@pytest.fixture
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("pipelined, prepared searches exist only on PostgreSQL: run with DATABASE_URL=postgres://...")


NAME_READS = tuple(f'SELECT "{table}"."id"' for table in ("fellowships_meetingtype", "fellowships_fellowship",
                                                           "fellowships_servicebody", "meetings_region"))


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_search_is_one_prepared_round_trip(postgresql_only, directory, client):
    in_transaction = {}
    with transaction.atomic():
        for n, query in enumerate(GEO_QUERIES):
            in_transaction[n] = client.get(URL, query).json()
    assert not connection.in_atomic_block
    name_reads = []
    for n, query in enumerate(GEO_QUERIES):
        body, sql = statements(client, query)
        # The same answer as the savepoint path, to the byte.
        assert body == in_transaction[n], query
        # Type codes and slugs by id: read by this process once, then kept (page_statements.Names).
        reads = [s for s in sql if s.startswith(NAME_READS)]
        name_reads.append(len(reads))
        sql = [s for s in sql if s not in reads]
        assert sql[0] == geo.NEAREST_FIRST_SETTING_SQL and "<->" in sql[1] and len(sql) == 2, sql
        # The setting ended with the implicit transaction; nothing is left open.
        assert setting() == "on"
        assert connection.connection.info.transaction_status.name == "IDLE"
    assert name_reads[0] == len(NAME_READS) and not any(name_reads[1:]), name_reads
    for _ in range(8):
        client.get(URL, GEO_QUERIES[0])
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans FROM pg_prepared_statements")
        prepared = cursor.fetchall()
    searches = [(text, generic) for text, generic in prepared if "<->" in text]
    assert searches, prepared
    # After five custom plans PostgreSQL plans the search once and reuses it.
    assert max(generic for _, generic in searches) >= 3, searches


@pytest.mark.django_db(transaction=True)
def test_a_failing_pipelined_search_leaves_the_connection_as_it_was(postgresql_only):
    with pytest.raises(DatabaseError):
        geo.nearest_first_rows(using="default", sql="SELECT 1 / %s", params=[0])
    assert setting() == "on"
    assert geo.nearest_first_rows(using="default", sql="SELECT %s::int + 1", params=[1]) == [(2,)]
    assert connection.connection.info.transaction_status.name == "IDLE"
