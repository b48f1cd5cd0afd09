"""PostgreSQL: the trigram index of the meetings' search text (migration
0012, meetings/keywords.py), built concurrently, and 0011's two indexes
dropped: nothing reads them any more, and every write paid for them."""

from importlib import import_module

from django.db import migrations

INDEX = "meeting_search_text_trgm"
OLD_INDEXES = ("meeting_text_trgm", "location_text_trgm")
previous = import_module("meetings.migrations.0011_keyword_trigram_indexes")


def index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    previous.build_concurrently(schema_editor, INDEX, "meetings_meeting USING gin (search_text gin_trgm_ops)")
    for name in OLD_INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    schema_editor.execute("ANALYZE meetings_meeting (search_text)")


def unindex(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
    previous.forward(apps, schema_editor)  # 0011's indexes, as it made them


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY runs outside a transaction.
    atomic = False
    dependencies = [("meetings", "0012_meeting_search_text")]

    operations = [migrations.RunPython(index, unindex)]
