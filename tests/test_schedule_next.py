"""Now and next: next start and end across DST in both directions and across
the week boundary, in_progress (the previous occurrence included), the viewer's
zone, and the in_progress search filter."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from meetings import schedule, selectors
from meetings.models import Meeting
from meetings.querysets import times_under_way
from tests.factories import make_meeting

UTC = dt.timezone.utc
LA = "America/Los_Angeles"


def t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


class TestNextOccurrence:
    def test_spring_forward_next_start_and_end(self):
        # LA springs forward on Sunday 2027-03-14 at 02:00. Saturday 19:00-20:00 before, the Saturday after.
        before = dt.datetime(2027, 3, 13, 12, 0, tzinfo=UTC)
        assert schedule.next_occurrence(day=6, time=t("19:00"), end_time=t("20:00"), timezone=LA, now=before) == (
            dt.datetime(2027, 3, 14, 3, 0, tzinfo=UTC), dt.datetime(2027, 3, 14, 4, 0, tzinfo=UTC))
        after = dt.datetime(2027, 3, 14, 12, 0, tzinfo=UTC)
        assert schedule.next_occurrence(day=6, time=t("19:00"), end_time=t("20:00"), timezone=LA, now=after) == (
            dt.datetime(2027, 3, 21, 2, 0, tzinfo=UTC), dt.datetime(2027, 3, 21, 3, 0, tzinfo=UTC))

    def test_fall_back_next_start(self):
        # LA falls back on Sunday 2027-11-07 at 02:00: a Sunday 09:00 meeting moves from 16:00 to 17:00 UTC.
        before = dt.datetime(2027, 10, 31, 17, 0, tzinfo=UTC)
        assert schedule.next_start(day=0, time=t("09:00"), timezone=LA, now=before) == dt.datetime(
            2027, 11, 7, 17, 0, tzinfo=UTC)
        earlier = dt.datetime(2027, 10, 31, 15, 0, tzinfo=UTC)
        assert schedule.next_start(day=0, time=t("09:00"), timezone=LA, now=earlier) == dt.datetime(
            2027, 10, 31, 16, 0, tzinfo=UTC)

    def test_a_meeting_spanning_fall_back_lasts_an_hour_longer(self):
        # Sunday 01:00-03:00 on 2027-11-07: 01:00 is its first (PDT) reading; 03:00 is PST.
        now = dt.datetime(2027, 11, 6, 12, 0, tzinfo=UTC)
        start, end = schedule.next_occurrence(day=0, time=t("01:00"), end_time=t("03:00"), timezone=LA, now=now)
        assert start == dt.datetime(2027, 11, 7, 8, 0, tzinfo=UTC)
        assert end == dt.datetime(2027, 11, 7, 11, 0, tzinfo=UTC)
        assert end - start == dt.timedelta(hours=3)

    def test_a_meeting_inside_the_spring_gap_keeps_its_length(self):
        now = dt.datetime(2027, 3, 13, 12, 0, tzinfo=UTC)
        start, end = schedule.next_occurrence(day=0, time=t("02:15"), end_time=t("02:45"), timezone=LA, now=now)
        assert start == dt.datetime(2027, 3, 14, 10, 15, tzinfo=UTC)  # read with the offset before the gap
        assert end - start == dt.timedelta(minutes=30)

    def test_across_the_week_boundary(self):
        # Saturday 23:00 in LA; a Sunday 00:30 meeting is 90 minutes away, a Saturday 22:00 one next week.
        now = dt.datetime(2027, 1, 10, 7, 0, tzinfo=UTC)
        assert schedule.next_start(day=0, time=t("00:30"), timezone=LA, now=now) == dt.datetime(
            2027, 1, 10, 8, 30, tzinfo=UTC)
        assert schedule.next_start(day=6, time=t("22:00"), timezone=LA, now=now) == dt.datetime(
            2027, 1, 17, 6, 0, tzinfo=UTC)

    def test_overnight_end_is_the_next_day(self):
        now = dt.datetime(2027, 1, 9, 12, 0, tzinfo=UTC)
        start, end = schedule.next_occurrence(day=6, time=t("23:30"), end_time=t("00:30"), timezone=LA, now=now)
        assert end - start == dt.timedelta(hours=1)

    def test_missing_or_equal_end_defaults_to_an_hour(self):
        now = dt.datetime(2027, 1, 9, 12, 0, tzinfo=UTC)
        for end_time in (None, t("19:00")):
            start, end = schedule.next_occurrence(day=6, time=t("19:00"), end_time=end_time, timezone=LA, now=now)
            assert end - start == dt.timedelta(hours=1)

    @pytest.mark.parametrize("fields", [
        {"day": None, "time": t("19:00"), "timezone": LA},
        {"day": 2, "time": None, "timezone": LA},
        {"day": 2, "time": t("19:00"), "timezone": ""},
        {"day": 2, "time": t("19:00"), "timezone": "Eastern"},
    ])
    def test_by_appointment_and_zone_less_have_no_next(self, fields):
        now = dt.datetime(2027, 1, 9, 12, 0, tzinfo=UTC)
        assert schedule.next_occurrence(end_time=None, now=now, **fields) is None
        assert schedule.in_progress(end_time=None, now=now, **fields) is False


class TestInProgress:
    def test_between_start_and_end(self):
        start = dt.datetime(2027, 1, 6, 3, 0, tzinfo=UTC)  # Tuesday 19:00 in LA
        kwargs = {"day": 2, "time": t("19:00"), "end_time": t("20:00"), "timezone": LA}
        assert not schedule.in_progress(now=start - dt.timedelta(minutes=1), **kwargs)
        assert schedule.in_progress(now=start, **kwargs)
        assert schedule.in_progress(now=start + dt.timedelta(minutes=59), **kwargs)
        assert not schedule.in_progress(now=start + dt.timedelta(minutes=60), **kwargs)

    def test_the_previous_days_occurrence_running_past_midnight(self):
        # Saturday 23:00-01:00 is still on at Sunday 00:30, when next_start is a week away.
        now = dt.datetime(2027, 1, 10, 8, 30, tzinfo=UTC)  # Sunday 00:30 in LA
        kwargs = {"day": 6, "time": t("23:00"), "end_time": t("01:00"), "timezone": LA}
        assert schedule.in_progress(now=now, **kwargs)
        assert schedule.next_start(day=6, time=t("23:00"), timezone=LA, now=now) > now + dt.timedelta(days=6)

    def test_across_fall_back(self):
        # Sunday 01:00-03:00 on fall-back night lasts until 11:00 UTC, an hour longer than its wall length.
        kwargs = {"day": 0, "time": t("01:00"), "end_time": t("03:00"), "timezone": LA}
        assert schedule.in_progress(now=dt.datetime(2027, 11, 7, 10, 30, tzinfo=UTC), **kwargs)
        assert not schedule.in_progress(now=dt.datetime(2027, 11, 7, 11, 0, tzinfo=UTC), **kwargs)


@pytest.mark.django_db
class TestApi:
    URL = "/api/v1/meetings/"

    def test_next_start_end_and_in_progress_in_the_api(self, vocabularies, client, frozen_now):
        frozen_now(dt.datetime(2027, 1, 6, 3, 30, tzinfo=UTC))  # Tuesday 19:30 in LA
        make_meeting(name="Now", day=2, time="19:00", end_time=dt.time(20, 0))
        make_meeting(name="Later", day=2, time="20:00", end_time=dt.time(21, 30))
        results = {m["name"]: m for m in client.get(self.URL).json()["results"]}
        assert results["Now"]["in_progress"] is True
        assert results["Now"]["next_start"] == "2027-01-13T03:00:00Z"
        assert results["Now"]["next_end"] == "2027-01-13T04:00:00Z"
        assert results["Later"]["in_progress"] is False
        assert (results["Later"]["next_start"], results["Later"]["next_end"]) == (
            "2027-01-06T04:00:00Z", "2027-01-06T05:30:00Z")

    def test_viewer_zone_rendering(self, vocabularies, client, frozen_now):
        # A New York viewer of a Los Angeles Tuesday 19:00 meeting: Tuesday 22:00 for them.
        frozen_now(dt.datetime(2027, 1, 4, 12, 0, tzinfo=UTC))
        make_meeting(name="West", day=2, time="19:00")
        make_meeting(name="Late West", day=2, time="22:30")
        results = {m["name"]: m for m in client.get(self.URL, {"tz": "America/New_York"}).json()["results"]}
        west = results["West"]
        assert (west["day"], west["time"], west["timezone"]) == (2, "19:00", LA)
        assert (west["day_local"], west["time_local"]) == (2, "22:00")
        assert west["next_start_local"] == "2027-01-05T22:00:00-05:00"
        # 22:30 in LA is already Wednesday in New York.
        assert (results["Late West"]["day_local"], results["Late West"]["time_local"]) == (3, "01:30")

    def test_viewer_zone_follows_dst_of_both_zones(self, vocabularies, client, frozen_now):
        # Between the US and EU spring changes (2027-03-14 and 2027-03-28) LA to Berlin is 8 hours, not 9.
        frozen_now(dt.datetime(2027, 3, 15, 12, 0, tzinfo=UTC))
        make_meeting(name="West", day=2, time="19:00")
        [west] = client.get(self.URL, {"tz": "Europe/Berlin"}).json()["results"]
        assert (west["day_local"], west["time_local"]) == (3, "03:00")
        assert west["next_start"] == "2027-03-17T02:00:00Z"

    def test_without_tz_the_local_fields_are_null(self, vocabularies, client, frozen_now):
        frozen_now(dt.datetime(2027, 1, 4, 12, 0, tzinfo=UTC))
        make_meeting(name="West")
        [west] = client.get(self.URL).json()["results"]
        assert west["day_local"] is None and west["time_local"] is None and west["next_start_local"] is None

    @pytest.mark.parametrize("bad", ["Mars/Olympus", "Eastern", "../etc/passwd"])
    def test_unknown_tz_is_a_400_naming_tz(self, vocabularies, client, bad):
        response = client.get(self.URL, {"tz": bad})
        assert response.status_code == 400
        assert list(response.json()) == ["tz"]

    def test_tz_applies_to_one_meeting_too(self, vocabularies, client, frozen_now):
        frozen_now(dt.datetime(2027, 1, 4, 12, 0, tzinfo=UTC))
        meeting = make_meeting(name="West", day=2, time="19:00")
        body = client.get(f"{self.URL}{meeting.slug}/", {"tz": "Asia/Tokyo"}).json()
        assert (body["day_local"], body["time_local"]) == (3, "12:00")

    def test_by_appointment_and_zone_less_in_the_api(self, vocabularies, client, frozen_now):
        frozen_now(dt.datetime(2027, 1, 4, 12, 0, tzinfo=UTC))
        make_meeting(name="Appointment", day=None, time=None)
        meeting = make_meeting(name="Zone-less")
        Meeting.objects.filter(pk=meeting.pk).update(timezone="")
        for body in client.get(self.URL, {"tz": "America/New_York"}).json()["results"]:
            assert body["next_start"] is None and body["next_end"] is None and body["in_progress"] is False
            assert body["time_local"] is None

    def test_in_progress_filter(self, vocabularies, client, frozen_now):
        frozen_now(dt.datetime(2027, 1, 10, 8, 30, tzinfo=UTC))  # Sunday 00:30 in LA, 03:30 in New York
        make_meeting(name="Overnight", day=6, time="23:00", end_time=dt.time(1, 0))
        make_meeting(name="Ended", day=6, time="23:00", end_time=dt.time(0, 30))
        make_meeting(name="Starting", day=0, time="00:30")
        make_meeting(name="Tomorrow", day=1, time="00:00")
        make_meeting(name="East", day=0, time="03:00", no_location=True, timezone="America/New_York",
                     conference_url="https://zoom.us/j/1")
        make_meeting(name="Appointment", day=None, time=None)
        response = client.get(self.URL, {"in_progress": "true"})
        assert response.status_code == 200
        assert sorted(m["name"] for m in response.json()["results"]) == ["East", "Overnight", "Starting"]
        assert all(m["in_progress"] for m in response.json()["results"])
        assert len(client.get(self.URL, {"in_progress": "false"}).json()["results"]) == 6

    def test_in_progress_combines_with_other_filters(self, vocabularies, client, frozen_now):
        frozen_now(dt.datetime(2027, 1, 10, 8, 30, tzinfo=UTC))
        make_meeting(name="Open", day=0, time="00:00", types=("O",))
        make_meeting(name="Closed", day=0, time="00:00", types=("C",))
        names = [m["name"] for m in client.get(self.URL, {"in_progress": "true", "open": "open"}).json()["results"]]
        assert names == ["Open"]
        both = client.get(self.URL, {"in_progress": "true", "starting_within": 60}).json()["results"]
        assert both == []  # under way already: not starting in the next hour

    def test_in_progress_reads_back_as_far_as_the_longest_meeting(self, vocabularies, client, frozen_now):
        """What is under way started at most the directory's longest meeting
        ago (the clock's facts: selectors.clock_turns): a day-long meeting is found late in
        its day, one running past midnight early in the next."""
        frozen_now(dt.datetime(2027, 1, 14, 5, 30, tzinfo=UTC))  # Wednesday 21:30 in LA
        make_meeting(name="All day", day=3, time="07:30", end_time=dt.time(21, 45))
        make_meeting(name="Evening", day=3, time="21:00", end_time=dt.time(22, 0))
        make_meeting(name="Ended", day=3, time="20:00", end_time=dt.time(21, 0))
        assert selectors.clock_turns(using="default")[LA].longest == 14 * 60 + 15
        assert sorted(m["name"] for m in client.get(self.URL, {"in_progress": "true"}).json()["results"]) == [
            "All day", "Evening"]

    def test_in_progress_reads_back_past_midnight_as_far_as_the_longest_meeting(self, vocabularies, client,
                                                                               frozen_now):
        frozen_now(dt.datetime(2027, 1, 14, 11, 0, tzinfo=UTC))  # Thursday 03:00 in LA
        make_meeting(name="Overnight", day=3, time="20:00", end_time=dt.time(3, 30))
        make_meeting(name="Late", day=4, time="02:30", end_time=dt.time(3, 0))
        make_meeting(name="Early", day=4, time="02:45")
        assert selectors.clock_turns(using="default")[LA].longest == 7 * 60 + 30
        assert sorted(m["name"] for m in client.get(self.URL, {"in_progress": "true"}).json()["results"]) == [
            "Early", "Overnight"]

    def test_in_progress_junk_is_a_400(self, vocabularies, client):
        response = client.get(self.URL, {"in_progress": "maybe"})
        assert response.status_code == 400
        assert "in_progress" in response.json()

    def test_in_progress_filter_agrees_with_the_schedule_on_random_meetings(self, vocabularies, frozen_now):
        """DST-exact: around both LA transitions, the SQL-narrowed filter finds
        exactly the meetings schedule.in_progress says are under way."""
        rng = random.Random(4)
        zones = [LA, "America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata"]
        for n in range(120):
            start = dt.time(rng.randrange(24), rng.choice((0, 15, 30, 45)))
            end = rng.choice([None, dt.time(rng.randrange(24), rng.choice((0, 30)))])
            make_meeting(name=f"M{n}", day=rng.randrange(7), time=start.isoformat(timespec="minutes"),
                         end_time=end, no_location=True, timezone=rng.choice(zones),
                         conference_url="https://zoom.us/j/1")
        meetings = list(Meeting.objects.all())
        instants = [dt.datetime(2027, 3, 14, 9, 0, tzinfo=UTC) + dt.timedelta(minutes=37 * k) for k in range(12)]
        instants += [dt.datetime(2027, 11, 7, 8, 0, tzinfo=UTC) + dt.timedelta(minutes=29 * k) for k in range(12)]
        turns = selectors.clock_turns(using="default")
        under_way = 0
        for now in instants:
            expected = {m.pk for m in meetings if schedule.in_progress(
                day=m.day, time=m.time, end_time=m.end_time, timezone=m.timezone, now=now)}
            found = set(Meeting.objects.all().in_progress(times_under_way(now=now, turns=turns))
                        .values_list("pk", flat=True))
            assert found == expected, now
            under_way += len(found)
        assert under_way


@pytest.mark.django_db
def test_the_clocks_facts_are_the_turns_of_every_weekly_meetings_times(vocabularies):
    """selectors.clock_turns, which every answer that shows the clock reads:
    per valid zone, the turns of the distinct (day, time, end) of its meetings
    with a weekly time, published or not. One start may have no end and
    several ends; the ends are read after a start without one (PostgreSQL
    reads them one probe of the (zone, day, time, end) index per time)."""
    ny = "America/New_York"
    for time, end_time, zone in [("19:00", None, LA), ("19:00", t("20:00"), LA), ("19:00", t("21:30"), LA),
                                 ("19:00", t("20:00"), LA), ("19:30", None, LA), ("23:00", t("01:00"), LA),
                                 ("19:00", t("20:00"), ny), ("19:00", None, ny)]:
        make_meeting(day=1, time=time, end_time=end_time, timezone=zone)
    make_meeting(day=6, time="06:00", timezone=ny)
    make_meeting(day=0, time="00:00", end_time=t("00:30"), timezone=ny, published=False)
    make_meeting(day=None, time=None, timezone=LA, name="By appointment")
    Meeting.objects.filter(pk=make_meeting(day=3, time="10:00", timezone=LA).pk).update(timezone="Mars/Olympus")
    times: dict[str, set] = {}
    for meeting in Meeting.objects.filter(day__isnull=False):
        if meeting.timezone in schedule.known_zone_names():
            times.setdefault(meeting.timezone, set()).add((meeting.day, meeting.time, meeting.end_time))
    assert len(times[LA]) == 5 and len(times[ny]) == 4
    assert selectors.clock_turns(using="default") == {zone: schedule.zone_turns(sorted(found, key=str))
                                                     for zone, found in times.items()}


@pytest.mark.django_db
def test_starts_in_agrees_with_the_schedule_on_random_meetings(vocabularies):
    """DST-exact: in weeks with and without a clock change, every meeting
    starting within the windows asked is found, with its minutes to
    schedule.next_start, and no other; a week and two hours lists them all."""
    rng = random.Random(7)
    zones = [LA, "America/New_York", "America/Phoenix", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata",
             "Australia/Lord_Howe"]
    for n in range(150):
        make_meeting(name=f"M{n}", day=rng.randrange(7), no_location=True, timezone=rng.choice(zones),
                     time=dt.time(rng.randrange(24), rng.choice((0, 15, 30, 59))).isoformat(timespec="minutes"),
                     conference_url="https://zoom.us/j/1")
    make_meeting(name="By appointment", day=None, time=None, no_location=True, timezone=LA,
                 conference_url="https://zoom.us/j/1")
    meetings = list(Meeting.objects.all())
    instants = [dt.datetime(2027, 3, 9, 17, 3, tzinfo=UTC), dt.datetime(2027, 3, 14, 9, 59, tzinfo=UTC),
                dt.datetime(2027, 10, 31, 0, 30, tzinfo=UTC), dt.datetime(2027, 11, 3, 8, 0, tzinfo=UTC),
                dt.datetime(2027, 1, 20, 12, 0, tzinfo=UTC), dt.datetime(2027, 4, 3, 15, 31, tzinfo=UTC)]
    for now in instants:
        for minutes in (120, 24 * 60, selectors.LONGEST_WEEK_MINUTES):
            expected = {}
            for m in meetings:
                start = schedule.next_start(day=m.day, time=m.time, timezone=m.timezone, now=now)
                if start is not None and start - now.replace(second=0) <= dt.timedelta(minutes=minutes):
                    expected[m.pk] = int((start - now.replace(second=0)).total_seconds() // 60)
            found = dict(Meeting.objects.starting_within(now=now, minutes=minutes, zones=zones)
                         .values_list("pk", "starts_in"))
            assert found == expected, (now, minutes)
        assert len(found) == len(meetings) - 1  # all but the one by appointment
        # Windows that start later than now (a date asked, `starts_on`): two of them, a day each, in Berlin's days.
        days = [schedule.local_date_window(date=now.date() + dt.timedelta(days=k), tz=schedule.zone("Europe/Berlin"))
                for k in (2, 4)]
        expected = {}
        for m in meetings:
            start = schedule.next_start(day=m.day, time=m.time, timezone=m.timezone, now=now)
            if start is not None and any(begin <= start < end for begin, end in days):
                expected[m.pk] = int((start - now.replace(second=0)).total_seconds() // 60)
        found = dict(Meeting.objects.starting_between(now=now, windows=days[::-1], zones=zones)  # later one first
                     .values_list("pk", "starts_in"))
        assert found == expected and found, now


@pytest.mark.django_db
def test_a_week_of_starts_is_one_branch_per_zone_offset_where_no_clock_changes(vocabularies):
    """The minutes to a start are one expression per group of zones whose
    offset holds over the windows, not one per day and zone (a week in 48
    zones built ~250 branches: 140 ms of Python per search at 100,000
    meetings; bench/README.md, round 41); a zone whose clock changes keeps
    its branch per stretch of wall time."""
    now = dt.datetime(2027, 1, 20, 12, 0, tzinfo=UTC)  # no clock changes within a week anywhere asked
    zones = [LA, "America/New_York", "America/Phoenix", "Europe/Berlin", "Asia/Kolkata"]
    sql = str(Meeting.objects.starting_within(now=now, minutes=selectors.LONGEST_WEEK_MINUTES, zones=zones).query)
    assert sql.count(" WHEN ") == len(zones)
    # Berlin's clock goes forward on 28 March 2027: its week is cut where it changes.
    now = dt.datetime(2027, 3, 24, 12, 0, tzinfo=UTC)
    sql = str(Meeting.objects.starting_within(now=now, minutes=selectors.LONGEST_WEEK_MINUTES, zones=zones).query)
    berlin = schedule.starting_segments(timezone="Europe/Berlin", start=now,
                                        stop=now + dt.timedelta(minutes=selectors.LONGEST_WEEK_MINUTES + 1))
    # Los Angeles and Phoenix keep the same clock from 14 March: one branch for both.
    assert len(berlin) > 8 and sql.count(" WHEN ") == 3 + len(berlin)
