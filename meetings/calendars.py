"""Meetings as iCalendar (RFC 5545) files: one weekly recurring event per
meeting, in the meeting's own zone (TZID plus a VTIMEZONE), so a calendar in
any other zone shows the right local hour on both sides of a DST change.

Left out, because a calendar cannot place them: by-appointment meetings (no
day or time) and meetings without a valid time zone.

Feeds are stored as sent, so text is made safe here: every text value is
RFC 5545 TEXT (`;`, `,`, `\\` and line breaks escaped, other control
characters left out), and a link that is not one clean URI (a line break or
space in it) is left out rather than written: no meeting's text can end a
line and start a property of its own, nor fail the whole file.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from functools import lru_cache

import icalendar
from django.utils.translation import gettext as _

from meetings import schedule
from meetings.attendance import consumer_url, dialled_phone, has_door, phone_is_usable, tel_uri
from meetings.feeds.records import CONTROL_RE

PRODID = "-//meetingfinder//Meetings//EN"
ICAL_DAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")
# How far ahead the VTIMEZONE spells out transitions; clients that know the
# IANA name (most) use their own rules beyond it.
VTIMEZONE_YEARS = 10
_URI_RE = re.compile(r"(?:https?://|tel:)[^\s\x00-\x1f\x7f]+", re.IGNORECASE)


def text(value: str) -> icalendar.vText:
    """A value as RFC 5545 TEXT: escaped by icalendar, control characters gone."""
    return icalendar.vText(CONTROL_RE.sub("", value))


def clean_uri(value: str) -> bool:
    """Whether `value` is one http(s) or tel URI that may be written as it is."""
    return bool(value) and _URI_RE.fullmatch(value) is not None


def is_calendarable(row: dict) -> bool:
    return row["day"] is not None and row["time"] is not None and schedule.is_valid_zone(row["timezone"])


def _has_door(row: dict) -> bool:
    return has_door(attendance=row["attendance_option"], latitude=row["latitude"], approximate=row["approximate"])


def _join_url(row: dict) -> str:
    """The join link as the feed writes it (`attendance.consumer_url`); one
    that is not a clean URI stays as stored, to be escaped as text or left out."""
    url = row["conference_url"]
    return consumer_url(url) if clean_uri(url) else url


def _where(row: dict) -> str:
    """A door when there is one, else the join link, else the phone."""
    if _has_door(row):
        return ", ".join(part for part in (row["location"], row["formatted_address"]) if part)
    if row["conference_provider"]:
        return _join_url(row)
    if phone_is_usable(row["conference_phone"]):
        return dialled_phone(row["conference_phone"])
    return row["formatted_address"]


def _description(row: dict, page_url: str) -> str:
    lines = [text for text in (row["notes"], row["location_notes"]) if text]
    if row["conference_provider"]:
        notes = f" ({row['conference_url_notes']})" if row["conference_url_notes"] else ""
        lines.append(_("Join online: %(link)s") % {"link": _join_url(row)} + notes)
    if phone_is_usable(row["conference_phone"]):
        notes = f" ({row['conference_phone_notes']})" if row["conference_phone_notes"] else ""
        lines.append(_("Join by phone: %(phone)s") % {"phone": dialled_phone(row["conference_phone"])} + notes)
    lines.append(_("Details: %(link)s") % {"link": page_url})
    return "\n\n".join(lines)


def meeting_event(*, row: dict, page_url: str, uid_domain: str, now: dt.datetime) -> icalendar.Event:
    """A meeting row (meetings/rows.py) as a weekly VEVENT whose first
    occurrence is the first on or after today in the meeting's zone (today's
    included, even under way)."""
    tz = schedule.zone(row["timezone"])
    start = dt.time.fromisoformat(row["time"])
    end_time = dt.time.fromisoformat(row["end_time"]) if row["end_time"] else None
    first = schedule.first_date_on_or_after(day=row["day"], date=now.astimezone(tz).date())
    days, end = schedule.wall_end(time=start, end_time=end_time)
    event = icalendar.Event()
    event.add("uid", f"{row['slug']}@{uid_domain}")
    updated = dt.datetime.fromisoformat(row["updated"])
    event.add("dtstamp", updated)
    event.add("last-modified", updated)
    event.add("summary", text(row["name"]))
    event.add("dtstart", dt.datetime.combine(first, start, tzinfo=tz))
    event.add("dtend", dt.datetime.combine(first + dt.timedelta(days=days), end, tzinfo=tz))
    event.add("rrule", {"FREQ": "WEEKLY", "BYDAY": [ICAL_DAYS[row["day"]]]})
    if clean_uri(page_url):
        event.add("url", page_url)
    where = _where(row)
    if where:
        event.add("location", text(where))
    if _has_door(row):
        event.add("geo", (row["latitude"], row["longitude"]))
    event.add("description", text(_description(row, page_url)))
    # RFC 7986 join details, which newer clients turn into a join button.
    if row["conference_provider"] and clean_uri(row["conference_url"]):
        event.add("conference", _join_url(row),
                  parameters={"VALUE": "URI", "FEATURE": "AUDIO,VIDEO", "LABEL": row["conference_provider"]})
    if phone_is_usable(row["conference_phone"]):
        event.add("conference", tel_uri(row["conference_phone"]), parameters={"VALUE": "URI", "FEATURE": "PHONE"})
    return event


def meetings_calendar(*, rows: Iterable[dict], name: str, page_url_for: Callable[[dict], str],
                      uid_domain: str, now: dt.datetime) -> bytes:
    """An RFC 5545 calendar of meeting rows, skipping what cannot be placed in
    time; its words in the active language (the views': `lang`)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", text(name))
    for row in rows:
        if is_calendarable(row):
            calendar.add_component(meeting_event(row=row, page_url=page_url_for(row), uid_domain=uid_domain, now=now))
    today = now.date()
    first, last = today - dt.timedelta(days=8), today.replace(year=today.year + VTIMEZONE_YEARS, day=min(today.day, 28))
    # What add_missing_timezones() does, each zone's built once a day, in the zones' order.
    for at, tzid in enumerate(sorted(calendar.get_missing_tzids())):
        calendar.subcomponents.insert(at, _vtimezone(tzid, first, last))
    return calendar.to_ical()


@lru_cache(maxsize=256)
def _vtimezone(tzid: str, first: dt.date, last: dt.date) -> icalendar.Timezone:
    """The zone's VTIMEZONE over [first, last]: building one walks those years
    of its offsets (~10 ms), which the library asks its callers to keep. Shared
    by every calendar that day: read only."""
    return icalendar.Timezone.from_tzid(tzid, first_date=first, last_date=last)
