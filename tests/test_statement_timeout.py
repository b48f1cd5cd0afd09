"""Bounded work per request: PostgreSQL cancels any statement after
DATABASE_STATEMENT_TIMEOUT_MS (set through the connection's options), the
request answers 503 rather than 500, and gunicorn waits longer than that."""

from __future__ import annotations

import runpy
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.test import Client

from fellowships.models import MeetingType
from meetingfinder.request_budget import RequestBudgetExceeded, RequestBudgetMiddleware
from meetings.api import views as api_views

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("statement_ms, expected", [(None, 30), ("10000", 30), ("45000", 100), ("0", 30)])
def test_gunicorn_waits_longer_than_the_statement_timeout(monkeypatch, statement_ms, expected):
    monkeypatch.delenv("GUNICORN_TIMEOUT", raising=False)
    if statement_ms is None:
        monkeypatch.delenv("DATABASE_STATEMENT_TIMEOUT_MS", raising=False)
    else:
        monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT_MS", statement_ms)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["timeout"] == expected
    # A request's statements stop within about twice the timeout (one budget, then one last statement).
    assert config["timeout"] > 2 * int(statement_ms or 10000) / 1000


@pytest.fixture
def postgresql_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("statement_timeout is PostgreSQL's: run with DATABASE_URL=postgres://...")


@pytest.mark.postgres
def test_connections_carry_the_configured_statement_timeout(postgresql_only):
    with connection.cursor() as cursor:
        cursor.execute("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'")
        (setting,) = cursor.fetchone()
    assert int(setting) == settings.DATABASE_STATEMENT_TIMEOUT_MS > 0
    assert connection.settings_dict["OPTIONS"]["options"] == (
        f"-c statement_timeout={settings.DATABASE_STATEMENT_TIMEOUT_MS} -c jit=off"
        " -c plan_cache_mode=force_custom_plan")


@pytest.mark.postgres
@pytest.mark.django_db(databases="__all__")
def test_no_connection_compiles_statements_with_jit(postgresql_only):
    """JIT starts above a planner cost: a search of 40 keywords spent ~650 ms
    compiling and ~80 ms running (bench/README.md, round 16)."""
    from django.db import connections

    for alias in ("default", "knn_default"):
        with connections[alias].cursor() as cursor:
            cursor.execute("SHOW jit")
            assert cursor.fetchone() == ("off",), alias


@pytest.mark.postgres
@pytest.mark.django_db(databases="__all__")
def test_the_nearest_first_connection_keeps_generic_plans(postgresql_only):
    """Its one plan does not depend on the values (the KNN scan, bitmap scans
    off); every other connection plans each statement for its values
    (tests/test_search_text.py)."""
    from django.db import connections

    for alias, mode in (("default", "force_custom_plan"), ("knn_default", "auto")):
        with connections[alias].cursor() as cursor:
            cursor.execute("SHOW plan_cache_mode")
            assert cursor.fetchone() == (mode,), alias


@pytest.mark.postgres
def test_a_statement_cancelled_by_the_timeout_is_a_json_503(postgresql_only, monkeypatch):
    def slow_search(search):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(5)")
        return []

    monkeypatch.setattr(api_views, "SearchResults", slow_search)
    with connection.cursor() as cursor:
        # The test's transaction: the setting ends with it.
        cursor.execute("SET LOCAL statement_timeout = 50")
    response = Client(raise_request_exception=False).get("/api/v1/meetings/")
    assert response.status_code == 503, response.content
    assert response["Content-Type"].startswith("application/json")
    assert int(response["Retry-After"]) > 0


def test_a_request_starts_no_statement_after_its_budget(vocabularies, settings, monkeypatch):
    """Statements each under the timeout cannot add up to an unbounded request."""
    Client().get("/api/v1/fellowships/")  # imports and URL resolution done before the clock starts
    settings.DATABASE_REQUEST_BUDGET_MS = 300
    statements = []

    def many_short_statements(search):
        for _ in range(100):
            statements.append(list(MeetingType.objects.all()[:1]))
            time.sleep(0.02)
        return []

    monkeypatch.setattr(api_views, "SearchResults", many_short_statements)
    started = time.monotonic()
    response = Client(raise_request_exception=False).get("/api/v1/meetings/")
    assert response.status_code == 503, response.content
    assert response["Content-Type"].startswith("application/json") and int(response["Retry-After"]) > 0
    assert 5 <= len(statements) < 100
    assert time.monotonic() - started < 1.5


@pytest.mark.django_db(databases="__all__")
def test_every_connection_a_request_reads_through_is_budgeted(vocabularies, settings, rf):
    """Replicas and the nearest-first connections (meetingfinder/replicas.py) too, not only the primary."""
    settings.DATABASE_REQUEST_BUDGET_MS = 200
    aliases = list(settings.DATABASES)
    refused = []

    def statements_on_each_connection(request):
        time.sleep(0.25)
        for alias in aliases:
            try:
                list(MeetingType.objects.using(alias).all()[:1])
            except RequestBudgetExceeded:
                refused.append(alias)
        return HttpResponse()

    RequestBudgetMiddleware(statements_on_each_connection)(rf.get("/api/v1/meetings/"))
    assert refused == aliases


def test_within_its_budget_a_request_answers_as_usual(vocabularies, settings):
    settings.DATABASE_REQUEST_BUDGET_MS = 10_000
    assert Client().get("/api/v1/fellowships/").status_code == 200


def test_the_admin_has_no_request_budget(vocabularies, settings, admin_client):
    """Curators' imports and bulk actions are long on purpose."""
    settings.DATABASE_REQUEST_BUDGET_MS = 1
    time.sleep(0.01)
    assert admin_client.get("/admin/meetings/meeting/").status_code == 200
