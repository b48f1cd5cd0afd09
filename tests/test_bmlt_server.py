"""The BMLT client interface (meetings/bmlt_server): contract tests against
the recorded answers of a real root server, the switchers' parameters,
malformed input, and the round trip through our own BMLT importer."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext

from fellowships.services import vocabularies_sync
from meetings import geo, schedule, selectors
from meetings.bmlt_server import views
from meetings.models import Meeting
from tests.factories import LocationFactory, RegionFactory, ServiceBodyFactory, make_meeting

URL = "/client_interface/json/"
JSONP_URL = "/client_interface/jsonp/"
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
HH_MM_SS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$")
DURATION = re.compile(r"^([01]\d|2[0-4]):[0-5]\d:[0-5]\d$")


def sample(name: str):
    return json.loads((SAMPLES / name).read_text())


def answer(client, **query):
    response = client.get(URL, query)
    assert response.status_code == 200, response.content
    return response.json()


def names(records) -> list[str]:
    return [r["meeting_name"] for r in records]


@pytest.fixture(scope="module")
def directory_rows(shared_rows):
    """Made once for the module (conftest's `shared_rows`): its tests read them."""
    with shared_rows():
        yield directory_make(vocabularies_sync())


@pytest.fixture
def directory(directory_rows, read_again):
    return read_again(directory_rows)


def directory_make(vocabularies) -> dict[str, Meeting]:
    """Orange County NA (a region with an area below it), AA and Al-Anon."""
    county = RegionFactory(name="Orange County", slug="orange-county")
    irvine = RegionFactory(name="Irvine", slug="irvine", parent=county)
    costa_mesa = RegionFactory(name="Costa Mesa", slug="costa-mesa", parent=county)
    region = ServiceBodyFactory(name="OC Region", slug="oc-region", fellowship=vocabularies["na"])
    area = ServiceBodyFactory(name="South Area", slug="south-area", fellowship=vocabularies["na"], parent=region,
                              website="https://southna.example.org", phone="949-555-0110")
    aa = ServiceBodyFactory(name="Central Office", slug="central-office")
    al_anon = ServiceBodyFactory(name="Al-Anon District", slug="al-anon-district", fellowship=vocabularies["al-anon"])
    irvine_hall = LocationFactory(name="Serenity Hall", address="1 Main St", city="Irvine", region=irvine,
                                  formatted_address="1 Main St, Irvine, CA 92618, US", notes="Back room")
    mesa_hall = LocationFactory(name="Mesa Church", address="9 Fair Dr", city="Costa Mesa", postal_code="92626",
                                latitude=33.6595, longitude=-117.9184, region=costa_mesa,
                                formatted_address="9 Fair Dr, Costa Mesa, CA 92626, US")
    return {
        "sunday": make_meeting(name="Sunday Serenity", fellowship="na", day=0, time="10:00", location=irvine_hall,
                               service_body=region, types=("OPEN", "VAR", "TOP")),
        "monday": make_meeting(name="Just For Today", fellowship="na", day=1, time="19:30", end_time=dt.time(21, 0),
                               location=mesa_hall, service_body=area, types=("CLOSED", "BT", "es")),
        "hybrid": make_meeting(name="Living Clean Hybrid", fellowship="na", day=1, time="12:00", location=irvine_hall,
                               service_body=area, types=("LC", "DISC"), conference_url="https://zoom.us/j/5550199",
                               conference_url_notes="Passcode 42"),
        "online": make_meeting(name="Virtual Recovery", fellowship="na", day=3, time="23:00",
                               end_time=dt.time(0, 30), no_location=True, timezone="America/New_York",
                               service_body=area, types=("VM", "QA"), conference_url="https://zoom.us/j/5550100",
                               conference_phone="+1 555 010 0100"),
        "aa": make_meeting(name="Morning Light", day=1, time="07:00", location=mesa_hall, service_body=aa,
                           types=("O", "D", "W")),
        "alateen": make_meeting(name="Alateen Group", fellowship="al-anon", day=2, time="18:00", location=irvine_hall,
                                service_body=al_anon, types=("Y", "D")),
        "hidden": make_meeting(name="Unpublished", fellowship="na", service_body=area, published=False),
    }


@pytest.mark.django_db
class TestContract:
    """Same keys and value types as the recorded answers of a real root server."""

    def test_meeting_records_have_a_root_servers_fields_and_strings(self, directory, client):
        recorded = sample("bmlt_dijon-test-mock_GetSearchResults_fullfields_sezf.json")[0]
        records = answer(client, switcher="GetSearchResults")
        assert len(records) == 6
        for record in records:
            assert list(record) == list(recorded)
            assert all(isinstance(value, str) for value in record.values()), record
            assert record["weekday_tinyint"] in "1234567" and len(record["weekday_tinyint"]) == 1
            assert HH_MM_SS.match(record["start_time"]) and DURATION.match(record["duration_time"])
            assert record["venue_type"] in ("1", "2", "3")
            assert record["published"] == "1"
            assert record["root_server_uri"] == "http://testserver"

    def test_a_meeting_field_by_field(self, directory, client):
        meeting = directory["monday"]
        record = next(r for r in answer(client, switcher="GetSearchResults") if r["id_bigint"] == str(meeting.pk))
        formats = {f["key_string"]: f for f in answer(client, switcher="GetFormats")}
        assert {k: v for k, v in record.items() if v} == {
            "id_bigint": str(meeting.pk), "service_body_bigint": str(meeting.service_body_id),
            "weekday_tinyint": "2", "venue_type": "1", "start_time": "19:30:00", "duration_time": "01:30:00",
            "time_zone": "America/Los_Angeles", "formats": "BT,CLOSED,ES", "lang_enum": "en",
            "latitude": "33.6595", "longitude": "-117.9184", "location_nation": "US",
            "location_postal_code_1": "92626", "location_province": "CA", "location_sub_province": "Orange County",
            "location_municipality": "Costa Mesa", "location_street": "9 Fair Dr", "location_text": "Mesa Church",
            "meeting_name": "Just For Today", "published": "1", "root_server_uri": "http://testserver",
            "format_shared_id_list": ",".join(formats[k]["id"] for k in ("BT", "CLOSED", "ES")),
        }
        assert formats["ES"]["world_id"] == "LANG"

    def test_a_meeting_in_its_service_bodys_language_carries_its_format(self, directory, client):
        """A meeting naming no language is in its service body's (the API's
        `language`): its record carries that language's format, as a root
        server's alternate-language meetings do. `lang_enum` stays the
        record's language, that of its format keys (bmlt.md)."""
        body = ServiceBodyFactory(name="Area Hispana", slug="area-hispana", fellowship=directory["sunday"].fellowship,
                                  default_language="es")
        meeting = make_meeting(name="Solo Por Hoy", fellowship="na", day=4, time="19:00", service_body=body,
                               types=("OPEN",))
        record = next(r for r in answer(client, switcher="GetSearchResults") if r["id_bigint"] == str(meeting.pk))
        formats = {f["key_string"]: f for f in answer(client, switcher="GetFormats")}
        assert record["formats"] == "ES,OPEN" and record["lang_enum"] == "en"
        assert record["format_shared_id_list"] == ",".join(formats[k]["id"] for k in ("ES", "OPEN"))
        english = next(r for r in answer(client, switcher="GetSearchResults")
                       if r["id_bigint"] == str(directory["sunday"].pk))
        assert english["formats"] == "OPEN,TOP,VAR"  # English, the server's language: no format says it
        # A search by the format finds what the records carry.
        found = answer(client, **{"switcher": "GetSearchResults", "formats[]": formats["ES"]["id"]})
        assert sorted(names(found)) == ["Just For Today", "Solo Por Hoy"]

    def test_times_past_midnight_and_weekday_one_is_sunday(self, directory, client):
        records = {r["meeting_name"]: r for r in answer(client, switcher="GetSearchResults")}
        assert records["Sunday Serenity"]["weekday_tinyint"] == "1"
        assert records["Virtual Recovery"]["weekday_tinyint"] == "4"
        assert (records["Virtual Recovery"]["start_time"], records["Virtual Recovery"]["duration_time"]) == (
            "23:00:00", "01:30:00")
        assert records["Sunday Serenity"]["duration_time"] == "01:00:00"  # no end: the default hour

    def test_venue_types(self, directory, client):
        records = {r["meeting_name"]: r["venue_type"] for r in answer(client, switcher="GetSearchResults")}
        assert records["Sunday Serenity"] == "1"
        assert records["Virtual Recovery"] == "2"
        assert records["Living Clean Hybrid"] == "3"

    def test_used_formats_shape_and_same_formats_for_the_same_kind_of_meeting(self, directory, client):
        recorded = sample("bmlt_yap_latest-aws_GetSearchResults_geo_nearest50_weekday2_get_used_formats.json")
        fields = list(recorded["meetings"][0])
        got = answer(client, switcher="GetSearchResults", lat_val="33.68", long_val="-117.82", geo_width="-50",
                     get_used_formats="1", data_field_key=",".join(fields))
        assert set(got) == {"meetings", "formats"}
        assert all(list(m) == fields for m in got["meetings"])
        assert all(isinstance(v, str) for m in got["meetings"] for v in m.values())
        assert all(set(f) == set(recorded["formats"][0]) for f in got["formats"])
        # The recorded open meeting with formats O, RF, To (OPEN, VAR, TOP) and ours of that kind.
        world = {f["key_string"]: f["world_id"] for f in recorded["formats"]}
        theirs = next(m for m in recorded["meetings"] if m["formats"] == "O,RF,To")
        ours = next(m for m in got["meetings"] if m["meeting_name"] == "Sunday Serenity")
        our_world = {f["key_string"]: f["world_id"] for f in got["formats"]}
        assert {our_world[k] for k in ours["formats"].split(",")} == {world[k] for k in theirs["formats"].split(",")}

    def test_minimal_fields(self, directory, client):
        recorded = sample("bmlt_yap_latest-aws_GetSearchResults_geo30mi_minimal_fields.json")
        got = answer(client, switcher="GetSearchResults", lat_val="33.68", long_val="-117.82", geo_width="30",
                     data_field_key="service_body_bigint,longitude,latitude")
        assert got and all(list(m) == list(recorded[0]) for m in got)

    def test_formats(self, directory, client):
        recorded = sample("bmlt_yap_latest-aws_GetFormats.json")
        kinds = {f["format_type_enum"] for f in recorded}
        formats = answer(client, switcher="GetFormats")
        for f in formats:
            assert list(f) == list(recorded[0]) and all(isinstance(v, str) for v in f.values()), f
            assert f["format_type_enum"] in kinds
        keys = [f["key_string"] for f in formats]
        assert len(keys) == len(set(keys)), "a key means one format"
        by_key = {f["key_string"]: f for f in formats}
        recorded_world = {f["world_id"] for f in recorded if f["world_id"]}
        assert {"CLOSED", "OPEN", "DISC", "BT", "LANG", "VM"} <= {f["world_id"] for f in formats}
        assert {f["world_id"] for f in formats if f["world_id"]} - recorded_world <= {
            "VM", "HYBR", "TC", "SMOK", "S-D", "SPAD", "GP", "RA", "SWG", "CAN"} | recorded_world
        # One format per meaning: Women is W everywhere; Alateen is not NA's Young People.
        assert by_key["W"]["world_id"] == "W"
        assert by_key["Y"]["name_string"] == "Young People" and by_key["Y"]["world_id"] == "Y"
        assert by_key["Y-al-anon"]["name_string"] == "Alateen" and by_key["Y-al-anon"]["world_id"] == ""
        assert by_key["C"]["format_type_enum"] == "O" and by_key["C"]["world_id"] == "CLOSED"

    def test_service_bodies(self, directory, client):
        recorded = sample("bmlt_yap_latest-aws_GetServiceBodies.json")
        bodies = {b["name"]: b for b in answer(client, switcher="GetServiceBodies")}
        for body in bodies.values():
            assert list(body) == list(recorded[0]) and all(isinstance(v, str) for v in body.values())
        assert bodies["South Area"]["parent_id"] == bodies["OC Region"]["id"]
        assert bodies["OC Region"]["parent_id"] == "0"
        assert (bodies["OC Region"]["type"], bodies["South Area"]["type"]) == ("RS", "AS")
        assert bodies["South Area"]["url"] == "https://southna.example.org"

    def test_server_info(self, directory, client):
        recorded = sample("bmlt_yap_latest-aws_GetServerInfo_REDACTED.json")
        info = answer(client, switcher="GetServerInfo")
        assert isinstance(info, list) and len(info) == 1
        # Every key but default_closed_status, which would make NA's "not stated" open or closed.
        assert list(info[0]) == [k for k in recorded[0] if k != "default_closed_status"]
        assert {k: type(v) for k, v in info[0].items()} == {
            k: type(v) for k, v in recorded[0].items() if k != "default_closed_status"}
        assert set(info[0]["available_keys"].split(",")) <= set(recorded[0]["available_keys"].split(","))

    def test_field_keys_and_values(self, directory, client):
        keys = answer(client, switcher="GetFieldKeys")
        assert {"key": "location_municipality", "description": "Town"} in keys
        assert all(set(k) == {"key", "description"} for k in keys)
        values = answer(client, switcher="GetFieldValues", meeting_key="location_municipality")
        by_value = {v["location_municipality"]: set(v["ids"].split(",")) for v in values}
        assert by_value["Costa Mesa"] == {str(directory["monday"].pk), str(directory["aa"].pk)}
        formats = answer(client, switcher="GetFieldValues", meeting_key="weekday_tinyint")
        assert {v["weekday_tinyint"] for v in formats} == {"1", "2", "3", "4"}
        assert answer(client, switcher="GetFieldValues", meeting_key="no_such_field") == []

    def test_world_id_is_a_world_group_code_never_a_group_name(self, directory, client):
        """worldid_mixed is NA's world group code (G00227317, bmlt.md), which a
        BMLT feed's import keeps as the group; a Meeting Guide group's name is no code."""
        Meeting.objects.filter(pk=directory["sunday"].pk).update(group="G00227317")
        Meeting.objects.filter(pk=directory["aa"].pk).update(group="Morning Light Group")
        records = {r["id_bigint"]: r for r in answer(client, switcher="GetSearchResults")}
        assert records[str(directory["sunday"].pk)]["worldid_mixed"] == "G00227317"
        assert records[str(directory["aa"].pk)]["worldid_mixed"] == ""
        values = answer(client, switcher="GetFieldValues", meeting_key="worldid_mixed")
        assert {v["worldid_mixed"] for v in values} == {"", "G00227317"}
        assert next(v for v in values if v["worldid_mixed"] == "G00227317")["ids"] == str(directory["sunday"].pk)


@pytest.mark.django_db
class TestSearch:
    def test_uses_the_directory_search(self, directory, client, monkeypatch):
        calls = []
        original = selectors.meeting_search

        def spy(**kwargs):
            calls.append(kwargs)
            return original(**kwargs)

        monkeypatch.setattr(views, "meeting_search", spy)
        answer(client, switcher="GetSearchResults", **{"weekdays[]": "2"})
        assert calls and calls[0]["filters"].days == (1,)

    def test_unpublished_meetings_are_not_served(self, directory, client):
        assert "Unpublished" not in names(answer(client, switcher="GetSearchResults"))

    def test_services_recursive(self, directory, client):
        region = directory["sunday"].service_body
        only = names(answer(client, switcher="GetSearchResults", **{"services[]": str(region.pk)}))
        assert only == ["Sunday Serenity"]
        below = names(answer(client, switcher="GetSearchResults", recursive="1", **{"services[]": str(region.pk)}))
        assert set(below) == {"Sunday Serenity", "Just For Today", "Living Clean Hybrid", "Virtual Recovery"}
        excluded = names(answer(client, switcher="GetSearchResults", **{"services[]": f"-{region.pk}"}))
        assert "Sunday Serenity" not in excluded and "Morning Light" in excluded

    def test_weekdays_one_is_sunday_and_negative_excludes(self, directory, client):
        assert names(answer(client, switcher="GetSearchResults", **{"weekdays[]": "1"})) == ["Sunday Serenity"]
        monday = client.get(URL + "?switcher=GetSearchResults&weekdays[]=2&weekdays[]=3")
        assert set(names(monday.json())) == {"Morning Light", "Living Clean Hybrid", "Just For Today",
                                             "Alateen Group"}
        assert "Sunday Serenity" not in names(answer(client, switcher="GetSearchResults", **{"weekdays[]": "-1"}))

    def test_venue_types(self, directory, client):
        assert names(answer(client, switcher="GetSearchResults", **{"venue_types[]": "2"})) == ["Virtual Recovery"]
        assert names(answer(client, switcher="GetSearchResults", **{"venue_types[]": "3"})) == [
            "Living Clean Hybrid"]
        assert "Virtual Recovery" not in names(answer(client, switcher="GetSearchResults",
                                                      **{"venue_types[]": ["1", "3"]}))

    def test_formats_all_required_any_with_or_and_negative_excludes(self, directory, client):
        formats = {f["key_string"]: f["id"] for f in answer(client, switcher="GetFormats")}
        got = names(answer(client, switcher="GetSearchResults", **{"formats[]": [formats["CLOSED"], formats["BT"]]}))
        assert got == ["Just For Today"]
        either = names(answer(client, switcher="GetSearchResults", formats_comparison_operator="OR",
                              **{"formats[]": [formats["LC"], formats["BT"]]}))
        assert set(either) == {"Just For Today", "Living Clean Hybrid"}
        assert "Just For Today" not in names(answer(client, switcher="GetSearchResults",
                                                    **{"formats[]": f"-{formats['BT']}"}))

    def test_closed_by_the_fellowships_rule_is_closed_in_formats_and_filters(self, directory, client):
        formats = {f["key_string"]: f["id"] for f in answer(client, switcher="GetFormats")}
        records = {r["meeting_name"]: r for r in answer(client, switcher="GetSearchResults")}
        assert records["Alateen Group"]["formats"] == "C,D,Y-al-anon"
        closed = names(answer(client, switcher="GetSearchResults", **{"formats[]": formats["C"]}))
        assert closed == ["Alateen Group"]

    def test_radius_in_miles_and_km_nearest_first_with_distances(self, directory, client):
        near = answer(client, switcher="GetSearchResults", lat_val="33.6846", long_val="-117.8265", geo_width="1")
        assert set(names(near)) == {"Sunday Serenity", "Living Clean Hybrid", "Alateen Group"}
        assert all(float(r["distance_in_miles"]) <= 1 for r in near)
        wider = answer(client, switcher="GetSearchResults", lat_val="33.6846", long_val="-117.8265",
                       geo_width_km="15")
        assert names(wider)[-2:] in (["Just For Today", "Morning Light"], ["Morning Light", "Just For Today"])
        km = [float(r["distance_in_km"]) for r in wider]
        expected_km = geo.great_circle_m(33.6846, -117.8265, 33.6595, -117.9184) / 1000
        assert km == sorted(km) and km[-1] == pytest.approx(expected_km)
        assert float(wider[-1]["distance_in_miles"]) == pytest.approx(km[-1] / 1.609344)

    def test_negative_width_is_the_nearest_n(self, directory, client):
        nearest = answer(client, switcher="GetSearchResults", lat_val="33.66", long_val="-117.918", geo_width="-2")
        assert set(names(nearest)) == {"Just For Today", "Morning Light"}
        assert len(answer(client, switcher="GetSearchResults", lat_val="33.66", long_val="-117.918",
                          geo_width_km="-4")) == 4

    def test_search_string(self, directory, client):
        assert names(answer(client, switcher="GetSearchResults", SearchString="sunday")) == ["Sunday Serenity"]
        # The venue's name too, as a root server searches it.
        assert set(names(answer(client, switcher="GetSearchResults", SearchString="mesa church"))) == {
            "Just For Today", "Morning Light"}

    def test_search_string_takes_as_many_words_as_the_apis_q(self, directory, client):
        """Found by the review of 1 December: the API's q takes at most 10 words (each one more condition
        on every row), but SearchString took all its 200 characters held: 66 words of two letters."""
        words = [f"{chr(97 + n // 26)}{chr(97 + n % 26)}" for n in range(66)]
        response = client.get(URL, {"switcher": "GetSearchResults", "SearchString": " ".join(words)})
        assert response.status_code == 400 and response.json() == {"SearchString": ["Use at most 10 words."]}
        assert client.get(URL, {"switcher": "GetSearchResults", "SearchString": " ".join(words[:10])}).json() == []

    def test_sort_keys_and_pages(self, directory, client):
        by_name = names(answer(client, switcher="GetSearchResults", sort_keys="meeting_name"))
        assert by_name == sorted(by_name, key=str.lower)
        by_town = answer(client, switcher="GetSearchResults", sort_keys="location_municipality,start_time")
        assert [r["location_municipality"] for r in by_town][:3] == ["", "Costa Mesa", "Costa Mesa"]
        default = names(answer(client, switcher="GetSearchResults"))
        assert default[0] == "Sunday Serenity"  # weekday, then time
        pages = [names(answer(client, switcher="GetSearchResults", page_size="4", page_num=str(n))) for n in (1, 2, 3)]
        assert pages[0] + pages[1] == default and pages[2] == []

    def test_queries_do_not_grow_with_meetings(self, directory, client):
        with CaptureQueriesContext(connection) as few:
            answer(client, switcher="GetSearchResults", get_used_formats="1")
        for n in range(10):
            make_meeting(name=f"More {n}", fellowship="na", service_body=directory["monday"].service_body,
                         types=("OPEN", "BT"))
        with CaptureQueriesContext(connection) as many:
            assert len(answer(client, switcher="GetSearchResults", get_used_formats="1")["meetings"]) == 16
        assert len(many) == len(few)

    def test_the_format_table_and_regions_are_read_once_per_directory_version(self, directory, client, settings):
        """Building the table from every type was about 4-5 ms of each search
        (100,000 meetings' vocabulary); a renamed type (update(), no save) still
        shows at once. The regions' paths likewise."""
        from fellowships.models import MeetingType

        settings.CACHE_ANSWERS = False
        answer(client, switcher="GetSearchResults", weekdays="2")
        with CaptureQueriesContext(connection) as again:
            answer(client, switcher="GetSearchResults", weekdays="3")
        assert not [q["sql"] for q in again if 'FROM "fellowships_meetingtype"' in q["sql"]
                    or 'FROM "meetings_region"' in q["sql"]], again.captured_queries
        MeetingType.objects.filter(fellowship__slug="na", code="BT").update(name="Basic Text study")
        formats = {f["key_string"]: f["name_string"] for f in answer(client, switcher="GetFormats")}
        assert formats["BT"] == "Basic Text study"


@pytest.mark.django_db
class TestInput:
    @pytest.mark.parametrize("query", [
        {"switcher": "GetNothing"},
        {"switcher": "GetSearchResults", "services[]": "99999"},
        {"switcher": "GetSearchResults", "weekdays[]": "9"},
        {"switcher": "GetSearchResults", "formats[]": "99999"},
        {"switcher": "GetFormats", "lang_enum": "xx"},
        {"switcher": "GetFormats", "key_strings[]": "NOPE"},
    ])
    def test_well_formed_but_unknown_is_an_empty_list(self, directory, client, query):
        assert answer(client, **query) == []

    def test_start_times_after_and_before(self, directory, client):
        """StartsAfterH/M: strictly after; StartsBeforeH/M: strictly before
        (they were ignored: every meeting came back)."""
        def found(**query) -> list[str]:
            return sorted(names(answer(client, switcher="GetSearchResults", **query)))

        assert found(StartsAfterH="12") == ["Alateen Group", "Just For Today", "Virtual Recovery"]
        assert found(StartsBeforeH="12") == ["Morning Light", "Sunday Serenity"]
        assert found(StartsAfterH="18", StartsAfterM="30", StartsBeforeH="23") == ["Just For Today"]
        assert found(StartsAfterH="7", StartsBeforeH="10", StartsBeforeM="1") == ["Sunday Serenity"]

    @pytest.mark.parametrize("query, parameter", [
        ({"switcher": "GetSearchResults", "weekdays[]": "monday"}, "weekdays"),
        ({"switcher": "GetSearchResults", "services[]": "1;drop"}, "services"),
        ({"switcher": "GetSearchResults", "lat_val": "north", "long_val": "1", "geo_width": "5"}, "lat_val"),
        ({"switcher": "GetSearchResults", "lat_val": "95", "long_val": "1", "geo_width": "5"}, "lat_val"),
        ({"switcher": "GetSearchResults", "lat_val": "33", "geo_width": "5"}, "long_val"),
        ({"switcher": "GetSearchResults", "geo_width": "5"}, "geo_width"),
        ({"switcher": "GetSearchResults", "lat_val": "33", "long_val": "-117"}, "geo_width"),
        ({"switcher": "GetSearchResults", "geo_width_km": "100000", "lat_val": "33", "long_val": "-117"},
         "geo_width_km"),
        ({"switcher": "GetSearchResults", "page_size": "0"}, "page_size"),
        # "The nearest 0.4 meetings" read as the nearest 0, which was no limit at all.
        ({"switcher": "GetSearchResults", "lat_val": "33", "long_val": "-117", "geo_width": "-0.4"}, "geo_width"),
        ({"switcher": "GetSearchResults", "StartsAfterH": "25"}, "StartsAfterH"),
        # Digits in ASCII only: int() reads "١٢" as 12.
        ({"switcher": "GetSearchResults", "StartsAfterH": "١٢"}, "StartsAfterH"),
        ({"switcher": "GetSearchResults", "weekdays[]": "٢"}, "weekdays"),
        ({"switcher": "GetSearchResults", "lat_val": "3_3", "long_val": "-117", "geo_width": "5"}, "lat_val"),
        ({"switcher": "GetSearchResults", "StartsBeforeH": "7", "StartsBeforeM": "75"}, "StartsBeforeM"),
        ({"switcher": "GetSearchResults", "recursive": "yes"}, "recursive"),
        ({"switcher": "GetFormats", "lang_enum": "e$"}, "lang_enum"),
        ({"switcher": "GetFieldValues"}, "meeting_key"),
        ({}, "switcher"),
    ])
    def test_malformed_is_a_400_naming_the_parameter(self, directory, client, query, parameter):
        response = client.get(URL, query)
        assert response.status_code == 400
        assert parameter in response.json()

    @pytest.mark.parametrize("query, english, spanish", [
        ({"switcher": "GetSearchResults", "weekdays[]": "monday"}, "weekdays: 'monday' is not a whole number",
         "weekdays: 'monday' no es un número entero"),
        ({"switcher": "GetSearchResults", "lat_val": "95", "long_val": "1", "geo_width": "5"},
         "lat_val: '95' is outside -90..90", "lat_val: '95' está fuera de -90..90"),
        ({"switcher": "GetSearchResults", "lat_val": "33"}, "lat_val and long_val go together",
         "lat_val y long_val van juntos"),
        ({"switcher": "GetSearchResults", "StartsAfterH": "25"}, "StartsAfterH: '25' is not an hour from 0 to 23",
         "StartsAfterH: '25' no es una hora de 0 a 23"),
        ({}, "switcher names what to read, e.g. GetSearchResults",
         "switcher nombra lo que quieres leer, por ejemplo GetSearchResults"),
    ])
    def test_malformed_is_explained_in_the_language_the_answer_names(self, directory, client, query, english,
                                                                      spanish):
        """Found by the review of 1 December: the answer said Content-Language: es, in English."""
        parameter = next(iter(client.get(URL, query).json()))
        for language, message in (("en", english), ("es", spanish)):
            response = client.get(URL, query, HTTP_ACCEPT_LANGUAGE=language)
            assert response.status_code == 400 and response["Content-Language"] == language
            assert response.json() == {parameter: [message]}

    @pytest.mark.parametrize("sign", ["", "-"])
    def test_repeated_format_ids_count_once(self, directory, client, sign):
        """Found in the issue 12 audit: each format id added its own subqueries, repeats included, so
        `formats=1,1,...` (500 times) ran into the statement timeout on a directory of 444 meetings."""
        format_id = str(next(f["id"] for f in answer(client, switcher="GetFormats") if f["key_string"] == "O"))
        with CaptureQueriesContext(connection) as once:
            expected = answer(client, switcher="GetSearchResults", formats=sign + format_id, sort_keys="id_bigint")
        repeated = ",".join([sign + format_id] * 500)
        with CaptureQueriesContext(connection) as many:
            got = answer(client, switcher="GetSearchResults", formats=repeated, sort_keys="id_bigint")
        assert got == expected
        assert len(many) <= len(once)
        assert max(len(q["sql"]) for q in many) <= max(len(q["sql"]) for q in once) + 4 * len(format_id)

    def test_repeated_sort_and_field_keys_count_once(self):
        from django.http import QueryDict

        from meetings.bmlt_server.params import search_request

        search = search_request(QueryDict("sort_keys=" + ",".join(["meeting_name", "start_time"] * 800)
                                          + "&data_field_key=" + ",".join(["meeting_name"] * 800)))
        assert search.sort_keys == ("meeting_name", "start_time")
        assert search.data_field_keys == ("meeting_name",)

    def test_too_many_different_format_ids_are_a_400(self, directory, client, settings):
        settings.MEETINGS_MAX_VALUES_PER_PARAMETER = 3
        assert client.get(URL, {"switcher": "GetSearchResults", "formats": "1,2,-3,1,-3"}).status_code == 200
        response = client.get(URL, {"switcher": "GetSearchResults", "formats": "1,2,3,-4"})
        assert response.status_code == 400
        assert "formats" in response.json()

    def test_a_bare_flag_is_set_as_crouton_sends_it(self, directory, client):
        got = client.get(URL + "?switcher=GetSearchResults&get_used_formats&lang_enum=en&sort_keys=start_time").json()
        assert set(got) == {"meetings", "formats"}
        assert isinstance(answer(client, switcher="GetSearchResults", get_used_formats="0"), list)

    def test_jsonp_wraps_the_answer_in_the_callback(self, directory, client):
        response = client.get(JSONP_URL, {"switcher": "GetServiceBodies", "callback": "croutonCallback1"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/javascript")
        body = response.content.decode()
        match = re.fullmatch(r"/\*\*/croutonCallback1\((.*)\);", body, re.S)
        assert match and json.loads(match.group(1)) == answer(client, switcher="GetServiceBodies")

    @pytest.mark.parametrize("callback", ["", "alert(1)", "a;b", "x" * 101])
    def test_jsonp_needs_a_function_name(self, directory, client, callback):
        response = client.get(JSONP_URL, {"switcher": "GetServiceBodies", "callback": callback})
        assert response.status_code == 400 and "callback" in response.json()

    def test_read_only_and_open_to_other_sites(self, directory, client):
        assert client.post(URL + "?switcher=GetServiceBodies").status_code == 405
        assert client.get(URL, {"switcher": "GetServiceBodies"})["Access-Control-Allow-Origin"] == "*"

    @pytest.mark.parametrize("method", ["post", "put", "delete"])
    def test_a_write_is_a_405_for_a_client_with_no_csrf_token(self, directory, method):
        """Found by the review of 1 December: the test client skips the CSRF check, so the 405 above
        was a 403 {"detail": "Error."} to every real client (the CSRF middleware refused it first)."""
        response = getattr(Client(enforce_csrf_checks=True), method)(URL + "?switcher=GetServiceBodies")
        assert response.status_code == 405 and response.json() == {"detail": "Method not allowed."}
        assert response["Allow"] == "GET, HEAD"

    def test_formats_in_another_language(self, directory, client):
        spanish = {f["key_string"]: f for f in answer(client, switcher="GetFormats", lang_enum="es")}
        assert spanish["D"]["name_string"] == "Discusión" and spanish["D"]["lang"] == "es"
        assert spanish["BT"]["name_string"] == "Texto Básico" and spanish["BT"]["lang"] == "es"
        # A language the vocabulary gives no name in: the English name, said to be English.
        french = {f["key_string"]: f for f in answer(client, switcher="GetFormats", lang_enum="fr")}
        assert french["BT"]["name_string"] == "Basic Text" and french["BT"]["lang"] == "en"
        only = answer(client, switcher="GetFormats", **{"key_strings[]": ["BT", "W"]})
        assert [f["key_string"] for f in only] == ["BT", "W"] or sorted(f["key_string"] for f in only) == ["BT", "W"]


def _state(meeting: Meeting) -> dict:
    """An NA meeting as a BMLT reader sees it; its language as the directory
    reads it (a meeting naming none is in its service body's)."""
    location = meeting.location
    types = list(meeting.types.all())
    spoken = sorted(t.language for t in types if t.kind == "language") or [meeting.service_body.default_language]
    return {
        "name": meeting.name, "day": meeting.day, "time": meeting.time, "timezone": meeting.timezone,
        "end": schedule.wall_end(time=meeting.time, end_time=meeting.end_time),
        "types": sorted(t.code for t in types if t.kind != "language"), "languages": spoken,
        "open_closed": meeting.open_closed, "attendance": meeting.attendance, "notes": meeting.notes,
        "conference_url": meeting.conference_url, "conference_url_notes": meeting.conference_url_notes,
        "conference_phone": meeting.conference_phone, "group": meeting.group, "published": meeting.published,
        "latitude": meeting.latitude, "longitude": meeting.longitude,
        "location": None if location is None else {
            name: getattr(location, name) for name in ("name", "address", "city", "state", "postal_code", "country",
                                                       "formatted_address", "latitude", "longitude", "notes")},
        "regions": _path(location.region) if location and location.region else [],
    }


def _path(region) -> list[str]:
    path = []
    while region is not None:
        path.insert(0, region.name)
        region = region.parent
    return path


@pytest.mark.django_db
def test_round_trip_through_our_own_bmlt_importer(directory, client):
    """What a root server's importer does with us: GetSearchResults for a
    service body (sub-bodies too), GetFormats, GetServerInfo; imported into an
    empty directory, the same meetings come back."""
    from meetings.feeds import bmlt
    from meetings.feeds.importer import import_feed_text
    from meetings.models import FeedSource, Location, Region

    area = directory["monday"].service_body
    region = area.parent
    before = sorted((_state(m) for m in Meeting.objects.published().filter(service_body__in=[area, region])),
                    key=lambda s: s["name"])
    root = "http://testserver"
    search = client.get(bmlt.search_url(root=root, service_body_ids=[str(region.pk)])).content.decode()
    formats = client.get(bmlt.formats_url(root=root)).json()
    info = client.get(bmlt.server_info_url(root=root)).json()

    Meeting.objects.all().delete()
    Location.objects.all().delete()
    Region.objects.filter(parent__isnull=False).delete()
    Region.objects.all().delete()
    source = FeedSource.objects.create(slug="us", name="Us", format="bmlt", url=root, fellowship=area.fellowship,
                                       service_body=region, bmlt_service_body_ids=str(region.pk))
    run = import_feed_text(source=source, text=search, bmlt_formats=formats,
                           default_closed=bmlt.default_closed_status(info))
    assert run.status == "succeeded", run.reason
    assert run.unknown_types == {}
    after = sorted((_state(m) for m in Meeting.objects.all()), key=lambda s: s["name"])
    assert [s["name"] for s in after] == [s["name"] for s in before]
    for mine, theirs in zip(before, after):
        assert theirs == mine, mine["name"]


class _ReadsRecorded(QueryDict):
    """A request's parameters that remember which the view asked for, and
    fail a view that reads them all (its answer would then depend on any)."""

    def __init__(self, query_string: str) -> None:
        self.read: set[str] = set()
        super().__init__(query_string)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def getlist(self, key, default=None):
        self.read.add(key)
        return super().getlist(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)

    def _every(self, *args, **kwargs):
        raise AssertionError("the BMLT view read every parameter: its kept answers cannot be keyed on a few")

    lists = items = keys = values = dict = __iter__ = _every


@pytest.mark.parametrize("query", [
    {"switcher": "GetSearchResults"},
    {"switcher": "GetSearchResults", "lat_val": "33.68", "long_val": "-117.82", "geo_width": "-5",
     "sort_keys": "meeting_name", "data_field_key": "meeting_name", "page_size": "2", "page_num": "1",
     "formats": "1", "formats_comparison_operator": "OR", "weekdays[]": "2", "services": "1", "recursive": "1",
     "venue_types": "1", "SearchString": "hope", "StartsAfterH": "6", "StartsBeforeH": "23", "StartsBeforeM": "5",
     "get_used_formats": "1"},
    {"switcher": "GetSearchResults", "lat_val": "33.68", "long_val": "-117.82", "geo_width_km": "20"},
    {"switcher": "GetFormats", "lang_enum": "es", "key_strings[]": "O"},
    {"switcher": "GetServiceBodies"}, {"switcher": "GetFieldKeys"}, {"switcher": "GetServerInfo"},
    {"switcher": "GetFieldValues", "meeting_key": "weekday_tinyint"},
    {"switcher": "GetFieldValues", "meeting_key": "meeting_name"},
    {"switcher": "Nonsense"}, {},
])
@pytest.mark.parametrize("jsonp", [False, True])
def test_the_answer_is_keyed_on_every_parameter_the_interface_reads(directory, rf, query, jsonp):
    """Kept answers are keyed on params.PARAMETERS alone (an unfiltered search
    is up to 10,000 meetings, 0.6 s at 100,000, and junk parameters made it
    again each time): a parameter read and not listed would serve one
    question's answer to another."""
    from meetings.bmlt_server import params

    request = rf.get(JSONP_URL if jsonp else URL, {**query, **({"callback": "cb"} if jsonp else {})})
    request.GET = _ReadsRecorded(request.META["QUERY_STRING"])
    view = views.client_interface_jsonp if jsonp else views.client_interface_json
    response = view(request)
    assert response.status_code == (200 if query else 400), response.content
    assert request.GET.read <= set(params.PARAMETERS), request.GET.read - set(params.PARAMETERS)


def test_a_parameter_the_interface_ignores_gets_the_kept_answer(directory, client):
    query = {"switcher": "GetSearchResults"}
    first = client.get(URL, query)
    for junk in ({"x": "1"}, {"_": "1700000000"}):
        again = client.get(URL, {**query, **junk})
        assert (again["X-Cache"], again.content) == ("hit", first.content), junk
    assert client.get(URL, {**query, "weekdays": "2"})["X-Cache"] == "miss"


@pytest.mark.parametrize("query", [{"switcher": "GetSearchResults"},
                                   {"switcher": "GetSearchResults", "StartsAfterH": "19", "weekdays": "2"},
                                   {"switcher": "GetFormats"}, {"switcher": "GetServerInfo"}])
def test_an_answer_shows_no_clock_so_is_kept_across_its_turns(directory, client, frozen_now, settings, monkeypatch,
                                                              query):
    """A BMLT record gives a meeting's weekday and wall times, nothing the
    clock decides: an answer is the same before and after a meeting starts,
    so it is kept until a write, and never reads the clock's facts of every
    meeting (selectors.clock_turns: 0.24-0.7 s at 1,000,000 meetings, once per
    directory version and process)."""
    # Monday 6 January 2025, 19:29 and 19:31 in Los Angeles: "Just For Today" starts at 19:30 between them.
    before, after = (dt.datetime(2025, 1, 7, 3, minute, 10, tzinfo=dt.timezone.utc) for minute in (29, 31))
    settings.CACHE_ANSWERS = False
    made = []
    for instant in (before, after):
        frozen_now(instant)
        made.append(answer(client, **query))
    assert made[0] == made[1] and made[0]

    settings.CACHE_ANSWERS = True
    monkeypatch.setattr(selectors, "clock_turns", None)  # not read: calling it fails
    frozen_now(before)
    first = client.get(URL, query)
    frozen_now(after)
    again = client.get(URL, query)
    assert (first["X-Cache"], again["X-Cache"], again.content) == ("miss", "hit", first.content)
