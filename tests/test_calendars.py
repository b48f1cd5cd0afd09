"""Calendar files: parsed back with icalendar, checked for RRULE, TZID,
VTIMEZONE and the instants a calendar in another zone would show."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest
from dateutil.rrule import rrulestr

from tests.factories import LocationFactory, ServiceBodyFactory, make_meeting

UTC = dt.timezone.utc
LA = ZoneInfo("America/Los_Angeles")


def parse(response) -> icalendar.Calendar:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/calendar")
    return icalendar.Calendar.from_ical(response.content)


def events(calendar: icalendar.Calendar) -> list[icalendar.Event]:
    return [c for c in calendar.walk("VEVENT")]


def occurrences(event: icalendar.Event, count: int) -> list[dt.datetime]:
    """The first `count` starts, expanded from DTSTART and the RRULE by dateutil
    (a weekly rule repeats the wall time in DTSTART's zone, as RFC 5545 says)."""
    start = event.decoded("dtstart")
    rule = rrulestr(event["rrule"].to_ical().decode(), dtstart=start)
    return list(rule[:count])


@pytest.mark.django_db
class TestOneMeeting:
    def test_weekly_event_in_the_meetings_zone(self, vocabularies, client, frozen_now):
        frozen_now(dt.datetime(2027, 3, 1, 12, 0, tzinfo=UTC))  # Monday
        hall = LocationFactory(name="Community Church", notes="Room 4")
        meeting = make_meeting(name="Tuesday Night", day=2, time="19:00", end_time=dt.time(20, 30), location=hall,
                               notes="Bring a friend.", conference_url="https://zoom.us/j/5550100",
                               conference_url_notes="Passcode 1234", conference_phone="+15550100123")
        calendar = parse(client.get(f"/api/v1/meetings/{meeting.slug}/calendar.ics"))
        assert calendar["version"] == "2.0" and calendar["prodid"]
        [event] = events(calendar)
        assert event["rrule"]["FREQ"] == ["WEEKLY"] and event["rrule"]["BYDAY"] == ["TU"]
        assert event["dtstart"].params["TZID"] == "America/Los_Angeles"
        assert event.decoded("dtstart") == dt.datetime(2027, 3, 2, 19, 0, tzinfo=LA)
        assert event.decoded("dtend") == dt.datetime(2027, 3, 2, 20, 30, tzinfo=LA)
        assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["America/Los_Angeles"]
        assert event["summary"] == "Tuesday Night"
        assert event["uid"] == f"{meeting.slug}@testserver"
        assert str(event["location"]) == f"Community Church, {hall.formatted_address}"
        # The meeting's page, for people, not the API's JSON.
        assert event["url"] == f"http://testserver/meetings/{meeting.slug}/"
        description = str(event["description"])
        assert f"Details: http://testserver/meetings/{meeting.slug}/" in description
        for text in ("Bring a friend.", "Room 4", "https://zoom.us/j/5550100 (Passcode 1234)", "+15550100123"):
            assert text in description
        conferences = event["conference"] if isinstance(event["conference"], list) else [event["conference"]]
        assert {str(c) for c in conferences} == {"https://zoom.us/j/5550100", "tel:+15550100123"}
        assert event.decoded("geo") is not None

    def test_a_phone_with_an_extension_is_a_uri_that_dials_it(self, vocabularies, client, frozen_now):
        # The number, a pause, the extension; "#" escaped as a URI needs (attendance.tel_uri, as the page's link).
        frozen_now(dt.datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
        meeting = make_meeting(conference_phone="+1 (949) 555-0199 x 123#")
        [event] = events(parse(client.get(f"/api/v1/meetings/{meeting.slug}/calendar.ics")))
        conferences = event["conference"] if isinstance(event["conference"], list) else [event["conference"]]
        assert [str(c) for c in conferences] == ["tel:+19495550199,123%23"]

    def test_a_messy_phone_is_written_as_the_feed_writes_it(self, vocabularies, client, frozen_now):
        # Spaces, letters and a PIN after commas, as feeds send them: the description and the
        # place of a phone-only meeting dial it as the Meeting Guide feed does (attendance.dialled_phone).
        frozen_now(dt.datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
        meeting = make_meeting(no_location=True, timezone="America/New_York",
                               conference_phone="+1 (949) 555-0199 ext. 12,, PIN 4567#",
                               conference_phone_notes="Press # twice")
        [event] = events(parse(client.get(f"/api/v1/meetings/{meeting.slug}/calendar.ics")))
        assert "Join by phone: +19495550199,12,,4567# (Press # twice)" in str(event["description"])
        assert str(event["location"]) == "+19495550199,12,,4567#"
        assert str(event["conference"]) == "tel:+19495550199,12,,4567%23"

    def test_the_publishers_page_is_the_url_when_known(self, vocabularies, client, frozen_now):
        frozen_now(dt.datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
        meeting = make_meeting(url="https://aa.example.org/meetings/tuesday-night/")
        [event] = events(parse(client.get(f"/api/v1/meetings/{meeting.slug}/calendar.ics")))
        assert event["url"] == "https://aa.example.org/meetings/tuesday-night/"

    def test_after_dst_the_utc_instant_still_matches_the_wall_time(self, vocabularies, client, frozen_now):
        """A calendar in Berlin expands the rule in Los Angeles time: 19:00 is 03:00 UTC
        in winter and 02:00 UTC in summer, never a drifting 19:00 in UTC or Berlin."""
        frozen_now(dt.datetime(2027, 2, 22, 12, 0, tzinfo=UTC))
        meeting = make_meeting(day=2, time="19:00")
        [event] = events(parse(client.get(f"/api/v1/meetings/{meeting.slug}/calendar.ics")))
        starts = occurrences(event, 5)  # Feb 23 ... Mar 23; LA springs forward on Mar 14
        utc = [s.astimezone(UTC) for s in starts]
        assert utc[0] == dt.datetime(2027, 2, 24, 3, 0, tzinfo=UTC)
        assert utc[-1] == dt.datetime(2027, 3, 24, 2, 0, tzinfo=UTC)
        berlin = ZoneInfo("Europe/Berlin")
        assert [s.astimezone(LA).time() for s in starts] == [dt.time(19, 0)] * 5
        assert starts[-1].astimezone(berlin).time() == dt.time(3, 0)

    def test_vtimezone_carries_both_offsets(self, vocabularies, client, frozen_now):
        frozen_now(dt.datetime(2027, 2, 22, 12, 0, tzinfo=UTC))
        meeting = make_meeting(day=2, time="19:00")
        calendar = parse(client.get(f"/api/v1/meetings/{meeting.slug}/calendar.ics"))
        [vtimezone] = calendar.walk("VTIMEZONE")
        offsets = {sub.decoded("tzoffsetto") for sub in vtimezone.subcomponents}
        assert offsets == {dt.timedelta(hours=-8), dt.timedelta(hours=-7)}
        # The library turns the VTIMEZONE back into a zone that agrees with the IANA one.
        zone = vtimezone.to_tz()
        summer = dt.datetime(2027, 7, 6, 19, 0)
        assert summer.replace(tzinfo=zone).utcoffset() == summer.replace(tzinfo=LA).utcoffset()

    def test_overnight_meeting_ends_the_next_day(self, vocabularies, client, frozen_now):
        frozen_now(dt.datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
        meeting = make_meeting(day=6, time="23:30")
        [event] = events(parse(client.get(f"/api/v1/meetings/{meeting.slug}/calendar.ics")))
        assert event.decoded("dtend") - event.decoded("dtstart") == dt.timedelta(hours=1)
        assert event.decoded("dtend").date() == dt.date(2027, 3, 7)

    def test_a_stated_end_past_midnight_is_the_next_day(self, vocabularies, client, frozen_now):
        """23:00-00:30 (issue 13: tsml-ui puts such an end before the start; our files must not)."""
        frozen_now(dt.datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
        meeting = make_meeting(day=5, time="23:00", end_time=dt.time(0, 30))
        [event] = events(parse(client.get(f"/api/v1/meetings/{meeting.slug}/calendar.ics")))
        assert event.decoded("dtend") - event.decoded("dtstart") == dt.timedelta(minutes=90)
        assert (event.decoded("dtstart").date(), event.decoded("dtend").date()) == (
            dt.date(2027, 3, 5), dt.date(2027, 3, 6))

    def test_online_only_meeting_is_located_by_its_link(self, vocabularies, client, frozen_now):
        frozen_now(dt.datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
        meeting = make_meeting(no_location=True, timezone="America/New_York", conference_url="https://zoom.us/j/1")
        [event] = events(parse(client.get(f"/api/v1/meetings/{meeting.slug}/calendar.ics")))
        assert str(event["location"]) == "https://zoom.us/j/1"
        assert event["dtstart"].params["TZID"] == "America/New_York"
        assert "geo" not in event

    def test_a_place_sent_in_parts_is_located_by_its_street(self, vocabularies, client, frozen_now):
        # A feed that sends address, city, state and postal code but no formatted address.
        frozen_now(dt.datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
        corner = LocationFactory(name="Corner Hall", address="1 Main St", city="Santa Ana", state="CA",
                                 postal_code="92701", formatted_address="")
        meeting = make_meeting(name="Corner", location=corner)
        expected = "Corner Hall, 1 Main St, Santa Ana, CA 92701, US"
        [event] = events(parse(client.get(f"/api/v1/meetings/{meeting.slug}/calendar.ics")))
        assert str(event["location"]) == expected and event.decoded("geo") is not None
        [event] = events(parse(client.get("/api/v1/meetings/calendar.ics")))
        assert str(event["location"]) == expected

    def test_a_temporarily_closed_meeting_held_online_is_located_by_its_link(self, vocabularies, client,
                                                                            frozen_now):
        # TC with a link is online (attendance.derive_attendance): the closed building is no place to go.
        frozen_now(dt.datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
        meeting = make_meeting(types=("TC",), location=LocationFactory(name="Closed Church"),
                               conference_url="https://zoom.us/j/5550100")
        assert meeting.attendance == "online"
        [event] = events(parse(client.get(f"/api/v1/meetings/{meeting.slug}/calendar.ics")))
        assert str(event["location"]) == "https://zoom.us/j/5550100"
        assert "geo" not in event

    def test_the_join_link_is_written_as_the_feed_writes_it(self, vocabularies, client, frozen_now):
        # The feed's rule (attendance.consumer_url): lower-case host, no default port.
        frozen_now(dt.datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
        meeting = make_meeting(no_location=True, timezone="America/New_York",
                               conference_url="https://US02WEB.zoom.us:443/j/5550100?pwd=AbC")
        [event] = events(parse(client.get(f"/api/v1/meetings/{meeting.slug}/calendar.ics")))
        written = "https://us02web.zoom.us/j/5550100?pwd=AbC"
        assert str(event["location"]) == written and str(event["conference"]) == written
        assert f"Join online: {written}" in str(event["description"])

    def test_its_words_are_in_the_language_asked(self, vocabularies, client, frozen_now):
        """Found by the review of 1 December: a Spanish reader's calendar said
        "Join online:", "Join by phone:" and "Details:". The page links the
        file in its own language (`lang`); each language is an answer of its own."""
        frozen_now(dt.datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
        meeting = make_meeting(no_location=True, timezone="America/New_York", conference_url="https://zoom.us/j/5",
                               conference_phone="+1 646 555 0100")
        url = f"/api/v1/meetings/{meeting.slug}/calendar.ics"
        spanish = str(events(parse(client.get(url, {"lang": "es"})))[0]["description"])
        assert "Unirse en línea: https://zoom.us/j/5" in spanish and "Unirse por teléfono: +16465550100" in spanish
        assert "Detalles: http" in spanish and "Join" not in spanish
        english = str(events(parse(client.get(url)))[0]["description"])
        assert "Join online: https://zoom.us/j/5" in english and "Details: http" in english
        assert english == str(events(parse(client.get(url, {"lang": "en"})))[0]["description"])
        refused = client.get(url, {"lang": "xx"})
        assert refused.status_code == 400 and set(refused.json()) == {"lang"}
        searched = parse(client.get("/api/v1/meetings/calendar.ics", {"lang": "es"}))
        assert str(searched["x-wr-calname"]) == "Reuniones"
        assert "Unirse en línea" in str(events(searched)[0]["description"])

    def test_today_is_the_first_occurrence_even_under_way(self, vocabularies, client, frozen_now):
        frozen_now(dt.datetime(2027, 3, 3, 3, 30, tzinfo=UTC))  # Tuesday 19:30 in Los Angeles
        meeting = make_meeting(day=2, time="19:00")
        [event] = events(parse(client.get(f"/api/v1/meetings/{meeting.slug}/calendar.ics")))
        assert event.decoded("dtstart").date() == dt.date(2027, 3, 2)

    def test_by_appointment_has_no_calendar(self, vocabularies, client):
        meeting = make_meeting(day=None, time=None)
        response = client.get(f"/api/v1/meetings/{meeting.slug}/calendar.ics")
        assert response.status_code == 404
        assert "appointment" in response.json()["detail"]

    def test_unpublished_and_unknown_meetings_are_404(self, vocabularies, client):
        hidden = make_meeting(published=False)
        assert client.get(f"/api/v1/meetings/{hidden.slug}/calendar.ics").status_code == 404
        assert client.get("/api/v1/meetings/no-such-meeting/calendar.ics").status_code == 404


@pytest.mark.django_db
class TestSearchCalendar:
    URL = "/api/v1/meetings/calendar.ics"

    def test_same_filters_as_the_search(self, vocabularies, client, frozen_now):
        frozen_now(dt.datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
        na_area = ServiceBodyFactory(name="NA Area", slug="na-area", fellowship=vocabularies["na"])
        make_meeting(name="AA Monday", day=1, types=("O",))
        make_meeting(name="AA Tuesday", day=2, types=("C",))
        make_meeting(name="NA Monday", fellowship="na", day=1, service_body=na_area)
        make_meeting(name="Appointment", day=None, time=None)
        search = client.get("/api/v1/meetings/", {"fellowship": "aa", "day": "1,2"}).json()["results"]
        calendar = parse(client.get(self.URL, {"fellowship": "aa", "day": "1,2"}))
        assert sorted(str(e["summary"]) for e in events(calendar)) == sorted(m["name"] for m in search)
        assert {str(e["summary"]) for e in events(parse(client.get(self.URL, {"type": "C"})))} == {"AA Tuesday"}

    def test_by_appointment_meetings_are_left_out(self, vocabularies, client, frozen_now):
        frozen_now(dt.datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
        make_meeting(name="Weekly")
        make_meeting(name="Appointment", day=None, time=None)
        assert [str(e["summary"]) for e in events(parse(client.get(self.URL)))] == ["Weekly"]

    def test_one_vtimezone_per_zone(self, vocabularies, client, frozen_now):
        frozen_now(dt.datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
        make_meeting(name="West")
        make_meeting(name="West again")
        make_meeting(name="East", no_location=True, timezone="America/New_York", conference_url="https://zoom.us/j/1")
        calendar = parse(client.get(self.URL))
        assert sorted(str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")) == [
            "America/Los_Angeles", "America/New_York"]
        assert len(events(calendar)) == 3

    def test_a_zones_vtimezone_is_built_once_a_day(self, vocabularies, client, frozen_now, monkeypatch):
        """Building one walks years of its offsets (~15 ms a calendar); the
        library asks that it be kept. Zones come in their names' order."""
        from meetings import calendars

        calendars._vtimezone.cache_clear()  # what other tests' calendars built
        built = []
        from_tzid = icalendar.Timezone.from_tzid
        monkeypatch.setattr(icalendar.Timezone, "from_tzid",
                            lambda tzid, **kwargs: built.append(tzid) or from_tzid(tzid, **kwargs))
        frozen_now(dt.datetime(2027, 3, 2, 12, 0, tzinfo=UTC))
        make_meeting(name="West")
        make_meeting(name="East", no_location=True, timezone="America/New_York", conference_url="https://zoom.us/j/1")
        first = parse(client.get(self.URL))
        again = parse(client.get(self.URL + "?day=2"))
        assert [str(tz["tzid"]) for tz in first.walk("VTIMEZONE")] == ["America/Los_Angeles", "America/New_York"]
        assert again.walk("VTIMEZONE")[0].to_ical() == first.walk("VTIMEZONE")[0].to_ical()
        assert sorted(built) == ["America/Los_Angeles", "America/New_York"]
        frozen_now(dt.datetime(2027, 3, 3, 12, 0, tzinfo=UTC))
        parse(client.get(self.URL))
        assert len(built) == 4  # a new day: its own span of years

    def test_bad_parameters_are_a_400_naming_them(self, vocabularies, client):
        response = client.get(self.URL, {"day": "9"})
        assert response.status_code == 400
        assert "day" in response.json()

    def test_too_many_meetings_is_a_400(self, vocabularies, client, monkeypatch):
        from meetings.api import publish_views

        monkeypatch.setattr(publish_views, "CALENDAR_MAX_EVENTS", 2)
        for n in range(3):
            make_meeting(name=f"M{n}")
        response = client.get(self.URL)
        assert response.status_code == 400
        assert "narrow" in response.json()["detail"]

    def test_not_swallowed_by_the_meeting_routes(self, vocabularies, client):
        # /meetings/calendar.ics must not be read as a meeting called "calendar" in format "ics".
        make_meeting(name="Calendar", slug="calendar")
        assert client.get(self.URL)["Content-Type"].startswith("text/calendar")


INJECTED = "\r\nBEGIN:VEVENT\r\nX-INJECTED:1"


@pytest.mark.django_db
class TestHostileText:
    """What a feed stores as it was sent (issue 12 audit): markup and iCalendar's own syntax in names, line
    breaks where one line is expected, links with line breaks. Every calendar still answers, with each value
    escaped as RFC 5545 TEXT or left out, and no line of a meeting's text becomes a property of its own."""

    def lines(self, response) -> list[bytes]:
        assert response.status_code == 200, response.content
        return response.content.split(b"\r\n")

    def test_a_name_with_markup_and_icalendar_syntax_is_escaped_text(self, vocabularies, client, frozen_now):
        frozen_now(dt.datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
        name = "<script>alert(1)</script> Group; a,b\\c" + INJECTED
        meeting = make_meeting(name=name, slug="hostile-name")
        response = client.get(f"/api/v1/meetings/{meeting.slug}/calendar.ics")
        assert not any(line.startswith(b"X-INJECTED") for line in self.lines(response))
        assert b"X-WR-CALNAME:<script>alert(1)</script> Group\\; a\\,b\\\\c\\nBEGIN" in response.content
        calendar = parse(response)
        assert str(events(calendar)[0]["summary"]) == name.replace("\r\n", "\n")

    @pytest.mark.parametrize("field", ["url", "conference_url"])
    def test_a_link_with_a_line_break_is_left_out_and_nothing_fails(self, vocabularies, client, frozen_now, field):
        frozen_now(dt.datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
        meeting = make_meeting(name="Hostile link", **{field: "https://zoom.us/j/5550100" + INJECTED})
        make_meeting(name="Neighbour")
        for url in (f"/api/v1/meetings/{meeting.slug}/calendar.ics", TestSearchCalendar.URL):
            response = client.get(url)
            assert not any(line.startswith(b"X-INJECTED") for line in self.lines(response)), url
            found = {str(event["summary"]): event for event in events(parse(response))}
            event = found["Hostile link"]
            assert event["url"] == f"http://testserver/meetings/{meeting.slug}/"
            assert "conference" not in event
        assert len(found) == 2

    def test_control_characters_are_left_out_of_text(self, vocabularies, client, frozen_now):
        frozen_now(dt.datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
        meeting = make_meeting(name="Bell\x07 and\x0b tab\there", notes="Form\x0cfeed", slug="bell")
        response = client.get(f"/api/v1/meetings/{meeting.slug}/calendar.ics")
        assert not any(ord(ch) < 32 and ch not in "\t\r\n" for ch in response.content.decode())
        [event] = events(parse(response))
        assert str(event["summary"]) == "Bell and tab\there"
