from django.contrib.postgres.operations import UnaccentExtension
from django.db import migrations


class Migration(migrations.Migration):
    """Keyword search folds accents with PostgreSQL's unaccent (meetings/keywords.py);
    a no-op on SQLite, where the app registers its own UNACCENT function."""

    dependencies = [("meetings", "0006_feed_source_validators")]

    operations = [UnaccentExtension()]
