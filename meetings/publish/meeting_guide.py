"""The directory as a Meeting Guide feed (meeting-guide.md, "Exporting for
tsml-ui and the Meeting Guide app"): a bare JSON array, one object per weekly
meeting, spec type codes only, streamed so memory stays flat at any size.

What Meeting Guide cannot say travels in fields its consumers ignore:
`fellowship` (our slug) and `fellowship_types` (the meeting's codes in its
own fellowship's vocabulary), which our importer reads back, so NA's and
Al-Anon's meanings survive export and import.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice

from django.conf import settings
from django.db import router
from django.db.models import QuerySet

from fellowships.models import MeetingType, ServiceBody
from fellowships.vocabularies import meeting_guide_equivalents
from meetings import schedule
from meetings.directory_version import kept_per_version
from meetings.attendance import conference_provider, consumer_url, dialled_phone, phone_is_usable
from meetings.keywords import language_types, published_type_ids
from meetings.models import ADDRESS_PARTS, Meeting, Region, address_as_read
from meetings.publish.places import zone_place
from meetings.rows import meeting_type_ids

DEFAULT_CHUNK_SIZE = 2000
UPDATED_FORMAT = "%Y-%m-%d %H:%M:%S"

ROW_FIELDS = (
    "id", "slug", "name", "day", "time", "end_time", "timezone", "notes", "attendance", "open_closed",
    "fellowship__slug", "language_text",
    "conference_url", "conference_url_notes", "conference_phone", "conference_phone_notes",
    "group", "group_notes", "url", "updated", "service_body_id",
    "location_id", "location__name", "location__notes", "location__address", "location__city",
    "location__state", "location__postal_code", "location__country", "location__formatted_address",
    "location__latitude", "location__longitude", "location__approximate", "location__region_id",
)


@dataclass(frozen=True)
class _Lookups:
    """The small tables every record draws on, read once per export."""

    type_codes: dict[int, tuple[str, ...]]
    own_codes: dict[int, str]
    # {fellowship slug: {language: the type that names it}}
    language_types: dict[str, dict[str, int]]
    service_bodies: dict[int, dict]
    region_paths: dict[int, list[str]]


def region_path(key: Hashable, *, regions: Mapping[Hashable, tuple[str, Hashable]]) -> list[str]:
    """The region `key`'s path of names from the top ("Orange County",
    "Irvine"), as a feed gives it, from every region's (name, parent key): a
    parent not among them ends it, and so does a cycle typed in the admin
    (it must not hang the feed)."""
    path, cursor, seen = [], key, set()
    while cursor in regions and cursor not in seen:
        seen.add(cursor)
        name, cursor = regions[cursor]
        path.insert(0, name)
    return path


def _lookups() -> _Lookups:
    vocabulary = list(MeetingType.objects.values_list("pk", "fellowship__slug", "code", "kind", "language"))
    type_codes = {pk: meeting_guide_equivalents(fellowship=fellowship, code=code)
                  for pk, fellowship, code, _, _ in vocabulary}
    own_codes = {pk: code for pk, _, code, _, _ in vocabulary}
    languages = language_types((pk, fellowship, kind, language) for pk, fellowship, _, kind, language in vocabulary)
    service_bodies = {
        body["id"]: body
        for body in ServiceBody.objects.values("id", "name", "website", "email", "phone", "location")
    }
    return _Lookups(type_codes, own_codes, languages, service_bodies, region_paths())


def region_paths() -> dict[int, list[str]]:
    """Every region's `region_path` by id, kept per directory version (every
    write to the regions makes a new one). Read only."""
    def read() -> dict[int, list[str]]:
        regions = {pk: (name, parent) for pk, name, parent in
                   Region.objects.using(using).values_list("pk", "name", "parent_id")}
        return {pk: region_path(pk, regions=regions) for pk in regions}

    using = router.db_for_read(Region)
    return kept_per_version("region_paths", using=using, read=read)


def _place(row: dict, timezone: str) -> dict:
    """Address fields, coordinates and `approximate` of a record."""
    if row["location_id"] is not None:
        parts = {part: row[f"location__{part}"] for part in ADDRESS_PARTS}
        place = {
            "location": row["location__name"],
            "location_notes": row["location__notes"],
            **parts,
            "formatted_address": address_as_read(formatted_address=row["location__formatted_address"], **parts),
        }
        latitude, longitude = row["location__latitude"], row["location__longitude"]
        if latitude is not None and longitude is not None:
            place.update(latitude=round(latitude, 6), longitude=round(longitude, 6),
                         approximate="yes" if row["location__approximate"] else "no")
        else:  # an address nobody could place: consumers treat it as an area, and so does the directory
            place["approximate"] = "yes"
        return {k: v for k, v in place.items() if v != ""}
    # Online only: the principal city of the meeting's own zone, marked approximate.
    city = zone_place(timezone)
    if city is None:
        return {"approximate": "yes"}
    return {
        "city": city.city, "country": city.country, "formatted_address": city.formatted_address,
        "latitude": city.latitude, "longitude": city.longitude, "approximate": "yes",
    }


def _regions(row: dict, lookups: _Lookups) -> list[str]:
    """Every record has regions: tsml-ui files a record without them under its
    city, which for an online meeting is only its zone's or its area's ("New
    York" for an Orange County group meeting on Eastern time). Online meetings
    without a region get one of their own (`MEETING_GUIDE_ONLINE_REGION`);
    other meetings without one are filed under their city, as tsml-ui would."""
    if row["location__region_id"] and lookups.region_paths.get(row["location__region_id"]):
        return lookups.region_paths[row["location__region_id"]]
    if row["location_id"] is not None and row["location__city"] and row["attendance"] != "online":
        return [row["location__city"]]
    return [settings.MEETING_GUIDE_ONLINE_REGION]


def _types(row: dict, type_ids: Iterable[int], lookups: _Lookups) -> list[str]:
    """The meeting's codes bridged to the spec's; `C` or `O` as the directory
    decided by the fellowship's rule, so an Al-Anon meeting closed by Al-Anon's
    default says `C` to consumers that know no fellowship's default."""
    codes = {code for pk in type_ids for code in lookups.type_codes.get(pk, ())}
    if row["open_closed"] == "closed":
        codes = (codes - {"O"}) | {"C"}
    elif row["open_closed"] == "open":
        codes = (codes - {"C"}) | {"O"}
    return sorted(codes)


def meeting_guide_record(*, row: dict, type_ids: Iterable[int], lookups: _Lookups) -> dict:
    """One meeting as a Meeting Guide object; blank optional fields are left out."""
    timezone = schedule.published_zone(row["timezone"])
    record: dict = {"slug": row["slug"], "name": row["name"]}
    # No day (or no time) is Meeting Guide's "by appointment": both are left out.
    if row["day"] is not None and row["time"] is not None:
        _, end = schedule.wall_end(time=row["time"], end_time=row["end_time"])
        record.update(day=row["day"], time=schedule.hh_mm(row["time"]), end_time=schedule.hh_mm(end))
    if timezone:
        record["timezone"] = timezone
    record.update(_place(row, timezone))
    record["regions"] = _regions(row, lookups)
    # Its languages as the search reads them: a meeting of a Spanish-speaking body says S.
    type_ids = published_type_ids(type_ids=type_ids, language_text=row["language_text"],
                                  language_types=lookups.language_types.get(row["fellowship__slug"], {}))
    record["types"] = _types(row, type_ids, lookups)
    record["fellowship"] = row["fellowship__slug"]
    record["fellowship_types"] = sorted({lookups.own_codes[pk] for pk in type_ids if pk in lookups.own_codes})
    record["attendance_option"] = row["attendance"]
    for name in ("notes", "group", "group_notes", "url"):
        if row[name]:
            record[name] = row[name]
    # Only links and numbers consumers accept: an unknown host would show as a broken "online".
    if conference_provider(row["conference_url"]):
        record["conference_url"] = consumer_url(row["conference_url"])
        if row["conference_url_notes"]:
            record["conference_url_notes"] = row["conference_url_notes"]
    if phone_is_usable(row["conference_phone"]):
        record["conference_phone"] = dialled_phone(row["conference_phone"])
        if row["conference_phone_notes"]:
            record["conference_phone_notes"] = row["conference_phone_notes"]
    updated = row["updated"]
    updated = updated.astimezone(dt.timezone.utc) if updated.tzinfo is not None else updated
    record["updated"] = updated.strftime(UPDATED_FORMAT)
    body = lookups.service_bodies.get(row["service_body_id"])
    if body:
        record["entity"] = body["name"]
        # The spec's text says entity_website_url, its example and every consumer entity_url: write both.
        for field, value in (("entity_url", body["website"]), ("entity_website_url", body["website"]),
                             ("entity_email", body["email"]), ("entity_phone", body["phone"]),
                             ("entity_location", body["location"])):
            if value:
                record[field] = value
    return record


def meeting_guide_records(*, meetings: QuerySet[Meeting], chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[dict]:
    """The records of `meetings`, in its order, a chunk of rows at a time."""
    lookups = _lookups()
    rows = meetings.values(*ROW_FIELDS).iterator(chunk_size=chunk_size)
    while chunk := list(islice(rows, chunk_size)):
        type_ids = meeting_type_ids([r["id"] for r in chunk])
        for row in chunk:
            yield meeting_guide_record(row=row, type_ids=type_ids.get(row["id"], ()), lookups=lookups)


def meeting_guide_json(*, meetings: QuerySet[Meeting], chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
    """The feed as byte pieces of a JSON array, about one chunk of meetings each."""
    records = meeting_guide_records(meetings=meetings, chunk_size=chunk_size)
    yield b"["
    separator = ""
    while chunk := list(islice(records, chunk_size)):
        yield (separator + ",".join(json.dumps(record, ensure_ascii=False, separators=(",", ":"))
                                    for record in chunk)).encode()
        separator = ","
    yield b"]"
