"""The curators' admin in Spanish: model names, field labels, actions,
messages, the change-request review and the history, picked from the
browser's Accept-Language as on the public pages."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse
from django.utils import translation

from fellowships.models import MeetingType, ServiceBody
from meetings.change_requests import change_request_approve, change_request_submit
from meetings.models import FeedSource, Location, Meeting
from tests.factories import (LocationFactory, aa_meeting, change_url, feed_record, location_form_data, make_meeting,
                             meeting_form_data, message_texts, run_feed)

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


def page_text(fragment: str) -> str:
    """What a reader reads of an HTML fragment: tags dropped, spaces folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def history_cells(page: str) -> dict[str, list[str]]:
    """The history table's changes (one "Field: old → new" a line), actions
    and attributions, as read."""
    table = re.search(r'<table id="change-history".*?</table>', page, re.S).group(0)
    rows = [re.findall(r"<td>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]
    return {"action": [page_text(row[1]) for row in rows], "made_by": [page_text(row[2]) for row in rows],
            "changes": [page_text(item) for item in re.findall(r"<li>(.*?)</li>", table, re.S)]}


@pytest.fixture
def edited_meeting(aa_client, directory):
    """A meeting the AA curator moved to another day, time and hall, published, and gave one more type."""
    # Each hall keeps another of the curator's meetings, so a revert may take the meeting back.
    first_hall = aa_meeting(directory, "Monday Group", location=LocationFactory(name="Tuesday Hall")).location
    hall = aa_meeting(directory, "Wednesday Group", location=LocationFactory(name="Wednesday Hall")).location
    meeting = make_meeting(name="Tuesday Hall", service_body=directory.aa_office, published=False, types=("O",),
                           location=first_hall)
    o_d = [t.pk for t in meeting.fellowship.types.filter(code__in=["O", "D"])]
    response = aa_client.post(change_url(meeting), meeting_form_data(
        meeting, day=3, time="20:30", published="on", location=hall.pk, types=o_d))
    assert response.status_code == 302
    return Meeting.objects.get(pk=meeting.pk)


@pytest.mark.django_db
class TestHistoryInSpanish:
    """The history pages (simple-history's, with the project's columns) read
    whole in the curator's language: titles, actions, who made a change and
    what it changed, as the curator reads those fields elsewhere."""

    def test_the_history_page(self, aa_client, edited_meeting):
        url = reverse("admin:meetings_meeting_history", args=[edited_meeting.pk])
        page = aa_client.get(url, **SPANISH).content.decode()
        assert "<h1>Historial de Tuesday Hall</h1>" in page and "View history" not in page
        cells = history_cells(page)
        assert cells["action"] == ["Modificación", "Creación"]
        assert cells["made_by"] == ["aa-volunteer", "sistema"]
        changes = cells["changes"]
        assert {"Día: martes → miércoles", "Hora: 19:00 → 20:30", "Publicada: No → Sí", "Tipos: O → D O"} <= set(changes)
        assert f"Lugar: {Location.objects.get(name='Tuesday Hall')} → {edited_meeting.location}" in changes
        assert not [change for change in changes if change.startswith(("Actualizada", "Id"))]

    def test_the_same_page_in_english(self, aa_client, edited_meeting):
        page = aa_client.get(reverse("admin:meetings_meeting_history", args=[edited_meeting.pk])).content.decode()
        assert "<h1>History of Tuesday Hall</h1>" in page
        cells = history_cells(page)
        assert cells["action"] == ["Changed", "Created"] and cells["made_by"] == ["aa-volunteer", "system"]
        assert {"Day: Tuesday → Wednesday", "Time: 19:00 → 20:30", "Published: No → Yes",
                "Types: O → D O"} <= set(cells["changes"])

    def test_the_revert_page(self, aa_client, edited_meeting):
        record = edited_meeting.history.order_by("-history_id").first()
        url = reverse("admin:meetings_meeting_revert", args=[edited_meeting.pk, record.history_id])
        page = aa_client.get(url, **SPANISH).content.decode()
        assert "hecho por aa-volunteer." in page_text(page)
        table = re.search(r'<table id="revert-changes">.*?</table>', page, re.S).group(0)
        rows = {page_text(cells[0]): (page_text(cells[1]), page_text(cells[2])) for cells in (
            re.findall(r"<td>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:])}
        assert rows["Día"] == ("miércoles", "martes") and rows["Hora"] == ("20:30", "19:00")
        assert rows["Publicada"] == ("Sí", "No") and rows["Tipos"] == ("D O", "O")
        assert rows["Lugar"] == (str(edited_meeting.location), str(Location.objects.get(name="Tuesday Hall")))
        english = page_text(aa_client.get(url).content.decode())
        assert "made by aa-volunteer." in english

    def test_a_recorded_version(self, aa_client, edited_meeting):
        record = edited_meeting.history.order_by("history_id").first()
        url = reverse("admin:meetings_meeting_simple_history", args=[edited_meeting.pk, record.history_id])
        page = aa_client.get(url, **SPANISH).content.decode()
        assert "<h1>Una versión guardada de Tuesday Hall</h1>" in page
        crumbs = page_text(re.search(r'<div class="breadcrumbs">.*?</div>', page, re.S).group(0))
        assert crumbs == "Inicio › Reuniones › Tuesday Hall › Historial › Versión guardada"
        assert "aquí no se guarda nada" in page_text(page)
        english = aa_client.get(url).content.decode()
        assert "<h1>A recorded version of Tuesday Hall</h1>" in english
        crumbs = page_text(re.search(r'<div class="breadcrumbs">.*?</div>', english, re.S).group(0))
        assert crumbs == "Home › Meetings › Tuesday Hall › History › Recorded version"


@pytest.mark.django_db
def test_the_change_request_review_in_spanish(aa_client, hall_meeting):
    request = change_request_submit(meeting=hall_meeting, description="It moved to Wednesday.", proposed={"day": 3})
    changelist = aa_client.get(reverse("admin:meetings_changerequest_changelist"), **SPANISH).content.decode()
    assert "<h1>Seleccione solicitud de cambio a modificar</h1>" in changelist
    assert ">Aprobar las solicitudes seleccionadas (aplicar sus valores)</option>" in changelist
    review = aa_client.get(change_url(request), **SPANISH).content.decode()
    assert 'value="Aprobar y aplicar"' in review and "<th>propuesto</th>" in review
    # Its name (the list's first column, on a phone the only one in view; the title, the breadcrumbs) too.
    named = f"Solicitud {request.pk} (Tuesday Hall, pendiente)"
    assert f'">{named}</a></th>' in changelist and f"<h2>{named}</h2>" in review and "Request" not in review
    with translation.override("en"):
        assert str(request) == f"Request {request.pk} (Tuesday Hall, pending)"


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


def column_heads(page: str) -> list[str]:
    return [page_text(head) for head in re.findall(r'<th scope="col" class="[^"]*column-[^"]*">(.*?)</th>', page, re.S)]


@pytest.mark.django_db
class TestHeadingsInSpanish:
    """What heads the admin's pages and counts, walked as the AA office's
    curator in Spanish and in English."""

    def test_the_apps_on_the_home_page(self, aa_client):
        for headers, names in ((SPANISH, {"Comunidades", "Reuniones"}), ({}, {"Fellowships", "Meetings"})):
            response = aa_client.get(reverse("admin:index"), **headers)
            assert {app["name"] for app in response.context["app_list"]} == names
        page = aa_client.get(reverse("admin:app_list", args=["meetings"]), **SPANISH).content.decode()
        assert "<title>Administración de Reuniones " in page

    def test_the_meeting_forms_types(self, aa_client, hall_meeting):
        assert '<label for="id_types">Tipos:</label>' in aa_client.get(change_url(hall_meeting), **SPANISH).content.decode()
        assert '<label for="id_types">Types:</label>' in aa_client.get(change_url(hall_meeting)).content.decode()

    def test_an_import_runs_counts_and_status(self, aa_client, directory):
        source = FeedSource.objects.create(slug="oc-aa", name="OC AA feed", fellowship=directory.aa_office.fellowship,
                                           service_body=directory.aa_office)
        run = run_feed(source, [feed_record(n) for n in range(2)])
        runs = aa_client.get(reverse("admin:meetings_importrun_changelist"), **SPANISH).content.decode()
        # Counts of meetings: plural, not a meeting's own "Creada" (its date) or "Retirada" (its flag).
        assert column_heads(runs)[:6] == ["Fuente", "Inicio", "Estado", "Creadas", "Actualizadas", "Sin cambios"]
        assert column_heads(runs)[6] == "Retiradas"
        english = aa_client.get(reverse("admin:meetings_importrun_changelist")).content.decode()
        assert column_heads(english)[3:7] == ["Created", "Updated", "Unchanged", "Removed"]
        page = aa_client.get(change_url(run), **SPANISH).content.decode()
        assert f"<h2>OC AA feed {run.started:%Y-%m-%d %H:%M} Correcta</h2>" in page
        assert "<label>Creadas:</label>" in page and "succeeded" not in page
        sources = aa_client.get(reverse("admin:meetings_feedsource_changelist"), **SPANISH).content.decode()
        assert '<td class="field-last_status">Correcta</td>' in sources
        assert '<a href="?last_status__exact=succeeded">Correcta</a>' in sources  # the list filter
        english = aa_client.get(reverse("admin:meetings_feedsource_changelist")).content.decode()
        assert '<td class="field-last_status">Succeeded</td>' in english

    def test_a_page_to_view_only(self, aa_client, directory):
        page = aa_client.get(change_url(directory.aa_office), **SPANISH).content.decode()
        assert "<h1>Ver entidad de servicio</h1>" in page

    def test_select_all_across_pages(self, aa_client, hall_meeting, directory, monkeypatch):
        from django.contrib import admin

        make_meeting(name="Wednesday Hall", service_body=directory.aa_office, day=3)
        monkeypatch.setattr(admin.site._registry[Meeting], "list_per_page", 1)
        page = aa_client.get(MEETING_CHANGELIST, **SPANISH).content.decode()
        # Django's "todos los 2 reuniones" gives a feminine noun a masculine article.
        assert ">Seleccionar todo (2 reuniones)</a>" in page


def test_a_service_bodys_default_language_is_chosen_by_its_name(admin_client, directory):
    """It was a box holding the code "en" in any language; a mistyped code
    ("sp") was stored, and the body's meetings said they were held in it."""
    office = directory.aa_office
    MeetingType.objects.filter(fellowship=office.fellowship, code="S").update(kind="language", language="es")
    for headers, english, spanish in (({}, "English", "Spanish"), (SPANISH, "Inglés", "Español")):
        page = html.unescape(admin_client.get(change_url(office), **headers).content.decode())
        options = dict(re.findall(r'<option value="(\w+)"[^>]*>([^<]+)</option>',
                                  page.split('name="default_language"')[1].split("</select>")[0]))
        assert options["en"] == english and options["es"] == spanish, options
    form = {"name": office.name, "slug": office.slug, "fellowship": office.fellowship_id, "timezone": office.timezone}
    response = admin_client.post(change_url(office), {**form, "default_language": "sp"}, **SPANISH)
    assert "default_language" in response.context["adminform"].form.errors
    assert admin_client.post(change_url(office), {**form, "default_language": "es"}).status_code == 302
    assert ServiceBody.objects.get(pk=office.pk).default_language == "es"
