"""What the public is told of its mistakes, in its Spanish ("tú") and the
English it always read, from one place (meetingfinder/public_messages.py):
the meeting page's correction form, the API's change requests and its list
filters. Django's and DRF's own messages speak to the reader as "usted"
("Introduzca...", "Asegúrese...", "Escoja..."), or in English where DRF has no
Spanish; the curators' admin keeps them."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django.utils import translation

from fellowships.api.views import MeetingTypeFilterSet, ServiceBodyFilterSet
from meetings.api.change_views import ChangeRequestInSerializer
from meetings.forms import CorrectionForm
from meetings.models import ChangeRequest
from tests.factories import aa_meeting, change_url, make_meeting, meeting_form_data

SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}
SUBMIT = "/api/v1/change-requests/"
# The words by which Django's and DRF's Spanish address the reader as "usted".
USTED = ("Introduzca", "Asegúrese", "Escoja", "Seleccione")


def page_post(client, meeting, data: dict, language: dict):
    return client.post(reverse("meeting-page", args=[meeting.slug]), data, **language)


def api_post(client, body, language: dict):
    return client.post(SUBMIT, body if isinstance(body, str) else json.dumps(body), content_type="application/json",
                       **language)


@pytest.mark.django_db
class TestTheCorrectionForm:
    def test_its_refusals_speak_as_tu_beside_the_field_they_name(self, client, directory):
        meeting = aa_meeting(directory)
        # (A time that is no time is told by the one rule for a proposed time:
        # tests/test_change_requests.py.)
        response = page_post(client, meeting, {"name": "x" * 300, "day": "9"}, SPANISH)
        assert response.status_code == 400
        assert response.context["form"].errors == {
            "description": ["Este campo es obligatorio."],
            "name": ["Escribe como mucho 255 caracteres (has escrito 300)."],
            "day": ["Elige una opción válida: 9 no es una de las disponibles."],
        }
        html = response.content.decode()
        assert ('Nombre de la reunión:</label><ul class="errorlist" id="id_name_error"><li>Escribe como mucho 255 '
                in html)
        assert not [word for word in USTED if word in html]
        assert not ChangeRequest.objects.exists()

    def test_english_is_what_it_was(self, client, directory):
        meeting = aa_meeting(directory)
        response = page_post(client, meeting, {"name": "x" * 300, "day": "9"}, ENGLISH)
        assert response.context["form"].errors == {
            "description": ["This field is required."],
            "name": ["Ensure this value has at most 255 characters (it has 300)."],
            "day": ["Select a valid choice. 9 is not one of the available choices."],
        }

    def test_a_link_that_is_no_address(self, client, directory):
        """Checked as the model checks it (change_requests.proposed_values_clean), by Django's URL rule."""
        meeting = aa_meeting(directory)
        response = page_post(client, meeting, {"description": "New link", "conference_url": "zoom meeting"}, SPANISH)
        assert response.context["form"].errors == {"conference_url": ["Escribe una URL válida."]}
        response = page_post(client, meeting, {"description": "New link", "conference_url": "zoom meeting"}, ENGLISH)
        assert response.context["form"].errors == {"conference_url": ["Enter a valid URL."]}


@pytest.mark.django_db
class TestTheChangeRequestsAPI:
    @pytest.mark.parametrize("language, malformed, missing", [
        # Spanish speaks as "tú"...
        (SPANISH, {
            "meeting": ['Escribe un identificador (slug) válido: letras, números, guiones bajos o guiones.'],
            "description": ["Este campo no puede estar vacío."],
            "proposed": ['Envía un objeto de campo: valor, no un valor de tipo "list".'],
        }, {
            "description": ["Este campo es obligatorio."],
            "website": ["Envía un texto (una cadena JSON)."],
            "proposed": ["Este campo no puede ser null."],
        }),
        # ...and English is what it was (DRF's own words).
        (ENGLISH, {
            "meeting": ['Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'],
            "description": ["This field may not be blank."],
            "proposed": ['Expected a dictionary of items but got type "list".'],
        }, {
            "description": ["This field is required."],
            "website": ["Not a valid string."],
            "proposed": ["This field may not be null."],
        })], ids=["es", "en"])
    def test_its_refusals_are_told_under_the_field_they_name(self, client, directory, language, malformed, missing):
        response = api_post(client, {"meeting": "Serenity Group", "description": "", "proposed": ["day", 3]}, language)
        assert response.status_code == 400
        assert response.json() == malformed
        assert api_post(client, {"website": 5, "proposed": None}, language).json() == missing

    def test_a_body_that_is_no_object(self, client, directory):
        assert api_post(client, "[1]", SPANISH).json() == {
            "non_field_errors": ["Datos no válidos: envía un objeto JSON, no un valor de tipo list."]}
        assert api_post(client, "[1]", ENGLISH).json() == {
            "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}

    def test_a_link_that_is_no_address(self, client, directory):
        meeting = aa_meeting(directory)
        body = {"meeting": meeting.slug, "description": "New link", "proposed": {"url": "our website"}}
        assert api_post(client, body, SPANISH).json() == {"proposed.url": ["Escribe una URL válida."]}
        assert api_post(client, body, ENGLISH).json() == {"proposed.url": ["Enter a valid URL."]}

    def test_text_the_database_cannot_hold_is_told_by_the_projects_own_rule(self, client, directory):
        """DRF's refusal of a lone surrogate has no Spanish: it was English to a Spanish reader."""
        meeting = aa_meeting(directory)
        body = '{"meeting": "%s", "description": "Moved\\ud800"}' % meeting.slug
        assert api_post(client, body, SPANISH).json() == {
            "description": ["El texto no puede contener caracteres sustitutos sueltos (U+D800)."]}
        body = '{"meeting": "%s", "description": "Moved", "contact_email": "ana\\u0000@example.org"}' % meeting.slug
        assert api_post(client, body, SPANISH).json() == {
            "contact_email": ["El texto no puede contener caracteres NUL."]}
        assert not ChangeRequest.objects.exists()


@pytest.mark.django_db
class TestTheListFilters:
    def test_types(self, client, vocabularies):
        response = client.get("/api/v1/types/", {"fellowship": "aaa", "kind": "colour"}, **SPANISH)
        assert response.status_code == 400
        assert response.json() == {"fellowship": ["Elige una opción válida: esa no es una de las disponibles."],
                                   "kind": ["Elige una opción válida: colour no es una de las disponibles."]}
        assert client.get("/api/v1/types/", {"fellowship": "aaa"}, **ENGLISH).json() == {
            "fellowship": ["Select a valid choice. That choice is not one of the available choices."]}

    def test_service_bodies(self, client, vocabularies):
        response = client.get("/api/v1/service-bodies/", {"fellowship": "aaa"}, **SPANISH)
        assert response.status_code == 400
        assert response.json() == {"fellowship": ["Elige una opción válida: esa no es una de las disponibles."]}


@pytest.mark.django_db
class TestTheAdminKeepsUsted:
    """The same kinds of mistake, made by a curator in the admin: Django's own Spanish."""

    def test_the_meeting_form(self, admin_client, directory):
        meeting = make_meeting(name="Tuesday Hall", service_body=directory.aa_office)
        response = admin_client.post(change_url(meeting), meeting_form_data(
            meeting, name="x" * 300, day="9", conference_url="zoom meeting"), **SPANISH)
        errors = response.context["adminform"].form.errors
        assert errors["name"] == ["Asegúrese de que este valor tenga menos de 255 caracteres (tiene 300)."]
        assert errors["day"] == ["Escoja una opción válida. 9 no es una de las opciones disponibles."]
        assert errors["conference_url"] == ["Introduzca una URL válida."]


def library_words(field, *, with_validators: bool) -> list[str]:
    """The codes of the mistakes for which `field` would give Django's or DRF's
    own message (its classes' defaults, or a validator's own, which Django's
    forms replace by code and DRF's fields do not), in Spanish."""
    library = {}
    for cls in reversed(type(field).__mro__):
        library.update(vars(cls).get("default_error_messages", {}))
    if with_validators:
        for validator in field.validators:
            library.setdefault(validator.code, validator.message)
    # Plurals are chosen by a parameter: each message is read with some.
    said = {"limit_value": 2, "show_value": 3, "value": "x"}
    with translation.override("es"):
        return sorted(code for code, message in library.items()
                      if str(field.error_messages.get(code, message) % said) == str(message % said))


@pytest.mark.django_db
class TestEveryRefusalIsThePublics:
    """A field added to a public form or serializer gives the public's words for
    every mistake it can refuse, or this names those it would give in Django's or DRF's."""

    @pytest.mark.parametrize("form", [CorrectionForm, lambda: MeetingTypeFilterSet().form,
                                      lambda: ServiceBodyFilterSet().form], ids=["correction", "types", "bodies"])
    def test_forms(self, form, vocabularies):
        fields = form().fields
        assert fields and {name: library_words(field, with_validators=True) for name, field in fields.items()} == {
            name: [] for name in fields}

    def test_the_change_requests_serializer(self):
        serializer = ChangeRequestInSerializer()
        fields = {**serializer.fields, "(the body)": serializer}
        assert {name: library_words(field, with_validators=False) for name, field in fields.items()} == {
            name: [] for name in fields}
