import datetime as dt
import json
from pathlib import Path

import pytest

from meetings.feeds import bmlt
from meetings.feeds.records import RecordRejected

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
ROOT = "https://bmlt.example.org/main_server"
FORMATS = [
    {"id": "1", "key_string": "C", "world_id": "CLOSED"},
    {"id": "2", "key_string": "O", "world_id": "OPEN"},
    {"id": "3", "key_string": "VM", "world_id": "VM"},
    {"id": "4", "key_string": "TC", "world_id": "TC"},
    {"id": "5", "key_string": "HY", "world_id": "HYBR"},
    {"id": "6", "key_string": "RF", "world_id": ""},
]


def record(**fields):
    return {"id_bigint": "10", "meeting_name": "Just for Today", "weekday_tinyint": "2", "start_time": "19:00:00",
            "duration_time": "01:00:00", "time_zone": "America/New_York", "location_street": "1 Main St",
            "location_municipality": "Auburn", "location_province": "NY", "latitude": "42.93",
            "longitude": "-76.56", "format_shared_id_list": "", "formats": "", **fields}


def parse(*records, formats=FORMATS, default_closed=None):
    return bmlt.parse_bmlt(list(records), formats=formats, root=ROOT, default_closed=default_closed)


@pytest.mark.parametrize("value, expected", [("1", 0), ("2", 1), ("7", 6)])
def test_weekday_one_is_sunday(value, expected):
    assert bmlt.read_weekday(value) == expected


@pytest.mark.parametrize("value", ["0", "8", "", "Monday"])
def test_weekday_out_of_range_is_rejected(value):
    with pytest.raises(RecordRejected):
        bmlt.read_weekday(value)


@pytest.mark.parametrize("value, minutes", [
    ("01:00:00", 60), ("01:00", 60), ("1:00:00", 60), ("01:30:00", 90), ("24:00:00", 1440), ("junk", None),
])
def test_durations_in_several_shapes(value, minutes):
    assert bmlt.read_duration(value) == minutes


def test_end_time_from_duration_wraps_past_midnight():
    meeting = parse(record(start_time="23:30:00", duration_time="1:00:00")).meetings[0]
    assert (meeting.day, meeting.time, meeting.end_time) == (1, dt.time(23, 30), dt.time(0, 30))


def test_legacy_prompt_values_keep_the_part_after_the_separator():
    assert bmlt.legacy_value("Bus Lines#@-@#On CAT bus line") == "On CAT bus line"
    meeting = parse(record(location_text="Venue#@-@#Hall")).meetings[0]
    assert meeting.location_name == "Hall"


def test_formats_map_by_world_id_not_by_language_key():
    # Portuguese server: Closed is "F"; its id still joins to world id CLOSED.
    portuguese = [{"id": "9", "key_string": "F", "world_id": "CLOSED"}]
    meeting = parse(record(format_shared_id_list="9", formats="F"), formats=portuguese).meetings[0]
    assert meeting.type_tokens == ["CLOSED"]


def test_keys_without_world_id_are_kept_for_the_report():
    meeting = parse(record(format_shared_id_list="2,6")).meetings[0]
    assert meeting.type_tokens == ["OPEN", "key:RF"]


def test_keys_joined_through_used_formats_when_no_id_list():
    meeting = parse(record(formats="C,RF")).meetings[0]
    assert meeting.type_tokens == ["CLOSED", "key:RF"]


def test_server_default_closed_status_when_formats_say_neither():
    assert "CLOSED" in parse(record(), default_closed=True).meetings[0].type_tokens
    assert "OPEN" in parse(record(), default_closed=False).meetings[0].type_tokens
    assert "CLOSED" not in parse(record(format_shared_id_list="2"), default_closed=True).meetings[0].type_tokens


def test_empty_venue_type_falls_back_to_formats():
    virtual = parse(record(venue_type="", format_shared_id_list="3", location_street="")).meetings[0]
    assert virtual.approximate is True and virtual.latitude is None
    hybrid = parse(record(venue_type="", format_shared_id_list="5")).meetings[0]
    assert hybrid.approximate is False and hybrid.latitude == 42.93


def test_link_hidden_in_comments_and_placeholder_coordinates_dropped():
    parsed = parse(record(venue_type="2", location_street="", comments="Join: https://us02web.zoom.us/j/555.",
                          virtual_meeting_link=""))
    meeting = parsed.meetings[0]
    assert meeting.conference_url == "https://us02web.zoom.us/j/555"
    assert (meeting.latitude, meeting.longitude) == (None, None)
    assert {n.field for n in parsed.notes} == {"comments", "latitude"}


def test_zero_coordinates_are_placeholders():
    meeting = parse(record(latitude="0", longitude="0")).meetings[0]
    assert meeting.latitude is None


def test_key_is_root_server_and_id_and_missing_id_is_rejected():
    parsed = parse(record(root_server_uri="https://other.example.org/main_server"), record(id_bigint=""))
    assert parsed.meetings[0].key == "https://other.example.org/main_server#10"
    assert parsed.notes[0].kind == "rejected" and parsed.notes[0].field == "id_bigint"


def test_search_url_uses_array_parameters():
    url = bmlt.search_url(root=ROOT + "/", service_body_ids=["5", "6"])
    assert url.startswith(ROOT + "/client_interface/json/?switcher=GetSearchResults")
    assert "services%5B%5D=5&services%5B%5D=6&recursive=1" in url


def test_server_info_default_closed_status():
    info = json.loads((FEEDS / "bmlt_yap_latest-aws_GetServerInfo_REDACTED.json").read_text())
    assert bmlt.default_closed_status(info) is True


def test_real_search_results_with_used_formats():
    data = json.loads((FEEDS / "bmlt_yap_latest-aws_GetSearchResults_geo_nearest50_weekday2_get_used_formats.json")
                      .read_text())
    meetings, formats = bmlt.split_search_results(data)
    parsed = bmlt.parse_bmlt(meetings, formats=formats, root="https://latest.aws.bmlt.app/main_server")
    assert len(parsed.meetings) == 53 and not parsed.notes
    assert {m.day for m in parsed.meetings} == {1}  # a Monday search: weekday 2
    first = next(m for m in parsed.meetings if m.key.endswith("#2566"))
    assert first.type_tokens[0] == "OPEN" and "key:RF" not in first.type_tokens


def test_real_full_field_record_with_legacy_values_and_empty_venue():
    meetings = json.loads((FEEDS / "bmlt_dijon-test-mock_GetSearchResults_fullfields_sezf.json").read_text())
    formats = json.loads((FEEDS / "bmlt_sezf_GetFormats_for_tests.json").read_text())
    parsed = bmlt.parse_bmlt(meetings, formats=formats, root="")
    meeting = parsed.meetings[0]
    assert meeting.key == "https://bmlt.sezf.org/main_server#6102"
    assert (meeting.day, meeting.time, meeting.end_time) == (0, dt.time(16), dt.time(17))
    assert meeting.type_tokens == ["OPEN", "CW", "DISC", "TOP", "key:To", "TC", "en"]
    assert meeting.published is False and meeting.approximate is False


def test_real_virtual_meetings():
    meetings = json.loads((FEEDS / "bmlt_virtual-na_testmock_GetSearchResults_2virtual.json").read_text())
    formats = json.loads((FEEDS / "bmlt_virtual-na_GetFormats_for_tests.json").read_text())
    parsed = bmlt.parse_bmlt(meetings, formats=formats, root="")
    assert [m.conference_url for m in parsed.meetings] == [
        "https://us04web.zoom.us/j/9998886262", "https://zoom.us/j/9119111212"]
    assert all(m.latitude is None and m.approximate for m in parsed.meetings)
    assert [m.timezone for m in parsed.meetings] == ["America/Sao_Paulo", "Europe/Moscow"]


LANGUAGE_FORMATS = [*FORMATS, {"id": "9", "key_string": "ES", "name_string": "Espanol", "world_id": "LANG"},
                    {"id": "11", "key_string": "ASL", "world_id": "LANG"}]


def test_a_language_format_makes_the_meeting_that_language():
    meeting = parse(record(format_shared_id_list="1,9", lang_enum="en"), formats=LANGUAGE_FORMATS).meetings[0]
    # Spanish, not the server's English; not a bare "Alternate Language".
    assert meeting.type_tokens == ["CLOSED", "es"]


def test_a_language_format_with_no_iso_key_stays_alternate_language():
    meeting = parse(record(format_shared_id_list="11", lang_enum="en"), formats=LANGUAGE_FORMATS).meetings[0]
    assert meeting.type_tokens == ["LANG", "en"]


def test_lang_enum_is_the_language_when_no_format_says_one():
    meeting = parse(record(lang_enum="PT")).meetings[0]
    assert meeting.type_tokens == ["pt"]
    assert parse(record(lang_enum="portugues")).meetings[0].type_tokens == []


def test_formatted_address_is_composed_from_the_parts():
    meeting = parse(record(location_street="8 Bell Ave", location_municipality="Auburn", location_province="NY",
                           location_postal_code_1="13021", location_nation="US")).meetings[0]
    assert meeting.formatted_address == "8 Bell Ave, Auburn, NY 13021, US"
    virtual = parse(record(location_street="", location_municipality="", location_province="",
                           venue_type="2", latitude="0", longitude="0")).meetings[0]
    assert virtual.formatted_address == ""


def test_region_from_county_and_city_when_none_is_given():
    meeting = parse(record(location_sub_province="Cayuga", location_municipality="Auburn")).meetings[0]
    assert meeting.regions == ["Cayuga", "Auburn"]
    assert parse(record(location_municipality="", location_city_subsection="Old Town")).meetings[0].regions == [
        "Old Town"]


@pytest.mark.django_db
def test_languages_land_in_each_fellowships_vocabulary(vocabularies):
    """Spanish is NA's `es`, AA's `S` and Al-Anon's `S`; a Portuguese server's
    meetings are Portuguese (AA `POR`), never an unknown code `pt`."""
    from meetings.feeds.importer import import_records
    from meetings.models import Meeting
    from tests.factories import ServiceBodyFactory

    spanish = record(format_shared_id_list="9", lang_enum="en")
    portuguese = record(id_bigint="11", lang_enum="pt")
    expected = {"na": {"10": ["es"], "11": ["pt"]}, "aa": {"10": ["S"], "11": ["POR"]},
                "al-anon": {"10": ["S"]}}
    for slug, codes in expected.items():
        body = ServiceBodyFactory(name=f"{slug} body", fellowship=vocabularies[slug])
        run = import_records(records=[spanish, portuguese] if slug != "al-anon" else [spanish], service_body=body,
                             fellowship=vocabularies[slug], format="bmlt", bmlt_formats=LANGUAGE_FORMATS)
        assert run.status == "succeeded", run.reason
        assert run.unknown_types == {}, slug
        got = {m.source_key.rsplit("#", 1)[1]: sorted(t.code for t in m.types.all())
               for m in Meeting.objects.filter(service_body=body)}
        assert got == codes, slug
        located = Meeting.objects.filter(service_body=body).first().location
        assert located.formatted_address == "1 Main St, Auburn, NY"
        assert located.region.name == "Auburn"


# A root server's three answers, as the importer fetches them -------------------

YAP_ROOT = "https://latest.aws.bmlt.app/main_server"


def root_server(monkeypatch, *, search_results) -> dict:
    """Serve GetSearchResults (`search_results`, replaceable through the
    returned dict), and the recorded GetFormats and GetServerInfo
    (default_closed_status true) of the yap server, for any root URL."""
    from meetings.feeds import fetch

    answers = {
        "GetSearchResults": search_results,
        "GetFormats": (FEEDS / "bmlt_yap_latest-aws_GetFormats.json").read_text(),
        "GetServerInfo": (FEEDS / "bmlt_yap_latest-aws_GetServerInfo_REDACTED.json").read_text(),
    }

    def fetch_url(url, *, etag="", last_modified=""):
        switcher = url.split("switcher=", 1)[1].split("&", 1)[0]
        text = answers[switcher]
        return fetch.Fetched(text=text if isinstance(text, str) else json.dumps(text),
                             content_type="application/json", url=url)

    monkeypatch.setattr(fetch, "fetch_url", fetch_url)
    return answers


def yap_record(meeting_id: str, formats: str, **fields) -> dict:
    # Formats of the yap server: 1 is B (world id BEG), 17 is O (world id OPEN).
    return record(id_bigint=meeting_id, format_shared_id_list=formats, formats="", **fields)


def stored_types(source) -> dict[str, tuple[list[str], str]]:
    from meetings.models import Meeting

    return {m.source_key.rsplit("#", 1)[1]: (sorted(t.code for t in m.types.all()), m.open_closed)
            for m in Meeting.objects.filter(source=source.meeting_source, removed=False)}


@pytest.mark.django_db
@pytest.mark.parametrize("envelope", [False, True], ids=["bare array", "meetings and formats"])
def test_a_root_server_import_reads_its_formats_and_default_closed_status(vocabularies, monkeypatch, envelope):
    """GetFormats and GetServerInfo are JSON arrays: read as such, a record
    with only "Beginners" is closed by the server's default."""
    from meetings.feeds.importer import feed_import
    from tests.factories import make_source

    records = [yap_record("1", "1,17"), yap_record("2", "1")]
    used = [f for f in json.loads((FEEDS / "bmlt_yap_latest-aws_GetFormats.json").read_text())
            if f["id"] in ("1", "17")]
    root_server(monkeypatch, search_results={"meetings": records, "formats": used} if envelope else records)
    source = make_source("yap", fellowship="na", format="bmlt", url=YAP_ROOT)
    run = feed_import(source_id=source.pk)
    assert run.status == "succeeded", run.reason
    assert (run.unknown_types, list(run.issues.all())) == ({}, [])
    assert stored_types(source) == {"1": (["BEG", "OPEN"], "open"), "2": (["BEG", "CLOSED"], "closed")}


@pytest.mark.django_db
def test_a_root_server_without_server_info_imports_with_formats_only(vocabularies, monkeypatch):
    from meetings.feeds.importer import feed_import
    from tests.factories import make_source

    answers = root_server(monkeypatch, search_results=[yap_record("1", "1,17"), yap_record("2", "1")])
    answers["GetServerInfo"] = "<html>Not found</html>"  # older servers
    source = make_source("yap", fellowship="na", format="bmlt", url=YAP_ROOT)
    run = feed_import(source_id=source.pk)
    assert run.status == "succeeded", run.reason
    assert stored_types(source) == {"1": (["BEG", "OPEN"], "open"), "2": (["BEG"], "")}


@pytest.mark.django_db
def test_an_approved_held_root_server_run_keeps_its_formats_and_default(vocabularies, monkeypatch):
    """A held run is applied later from what it stored: GetFormats and the
    server's default open/closed are part of it, not only GetSearchResults."""
    from meetings.feeds.importer import feed_import, import_run_approve
    from tests.factories import make_source

    records = [yap_record(str(n), "1,17" if n % 2 else "1") for n in range(1, 11)]
    answers = root_server(monkeypatch, search_results=records)
    source = make_source("yap", fellowship="na", format="bmlt", url=YAP_ROOT)
    assert feed_import(source_id=source.pk).status == "succeeded"
    # Half the meetings gone and the rest renamed: held by the shrink guard.
    answers["GetSearchResults"] = [{**r, "meeting_name": "Renamed"} for r in records[:5]]
    held = feed_import(source_id=source.pk)
    assert held.status == "held", held.reason
    # The server changes its answers before a curator approves: the run applies what it fetched.
    answers["GetFormats"] = answers["GetServerInfo"] = "<html>down</html>"
    run = import_run_approve(run=held)
    assert run.status == "succeeded", run.reason
    assert (run.updated, run.removed, run.unknown_types) == (5, 5, {})
    assert stored_types(source) == {str(n): (["BEG", "OPEN"], "open") if n % 2 else (["BEG", "CLOSED"], "closed")
                                    for n in range(1, 6)}


@pytest.mark.django_db
def test_an_approved_held_run_leaves_published_a_meeting_whose_publishing_a_curator_keeps(vocabularies,
                                                                                         monkeypatch):
    """Held for unpublishing every meeting, then approved: the one whose publishing a curator made
    theirs while the run waited stays published, as under any run."""
    from meetings.feeds.importer import feed_import, import_run_approve
    from meetings.models import Meeting
    from meetings.services import meeting_lock_fields
    from tests.factories import make_source

    records = [yap_record(str(n), "1") for n in range(1, 11)]
    answers = root_server(monkeypatch, search_results=records)
    source = make_source("yap", fellowship="na", format="bmlt", url=YAP_ROOT)
    assert feed_import(source_id=source.pk).status == "succeeded"
    answers["GetSearchResults"] = [{**r, "published": "0"} for r in records]
    held = feed_import(source_id=source.pk)
    assert (held.status, len(held.would_unpublish)) == ("held", 10), held.reason
    kept = Meeting.objects.order_by("source_key")[3]
    meeting_lock_fields(meeting=kept, fields=["published"])
    run = import_run_approve(run=held)
    assert (run.status, run.updated) == ("succeeded", 10), run.reason
    assert list(Meeting.objects.published()) == [kept]


def fetched_characters(answers: dict) -> int:
    """What the importer fetches from `root_server`: the three answers' text."""
    return sum(len(text if isinstance(text, str) else json.dumps(text)) for text in answers.values())


@pytest.mark.django_db
@pytest.mark.parametrize("envelope", [False, True], ids=["bare array", "meetings and formats"])
def test_a_root_server_feed_exactly_at_the_size_limit_is_read_once(vocabularies, monkeypatch, settings, envelope):
    """The limit is on what was fetched, the three answers together, not on
    the one text the importer keeps them in; and GetSearchResults is read
    once, not once to check it and again to import it."""
    from meetings.feeds import bmlt as bmlt_module
    from meetings.feeds.importer import feed_import
    from tests.factories import make_source

    records = [yap_record("1", "1,17"), yap_record("2", "1")]
    answers = root_server(monkeypatch, search_results={"meetings": records, "formats": []} if envelope else records)
    settings.FEEDS_PARSE_MAX_BYTES = fetched_characters(answers)
    reads = []
    read_json = bmlt_module.read_json
    monkeypatch.setattr(bmlt_module, "read_json", lambda text, *, what, **kw: (
        reads.append(what), read_json(text, what=what, **kw))[1])
    run = feed_import(source_id=make_source("yap", fellowship="na", format="bmlt", url=YAP_ROOT).pk)
    assert run.status == "succeeded", run.reason
    assert run.records == 2
    assert reads.count("GetSearchResults") == 1


@pytest.mark.django_db
def test_a_root_server_feed_one_character_past_the_limit_is_held_saying_so(vocabularies, monkeypatch, settings):
    # Answers as some servers send them, indented: the importer's own text of them is shorter than what was fetched.
    formats = json.loads((FEEDS / "bmlt_yap_latest-aws_GetFormats.json").read_text())
    info = json.loads((FEEDS / "bmlt_yap_latest-aws_GetServerInfo_REDACTED.json").read_text())
    answers = root_server(monkeypatch, search_results=json.dumps([yap_record("1", "1,17")], indent=4))
    answers["GetFormats"], answers["GetServerInfo"] = json.dumps(formats, indent=4), json.dumps(info, indent=4)
    total = fetched_characters(answers)
    settings.FEEDS_PARSE_MAX_BYTES = total - 1
    from meetings.feeds.importer import feed_import
    from tests.factories import make_source

    run = feed_import(source_id=make_source("yap", fellowship="na", format="bmlt", url=YAP_ROOT).pk)
    assert run.status == "held"
    assert run.reason == (f"the root server's answers (GetSearchResults, GetFormats, GetServerInfo) are {total:,} "
                          f"characters together; the limit is {total - 1:,} bytes (FEEDS_PARSE_MAX_BYTES)")


@pytest.mark.django_db
def test_a_held_root_server_run_at_the_size_limit_can_be_approved(vocabularies, monkeypatch, settings):
    """What was fetched fitted, so what the run kept of it is read back, though its text is a little longer."""
    from meetings.feeds.importer import feed_import, import_run_approve
    from tests.factories import make_source

    records = [yap_record(str(n), "1") for n in range(1, 11)]
    answers = root_server(monkeypatch, search_results=records)
    source = make_source("yap", fellowship="na", format="bmlt", url=YAP_ROOT)
    assert feed_import(source_id=source.pk).status == "succeeded"
    answers["GetSearchResults"] = records[:5]
    settings.FEEDS_PARSE_MAX_BYTES = fetched_characters(answers)
    held = feed_import(source_id=source.pk)
    assert held.status == "held" and "the feed would remove 5 of 10" in held.reason, held.reason
    run = import_run_approve(run=held)
    assert run.status == "succeeded", run.reason
    assert (run.unchanged, run.removed) == (5, 5)


# One id twice in a feed -------------------------------------------------------

@pytest.mark.parametrize("second_id", ["10", 10, " 10 "])
def test_an_id_repeated_in_the_feed_is_imported_once_or_rekeyed(second_id):
    """As Meeting Guide's repeated slugs: the same record again is imported
    once; a different record under the same id is keyed apart, with a note."""
    parsed = parse(record(), record(id_bigint=second_id), record(id_bigint=second_id, meeting_name="Second"))
    keys = [m.key for m in parsed.meetings]
    assert keys[0] == f"{ROOT}#10" and keys[1].startswith(f"{ROOT}#10~") and len(keys) == 2
    assert [m.name for m in parsed.meetings] == ["Just for Today", "Second"]
    assert [(n.record_key, n.field, n.reason.split(";")[0]) for n in parsed.notes] == [
        ("id 10", "id_bigint", "record repeated in the feed"), ("id 10", "id_bigint", "duplicate id")]
    # The same feed keys the same way every time.
    again = parse(record(), record(id_bigint=second_id), record(id_bigint=second_id, meeting_name="Second"))
    assert [m.key for m in again.meetings] == keys


@pytest.mark.django_db
def test_a_feed_with_a_repeated_id_imports_and_then_changes_nothing(vocabularies):
    from meetings.feeds.importer import import_records
    from meetings.models import Meeting
    from tests.factories import make_source

    source = make_source("bm", fellowship="na", format="bmlt", url=ROOT)
    feed = [record(), record(id_bigint=10, meeting_name="Second")]
    first = import_records(records=feed, source=source, format="bmlt", bmlt_formats=FORMATS)
    assert (first.status, first.created) == ("succeeded", 2), first.reason
    assert first.issues.get().reason.startswith("duplicate id")
    meetings = Meeting.objects.filter(source=source.meeting_source)
    history = sum(m.history.count() for m in meetings)
    for _ in range(2):
        run = import_records(records=feed, source=source, format="bmlt", bmlt_formats=FORMATS)
        assert (run.status, run.created, run.updated, run.unchanged) == ("succeeded", 0, 0, 2), run.reason
    assert sum(m.history.count() for m in meetings) == history


@pytest.mark.django_db
def test_a_repeated_id_on_a_source_that_has_the_meeting_leaves_it_alone(vocabularies):
    from meetings.feeds.importer import import_records
    from meetings.models import Meeting
    from tests.factories import make_source

    source = make_source("bm", fellowship="na", format="bmlt", url=ROOT)
    import_records(records=[record()], source=source, format="bmlt", bmlt_formats=FORMATS)
    meeting = Meeting.objects.get(source=source.meeting_source)
    feed = [record(), record(id_bigint="10", meeting_name="Second")]
    run = import_records(records=feed, source=source, format="bmlt", bmlt_formats=FORMATS)
    assert (run.status, run.created, run.updated, run.unchanged) == ("succeeded", 1, 0, 1), run.reason
    run = import_records(records=feed, source=source, format="bmlt", bmlt_formats=FORMATS)
    assert (run.status, run.created, run.updated, run.unchanged) == ("succeeded", 0, 0, 2), run.reason
    meeting.refresh_from_db()
    assert (meeting.source_key, meeting.name, meeting.history.count()) == (f"{ROOT}#10", "Just for Today", 1)


@pytest.mark.parametrize("latitude, longitude, field_name, reason", [
    ("95", "-76.56", "latitude", "latitude '95' is out of range (-90 to 90); both dropped"),
    ("1e400", "-76.56", "latitude", "latitude '1e400' is out of range (-90 to 90); both dropped"),
    ("42.93", "-200", "longitude", "longitude '-200' is out of range (-180 to 180); both dropped"),
    ("north", "-76.56", "latitude", "latitude 'north' is not a number; both dropped"),
    ("", "-76.56", "latitude", "only one of latitude and longitude is given; both dropped"),
    ("95", "200", "latitude", "latitude '95' is out of range (-90 to 90); both dropped"),
])
def test_a_coordinate_that_is_no_position_says_why(latitude, longitude, field_name, reason):
    parsed = parse(record(latitude=latitude, longitude=longitude))
    assert (parsed.meetings[0].latitude, parsed.meetings[0].longitude) == (None, None)
    assert [(n.field, n.reason) for n in parsed.notes] == [(field_name, reason)]


def test_a_start_time_with_seconds_is_cut_to_the_minute_with_a_note():
    """BMLT sends HH:MM:SS: whole minutes pass without a word, a second is cut with a note."""
    assert parse(record()).notes == []
    parsed = parse(record(start_time="19:00:30"))
    assert parsed.meetings[0].time == dt.time(19) and parsed.meetings[0].end_time == dt.time(20)
    assert [(n.record_key, n.field, n.reason) for n in parsed.notes] == [
        ("id 10", "start_time", "start_time '19:00:30' read as 19:00 (meeting times are whole minutes)")]
