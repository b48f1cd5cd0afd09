"""Places by their city name upper-cased: a bare city name ("Irvine") is
completed with the states where the directory has meetings in a city of that
name, compared case-blind (`iexact`, UPPER on PostgreSQL), and without this
index every place was read: 122 ms of a 135 ms search at 1,000,000 meetings,
against 11 ms for "Irvine, CA" (1 December 2026). Built concurrently on
PostgreSQL, as 0021, then analysed: 3 ms at 1,000,000 meetings."""

from importlib import import_module

from django.db import migrations, models
from django.db.models.functions import Upper

INDEX = models.Index(Upper("city"), name="location_city_upper")
concurrent = import_module("meetings.migrations.0011_keyword_trigram_indexes")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        concurrent.build_concurrently(schema_editor, INDEX.name, "meetings_location (UPPER(city::text))")
        # The statistics of the indexed expression: until the next ANALYZE the
        # planner guessed 2,049 places per name (134 at 1,000,000 meetings) and
        # ran the lookup in parallel workers, 13 ms instead of 3.
        schema_editor.execute("ANALYZE meetings_location")
    else:
        schema_editor.add_index(apps.get_model("meetings", "Location"), INDEX)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX.name}")
    else:
        schema_editor.remove_index(apps.get_model("meetings", "Location"), INDEX)


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY runs outside a transaction.
    atomic = False
    dependencies = [("meetings", "0030_meeting_not_copy_of")]

    operations = [migrations.SeparateDatabaseAndState(
        database_operations=[migrations.RunPython(forward, backward)],
        state_operations=[migrations.AddIndex("location", INDEX)],
    )]
