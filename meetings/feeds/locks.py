"""Curated fields: a field an admin edited on an imported meeting or location
is locked, so imports stop overwriting it; the feed's latest value is kept
beside it (`feed_values`) and the lock can be released
(`meetings.services.meeting_release_lock`). A meeting's location is one too
(`PLACE`): a curator's move of a meeting to another location.

An edit is recognised without any hook in the admin: the importer remembers
the value it last wrote; when the stored value differs at the next import,
someone curated it. The admin also locks what a curator edits at once.

This module holds the vocabulary only (which fields, how they are encoded,
which differ) and imports no write service, so the services, the history and
the importer can all use it without an import cycle."""

from __future__ import annotations

import datetime as dt

from django.db import models

from meetings import schedule
from meetings.feeds.records import FeedMeeting

# The meeting fields a feed sets, in the encoding kept in `feed_values`.
FEED_FIELDS = (
    "name", "day", "time", "end_time", "timezone", "notes", "conference_url", "conference_url_notes",
    "conference_phone", "conference_phone_notes", "group", "group_notes", "url", "published", "types",
)
# The location fields a feed sets. A pin is one thing: latitude and longitude
# are locked together (see `newly_curated`).
LOCATION_FEED_FIELDS = (
    "name", "address", "city", "state", "postal_code", "country", "formatted_address", "latitude", "longitude",
    "approximate", "notes",
)
PIN = ("latitude", "longitude")
# Which place a meeting is at: a curator who moves a meeting to another
# location owns that choice as they own a curated name. Not a feed field
# (the feed does not name our locations): `feed_values["location"]` keeps
# the feed's place key beside it, and releasing the lock puts the meeting
# back at the feed's place (`meetings.services.meeting_release_lock`).
PLACE = "location"
# Which region a location is filed under. Not a feed field (a feed names a
# path of region names, which the importer finds ours by): its
# `feed_values["region"]` keeps the id of the region the import filed the
# place under, so that a place the feed describes anew is filed where the
# feed now files it, unless a curator filed it elsewhere (then that is
# theirs, as a changed field is). A place stored before keeps its region.
REGION = "region"
# What may be locked on a meeting: its feed fields and its place.
MEETING_LOCKABLE_FIELDS = (*FEED_FIELDS, PLACE)


def encode(field_name: str, value):
    if field_name in ("time", "end_time"):
        return schedule.hh_mm(value)
    if field_name == "types":
        return sorted(value)
    return value


def decode(field_name: str, value):
    if field_name in ("time", "end_time"):
        return dt.time.fromisoformat(value) if value else None
    return value


def current_values(meeting: models.Model | FeedMeeting, type_codes: list[str]) -> dict:
    """The feed fields of a meeting, or of a feed's record of one (the same
    names), as `feed_values` keeps them."""
    values = {name: encode(name, getattr(meeting, name)) for name in FEED_FIELDS if name != "types"}
    values["types"] = encode("types", type_codes)
    return values


def location_current_values(location: models.Model) -> dict:
    return {name: getattr(location, name) for name in LOCATION_FEED_FIELDS}


def newly_curated(*, obj: models.Model, current: dict, fields: tuple[str, ...] = FEED_FIELDS) -> list[str]:
    """Fields of a meeting or location whose value differs from what the
    last import wrote (and are not locked yet)."""
    last = obj.feed_values or {}
    curated = [name for name in fields
               if name not in obj.locked_fields and name in last and current.get(name) != last[name]]
    if any(name in PIN for name in curated):
        curated = sorted(set(curated) | {name for name in PIN if name in fields and name not in obj.locked_fields})
    return curated


def unknown_fields(fields: list[str], *, allowed: tuple[str, ...]) -> list[str]:
    return sorted(set(fields) - set(allowed))
