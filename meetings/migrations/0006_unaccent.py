from django.contrib.postgres.operations import UnaccentExtension
from django.db import migrations


class Migration(migrations.Migration):
    """Keyword search folds accents with PostgreSQL's unaccent (meetings/keywords.py);
    a no-op on SQLite, where the app registers its own UNACCENT function."""

    dependencies = [("meetings", "0005_earth_day_gist_index")]

    operations = [UnaccentExtension()]
