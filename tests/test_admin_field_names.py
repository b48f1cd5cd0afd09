"""The admin names a meeting's fields as its form does ("conference URL",
"enlace de la videoconferencia"), never by their columns ("conference_url"):
in the curated fields and their release, the change-request review and
the revert of a change, in the curator's language."""

from __future__ import annotations

import pytest
from django.urls import reverse

from meetings.change_requests import change_request_submit
from meetings.models import Meeting
from tests.factories import (change_url, feed_record, make_meeting, make_source, meeting_form_data, message_texts,
                             run_feed)

SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es"}


@pytest.fixture
def imported(directory):
    """A meeting imported into the AA curator's office."""
    source = make_source(service_body=directory.aa_office)
    run_feed(source, [feed_record(1)])
    return Meeting.objects.get(source_key="m1")


@pytest.mark.django_db
def test_the_curated_fields_and_their_release_name_each_field(aa_client, imported):
    aa_client.post(change_url(imported), meeting_form_data(imported, conference_url="https://zoom.us/j/123456789",
                                                           time="19:30"))
    imported.refresh_from_db()
    assert sorted(imported.locked_fields) == ["conference_url", "time"]
    form = aa_client.get(change_url(imported)).content.decode()
    assert "<td>Conference URL</td>" in form and "<td>Time</td>" in form
    assert "<td>conference_url</td>" not in form
    spanish_form = aa_client.get(change_url(imported), **SPANISH).content.decode()
    assert "<td>Enlace de la videoconferencia</td>" in spanish_form and "<td>Hora</td>" in spanish_form

    url = reverse("admin:meetings_meeting_release_lock", args=[imported.pk, "conference_url"])
    page = aa_client.get(url, **SPANISH).content.decode()
    assert f"Liberar enlace de la videoconferencia de {imported.name}" in page
    assert "Enlace de la videoconferencia es un campo curado" in page and "conference_url" not in page
    response = aa_client.post(url, follow=True, **SPANISH)
    assert message_texts(response) == ["Enlace de la videoconferencia vuelve a seguir a la fuente."]


@pytest.mark.django_db
def test_the_change_request_review_names_the_proposed_fields(aa_client, directory):
    meeting = make_meeting(name="Tuesday Hall", service_body=directory.aa_office)
    request = change_request_submit(meeting=meeting, description="New time and link.", proposed={
        "time": "20:00", "conference_url": "https://zoom.us/j/987654321", "location_name": "St. Mark's Hall"})
    review = aa_client.get(change_url(request)).content.decode()
    assert "<td>Time</td>" in review and "<td>Conference URL</td>" in review
    assert "<td>Name of the place</td>" in review
    assert "<td>conference_url</td>" not in review and "<td>location_name</td>" not in review
    spanish = aa_client.get(change_url(request), **SPANISH).content.decode()
    assert "<td>Enlace de la videoconferencia</td>" in spanish and "<td>Nombre del lugar</td>" in spanish


@pytest.mark.django_db
def test_the_revert_page_names_the_fields_it_sets_back(aa_client, directory):
    meeting = make_meeting(name="Tuesday Hall", service_body=directory.aa_office)
    aa_client.post(change_url(meeting), meeting_form_data(meeting, conference_url="https://zoom.us/j/123456789"))
    record = meeting.history.order_by("-history_id").first()
    url = reverse("admin:meetings_meeting_revert", args=[meeting.pk, record.history_id])
    page = aa_client.get(url).content.decode()
    assert "<td>Conference URL</td>" in page and "<td>conference_url</td>" not in page
    assert "Left as they are: attendance, conference provider (" in page and "conference_provider" not in page
    spanish = aa_client.get(url, **SPANISH).content.decode()
    assert "<td>Enlace de la videoconferencia</td>" in spanish
    assert "Quedan como están: asistencia, servicio de videoconferencia" in spanish


@pytest.mark.django_db
def test_releasing_a_field_a_meeting_cannot_have_curated_is_not_found(aa_client, imported):
    url = reverse("admin:meetings_meeting_release_lock", args=[imported.pk, "no_such_field"])
    assert aa_client.get(url).status_code == 404
    assert aa_client.post(url).status_code == 404
