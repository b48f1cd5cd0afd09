"""The search's fast path: a page of meetings as plain dicts built from one
`.values()` query and one query for their types, with no model instances or
serializer fields in between. It keeps MeetingSerializer's contract exactly;
tests/test_api_listing.py compares the two field by field."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connections
from django.db.models import OuterRef, QuerySet

from meetings import geo, schedule
from meetings.models import Meeting

# Output field -> the `.values()` path it comes from.
VALUE_PATHS = {
    "slug": "slug", "name": "name", "fellowship": "fellowship__slug", "service_body": "service_body__slug",
    "day": "day", "time": "time", "end_time": "end_time", "timezone": "timezone", "open_closed": "open_closed",
    "attendance_option": "attendance", "location": "location__name", "location_notes": "location__notes",
    "formatted_address": "location__formatted_address", "address": "location__address", "city": "location__city",
    "state": "location__state", "postal_code": "location__postal_code", "country": "location__country",
    "latitude": "latitude", "longitude": "longitude", "approximate": "location__approximate",
    "region": "location__region__slug", "notes": "notes", "conference_url": "conference_url",
    "conference_url_notes": "conference_url_notes", "conference_provider": "conference_provider",
    "conference_phone": "conference_phone", "conference_phone_notes": "conference_phone_notes",
    "group": "group", "url": "url", "updated": "updated",
}
LOCATION_TEXT = ("location", "location_notes", "formatted_address", "address", "city", "state", "postal_code",
                 "country")


def listing_values() -> tuple[str, ...]:
    return ("id", *VALUE_PATHS.values())


def listing_rows(meetings: QuerySet[Meeting]) -> QuerySet:
    """The `.values()` query of a page of the listing. On PostgreSQL each row
    carries its type codes (`type_codes`, an ARRAY subquery evaluated only for
    the rows of the page), so a page is one query."""
    if connections[meetings.db].vendor == "postgresql":
        codes = Meeting.types.through.objects.filter(meeting_id=OuterRef("pk")).values("meetingtype__code")
        meetings = meetings.annotate(type_codes=ArraySubquery(codes))
    return meetings.values(*listing_values(), *meetings.query.annotations)


def utc_text(instant: dt.datetime) -> str:
    """An instant as the API writes it: ISO 8601 in UTC with a Z."""
    return instant.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _types_by_meeting(ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    rows = Meeting.types.through.objects.filter(meeting_id__in=ids).values_list("meeting_id", "meetingtype__code")
    for meeting_id, code in rows:
        found[meeting_id].append(code)
    return found


# (minute, timings by slot) for the minute they were computed in: within a
# minute they cannot change (below); a new minute starts a new map. Replaced,
# never changed in place, so a thread still on the previous minute writes
# into that minute's map, not the new one.
_timings: tuple = (None, {})
MAX_CACHED_TIMINGS = 50_000


def _timing(day, time, end_time, zone, *, now: dt.datetime, viewer_zone: ZoneInfo | None) -> dict:
    """The timing fields of a slot, shared by the searches of one minute.

    next_occurrence reads `now` to the minute, and in_progress compares it
    with a meeting's start and end: instants on a whole minute (local times
    to the minute, zone offsets in whole minutes), so `start <= now < end`
    holds for every instant of a minute or none. Slots with seconds, and
    results off a whole minute, are not kept."""
    global _timings
    minute = now.replace(second=0, microsecond=0)
    current = _timings
    if current[0] != minute or len(current[1]) > MAX_CACHED_TIMINGS:
        current = _timings = (minute, {})
    key = (day, time, end_time, zone, viewer_zone)
    found = current[1].get(key)
    if found is None:
        found = _slot_timing(day, time, end_time, zone, now=now, viewer_zone=viewer_zone)
        whole = all(t is None or not (t.second or t.microsecond) for t in (time, end_time))
        if whole and (found["next_start"] is None or found["next_start"].endswith(":00Z")):
            current[1][key] = found
    return found


def _slot_timing(day, time, end_time, zone, *, now: dt.datetime, viewer_zone: ZoneInfo | None) -> dict:
    """The fields that depend only on a meeting's slot (day, times, zone)."""
    upcoming = schedule.next_occurrence(day=day, time=time, end_time=end_time, timezone=zone, now=now)
    local = upcoming[0].astimezone(viewer_zone) if upcoming and viewer_zone else None
    return {
        "next_start": utc_text(upcoming[0]) if upcoming else None,
        "next_end": utc_text(upcoming[1]) if upcoming else None,
        "in_progress": schedule.in_progress(day=day, time=time, end_time=end_time, timezone=zone, now=now),
        "day_local": schedule.sunday_zero_weekday(local.date()) if local else None,
        "time_local": local.strftime("%H:%M") if local else None,
        "next_start_local": local.isoformat() if local else None,
    }


def meeting_listing(*, rows: Iterable[dict], now: dt.datetime, unit: geo.Unit,
                    viewer_zone: ZoneInfo | None) -> list[dict]:
    """Turn `.values(*listing_values())` rows (with `distance_m` on geo
    searches) into the API's meeting objects."""
    rows = list(rows)
    types = {} if rows and "type_codes" in rows[0] else _types_by_meeting([row["id"] for row in rows])
    listing = []
    # Meetings of a page share a few slots (a weekday, peak hours, one zone).
    timings: dict[tuple, dict] = {}
    for row in rows:
        item = {field: row[path] for field, path in VALUE_PATHS.items()}
        for field in LOCATION_TEXT:
            if item[field] is None:  # no location
                item[field] = ""
        item["approximate"] = item["approximate"] is not False
        # Sorted here, not in SQL: Python's order is the serializer's, whatever the collation.
        item["types"] = sorted(row["type_codes"] if "type_codes" in row else types.get(row["id"], ()))
        item["open_closed"] = item["open_closed"] or None
        # "%H:%M", without strftime's cost (~2 us a call, twice a meeting).
        item["time"] = item["time"].isoformat("minutes") if item["time"] else None
        item["end_time"] = item["end_time"].isoformat("minutes") if item["end_time"] else None
        item["updated"] = utc_text(row["updated"])
        slot = (row["day"], row["time"], row["end_time"], row["timezone"])
        if slot not in timings:
            timings[slot] = _timing(*slot, now=now, viewer_zone=viewer_zone)
        item.update(timings[slot])
        distance = row.get("distance_m")
        item["distance"] = round(geo.from_metres(distance, unit), 2) if distance is not None else None
        listing.append(item)
    return listing
