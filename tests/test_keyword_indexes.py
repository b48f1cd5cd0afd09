"""Migration 0011's trigram indexes (meetings/keywords.py): built
concurrently, and built anew when an earlier concurrent build failed."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

migration = importlib.import_module("meetings.migrations.0011_keyword_trigram_indexes")


def valid(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [name])
        return cursor.fetchone()[0]


def test_an_index_left_invalid_by_a_failed_build_is_built_anew():
    """CREATE INDEX CONCURRENTLY that fails leaves an invalid index, which
    PostgreSQL never reads; IF NOT EXISTS alone would keep it for good."""
    if connection.vendor != "postgresql":
        pytest.skip("the trigram indexes are PostgreSQL's: run with DATABASE_URL=postgres://...")
    with connection.cursor() as cursor:  # as a failed concurrent build leaves it
        cursor.execute("UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'meeting_text_trgm'::regclass")
    assert not valid("meeting_text_trgm")
    with connection.schema_editor(atomic=False) as schema_editor:
        migration.forward(apps, schema_editor)
    assert valid("meeting_text_trgm") and valid("location_text_trgm")
