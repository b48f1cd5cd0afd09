"""Curated fields: a field an admin edited on an imported meeting is locked,
so imports stop overwriting it; the feed's latest value is kept beside it
(`Meeting.feed_values`) and the lock can be released.

An edit is recognised without any hook in the admin: the importer remembers
the value it last wrote; when the meeting's value differs at the next import,
someone curated it."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from fellowships.models import MeetingType
from meetings.models import Meeting
from meetings.services import meeting_save

# The meeting fields a feed sets, in the encoding kept in `feed_values`.
FEED_FIELDS = (
    "name", "day", "time", "end_time", "timezone", "notes", "conference_url", "conference_url_notes",
    "conference_phone", "conference_phone_notes", "group", "group_notes", "url", "published", "types",
)


def encode(field_name: str, value):
    if field_name in ("time", "end_time"):
        return value.strftime("%H:%M") if value else None
    if field_name == "types":
        return sorted(value)
    return value


def decode(field_name: str, value):
    if field_name in ("time", "end_time"):
        return dt.time.fromisoformat(value) if value else None
    return value


def current_values(meeting: Meeting, type_codes: list[str]) -> dict:
    values = {name: encode(name, getattr(meeting, name)) for name in FEED_FIELDS if name != "types"}
    values["types"] = encode("types", type_codes)
    return values


def newly_curated(*, meeting: Meeting, current: dict) -> list[str]:
    """Fields whose value differs from what the last import wrote."""
    last = meeting.feed_values or {}
    return [
        name for name in FEED_FIELDS
        if name not in meeting.locked_fields and name in last and current.get(name) != last[name]
    ]


@transaction.atomic
def meeting_lock_fields(*, meeting: Meeting, fields: list[str]) -> Meeting:
    """Lock fields explicitly (an admin saying "keep mine")."""
    unknown = set(fields) - set(FEED_FIELDS)
    if unknown:
        raise ValueError(f"not feed fields: {', '.join(sorted(unknown))}")
    meeting.locked_fields = sorted(set(meeting.locked_fields) | set(fields))
    Meeting.objects.filter(pk=meeting.pk).update(locked_fields=meeting.locked_fields)
    return meeting


@transaction.atomic
def meeting_release_lock(*, meeting: Meeting, field: str) -> Meeting:
    """Give a curated field back to the feed: it takes the feed's latest value now."""
    if field not in meeting.locked_fields:
        raise ValueError(f"{field!r} is not locked on {meeting.slug}")
    meeting.locked_fields = [name for name in meeting.locked_fields if name != field]
    types = None
    if field in (meeting.feed_values or {}):
        value = decode(field, meeting.feed_values[field])
        if field == "types":
            types = list(MeetingType.objects.filter(fellowship_id=meeting.fellowship_id, code__in=value))
        else:
            setattr(meeting, field, value)
    return meeting_save(meeting=meeting, types=types)
