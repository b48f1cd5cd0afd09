"""The Orange County sample directory and its loader (`meetings/sample_data.py`,
`manage.py load_sample_data`)."""

from __future__ import annotations

import copy
import datetime as dt
import importlib.util
import io
import json
import re
import sys
from collections import Counter, defaultdict
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fellowships.models import MeetingType, ServiceBody
from meetings import clock, geo
from meetings.geocoding import geocode
from meetings.models import Location, Meeting, Region
from meetings.sample_data import DEFAULT_PATH, SampleDataError, sample_data_load
from meetings.services import location_save, meeting_save
from tests.factories import make_meeting

pytestmark = pytest.mark.django_db
FILE = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
LA = ZoneInfo("America/Los_Angeles")
# Orange County, roughly.
OC_LATITUDES, OC_LONGITUDES = (33.38, 33.95), (-118.13, -117.41)
WRITE_RE = re.compile(r'^\s*(?:INSERT INTO|UPDATE|DELETE FROM)\s+"?(\w+)"?', re.IGNORECASE)


@pytest.fixture(scope="module")
def loaded_once(shared_rows):
    """A load of the module's own, for tests of the loader (made once: conftest's
    `shared_rows`); tests that only read the directory use the session's `oc_sample`."""
    with shared_rows():
        yield sample_data_load()


@pytest.fixture
def loaded(loaded_once, read_again):
    return read_again(loaded_once)


def _write(tmp_path, data) -> object:
    path = tmp_path / "sample.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _meeting_row(slug: str, data=FILE) -> dict:
    return next(m for m in data["meetings"] if m["slug"] == slug)


# --- loading ----------------------------------------------------------------

def test_load_on_empty_database_creates_the_whole_directory(loaded):
    assert loaded.meetings.created == len(FILE["meetings"]) == Meeting.objects.filter(feed_source__slug__startswith="sample-").count()
    assert loaded.locations.created == len(FILE["locations"]) == Location.objects.count()
    assert loaded.regions.created == len(FILE["regions"]) == Region.objects.count()
    assert loaded.service_bodies.created == len(FILE["service_bodies"]) == ServiceBody.objects.count()
    assert loaded.written == sum(len(FILE[k]) for k in ("meetings", "locations", "regions", "service_bodies"))
    central = ServiceBody.objects.get(slug="oc-aa-central-office")
    assert central.timezone == "America/Los_Angeles"
    assert set(central.children.values_list("slug", flat=True)) >= {"oc-aa-north-district", "oc-aa-south-district"}
    assert ServiceBody.objects.get(slug="oc-na-area").fellowship.slug == "na"
    assert ServiceBody.objects.get(slug="oc-al-anon-district").fellowship.slug == "al-anon"
    assert Region.objects.get(slug="irvine").parent.slug == "orange-county"
    # Derived fields come from the services, e.g. a Zoom link on a real venue is hybrid.
    meeting = Meeting.objects.get(slug="aa-serenity-seekers-irvine-tue")
    assert (meeting.attendance, meeting.conference_provider, meeting.open_closed) == ("hybrid", "Zoom", "open")
    assert (meeting.latitude, meeting.longitude) == (meeting.location.latitude, meeting.location.longitude)
    assert meeting.timezone == "America/Los_Angeles"
    assert sorted(meeting.types.values_list("code", flat=True)) == sorted(_meeting_row(meeting.slug)["types"])


def test_second_load_writes_nothing(loaded):
    before = {slug: updated for slug, updated in Meeting.objects.values_list("slug", "updated")}
    counts = [model.objects.count() for model in (Meeting, Location, Region, ServiceBody, MeetingType)]
    types = list(Meeting.types.through.objects.order_by("pk").values_list("pk", "meeting_id", "meetingtype_id"))
    with CaptureQueriesContext(connection) as queries:
        again = sample_data_load()
    assert again.written == 0
    assert again.meetings.unchanged == len(FILE["meetings"])
    assert again.locations.unchanged == len(FILE["locations"])
    assert {slug: updated for slug, updated in Meeting.objects.values_list("slug", "updated")} == before
    assert [model.objects.count() for model in (Meeting, Location, Region, ServiceBody, MeetingType)] == counts
    assert list(Meeting.types.through.objects.order_by("pk").values_list("pk", "meeting_id", "meetingtype_id")) == types
    written = {m.group(1) for q in queries.captured_queries if (m := WRITE_RE.match(q["sql"]))}
    assert written == set()
    # Matching is done in bulk, not a query per row.
    assert len(queries.captured_queries) < 40


def test_changed_file_updates_only_what_changed(loaded, tmp_path):
    data = copy.deepcopy(FILE)
    _meeting_row("aa-tuesday-night-big-book-newport-beach-tue", data)["time"] = "19:30"
    club = next(loc for loc in data["locations"] if loc["name"] == "Mesa Serenity Clubhouse")
    club["latitude"] = round(club["latitude"] + 0.001, 6)
    untouched = Meeting.objects.get(slug="aa-harbor-group-newport-beach-tue").updated

    report = sample_data_load(path=_write(tmp_path, data))

    # The meetings at the moved clubhouse changed too (their copy of its pin); nothing else did.
    at_club_slugs = set(Meeting.objects.filter(location__name="Mesa Serenity Clubhouse").values_list("slug", flat=True))
    assert "aa-tuesday-night-big-book-newport-beach-tue" not in at_club_slugs
    assert (report.meetings.updated, report.locations.updated) == (1 + len(at_club_slugs), 1)
    assert report.meetings_not_in_file == 0
    assert report.meetings.created == report.locations.created == 0
    assert Meeting.objects.get(slug="aa-tuesday-night-big-book-newport-beach-tue").time == dt.time(19, 30)
    assert Meeting.objects.get(slug="aa-harbor-group-newport-beach-tue").updated == untouched
    # Meetings at the moved clubhouse follow its pin.
    at_club = Meeting.objects.filter(location__name="Mesa Serenity Clubhouse")
    assert at_club.count() > 5
    assert set(at_club.values_list("latitude", flat=True)) == {club["latitude"]}


def test_meetings_dropped_from_the_file_are_kept_and_counted(loaded, tmp_path):
    data = copy.deepcopy(FILE)
    dropped = data["meetings"].pop()
    report = sample_data_load(path=_write(tmp_path, data))
    assert (report.meetings_not_in_file, report.written) == (1, 0)
    assert Meeting.objects.filter(slug=dropped["slug"], published=True).exists()


def test_bad_file_is_refused_and_changes_nothing(tmp_path):
    data = copy.deepcopy(FILE)
    data["meetings"][-1]["types"] = ["O", "NOPE"]
    with pytest.raises(SampleDataError, match=r"meeting '.+': unknown \w+ type codes: NOPE"):
        sample_data_load(path=_write(tmp_path, data))
    assert Meeting.objects.count() == Location.objects.count() == ServiceBody.objects.count() == 0

    with pytest.raises(SampleDataError, match="no sample data file"):
        sample_data_load(path=tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(SampleDataError, match="not valid JSON"):
        sample_data_load(path=tmp_path / "broken.json")


def test_does_not_overwrite_a_meeting_someone_else_made(vocabularies):
    slug = FILE["meetings"][0]["slug"]
    mine = make_meeting(name="Curated", slug=slug, source="admin")
    with pytest.raises(SampleDataError, match=slug):
        sample_data_load()
    mine.refresh_from_db()
    assert (mine.name, mine.source, Meeting.objects.count()) == ("Curated", "admin", 1)


def test_command_prints_counts_and_reports_bad_files(tmp_path):
    out = io.StringIO()
    call_command("load_sample_data", stdout=out)
    assert re.search(rf"meetings\s+{len(FILE['meetings'])}\s+0\s+0", out.getvalue())
    out = io.StringIO()
    call_command("load_sample_data", stdout=out)
    assert re.search(rf"meetings\s+0\s+0\s+{len(FILE['meetings'])}", out.getvalue())
    assert "nothing written" in out.getvalue()
    with pytest.raises(CommandError, match="Nothing was loaded: no sample data file"):
        call_command("load_sample_data", "--path", str(tmp_path / "missing.json"))


# --- the directory's contents ----------------------------------------------

def test_generator_is_deterministic_and_matches_the_committed_file(monkeypatch):
    script = DEFAULT_PATH.parent / "generate_orange_county.py"
    spec = importlib.util.spec_from_file_location("generate_orange_county", script)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    assert module.build() == FILE
    assert module.build(seed=1) != FILE  # the seed matters, so the check above means something


def test_each_fellowship_has_its_share(oc_sample):
    counts = Counter(Meeting.objects.values_list("fellowship__slug", flat=True))
    total = sum(counts.values())
    assert total >= 330
    assert counts["aa"] >= 190 and counts["na"] >= 80 and counts["al-anon"] >= 45
    assert 0.55 <= counts["aa"] / total <= 0.65
    assert 0.20 <= counts["na"] / total <= 0.30
    assert 0.10 <= counts["al-anon"] / total <= 0.20


def test_the_mix_a_directory_needs(oc_sample):
    meetings = Meeting.objects.select_related("fellowship", "location")
    assert set(meetings.values_list("attendance", flat=True)) == {"in_person", "hybrid", "online", "inactive"}
    for slug in ("aa", "na", "al-anon"):
        mine = meetings.filter(fellowship__slug=slug)
        assert set(mine.values_list("open_closed", flat=True)) >= {"open", "closed"}, slug
        assert mine.filter(types__language="es").exists(), f"no Spanish {slug} meeting"
        assert mine.filter(day__isnull=True, time__isnull=True).exists(), f"no by-appointment {slug} meeting"
        assert set(mine.values_list("day", flat=True)) >= set(range(7)), slug
        assert mine.filter(attendance__in=["online", "hybrid"]).exists(), slug
    assert meetings.filter(fellowship__slug="aa", types__code="S").exists()
    assert meetings.filter(fellowship__slug="na", types__code="es").exists()
    assert meetings.filter(fellowship__slug="al-anon", types__code="S").exists()
    alateen = meetings.filter(fellowship__slug="al-anon", types__code="Y")
    assert alateen.count() >= 2 and all(m.service_body.slug == "oc-alateen" for m in alateen)
    assert meetings.filter(time__lte=dt.time(6, 30)).exists()
    assert meetings.filter(time__gte=dt.time(23, 0)).exists()
    temporarily_closed = meetings.filter(types__code="TC")
    assert set(temporarily_closed.values_list("attendance", flat=True)) == {"online", "inactive"}
    online = meetings.filter(attendance="online", location__approximate=True)
    assert {m.conference_provider for m in online} >= {"Zoom", "Google Meet"}
    assert all(m.conference_phone for m in online.exclude(types__code="TC"))
    # Clubhouses host many meetings.
    assert max(Counter(meetings.exclude(location__approximate=True).values_list("location", flat=True)).values()) >= 15


def test_groups_meeting_on_several_days_share_group_and_source_key_stem(oc_sample):
    by_stem = defaultdict(list)
    for meeting in Meeting.objects.filter(feed_source__slug__startswith="sample-"):
        stem, _, suffix = meeting.source_key.rpartition("/")
        by_stem[stem].append((meeting.group, meeting.day, suffix))
    several = {stem: rows for stem, rows in by_stem.items() if len(rows) > 1}
    assert len(several) >= 10
    for stem, rows in several.items():
        assert len({group for group, _, _ in rows}) == 1, stem
        assert len({day for _, day, _ in rows}) == len(rows), stem  # one row per weekday
    assert sorted(d for _, d, _ in by_stem["aa/nooner-costa-mesa"]) == [1, 2, 3, 4, 5]


def test_online_meetings_in_other_time_zones(oc_sample, api):
    elsewhere = Meeting.objects.exclude(timezone="America/Los_Angeles").exclude(day__isnull=True)
    assert {"America/New_York", "America/Phoenix"} <= set(elsewhere.values_list("timezone", flat=True))
    assert set(elsewhere.values_list("attendance", flat=True)) == {"online"}
    meeting = elsewhere.filter(timezone="America/New_York", time=dt.time(7, 0)).first()
    assert meeting is not None and meeting.location.timezone == "America/New_York"
    body = api.get(f"/api/v1/meetings/{meeting.slug}/").json()
    start = dt.datetime.fromisoformat(body["next_start"].replace("Z", "+00:00"))
    assert start.astimezone(ZoneInfo("America/New_York")).time() == dt.time(7, 0)
    assert start.astimezone(LA).time() == dt.time(4, 0)


def test_no_real_looking_personal_data():
    strings: list[str] = []

    def walk(value):
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(FILE)
    text = "\n".join(strings)
    emails = re.findall(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)", text)
    assert emails and all(domain == "example.org" or domain.endswith(".example.org") for domain in emails)
    phones = re.findall(r"\(?\b\d{3}\)?[ .-]?(\d{3})[ .-](\d{4})\b", text)
    assert len(phones) >= 50
    assert all(exchange == "555" and line.startswith("01") for exchange, line in phones), phones
    hosts = {urlsplit(url).hostname for url in re.findall(r"https?://[^\s,]+", text)}
    allowed = ("example.org", "zoom.us", "meet.google.com")
    assert hosts and all(any(host == a or host.endswith("." + a) for a in allowed) for host in hosts), hosts


def test_coordinates_lie_in_orange_county_except_city_level_online_places(oc_sample):
    venues = Location.objects.filter(approximate=False)
    assert venues.count() >= 80
    for location in venues:
        assert OC_LATITUDES[0] <= location.latitude <= OC_LATITUDES[1], location
        assert OC_LONGITUDES[0] <= location.longitude <= OC_LONGITUDES[1], location
        assert re.fullmatch(rf".+, {re.escape(location.city)}, CA \d{{5}}, USA", location.formatted_address)
    placeholders = Location.objects.filter(approximate=True)
    assert placeholders.count() >= 5
    for location in placeholders:
        # City-level: the city's centre as the gazetteer knows it, no street.
        centre = geocode(f"{location.city}, {location.state}")
        assert (location.address, location.name) == ("", "")
        assert abs(location.latitude - centre.latitude) < 1e-3 and abs(location.longitude - centre.longitude) < 1e-3
    assert placeholders.filter(city="New York").exists()
    for meeting in Meeting.objects.select_related("location").exclude(location=None):
        assert (meeting.latitude, meeting.longitude) == (meeting.location.latitude, meeting.location.longitude)


def test_readme_query_finds_aa_open_tuesday_meetings_near_newport_beach(oc_sample, api):
    url = "/api/v1/meetings/?near=92660&radius=10&units=mi&fellowship=aa&open=open&day=2"
    response = api.get(url + "&limit=200")
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) >= 5
    distances = [m["distance"] for m in results]
    assert distances == sorted(distances) and distances[-1] <= 10
    assert {(m["fellowship"], m["open_closed"], m["day"]) for m in results} == {("aa", "open", 2)}
    assert sum(1 for m in results if m["attendance_option"] in ("in_person", "hybrid")) >= 5
    # Nothing within the radius is missed; online-only meetings (a city pin, no door) are not near anything.
    centre = geocode("92660")
    expected = {
        m.slug for m in Meeting.objects.filter(fellowship__slug="aa", open_closed="open", day=2, published=True)
        .exclude(attendance="online")
        if geo.great_circle_m(centre.latitude, centre.longitude, m.latitude, m.longitude) <= geo.to_metres(10, "mi")
    }
    assert {m["slug"] for m in results} == expected
    assert api.get(url).json()["count"] == len(expected)


def test_online_meeting_starting_within_the_hour_through_the_day(oc_sample, api, monkeypatch):
    # A week in winter (PST) and a day in summer (PDT), from early morning to late evening.
    dates = [dt.date(2025, 1, 12) + dt.timedelta(days=n) for n in range(7)] + [dt.date(2025, 7, 16)]
    for date in dates:
        for local in ("06:10", "09:40", "13:40", "16:50", "19:25", "22:10"):
            now = dt.datetime.combine(date, dt.time.fromisoformat(local), tzinfo=LA)
            monkeypatch.setattr(clock, "now", lambda now=now: now)
            body = api.get("/api/v1/meetings/?attendance=online&starting_within=60").json()
            assert body["count"] >= 1, f"nothing online starting within an hour of {now}"


def test_slugs_are_stable_and_fellowship_prefixed():
    slugs = [m["slug"] for m in FILE["meetings"]]
    assert len(slugs) == len(set(slugs))
    assert all(re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", s) and len(s) <= 64 for s in slugs)
    assert all(m["slug"].startswith(m["fellowship"] + "-") for m in FILE["meetings"])
    assert {"aa-nooner-costa-mesa-tue", "aa-serenity-seekers-irvine-tue", "na-grupo-rendicion-santa-ana-tue"} <= set(
        slugs)


# --- curators' edits survive loading again (the sample is a feed) -------------

def _serenity_and_its_place():
    meeting = Meeting.objects.select_related("location").get(slug="aa-serenity-seekers-irvine-tue")
    key = meeting.location.source_key.removeprefix("key:")
    return meeting, meeting.location, key


def _file_changing(slug: str, place_key: str) -> dict:
    """A later version of the file that changes the very fields curators
    edited, and others beside them."""
    data = copy.deepcopy(FILE)
    row = _meeting_row(slug, data)
    row.update(notes="The file's note", name="Serenity Seekers Renamed")
    place = next(loc for loc in data["locations"] if loc["key"] == place_key)
    place.update(latitude=round(place["latitude"] + 0.01, 6), notes="The file's place note", name="Renamed Hall")
    return data


def test_a_place_the_file_renames_is_found_by_its_new_name_for_every_meeting_there(loaded, tmp_path, client):
    """The meetings at a place the file describes anew follow it, the file's
    own and one a curator added there: pin, and the search text of a keyword search."""
    meeting, location, key = _serenity_and_its_place()
    make_meeting(name="Added by hand", location=location)  # written by no feed
    there = set(Meeting.objects.filter(location=location, published=True).values_list("slug", flat=True))
    assert len(there) > 1
    sample_data_load(path=_write(tmp_path, _file_changing(meeting.slug, key)))
    location.refresh_from_db()
    assert location.name == "Renamed Hall"
    found = client.get("/api/v1/meetings/", {"q": "renamed hall", "limit": 100}).json()["results"]
    assert {m["slug"] for m in found} == there
    assert set(Meeting.objects.filter(location=location).values_list("latitude", flat=True)) == {location.latitude}


def test_edits_made_in_the_admin_survive_loading_again(loaded, admin_client, tmp_path):
    meeting, location, key = _serenity_and_its_place()
    form = {
        "name": meeting.name, "slug": meeting.slug, "fellowship": meeting.fellowship_id,
        "service_body": meeting.service_body_id, "group": meeting.group, "url": meeting.url,
        "notes": "Side door after 7 pm", "group_notes": meeting.group_notes, "day": meeting.day,
        "time": meeting.time.strftime("%H:%M"), "end_time": meeting.end_time.strftime("%H:%M") if meeting.end_time else "",
        "timezone": meeting.timezone, "location": location.pk, "conference_url": meeting.conference_url,
        "conference_url_notes": meeting.conference_url_notes, "conference_phone": meeting.conference_phone,
        "conference_phone_notes": meeting.conference_phone_notes, "types": [t.pk for t in meeting.types.all()],
        "review_reason": meeting.review_reason, "published": "on",
    }
    response = admin_client.post(f"/admin/meetings/meeting/{meeting.pk}/change/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    place_form = {name: getattr(location, name) for name in (
        "name", "address", "city", "state", "postal_code", "country", "formatted_address", "timezone")}
    place_form.update(latitude=33.7001, longitude=-117.8002, notes="Park behind the hall",
                      region=location.region_id or "")
    response = admin_client.post(f"/admin/meetings/location/{location.pk}/change/", place_form)
    assert response.status_code == 302, response.context["adminform"].form.errors

    out = io.StringIO()
    call_command("load_sample_data", stdout=out)  # what `make run` does on every start
    assert "nothing written" in out.getvalue()
    meeting.refresh_from_db()
    location.refresh_from_db()
    assert meeting.notes == "Side door after 7 pm"
    assert (location.latitude, location.longitude, location.notes, location.geocode_status) == (
        33.7001, -117.8002, "Park behind the hall", "manual")
    assert (meeting.latitude, meeting.longitude) == (33.7001, -117.8002)

    sample_data_load(path=_write(tmp_path, _file_changing(meeting.slug, key)))
    meeting.refresh_from_db()
    location.refresh_from_db()
    assert (meeting.notes, meeting.name) == ("Side door after 7 pm", "Serenity Seekers Renamed")
    assert (location.latitude, location.notes, location.name) == (33.7001, "Park behind the hall", "Renamed Hall")
    assert (meeting.latitude, meeting.longitude) == (33.7001, -117.8002)
    assert meeting.feed_values["notes"] == "The file's note"


def test_edits_made_through_the_services_survive_a_changed_file(loaded, tmp_path):
    meeting, location, key = _serenity_and_its_place()
    meeting.notes = "Side door after 7 pm"
    meeting_save(meeting=meeting)
    location.latitude, location.longitude, location.notes = 33.7001, -117.8002, "Park behind the hall"
    location_save(location=location, address_changed=False, coordinates_changed=True)

    again = sample_data_load()
    assert again.written == 0
    report = sample_data_load(path=_write(tmp_path, _file_changing(meeting.slug, key)))
    assert report.locations.updated == 1
    meeting.refresh_from_db()
    location.refresh_from_db()
    assert (meeting.notes, meeting.name, meeting.locked_fields) == (
        "Side door after 7 pm", "Serenity Seekers Renamed", ["notes"])
    assert (location.latitude, location.longitude, location.notes, location.name) == (
        33.7001, -117.8002, "Park behind the hall", "Renamed Hall")
    assert set(location.locked_fields) == {"latitude", "longitude", "notes"}
    # Another meeting at the same place shows the curator's pin too.
    neighbours = Meeting.objects.filter(location=location).exclude(pk=meeting.pk)
    assert set(neighbours.values_list("latitude", "longitude")) <= {(33.7001, -117.8002)}


def test_sample_meetings_are_a_feed_of_their_own_per_service_body(loaded):
    from meetings.models import FeedSource

    sources = FeedSource.objects.filter(slug__startswith="sample-")
    assert sources.count() == len({m["service_body"] for m in FILE["meetings"]})
    assert not sources.filter(enabled=True).exists()  # nothing fetches them
    meeting = Meeting.objects.get(slug="aa-nooner-costa-mesa-mon")
    assert meeting.feed_source.service_body == meeting.service_body and meeting.source_key == "aa/nooner-costa-mesa/mon"


def test_rows_loaded_before_the_sample_was_a_feed_are_adopted_with_their_edits(loaded):
    from meetings.models import FeedSource

    # What the loader used to leave: meetings with source "sample", plain locations.
    sources = FeedSource.objects.filter(slug__startswith="sample-")
    Meeting.objects.filter(feed_source__in=sources).update(source="sample", feed_source=None, content_hash="",
                                                           feed_values={}, locked_fields=[])
    Location.objects.update(source="", source_key="", feed_values={}, locked_fields=[])
    sources.delete()
    meeting = Meeting.objects.get(slug="aa-serenity-seekers-irvine-tue")
    Meeting.objects.filter(pk=meeting.pk).update(notes="A curator's note from before")

    sample_data_load()
    meeting.refresh_from_db()
    assert (meeting.notes, meeting.locked_fields) == ("A curator's note from before", ["notes"])
    assert meeting.feed_source.slug == f"sample-{meeting.service_body.slug}"
    assert Location.objects.count() == len(FILE["locations"])  # the same halls, not copies
    assert Meeting.objects.count() == len(FILE["meetings"])
    assert sample_data_load().written == 0


def test_what_a_person_changed_in_regions_and_service_bodies_survives_loading_again(loaded, admin_client):
    """`make run` loads the sample on every start: a region renamed and moved
    and a service body's website edited in the admin stay as they were left."""
    south = Region.objects.create(slug="south-county", name="South County",
                                  parent=Region.objects.get(slug="orange-county"))
    region = Region.objects.get(slug="dana-point")
    response = admin_client.post(f"/admin/meetings/region/{region.pk}/change/",
                                 {"name": "Dana Point Harbor", "slug": "dana-point", "parent": south.pk})
    assert response.status_code == 302, response.context["adminform"].form.errors
    body = ServiceBody.objects.get(slug="oc-aa-central-office")
    form = {name: getattr(body, name) for name in (
        "name", "slug", "location", "timezone", "default_language", "email", "phone")}
    form.update(fellowship=body.fellowship_id, parent="", website="https://aa-oc.example.org/new")
    response = admin_client.post(f"/admin/fellowships/servicebody/{body.pk}/change/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors

    out = io.StringIO()
    call_command("load_sample_data", stdout=out)  # what `make run` does on every start

    region.refresh_from_db()
    body.refresh_from_db()
    assert (region.name, region.parent_id) == ("Dana Point Harbor", south.pk)
    assert body.website == "https://aa-oc.example.org/new"
    assert re.search(r"service bodies\s+0\s+0\s+\d+", out.getvalue())
    assert re.search(r"regions\s+0\s+0\s+\d+", out.getvalue())
    assert "service bodies: 1 kept as changed" in out.getvalue() and "regions: 1 kept as changed" in out.getvalue()
    assert "nothing written" in out.getvalue()
    # The meetings and halls in the renamed region stay in it.
    assert Location.objects.filter(region=region).count() == len(
        [loc for loc in FILE["locations"] if loc.get("region") == "dana-point"])


def test_a_sample_row_deleted_is_made_again_without_touching_the_others(loaded):
    Region.objects.filter(slug="brea").update(name="Brea (north)")
    Location.objects.filter(region__slug="aliso-viejo").update(region=None)
    Region.objects.filter(slug="aliso-viejo").delete()
    report = sample_data_load()
    assert (report.regions.created, report.regions.kept) == (1, 1)
    assert Region.objects.get(slug="aliso-viejo").parent.slug == "orange-county"
    assert Region.objects.get(slug="brea").name == "Brea (north)"


def test_a_time_with_seconds_is_refused(tmp_path):
    data = copy.deepcopy(FILE)
    data["meetings"][-1]["time"] = "19:00:30"
    with pytest.raises(SampleDataError, match=r"meeting '.+': 'time' must be HH:MM, not '19:00:30'"):
        sample_data_load(path=_write(tmp_path, data))
    assert Meeting.objects.count() == 0
