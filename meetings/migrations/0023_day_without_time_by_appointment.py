"""A meeting stored with a day but no time becomes by appointment, as the
feeds' parser now makes such a record (meetings/feeds/meeting_guide.py):
the readers listed it three ways (the API on that day at no hour, the Meeting
Guide export by appointment, BMLT with an empty start time). Nothing is lost:
the day it had is written in its review reason and it is flagged for review,
so a curator can give it a time."""

from django.db import migrations

DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def day_without_time_by_appointment(apps, schema_editor):
    Meeting = apps.get_model("meetings", "Meeting")
    for meeting in Meeting.objects.filter(day__isnull=False, time__isnull=True).iterator():
        reason = f"Had {DAY_NAMES[meeting.day]} but no start time; listed by appointment until it has both"
        meeting.review_reason = "; ".join(filter(None, [reason, meeting.review_reason]))[:300]
        meeting.needs_review = True
        meeting.day = None
        if "day" in (meeting.feed_values or {}):
            # What the feed's record now gives: the next import takes this for no curator's edit.
            meeting.feed_values = {**meeting.feed_values, "day": None}
        meeting.save(update_fields=["day", "needs_review", "review_reason", "feed_values"])


class Migration(migrations.Migration):

    dependencies = [
        ('meetings', '0022_changerequest_language'),
    ]

    operations = [
        migrations.RunPython(day_without_time_by_appointment, migrations.RunPython.noop),
    ]
