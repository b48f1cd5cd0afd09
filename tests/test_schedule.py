"""Schedule math: next starts and the exact wall-clock windows of starting_within."""

import datetime as dt
import random

import pytest

from meetings.schedule import local_date_window, next_start, starting_segments, utc_week_minute, zone

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
            elif hits and (day * 1440 + wall - hits[0].utc_offset_minutes) % 10080 != utc_week_minute(start):
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
