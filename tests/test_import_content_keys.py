"""Records without a slug of their own (many CSV files, some Meeting Guide
feeds) are keyed on their content: a change to the record must update its
meeting, keeping its slug, history and a curator's edits, not retire it and
make another."""

import pytest

from meetings.models import ImportIssue, Meeting
from meetings.services import meeting_save
from tests.factories import feed_record, make_source, run_feed


@pytest.fixture
def source(vocabularies):
    return make_source()


def slugless(n: int, **fields) -> dict:
    record = feed_record(n, **fields)
    del record["slug"]
    return record


def the_meeting(**lookup) -> Meeting:
    return Meeting.objects.get(**lookup)


def test_a_new_time_updates_the_meeting_and_keeps_what_a_curator_changed(source):
    run_feed(source, [slugless(1), slugless(2)])
    before = the_meeting(name="Meeting 1")
    before.notes = "Side door after 6 pm"
    meeting_save(meeting=before)
    assert before.slug == "meeting-1"

    run = run_feed(source, [slugless(1, time="19:30"), slugless(2)])

    after = the_meeting(name="Meeting 1")
    assert (run.status, run.created, run.updated, run.removed, run.unchanged) == ("succeeded", 0, 1, 0, 1)
    assert (after.pk, after.slug, str(after.time), after.notes) == (before.pk, "meeting-1", "19:30:00",
                                                                    "Side door after 6 pm")
    assert "notes" in after.locked_fields and not after.removed
    assert Meeting.objects.count() == 2
    note = ImportIssue.objects.get(run=run, reason__contains="until now")
    assert note.record_key == after.source_key and "name, place and day" in note.reason


@pytest.mark.parametrize("change", [
    {"notes": "Bring a friend."},
    {"updated": "2026-11-30 08:00:00"},
    {"address": "9 Elm St", "latitude": 33.7},
    {"name": "Meeting One"},
    {"day": 5},
])
def test_any_one_change_finds_the_same_meeting(source, change):
    run_feed(source, [slugless(n, updated="2026-11-01 08:00:00") for n in (1, 2, 3)])
    before = the_meeting(name="Meeting 1")
    run = run_feed(source, [slugless(1, **{"updated": "2026-11-01 08:00:00", **change}),
                            slugless(2, updated="2026-11-01 08:00:00"), slugless(3, updated="2026-11-01 08:00:00")])
    assert (run.status, run.created, run.removed) == ("succeeded", 0, 0)
    assert Meeting.objects.filter(removed=False).count() == 3
    after = Meeting.objects.get(pk=before.pk)
    assert after.slug == before.slug and not after.removed
    for name, value in change.items():
        if name in ("notes", "name", "day", "address"):
            assert (after.location.address if name == "address" else getattr(after, name)) == value


def test_a_meeting_by_appointment_is_found_by_its_name_and_place_or_name_alone(source):
    """Stored without a time, it never matched a rule that names the time
    (the stored side said "", the record None)."""
    run_feed(source, [slugless(n) for n in (2, 3, 4)] + [slugless(1, day=None, time=None)])
    before = the_meeting(name="Meeting 1")
    assert before.day is None and before.time is None
    run = run_feed(source, [slugless(n) for n in (2, 3, 4)]
                   + [slugless(1, day=None, time=None, notes="Call first.", address="9 Elm St", latitude=33.7)])
    assert (run.status, run.created, run.removed) == ("succeeded", 0, 0)
    assert Meeting.objects.get(pk=before.pk).notes == "Call first."


def test_a_fresh_updated_stamp_alone_changes_nothing(source):
    run_feed(source, [slugless(1, updated="2026-11-01 08:00:00")])
    run = run_feed(source, [slugless(1, updated="2026-11-29 08:00:00")])
    assert (run.status, run.created, run.updated, run.removed, run.unchanged) == ("succeeded", 0, 0, 0, 1)


def test_two_meetings_that_could_each_be_either_are_not_guessed(source):
    """Same name, place and day, both hours changed: which became which is
    unknown, so both are retired and made anew (as before) rather than one
    meeting taking the other's history."""
    run_feed(source, [slugless(1, time="07:00"), slugless(1, time="12:00")])
    run = run_feed(source, [slugless(1, time="07:30"), slugless(1, time="12:30")], allow_shrink=True)
    assert (run.created, run.updated, run.removed) == (2, 0, 2)


def test_online_meetings_at_the_same_hour_are_not_the_same_meeting_by_hour_alone(source):
    online = {"address": "", "city": "", "state": "", "postal_code": "", "latitude": None, "longitude": None,
              "conference_url": "https://zoom.us/j/5550100"}
    run_feed(source, [slugless(1, name="Dawn Patrol", **online)])
    run = run_feed(source, [slugless(1, name="Night Owls", **online)], allow_shrink=True)
    assert (run.created, run.updated, run.removed) == (1, 0, 1)


def test_a_stored_meeting_the_feed_dropped_comes_back_with_its_new_time(source):
    run_feed(source, [slugless(1), slugless(2), slugless(3), slugless(4)])
    before = the_meeting(name="Meeting 1")
    run_feed(source, [slugless(2), slugless(3), slugless(4)])
    assert Meeting.objects.get(pk=before.pk).removed
    run = run_feed(source, [slugless(1, time="20:00"), slugless(2), slugless(3), slugless(4)])
    after = Meeting.objects.get(pk=before.pk)
    assert (run.status, run.created, run.updated, run.restored) == ("succeeded", 0, 1, 1)
    assert (after.removed, str(after.time), after.slug) == (False, "20:00:00", before.slug)


def test_a_second_record_under_a_taken_slug_follows_its_changes_too(source):
    run_feed(source, [feed_record(1), feed_record(1, name="Other")])
    second = the_meeting(name="Other")
    assert second.source_key.startswith("m1~")
    run = run_feed(source, [feed_record(1), feed_record(1, name="Other", time="21:00")])
    assert (run.status, run.created, run.removed) == ("succeeded", 0, 0)
    assert str(Meeting.objects.get(pk=second.pk).time) == "21:00:00"


def test_a_feed_that_gives_slugs_is_matched_by_them_alone(source):
    """A slug is the feed's word for which meeting it is: a new slug is a new meeting."""
    run_feed(source, [feed_record(1), feed_record(2)])
    run = run_feed(source, [feed_record(1, slug="m1-new", time="19:30"), feed_record(2)], allow_shrink=True)
    assert (run.created, run.updated, run.removed) == (1, 0, 1)
