"""Places by their city name upper-cased: a bare city name ("Irvine") is
completed with the states where the directory has meetings in a city of that
name, compared case-blind (`iexact`, UPPER on PostgreSQL), and without this
index every place was read: 122 ms of a 135 ms search at 1,000,000 meetings,
against 11 ms for "Irvine, CA" (1 December 2026). Built concurrently on
PostgreSQL, as 0021, then analysed: until the indexed expression has
statistics the planner guessed 2,049 places per name (134 at 1,000,000
meetings) and ran the lookup in parallel workers, 13 ms instead of 3."""

from importlib import import_module

from django.db import migrations, models
from django.db.models.functions import Upper

concurrent = import_module("meetings.migrations.0011_keyword_trigram_indexes")


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY runs outside a transaction.
    atomic = False
    dependencies = [("meetings", "0030_meeting_not_copy_of")]

    operations = [concurrent.concurrent_index(
        models.Index(Upper("city"), name="location_city_upper"), model="Location",
        definition="meetings_location (UPPER(city::text))", after="ANALYZE meetings_location")]
