import datetime as dt
import json
from pathlib import Path

import pytest

from meetings.feeds.meeting_guide import load_feed_text, parse_meeting_guide
from meetings.feeds.records import FeedUnreadable, RecordRejected, read_day, read_time, read_timezone

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"


def one(record):
    parsed = parse_meeting_guide([record])
    return parsed


def base(**fields):
    return {"slug": "s1", "name": "Serenity", "day": 1, "time": "19:00", "address": "1 Main St",
            "city": "Irvine", "state": "CA", **fields}


@pytest.mark.parametrize("value, expected", [
    (0, 0), (6, 6), ("3", 3), ("Monday", 1), ("sunday", 0), ("Sat", 6),
])
def test_days_in_every_shape(value, expected):
    assert read_day(value) == expected


@pytest.mark.parametrize("value", [7, -1, "7", "someday", None, True, 2.5])
def test_day_seven_null_and_junk_are_not_guessed(value):
    with pytest.raises(RecordRejected):
        read_day(value)


def test_day_array_makes_one_meeting_per_day_with_stable_keys():
    parsed = one(base(day=[1, 3]))
    assert [(m.key, m.day, m.slug_hint) for m in parsed.meetings] == [
        ("s1@1", 1, "s1-monday"), ("s1@3", 3, "s1-wednesday")]


@pytest.mark.parametrize("value, expected", [
    ("19:00", dt.time(19)), ("7:05", dt.time(7, 5)), ("6:30 PM", dt.time(18, 30)), ("12:00 am", dt.time(0)),
    ("19", dt.time(19)), ("19:00:00", dt.time(19)),
])
def test_times_in_every_shape(value, expected):
    assert read_time(value)[0] == expected


@pytest.mark.parametrize("value", ["junk", "", "25:00", "13:00 PM", "7.30", None])
def test_junk_time_is_an_error_never_midnight(value):
    with pytest.raises(RecordRejected):
        read_time(value)


def test_junk_time_rejects_that_record_only():
    parsed = parse_meeting_guide([base(slug="a", time="soon"), base(slug="b")])
    assert [m.key for m in parsed.meetings] == ["b"]
    assert [(n.kind, n.record_key, n.field) for n in parsed.notes] == [("rejected", "a", "time")]
    assert parsed.seen_keys == {"a", "b"}


def test_day_null_with_a_time_is_rejected_and_no_day_no_time_is_by_appointment():
    parsed = parse_meeting_guide([base(slug="a", day=None), {"slug": "b", "name": "Call us"}])
    assert [(m.key, m.day, m.time) for m in parsed.meetings] == [("b", None, None)]
    assert parsed.notes[0].record_key == "a" and parsed.notes[0].field == "day"


@pytest.mark.parametrize("day", [1, "Monday", [1, 3]])
@pytest.mark.parametrize("time", [None, "", "  "])
def test_a_day_without_a_time_is_by_appointment_with_a_note(day, time):
    """Found in review: a day without a time was kept, then published three ways (the API's day 1, the
    Meeting Guide export's by appointment, BMLT's weekday with an empty start_time). A weekly meeting needs
    a time to be found by day and time, so the day is dropped, and the note says so."""
    parsed = one({"slug": "rt-dayonly", "name": "Day only", "day": day, "time": time,
                  "timezone": "America/Los_Angeles"})
    assert [(m.key, m.day, m.time) for m in parsed.meetings] == [("rt-dayonly", None, None)]
    assert parsed.rejected_count == 0 and parsed.repaired_keys == {"rt-dayonly"}
    assert [(n.kind, n.field) for n in parsed.notes] == [("repaired", "day")]
    assert "no time" in parsed.notes[0].reason and "by appointment" in parsed.notes[0].reason


def test_types_as_string_or_array():
    assert one(base(types="O, D,BE")).meetings[0].type_tokens == ["O", "D", "BE"]
    assert one(base(types=["Closed", "C"])).meetings[0].type_tokens == ["Closed", "C"]


def test_a_fellowships_own_codes_are_read_instead_of_the_spec_bridge():
    def tokens(record, fellowship="al-anon"):
        return parse_meeting_guide([record], fellowship=fellowship).meetings[0].type_tokens
    record = base(types=["C", "D"], fellowship="al-anon", fellowship_types=["Y", "D", "CAL"])
    assert tokens(record) == ["Y", "D", "CAL"]
    assert tokens(base(types=["C"], fellowship=" Al-Anon ", fellowship_types=["Y"])) == ["Y"]
    # Even none: a closed-by-rule meeting's `C` is the rule's, not a code of its own.
    assert tokens(base(types=["C"], fellowship="al-anon", fellowship_types=[])) == []
    # Without a fellowship the extra field says nothing.
    assert tokens(base(types=["C"], fellowship_types=["Y"])) == ["C"]


@pytest.mark.parametrize("source_fellowship", ["aa", ""])
def test_another_fellowships_own_codes_are_not_read_as_the_sources(source_fellowship):
    """Found in review: the directory's own unfiltered feed imported into an AA source made Al-Anon's
    Alateen (Y) AA's Young People and Al-Anon's Beginners (B) AA's Big Book, and lost closed: another
    fellowship's own codes mean other things. Its Meeting Guide `types` are read, with a note."""
    record = base(types=["C", "BE"], fellowship="al-anon", fellowship_types=["Y", "B"])
    parsed = parse_meeting_guide([record], fellowship=source_fellowship)
    assert parsed.meetings[0].type_tokens == ["C", "BE"]
    notes = [(n.kind, n.field, n.reason) for n in parsed.notes]
    if source_fellowship:
        assert notes == [("repaired", "fellowship", "fellowship 'al-anon' is not this source's (aa); its "
                                                     "fellowship_types were ignored and its types read")]
    else:
        assert notes == []
    assert [n.reason for n in parse_meeting_guide([base(fellowship="Al-Anon")], fellowship="aa").notes] == [
        "fellowship 'Al-Anon' is not this source's (aa)"]
    assert parse_meeting_guide([base(fellowship="AA")], fellowship="aa").notes == []


@pytest.mark.parametrize("value, expected", [("yes", True), ("no", False), (True, True), (False, False)])
def test_approximate_as_word_or_boolean(value, expected):
    assert one(base(approximate=value)).meetings[0].approximate is expected


def test_zone_words_are_mapped_with_a_note_and_unknown_words_rejected():
    assert read_timezone("Eastern") == ("America/New_York", "time zone 'Eastern' mapped to America/New_York")
    assert read_timezone("America/Chicago") == ("America/Chicago", "")
    parsed = one(base(timezone="Moon Standard"))
    assert parsed.meetings == [] and parsed.notes[0].field == "timezone"


def test_html_in_notes_becomes_text_with_a_note():
    parsed = one(base(notes="Ring the bell.<br>Second floor &amp; left"))
    assert parsed.meetings[0].notes == "Ring the bell.\nSecond floor & left"
    assert parsed.notes[0].field == "notes"


def test_missing_slug_is_keyed_on_content_the_same_every_time():
    record = base()
    del record["slug"]
    first, second = one(dict(record)), one(dict(record))
    assert first.meetings[0].key == second.meetings[0].key
    assert first.meetings[0].key.startswith("noslug-")


def test_integer_slug_and_duplicate_slugs():
    parsed = parse_meeting_guide([base(slug=42), base(slug=42, name="Other"), base(slug=42, name="Other")])
    keys = [m.key for m in parsed.meetings]
    assert keys[0] == "42" and keys[1].startswith("42~") and len(keys) == 2
    assert [n.reason.split(";")[0] for n in parsed.notes] == ["duplicate slug", "record repeated in the feed"]


def test_updated_in_real_shapes_is_accepted_and_junk_noted():
    for value in ("2024-01-02 03:04:05", "2024-01-02", "2024-01-02 03:04:05.123", "2024-01-02T03:04:05Z"):
        assert one(base(updated=value)).notes == []
    assert one(base(updated="last week")).notes[0].field == "updated"


def test_conference_links_and_phones():
    parsed = one(base(conference_url="https://example.org/room", conference_phone="+1 555 0100 *9#"))
    meeting = parsed.meetings[0]
    assert meeting.conference_url == "https://example.org/room"
    assert meeting.conference_phone == "+1 555 0100 *9#"
    assert "not a recognised provider" in parsed.notes[0].reason
    assert one(base(conference_url="zoom.us/j/1")).meetings[0].conference_url == ""


def test_coordinates_string_alias_and_zero_placeholder():
    assert one(base(coordinates="33.68,-117.82")).meetings[0].latitude == 33.68
    parsed = one(base(latitude=0, longitude=0))
    assert parsed.meetings[0].latitude is None and parsed.notes[0].field == "latitude"


def test_online_in_the_address_is_not_a_street():
    meeting = one(base(address="Online")).meetings[0]
    assert meeting.address == "" and meeting.approximate is True


def test_unreadable_feeds():
    with pytest.raises(FeedUnreadable, match="HTML"):
        load_feed_text("<!doctype html><html>Error</html>")
    with pytest.raises(FeedUnreadable, match="truncated"):
        load_feed_text('[{"slug": "a", "name": "A"}, {"slug": "b"')
    with pytest.raises(FeedUnreadable, match="not valid JSON"):
        load_feed_text('[{"slug": "a",, }] trailing')
    with pytest.raises(FeedUnreadable, match="not an array"):
        load_feed_text('"hello"')


def test_real_samples_parse_cleanly():
    for name in ("code4recovery-pdf__tests-Fixtures-meetings.json",
                 "code4recovery-pdf__tests-Fixtures-meetings-multi-region.json"):
        records = json.loads((FEEDS / name).read_text())
        parsed = parse_meeting_guide(records)
        assert len(parsed.meetings) == len(records)
        assert not [n for n in parsed.notes if n.kind == "rejected"]
    example = json.loads((FEEDS / "code4recovery-spec-PR106__schema-example.json").read_text())
    meeting = parse_meeting_guide([example]).meetings[0]
    assert (meeting.key, meeting.end_time, meeting.location_name, meeting.group) == (
        "sunday-serenity-14", dt.time(19, 30), "Alano Club", "The Serenity Group")


@pytest.mark.parametrize("order", ["multi-day first", "slug first"])
def test_a_days_key_never_takes_a_slug_another_record_gave(order):
    """A record on days 1 and 2 under slug "a" has meetings "a@1" and "a@2";
    another record's own slug "a@1" keeps its key, whichever comes first,
    and the day's meeting is keyed apart, the same way every time."""
    records = [base(slug="a", day=[1, 2]), base(slug="a@1", name="Other meeting")]
    records = records if order == "multi-day first" else records[::-1]
    parsed = parse_meeting_guide(records)
    keys = {(m.name, m.day): m.key for m in parsed.meetings}
    assert keys[("Other meeting", 1)] == "a@1" and keys[("Serenity", 2)] == "a@2"
    assert keys[("Serenity", 1)] not in ("a@1", "a@2") and keys[("Serenity", 1)].startswith("a@1")
    assert len(set(keys.values())) == 3
    assert [(n.record_key, n.field) for n in parsed.notes] == [("a", "slug")]
    assert "a@1" in parsed.notes[0].reason
    assert {m.key for m in parse_meeting_guide(records).meetings} == set(keys.values())


def test_day_keys_without_a_collision_stay_as_they_were():
    parsed = parse_meeting_guide([base(slug="a", day=[1, 2]), base(slug="b", day=[3, 4])])
    assert [m.key for m in parsed.meetings] == ["a@1", "a@2", "b@3", "b@4"] and parsed.notes == []


@pytest.mark.django_db
def test_a_stored_day_without_a_time_becomes_by_appointment_flagged_with_what_it_had(directory):
    """Migration 0023: rows imported before the parser's rule agree with it, and a re-import of the same
    record takes the change for no curator's edit."""
    from importlib import import_module

    from django.apps import apps

    from meetings.models import Meeting
    from tests.factories import feed_record, make_source, run_feed

    source = make_source()
    run_feed(source, [feed_record(1), feed_record(2)])
    # As an import of {"day": 1, "time": ""} left it before the parser's rule.
    feed_values = {**Meeting.objects.get(source_key="m1").feed_values, "time": None}
    Meeting.objects.filter(source_key="m1").update(time=None, feed_values=feed_values,
                                                   review_reason="Check the address")
    import_module("meetings.migrations.0023_day_without_time_by_appointment").day_without_time_by_appointment(
        apps, None)
    day_only = Meeting.objects.get(source_key="m1")
    assert (day_only.day, day_only.time, day_only.needs_review) == (None, None, True)
    assert day_only.review_reason == ("Had Monday but no start time; listed by appointment until it has both; "
                                      "Check the address")
    assert Meeting.objects.get(source_key="m2").day == 2 and not Meeting.objects.get(source_key="m2").needs_review
    run_feed(source, [feed_record(1, time=None), feed_record(2)])
    assert Meeting.objects.get(source_key="m1").locked_fields == []


@pytest.mark.django_db
def test_a_stored_time_without_a_day_becomes_by_appointment_flagged_with_what_it_had(directory):
    """Migration 0025: 0023's rule for the other half. A time without a day
    was listed at that hour by the API, by appointment by the Meeting Guide
    export, with an empty weekday by BMLT; now it is by appointment, its time
    kept in its review reason, and the feed's fixed record applies as no
    curator's edit."""
    from importlib import import_module

    from django.apps import apps

    from meetings.models import Meeting
    from tests.factories import feed_record, make_source, run_feed

    source = make_source()
    run_feed(source, [feed_record(1, end_time="20:30"), feed_record(2)])
    # As an import of {"day": "", "time": "19:00"} left it before the parser refused such records.
    feed_values = {**Meeting.objects.get(source_key="m1").feed_values, "day": None}
    Meeting.objects.filter(source_key="m1").update(day=None, feed_values=feed_values, content_hash="that record's",
                                                   review_reason="Check the address")
    import_module("meetings.migrations.0025_time_without_day_by_appointment").time_without_day_by_appointment(
        apps, None)
    time_only = Meeting.objects.get(source_key="m1")
    assert (time_only.day, time_only.time, time_only.end_time, time_only.needs_review) == (None, None, None, True)
    assert time_only.review_reason == ("Had a start time 19:00 (ending 20:30) but no day; listed by appointment "
                                       "until it has both; Check the address")
    assert (time_only.feed_values["time"], time_only.feed_values["end_time"]) == (None, None)
    weekly = Meeting.objects.get(source_key="m2")
    assert (weekly.day, weekly.time.hour, weekly.needs_review) == (2, 19, False)
    # The record as it was is refused now: the meeting stays by appointment.
    run_feed(source, [feed_record(1, day="", end_time="20:30"), feed_record(2)])
    assert Meeting.objects.get(source_key="m1").time is None
    run_feed(source, [feed_record(1, end_time="20:30"), feed_record(2)])
    fixed = Meeting.objects.get(source_key="m1")
    assert (fixed.day, fixed.time.hour, fixed.end_time.minute, fixed.locked_fields) == (1, 19, 30, [])


@pytest.mark.parametrize("value, note", [
    ("19:00:00", ""),
    ("19:00:30", "time '19:00:30' read as 19:00 (meeting times are whole minutes)"),
    ("6:30:15 PM", "time '6:30:15 PM' read as 18:30 (meeting times are whole minutes)"),
])
def test_a_time_with_seconds_is_cut_to_the_minute_with_a_note(value, note):
    """Found in review: seconds were dropped without a word. A feed's record is not refused for them:
    the time is cut to the minute (as every reader shows it) and the run's report says so."""
    assert read_time(value) == (dt.time(*(18, 30) if "PM" in value else (19, 0)), note)
    parsed = one(base(time=value, end_time="20:00:45"))
    assert (parsed.meetings[0].time.second, parsed.meetings[0].end_time) == (0, dt.time(20))
    assert [(n.field, n.reason) for n in parsed.notes] == [*([("time", note)] if note else []), (
        "end_time", "end_time '20:00:45' read as 20:00 (meeting times are whole minutes)")]
