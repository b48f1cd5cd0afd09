"""PostgreSQL: the trigram index of the meetings' type codes (migration
0015), built concurrently. A code is a word of one or a few letters, so a
search by rare codes ("list, aa, type=W,B") reads only the meetings that
have them (bench/README.md, round 18: ~120 -> ~10 ms at 100,000 meetings);
for a common one (type=O) PostgreSQL reads in weekday order and checks the
row."""

from importlib import import_module

from django.db import migrations

INDEX = "meeting_type_code_text_trgm"
previous = import_module("meetings.migrations.0011_keyword_trigram_indexes")


def index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    previous.build_concurrently(schema_editor, INDEX, "meetings_meeting USING gin (type_code_text gin_trgm_ops)")
    schema_editor.execute("ANALYZE meetings_meeting (type_code_text)")


def unindex(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY runs outside a transaction.
    atomic = False
    dependencies = [("meetings", "0015_meeting_type_code_text")]

    operations = [migrations.RunPython(index, unindex)]
