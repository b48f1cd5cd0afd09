"""Schedule math: next starts and the exact wall-clock windows of starting_within."""

import datetime as dt
import random

import pytest

from meetings.schedule import (local_date_window, next_start, starting_segments, unchanged_span, utc_text, zone,
                               zone_turns)

UTC = dt.timezone.utc


def test_next_start_later_today_and_next_week():
    now = dt.datetime(2026, 12, 2, 17, 0, tzinfo=UTC)  # Wednesday 09:00 in Los Angeles
    later = next_start(day=3, time=dt.time(9, 30), timezone="America/Los_Angeles", now=now)
    assert later == dt.datetime(2026, 12, 2, 17, 30, tzinfo=UTC)
    earlier = next_start(day=3, time=dt.time(8, 30), timezone="America/Los_Angeles", now=now)
    assert earlier == dt.datetime(2026, 12, 9, 16, 30, tzinfo=UTC)


def test_next_start_uses_the_meetings_own_zone_for_the_weekday():
    # Tuesday 23:00 in Los Angeles is already Wednesday in UTC.
    now = dt.datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    start = next_start(day=2, time=dt.time(23, 30), timezone="America/Los_Angeles", now=now)
    assert start == dt.datetime(2026, 12, 2, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        # Spring forward 2027-03-14: 02:30 does not exist; RFC 5545 reads it with the offset before the gap.
        (dt.datetime(2027, 3, 14, 9, 0, tzinfo=UTC), dt.datetime(2027, 3, 14, 10, 30, tzinfo=UTC)),
        # The week after, 02:30 PDT exists again.
        (dt.datetime(2027, 3, 14, 11, 0, tzinfo=UTC), dt.datetime(2027, 3, 21, 9, 30, tzinfo=UTC)),
    ],
)
def test_next_start_in_a_spring_forward_gap(when, expected):
    assert next_start(day=0, time=dt.time(2, 30), timezone="America/Los_Angeles", now=when) == expected


def test_next_start_in_a_fall_back_fold_takes_the_first_occurrence():
    now = dt.datetime(2026, 11, 1, 8, 0, tzinfo=UTC)  # 01:00 PDT, first pass
    assert next_start(day=0, time=dt.time(1, 30), timezone="America/Los_Angeles", now=now) == dt.datetime(
        2026, 11, 1, 8, 30, tzinfo=UTC)
    after = dt.datetime(2026, 11, 1, 9, 10, tzinfo=UTC)  # 01:10 PST, second pass: this week's is over
    assert next_start(day=0, time=dt.time(1, 30), timezone="America/Los_Angeles", now=after) == dt.datetime(
        2026, 11, 8, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("zone", ["", "Eastern", "Mars/Olympus"])
def test_no_next_start_without_a_usable_zone(zone):
    assert next_start(day=1, time=dt.time(9), timezone=zone, now=dt.datetime.now(UTC)) is None


def test_no_next_start_by_appointment():
    assert next_start(day=None, time=None, timezone="America/Los_Angeles", now=dt.datetime.now(UTC)) is None


def test_window_segments_agree_with_next_start_everywhere_near_transitions():
    """The SQL window must select exactly the meetings whose next start is in
    [now, now + minutes]; checked against next_start around real transitions,
    including 30-minute shifts (Lord Howe) and odd offsets (Chatham, St John's)."""
    rng = random.Random(2026)
    zones = ["America/Los_Angeles", "Europe/London", "Australia/Lord_Howe", "America/St_Johns",
             "Asia/Kolkata", "Pacific/Chatham", "America/Santiago", "Australia/Sydney"]
    anchors = [dt.datetime(2026, 3, 8, 10, tzinfo=UTC), dt.datetime(2026, 11, 1, 9, tzinfo=UTC),
               dt.datetime(2026, 3, 29, 1, tzinfo=UTC), dt.datetime(2026, 10, 25, 1, tzinfo=UTC),
               dt.datetime(2026, 4, 4, 15, tzinfo=UTC), dt.datetime(2026, 10, 3, 16, tzinfo=UTC),
               dt.datetime(2026, 4, 5, 2, tzinfo=UTC), dt.datetime(2026, 9, 6, 3, tzinfo=UTC)]
    mismatches = []
    for _ in range(1500):
        zone = rng.choice(zones)
        now = rng.choice(anchors) + dt.timedelta(minutes=rng.randint(-720, 720))
        minutes = rng.choice([15, 30, 60, 120, 1440, 4000])
        # As querysets.starting_within asks: [now, now + minutes], now taken to the minute.
        segments = starting_segments(timezone=zone, start=now, stop=now + dt.timedelta(minutes=minutes + 1))
        for _ in range(20):
            day, time = rng.randint(0, 6), dt.time(rng.randint(0, 23), rng.randint(0, 59))
            start = next_start(day=day, time=time, timezone=zone, now=now)
            wall = time.hour * 60 + time.minute
            hits = [s for s in segments if s.day == day and s.start_minute <= wall < s.end_minute]
            if (start <= now + dt.timedelta(minutes=minutes)) != bool(hits):
                mismatches.append((zone, now, minutes, day, time))
            elif hits and hits[0].midnight + dt.timedelta(minutes=wall) != start:
                mismatches.append(("offset", zone, now, day, time))
    assert mismatches == []


@pytest.mark.parametrize("date, name, start, hours", [
    (dt.date(2026, 11, 30), "America/New_York", dt.datetime(2026, 11, 30, 5, 0, tzinfo=UTC), 24),
    (dt.date(2026, 3, 8), "America/New_York", dt.datetime(2026, 3, 8, 5, 0, tzinfo=UTC), 23),  # springs forward
    (dt.date(2026, 11, 1), "America/New_York", dt.datetime(2026, 11, 1, 4, 0, tzinfo=UTC), 25),  # falls back
    # Santiago skips its midnight (00:00 -04 -> 01:00 -03): the day starts at the transition.
    (dt.date(2026, 9, 6), "America/Santiago", dt.datetime(2026, 9, 6, 4, 0, tzinfo=UTC), 23),
    (dt.date(2026, 12, 1), "Asia/Tokyo", dt.datetime(2026, 11, 30, 15, 0, tzinfo=UTC), 24),
])
def test_a_local_date_is_a_utc_window_from_midnight_to_midnight(date, name, start, hours):
    assert local_date_window(date=date, tz=zone(name)) == (start, start + dt.timedelta(hours=hours))


# The span an answer that shows the clock holds for (meetings/public_answers.py).
UTC = dt.timezone.utc
LA = "America/Los_Angeles"


def _at(*parts) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def _la_meetings(*starts) -> dict:
    """Meetings in Los Angeles at (Sunday-zero day, HH, MM), an hour each."""
    return {LA: zone_turns([(day, dt.time(hour, minute), None) for day, hour, minute in starts])}


def test_a_span_runs_from_the_last_turn_to_the_next():
    # Tuesday 14 January 2025, 10:30:20 in Los Angeles (PST); a meeting there on Tuesdays 12:00-13:00.
    zones = _la_meetings((2, 12, 0))
    assert unchanged_span(now=_at(2025, 1, 14, 18, 30, 20), zones=zones) == (
        _at(2025, 1, 14, 8, 0), _at(2025, 1, 14, 20, 0))   # from Los Angeles' midnight to the start
    # It starts; a minute later its next start is next week's; it ends; a minute later, nothing
    # until midnight in UTC (a calendar starts from today there).
    assert unchanged_span(now=_at(2025, 1, 14, 20, 0, 30), zones=zones) == (_at(2025, 1, 14, 20, 0), _at(2025, 1, 14, 20, 1))
    assert unchanged_span(now=_at(2025, 1, 14, 20, 1, 5), zones=zones) == (_at(2025, 1, 14, 20, 1), _at(2025, 1, 14, 21, 0))
    assert unchanged_span(now=_at(2025, 1, 14, 21, 0), zones=zones) == (_at(2025, 1, 14, 21, 0), _at(2025, 1, 14, 21, 1))
    assert unchanged_span(now=_at(2025, 1, 14, 21, 30), zones=zones) == (_at(2025, 1, 14, 21, 1), _at(2025, 1, 15, 0, 0))


def test_a_search_looking_ahead_and_a_viewers_zone_add_their_turns():
    zones = _la_meetings((2, 12, 0))
    now = _at(2025, 1, 14, 18, 30, 20)
    # starting_within=60: the meeting comes within the hour at 11:00 (19:00 UTC).
    assert unchanged_span(now=now, zones=zones, leads=(60,)) == (_at(2025, 1, 14, 8, 0), _at(2025, 1, 14, 19, 0))
    # A viewer in Tokyo: their day began at 15:00 UTC.
    assert unchanged_span(now=now, zones=zones, day_zones=("Asia/Tokyo",))[0] == _at(2025, 1, 14, 15, 0)


def test_a_meeting_past_midnight_turns_at_its_end_on_the_next_day():
    zones = {LA: zone_turns([(6, dt.time(23, 30), dt.time(0, 30))])}   # Saturday 23:30 to Sunday 00:30
    since, until = unchanged_span(now=_at(2025, 1, 12, 8, 10), zones=zones)   # Sunday 00:10 PST
    assert (since, until) == (_at(2025, 1, 12, 8, 0), _at(2025, 1, 12, 8, 30))


def test_a_span_never_crosses_a_change_of_offset():
    # Los Angeles springs forward at 10:00 UTC on Sunday 9 March 2025; its next meeting is at noon.
    zones = _la_meetings((0, 12, 0))
    since, until = unchanged_span(now=_at(2025, 3, 9, 9, 30, 10), zones=zones)
    assert until == _at(2025, 3, 9, 10, 0)
    # After it, a span starts there. Near a change, wall times an offset apart turn too (a
    # wall time the change skips resolves an hour later): 11:00 PDT, an hour before noon.
    assert unchanged_span(now=_at(2025, 3, 9, 11, 0), zones=zones) == (_at(2025, 3, 9, 10, 0), _at(2025, 3, 9, 18, 0))


@pytest.mark.parametrize(("instant", "text"), [
    (dt.datetime(2026, 12, 2, 18, 3, tzinfo=UTC), "2026-12-02T18:03:00Z"),
    # Another zone is written in UTC; a fraction of a second is kept, as isoformat() keeps it.
    (dt.datetime(2026, 12, 2, 10, 3, 30, 5, tzinfo=zone("America/Los_Angeles")), "2026-12-02T18:03:30.000005Z"),
    (dt.datetime(987, 1, 2, 0, 0, tzinfo=zone("UTC")), "0987-01-02T00:00:00Z"),
])
def test_an_instant_is_written_in_utc_with_a_z(instant, text):
    assert utc_text(instant) == text
