"""Ordinary bad input is a 400 (or a 404) naming what is wrong, never a 500
(issue 12): the changes feed's `since` and paging, NUL characters in slugs,
change requests nested too deeply or with values of the wrong type."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse

from meetings.api.change_views import parse_since
from meetings.models import ChangeRequest
from meetings.services import meeting_save
from tests.factories import aa_meeting

CHANGES = "/api/v1/changes/"
SUBMIT = "/api/v1/change-requests/"


@pytest.fixture
def directory(directory_shared):
    """Made once for the module (conftest's `directory_shared`): its tests read it."""
    return directory_shared


# --- the changes feed -------------------------------------------------------------------------------------------

def test_since_with_a_far_offset_is_read_in_utc(client, directory):
    meeting = aa_meeting(directory)
    # +19:00 is a valid ISO offset; PostgreSQL refuses it as a parameter, so it is converted first.
    response = client.get(CHANGES, {"since": "2020-01-01T00:00:00+19:00"})
    assert response.status_code == 200, response.content
    assert meeting.slug in {change["slug"] for change in response.json()["results"]}
    assert parse_since("2020-01-01T00:00:00+19:00") == dt.datetime(2019, 12, 31, 5, tzinfo=dt.timezone.utc)
    assert parse_since("2020-01-01T00:00:00+19:00").utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("since", ["", " ", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00",
                                   "2020-02-30", "2020-01-01T25:00:00", "yesterday"])
def test_a_since_that_is_no_moment_is_a_400_naming_since(client, directory, since):
    response = client.get(CHANGES, {"since": since})
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["since"]


@pytest.mark.parametrize("query", [{"limit": "abc"}, {"limit": "0"}, {"limit": "-5"}, {"offset": "-1"},
                                   {"offset": "null"}, {"offset": "100000000000000000000"}])
def test_changes_paging_out_of_range_is_a_400_naming_the_parameter(client, directory, query):
    response = client.get(CHANGES, query)
    assert response.status_code == 400, response.content
    assert list(response.json()) == list(query)


def test_changes_paging_in_range_still_pages(client, directory):
    meeting = aa_meeting(directory)  # its place, made first, comes with it: one change
    meeting.notes = "Side door"
    meeting_save(meeting=meeting)
    body = client.get(CHANGES, {"limit": "1", "offset": "1"}).json()
    assert len(body["results"]) == 1 and body["count"] >= 2


# --- NUL characters in slugs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/meetings/%00/", "/api/v1/regions/%00/", "/api/v1/service-bodies/%00/",
                                  "/api/v1/fellowships/%00/", "/api/v1/meetings/%00/calendar.ics",
                                  "/api/v1/meetings/a%00b/"])
def test_a_nul_in_a_slug_is_a_json_404(client, directory, path):
    response = client.get(path)
    assert response.status_code == 404, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Not found."} or "detail" in response.json()


# --- change requests --------------------------------------------------------------------------------------------

def post_raw(client, body: str):
    return client.post(SUBMIT, body, content_type="application/json")


def test_a_body_nested_100000_deep_is_a_400(client, directory):
    response = post_raw(client, "[" * 100_000)
    assert response.status_code == 400, response.content
    assert "nested too deeply" in response.json()["detail"]


def test_a_body_that_is_not_json_is_told_in_the_senders_language(client, directory):
    """DRF says what is wrong with a body in English alone, to a Spanish reader too. The
    problem is named as Python's JSON reader names it, where it is."""
    spanish = client.post(SUBMIT, '{"description": "x",}', content_type="application/json",
                          HTTP_ACCEPT_LANGUAGE="es")
    assert spanish.status_code == 400 and spanish.json() == {
        "detail": "El cuerpo no es JSON válido en la línea 1, columna 21 (carácter 20): Expecting property name "
                  "enclosed in double quotes."}
    english = client.post(SUBMIT, '{"description": "x",}', content_type="application/json")
    assert english.json() == {
        "detail": "JSON parse error - Expecting property name enclosed in double quotes: line 1 column 21 (char 20)"}
    deep = client.post(SUBMIT, "[" * 100_000, content_type="application/json", HTTP_ACCEPT_LANGUAGE="es")
    assert deep.json() == {"detail": "El cuerpo no es JSON válido: está anidado a demasiada profundidad."}
    assert client.post(SUBMIT, b"\xff{}", content_type="application/json", HTTP_ACCEPT_LANGUAGE="es").json() == {
        "detail": "El cuerpo no es JSON válido ('utf-8' codec can't decode byte 0xff in position 0: invalid start "
                  "byte)."}


def test_a_form_body_that_cannot_be_read_is_told_in_the_senders_language(client, directory):
    """DRF's multipart parser, likewise English alone."""
    body, form = b"--b\r\nnot a part", "multipart/form-data"
    spanish = client.generic("POST", SUBMIT, body, content_type=form, HTTP_ACCEPT_LANGUAGE="es")
    assert spanish.status_code == 400 and spanish.json() == {
        "detail": "El cuerpo no es un formulario multipart válido (Invalid boundary in multipart: None)."}
    assert client.generic("POST", SUBMIT, body, content_type=form).json() == {
        "detail": "Multipart form parse error - Invalid boundary in multipart: None"}


def test_proposed_values_nested_5000_deep_are_a_400(client, directory):
    meeting = aa_meeting(directory)
    nested = '{"name": ' * 5000 + '"x"' + "}" * 5000
    body = f'{{"meeting": "{meeting.slug}", "description": "deep", "proposed": {nested}}}'
    response = post_raw(client, body)
    assert response.status_code == 400, response.content
    assert not ChangeRequest.objects.exists()


@pytest.mark.parametrize("field", ["time", "end_time"])
@pytest.mark.parametrize("value", [2500, True, ["07:00"], {}, 7.5])
def test_a_time_that_is_not_text_is_a_400_naming_the_field(client, directory, field, value):
    meeting = aa_meeting(directory)
    body = {"meeting": meeting.slug, "description": "new time", "proposed": {field: value}}
    response = post_raw(client, json.dumps(body))
    assert response.status_code == 400, response.content
    assert list(response.json()) == [f"proposed.{field}"]
    assert not ChangeRequest.objects.exists()


@pytest.mark.parametrize("field, value", [
    ("name", ["Serenity"]), ("name", {"text": "Serenity"}), ("notes", True), ("day", True), ("day", [1]),
    ("timezone", 5), ("city", ["Irvine"]), ("name", "Seren\x00ity"), ("notes", "a\x00b"),
])
def test_values_of_the_wrong_kind_are_a_400_naming_the_field(client, directory, field, value):
    meeting = aa_meeting(directory)
    body = {"meeting": meeting.slug, "description": "wrong kind", "proposed": {field: value}}
    response = post_raw(client, json.dumps(body))
    assert response.status_code == 400, response.content
    assert list(response.json()) == [f"proposed.{field}"]


def test_good_values_of_every_kind_are_still_taken(client, directory):
    meeting = aa_meeting(directory)
    proposed = {"name": "Serenity", "day": 3, "time": "07:00", "end_time": None, "notes": "", "city": "Irvine"}
    response = post_raw(client, json.dumps({"meeting": meeting.slug, "description": "ok", "proposed": proposed}))
    assert response.status_code == 202, response.content
    assert ChangeRequest.objects.get().proposed["day"] == 3


@pytest.mark.parametrize("query, key", [({"q": "a\x00b"}, "q"), ({"fellowship": "\x00"}, "fellowship"),
                                        ({"near": "92660\x00"}, "near"), ({"tz": "UTC\x00"}, "tz")])
@pytest.mark.parametrize("path", ["/api/v1/meetings/", "/api/v1/meetings/calendar.ics",
                                  "/api/v1/feeds/meeting-guide.json", "/api/v1/changes/"])
def test_a_nul_in_a_parameter_is_a_400_naming_it(client, directory, path, query, key):
    response = client.get(path, query)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [key]


@pytest.mark.parametrize("path", ["/", "/?q=a%00b", "/?near=92660%00"])
def test_a_nul_on_the_search_page_is_a_400_not_echoed_back(client, directory, path):
    """Found by the review of 30 November: the page answered 200 with the NUL in its title and form."""
    response = client.get(path)
    if "%00" not in path:
        assert response.status_code == 200
        return
    assert response.status_code == 400 and b"NUL" in response.content and b"\x00" not in response.content


def test_the_machines_own_zone_file_is_no_time_zone(client, directory):
    """tz=localtime named the server's /etc/localtime, not an IANA zone."""
    response = client.get("/api/v1/meetings/", {"tz": "localtime"})
    assert response.status_code == 400 and list(response.json()) == ["tz"]


def test_a_long_keyword_is_cut_in_the_pages_title(client, directory):
    response = client.get("/", {"q": "serenity " * 300})
    title = response.content.decode().split("<title>")[1].split("</title>")[0]
    assert response.status_code in (200, 400) and len(title) < 120 and "serenity" in title


@pytest.mark.parametrize("field, value", [("service_body", -853904198), ("meeting", 12), ("description", 5),
                                          ("contact_email", True), ("website", 1)])
def test_request_fields_that_are_not_text_are_a_400_naming_them(client, directory, field, value):
    """Found by make fuzz: a number for a slug was taken as its digits (and with the bot trap filled, answered 202)."""
    meeting = aa_meeting(directory)
    body = {"meeting": meeting.slug, "description": "x", "website": "", field: value}
    response = post_raw(client, json.dumps(body))
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]


# --- text PostgreSQL cannot store, in a change request's proposed values ----------------------------------------

def post_proposed(client, meeting, proposed_json: str):
    """A change request whose `proposed` is given as raw JSON text (lone surrogates cannot be json.dumps'd as such)."""
    return post_raw(client, f'{{"meeting": "{meeting.slug}", "description": "x", "proposed": {proposed_json}}}')


@pytest.mark.parametrize("field", ["name", "notes", "group", "location_name", "address", "city"])
def test_a_lone_surrogate_in_a_proposed_value_is_a_400_naming_it(client, directory, field):
    """Found in the issue 12 audit: PostgreSQL's json refuses a lone surrogate (500); SQLite kept it."""
    meeting = aa_meeting(directory)
    response = post_proposed(client, meeting, f'{{"{field}": "Seren\\udc80ity"}}')
    assert response.status_code == 400, response.content
    assert list(response.json()) == [f"proposed.{field}"]
    assert not ChangeRequest.objects.exists()


@pytest.mark.parametrize("code", ["\\udc80", "\\u0000", "O\\ud800"])
def test_a_type_code_postgresql_cannot_store_is_a_400_naming_types(client, directory, code):
    meeting = aa_meeting(directory)
    response = post_proposed(client, meeting, f'{{"types": ["{code}"]}}')
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["proposed.types"]
    assert not ChangeRequest.objects.exists()


def test_an_unknown_field_named_with_a_lone_surrogate_is_a_400(client, directory):
    meeting = aa_meeting(directory)
    response = post_proposed(client, meeting, '{"x\\udc80": "a"}')
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["proposed"]
    assert "Unknown field" in response.json()["proposed"][0]


# --- digits that are not ASCII ----------------------------------------------------------------------------------

# "²" and "١" are digits to str.isdigit(); int() refuses the first (a 500) and reads the second as 1.
NOT_ASCII_DIGITS = ["\u00b2", "\u0661", "1\u00b2", "\uff11"]


@pytest.mark.parametrize("text", NOT_ASCII_DIGITS)
@pytest.mark.parametrize("path, name", [
    ("/api/v1/meetings/", "day"), ("/api/v1/meetings/", "starting_within"), ("/api/v1/meetings/", "limit"),
    ("/api/v1/meetings/", "offset"), ("/api/v1/meetings/calendar.ics", "day"), ("/api/v1/changes/", "limit"),
    ("/api/v1/changes/", "offset"),
])
def test_a_number_in_digits_other_than_ascii_is_a_400_naming_it(client, directory, path, name, text):
    """Found in the issue 12 audit: `day=²` (and limit, offset, starting_within) answered 500."""
    response = client.get(path, {name: text})
    assert response.status_code == 400, response.content
    assert list(response.json()) == [name]


@pytest.mark.parametrize("text", NOT_ASCII_DIGITS)
def test_the_search_page_takes_no_digits_other_than_ascii(client, directory, text):
    assert client.get("/", {"day": text}).status_code == 400
    assert client.get("/", {"offset": text}).status_code == 200  # a page offset it cannot read is the first page


@pytest.mark.parametrize("count", [51, 70_000])
def test_more_type_codes_than_a_meeting_can_have_is_a_400_naming_types(client, directory, count):
    """Found in the issue 12 audit: 70,000 different codes were one statement with more parameters than
    PostgreSQL takes, answered as the database being unavailable (503)."""
    meeting = aa_meeting(directory)
    body = {"meeting": meeting.slug, "description": "x", "proposed": {"types": [f"c{n}" for n in range(count)]}}
    response = post_raw(client, json.dumps(body))
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["proposed.types"]
    assert "at most 50" in response.json()["proposed.types"][0]


def test_repeated_type_codes_count_once(client, directory):
    meeting = aa_meeting(directory)
    body = {"meeting": meeting.slug, "description": "x", "proposed": {"types": ["O"] * 300_000}}
    assert post_raw(client, json.dumps(body)).status_code == 202
    assert ChangeRequest.objects.get().proposed["types"] == ["O"]


# --- the size of what a change request proposes ---------------------------------------------------------------

NOTE_FIELDS = ["notes", "group_notes", "conference_url_notes", "conference_phone_notes"]


@pytest.mark.parametrize("field", NOTE_FIELDS)
def test_a_proposed_note_longer_than_a_feeds_is_a_400_naming_the_field_and_limit(client, directory, field, settings):
    """Found in review: notes of 2,000,000 characters were stored; a feed's are cut at
    FEEDS_PARSE_MAX_NOTES_CHARACTERS, and a correction is held to the same limit."""
    settings.FEEDS_PARSE_MAX_NOTES_CHARACTERS = 100
    meeting = aa_meeting(directory)
    assert post_raw(client, json.dumps({"meeting": meeting.slug, "description": "x",
                                        "proposed": {field: "n" * 100}})).status_code == 202
    body = {"meeting": meeting.slug, "description": "x", "proposed": {field: "n" * 2_000}}
    response = post_raw(client, json.dumps(body))
    assert response.status_code == 400, response.content
    assert response.json() == {f"proposed.{field}": [f"{field}: at most 100 characters (this has 2000)."]}
    spanish = client.post(SUBMIT, body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="es").json()
    assert spanish == {f"proposed.{field}": [f"{field}: como mucho 100 caracteres (tiene 2000)."]}
    assert ChangeRequest.objects.count() == 1


def test_four_long_notes_are_each_refused(client, directory):
    meeting = aa_meeting(directory)
    proposed = {field: "n" * 600_000 for field in NOTE_FIELDS}
    response = post_raw(client, json.dumps({"meeting": meeting.slug, "description": "x", "proposed": proposed}))
    assert response.status_code == 400
    assert sorted(response.json()) == sorted(f"proposed.{field}" for field in NOTE_FIELDS)
    assert len(response.content) < 1000
    assert not ChangeRequest.objects.exists()


def test_a_proposed_name_longer_than_the_meetings_is_refused_with_the_same_words(client, directory):
    meeting = aa_meeting(directory)
    response = post_raw(client, json.dumps({"meeting": meeting.slug, "description": "x",
                                            "proposed": {"name": "x" * 1_000_000, "city": "c" * 101}}))
    assert response.json() == {"proposed.name": ["name: at most 255 characters (this has 1000000)."],
                               "proposed.city": ["city: at most 100 characters (this has 101)."]}


def test_the_meeting_pages_form_holds_notes_to_the_same_limit(client, directory, settings):
    settings.FEEDS_PARSE_MAX_NOTES_CHARACTERS = 100
    meeting = aa_meeting(directory)
    response = client.post(reverse("meeting-page", args=[meeting.slug]), {"description": "x", "notes": "n" * 101})
    assert response.status_code == 400
    assert "notes: at most 100 characters (this has 101)." in response.content.decode()
    assert not ChangeRequest.objects.exists()


@pytest.mark.parametrize("proposed, named", [
    ({"k" * 1_000_000: 1}, ["k" * 40 + "…"]),
    ({f"f{n:06d}": 1 for n in range(100_000)}, ["f000000", "f000001", "f000002", "f000003", "f000004"]),
])
def test_the_unknown_fields_message_stays_short(client, directory, proposed, named):
    """Found in review: a key of 1,000,000 characters came back whole in the 400 (1 MB), and 100,000 unknown
    keys as a 789 KB list."""
    meeting = aa_meeting(directory)
    response = post_raw(client, json.dumps({"meeting": meeting.slug, "description": "x", "proposed": proposed}))
    assert response.status_code == 400
    assert len(response.content) < 1000
    message = response.json()["proposed"][0]
    more = len(proposed) - len(named)
    expected = ", ".join(named) + (f" and {more} more" if more else "")
    assert message.startswith(f"Unknown field(s): {expected}. Fields you can propose: name, ")
    if more:
        spanish = client.post(SUBMIT, {"meeting": meeting.slug, "description": "x", "proposed": proposed},
                              content_type="application/json", HTTP_ACCEPT_LANGUAGE="es").json()
        assert spanish["proposed"][0].startswith(f"Campo(s) desconocido(s): {', '.join(named)} y {more} más. ")


def test_a_type_code_too_long_to_be_one_is_not_repeated_whole(client, directory):
    meeting = aa_meeting(directory)
    response = post_raw(client, json.dumps({"meeting": meeting.slug, "description": "x",
                                            "proposed": {"types": ["Z" * 1_000_000]}}))
    assert response.status_code == 400
    assert len(response.content) < 1000 and list(response.json()) == ["proposed.types"]


def test_a_body_past_the_upload_limit_is_a_413(client, directory, settings):
    meeting = aa_meeting(directory)
    body = json.dumps({"meeting": meeting.slug, "description": "x", "proposed": {"notes": "n" * 3_000_000}})
    response = post_raw(client, body)
    assert response.status_code == 413
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in response.json()["detail"]


@pytest.mark.parametrize("day", ['"%s"' % ("9" * 4000), '"%s"' % ("9" * 5000), "9" * 4000, "-" + "9" * 4000])
def test_a_day_of_thousands_of_digits_is_not_repeated_whole(client, directory, day):
    """Found in review: the 400 repeated the 4,000 or 5,000 digits."""
    meeting = aa_meeting(directory)
    response = post_proposed(client, meeting, f'{{"day": {day}}}')
    assert response.json() == {"proposed.day": ["Give a whole number."]}


@pytest.mark.parametrize("field", ["time", "end_time"])
def test_a_time_of_thousands_of_characters_is_not_repeated_whole(client, directory, field):
    """100,000 ones were read as 11:11:11.111111, 100,000 letters repeated whole in the 400."""
    meeting = aa_meeting(directory)
    for text in ("1" * 100_000, "x" * 100_000):
        response = post_raw(client, json.dumps({"meeting": meeting.slug, "description": "x",
                                                "proposed": {field: text}}))
        assert response.json() == {f"proposed.{field}": ["Give a time as HH:MM."]}
