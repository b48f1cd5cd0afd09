"""History: every change to a meeting or location is recorded with what
made it, by the admin, the services, bulk actions and imports; a change can
be reverted from the admin."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from meetings.history import RevertError, history_revert, record_attribution, record_diff
from meetings.models import Location, Meeting
from tests.curation_setup import aa_meeting
from tests.test_curation import aa_client, directory, offline_geocoder  # noqa: F401  (shared fixtures)
from tests.test_admin import change_url, location_form_data, meeting_form_data
from tests.test_import_importer import feed_record, make_source, run_feed

MEETINGS = reverse("admin:meetings_meeting_changelist")


def latest_change(obj):
    record = obj.history.order_by("-history_date", "-history_id").first()
    return record, record_diff(record, record.prev_record)


def test_an_admin_edit_is_recorded_with_the_user_and_old_and_new_values(aa_client, directory):
    meeting = aa_meeting(directory, "Serenity Group", types=("O",))
    assert meeting.history.count() == 1
    o_d = [t.pk for t in meeting.fellowship.types.filter(code__in=["O", "D"])]
    response = aa_client.post(change_url(meeting), meeting_form_data(meeting, name="Serenity Step Study",
                                                                        types=o_d))
    assert response.status_code == 302
    record, diff = latest_change(Meeting.objects.get(pk=meeting.pk))
    assert record.history_user == directory.aa_curator
    assert record_attribution(record).kind == "user"
    assert diff["name"] == {"old": "Serenity Group", "new": "Serenity Step Study"}
    assert diff["types"] == {"old": ["O"], "new": ["D", "O"]}
    assert "slug" not in diff


def test_bulk_unpublish_is_recorded_for_each_meeting(aa_client, directory):
    first, second = aa_meeting(directory, "First"), aa_meeting(directory, "Second")
    aa_client.post(MEETINGS, {"action": "unpublish", "_selected_action": [first.pk, second.pk]})
    for meeting in (first, second):
        record, diff = latest_change(meeting)
        assert diff == {"published": {"old": True, "new": False}}
        assert record.history_user == directory.aa_curator


def test_imports_are_recorded_in_bulk_and_attributed_to_the_run(vocabularies):
    source = make_source()
    run = run_feed(source, [feed_record(1), feed_record(2)])
    meeting = Meeting.objects.get(source_key="m1")
    created = meeting.history.get()
    assert (created.history_type, created.import_run_id, created.type_codes) == ("+", run.pk, ["D", "O"])
    assert Location.history.filter(import_run_id=run.pk, history_type="+").count() == 2
    second = run_feed(source, [feed_record(1, name="Renamed", types=["C"]), feed_record(2)])
    record, diff = latest_change(meeting)
    assert record.import_run_id == second.pk and record_attribution(record).kind == "import"
    assert diff["name"] == {"old": "Meeting 1", "new": "Renamed"}
    assert diff["types"] == {"old": ["D", "O"], "new": ["C"]}
    # Gone from the feed: the removal is a change too.
    third = run_feed(source, [feed_record(1, name="Renamed", types=["C"])], allow_shrink=True)
    record, diff = latest_change(Meeting.objects.get(source_key="m2"))
    assert record.import_run_id == third.pk and diff["removed"] == {"old": False, "new": True}


def test_an_unchanged_reimport_records_nothing(vocabularies):
    source = make_source()
    run_feed(source, [feed_record(1)])
    before = Meeting.history.count()
    run_feed(source, [feed_record(1)])
    assert Meeting.history.count() == before


def test_revert_from_the_admin_restores_the_old_values(aa_client, directory):
    meeting = aa_meeting(directory, "Serenity Group", notes="Side door")
    aa_client.post(change_url(meeting), meeting_form_data(meeting, name="Wrong Name", notes="Front door"))
    record, _ = latest_change(meeting)
    url = reverse("admin:meetings_meeting_revert", args=[meeting.pk, record.history_id])
    page = aa_client.get(url)
    assert page.status_code == 200 and b"Wrong Name" in page.content
    response = aa_client.post(url)
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert (meeting.name, meeting.notes) == ("Serenity Group", "Side door")
    revert, diff = latest_change(meeting)
    assert revert.history_user == directory.aa_curator
    assert revert.history_change_reason == f"revert of change {record.history_id}"
    assert diff["name"] == {"old": "Wrong Name", "new": "Serenity Group"}
    history_page = aa_client.get(reverse("admin:meetings_meeting_history", args=[meeting.pk]))
    assert history_page.status_code == 200 and b"revert of change" in history_page.content


def test_reverting_an_import_change_curates_the_field(vocabularies):
    source = make_source()
    run_feed(source, [feed_record(1)])
    run_feed(source, [feed_record(1, time="20:30")])
    meeting = Meeting.objects.get(source_key="m1")
    record, _ = latest_change(meeting)
    history_revert(record=record)
    meeting.refresh_from_db()
    assert meeting.time.strftime("%H:%M") == "19:00" and "time" in meeting.locked_fields
    run_feed(source, [feed_record(1, time="20:30", notes="new note")])
    meeting.refresh_from_db()
    assert meeting.time.strftime("%H:%M") == "19:00" and meeting.notes == "new note"


def test_reverting_a_pin_move_puts_the_pin_back(aa_client, directory):
    meeting = aa_meeting(directory)
    location = meeting.location
    aa_client.post(change_url(location), location_form_data(location, latitude=33.7, longitude=-117.9))
    record, diff = latest_change(Location.objects.get(pk=location.pk))
    assert diff["latitude"] == {"old": 33.6846, "new": 33.7}
    history_revert(record=record, user=directory.aa_curator)
    meeting.refresh_from_db()
    assert (meeting.latitude, meeting.longitude) == (33.6846, -117.8265)


def test_a_creation_cannot_be_reverted(directory):
    meeting = aa_meeting(directory)
    with pytest.raises(RevertError):
        history_revert(record=meeting.history.get())


def test_superuser_sees_any_history(client, directory):
    boss = get_user_model().objects.create_superuser("boss", "boss@example.org", "not-a-real-password")
    client.force_login(boss)
    meeting = aa_meeting(directory)
    assert client.get(reverse("admin:meetings_meeting_history", args=[meeting.pk])).status_code == 200
