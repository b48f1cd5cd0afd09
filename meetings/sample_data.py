"""Loading the sample directory (`fixtures/orange_county.json`, written by
`fixtures/generate_orange_county.py`, whose docstring describes the shape).

Service bodies and regions the database lacks are made; one that is there is
never changed (`_create_or_keep`). The places and meetings are a feed of their
own (one disabled feed source per service body, `sample-<body slug>`, the
file's location keys their shared place keys), imported through
`meetings.feeds.importer`: a second load writes nothing, and what a curator
changed is a curated field the next load keeps; a meeting dropped from the
file is left as it is. The whole file is checked before anything is written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from django.db import models, transaction

from fellowships.models import Fellowship, MeetingType, ServiceBody
from fellowships.services import vocabularies_sync
from meetings import schedule
from meetings.feeds import locks
from meetings.feeds.importer import feed_import, feed_location, feed_places_apply, feed_plan
from meetings.feeds.records import FeedMeeting, ParsedFeed
from meetings.models import FeedFormat, FeedSource, ImportRun, Location, Meeting, Region
from meetings.publish.meeting_guide import region_path

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "fixtures" / "orange_county.json"
# The places of the sample's feed sources, shared by all of them.
PLACES = "sample"
# `Meeting.source` of sample meetings loaded before the sample was a feed.
LEGACY_SOURCE = "sample"
SUPPORTED_FORMAT = 1


class SampleDataError(Exception):
    """The sample file is missing, malformed or clashes with stored data."""


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Rows that differ from the file because a person changed them: left as they are.
    kept: int = 0

    def count(self, outcome: str, n: int = 1) -> None:
        setattr(self, outcome, getattr(self, outcome) + n)


@dataclass
class LoadReport:
    path: Path
    service_bodies: Tally = field(default_factory=Tally)
    regions: Tally = field(default_factory=Tally)
    locations: Tally = field(default_factory=Tally)
    meetings: Tally = field(default_factory=Tally)
    # Sample meetings stored earlier whose keys the file no longer lists; left as they are.
    meetings_not_in_file: int = 0

    def tallies(self) -> dict[str, Tally]:
        return {"service bodies": self.service_bodies, "regions": self.regions, "locations": self.locations,
                "meetings": self.meetings}

    @property
    def written(self) -> int:
        return sum(t.created + t.updated for t in self.tallies().values())


@dataclass
class SampleMeeting(FeedMeeting):
    """A meeting (or a place alone) of the file, as a feed record: its place
    is named by the file's location key."""

    place_key: str = ""
    # Its place's region path as the file names it; `regions` holds the stored
    # names, which the importer finds regions by. The hash reads the file's, so
    # a region a person renamed or moved does not make its meetings look changed.
    file_regions: list[str] = field(default_factory=list)

    def content_hash(self) -> str:
        if not self.hash_cache:
            as_filed = FeedMeeting.content_hash(dataclasses.replace(self, regions=self.file_regions, hash_cache=""))
            self.hash_cache = hashlib.sha256(f"{as_filed}|{self.place_key}".encode()).hexdigest()
        return self.hash_cache


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
    """Create what of the sample directory is missing and bring its meetings
    and places up to the file as a feed; a second load writes nothing, and
    what a curator changed stays as they left it."""
    lists = sample_data_read(path=path)
    report = LoadReport(path=Path(path))
    with transaction.atomic():
        fellowships = vocabularies_sync()
        bodies = _tree_create_missing(ServiceBody, rows=lists["service_bodies"], kind="service body",
                                      kinds="service bodies", tally=report.service_bodies,
                                      values=partial(_service_body_values, fellowships=fellowships))
        regions = _tree_create_missing(Region, rows=lists["regions"], kind="region", kinds="regions",
                                       tally=report.regions,
                                       values=lambda row, what: {"name": _required(row, "name", what)})
        places = _places(rows=lists["locations"], regions=regions, region_rows=lists["regions"])
        by_body = _meetings_by_body(rows=lists["meetings"], fellowships=fellowships, bodies=bodies, places=places)
        sources = _sample_sources(bodies=[body for body, _ in by_body.values()])
        _refuse_foreign_slugs(rows=lists["meetings"], sources=list(sources.values()))
        _adopt_legacy_rows(by_body=by_body, sources=sources, places=places)
    before = _stored_places()
    if any(before.get(_place_key(p)) != _described(p) for p in places.values()):
        feed_places_apply(namespace=PLACES, places=list(places.values()))
    after = _stored_places()
    for place in places.values():
        key = _place_key(place)
        report.locations.count("created" if key not in before else "updated" if before[key] != after.get(key)
                               else "unchanged")
    stored_keys: dict[int, set[str]] = {source.pk: set() for source in sources.values()}
    for source_id, key in Meeting.objects.filter(feed_source__in=list(sources.values())).values_list(
            "feed_source_id", "source_key"):
        stored_keys[source_id].add(key)
    for slug, (_, meetings) in by_body.items():
        source = sources[slug]
        _import(source=source, meetings=meetings, stored_keys=stored_keys[source.pk], tally=report.meetings)
    listed = {row.get("source_key") for row in lists["meetings"]}
    report.meetings_not_in_file = Meeting.objects.filter(feed_source__in=list(sources.values())).exclude(
        source_key__in=listed).count()
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
        time = dt.time.fromisoformat(value)
    except (TypeError, ValueError) as error:
        raise SampleDataError(f"{what}: {key!r} must be HH:MM, not {value!r}") from error
    if not schedule.is_whole_minute(time):
        raise SampleDataError(f"{what}: {key!r} must be HH:MM, not {value!r}")
    return time


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


def _create_or_keep(model: type[models.Model], *, existing: models.Model | None, lookup: dict, values: dict,
                    tally: Tally) -> models.Model:
    """The row, made (unsaved: `_create_missing` writes it) if it is missing;
    an existing row is never written (whoever changed it meant it), only
    counted as unchanged or as kept when its values differ from the file's
    (foreign keys compared by id)."""
    if existing is None:
        tally.count("created")
        return model(**lookup, **values)
    differs = any(getattr(existing, model._meta.get_field(name).attname) != (
        value.pk if isinstance(value, models.Model) else value) for name, value in values.items())
    tally.count("kept" if differs else "unchanged")
    return existing


def _create_missing(model: type[models.Model], rows: list[models.Model]) -> None:
    """Write the rows `_create_or_keep` made, a generation at a time (a row's
    parent is listed before it): one statement each, not one per row."""
    new = [row for row in rows if row.pk is None]
    while new:
        model.objects.bulk_create([row for row in new if row.parent is None or row.parent.pk is not None])
        new = [row for row in new if row.pk is None]


# --- the four lists --------------------------------------------------------

def _tree_create_missing(model: type[ServiceBody | Region], *, rows: list[dict], kind: str, kinds: str,
                         tally: Tally, values: Callable[[dict, str], dict]) -> dict[str, models.Model]:
    """The rows of a tree (service bodies, regions) by slug, each parent
    listed before it: stored ones kept, missing ones made (`_create_or_keep`)
    from `values(row, what)`, their fields but the parent."""
    _unique(rows, "slug", kinds)
    stored = model.objects.in_bulk([row.get("slug") for row in rows], field_name="slug")
    found: dict[str, models.Model] = {}
    for row in rows:
        slug = _required(row, "slug", kind)
        what = f"{kind} {slug!r}"
        parent_slug = row.get("parent")
        if parent_slug and parent_slug not in found:
            raise SampleDataError(f"{what}: parent {parent_slug!r} must be listed before it")
        found[slug] = _create_or_keep(model, existing=stored.get(slug), lookup={"slug": slug}, tally=tally, values={
            **values(row, what), "parent": found[parent_slug] if parent_slug else None})
    _create_missing(model, list(found.values()))
    return found


def _fellowship(row: dict, what: str, fellowships: dict[str, Fellowship]) -> Fellowship:
    fellowship = fellowships.get(_required(row, "fellowship", what))
    if fellowship is None:
        raise SampleDataError(f"{what}: unknown fellowship {row['fellowship']!r}")
    return fellowship


def _service_body_values(row: dict, what: str, *, fellowships: dict[str, Fellowship]) -> dict:
    return {
        "name": _required(row, "name", what), "fellowship": _fellowship(row, what, fellowships),
        "timezone": _zone(row, "timezone", what, required=True),
        "default_language": _text(row, "default_language", what) or "en",
        "website": _text(row, "website", what), "email": _text(row, "email", what),
        "phone": _text(row, "phone", what), "location": _text(row, "location", what),
    }


# --- places and meetings: the sample as a feed ------------------------------

def _place_key(place: SampleMeeting) -> str:
    return f"key:{place.place_key}"


def _described(place: SampleMeeting) -> dict:
    return locks.location_current_values(feed_location(place))


def _stored_places() -> dict[str, dict]:
    """What the sample's places were last described as, by key (as
    `_described` says it: without the region the import filed them under)."""
    return {key: {name: value for name, value in (said or {}).items() if name != locks.REGION}
            for key, said in Location.objects.filter(source=PLACES).values_list("source_key", "feed_values")}


def _places(*, rows: list[dict], regions: dict[str, Region], region_rows: list[dict]) -> dict[str, SampleMeeting]:
    """Every location of the file checked, as a feed place keyed by its key."""
    _unique(rows, "key", "locations")
    # A place's region path as stored (the importer finds the stored regions by it) and as the file gives it.
    stored_regions = {region.pk: (region.name, region.parent_id) for region in regions.values()}
    file_regions = {row["slug"]: (row["name"], row.get("parent")) for row in region_rows}
    places: dict[str, SampleMeeting] = {}
    for row in rows:
        key = _required(row, "key", "location")
        what = f"location {key!r}"
        region_slug = row.get("region")
        if region_slug and region_slug not in regions:
            raise SampleDataError(f"{what}: unknown region {region_slug!r}")
        latitude = _coordinate(row, "latitude", what, 90)
        longitude = _coordinate(row, "longitude", what, 180)
        if (latitude is None) != (longitude is None):
            raise SampleDataError(f"{what}: give both latitude and longitude, or neither")
        _zone(row, "timezone", what, required=False)  # checked; the importer finds a place's zone from its pin
        places[key] = SampleMeeting(
            key="", slug_hint="", name="", day=None, time=None, place_key=key,
            location_name=_text(row, "name", what), address=_text(row, "address", what),
            city=_text(row, "city", what), state=_text(row, "state", what),
            postal_code=_text(row, "postal_code", what), country=_text(row, "country", what) or "US",
            formatted_address=_required(row, "formatted_address", what), latitude=latitude, longitude=longitude,
            approximate=bool(row.get("approximate", False)), location_notes=_text(row, "notes", what),
            regions=region_path(regions[region_slug].pk, regions=stored_regions) if region_slug else [],
            file_regions=region_path(region_slug, regions=file_regions) if region_slug else [],
        )
    return places


def _meetings_by_body(*, rows: list[dict], fellowships: dict[str, Fellowship], bodies: dict[str, ServiceBody],
                      places: dict[str, SampleMeeting]) -> dict[str, tuple[ServiceBody, list[SampleMeeting]]]:
    """Every meeting of the file checked and resolved, before any is written,
    grouped by service body (one feed source each)."""
    _unique(rows, "slug", "meetings")
    _unique(rows, "source_key", "meetings")
    type_codes = set(MeetingType.objects.values_list("fellowship_id", "code"))
    known_bodies = dict(bodies)
    missing = {row.get("service_body") for row in rows} - set(known_bodies)
    known_bodies.update(ServiceBody.objects.in_bulk([s for s in missing if s], field_name="slug"))
    grouped: dict[str, tuple[ServiceBody, list[SampleMeeting]]] = {}
    for row in rows:
        slug = _required(row, "slug", "meeting")
        what = f"meeting {slug!r}"
        if len(slug) > Meeting._meta.get_field("slug").max_length:
            raise SampleDataError(f"{what}: slug is too long")
        fellowship = _fellowship(row, what, fellowships)
        body = known_bodies.get(_required(row, "service_body", what))
        if body is None:
            raise SampleDataError(f"{what}: unknown service body {row['service_body']!r}")
        if body.fellowship_id != fellowship.pk:
            raise SampleDataError(f"{what}: service body {body.slug!r} is not a {fellowship.slug} service body")
        location_key = row.get("location")
        if location_key and location_key not in places:
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
        unknown = [code for code in codes if (fellowship.pk, code) not in type_codes]
        if unknown:
            raise SampleDataError(f"{what}: unknown {fellowship.slug} type codes: {', '.join(map(str, unknown))}")
        # The meeting is its place (a place alone, or none) with the meeting's own fields.
        meeting = dataclasses.replace(
            places[location_key] if location_key else SampleMeeting(key="", slug_hint="", name="", day=None, time=None),
            key=_required(row, "source_key", what), slug_hint=slug, name=_required(row, "name", what), day=day,
            time=time, end_time=_time(row, "end_time", what), timezone=_zone(row, "timezone", what, required=False),
            type_tokens=list(codes), published=bool(row.get("published", True)), hash_cache="",
            **{name: _text(row, name, what) for name in (
                "notes", "conference_url", "conference_url_notes", "conference_phone", "conference_phone_notes",
                "group", "group_notes", "url")},
        )
        grouped.setdefault(body.slug, (body, []))[1].append(meeting)
    return grouped


def _sample_sources(*, bodies: list[ServiceBody]) -> dict[str, FeedSource]:
    """The feed source of each body's sample meetings, made the first time."""
    slug_of = {body.slug: f"sample-{body.slug}"[:80] for body in bodies}
    stored = FeedSource.objects.in_bulk(list(slug_of.values()), field_name="slug")
    sources = {}
    for body in bodies:
        source = stored.get(slug_of[body.slug])
        if source is None:
            source = FeedSource.objects.create(
                slug=slug_of[body.slug], name=f"Sample data: {body.name}"[:200], format=FeedFormat.MEETING_GUIDE,
                fellowship_id=body.fellowship_id, service_body=body, enabled=False)
        sources[body.slug] = source
    return sources


def _refuse_foreign_slugs(*, rows: list[dict], sources: list[FeedSource]) -> None:
    """A meeting someone else made under a slug of the file is theirs: refuse, change nothing."""
    slugs = [row.get("slug") for row in rows]
    foreign = sorted(Meeting.objects.filter(slug__in=slugs).exclude(feed_source__in=sources).exclude(
        source=LEGACY_SOURCE, feed_source=None).values_list("slug", flat=True))
    if foreign:
        raise SampleDataError(f"meetings not loaded from the sample data already use these slugs: "
                              f"{', '.join(foreign[:10])}")


def _adopt_legacy_rows(*, by_body: dict, sources: dict[str, FeedSource], places: dict[str, SampleMeeting]) -> None:
    """Rows the loader wrote before the sample was a feed become the feed's:
    what they were loaded with is taken as the feed's last values, so what a
    curator changed since is recognised as curated by the next import."""
    legacy = {m.slug: m for m in Meeting.objects.filter(source=LEGACY_SOURCE, feed_source=None)}
    adopted = []
    for slug, (body, meetings) in by_body.items():
        source = sources[slug]
        for fm in meetings:
            meeting = legacy.get(fm.slug_hint)
            if meeting is None:
                continue
            meeting.source, meeting.feed_source, meeting.source_key = source.meeting_source, source, fm.key
            meeting.content_hash = ""  # applied again once, with curated fields locked
            place = places.get(fm.place_key)
            # The feed fields as the file gives them (the zone as stored).
            meeting.feed_values = {**locks.current_values(fm, fm.type_tokens), "timezone": meeting.timezone,
                                   "location": _place_key(place) if place else ""}
            adopted.append(meeting)
    if not adopted:
        return
    Meeting.objects.bulk_update(adopted, ["source", "feed_source", "source_key", "content_hash", "feed_values"])
    # The old loader found its locations by (name, formatted address); the oldest wins, as it did.
    stored = {}
    for location in Location.objects.filter(source="", formatted_address__in=[
            p.formatted_address for p in places.values()]).order_by("-pk"):
        stored[(location.name, location.formatted_address)] = location
    for place in places.values():
        location = stored.get((place.location_name, place.formatted_address))
        if location is not None:
            location.source, location.source_key, location.feed_values = PLACES, _place_key(place), _described(place)
            location.save(update_fields=["source", "source_key", "feed_values"])


def _import(*, source: FeedSource, meetings: list[SampleMeeting], stored_keys: set[str], tally: Tally) -> None:
    # Meetings dropped from the file are not "gone from the feed": they stay.
    parsed = ParsedFeed(meetings=meetings, records=len(meetings),
                        seen_keys=stored_keys | {fm.key for fm in meetings})
    if feed_plan(source=source, parsed=parsed).writes_nothing:
        tally.count("unchanged", len(meetings))
        return
    run = feed_import(source_id=source.pk, parsed=parsed, allow_shrink=True, location_namespace=PLACES)
    if run.status != ImportRun.Status.SUCCEEDED:
        raise SampleDataError(f"the import of {source.slug} {run.status}: {run.reason}")
    tally.count("created", run.created)
    tally.count("updated", run.updated)
    tally.count("unchanged", run.unchanged)
