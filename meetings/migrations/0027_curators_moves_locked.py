"""A meeting a curator moved to another location before a meeting's
location was a curated field (meetings/feeds/locks.py, PLACE) has no lock
on it, so the next import that gives its record anew puts it back at the
feed's place. Such a move is locked now, as the admin locks one today: the
meeting is not at the place its feed last gave (`meeting_feed_place`), and
its history says a person put it where it is (the change that set its
location was a curator's or an approved change request's, not an import's:
`record_attribution`). A meeting the feed moved, one no one moved, and one
without feed values stay as they are. Nothing is flagged for review, as a
lock made today is not: the admin shows the feed's place beside it, to
release."""

from django.db import migrations

from meetings.feeds.locks import PLACE
from meetings.history import record_attribution
from meetings.services import meeting_feed_place


def _placed_by_a_person(History, meeting) -> bool:
    """Whether the change that put `meeting` at its location was a person's:
    the oldest of its latest historical rows at that location. A location no
    row records (set without history) is no one's known choice."""
    placed = None
    for record in History.objects.filter(id=meeting.pk).order_by("-history_date", "-history_id").iterator():
        if record.location_id != meeting.location_id:
            break
        placed = record
    return placed is not None and record_attribution(placed).kind in ("user", "change_request")


def curators_moves_locked(apps, schema_editor):
    Meeting = apps.get_model("meetings", "Meeting")
    Location = apps.get_model("meetings", "Location")
    History = apps.get_model("meetings", "HistoricalMeeting")
    for meeting in Meeting.objects.filter(feed_source__isnull=False, feed_values__has_key=PLACE).iterator():
        key = meeting.feed_values[PLACE]
        # None: a release forgot the feed's place; its next import places the meeting anew.
        if key is None or PLACE in meeting.locked_fields:
            continue
        feed_place = meeting_feed_place(meeting, locations=Location.objects.all())
        at_feed_place = meeting.location_id is None if key == "" else (
            feed_place is not None and feed_place.pk == meeting.location_id)
        if not at_feed_place and _placed_by_a_person(History, meeting):
            meeting.locked_fields = sorted({*meeting.locked_fields, PLACE})
            meeting.save(update_fields=["locked_fields"])


class Migration(migrations.Migration):

    dependencies = [
        ('meetings', '0026_meeting_times_whole_minutes'),
    ]

    operations = [
        migrations.RunPython(curators_moves_locked, migrations.RunPython.noop),
    ]
