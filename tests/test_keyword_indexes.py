"""The trigram index of keyword search (migration 0013, meetings/keywords.py):
built concurrently, and built anew when an earlier concurrent build failed."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

migration = importlib.import_module("meetings.migrations.0013_search_text_trigram_index")


def valid(name: str) -> bool | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [name])
        row = cursor.fetchone()
    return row[0] if row else None


def test_an_index_left_invalid_by_a_failed_build_is_built_anew():
    """CREATE INDEX CONCURRENTLY that fails leaves an invalid index, which
    PostgreSQL never reads; IF NOT EXISTS alone would keep it for good."""
    if connection.vendor != "postgresql":
        pytest.skip("the trigram index is PostgreSQL's: run with DATABASE_URL=postgres://...")
    with connection.cursor() as cursor:  # as a failed concurrent build leaves it
        cursor.execute(f"UPDATE pg_index SET indisvalid = false WHERE indexrelid = '{migration.INDEX}'::regclass")
    assert valid(migration.INDEX) is False
    with connection.schema_editor(atomic=False) as schema_editor:
        migration.index(apps, schema_editor)
    assert valid(migration.INDEX) is True


def test_the_indexes_keyword_search_no_longer_reads_are_gone():
    """Migration 0011 indexed a meeting's text and its venue's apart; every
    write paid for them after 0012-0013 made them unread."""
    if connection.vendor != "postgresql":
        pytest.skip("the trigram indexes are PostgreSQL's: run with DATABASE_URL=postgres://...")
    assert [valid(name) for name in migration.OLD_INDEXES] == [None, None]
