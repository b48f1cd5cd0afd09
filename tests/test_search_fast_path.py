"""Per-process shortcuts of the search's fast path give what the slow way
gives: slot timings kept for a minute (meetings/api/listing.py) and the
search form's shared fields (meetings/filters.py)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.http import QueryDict

from meetings import schedule
from meetings.api import listing
from meetings.filters import MeetingFilterSet

UTC = dt.timezone.utc
ZONES = ["America/Los_Angeles", "Europe/London", "Australia/Lord_Howe", "Pacific/Chatham", "America/St_Johns",
         "Asia/Kolkata", "America/Santiago", "UTC"]


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch):
    monkeypatch.setattr(listing, "_timings", (None, {}))


def test_timings_kept_for_a_minute_equal_computing_them_afresh():
    rng = random.Random(3)
    # Minutes at meeting starts and ends (in progress flips there), and around DST changes.
    minutes = [dt.datetime(2026, 3, 8, 9, 59, tzinfo=UTC), dt.datetime(2026, 3, 8, 10, 0, tzinfo=UTC),
               dt.datetime(2026, 11, 1, 8, 59, tzinfo=UTC), dt.datetime(2026, 10, 25, 1, 0, tzinfo=UTC)]
    minutes += [dt.datetime(2026, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=rng.randrange(525_600))
                for _ in range(40)]
    compared = in_progress = 0
    for minute in minutes:
        slots = []
        for zone in ZONES:
            local = minute.astimezone(schedule.zone(zone))
            # A meeting starting this very minute, one ending it, and random ones.
            slots.append((schedule.sunday_zero_weekday(local.date()), local.time().replace(second=0), None, zone))
            start = (local - dt.timedelta(hours=1)).replace(second=0, microsecond=0)
            slots.append((schedule.sunday_zero_weekday(start.date()), start.time(), local.time().replace(second=0),
                          zone))
            slots += [(rng.randrange(7), dt.time(rng.randrange(24), rng.choice((0, 15, 30, 45))),
                       rng.choice((None, dt.time(rng.randrange(24), 0))), zone) for _ in range(3)]
        viewer = schedule.zone(rng.choice(ZONES))
        for offset in (0, 0.000001, 0.5, 30, 59.999999):
            now = minute + dt.timedelta(seconds=offset)
            for slot in slots:
                kept = listing._timing(*slot, now=now, viewer_zone=viewer)
                fresh = listing._slot_timing(*slot, now=now, viewer_zone=viewer)
                assert kept == fresh, (slot, now)
                compared += 1
                in_progress += fresh["in_progress"]
    assert compared > 8_000 and in_progress > 100
    assert listing._timings[1], "nothing was kept"


def test_slots_with_seconds_are_computed_every_time():
    now = dt.datetime(2026, 6, 1, 12, 0, 30, tzinfo=UTC)
    listing._timing(1, dt.time(19, 0, 15), None, "UTC", now=now, viewer_zone=None)
    listing._timing(1, dt.time(19, 0), dt.time(20, 0, 1), "UTC", now=now, viewer_zone=None)
    assert listing._timings[1] == {}
    listing._timing(1, dt.time(19, 0), None, "UTC", now=now, viewer_zone=None)
    assert len(listing._timings[1]) == 1


def test_a_thread_still_on_the_last_minute_does_not_write_into_the_new_one():
    slot = (1, dt.time(12, 1), None, "UTC")
    old = dt.datetime(2026, 6, 1, 12, 0, 30, tzinfo=UTC)
    listing._timing(*slot, now=old, viewer_zone=None)
    old_minute = listing._timings
    new = old + dt.timedelta(minutes=1)
    listing._timing(*slot, now=new, viewer_zone=None)
    assert listing._timings is not old_minute and listing._timings[0] == new.replace(second=0)
    # What a thread that read the old minute's map before the swap writes stays there.
    old_minute[1][("late", "write")] = {}
    assert ("late", "write") not in listing._timings[1]


def test_a_new_minute_starts_afresh():
    slot = (1, dt.time(12, 1), None, "UTC")
    before = dt.datetime(2026, 6, 1, 12, 0, 59, tzinfo=UTC)  # a Monday: starts in a second
    after = before + dt.timedelta(seconds=1)  # started
    later = after + dt.timedelta(minutes=1)  # next week's is next
    first = listing._timing(*slot, now=before, viewer_zone=None)
    assert (first["next_start"], first["in_progress"]) == ("2026-06-01T12:01:00Z", False)
    second = listing._timing(*slot, now=after, viewer_zone=None)
    assert (second["next_start"], second["in_progress"]) == ("2026-06-01T12:01:00Z", True)
    third = listing._timing(*slot, now=later, viewer_zone=None)
    assert (third["next_start"], third["in_progress"]) == ("2026-06-08T12:01:00Z", True)


def query(**params) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in params.items():
        data[key] = value
    return data


@pytest.mark.django_db
def test_search_forms_share_fields_but_nothing_else(vocabularies):
    good = MeetingFilterSet.search_form(query(lat="33.6", lng="-117.8", day="2", attendance="online"))
    bad = MeetingFilterSet.search_form(query(lat="91", day="9", attendance="by-pigeon"))
    assert good.fields is bad.fields  # no per-request copies
    assert not bad.is_valid() and good.is_valid()
    assert {"lat", "day", "attendance"} <= set(bad.errors) and not good.errors
    assert good.cleaned_data["day"] == [2] and good.cleaned_data["attendance"] == ["online"]
    again = MeetingFilterSet.search_form(query(day="4"))
    assert again.is_valid() and again.cleaned_data["day"] == [4] and again.cleaned_data["lat"] is None
