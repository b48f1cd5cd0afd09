"""The curators' admin in Spanish: model names, field labels, actions,
messages, the change-request review and the history, picked from the
browser's Accept-Language as on the public pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from meetings.change_requests import change_request_submit
from tests.factories import change_url, make_meeting, message_texts

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
