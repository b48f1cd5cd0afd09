"""Curated fields in the Meeting admin: editing an imported meeting locks
the edited fields, the feed's value is shown beside them, a lock can be
released (a link to a confirmation page, or the bulk action)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from meetings.models import Meeting
from tests.factories import change_url, feed_record, make_source, meeting_form_data, message_texts, run_feed


@pytest.fixture
def imported(directory):
    source = make_source(service_body=directory.aa_office)
    run_feed(source, [feed_record(1), feed_record(2)])
    return directory, source


@pytest.fixture
def aa_client(aa_client, imported):
    """The AA curator, with two meetings imported into their office."""
    return aa_client


def test_an_admin_edit_locks_the_edited_fields_and_shows_the_feeds_value(aa_client, imported):
    _, source = imported
    Meeting.objects.update(service_body=imported[0].aa_office)
    meeting = Meeting.objects.get(source_key="m1")
    response = aa_client.post(change_url(meeting), meeting_form_data(meeting, name="Monday Night Big Book"))
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.locked_fields == ["name"]
    page = aa_client.get(change_url(meeting)).content.decode()
    assert "Meeting 1" in page and "Release" in page
    run_feed(source, [feed_record(1, name="Feed Name", notes="from feed"), feed_record(2)])
    meeting.refresh_from_db()
    assert (meeting.name, meeting.notes, meeting.feed_values["name"]) == ("Monday Night Big Book", "from feed",
                                                                         "Feed Name")


def test_release_link_gives_the_field_back_to_the_feed(aa_client, imported):
    Meeting.objects.update(service_body=imported[0].aa_office)
    meeting = Meeting.objects.get(source_key="m1")
    aa_client.post(change_url(meeting), meeting_form_data(meeting, name="Curated"))
    url = reverse("admin:meetings_meeting_release_lock", args=[meeting.pk, "name"])
    page = aa_client.get(change_url(meeting)).content.decode()
    # A link to a page that asks first: a button submitting the change form
    # there would throw away whatever the curator had typed and not saved.
    assert f'formaction="{url}"' not in page and 'name="_release_lock"' not in page
    assert f'<a class="button" href="{url}">Release</a>' in page
    response = aa_client.post(url, follow=True)
    assert response.redirect_chain == [(change_url(meeting), 302)]
    assert message_texts(response) == ["Name follows the feed again."]
    meeting.refresh_from_db()
    assert (meeting.name, meeting.locked_fields) == ("Meeting 1", [])


def test_the_release_page_names_the_field_and_the_feeds_value_and_changes_nothing(aa_client, imported):
    Meeting.objects.update(service_body=imported[0].aa_office)
    meeting = Meeting.objects.get(source_key="m1")
    aa_client.post(change_url(meeting), meeting_form_data(meeting, name="Curated", notes="Curated notes"))
    meeting.refresh_from_db()
    history_before = meeting.history.count()
    response = aa_client.get(reverse("admin:meetings_meeting_release_lock", args=[meeting.pk, "name"]))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="site-name"' in page  # the admin's own page
    assert ("Name is curated on Curated: imports leave it alone. Released, it takes the feed's value, "
            "Meeting 1, and follows the feed again.") in page
    assert '<form method="post">' in page and 'name="csrfmiddlewaretoken"' in page
    assert f'href="{change_url(meeting)}"' in page  # cancel: back to the change form
    meeting.refresh_from_db()
    assert (meeting.name, sorted(meeting.locked_fields), meeting.history.count()) == (
        "Curated", ["name", "notes"], history_before)


def test_the_release_page_of_a_field_not_curated(aa_client, imported):
    Meeting.objects.update(service_body=imported[0].aa_office)
    meeting = Meeting.objects.get(source_key="m1")
    page = aa_client.get(reverse("admin:meetings_meeting_release_lock", args=[meeting.pk, "name"])).content.decode()
    assert "Name is not curated on Meeting 1: it follows the feed." in page
    assert "<form" not in page.split('id="content"')[1]


def test_release_action_and_scope(aa_client, imported, client):
    Meeting.objects.update(service_body=imported[0].aa_office)
    first, second = Meeting.objects.order_by("source_key")
    for meeting in (first, second):
        aa_client.post(change_url(meeting), meeting_form_data(meeting, name=f"Curated {meeting.pk}"))
    aa_client.post(reverse("admin:meetings_meeting_changelist"),
                   {"action": "release_curated_fields", "_selected_action": [first.pk]})
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.name, first.locked_fields) == ("Meeting 1", [])
    assert second.locked_fields == ["name"]
    # Another body's curator cannot release it.
    client.force_login(imported[0].na_curator)
    url = reverse("admin:meetings_meeting_release_lock", args=[second.pk, "name"])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    second.refresh_from_db()
    assert second.locked_fields == ["name"]


@pytest.mark.parametrize("edit, feed", [
    ({"day": 3}, {"day": None, "time": None}),
    ({"day": 3}, {"time": None}),
    ({"time": "20:00"}, {"day": None, "time": None}),
])
def test_a_curated_day_or_time_keeps_its_partner_when_the_feed_drops_the_schedule(aa_client, imported, edit, feed):
    """A curated day (or time) beside the feed's by appointment left half a schedule: a day without a
    time, published three ways. The curator's schedule holds whole."""
    _, source = imported
    Meeting.objects.update(service_body=imported[0].aa_office)
    meeting = Meeting.objects.get(source_key="m1")
    assert aa_client.post(change_url(meeting), meeting_form_data(meeting, **edit)).status_code == 302
    meeting.refresh_from_db()
    curated = (meeting.day, meeting.time)
    run_feed(source, [feed_record(1, **feed), feed_record(2)])
    meeting.refresh_from_db()
    assert (meeting.day, meeting.time) == curated


@pytest.mark.parametrize("edit", [{"day": 3}, {"time": "20:00"}, {"day": 3, "time": "20:00"}])
@pytest.mark.parametrize("how", ["page", "action"])
def test_releasing_half_a_curated_schedule_gives_the_feed_its_whole_schedule(aa_client, imported, edit, how):
    """The feed dropped the schedule while the curator's held whole; giving
    back its day (or time) alone left a time without a day (or a day without
    a time). The feed's schedule comes back whole (`schedule.is_schedule`)."""
    _, source = imported
    Meeting.objects.update(service_body=imported[0].aa_office)
    meeting = Meeting.objects.get(source_key="m1")
    aa_client.post(change_url(meeting), meeting_form_data(meeting, **edit))
    run_feed(source, [feed_record(1, day=None, time=None), feed_record(2)])
    meeting.refresh_from_db()
    assert meeting.day is not None and meeting.time is not None
    if how == "page":
        field = sorted(meeting.locked_fields)[0]
        aa_client.post(reverse("admin:meetings_meeting_release_lock", args=[meeting.pk, field]))
    else:
        aa_client.post(reverse("admin:meetings_meeting_changelist"),
                       {"action": "release_curated_fields", "_selected_action": [meeting.pk]})
    meeting.refresh_from_db()
    assert (meeting.day, meeting.time, meeting.locked_fields) == (None, None, [])


def test_the_release_page_says_when_the_other_half_of_the_schedule_goes_back_too(aa_client, imported):
    """Releasing a curated day beside the feed's dropped schedule gives back
    the time too (`services.meeting_release_lock`): the page says so before,
    from the same rule, and changes nothing; a lone field's page names it alone."""
    _, source = imported
    Meeting.objects.update(service_body=imported[0].aa_office)
    meeting = Meeting.objects.get(source_key="m1")
    aa_client.post(change_url(meeting), meeting_form_data(meeting, day=3, name="Curated"))
    run_feed(source, [feed_record(1, day=None, time=None), feed_record(2)])
    meeting.refresh_from_db()
    assert sorted(meeting.locked_fields) == ["day", "name"] and meeting.time is not None
    page = aa_client.get(reverse("admin:meetings_meeting_release_lock", args=[meeting.pk, "day"])).content.decode()
    assert "With it, time goes back to the feed too: a day without a time is no schedule." in page
    name_page = aa_client.get(reverse("admin:meetings_meeting_release_lock", args=[meeting.pk, "name"]))
    assert "goes back to the feed too" not in name_page.content.decode()
    meeting.refresh_from_db()
    assert sorted(meeting.locked_fields) == ["day", "name"] and meeting.day == 3


def test_the_release_page_in_spanish(aa_client, imported):
    Meeting.objects.update(service_body=imported[0].aa_office)
    meeting = Meeting.objects.get(source_key="m1")
    aa_client.post(change_url(meeting), meeting_form_data(meeting, name="Curated"))
    page = aa_client.get(reverse("admin:meetings_meeting_release_lock", args=[meeting.pk, "name"]),
                         HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "<title>Liberar nombre de Curated" in page
    assert ("Nombre es un campo curado de Curated: las importaciones no lo cambian. Si lo libera, toma el valor "
            "de la fuente, Meeting 1, y vuelve a seguir a la fuente.") in page
    assert 'value="Liberar"' in page
