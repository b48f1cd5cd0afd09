"""Read replicas (meetingfinder/replicas.py): the router's choices, and a
real PostgreSQL streaming replica (`.ci/replica` starts one and sets
TEST_REPLICA_URL): public reads there, writes and the admin on the primary,
the primary when the replica stops."""

from __future__ import annotations

import os
import subprocess
import time
import uuid

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.test.utils import CaptureQueriesContext

from meetingfinder import replicas
from meetings.models import Meeting


@pytest.fixture
def one_replica(monkeypatch, settings):
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 10
    settings.DATABASE_REPLICA_CHECK_SECONDS = 5
    monkeypatch.setattr(replicas, "replica_aliases", lambda: ["replica_9"])
    monkeypatch.setattr(replicas, "_health", {})
    lag = {"seconds": 0.0}

    def lag_of(alias):
        if lag["seconds"] is None:
            raise replicas.DatabaseError("connection refused")
        return lag["seconds"]

    monkeypatch.setattr(replicas, "replica_lag_seconds", lag_of)
    monkeypatch.setattr(replicas, "connections", {"replica_9": type("C", (), {"close": lambda self: None})()})
    return lag


def test_without_replicas_everything_reads_the_primary():
    assert replicas.replica_aliases() == []
    assert replicas.read_alias() == DEFAULT_DB_ALIAS
    assert router.db_for_read(Meeting) == DEFAULT_DB_ALIAS


def test_public_reads_go_to_the_replica_and_the_rest_to_the_primary(one_replica):
    alias = replicas.read_alias()
    assert alias == "replica_9"
    with replicas.reading_from(alias):
        assert router.db_for_read(Meeting) == "replica_9"
        assert router.db_for_write(Meeting) == DEFAULT_DB_ALIAS
    assert router.db_for_read(Meeting) == DEFAULT_DB_ALIAS


def test_a_lagging_replica_is_skipped_until_it_catches_up(one_replica, monkeypatch):
    clock = {"now": 1000.0}
    monkeypatch.setattr(replicas.time, "monotonic", lambda: clock["now"])
    one_replica["seconds"] = 30.0
    assert replicas.read_alias() == DEFAULT_DB_ALIAS
    one_replica["seconds"] = 0.5
    # The check is kept for a few seconds: one small query per process per interval.
    clock["now"] += 4
    assert replicas.read_alias() == DEFAULT_DB_ALIAS
    clock["now"] += 2
    assert replicas.read_alias() == "replica_9"


def test_a_replica_that_does_not_answer_is_skipped(one_replica, monkeypatch):
    clock = {"now": 1000.0}
    monkeypatch.setattr(replicas.time, "monotonic", lambda: clock["now"])
    one_replica["seconds"] = None
    assert replicas.read_alias() == DEFAULT_DB_ALIAS
    one_replica["seconds"] = 0.0
    clock["now"] += 6
    assert replicas.read_alias() == "replica_9"
    replicas.set_aside("replica_9")
    assert replicas.read_alias() == DEFAULT_DB_ALIAS


# A real streaming replica.

REPLICA_URL = os.environ.get("TEST_REPLICA_URL")
needs_replica = pytest.mark.skipif(
    not REPLICA_URL, reason="needs a PostgreSQL streaming replica: TEST_REPLICA_URL (set by .ci/replica)")


@pytest.fixture
def live_databases(django_db_blocker):
    """The real primary and standby (throwaway clusters made by .ci/replica), not test copies."""
    assert "replica_0" in connections.settings, "DATABASE_REPLICA_URLS should name the replica"
    replicas._health.clear()
    with django_db_blocker.unblock():
        yield
        for alias in connections:
            connections[alias].close()


def _wait_for(predicate, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@needs_replica
@pytest.mark.replica
def test_reads_on_a_real_replica_and_the_primary_when_it_stops(live_databases, client, settings):
    from fellowships.services import vocabularies_sync
    from tests.factories import make_meeting

    settings.GEOCODER = "offline"
    with connections["replica_0"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        assert cursor.fetchone()[0] is True, "replica_0 should be a standby"

    vocabularies_sync()
    name = f"Replica {uuid.uuid4().hex[:8]}"
    meeting = make_meeting(name=name, timezone="America/Los_Angeles")
    # The write path reads the primary: what was just saved is there at once.
    assert Meeting.objects.filter(name=name).exists()

    # The standby replays it; the public search reads it there.
    assert _wait_for(lambda: Meeting.objects.using("replica_0").filter(name=name).exists())
    with CaptureQueriesContext(connections["replica_0"]) as on_replica, \
            CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
        answer = client.get("/api/v1/meetings/", {"q": name.split()[1]})
    assert answer.status_code == 200
    assert [row["slug"] for row in answer.json()["results"]] == [meeting.slug]
    assert any("meetings_meeting" in q["sql"] for q in on_replica.captured_queries)
    assert not any("meetings_meeting" in q["sql"] for q in on_primary.captured_queries)
    # Nearest first: the page's statement on the replica's nearest-first connection.
    near = {"lat": meeting.location.latitude, "lng": meeting.location.longitude, "radius": 1, "q": name.split()[1]}
    with CaptureQueriesContext(connections["knn_replica_0"]) as on_replica_knn, \
            CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
        answer = client.get("/api/v1/meetings/", near)
    assert [row["slug"] for row in answer.json()["results"]] == [meeting.slug]
    assert any("<->" in q["sql"] for q in on_replica_knn.captured_queries)
    assert not any("meetings_meeting" in q["sql"] for q in on_primary.captured_queries)

    # A write is seen at once through the replica too: the version travels with the data.
    meeting.name = f"{name} renamed"
    meeting.save()
    assert _wait_for(lambda: "renamed" in client.get(f"/api/v1/meetings/{meeting.slug}/").json()["name"])

    # The replica stops: public reads fall back to the primary, without an error.
    subprocess.run(["runuser", "-u", "postgres", "--", os.environ["TEST_REPLICA_PG_CTL"], "-D",
                    os.environ["TEST_REPLICA_PGDATA"], "stop", "-m", "fast", "-w"], check=True, timeout=60)
    meeting.name = f"{name} after the replica stopped"
    meeting.save()
    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
        answer = client.get(f"/api/v1/meetings/{meeting.slug}/")
    assert answer.status_code == 200
    assert answer.json()["name"] == f"{name} after the replica stopped"
    assert any("meetings_meeting" in q["sql"] for q in on_primary.captured_queries)
    assert client.get("/api/v1/meetings/", {"q": name.split()[1]}).status_code == 200
    Meeting.objects.filter(pk=meeting.pk).delete()
