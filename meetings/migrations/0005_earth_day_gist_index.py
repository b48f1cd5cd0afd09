"""PostgreSQL: the nearest-first GiST index also holds the weekday.

With btree_gist, `day` is a second column of the index that serves the
earth_box containment and the `<->` order, so a one-weekday search skips the
other six days inside the KNN scan instead of fetching their rows from the
heap and filtering them out (at 1,000,000 meetings a dense search read ~450
rows on as many heap pages to keep 26; with the weekday in the index, ~40).
Searches without a weekday use the same index for the same KNN scan, so it
replaces 0002's. The search writes the weekday as smallint
(meetings/selectors.py): btree_gist's int2 operators take no int4.
"""

from django.db import migrations

FORWARD = [
    # A trusted extension shipped with PostgreSQL: the database owner may create it.
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    "CREATE INDEX IF NOT EXISTS meeting_earth_day_gist ON meetings_meeting"
    " USING gist (ll_to_earth(latitude, longitude), day)",
    "DROP INDEX IF EXISTS meeting_earth_gist",
]
BACKWARD = [
    "CREATE INDEX IF NOT EXISTS meeting_earth_gist ON meetings_meeting USING gist (ll_to_earth(latitude, longitude))",
    "DROP INDEX IF EXISTS meeting_earth_day_gist",
]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("meetings", "0004_curation_history_change_requests")]

    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD))]
