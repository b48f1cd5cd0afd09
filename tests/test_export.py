"""The Meeting Guide feed export: every record against the reference's field
rules, the fellowship bridges, narrowing, CORS, revalidation, streaming."""

from __future__ import annotations

import datetime as dt
import json
import re
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fellowships.models import ServiceBody
from fellowships.services import vocabularies_sync
from meetings import schedule
from meetings.attendance import conference_provider, dialled_phone
from meetings.directory_version import directory_version
from meetings.models import Meeting
from meetings.publish.meeting_guide import meeting_guide_json
from meetings.services import meeting_save
from tests.factories import LocationFactory, RegionFactory, ServiceBodyFactory, make_meeting

URL = "/api/v1/feeds/meeting-guide.json"
SPEC_CODES = set(json.loads(
    (Path(__file__).resolve().parents[1] / "fellowships" / "data" / "meeting_guide_types.json").read_text()))
HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
UPDATED = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
SLUG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def feed(client, **params) -> list[dict]:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    if response["X-Cache"] == "hit":  # the kept feed, read whole from the cache
        return json.loads(response.content)
    assert response.streaming
    return json.loads(b"".join(response.streaming_content))


def assert_follows_field_rules(records: list[dict]) -> None:
    """The exporter checklist of meeting-guide.md, record by record."""
    slugs = [r["slug"] for r in records]
    assert len(slugs) == len(set(slugs)), "slugs must be unique in the feed"
    for r in records:
        where = r["slug"]
        assert isinstance(r["slug"], str) and SLUG.match(r["slug"]), where
        assert isinstance(r["name"], str) and 0 < len(r["name"]) <= 255, where
        if "day" in r:  # by appointment otherwise, and then no time either
            assert type(r["day"]) is int and 0 <= r["day"] <= 6, where
            assert HH_MM.match(r["time"]) and HH_MM.match(r["end_time"]), where
        else:
            assert "time" not in r and "end_time" not in r, where
        assert schedule.is_valid_zone(r["timezone"]), where
        assert isinstance(r["formatted_address"], str) and r["formatted_address"], where
        assert isinstance(r["latitude"], float) and -90 <= r["latitude"] <= 90, where
        assert isinstance(r["longitude"], float) and -180 <= r["longitude"] <= 180, where
        assert r["approximate"] in ("yes", "no"), where
        assert isinstance(r["types"], list) and set(r["types"]) <= SPEC_CODES, (where, r["types"])
        assert UPDATED.match(r["updated"]), where
        if "conference_url" in r:
            assert conference_provider(r["conference_url"]), where
        if "conference_url_notes" in r:
            assert "conference_url" in r, where
        if any(k.startswith("entity_") for k in r):
            assert r["entity"], where
        if "regions" in r:
            assert all(isinstance(name, str) and name for name in r["regions"]), where
        for value in r.values():
            assert value not in ("", None), (where, r)


@pytest.fixture(scope="module")
def directory_rows(shared_rows):
    """Made once for the module (conftest's `shared_rows`): its tests read them."""
    with shared_rows():
        yield directory_make(vocabularies_sync())


@pytest.fixture
def directory(directory_rows, read_again):
    return read_again(directory_rows)


def directory_make(vocabularies) -> dict[str, Meeting]:
    county = RegionFactory(name="Orange County", slug="orange-county")
    irvine = RegionFactory(name="Irvine", slug="irvine", parent=county)
    office = ServiceBodyFactory(
        name="Central Office", slug="central-office", website="https://aa.example.org",
        email="office@example.org", phone="555-0100", location="Orange County, California",
    )
    na_area = ServiceBodyFactory(name="NA Area", slug="na-area", fellowship=vocabularies["na"])
    al_anon = ServiceBodyFactory(name="Al-Anon District", slug="al-anon-district", fellowship=vocabularies["al-anon"])
    hall = LocationFactory(name="Community Church", region=irvine, notes="Room 4, side door")
    return {
        "aa": make_meeting(name="Morning Light", day=1, time="07:00", end_time=dt.time(8, 15), location=hall,
                           types=("O", "D", "X"), service_body=office, group="Sunrise Group",
                           notes="Bring a friend.", conference_url="https://zoom.us/j/5550100",
                           conference_url_notes="Passcode 1234"),
        "no_end": make_meeting(name="Late Start", day=6, time="23:30", service_body=office, types=("C",)),
        "na": make_meeting(name="Clean Time", fellowship="na", day=3, time="19:00", service_body=na_area,
                           types=("CLOSED", "GL", "BEG", "VM", "es")),
        "al_anon": make_meeting(name="Hope", fellowship="al-anon", day=2, time="18:00", service_body=al_anon,
                                types=("Y", "B", "O")),
        "online": make_meeting(name="Night Owls", day=5, time="21:00", no_location=True, timezone="America/New_York",
                               service_body=office, conference_url="https://us02web.zoom.us/j/5550101",
                               conference_phone="+1 555 010 0102,,123#"),
        "unknown_host": make_meeting(name="Odd Link", day=4, time="12:00", service_body=office,
                                     conference_url="https://myzoom.us/j/1", conference_phone="555"),
        "appointment": make_meeting(name="By Appointment", day=None, time=None, service_body=office),
        "hidden": make_meeting(name="Unpublished", service_body=office, published=False),
    }


@pytest.mark.django_db
class TestRecords:
    def test_every_record_follows_the_field_rules(self, directory, client):
        records = feed(client)
        assert_follows_field_rules(records)
        assert {r["slug"] for r in records} == {m.slug for k, m in directory.items() if k != "hidden"}

    def test_a_meeting_field_by_field(self, directory, client):
        meeting = directory["aa"]
        record = next(r for r in feed(client) if r["slug"] == meeting.slug)
        assert record == {
            "slug": meeting.slug, "name": "Morning Light", "day": 1, "time": "07:00", "end_time": "08:15",
            "timezone": "America/Los_Angeles", "location": "Community Church", "location_notes": "Room 4, side door",
            "address": meeting.location.address, "city": "Irvine", "state": "CA", "postal_code": "92618",
            "country": "US", "formatted_address": meeting.location.formatted_address,
            "latitude": 33.6846, "longitude": -117.8265, "approximate": "no",
            "regions": ["Orange County", "Irvine"], "types": ["D", "O", "X"], "fellowship": "aa",
            "fellowship_types": ["D", "O", "X"], "attendance_option": "hybrid",
            "notes": "Bring a friend.", "group": "Sunrise Group",
            "conference_url": "https://zoom.us/j/5550100", "conference_url_notes": "Passcode 1234",
            "updated": meeting.updated.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
            "entity": "Central Office", "entity_url": "https://aa.example.org",
            "entity_website_url": "https://aa.example.org", "entity_email": "office@example.org",
            "entity_phone": "555-0100", "entity_location": "Orange County, California",
        }

    def test_end_time_defaults_to_an_hour_after_the_start_across_midnight(self, directory, client):
        record = next(r for r in feed(client) if r["slug"] == directory["no_end"].slug)
        assert (record["day"], record["time"], record["end_time"]) == (6, "23:30", "00:30")

    def test_na_codes_are_bridged_to_meeting_guide(self, directory, client):
        record = next(r for r in feed(client) if r["slug"] == directory["na"].slug)
        # VM (virtual) has no spec code: online is told by the conference fields.
        assert record["types"] == ["BE", "C", "G", "L", "S"]

    def test_a_meeting_in_its_service_bodys_language_says_so(self, vocabularies, client):
        """A meeting naming no language is in its service body's (the API's
        `language`): the feed names it too, as the body's vocabulary codes it.
        English, which a record naming none is read as, is not added."""
        aa = ServiceBodyFactory(name="Distrito Hispano", slug="distrito", default_language="es")
        na = ServiceBodyFactory(name="Area Hispana", slug="area-hispana", fellowship=vocabularies["na"],
                                default_language="es")
        spanish = make_meeting(name="Grupo Esperanza", service_body=aa, types=("O", "D"))
        spanish_na = make_meeting(name="Solo Por Hoy", fellowship="na", service_body=na, types=("OPEN",))
        english = make_meeting(name="English Speakers", service_body=aa, types=("EN", "O"))
        unmarked = make_meeting(name="Unmarked", types=("O",))
        assert [m["name"] for m in client.get("/api/v1/meetings/", {"language": "es"}).json()["results"]] == [
            "Grupo Esperanza", "Solo Por Hoy"]
        records = {r["slug"]: r for r in feed(client)}
        assert (records[spanish.slug]["types"], records[spanish.slug]["fellowship_types"]) == (
            ["D", "O", "S"], ["D", "O", "S"])
        assert (records[spanish_na.slug]["types"], records[spanish_na.slug]["fellowship_types"]) == (
            ["O", "S"], ["OPEN", "es"])
        assert records[english.slug]["types"] == ["EN", "O"]
        assert records[unmarked.slug]["types"] == ["O"]

    def test_an_address_sent_in_parts_is_written_whole(self, vocabularies, client):
        # The one rule (models.address_as_read) that the pages, calendars, search and API read too.
        corner = LocationFactory(address="1 Main St", city="Santa Ana", state="CA", postal_code="92701",
                                 formatted_address="")
        make_meeting(name="Corner", location=corner)
        assert feed(client)[0]["formatted_address"] == "1 Main St, Santa Ana, CA 92701, US"

    def test_al_anon_alateen_is_not_young_people(self, directory, client):
        record = next(r for r in feed(client) if r["slug"] == directory["al_anon"].slug)
        assert "Y" not in record["types"]
        assert record["types"] == ["BE", "O"]  # Beginners is Newcomer, not Big Book

    def test_online_only_meeting_gets_a_city_in_its_own_zone(self, directory, client):
        record = next(r for r in feed(client) if r["slug"] == directory["online"].slug)
        assert record["timezone"] == "America/New_York"
        assert record["approximate"] == "yes"
        assert record["city"] == "New York"
        assert record["latitude"] == pytest.approx(40.71, abs=0.05)
        assert record["longitude"] == pytest.approx(-74.0, abs=0.05)
        # The spec's characters only (digits, +, and , * # for one-tap), as attendance.tel_uri dials it.
        assert record["conference_phone"] == "+15550100102,,123#"
        assert record["attendance_option"] == "online"

    def test_unrecognised_conference_details_are_left_out(self, directory, client):
        record = next(r for r in feed(client) if r["slug"] == directory["unknown_host"].slug)
        assert "conference_url" not in record and "conference_phone" not in record

    def test_by_appointment_has_no_day_or_time(self, directory, client):
        record = next(r for r in feed(client) if r["slug"] == directory["appointment"].slug)
        assert "day" not in record and "time" not in record
        assert record["timezone"] == "America/Los_Angeles"

    def test_empty_directory_is_an_empty_array(self, vocabularies, client):
        assert feed(client) == []


@pytest.mark.django_db
class TestNarrowing:
    def test_by_fellowship(self, directory, client):
        assert {r["slug"] for r in feed(client, fellowship="na")} == {directory["na"].slug}

    def test_by_service_body(self, directory, client):
        slugs = {r["slug"] for r in feed(client, service_body="al-anon-district,na-area")}
        assert slugs == {directory["na"].slug, directory["al_anon"].slug}

    def test_by_region_includes_sub_regions(self, directory, client):
        assert {r["slug"] for r in feed(client, region="orange-county")} == {directory["aa"].slug}

    def test_unknown_names_are_a_400_naming_the_parameter(self, directory, client):
        response = client.get(URL, {"region": "atlantis"})
        assert response.status_code == 400
        assert "region" in response.json()
        assert response["Access-Control-Allow-Origin"] == "*"

    def test_search_parameters_other_than_the_narrowing_are_ignored(self, directory, client):
        assert len(feed(client, day=1)) == len(feed(client))


@pytest.mark.django_db
class TestHttp:
    def test_cors_is_open(self, directory, client):
        response = client.get(URL, HTTP_ORIGIN="https://intergroup.example.org")
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "ETag" in response["Access-Control-Expose-Headers"]
        assert response["Content-Type"] == "application/json"

    def test_other_endpoints_stay_closed(self, directory, client):
        assert "Access-Control-Allow-Origin" not in client.get("/api/v1/meetings/")

    def test_if_none_match_gives_304(self, directory, client):
        first = client.get(URL)
        again = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 304
        assert again["ETag"] == first["ETag"]
        assert again["Access-Control-Allow-Origin"] == "*"

    def test_if_modified_since_gives_304(self, directory, client):
        first = client.get(URL)
        b"".join(first.streaming_content)  # streamed, kept once read whole
        # The directory's last write (meetings/directory_version.py).
        changed = parsedate_to_datetime(first["Last-Modified"])
        assert changed == directory_version().changed_at.replace(microsecond=0)
        # A copy dated after that second is this one; within it, a second write could hide (public_answers._served).
        later = format_datetime(changed + dt.timedelta(seconds=1), usegmt=True)
        assert client.get(URL, HTTP_IF_MODIFIED_SINCE=later).status_code == 304
        assert client.get(URL, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]).status_code == 200

    def test_a_changed_meeting_changes_the_etag(self, directory, client):
        first = client.get(URL)
        meeting = directory["na"]
        meeting.name = "Clean Time Renamed"
        meeting_save(meeting=meeting, now=meeting.updated + dt.timedelta(seconds=5))
        again = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 200
        assert again["ETag"] != first["ETag"]

    def test_a_changed_service_body_changes_the_etag(self, directory, client):
        first = client.get(URL)
        ServiceBody.objects.filter(slug="central-office").update(phone="555-0199")
        assert client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200

    def test_a_removed_meeting_changes_the_etag(self, directory, client):
        first = client.get(URL)
        Meeting.objects.filter(pk=directory["al_anon"].pk).delete()
        assert client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200

    def test_any_write_changes_the_etag(self, directory, client):
        # Validators name the directory version: a write the feed does not show
        # costs its clients one download, and no write can leave them stale.
        first = client.get(URL)
        Meeting.objects.filter(pk=directory["hidden"].pk).delete()  # not in the feed
        assert client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200
        second = client.get(URL)
        assert client.get(URL, HTTP_IF_NONE_MATCH=second["ETag"]).status_code == 304

    def test_each_narrowing_has_its_own_etag(self, directory, client):
        assert client.get(URL, {"fellowship": "na"})["ETag"] != client.get(URL)["ETag"]

    def test_discovery_link_on_the_home_page(self, vocabularies, client):
        html = client.get("/").content.decode()
        assert ('<link rel="alternate" type="application/json" title="Meetings Feed" '
                'href="http://testserver/api/v1/feeds/meeting-guide.json">') in html


@pytest.mark.django_db
class TestStreaming:
    def test_queries_grow_with_chunks_not_meetings(self, vocabularies):
        office = ServiceBodyFactory(name="Central Office", slug="central-office")
        region = RegionFactory(name="Irvine", slug="irvine")
        for n in range(12):
            make_meeting(name=f"M{n}", day=n % 7, location=LocationFactory(region=region), types=("O", "D"),
                         service_body=office)
        with CaptureQueriesContext(connection) as queries:
            body = b"".join(meeting_guide_json(meetings=Meeting.objects.published().order_by("id"), chunk_size=5))
        records = json.loads(body)
        assert len(records) == 12
        assert all(r["types"] == ["D", "O"] and r["regions"] == ["Irvine"] for r in records)
        # types, service bodies, regions once; then per chunk of 5: the rows and their type links.
        # (SQLite reads all rows with the first fetch; PostgreSQL walks a server-side cursor.)
        assert len(queries) <= 3 + 2 * 3

    def test_pieces_are_chunks_not_the_whole_feed(self, vocabularies):
        office = ServiceBodyFactory(name="Central Office", slug="central-office")
        for n in range(7):
            make_meeting(name=f"M{n}", service_body=office)
        pieces = list(meeting_guide_json(meetings=Meeting.objects.published().order_by("id"), chunk_size=3))
        assert pieces[0] == b"[" and pieces[-1] == b"]"
        assert len(pieces) == 2 + 3  # 3 + 3 + 1 meetings
        assert len(json.loads(b"".join(pieces))) == 7


ROUND_TRIP_FIELDS = ("name", "day", "time", "timezone", "notes", "group", "group_notes", "url", "conference_url",
                     "conference_url_notes", "conference_phone_notes", "open_closed",
                     "attendance", "latitude", "longitude", "published")
LOCATION_FIELDS = ("name", "address", "city", "state", "postal_code", "country", "formatted_address", "latitude",
                   "longitude", "approximate", "notes")


def without_updated(records: list[dict]) -> list[dict]:
    """A feed's records by slug without their `updated` time, which an import writes anew."""
    return sorted(({k: v for k, v in r.items() if k != "updated"} for r in records), key=lambda r: r["slug"])


def _state(meeting: Meeting) -> dict:
    """A meeting as a reader sees it, field by field."""
    location = meeting.location
    region = location.region if location else None
    path = []
    while region is not None:
        path.insert(0, region.name)
        region = region.parent
    return {
        **{name: getattr(meeting, name) for name in ROUND_TRIP_FIELDS},
        # The feed writes a phone in the spec's characters: the same number, dialled the same.
        "conference_phone": dialled_phone(meeting.conference_phone),
        # A stated end and the default hour read the same: Meeting Guide always carries end_time.
        "end": schedule.wall_end(time=meeting.time, end_time=meeting.end_time) if meeting.time else None,
        "types": sorted(t.code for t in meeting.types.all()),
        "service_body": meeting.service_body.slug,
        "location": {name: getattr(location, name) for name in LOCATION_FIELDS} if location else None,
        "regions": path,
    }


@pytest.mark.django_db
def test_round_trip_into_an_empty_directory(vocabularies, client):
    """Export, empty the directory, import the export (issue 3's importer), and
    get the same meetings back, field by field; exporting again gives the same feed."""
    from meetings.feeds.importer import import_records
    from meetings.models import Location, Region

    county = RegionFactory(name="Orange County", slug="orange-county")
    irvine = RegionFactory(name="Irvine", slug="irvine", parent=county)
    office = ServiceBodyFactory(name="Central Office", slug="central-office", website="https://aa.example.org",
                                email="office@example.org", phone="555-0100")
    church = LocationFactory(name="Community Church", region=irvine, notes="Room 4")
    park = LocationFactory(name="", address="5 Park Ave", city="Tustin", postal_code="92780",
                           formatted_address="5 Park Ave, Tustin, CA 92780, USA", latitude=33.7458,
                           longitude=-117.8262, region=county)
    make_meeting(name="Morning Light", day=1, time="07:00", end_time=dt.time(8, 15), location=church,
                 types=("O", "D", "X"), service_body=office, group="Sunrise Group", group_notes="Since 1988",
                 notes="Bring a friend.\nCoffee at 6:45.", conference_url="https://zoom.us/j/5550100",
                 conference_url_notes="Passcode 1234", url="https://aa.example.org/meetings/morning-light/")
    make_meeting(name="Noon", day=3, time="12:00", location=church, types=("C", "BE", "S"), service_body=office)
    make_meeting(name="Park Step", day=6, time="23:30", location=park, types=("ST", "TC"), service_body=office,
                 conference_phone="+1 555 010 0103")
    make_meeting(name="Night Owls", day=5, time="21:00", no_location=True, timezone="America/New_York",
                 types=("O",), service_body=office, conference_url="https://meet.google.com/abc-defg-hij")
    before = {m.slug: _state(m) for m in Meeting.objects.all()}
    exported = feed(client)
    assert len(exported) == 4

    Meeting.objects.all().delete()
    Location.objects.all().delete()
    Region.objects.filter(parent__isnull=False).delete()
    Region.objects.all().delete()
    run = import_records(records=exported, fellowship=vocabularies["aa"], service_body=office)
    assert run.status == "succeeded", run.reason
    after = {m.slug: _state(m) for m in Meeting.objects.all()}

    assert set(after) == set(before)
    online = next(slug for slug, state in before.items() if state["name"] == "Night Owls")
    for slug, state in before.items():
        if slug == online:
            # It had no place; the feed gave it its zone's city, marked approximate, and that is what comes back.
            assert after[slug]["location"]["city"] == "New York"
            assert after[slug]["location"]["approximate"] is True
            # And the region the feed filed it under (MEETING_GUIDE_ONLINE_REGION).
            assert after[slug]["regions"] == ["Online"]
            placed = ("location", "latitude", "longitude", "regions")
            assert after[slug]["latitude"] == after[slug]["location"]["latitude"]
            assert {k: v for k, v in after[slug].items() if k not in placed} == {
                k: v for k, v in state.items() if k not in placed}
        else:
            assert after[slug] == state, slug
    again = feed(client)
    assert without_updated(again) == without_updated(exported)


def test_online_places_come_from_the_tzdata_package_without_system_zone_data(monkeypatch):
    """Slim containers have no /usr/share/zoneinfo: the zone table still comes from `tzdata`."""
    import zoneinfo

    from meetings.publish import places

    monkeypatch.setattr(zoneinfo, "TZPATH", ())
    places._zone_table.cache_clear()
    try:
        place = places.zone_place("America/Chicago")
        assert place is not None and place.city == "Chicago"
    finally:
        places._zone_table.cache_clear()


def test_every_fixed_offset_stand_in_keeps_that_offset_all_year_and_has_a_place():
    """The city shown for UTC or Etc/GMT+5 is in a zone at that offset in
    winter and in summer, so the place never says another hour than the zone."""
    import zoneinfo

    from meetings.publish import places

    for hours, name in places.FIXED_OFFSET_STAND_INS.items():
        zone = zoneinfo.ZoneInfo(name)
        for month in (1, 4, 7, 10):
            assert dt.datetime(2026, month, 15, tzinfo=zone).utcoffset() == dt.timedelta(hours=hours), name
        assert places.zone_place(name) is not None, name
    assert places.fixed_offset_hours("America/New_York") is None
    assert places.zone_place("EST5EDT") is None and places.zone_place("Etc/GMT+12") is None


@pytest.mark.parametrize("timezone, city", [("UTC", "Reykjavik"), ("Etc/UTC", "Reykjavik"),
                                            ("Etc/GMT+5", "Bogota"), ("Etc/GMT-9", "Tokyo")])
def test_an_online_meeting_in_a_zone_without_a_city_still_has_a_place(vocabularies, client, timezone, city):
    """tsml-ui drops a record with no address at all: an online meeting kept
    in UTC or an Etc/ zone was published with none."""
    make_meeting(name="Worldwide", day=2, time="12:00", no_location=True, timezone=timezone,
                 conference_url="https://zoom.us/j/123456789")
    [record] = feed(client)
    assert (record["timezone"], record["city"], record["approximate"]) == (timezone, city, "yes")
    assert record["formatted_address"].startswith(city) and "latitude" in record and "longitude" in record


def assert_tsml_ui_reads_it_as_we_do(records: list[dict]) -> None:
    """What tsml-ui needs to agree with the directory (issue 13): a closed
    meeting says `C` whatever its fellowship's default, every record is filed
    under a region, and provider hosts are written as tsml-ui matches them
    (lower case, no port)."""
    from urllib.parse import urlsplit

    closed = {m.slug for m in Meeting.objects.filter(open_closed="closed")}
    opened = {m.slug for m in Meeting.objects.filter(open_closed="open")}
    for r in records:
        where = r["slug"]
        assert ("C" in r["types"]) == (where in closed), (where, r["types"])
        assert ("O" in r["types"]) == (where in opened), (where, r["types"])
        assert r["regions"] and all(isinstance(name, str) and name for name in r["regions"]), where
        if "conference_url" in r:
            netloc = urlsplit(r["conference_url"]).netloc
            assert netloc == netloc.lower() and ":" not in netloc, (where, r["conference_url"])


@pytest.mark.django_db
class TestFellowshipMeaning:
    def test_closed_by_al_anons_rule_says_c(self, directory, client):
        meeting = make_meeting(name="Keep Coming Back", fellowship="al-anon", day=0, time="10:00",
                               service_body=directory["al_anon"].service_body, types=("D",))
        assert meeting.open_closed == "closed"
        record = next(r for r in feed(client) if r["slug"] == meeting.slug)
        assert record["types"] == ["C", "D"]

    def test_a_closed_code_wins_over_an_open_one_in_the_feed_too(self, vocabularies, client):
        meeting = make_meeting(name="Both", types=("C", "O", "D"))
        assert meeting.open_closed == "closed"
        assert feed(client)[0]["types"] == ["C", "D"]

    def test_codes_without_a_spec_twin_travel_in_the_fellowships_own_words(self, vocabularies, client):
        na = make_meeting(name="Clean", fellowship="na", types=("VM", "BT", "LC", "QA", "CLOSED"))
        alateen = make_meeting(name="Teens", fellowship="al-anon", types=("Y", "CAL", "DF", "CF", "P"))
        records = {r["slug"]: r for r in feed(client)}
        assert records[na.slug]["types"] == ["C"]
        assert records[na.slug]["fellowship"] == "na"
        assert records[na.slug]["fellowship_types"] == ["BT", "CLOSED", "LC", "QA", "VM"]
        assert records[alateen.slug]["types"] == ["C"]  # Alateen is not Young People
        assert records[alateen.slug]["fellowship"] == "al-anon"
        assert records[alateen.slug]["fellowship_types"] == ["CAL", "CF", "DF", "P", "Y"]

    @pytest.mark.parametrize("stored, written", [
        ("https://US02WEB.ZOOM.US/j/5550100?pwd=AbC", "https://us02web.zoom.us/j/5550100?pwd=AbC"),
        ("https://zoom.us:443/j/5550100", "https://zoom.us/j/5550100"),
        ("HTTPS://Meet.Google.com:443/abc-defg-hij", "https://meet.google.com/abc-defg-hij"),
        ("http://zoom.us:80/j/1", "http://zoom.us/j/1"),
        ("https://zoom.us:8443/j/1", "https://zoom.us:8443/j/1"),
    ])
    def test_provider_hosts_in_lower_case_without_default_ports(self, vocabularies, client, stored, written):
        make_meeting(name="Online", no_location=True, timezone="America/Chicago", conference_url=stored)
        assert feed(client)[0]["conference_url"] == written

    def test_online_meetings_without_a_place_get_the_online_region(self, directory, client):
        record = next(r for r in feed(client) if r["slug"] == directory["online"].slug)
        assert record["city"] == "New York"  # the zone's city, for the map
        assert record["regions"] == ["Online"]  # not filed under New York

    def test_online_meetings_placed_only_in_another_area_get_the_online_region(self, directory, client):
        """The sample's out-of-area online meetings: an approximate place in New York, no region."""
        new_york = LocationFactory(name="", address="", city="New York", state="NY", postal_code="",
                                   formatted_address="New York, NY, USA", latitude=40.7568, longitude=-73.9797,
                                   approximate=True, timezone="America/New_York")
        meeting = make_meeting(name="East Coast Sunrise", location=new_york, timezone="America/New_York",
                               conference_url="https://us02web.zoom.us/j/81993613770")
        assert meeting.attendance == "online"
        record = next(r for r in feed(client) if r["slug"] == meeting.slug)
        assert (record["city"], record["regions"]) == ("New York", ["Online"])

    def test_the_online_region_is_a_setting(self, directory, client, settings):
        settings.MEETING_GUIDE_ONLINE_REGION = "Online meetings"
        record = next(r for r in feed(client) if r["slug"] == directory["online"].slug)
        assert record["regions"] == ["Online meetings"]

    def test_a_placed_meeting_without_a_region_is_filed_under_its_city(self, directory, client):
        record = next(r for r in feed(client) if r["slug"] == directory["na"].slug)
        assert record["regions"] == ["Irvine"]

    def test_the_whole_feed_reads_in_tsml_ui_as_in_the_directory(self, directory, client):
        make_meeting(name="Loud Host", fellowship="al-anon", types=("Y",), no_location=True,
                     timezone="America/Phoenix", conference_url="https://US02WEB.ZOOM.US:443/j/9")
        records = feed(client)
        assert_follows_field_rules(records)
        assert_tsml_ui_reads_it_as_we_do(records)


def _round_trip(*, client, office, make) -> None:
    """Export, empty the directory, import the export into `office`, and get
    the same meetings back field by field; exporting again gives the same feed."""
    from meetings.feeds.importer import import_records
    from meetings.models import Location, Region

    make()
    before = {m.slug: _state(m) for m in Meeting.objects.all()}
    exported = feed(client)
    assert len(exported) == len(before)
    assert_tsml_ui_reads_it_as_we_do(exported)

    Meeting.objects.all().delete()
    Location.objects.all().delete()
    Region.objects.filter(parent__isnull=False).delete()
    Region.objects.all().delete()
    run = import_records(records=exported, fellowship=office.fellowship, service_body=office)
    assert run.status == "succeeded", run.reason
    assert run.unknown_types == {}
    after = {m.slug: _state(m) for m in Meeting.objects.all()}
    assert after == before
    again = feed(client)
    assert without_updated(again) == without_updated(exported)


@pytest.mark.django_db
def test_round_trip_of_na_meetings_keeps_every_code(vocabularies, client):
    office = ServiceBodyFactory(name="OC Area", slug="oc-area", fellowship=vocabularies["na"],
                                website="https://ocna.example.org")
    region = RegionFactory(name="Orange County", slug="orange-county")

    def make():
        hall = LocationFactory(name="Serenity Hall", region=region, notes="Back room")
        make_meeting(name="Just For Today", fellowship="na", day=2, time="19:30", end_time=dt.time(21, 0),
                     location=hall, service_body=office, types=("CLOSED", "BT", "LC", "QA", "es", "WCHR"))
        make_meeting(name="Virtual Recovery", fellowship="na", day=4, time="12:00", location=hall,
                     service_body=office, types=("OPEN", "VM", "GL", "SPAD"),
                     conference_url="https://zoom.us/j/5550199", conference_phone="+1 555 010 0199")
        make_meeting(name="Steps at Midnight", fellowship="na", day=6, time="23:00", end_time=dt.time(0, 30),
                     location=hall, service_body=office, types=("STEP", "SWG"))

    _round_trip(client=client, office=office, make=make)


@pytest.mark.django_db
def test_round_trip_of_al_anon_meetings_keeps_alateen_and_the_closed_rule(vocabularies, client):
    office = ServiceBodyFactory(name="OC Al-Anon", slug="oc-al-anon", fellowship=vocabularies["al-anon"])
    region = RegionFactory(name="Newport Beach", slug="newport-beach")

    def make():
        hall = LocationFactory(name="St. Mark", region=region, city="Newport Beach", postal_code="92660")
        make_meeting(name="Keep Coming Back", fellowship="al-anon", day=0, time="10:00", location=hall,
                     service_body=office, types=("D", "CAL", "DF"))
        make_meeting(name="Alateen", fellowship="al-anon", day=3, time="18:00", location=hall,
                     service_body=office, types=("Y", "CF", "P", "S"))
        make_meeting(name="Observers Welcome", fellowship="al-anon", day=5, time="19:00", location=hall,
                     service_body=office, types=("O", "B", "LIT"))
        make_meeting(name="Phone Meeting", fellowship="al-anon", day=1, time="20:00", location=hall,
                     service_body=office, conference_phone="+1 555 010 0150,,987#")

    _round_trip(client=client, office=office, make=make)


@pytest.mark.django_db
def test_round_trip_of_aa_meetings_in_their_own_words(vocabularies, client):
    office = ServiceBodyFactory(name="Central Office", slug="central-office")
    region = RegionFactory(name="Irvine", slug="irvine")

    def make():
        hall = LocationFactory(name="Community Church", region=region)
        make_meeting(name="Both Said", day=1, time="07:00", location=hall, service_body=office,
                     types=("C", "O", "B", "Y"))
        make_meeting(name="Plain", day=2, time="12:00", location=hall, service_body=office)

    _round_trip(client=client, office=office, make=make)
