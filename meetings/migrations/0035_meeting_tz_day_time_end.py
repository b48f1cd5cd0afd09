"""The (zone, day, time) index of meetings also holds their end, a time
without one first (NULLS FIRST, as SQLite sorts it): the distinct weekly
times of every meeting, which every answer that shows the clock reads once
per directory version and process (selectors.clock_turns), are read from it
one probe per time, where SELECT DISTINCT read every meeting (0.24-0.7 s at
1,000,000; bench/README.md, round 35). It replaces the index without the end,
whose searches (a zone's meetings in a window of wall time) read the same
first columns. Built concurrently on PostgreSQL, as 0021."""

from importlib import import_module

from django.db import migrations, models

concurrent = import_module("meetings.migrations.0011_keyword_trigram_indexes")
WITHOUT_END = models.Index(fields=["timezone", "day", "time"], name="meeting_tz_day_time")


def drop_without_end(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {WITHOUT_END.name}")
    else:
        schema_editor.remove_index(apps.get_model("meetings", "Meeting"), WITHOUT_END)


def build_without_end(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        concurrent.build_concurrently(schema_editor, WITHOUT_END.name, "meetings_meeting (timezone, day, time)")
    else:
        schema_editor.add_index(apps.get_model("meetings", "Meeting"), WITHOUT_END)


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY runs outside a transaction.
    atomic = False
    dependencies = [("meetings", "0034_importrun_would_remove")]

    operations = [
        concurrent.concurrent_index(
            models.Index(fields=["timezone", "day", "time", "end_time"], name="meeting_tz_day_time_end"),
            model="Meeting", definition="meetings_meeting (timezone, day, time, end_time NULLS FIRST)"),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_without_end, build_without_end)],
            state_operations=[migrations.RemoveIndex("meeting", WITHOUT_END.name)]),
    ]
