"""A meeting stored with a start time but no day becomes by appointment,
as 0023 made the other half (a day without a time): the readers listed it
three ways (the API at that hour on no day, the Meeting Guide export by
appointment, BMLT with an empty weekday and a start time), and the feeds'
parser refuses such a record now (meetings/feeds/meeting_guide.py). Nothing
is lost: the time it had (and its end) is written in its review reason and
it is flagged for review, so a curator can give it a day. Its end goes
with its start: a meeting by appointment has none (the parser reads no end
without a start)."""

from django.db import migrations

from meetings.schedule import hh_mm


def time_without_day_by_appointment(apps, schema_editor):
    Meeting = apps.get_model("meetings", "Meeting")
    for meeting in Meeting.objects.filter(day__isnull=True, time__isnull=False).iterator():
        ending = f" (ending {hh_mm(meeting.end_time)})" if meeting.end_time is not None else ""
        reason = f"Had a start time {hh_mm(meeting.time)}{ending} but no day; listed by appointment until it has both"
        meeting.review_reason = "; ".join(filter(None, [reason, meeting.review_reason]))[:300]
        meeting.needs_review = True
        meeting.time = meeting.end_time = None
        # What the feed's record would now give: the next import takes this for no curator's edit.
        if meeting.feed_values:
            meeting.feed_values = {**meeting.feed_values, **{
                name: None for name in ("time", "end_time") if name in meeting.feed_values}}
        meeting.save(update_fields=["time", "end_time", "needs_review", "review_reason", "feed_values"])


class Migration(migrations.Migration):

    dependencies = [
        ('meetings', '0024_search_text_street_from_parts'),
    ]

    operations = [
        migrations.RunPython(time_without_day_by_appointment, migrations.RunPython.noop),
    ]
