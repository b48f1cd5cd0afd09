"""Meetings as iCalendar (RFC 5545) files: one weekly recurring event per
meeting, in the meeting's own zone (TZID plus a VTIMEZONE), so a calendar in
any other zone shows the right local hour on both sides of a DST change.

Left out, because a calendar cannot place them: by-appointment meetings (no
day or time) and meetings without a valid time zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import icalendar

from meetings import schedule
from meetings.attendance import conference_provider, phone_is_usable
from meetings.models import Meeting

PRODID = "-//meetingfinder//Meetings//EN"
ICAL_DAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")
# How far ahead the VTIMEZONE spells out transitions; clients that know the
# IANA name (most) use their own rules beyond it.
VTIMEZONE_YEARS = 10


def is_calendarable(meeting: Meeting) -> bool:
    return meeting.day is not None and meeting.time is not None and schedule.is_valid_zone(meeting.timezone)


def _where(meeting: Meeting) -> str:
    """A door when there is one, else the join link, else the phone."""
    location = meeting.location
    if location is not None and not location.approximate and location.latitude is not None:
        return ", ".join(part for part in (location.name, location.formatted_address) if part)
    if conference_provider(meeting.conference_url):
        return meeting.conference_url
    if phone_is_usable(meeting.conference_phone):
        return meeting.conference_phone
    return location.formatted_address if location is not None else ""


def _description(meeting: Meeting, page_url: str) -> str:
    lines = []
    if meeting.notes:
        lines.append(meeting.notes)
    if meeting.location is not None and meeting.location.notes:
        lines.append(meeting.location.notes)
    if conference_provider(meeting.conference_url):
        notes = f" ({meeting.conference_url_notes})" if meeting.conference_url_notes else ""
        lines.append(f"Join online: {meeting.conference_url}{notes}")
    if phone_is_usable(meeting.conference_phone):
        notes = f" ({meeting.conference_phone_notes})" if meeting.conference_phone_notes else ""
        lines.append(f"Join by phone: {meeting.conference_phone}{notes}")
    lines.append(f"Details: {page_url}")
    return "\n\n".join(lines)


def meeting_event(*, meeting: Meeting, page_url: str, uid_domain: str, now: dt.datetime) -> icalendar.Event:
    """The meeting as a weekly VEVENT whose first occurrence is the first on or
    after today in the meeting's zone (today's included, even under way)."""
    tz = schedule.zone(meeting.timezone)
    first = schedule.first_date_on_or_after(day=meeting.day, date=now.astimezone(tz).date())
    days, end = schedule.wall_end(time=meeting.time, end_time=meeting.end_time)
    event = icalendar.Event()
    event.add("uid", f"{meeting.slug}@{uid_domain}")
    updated = meeting.updated.astimezone(dt.timezone.utc)
    event.add("dtstamp", updated)
    event.add("last-modified", updated)
    event.add("summary", meeting.name)
    event.add("dtstart", dt.datetime.combine(first, meeting.time, tzinfo=tz))
    event.add("dtend", dt.datetime.combine(first + dt.timedelta(days=days), end, tzinfo=tz))
    event.add("rrule", {"FREQ": "WEEKLY", "BYDAY": [ICAL_DAYS[meeting.day]]})
    event.add("url", page_url)
    where = _where(meeting)
    if where:
        event.add("location", where)
    location = meeting.location
    if location is not None and not location.approximate and location.latitude is not None:
        event.add("geo", (location.latitude, location.longitude))
    event.add("description", _description(meeting, page_url))
    # RFC 7986 join details, which newer clients turn into a join button.
    provider = conference_provider(meeting.conference_url)
    if provider:
        event.add("conference", meeting.conference_url,
                  parameters={"VALUE": "URI", "FEATURE": "AUDIO,VIDEO", "LABEL": provider})
    if phone_is_usable(meeting.conference_phone):
        digits = "".join(c for c in meeting.conference_phone if c.isdigit() or c in "+,#*")
        event.add("conference", f"tel:{digits}", parameters={"VALUE": "URI", "FEATURE": "PHONE"})
    return event


def meetings_calendar(*, meetings: Iterable[Meeting], name: str, page_url_for: Callable[[Meeting], str],
                      uid_domain: str, now: dt.datetime) -> bytes:
    """An RFC 5545 calendar of `meetings`, skipping what cannot be placed in time."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for meeting in meetings:
        if is_calendarable(meeting):
            calendar.add_component(
                meeting_event(meeting=meeting, page_url=page_url_for(meeting), uid_domain=uid_domain, now=now)
            )
    today = now.date()
    calendar.add_missing_timezones(
        first_date=today - dt.timedelta(days=8),
        last_date=today.replace(year=today.year + VTIMEZONE_YEARS, day=min(today.day, 28)),
    )
    return calendar.to_ical()
