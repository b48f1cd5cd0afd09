"""The curators' admin in Spanish: model names, field labels, actions,
messages, the change-request review and the history, picked from the
browser's Accept-Language as on the public pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fellowships.models import MeetingType, ServiceBody
from meetings.change_requests import change_request_approve, change_request_submit
from meetings.models import Location
from tests.factories import change_url, location_form_data, make_meeting, meeting_form_data, message_texts

SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es"}
MEETING_CHANGELIST = reverse("admin:meetings_meeting_changelist")


@pytest.fixture
def hall_meeting(directory):
    return make_meeting(name="Tuesday Hall", service_body=directory.aa_office, day=2, published=False)


@pytest.mark.django_db
class TestMeetingsInSpanish:
    def test_the_changelist_title_columns_filters_and_actions(self, aa_client, hall_meeting):
        html = aa_client.get(MEETING_CHANGELIST, **SPANISH).content.decode()
        assert "<h1>Seleccione reunión a modificar</h1>" in html
        assert ">Publicar las reuniones seleccionadas</option>" in html
        assert ">Devolver los campos curados a la fuente</option>" in html
        assert ">Ciudad</a>" in html and "Por requiere atención" in html
        assert "Sin coordenadas" in html  # a data-quality rule, as a filter choice

    def test_the_same_page_stays_english_without_asking(self, aa_client, hall_meeting):
        html = aa_client.get(MEETING_CHANGELIST).content.decode()
        assert "<h1>Select meeting to change</h1>" in html and ">Publish selected meetings</option>" in html

    def test_an_action_answers_in_spanish(self, aa_client, hall_meeting):
        response = aa_client.post(MEETING_CHANGELIST, {"action": "publish", "_selected_action": [hall_meeting.pk]},
                                  follow=True, **SPANISH)
        assert "1 reunión publicada." in message_texts(response)

    def test_the_change_form_labels_fieldsets_and_choices(self, aa_client, hall_meeting):
        html = aa_client.get(change_url(hall_meeting), **SPANISH).content.decode()
        assert "Modificar reunión" in html
        assert ">Horario</h2>" in html and ">Procedencia</h2>" in html
        assert '<label for="id_end_time">Hora de fin:</label>' in html
        assert '<option value="2" selected>martes</option>' in html
        assert "Las coordenadas se copian del lugar" in html

    def test_the_history_page(self, aa_client, hall_meeting):
        url = reverse("admin:meetings_meeting_history", args=[hall_meeting.pk])
        html = aa_client.get(url, **SPANISH).content.decode()
        assert '<th scope="col">Cambiado por</th>' in html and '<th scope="col">Revertir</th>' in html


@pytest.mark.django_db
def test_the_change_request_review_in_spanish(aa_client, hall_meeting):
    request = change_request_submit(meeting=hall_meeting, description="It moved to Wednesday.", proposed={"day": 3})
    changelist = aa_client.get(reverse("admin:meetings_changerequest_changelist"), **SPANISH).content.decode()
    assert "<h1>Seleccione solicitud de cambio a modificar</h1>" in changelist
    assert ">Aprobar las solicitudes seleccionadas (aplicar sus valores)</option>" in changelist
    review = aa_client.get(change_url(request), **SPANISH).content.decode()
    assert 'value="Aprobar y aplicar"' in review and "<th>propuesto</th>" in review


@pytest.mark.django_db
class TestRefusalsInSpanish:
    """What the admin refuses, and why, in the curator's language."""

    def test_the_meeting_form(self, aa_client, hall_meeting, admin_client, directory):
        na_closed = MeetingType.objects.get(fellowship__slug="na", code="CLOSED")
        response = aa_client.post(change_url(hall_meeting), meeting_form_data(
            hall_meeting, timezone="Mars/Base", types=[na_closed.pk]), **SPANISH)
        errors = response.context["adminform"].form.errors
        assert errors["timezone"] == ["'Mars/Base' no es un nombre de zona horaria IANA; use uno como "
                                      "America/Los_Angeles."]
        assert errors["types"] == ["Estos tipos son de una comunidad distinta de Alcoholics Anonymous: NA CLOSED."]
        response = admin_client.post(change_url(hall_meeting), meeting_form_data(
            hall_meeting, service_body=directory.na_area.pk), **SPANISH)
        assert response.context["adminform"].form.errors["service_body"] == [
            "OC NA Area lleva reuniones de Narcotics Anonymous, no de Alcoholics Anonymous."]
        html = aa_client.get(change_url(hall_meeting), **SPANISH).content.decode()
        assert "Solo tipos de la comunidad de la reunión." in html

    def test_the_location_form(self, admin_client, hall_meeting):
        location = hall_meeting.location
        response = admin_client.post(change_url(location), location_form_data(
            location, latitude="95", longitude="-200"), **SPANISH)
        errors = response.context["adminform"].form.errors
        assert errors["latitude"] == ["La latitud debe estar entre -90 y 90."]
        assert errors["longitude"] == ["La longitud debe estar entre -180 y 180."]
        response = admin_client.post(change_url(location), location_form_data(location, longitude=""), **SPANISH)
        assert response.context["adminform"].form.non_field_errors() == [
            "Escriba la latitud y la longitud para colocar el lugar a mano, o borre ambas para geocodificar su "
            "dirección."]
        assert Location.objects.get(pk=location.pk).longitude == location.longitude

    def test_the_service_body_form(self, admin_client, directory):
        office = directory.aa_office
        response = admin_client.post(change_url(office), {
            "name": office.name, "slug": office.slug, "fellowship": office.fellowship_id,
            "parent": directory.aa_district.pk, "timezone": "Pacific", "default_language": "en"}, **SPANISH)
        errors = response.context["adminform"].form.errors
        assert errors["parent"] == [
            "Una entidad de servicio no puede depender de sí misma ni de una de las que dependen de ella."]
        assert errors["timezone"] == [
            "'Pacific' no es un nombre de zona horaria IANA; use uno como America/Los_Angeles."]
        assert ServiceBody.objects.get(pk=office.pk).parent is None

    def test_reverting_the_same_change_twice(self, aa_client, hall_meeting):
        aa_client.post(change_url(hall_meeting), meeting_form_data(hall_meeting, name="Wrong Name"))
        record = hall_meeting.history.order_by("-history_id").first()
        url = reverse("admin:meetings_meeting_revert", args=[hall_meeting.pk, record.history_id])
        assert f"Cambio {record.history_id} revertido." in message_texts(aa_client.post(url, follow=True, **SPANISH))
        assert message_texts(aa_client.post(url, follow=True, **SPANISH)) == [
            "Nada que revertir: cada campo que cambió es deducido o de control interno, o ya tiene el valor "
            "de antes del cambio."]

    def test_releasing_a_field_that_is_not_curated(self, aa_client, hall_meeting):
        url = reverse("admin:meetings_meeting_release_lock", args=[hall_meeting.pk, "name"])
        response = aa_client.post(url, follow=True, **SPANISH)
        assert message_texts(response) == [f"'name' no es un campo curado de {hall_meeting.slug}"]
        page = aa_client.get(url, **SPANISH).content.decode()
        assert f"Nombre no es un campo curado de {hall_meeting.name}: sigue a la fuente." in page

    def test_rejecting_without_a_reason_and_deciding_twice(self, aa_client, hall_meeting, directory):
        request = change_request_submit(meeting=hall_meeting, description="It moved to Wednesday.", proposed={"day": 3})
        response = aa_client.post(change_url(request), {"decision_note": "", "_reject": "1"}, follow=True, **SPANISH)
        assert "Diga por qué se rechaza la solicitud." in message_texts(response)
        change_request_approve(change_request=request, user=directory.aa_curator)
        response = aa_client.post(change_url(request), {"decision_note": "A duplicate.", "_reject": "1"}, follow=True,
                                  **SPANISH)
        assert f"La solicitud {request.pk} ya estaba aprobada." in message_texts(response)
