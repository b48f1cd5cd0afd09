"""Loading the sample directory (`fixtures/orange_county.json`, written by
`fixtures/generate_orange_county.py`, whose docstring describes the shape).

Everything is matched on a stable key and written only when a value differs,
so loading twice writes nothing the second time: service bodies and regions by
slug, locations by (name, formatted_address), meetings by slug with
`source="sample"`. Meetings are saved through `meeting_save` so their derived
fields are computed as for any other meeting. The whole file is checked before
anything is written, and the load is one transaction: bad data changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from fellowships.models import Fellowship, MeetingType, ServiceBody
from fellowships.services import vocabularies_sync
from meetings import schedule
from meetings.models import Location, Meeting, Region
from meetings.services import location_save, meeting_refresh_derived, meeting_save

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "fixtures" / "orange_county.json"
SOURCE = "sample"
SUPPORTED_FORMAT = 1

# What a file's meeting sets (the rest is derived by the services).
MEETING_TEXT_FIELDS = ("name", "group", "timezone", "conference_url", "conference_url_notes", "conference_phone",
                       "conference_phone_notes", "notes", "group_notes", "url")
# What decides whether a stored meeting must be saved again: the file's
# fields plus everything `meeting_refresh_derived` computes from them.
MEETING_COMPARED = (*MEETING_TEXT_FIELDS, "day", "time", "end_time", "published", "source", "source_key",
                    "fellowship_id", "service_body_id", "location_id", "open_closed", "attendance",
                    "conference_provider", "latitude", "longitude")


class SampleDataError(Exception):
    """The sample file is missing, malformed or clashes with stored data."""


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass
class LoadReport:
    path: Path
    service_bodies: Tally = field(default_factory=Tally)
    regions: Tally = field(default_factory=Tally)
    locations: Tally = field(default_factory=Tally)
    meetings: Tally = field(default_factory=Tally)
    # Sample meetings stored earlier whose slugs the file no longer lists; left as they are.
    meetings_not_in_file: int = 0

    def tallies(self) -> dict[str, Tally]:
        return {"service bodies": self.service_bodies, "regions": self.regions, "locations": self.locations,
                "meetings": self.meetings}

    @property
    def written(self) -> int:
        return sum(t.created + t.updated for t in self.tallies().values())


def sample_data_read(*, path: Path) -> dict[str, list[dict]]:
    """The file's four lists, or a SampleDataError saying what is wrong."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise SampleDataError(f"no sample data file at {path}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise SampleDataError(f"cannot read {path}: {error}") from error
    except json.JSONDecodeError as error:
        raise SampleDataError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(data, dict) or data.get("format") != SUPPORTED_FORMAT:
        raise SampleDataError(f"{path}: expected an object with \"format\": {SUPPORTED_FORMAT}")
    lists = {}
    for key in ("service_bodies", "regions", "locations", "meetings"):
        rows = data.get(key, [])
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise SampleDataError(f"{path}: {key!r} must be a list of objects")
        lists[key] = rows
    return lists


def sample_data_load(*, path: Path = DEFAULT_PATH) -> LoadReport:
    """Create or update the sample directory; a second load writes nothing."""
    lists = sample_data_read(path=path)
    report = LoadReport(path=Path(path))
    with transaction.atomic():
        fellowships = vocabularies_sync()
        bodies = _service_bodies_upsert(rows=lists["service_bodies"], fellowships=fellowships,
                                        tally=report.service_bodies)
        regions = _regions_upsert(rows=lists["regions"], tally=report.regions)
        locations = _locations_upsert(rows=lists["locations"], regions=regions, tally=report.locations)
        _meetings_upsert(rows=lists["meetings"], fellowships=fellowships, bodies=bodies, locations=locations,
                         tally=report.meetings)
        listed = [row.get("slug") for row in lists["meetings"]]
        report.meetings_not_in_file = Meeting.objects.filter(source=SOURCE).exclude(slug__in=listed).count()
    return report


# --- reading values ---------------------------------------------------------

def _required(row: dict, key: str, what: str) -> Any:
    value = row.get(key)
    if value in (None, ""):
        raise SampleDataError(f"{what}: {key!r} is required")
    return value


def _text(row: dict, key: str, what: str) -> str:
    value = row.get(key) or ""
    if not isinstance(value, str):
        raise SampleDataError(f"{what}: {key!r} must be a string")
    return value


def _zone(row: dict, key: str, what: str, *, required: bool) -> str:
    name = _text(row, key, what)
    if (name or required) and not schedule.is_valid_zone(name):
        raise SampleDataError(f"{what}: {key!r} is not an IANA time zone: {name!r}")
    return name


def _time(row: dict, key: str, what: str) -> dt.time | None:
    value = row.get(key)
    if value in (None, ""):
        return None
    try:
        return dt.time.fromisoformat(value)
    except (TypeError, ValueError) as error:
        raise SampleDataError(f"{what}: {key!r} must be HH:MM, not {value!r}") from error


def _coordinate(row: dict, key: str, what: str, limit: float) -> float | None:
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not -limit <= value <= limit:
        raise SampleDataError(f"{what}: {key!r} must be a number between -{limit:g} and {limit:g}")
    return float(value)


def _unique(rows: list[dict], key: str, kind: str) -> None:
    seen = set()
    for row in rows:
        value = row.get(key)
        if value in seen:
            raise SampleDataError(f"{kind}: {key} {value!r} appears twice")
        seen.add(value)


def _upsert(model: type[models.Model], *, existing: models.Model | None, lookup: dict, values: dict,
            tally: Tally) -> models.Model:
    """Create, or update only the fields whose values differ (foreign keys
    compared by id), and count which it was."""
    if existing is None:
        tally.count("created")
        return model.objects.create(**lookup, **values)
    changed = []
    for name, value in values.items():
        attname = model._meta.get_field(name).attname
        wanted = value.pk if isinstance(value, models.Model) else value
        if getattr(existing, attname) != wanted:
            setattr(existing, name, value)
            changed.append(name)
    if changed:
        existing.save(update_fields=changed)
    tally.count("updated" if changed else "unchanged")
    return existing


# --- the four lists --------------------------------------------------------

def _service_bodies_upsert(*, rows: list[dict], fellowships: dict[str, Fellowship],
                           tally: Tally) -> dict[str, ServiceBody]:
    _unique(rows, "slug", "service bodies")
    stored = ServiceBody.objects.in_bulk([row.get("slug") for row in rows], field_name="slug")
    bodies: dict[str, ServiceBody] = {}
    for row in rows:
        slug = _required(row, "slug", "service body")
        what = f"service body {slug!r}"
        fellowship = fellowships.get(_required(row, "fellowship", what))
        if fellowship is None:
            raise SampleDataError(f"{what}: unknown fellowship {row['fellowship']!r}")
        parent_slug = row.get("parent")
        if parent_slug and parent_slug not in bodies:
            raise SampleDataError(f"{what}: parent {parent_slug!r} must be listed before it")
        values = {
            "name": _required(row, "name", what), "fellowship": fellowship,
            "parent": bodies[parent_slug] if parent_slug else None,
            "timezone": _zone(row, "timezone", what, required=True),
            "default_language": _text(row, "default_language", what) or "en",
            "website": _text(row, "website", what), "email": _text(row, "email", what),
            "phone": _text(row, "phone", what), "location": _text(row, "location", what),
        }
        bodies[slug] = _upsert(ServiceBody, existing=stored.get(slug), lookup={"slug": slug}, values=values,
                               tally=tally)
    return bodies


def _regions_upsert(*, rows: list[dict], tally: Tally) -> dict[str, Region]:
    _unique(rows, "slug", "regions")
    stored = Region.objects.in_bulk([row.get("slug") for row in rows], field_name="slug")
    regions: dict[str, Region] = {}
    for row in rows:
        slug = _required(row, "slug", "region")
        parent_slug = row.get("parent")
        if parent_slug and parent_slug not in regions:
            raise SampleDataError(f"region {slug!r}: parent {parent_slug!r} must be listed before it")
        values = {"name": _required(row, "name", f"region {slug!r}"),
                  "parent": regions[parent_slug] if parent_slug else None}
        regions[slug] = _upsert(Region, existing=stored.get(slug), lookup={"slug": slug}, values=values, tally=tally)
    return regions


def _locations_upsert(*, rows: list[dict], regions: dict[str, Region], tally: Tally) -> dict[str, Location]:
    """Locations go through `location_save`, which keeps the copied
    coordinates and attendance of their meetings in step."""
    _unique(rows, "key", "locations")
    # Stored locations are found again by name and address, so those must be unique too.
    _unique([{"place": (row.get("name") or "", row.get("formatted_address"))} for row in rows], "place", "locations")
    addresses = [row.get("formatted_address") or "" for row in rows]
    stored: dict[tuple[str, str], Location] = {}
    for location in Location.objects.filter(formatted_address__in=addresses).order_by("-pk"):
        stored[(location.name, location.formatted_address)] = location  # the oldest wins
    locations: dict[str, Location] = {}
    for row in rows:
        key = _required(row, "key", "location")
        what = f"location {key!r}"
        formatted_address = _required(row, "formatted_address", what)
        region_slug = row.get("region")
        if region_slug and region_slug not in regions:
            raise SampleDataError(f"{what}: unknown region {region_slug!r}")
        values = {name: _text(row, name, what) for name in ("address", "city", "state", "postal_code", "notes")}
        values.update({
            "country": _text(row, "country", what) or "US",
            "latitude": _coordinate(row, "latitude", what, 90), "longitude": _coordinate(row, "longitude", what, 180),
            "approximate": bool(row.get("approximate", False)),
            "timezone": _zone(row, "timezone", what, required=False),
        })
        if (values["latitude"] is None) != (values["longitude"] is None):
            raise SampleDataError(f"{what}: give both latitude and longitude, or neither")
        name = _text(row, "name", what)
        location = stored.get((name, formatted_address))
        region = regions[region_slug] if region_slug else None
        if location is None:
            location = Location(name=name, formatted_address=formatted_address)
            outcome = "created"
        elif (any(getattr(location, k) != v for k, v in values.items())
              or location.region_id != (region.pk if region else None)):
            outcome = "updated"
        else:
            locations[key] = location
            tally.count("unchanged")
            continue
        address_changed = outcome == "created" or any(
            getattr(location, k) != values[k] for k in ("address", "city", "state", "postal_code"))
        for field_name, value in values.items():
            setattr(location, field_name, value)
        location.region = region
        # Coordinates in the file are used as given; only a location without
        # them is geocoded (offline by default).
        location_save(location=location, address_changed=address_changed and values["latitude"] is None,
                      coordinates_changed=False)
        locations[key] = location
        tally.count(outcome)
    return locations


@dataclass
class _MeetingRow:
    slug: str
    values: dict
    types: list[MeetingType]


def _meeting_rows(*, rows: list[dict], fellowships: dict[str, Fellowship], bodies: dict[str, ServiceBody],
                  locations: dict[str, Location]) -> list[_MeetingRow]:
    """Every meeting of the file checked and resolved, before any is written."""
    _unique(rows, "slug", "meetings")
    _unique(rows, "source_key", "meetings")
    type_table = {(t.fellowship_id, t.code): t for t in MeetingType.objects.all()}
    known_bodies = dict(bodies)
    missing = {row.get("service_body") for row in rows} - set(known_bodies)
    known_bodies.update(ServiceBody.objects.in_bulk([s for s in missing if s], field_name="slug"))
    resolved = []
    for row in rows:
        slug = _required(row, "slug", "meeting")
        what = f"meeting {slug!r}"
        if len(slug) > Meeting._meta.get_field("slug").max_length:
            raise SampleDataError(f"{what}: slug is too long")
        fellowship = fellowships.get(_required(row, "fellowship", what))
        if fellowship is None:
            raise SampleDataError(f"{what}: unknown fellowship {row['fellowship']!r}")
        body = known_bodies.get(_required(row, "service_body", what))
        if body is None:
            raise SampleDataError(f"{what}: unknown service body {row['service_body']!r}")
        if body.fellowship_id != fellowship.pk:
            raise SampleDataError(f"{what}: service body {body.slug!r} is not a {fellowship.slug} service body")
        location_key = row.get("location")
        if location_key and location_key not in locations:
            raise SampleDataError(f"{what}: unknown location {location_key!r}")
        day = row.get("day")
        if day is not None and (isinstance(day, bool) or day not in range(7)):
            raise SampleDataError(f"{what}: 'day' must be 0 (Sunday) to 6 (Saturday) or null, not {day!r}")
        time = _time(row, "time", what)
        if (day is None) != (time is None):
            raise SampleDataError(f"{what}: give both day and time, or neither (by appointment)")
        codes = row.get("types") or []
        if not isinstance(codes, list):
            raise SampleDataError(f"{what}: 'types' must be a list of codes")
        unknown = [code for code in codes if (fellowship.pk, code) not in type_table]
        if unknown:
            raise SampleDataError(f"{what}: unknown {fellowship.slug} type codes: {', '.join(map(str, unknown))}")
        _zone(row, "timezone", what, required=False)
        values = {name: _text(row, name, what) for name in MEETING_TEXT_FIELDS}
        values.update({
            "name": _required(row, "name", what), "fellowship": fellowship, "service_body": body,
            "location": locations[location_key] if location_key else None, "day": day, "time": time,
            "end_time": _time(row, "end_time", what), "published": bool(row.get("published", True)),
            "source": SOURCE, "source_key": _required(row, "source_key", what),
        })
        resolved.append(_MeetingRow(slug, values, sorted({type_table[(fellowship.pk, c)] for c in codes},
                                                         key=lambda t: t.code)))
    return resolved


def _meetings_upsert(*, rows: list[dict], fellowships: dict[str, Fellowship], bodies: dict[str, ServiceBody],
                     locations: dict[str, Location], tally: Tally) -> None:
    resolved = _meeting_rows(rows=rows, fellowships=fellowships, bodies=bodies, locations=locations)
    slugs = [row.slug for row in resolved]
    stored = {m.slug: m for m in Meeting.objects.filter(slug__in=slugs).prefetch_related("types")}
    foreign = sorted(slug for slug, m in stored.items() if m.source != SOURCE)
    if foreign:
        raise SampleDataError(f"meetings not loaded from the sample data already use these slugs: "
                              f"{', '.join(foreign[:10])}")
    # A sample meeting keeps its source_key; one now held by another slug would clash.
    clashing = Meeting.objects.filter(source=SOURCE, source_key__in=[r.values["source_key"] for r in resolved])
    clashing = clashing.exclude(slug__in=slugs).values_list("source_key", flat=True)
    if clashing:
        raise SampleDataError(f"sample meetings with other slugs hold these source keys: {', '.join(clashing[:10])}")
    now = timezone.now()
    for row in resolved:
        meeting = stored.get(row.slug)
        if meeting is None:
            meeting_save(meeting=Meeting(slug=row.slug, **row.values), types=row.types, now=now)
            tally.count("created")
            continue
        before = {name: getattr(meeting, name) for name in MEETING_COMPARED}
        types_before = {t.pk for t in meeting.types.all()}
        for name, value in row.values.items():
            setattr(meeting, name, value)
        # Derive as the save would, to see whether anything would change.
        meeting_refresh_derived(meeting=meeting, types=row.types)
        if before == {name: getattr(meeting, name) for name in MEETING_COMPARED} and types_before == {
                t.pk for t in row.types}:
            tally.count("unchanged")
            continue
        meeting_save(meeting=meeting, types=row.types, now=now)
        tally.count("updated")
