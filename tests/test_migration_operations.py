"""meetingfinder/migration_operations.py: AlterFieldLabels leaves the state
AlterField would leave, one field after another, and the database as it was."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import models
from django.db.migrations.operations import AlterField
from django.db.migrations.state import ModelState, ProjectState

from meetingfinder.migration_operations import AlterFieldLabels

ROOT = Path(__file__).resolve().parents[1]


def project() -> ProjectState:
    state = ProjectState()
    state.add_model(ModelState("shop", "Shelf", [("id", models.AutoField(primary_key=True))]))
    state.add_model(ModelState("shop", "Book", [
        ("id", models.AutoField(primary_key=True)),
        ("title", models.CharField(max_length=50)),
        ("notes", models.TextField(blank=True)),
        ("shelf", models.ForeignKey("shop.Shelf", models.CASCADE)),
    ]))
    return state


LABELLED = [("title", models.CharField(max_length=50, verbose_name="title of the book")),
            ("notes", models.TextField(blank=True, help_text="Anything worth knowing.", verbose_name="notes"))]


def test_the_state_is_the_one_alter_field_leaves_field_by_field():
    by_field, at_once = project(), project()
    for state in (by_field, at_once):
        state.apps.get_model("shop", "Book")  # rendered, as during migrate: an operation reloads what it changes
    for name, field in LABELLED:
        AlterField("Book", name, field.clone()).state_forwards("shop", by_field)
    AlterFieldLabels("Book", [(name, field.clone()) for name, field in LABELLED]).state_forwards("shop", at_once)
    for state in (by_field, at_once):
        book = state.apps.get_model("shop", "Book")
        assert book._meta.get_field("title").verbose_name == "title of the book"
        assert book._meta.get_field("notes").help_text == "Anything worth knowing."
        # The related model was rendered again too: it reaches the new Book.
        assert state.apps.get_model("shop", "Shelf")._meta.get_field("book").related_model is book
    assert {name: f.deconstruct() for name, f in at_once.models["shop", "book"].fields.items()} == \
        {name: f.deconstruct() for name, f in by_field.models["shop", "book"].fields.items()}


def test_a_relation_is_refused():
    with pytest.raises(ValueError, match="shelf is a relation"):
        AlterFieldLabels("Book", [("shelf", models.ForeignKey("shop.Shelf", models.CASCADE, verbose_name="on"))])


def test_it_writes_itself_as_it_was_written():
    operation = AlterFieldLabels("Book", LABELLED)
    name, args, kwargs = operation.deconstruct()
    again = AlterFieldLabels(*args, **kwargs)
    assert name == "AlterFieldLabels"
    assert [(n, f.deconstruct()) for n, f in again.fields] == [(n, f.deconstruct()) for n, f in LABELLED]
    assert again.references_field("book", "notes", "shop") and not again.references_field("book", "shelf", "shop")


SQL_OF_THE_LABEL_MIGRATIONS = """
from django.core.management import call_command
for app, migration in (("fellowships", "0004"), ("meetings", "0010")):
    for backwards in ([], ["--backwards"]):
        call_command("sqlmigrate", app, migration, *backwards)
"""


def test_the_label_migrations_change_nothing_in_the_database(tmp_path):
    # In a process of its own: SQLite's schema editor cannot run inside a test's transaction.
    env = dict(os.environ, DJANGO_DEBUG="true", DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}",
               DJANGO_SETTINGS_MODULE="meetingfinder.settings")
    result = subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c",
                             SQL_OF_THE_LABEL_MIGRATIONS], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("BEGIN;") == 4
    assert result.stdout.count("AlterFieldLabels") == 0 and "Alter the labels of" in result.stdout
    statements = [line for line in result.stdout.splitlines()
                  if line.strip() and not line.startswith("--") and line not in ("BEGIN;", "COMMIT;")]
    assert statements == []
