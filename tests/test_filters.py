"""The search's parameters (meetings/filters.py), tested without HTTP, and the
bounds that keep every request's work small (issue 12)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import QueryDict
from django.test import override_settings

from meetings import geo
from meetings.filters import PARAMETERS, SearchInvalid, search_parse
from tests.factories import LocationFactory, make_meeting

NOW = dt.datetime(2026, 11, 3, 17, 0, tzinfo=dt.timezone.utc)


def parse(query: str):
    return search_parse(QueryDict(query), now=NOW)


def parse_error_suggestion(query: str) -> str:
    with pytest.raises(SearchInvalid) as invalid:
        parse(query)
    return invalid.value.suggested_near


def errors(query: str) -> dict:
    with pytest.raises(SearchInvalid) as invalid:
        parse(query)
    return invalid.value.errors


@pytest.mark.django_db
def test_a_whole_search_parses_into_frozen_filters(vocabularies):
    search = parse("lat=33.6&lng=-117.8&radius=5&units=km&fellowship=AA&day=2,4&day=2&open=open"
                   "&attendance=online&type=O&type=D,O&tz=Europe/Berlin&q=+step+")
    assert search.point == geo.Point(33.6, -117.8) and search.radius_m == 5000 and search.unit == "km"
    f = search.filters
    assert [x.slug for x in f.fellowships] == ["aa"]  # slugs read case-insensitively
    assert f.days == (2, 4) and f.type_codes == (("O",), ("D",)) and f.open_closed == "open"
    assert f.attendance == ("online",) and f.keyword == "step" and f.now == NOW
    assert str(search.viewer_zone) == "Europe/Berlin"


@pytest.mark.django_db
def test_bad_values_are_named_by_parameter(vocabularies):
    assert errors("lat=91&lng=0") == {"lat": ["Ensure this value is less than or equal to 90."]}
    assert set(errors("lat=nan&lng=inf")) == {"lat", "lng"}
    assert errors("lat=1") == {"lng": ["lng is required together with lat."]}
    assert "near" in errors("near=92660&lat=1&lng=2")
    assert errors("radius=5") == {"radius": ["radius needs a place: give near, or lat and lng."]}
    assert errors("day=7") == {"day": ["Use a whole number from 0 to 6."]}
    assert errors("fellowship=xx") == {"fellowship": ["Unknown fellowship: xx."]}
    assert errors("time_after=10:00&time_before=10:00") == {"time_before": ["time_before must differ from time_after."]}
    assert errors("starting_within=0") == {"starting_within": ["Use a whole number from 1 to 10080."]}
    assert errors("in_progress=maybe") == {"in_progress": ["Use true or false."]}


# A query for each message the search can give (meetings/filters.py).
EVERY_MESSAGE = [
    "lat=abc&lng=1", "lat=-91&lng=1", "lat=91&lng=1", "day=x", "day=7", "units=yards", "type=" + "X" * 11,
    "q=" + "+".join(f"w{n}" for n in range(11)), "time_after=25", "in_progress=maybe", "tz=Mars/Base",
    "type=" + ",".join("ABCDEFGHIJKLMNOPQRSTU"), "q=" + "x" * 2001, "time_after=10:00&time_before=10:00",
    "starts_on=today", "order=distance", "lat=1", "near=92660&lat=1&lng=2", "near=Irvien", "radius=5",
    "lat=1&lng=1&radius=1000", "fellowship=xx", "region=xx", "service_body=xx", "type=ZZ", "type=ZZ,YY",
    "fellowship=aa&type=ZZ", "fellowship=aa&type=ZZ,YY", "language=xx",
]


@pytest.mark.django_db
@pytest.mark.parametrize("query", EVERY_MESSAGE)
def test_every_message_is_said_in_the_readers_language(vocabularies, query):
    """The search page and the API's 400 speak the reader's language: each
    message is translated when it is given, and its English stays as it was."""
    from django.utils import translation

    english = errors(query)
    with translation.override("es"):
        spanish = errors(query)
    assert spanish.keys() == english.keys()
    for name, messages in english.items():
        assert [m for m in spanish[name] if m in messages] == [], (name, spanish[name])


@pytest.mark.django_db
def test_messages_in_spanish(vocabularies):
    from django.utils import translation

    with translation.override("es"):
        assert errors("time_after=25") == {"time_after": ["Usa HH:MM, por ejemplo 18:30."]}
        assert errors("near=Irvien") == {"near": ["No conocemos ningún lugar llamado 'Irvien': prueba con un "
                                                  "código postal o 'Ciudad, ST'."]}
        assert errors("q=" + "+".join(f"w{n}" for n in range(11))) == {"q": ["Usa como mucho 10 palabras."]}
        assert errors("lat=1&lng=1&radius=1000") == {"radius": ["radius puede ser como mucho 310 mi."]}
        assert errors("type=ZZ,YY") == {"type": ["Códigos de tipo desconocidos: YY, ZZ."]}
        assert errors("type=ZZ") == {"type": ["Código de tipo desconocido: ZZ."]}
    # The English is what API clients read.
    assert errors("type=ZZ,YY") == {"type": ["Unknown type codes: YY, ZZ."]}
    assert errors("fellowship=aa&type=ZZ") == {"type": ["Unknown type code in aa: ZZ."]}
    assert errors("near=Irvien") == {"near": ["No place is known by 'Irvien': try a ZIP code or 'City, ST'."]}
    assert errors("tz=Mars/Base") == {"tz": ["Unknown time zone: use an IANA name such as America/New_York."]}


@pytest.mark.django_db
@pytest.mark.parametrize("geocoder", ["offline", "nominatim"])
def test_near_a_city_and_its_state_by_name(vocabularies, settings, monkeypatch, geocoder):
    """near=Irvine, California is Irvine, CA offline (the gazetteer reads the
    name); the online geocoder is asked the place as the person wrote it."""
    from geopy.location import Location as GeopyLocation
    from geopy.point import Point as GeopyPoint

    import meetings.geocoding as geocoding

    settings.GEOCODER = geocoder
    asked = []
    if geocoder == "nominatim":
        def fake_nominatim(query):
            asked.append(query)
            return GeopyLocation("Irvine, Orange County, California, United States",
                                 GeopyPoint(33.68, -117.79), {})

        monkeypatch.setattr(geocoding, "_geocode_function", lambda name: fake_nominatim)
    search = parse("near=Irvine,+California")
    assert search.point.latitude == pytest.approx(33.68, abs=0.1) and "Irvine" in search.place
    assert asked == (["Irvine, California"] if geocoder == "nominatim" else [])


@pytest.mark.django_db
def test_a_place_spelt_like_a_city_with_meetings_is_offered(vocabularies):
    """An unknown place close in spelling to a city where the directory has
    meetings names that city, as the API's client can show it."""
    from django.utils import translation

    make_meeting(name="Irvine Tuesday")
    unknown = "No place is known by 'Irvien, CA': try a ZIP code or 'City, ST'."
    with pytest.raises(SearchInvalid) as invalid:
        parse("near=Irvien,+CA")
    assert invalid.value.errors == {"near": [unknown, "Did you mean Irvine, CA?"]}
    assert invalid.value.suggested_near == "Irvine, CA"
    with translation.override("es"):
        assert errors("near=irvien")["near"][1] == "¿Quisiste decir Irvine, CA?"
    # The state by its name is left out of the comparison as its code is, with or without a comma.
    assert parse_error_suggestion("near=Irvien,+California") == "Irvine, CA"
    assert parse_error_suggestion("near=Irvien+California") == "Irvine, CA"
    assert parse_error_suggestion("near=Irvien+New+York") == "Irvine, CA"  # in no such city of that state: in any
    # The names of its first letter are compared, failing that of its second, then of the keys beside
    # the first on a keyboard: a thumb on a phone slips from I to U, O, J or K.
    assert parse_error_suggestion("near=Rivine") == "Irvine, CA"
    for slip in ("Urvine", "Orvine", "Jrvine", "Krvine", "urvine,+CA"):
        assert parse_error_suggestion(f"near={slip}") == "Irvine, CA", slip
    assert parse_error_suggestion("near=Prvine") == ""  # P is not beside I
    # Nothing like it, or nothing of the kind (a ZIP code): the message alone.
    assert errors("near=Springfield") == {"near": ["No place is known by 'Springfield': try a ZIP code or "
                                                   "'City, ST'."]}
    assert len(errors("near=00000")["near"]) == 1
    assert len(errors("near=%F4%8F%BF%BF")["near"]) == 1  # the last code point: no letter follows it


@pytest.mark.django_db
def test_a_city_of_hidden_meetings_alone_is_neither_offered_nor_completed(vocabularies):
    """The cities the directory offers ("Did you mean") and completes a bare
    name with are those of meetings the public sees: a meeting kept
    unpublished (a member's home) names no town, nor does a copy or one
    removed from its feed."""
    home = LocationFactory(city="Hiddenville", state="NV", latitude=39.5, longitude=-119.8)
    for hidden in ({"published": False}, {"removed": True}):
        make_meeting(name="Home group", location=home, **hidden)
    assert parse_error_suggestion("near=Hiddenvile") == ""
    assert set(errors("near=Hiddenville")) == {"near"}
    make_meeting(name="Open group", location=LocationFactory(city="Hiddenville", state="NV", latitude=39.5,
                                                             longitude=-119.8))
    assert parse_error_suggestion("near=Hiddenvile") == "Hiddenville, NV"


@pytest.mark.django_db
def test_the_state_typed_chooses_among_cities_spelt_alike(vocabularies):
    """"Irvien, CA" is as like Irving as Irvine: at 1,000,000 meetings it
    was offered Irving, TX (more meetings); the state typed says which."""
    for _ in range(2):
        make_meeting(name="Texas group", location=LocationFactory(city="Irving", state="TX"))
    make_meeting(name="California group")  # Irvine, CA
    make_meeting(name="Kentucky group", location=LocationFactory(city="Irvine", state="KY"))
    assert parse_error_suggestion("near=Irvien,+CA") == "Irvine, CA"
    assert parse_error_suggestion("near=Irvien+Kentucky") == "Irvine, KY"
    assert parse_error_suggestion("near=Irvien,+TX") == "Irving, TX"


@pytest.mark.django_db
def test_a_city_whose_last_word_has_two_letters_is_compared_whole(vocabularies):
    """"Fe" of "Sante Fe" is no state: compared without it, "sante" was
    Santee's spelling, and the person who meant Santa Fe was offered Santee."""
    make_meeting(name="Online only", no_location=True)  # a meeting with no place names no town
    make_meeting(name="High desert", location=LocationFactory(city="Santa Fe", state="NM"))
    make_meeting(name="East county", location=LocationFactory(city="Santee", state="CA"))
    assert parse_error_suggestion("near=Sante+Fe") == "Santa Fe, NM"
    assert parse_error_suggestion("near=Santea,+CA") == "Santee, CA"


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["1_0", "١٢", "0x10", "1e", "--1", "1.2.3", "infinity"])
def test_a_number_is_written_in_ascii_digits(vocabularies, text):
    """float() reads "1_0" as 10 and "١٢" as 12: a place 10 degrees off."""
    assert set(errors(f"lat={text}&lng=1")) == {"lat"}


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["10", "-17.8", "+33.", ".5", "1e1", " 12 "])
def test_numbers_as_people_write_them_are_read(vocabularies, text):
    assert parse(f"lat={text}&lng=1").point.latitude == float(text)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["fellowship", "near", "region", "type", "language", "tz", "service_body", "q",
                                  "time_after", "day", "radius", "units"])
def test_percent_signs_in_any_value_are_only_text(vocabularies, client, name):
    """`%s` in a value once reached a %-format and answered 500 (issue 12)."""
    response = client.get("/api/v1/meetings/", {name: "%s%d%(x)s%", **({"lat": 1, "lng": 1} if name == "radius" else {})})
    assert response.status_code in (200, 400), response.content
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_the_same_radius_shown_as_the_limit_is_accepted(vocabularies):
    """The limit is said in whole units ("at most 310 mi"), and that value is accepted."""
    limit = errors("lat=1&lng=1&radius=100000&units=mi")["radius"][0]
    shown = limit.split("at most ")[1].split()[0]
    assert parse(f"lat=1&lng=1&radius={shown}&units=mi").radius_m <= 500_000


@pytest.mark.django_db
def test_repeated_values_count_once_and_too_many_are_refused(vocabularies):
    assert parse("&".join(["type=O"] * 200)).filters.type_codes == (("O",),)
    assert parse(",".join(["day=1"] + ["1"] * 600)).filters.days == (1,)
    with override_settings(MEETINGS_MAX_VALUES_PER_PARAMETER=3):
        assert errors("type=O,C,D,B") == {"type": ["Give at most 3 different values."]}
        assert parse("type=O,C,D").filters.type_codes == (("O",), ("C",), ("D",))


@pytest.mark.django_db
def test_a_keyword_search_looks_for_ten_words_at_most(vocabularies, django_assert_num_queries):
    """47 one- and two-letter words (no trigram narrows them) cost 0.5 s on the
    API and 0.9 s on the search page at 100,000 meetings: each word is one
    more condition on every row. Signs and repeats are no words."""
    ten = " ".join(f"w{n}" for n in range(10))
    assert parse(f"q={ten} - %26 w1 W1").filters.keyword == f"{ten} - & w1 W1"
    with django_assert_num_queries(0):
        assert errors(f"q={ten} w10") == {"q": ["Use at most 10 words."]}
        assert errors("q=" + "+".join("abcdefghijklmnopqrstuvwxyz")) == {"q": ["Use at most 10 words."]}


@pytest.mark.django_db
def test_a_query_too_long_is_refused_before_any_work(vocabularies, django_assert_num_queries):
    with override_settings(MEETINGS_MAX_QUERY_LENGTH=100), django_assert_num_queries(0):
        assert errors("q=" + "x" * 120) == {"query": ["The query is longer than 100 characters."]}


@pytest.mark.django_db
def test_the_worst_type_search_is_one_query_and_quick(vocabularies, client, django_assert_max_num_queries):
    """Every AA code at once: one search statement, whatever their number."""
    from fellowships.models import MeetingType

    make_meeting(types=("O", "D"))
    codes = list(MeetingType.objects.filter(fellowship__slug="aa").values_list("code", flat=True))[:20]
    client.get("/api/v1/meetings/", {"fellowship": "aa"})  # what is read once per directory version
    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/meetings/", {"type": ",".join(codes), "fellowship": "aa"})
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["limit=-5", "limit=0", "limit=abc", "offset=-1", "offset=null",
                                   "offset=100000000000000000000", "lat=1&lng=1&offset=100000000000000000000"])
def test_bad_pages_are_400_naming_the_parameter(vocabularies, client, query):
    response = client.get("/api/v1/meetings/?" + query)
    assert response.status_code == 400
    assert set(response.json()) == {query.split("=")[0].split("&")[-1]} or "offset" in response.json()


def test_every_parameter_is_documented():
    assert all(p.description and p.schema for p in PARAMETERS)
    assert len({p.name for p in PARAMETERS}) == len(PARAMETERS)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["fellowship", "type", "language", "tz", "region", "service_body", "near"])
def test_percent_signs_reach_no_format_on_the_calendar_and_the_pages(vocabularies, client, name):
    """The issue's other places for `%s` (the search's calendar.ics, a meeting's page, the home page)."""
    meeting = make_meeting()
    for path in ("/api/v1/meetings/calendar.ics", f"/meetings/{meeting.slug}/", "/",
                 "/api/v1/feeds/meeting-guide.json"):
        response = client.get(path, {name: "%s%d%(x)s%"})
        assert response.status_code in (200, 400), (path, response.status_code)
