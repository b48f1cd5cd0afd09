"""All meetings by weekday and time, unpublished ones too: the admin's list
of meetings is in that order (the model's), and with only the index of
published meetings PostgreSQL sorted the whole table for each page of it
(~1 s at 1,000,000 meetings; bench/README.md, round 24). The public
listing keeps the partial index of published meetings: a count of them is
read from it alone (replacing it with this one made listings 1-1.5 ms
slower at 1,000,000). Built concurrently on PostgreSQL."""

from importlib import import_module

from django.db import migrations, models

concurrent = import_module("meetings.migrations.0011_keyword_trigram_indexes")


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY runs outside a transaction.
    atomic = False
    dependencies = [("meetings", "0020_type_text_sources_fellowships")]

    operations = [concurrent.concurrent_index(models.Index(fields=["day", "time"], name="meeting_day_time"),
                                              model="Meeting", definition="meetings_meeting (day, time)")]
