"""PostgreSQL: cube + earthdistance and the GiST index nearest-first search uses.

`ll_to_earth(latitude, longitude)` is indexed as is, so both the earth_box
containment (radius) and the `<->` ordering (nearest first) are index scans.
SQLite needs neither: it prefilters on the (latitude, longitude) b-tree.
"""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS cube",
    "CREATE EXTENSION IF NOT EXISTS earthdistance",
    "CREATE INDEX IF NOT EXISTS meeting_earth_gist ON meetings_meeting USING gist (ll_to_earth(latitude, longitude))",
]
BACKWARD = ["DROP INDEX IF EXISTS meeting_earth_gist"]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("meetings", "0001_initial")]

    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD))]
