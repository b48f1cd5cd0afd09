"""Stored meeting times lose their seconds. The admin form took 19:00:30
(it refuses seconds now: schedule.is_whole_minute): every reader showed
19:00 while comparisons kept the seconds (a start of 19:00:30 with an end of
19:00 ran a whole day). Cutting them changes nothing anyone sees; curated
fields stay curated."""

from django.db import migrations
from django.db.models import Q


def times_whole_minutes(apps, schema_editor):
    Meeting = apps.get_model("meetings", "Meeting")
    for meeting in Meeting.objects.filter(Q(time__second__gt=0) | Q(end_time__second__gt=0)).iterator():
        for name in ("time", "end_time"):
            value = getattr(meeting, name)
            if value is not None:
                setattr(meeting, name, value.replace(second=0, microsecond=0))
        meeting.save(update_fields=["time", "end_time"])


class Migration(migrations.Migration):

    dependencies = [
        ('meetings', '0025_time_without_day_by_appointment'),
    ]

    operations = [
        migrations.RunPython(times_whole_minutes, migrations.RunPython.noop),
    ]
