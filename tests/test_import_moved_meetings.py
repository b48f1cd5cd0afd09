"""A feed writes only its service body's listings: a meeting a person moved
to another body is that body's now, and the old feed, whose curators could
not reach it in the admin, leaves it alone (no rename, no removal, no
duplicate made in its place), saying so in the run's report."""

import json

import pytest
from django.core.management import call_command

from meetings.models import Meeting
from meetings.services import meeting_save
from tests.factories import ServiceBodyFactory, change_url, feed_record, make_source, meeting_form_data, run_feed


@pytest.fixture
def source(directory):
    source = make_source()
    source.service_body = directory.aa_office
    source.save()
    return source


@pytest.fixture
def elsewhere(vocabularies):
    """Another AA body, not below the feed's."""
    return ServiceBodyFactory(name="LA Central Office")


def moved(key: str, body) -> Meeting:
    meeting = Meeting.objects.get(source_key=key)
    meeting.service_body = body
    meeting_save(meeting=meeting)
    return meeting


def test_a_meeting_a_superuser_moved_keeps_its_name_and_the_run_says_why(source, elsewhere, admin_client):
    run_feed(source, [feed_record(n) for n in range(4)])
    meeting = Meeting.objects.get(source_key="m1")
    response = admin_client.post(change_url(meeting), meeting_form_data(meeting, service_body=elsewhere.pk))
    assert response.status_code == 302

    run = run_feed(source, [feed_record(0), feed_record(1, name="Renamed by the old feed"),
                            feed_record(2, name="Renamed 2"), feed_record(3), feed_record(4)])

    meeting.refresh_from_db()
    assert (meeting.name, meeting.service_body, meeting.removed) == ("Meeting 1", elsewhere, False)
    # The feed's other meetings import as before.
    assert Meeting.objects.get(source_key="m2").name == "Renamed 2"
    assert (run.status, run.created, run.updated, run.unchanged, run.removed, run.skipped) == (
        "succeeded", 1, 1, 2, 0, 1)
    assert list(run.issues.values_list("kind", "record_key", "reason")) == [
        ("skipped", "m1", "left alone: its meeting (m1) now belongs to LA Central Office, not to "
                          "OC Central Office or a body below it")]
    page = admin_client.get(change_url(run)).content.decode()
    assert "now belongs to LA Central Office" in page


def test_a_moved_meeting_gone_from_the_old_feed_is_not_removed(source, elsewhere):
    records = [feed_record(n) for n in range(10)]
    run_feed(source, records)
    moved("m1", elsewhere)

    run = run_feed(source, [record for record in records if record["slug"] not in ("m1", "m2")])

    assert (run.status, run.removed, run.skipped) == ("succeeded", 1, 0)
    assert not Meeting.objects.get(source_key="m1").removed
    assert Meeting.objects.get(source_key="m2").removed


def test_the_old_feeds_record_makes_no_duplicate_run_after_run(source, elsewhere):
    """Keep the link and skip: the record still finds its meeting, so it is
    neither written to nor made again as a new meeting of the feed's body."""
    run_feed(source, [feed_record(n) for n in range(3)])
    moved("m1", elsewhere)
    for name in ("Renamed once", "Renamed twice"):
        run = run_feed(source, [feed_record(0), feed_record(1, name=name), feed_record(2)])
        assert (run.created, run.updated, run.unchanged, run.skipped) == (0, 0, 2, 1)
    assert Meeting.objects.count() == 3
    assert Meeting.objects.get(source_key="m1").name == "Meeting 1"


def test_a_moved_meeting_the_feed_had_removed_is_not_restored(source, elsewhere):
    records = [feed_record(n) for n in range(10)]
    run_feed(source, records)
    run_feed(source, records[1:])
    assert moved("m0", elsewhere).removed

    run = run_feed(source, records)

    assert (run.restored, run.skipped) == (0, 1)
    assert Meeting.objects.get(source_key="m0").removed


def test_a_record_without_a_slug_whose_meeting_moved_is_left_alone_and_not_made_again(source, elsewhere):
    """A record keyed on its content gets a new key when it changes; matched to
    its meeting by what they share, it is that meeting's record still."""
    def slugless(n: int, **fields) -> dict:
        record = feed_record(n, **fields)
        del record["slug"]
        return record

    run_feed(source, [slugless(n) for n in range(3)])
    meeting = Meeting.objects.get(name="Meeting 1")
    moved(meeting.source_key, elsewhere)

    run = run_feed(source, [slugless(0), slugless(1, time="19:30"), slugless(2)])

    meeting.refresh_from_db()
    assert (run.created, run.updated, run.removed, run.skipped) == (0, 0, 0, 1)
    assert (str(meeting.time), meeting.removed, Meeting.objects.count()) == ("19:00:00", False, 3)


def test_a_meeting_moved_to_a_body_below_the_feeds_is_still_the_feeds(source, directory):
    """As a curator of a body keeps the listings of the bodies below it."""
    run_feed(source, [feed_record(n) for n in range(3)])
    moved("m1", directory.aa_district)
    run = run_feed(source, [feed_record(0), feed_record(1, name="Renamed"), feed_record(2)])
    assert (run.updated, run.skipped) == (1, 0)
    assert Meeting.objects.get(source_key="m1").name == "Renamed"


def test_a_meeting_moved_back_takes_the_feed_again(source, elsewhere, directory):
    run_feed(source, [feed_record(n) for n in range(3)])
    moved("m1", elsewhere)
    run_feed(source, [feed_record(0), feed_record(1, name="Renamed"), feed_record(2)])
    moved("m1", directory.aa_office)

    run = run_feed(source, [feed_record(0), feed_record(1, name="Renamed"), feed_record(2)])

    assert (run.updated, run.skipped) == (1, 0)
    assert Meeting.objects.get(source_key="m1").name == "Renamed"


def test_a_meeting_moved_into_the_feeds_body_is_not_the_feeds(source, directory, elsewhere):
    """Moved in from another body's feed, or made by hand: this feed matches
    only its own records, so it never writes to such a meeting."""
    other_feed = make_source("la")
    other_feed.service_body = elsewhere
    other_feed.save()
    run_feed(other_feed, [feed_record(7, name="From LA")])
    moved("m7", directory.aa_office)

    run = run_feed(source, [feed_record(7, name="Same key here")])

    assert run.created == 1
    came_in = Meeting.objects.get(source=other_feed.meeting_source)
    assert (came_in.name, came_in.service_body) == ("From LA", directory.aa_office)
    assert run_feed(other_feed, [feed_record(7, name="Renamed in LA")]).skipped == 1
    assert Meeting.objects.get(pk=came_in.pk).name == "From LA"


def test_a_feed_source_given_to_another_body_leaves_its_old_bodys_meetings_alone(source, elsewhere):
    """The meetings are the old body's listings until someone moves them:
    the source's new curators could not reach them in the admin either."""
    run_feed(source, [feed_record(n) for n in range(2)])
    source.service_body = elsewhere
    source.save()

    run = run_feed(source, [feed_record(0, name="Renamed"), feed_record(2)])

    assert (run.created, run.updated, run.removed, run.skipped) == (1, 0, 0, 1)
    assert Meeting.objects.get(source_key="m0").name == "Meeting 0"
    assert not Meeting.objects.get(source_key="m1").removed
    assert Meeting.objects.get(source_key="m2").service_body == elsewhere


def test_the_command_lists_the_records_left_alone(source, elsewhere, tmp_path, capsys):
    path = tmp_path / "feed.json"
    path.write_text(json.dumps([feed_record(n) for n in range(3)]))
    source.url = str(path)
    source.save()
    call_command("import_feed", source.slug)
    moved("m1", elsewhere)
    capsys.readouterr()

    call_command("import_feed", source.slug)

    out = capsys.readouterr().out
    assert "unchanged 2, removed 0, rejected 0, skipped 1" in out
    assert "skipped m1: left alone: its meeting (m1) now belongs to LA Central Office" in out
