"""Importing a feed into the directory, safely: one service, `feed_import`
(claim, fetch, parse, plan and shrink guard, geocode, apply: README.md, "The
import path" and "What keeps data safe"). The older entry points at the end
of the module are thin wrappers of it; `import_run_meetings(run=...)` reads
back what a run wrote.

Meetings match by (source, the feed's key), or for a record keyed on its
content by what it shares with the meeting it was; fields a curator changed
on a meeting or its location are left alone (`meetings.feeds.locks`), a hall
a curator changed is described anew only as a whole (`Applier._place`); a
source writes only its service body's listings
(`meetings.curation.feed_source_body_ids`).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import time as monotonic
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import chain

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.text import slugify

from fellowships.models import Fellowship, MeetingType, ServiceBody
from fellowships.vocabularies import WORLD_ID_TO_MEETING_GUIDE
from meetings.curation import feed_source_body_ids
from meetings.feeds import fetch, locks
from meetings.feeds.claims import STALE_RUN_REASON, source_claimed
from meetings.feeds.duplicates import mark_duplicates
from meetings.feeds.formats import FeedDocument, parser_for
from meetings.feeds.records import (MAX_REASON, FeedMeeting, FeedUnreadable, ParsedFeed, content_key_stem,
                                    storable_text)
from meetings.geo import great_circle_m
from meetings.geocoding import GeocodingError, Place
from meetings.history import attributed, history_bulk_record, shows_change
from meetings.models import (FeedFormat, FeedSource, ImportIssue, ImportRun, Location, Meeting, Region,
                             feed_url_problem)
from meetings.keywords import type_search_names_read
from meetings.services import (duplicates_show_again, location_apply_place, location_meetings_follow, location_query,
                               meeting_take_feed, place_lookup)

Progress = Callable[[int, int], None]

# Parsing -------------------------------------------------------------------


def parse_feed_text(*, text: str, format: str) -> ParsedFeed:
    """Raw feed text in one of the formats as a `ParsedFeed`; raises
    `FeedUnreadable` for an HTML page, invalid or truncated JSON."""
    return parser_for(format).parse(document=FeedDocument(text=text), root="")


# Types ---------------------------------------------------------------------

class TypeResolver:
    """A fellowship's vocabulary, reading codes, names and BMLT world ids."""

    def __init__(self, fellowship: Fellowship) -> None:
        types = list(MeetingType.objects.filter(fellowship=fellowship))
        self.by_code = {t.code: t for t in types}
        self.by_upper = {t.code.upper(): t for t in types}
        self.by_name: dict[str, MeetingType] = {}
        for t in types:
            for name in [t.name, *(t.translations or {}).values()]:
                if isinstance(name, str):
                    self.by_name.setdefault(name.strip().lower(), t)

    def resolve(self, tokens: list[str]) -> list[MeetingType]:
        """The types `tokens` name, each once, in order."""
        return list(dict.fromkeys(hit for token in tokens for hit in self._lookup(token)))

    def unknown_by_record(self, meetings: list[FeedMeeting]) -> dict[str, int]:
        """The codes the vocabulary lacks, with how many of the feed's records
        use each (a record meeting on several days, "slug@1", "slug@2", is
        one). Each distinct token is looked up once."""
        known: dict[str, bool] = {}
        counted: set[str] = set()
        unknown: dict[str, int] = {}
        for fm in meetings:
            stem = _key_stem(fm.key)
            if stem in counted:
                continue
            counted.add(stem)
            for token in dict.fromkeys(fm.type_tokens):
                if token not in known:
                    known[token] = bool(self._lookup(token))
                if not known[token]:
                    unknown[token] = unknown.get(token, 0) + 1
        return unknown

    def _lookup(self, token: str) -> list[MeetingType]:
        hit = self.by_code.get(token) or self.by_upper.get(token.upper()) or self.by_name.get(token.lower())
        if hit:
            return [hit]
        return [self.by_code[c] for c in WORLD_ID_TO_MEETING_GUIDE.get(token, []) if c in self.by_code]


# Places and zones ------------------------------------------------------------

@lru_cache(maxsize=1)
def _timezone_finder():
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


def timezone_at(latitude: float, longitude: float) -> str:
    """The IANA zone at a point, offline; "" at sea or when unknown."""
    return _timezone_finder().timezone_at(lat=latitude, lng=longitude) or ""


def _location_signature(fm: FeedMeeting) -> str | None:
    """What identifies a feed meeting's place; None for meetings without one.
    A feed that names its places with stable keys (the sample data does)
    gives one as `place_key`, and then a change to the place's description
    changes that place rather than making a new one; otherwise the key is a
    hash of the description."""
    explicit = getattr(fm, "place_key", "")
    if explicit:
        return f"key:{explicit}"[:200]
    if not fm.has_place and fm.latitude is None and not fm.location_name:
        return None
    parts = [fm.location_name, fm.address, fm.city, fm.state, fm.postal_code, fm.country, fm.formatted_address,
             fm.latitude, fm.longitude, fm.approximate, fm.location_notes, "/".join(fm.regions)]
    return hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()


# How near the feed's new position for a place a curator changed must be to
# its last one (or to the curator's pin) for the feed to be describing the
# same building anew rather than naming another place.
SAME_PLACE_METRES = 500


def _folded(text: str) -> str:
    return " ".join(str(text or "").split()).casefold()


def same_building(location: Location, fresh: Location) -> bool:
    """Whether `fresh`, a place as a feed describes it now, is the stored
    `location` described anew (an address spelled out, a postal code
    corrected) rather than another place. By position when both are known
    to the door (not approximate): within SAME_PLACE_METRES of where the feed
    last put it or of where the curator put the pin. Else by words: the same
    street address, or the same venue name, in the same city. Unsure is
    "another place": the curator's hall then stays as it is. A place with a
    street and an area without one (the city an online meeting is pinned
    to) are never one building: a hall's group going online leaves the hall
    as it is, notes and all, for when it comes back."""
    last = location.feed_values or {}

    def is_area(approximate, address) -> bool:
        return bool(approximate) and not (address or "").strip()

    if is_area(fresh.approximate, fresh.address) != is_area(last.get("approximate", location.approximate),
                                                            last.get("address", location.address)):
        return False
    if fresh.latitude is not None and fresh.longitude is not None and not fresh.approximate:
        known = [(lat, lng) for lat, lng, approximate in (
            (last.get("latitude"), last.get("longitude"), last.get("approximate")),
            (location.latitude, location.longitude, location.approximate))
            if lat is not None and lng is not None and not approximate]
        if known:
            return any(great_circle_m(fresh.latitude, fresh.longitude, lat, lng) <= SAME_PLACE_METRES
                       for lat, lng in known)

    def said(name: str) -> str:
        return _folded(last.get(name, getattr(location, name)))

    def says(name: str) -> str:
        return _folded(getattr(fresh, name))

    return says("city") == said("city") and any(says(name) and says(name) == said(name)
                                                for name in ("address", "name"))


def _needs_geocoding(fm: FeedMeeting) -> bool:
    return fm.latitude is None and (fm.has_place or bool(fm.location_name))


def feed_location(fm: FeedMeeting) -> Location:
    """The place as the feed describes it (unsaved, not geocoded)."""
    return Location(
        name=fm.location_name, address=fm.address, city=fm.city, state=fm.state, postal_code=fm.postal_code,
        country=fm.country, formatted_address=fm.formatted_address, latitude=fm.latitude, longitude=fm.longitude,
        approximate=fm.approximate, notes=fm.location_notes,
    )


Geocoded = dict[str, Place | GeocodingError]


def geocode_new_places(*, meetings: list[FeedMeeting], known_keys: set[str], geocoder=None) -> Geocoded:
    """Geocode every place of `meetings` that has no coordinates and no stored
    location yet, once per query. Run outside any transaction: each answer
    an online geocoder gives is cached (committed) as it comes, so a run
    that fails later does not ask again."""
    answers: Geocoded = {}
    for fm in meetings:
        if not _needs_geocoding(fm) or _location_signature(fm) in known_keys:
            continue
        query = location_query(feed_location(fm))
        if query not in answers:
            answers[query] = place_lookup(query=query, geocoder=geocoder)
    return answers


# Keys per `__in` lookup: PostgreSQL takes at most 65,535 parameters a statement.
LOOKUP_BATCH = 500


def _batches(items: list, size: int) -> Iterator[list]:
    size = max(1, size)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _chunks(items: list) -> Iterator[list]:
    """`items` FEEDS_APPLY_CHUNK at a time: what an import builds, writes and lets go of at once."""
    return _batches(items, settings.FEEDS_APPLY_CHUNK)


@dataclass(frozen=True, slots=True)
class WrittenPlace:
    """A place this run made and has written: a later record of it needs no
    more than its id and zone (a place made by the run is not described anew
    by it), and a large feed need not keep a model instance per place."""

    pk: int
    timezone: str


class Places:
    """The locations of one run, found by (namespace, the feed's place key),
    so a place is stored once and reused by later runs; new ones are geocoded
    from the answers gathered before the transaction and written as the run
    goes (`write_new`), then known by `WrittenPlace`."""

    def __init__(self, *, namespace: str, geocoded: Geocoded, geocoder=None) -> None:
        self.namespace = namespace
        self.geocoded = geocoded
        self.geocoder = geocoder
        self.by_key: dict[str, Location | WrittenPlace] = {}
        self.pending: list[Location] = []
        self.by_pk: dict[int, Location] = {}
        self.updated: dict[int, Location] = {}
        # (name, parent id) -> the region, stored or made by the run: the
        # stored ones of `region_names`, read when a place is first made, at
        # once for the names the records preloaded give (`region_names_due`).
        self.regions: dict[tuple[str, int | None], Region] = {}
        self.region_names: set[str] = set()
        self.region_names_due: set[str] = set()

    def preload(self, meetings: Iterable[FeedMeeting]) -> None:
        """Read the stored places of `meetings` at once (their regions when first needed)."""
        meetings = list(meetings)
        wanted = sorted({key for fm in meetings if (key := _location_signature(fm))} - set(self.by_key))
        for keys in _batches(wanted, LOOKUP_BATCH):
            for location in Location.objects.filter(source=self.namespace, source_key__in=keys):
                self.by_key[location.source_key] = self.by_pk.setdefault(location.pk, location)
        self.region_names_due.update(name[:100] for fm in meetings for name in fm.regions)

    def _region(self, names: list[str]) -> Region | None:
        """The region at the end of a feed's path of names: an existing one
        with that name under the same parent (the oldest), else one made
        with a slug of the path."""
        wanted = sorted((self.region_names_due | {name[:100] for name in names}) - self.region_names)
        for batch in _batches(wanted, LOOKUP_BATCH):
            for region in Region.objects.filter(name__in=batch).order_by("pk"):
                self.regions.setdefault((region.name, region.parent_id), region)
        self.region_names.update(wanted)
        self.region_names_due = set()
        parent = None
        for depth, name in enumerate(names, 1):
            key = (name[:100], parent.pk if parent else None)
            if key not in self.regions:
                slug = slugify("-".join(names[:depth]))[:100] or f"region-{depth}"
                self.regions[key], _ = Region.objects.get_or_create(slug=slug, defaults={"name": name[:100],
                                                                                        "parent": parent})
            parent = self.regions[key]
        return parent

    def _from_feed(self, fm: FeedMeeting) -> Location:
        location = feed_location(fm)
        location.region = self._region(fm.regions) if fm.regions else None
        if _needs_geocoding(fm):
            query = location_query(location)
            found = self.geocoded.get(query)
            # Never blocks: a failure is recorded and the meeting flagged for review.
            location_apply_place(location=location, found=found if found is not None else place_lookup(
                query=query, geocoder=self.geocoder))
            if location.geocode_status == Location.GeocodeStatus.OK:
                location.approximate = location.approximate or not fm.address
        if location.latitude is not None and not location.timezone:
            location.timezone = timezone_at(location.latitude, location.longitude)
        location.feed_values = {**locks.location_current_values(location), locks.REGION: location.region_id}
        return location

    def location(self, fm: FeedMeeting, key: str) -> Location | WrittenPlace:
        if key not in self.by_key:
            location = self._from_feed(fm)
            location.source, location.source_key = self.namespace, key
            self.by_key[key] = location
            self.pending.append(location)
        location = self.by_key[key]
        if isinstance(location, Location) and location.pk is not None and key.startswith("key:"):
            self.refresh(location, fm)
        return location

    def refresh(self, location: Location, fm: FeedMeeting) -> Location:
        """A place with a stable key whose description in the feed changed
        takes the new description, except what a curator changed."""
        if location.pk in self.updated or location.source != self.namespace:
            return location
        described = locks.location_current_values(feed_location(fm))
        last = location.feed_values or {}
        if fm.latitude is None:
            # Coordinates the import found itself are not the feed's to compare.
            described = {k: v for k, v in described.items() if k not in locks.PIN}
        if all(last.get(name) == value for name, value in described.items()):
            return location
        return self.update_curated(location, fm, self.curated(location))

    def canonical(self, location: Location) -> Location:
        """One instance per stored location in a run, so what is changed on it shows everywhere."""
        return self.by_pk.setdefault(location.pk, location)

    @staticmethod
    def curated(location: Location) -> list[str]:
        """The feed fields a curator owns on this location: locked ones, ones
        changed since the last import, a pin placed by hand, and its region
        when they filed it elsewhere than the import did (`locks.REGION`)."""
        owned = set(location.locked_fields) | set(locks.newly_curated(
            obj=location, current=locks.location_current_values(location), fields=locks.LOCATION_FEED_FIELDS))
        if location.geocode_status == Location.GeocodeStatus.MANUAL:
            owned |= set(locks.PIN)
        last = location.feed_values or {}
        if locks.REGION in last and location.region_id != last[locks.REGION]:
            owned.add(locks.REGION)
        return sorted(owned)

    def update_curated(self, location: Location, fm: FeedMeeting, curated: list[str],
                       fresh: Location | None = None, key: str = "") -> Location:
        """The feed describes the place anew: take its values for the fields
        the curator did not change, keep theirs, and lock them. `fresh`: the
        place as the feed describes it, when already made from `fm`; `key`:
        the feed's key for the new description (`_location_signature`), by
        which the place is found from now on, unless another place has it."""
        fresh = fresh if fresh is not None else self._from_feed(fm)
        if key and key != location.source_key and location.source == self.namespace and key not in self.by_key:
            # Under its old key, the next record with the new words (a later
            # run, another source of the namespace) would make a second place
            # for this building. A curator's locked address changes nothing:
            # the key is the feed's words, and they name this place now.
            location.source_key = key
            self.by_key[key] = location
        location.locked_fields = curated
        for name in locks.LOCATION_FEED_FIELDS:
            if name not in curated:
                setattr(location, name, getattr(fresh, name))
        if locks.REGION in (location.feed_values or {}) and locks.REGION not in curated:
            # Filed where the feed files it now, as a new place would be: an
            # online meeting's place is not left under its hall's region, nor a
            # hall under "Online".
            location.region = fresh.region
        if not set(locks.PIN) & set(curated):
            location.geocode_status, location.geocode_error = fresh.geocode_status, fresh.geocode_error
            location.timezone = fresh.timezone or location.timezone
        location.feed_values = fresh.feed_values
        self.updated[location.pk] = location
        return location

    def write_new(self, *, date) -> None:
        """Write the places made since the last call, with their history; a
        later record of one of them finds its `WrittenPlace`."""
        new, self.pending = self.pending, []
        Location.objects.bulk_create(new, batch_size=500)
        # Bulk writes skip save(), so their history is written here, in bulk,
        # attributed to the run (the apply stage runs inside `attributed`).
        history_bulk_record(instances=new, history_type="+", date=date)
        for location in new:
            self.by_key[location.source_key] = WrittenPlace(pk=location.pk, timezone=location.timezone)

    def save(self, *, date) -> list[Location]:
        """Write the places still to write and the stored ones described
        anew; returns the latter."""
        self.write_new(date=date)
        changed = list(self.updated.values())
        Location.objects.bulk_update(
            changed, [*locks.LOCATION_FEED_FIELDS, "geocode_status", "geocode_error", "timezone", "locked_fields",
                      "feed_values", "source_key", "region"], batch_size=500)
        # A historical row per place is another model instance: made and written a chunk at a time.
        for chunk in _chunks(changed):
            history_bulk_record(instances=chunk, date=date)
        return changed


# Applying ------------------------------------------------------------------

@dataclass
class Plan:
    create: list[FeedMeeting] = field(default_factory=list)
    update: list[tuple[FeedMeeting, int]] = field(default_factory=list)
    restore_unchanged: list[int] = field(default_factory=list)
    unchanged: int = 0
    remove: list[int] = field(default_factory=list)
    # Published meetings the run would unpublish (the feed says so and the
    # curator did not make "published" theirs): out of the listing as surely
    # as removed ones, so the shrink guard counts both.
    unpublish: list[int] = field(default_factory=list)
    active: int = 0
    # (new key, what matched) for records keyed on their content that were
    # matched to a stored meeting under their old key (`_match_content_keyed`).
    matched: list[tuple[str, str]] = field(default_factory=list)
    # (key, meeting id) for records whose meeting a person moved to a service
    # body the source's does not keep: left alone, neither written nor made anew.
    left_alone: list[tuple[str, int]] = field(default_factory=list)

    @property
    def writes_nothing(self) -> bool:
        return not (self.create or self.update or self.restore_unchanged or self.remove)


def _key_stem(key: str) -> str:
    # Multi-day Meeting Guide records are keyed "slug@day"; the record is "slug".
    return key.rsplit("@", 1)[0]


def feed_plan(*, source: FeedSource, parsed: ParsedFeed) -> Plan:
    """What applying `parsed` to the source's meetings would do (reads only).
    A record whose meeting a person moved to a body the source does not keep
    (`feed_source_body_ids`) is left alone (`plan.left_alone`): not made
    again, never removed by this feed, nor counted by its shrink guard."""
    plan = Plan()
    ours = feed_source_body_ids(source=source)
    existing = {
        key: (pk, content_hash, removed, service_body_id in ours)
        for pk, key, content_hash, removed, service_body_id in Meeting.objects.filter(
            source=source.meeting_source).values_list("id", "source_key", "content_hash", "removed", "service_body_id")
    }
    incoming: set[str] = set()
    for fm in parsed.meetings:
        incoming.add(fm.key)
        current = existing.get(fm.key)
        if current is None:
            plan.create.append(fm)
        elif not current[3]:
            plan.left_alone.append((fm.key, current[0]))
        elif current[1] == fm.content_hash() and not current[2]:
            plan.unchanged += 1
        elif current[1] == fm.content_hash():
            plan.restore_unchanged.append(current[0])
        else:
            plan.update.append((fm, current[0]))
    gone: dict[str, int] = {}
    for key, (pk, _, removed, is_ours) in existing.items():
        if key not in incoming and key not in parsed.seen_keys and _key_stem(key) not in parsed.seen_keys:
            gone[key] = pk
        if removed or not is_ours:
            continue
        plan.active += 1
        if key in gone:
            plan.remove.append(pk)
    _match_content_keyed(plan, gone, not_ours={pk for pk, _, _, is_ours in existing.values() if not is_ours})
    _find_unpublished(plan)
    return plan


def _find_unpublished(plan: Plan) -> None:
    """The published meetings whose record now says unpublished, where the
    feed's word would be taken (`meetings.services.meeting_take_feed`: not
    locked, and not changed by a curator since the feed last wrote it)."""
    quiet = sorted(pk for fm, pk in plan.update if not fm.published)
    for pks in _batches(quiet, LOOKUP_BATCH):
        for pk, locked, said in Meeting.objects.filter(pk__in=pks, published=True, removed=False).values_list(
                "pk", "locked_fields", "feed_values"):
            if "published" not in locked and (said or {}).get("published", True) is True:
                plan.unpublish.append(pk)


# How a record keyed on its content finds its stored meeting once that
# content changed: by what it still shares with it, tried in this order,
# where exactly one stored meeting and one record share it. A place is
# needed where the name is not: two online meetings at the same hour are
# not the same meeting for that.
_SAME_MEETING = (
    (("name", "place", "day", "time"), "name, place, day and time"),
    (("name", "place", "day"), "name, place and day"),
    (("name", "day", "time"), "name, day and time"),
    (("name", "place", "time"), "name, place and time"),
    (("place", "day", "time"), "place, day and time"),
)


def _identity(*, name: str, place: str | None, day: int | None, time: str | None) -> dict:
    # A meeting without a place, or by appointment, may be stored with "" for it.
    return {"name": _folded(name), "place": place or None, "day": day, "time": time or None}


def _grouped(identities: dict[str, dict], shared: tuple[str, ...]) -> dict[tuple, list[str]]:
    """Keys by their stem and what they share (those without a place left out
    where the name is not shared)."""
    grouped: dict[tuple, list[str]] = {}
    for key, identity in identities.items():
        if "name" not in shared and identity["place"] is None:
            continue
        grouped.setdefault((content_key_stem(key), *(identity[name] for name in shared)), []).append(key)
    return grouped


def _match_content_keyed(plan: Plan, gone: dict[str, int], not_ours: set[int]) -> None:
    """A record without a slug is keyed on its content, so any change to it
    gives it a new key: it is matched to the stored meeting that left under
    its old key when what they share says they are one meeting (`_SAME_MEETING`),
    so its slug, history and curated fields stay; one of another body's
    (`not_ours`) is left alone, as under its key."""
    stored = {key: pk for key, pk in gone.items() if content_key_stem(key) is not None}
    fresh = [fm for fm in plan.create if content_key_stem(fm.key) is not None]
    if not stored or not fresh:
        return
    said: dict[int, dict] = {}
    for pks in _batches(sorted(stored.values()), LOOKUP_BATCH):
        said.update(Meeting.objects.filter(pk__in=pks).values_list("id", "feed_values"))
    old = {key: _identity(name=str(said[pk].get("name", "")), place=said[pk].get("location"),
                          day=said[pk].get("day"), time=said[pk].get("time"))
           for key, pk in stored.items() if said.get(pk)}
    new = {fm.key: _identity(name=fm.name, place=_location_signature(fm), day=fm.day,
                             time=locks.encode("time", fm.time)) for fm in fresh}
    found: dict[str, str] = {}  # new key -> old key
    for shared, said_as in _SAME_MEETING:
        old_groups = _grouped(old, shared)
        for group, new_keys in _grouped(new, shared).items():
            old_keys = old_groups.get(group, [])
            if len(new_keys) == 1 and len(old_keys) == 1:
                found[new_keys[0]] = old_keys[0]
                plan.matched.append((new_keys[0], f"no slug: the meeting keyed {old_keys[0]} until now, "
                                                  f"by its {said_as}"))
                del old[old_keys[0]], new[new_keys[0]]
    if not found:
        return
    matched_pks = {stored[old_key] for old_key in found.values()}
    for fm in fresh:
        if fm.key in found and stored[found[fm.key]] in not_ours:
            plan.left_alone.append((fm.key, stored[found[fm.key]]))
        elif fm.key in found:
            plan.update.append((fm, stored[found[fm.key]]))
    plan.matched = [(key, reason) for key, reason in plan.matched if stored[found[key]] not in not_ours]
    plan.create = [fm for fm in plan.create if fm.key not in found]
    plan.remove = [pk for pk in plan.remove if pk not in matched_pks]


def _shrink_reason(*, source: FeedSource, parsed: ParsedFeed, plan: Plan) -> str:
    if parsed.records == 0:
        return "the feed is an empty list"
    if not parsed.meetings:
        return f"none of the feed's {parsed.records} records could be read"
    share = source.shrink_guard_share if source.shrink_guard_share is not None else settings.FEEDS_SHRINK_GUARD_SHARE
    # Removed or unpublished: either way out of the public listing.
    leaving = len(plan.remove) + len(plan.unpublish)
    if plan.active and leaving / plan.active > share:
        what = " and ".join(f"{verb} {count}" for verb, count in (("remove", len(plan.remove)),
                                                                  ("unpublish", len(plan.unpublish))) if count)
        return (f"the feed would {what} of {plan.active} meetings "
                f"({leaving / plan.active:.0%}, more than the {share:.0%} allowed)")
    return ""


# The columns a feed's change to a stored meeting may write (Applier._update).
MEETING_UPDATE_FIELDS = ("source_key", "location", "content_hash", "feed_values", "locked_fields", "updated",
                         "removed", "removed_at", "open_closed", "attendance", "conference_provider", "latitude",
                         "longitude", "search_text", "type_code_text", "language_text", "needs_review",
                         "review_reason", "duplicate_of",
                         *[n for n in locks.FEED_FIELDS if n != "types"])


def _columns(meeting: Meeting, fields: tuple[str, ...]) -> dict[str, object]:
    """The values `fields` hold on `meeting`, as its row stores them (a
    foreign key's id); JSON values copied, so a change made in place shows."""
    values = {name: getattr(meeting, Meeting._meta.get_field(name).attname) for name in fields}
    return {name: copy.deepcopy(value) if isinstance(value, (dict, list)) else value for name, value in values.items()}


# How a run's note on a meeting that kept a curator's values begins
# (`Applier._note_kept`), read back by `curated_kept_notes`.
CURATED_KEPT = "kept the curator's"
# A run's notes on meetings that kept a curator's value over the feed's (the
# import_feed command lists them; `import_run_meetings` counts them held).
CURATED_KEPT_NOTE = Q(kind=ImportIssue.Kind.REPAIRED, reason__startswith=CURATED_KEPT)


def _value_text(name: str, value) -> str:
    """A feed's value in a run's note, briefly: texts quoted, times, days,
    flags and type codes as they are."""
    if isinstance(value, list):
        return " ".join(str(v) for v in value) or "(none)"
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, str) and name not in ("time", "end_time"):
        return repr(value if len(value) <= 80 else value[:79] + "…")
    return str(value)


def _place_text(fm: FeedMeeting) -> str:
    parts = [part for part in (fm.location_name, fm.address, fm.city) if part]
    return _value_text(locks.PLACE, ", ".join(parts)) if parts else "(no place)"


class Applier:
    def __init__(self, *, source: FeedSource, run: ImportRun, places: Places, types: TypeResolver,
                 progress: Progress | None) -> None:
        self.source = source
        self.run = run
        self.now = timezone.now()
        self.types = types
        # The vocabularies' names, for each meeting's search text (read once a run).
        self.type_names = type_search_names_read()
        self.places = places
        self.progress = progress
        self.described_anew: dict[int, str] = {}
        # Meetings that kept a curator's value over a new one from the feed (`_note_kept`).
        self.kept_notes: list[ImportIssue] = []
        self.kept_unlisted = 0

    def _place(self, fm: FeedMeeting, current: Location | None = None, last_signature: str | None = None,
               place_locked: bool = False) -> tuple[Location | WrittenPlace | None, str, str]:
        """The meeting's place, the feed's key for it and the meeting's zone.
        `current` and `last_signature`: the place an existing meeting has and
        the one the feed gave last time. A meeting a curator put at a place
        (`place_locked`) stays there; the feed's place is still stored, so
        that releasing the lock finds it. When the feed's place changed and
        the meeting's place is one a curator changed (a pin placed by hand, a
        note), the curator's hall takes the new description only when it is
        that hall described anew (`_redescribes`); a meeting that moved
        elsewhere goes to the feed's new place, and the hall stays as the
        curator left it for the meetings still there."""
        signature = _location_signature(fm)
        if place_locked:
            location = self.places.canonical(current) if current is not None else None
            if signature is not None and (signature != last_signature or signature.startswith("key:")):
                self.places.location(fm, signature)
        elif signature is None:
            location = None
        elif signature == last_signature:
            # The feed's place is the same place as last time: the meeting stays where it is.
            location = self.places.canonical(current) if current is not None else None
            if location is not None and signature.startswith("key:"):
                self.places.refresh(location, fm)
        elif current is not None and (curated := Places.curated(current)):
            current = self.places.canonical(current)
            if not current.source:
                # A curator's own hall (not made by an import) is theirs entirely.
                location = current
            elif current.pk in self.places.updated:
                location = current  # described anew by an earlier record of this run
            elif (fresh := self._redescribes(current, fm, signature)) is not None:
                location = self.places.update_curated(current, fm, curated, fresh, key=signature)
            else:
                location = self.places.location(fm, signature)
        else:
            location = self.places.location(fm, signature)
        # The zone as the place is now: a later record may describe the place anew.
        zone = fm.timezone or getattr(location, "timezone", "") or self.source.service_body.timezone
        return location, signature or "", zone

    def _redescribes(self, current: Location, fm: FeedMeeting, signature: str) -> Location | None:
        """The place as `fm` describes it when that is the curator's hall
        `current` described anew: every meeting the feed had there now gives
        this one new description (`_described_anew`) and it is the same
        building (`same_building`); else None (the record moved elsewhere)."""
        if self.described_anew.get(current.pk) != signature:
            return None
        fresh = self.places._from_feed(fm)
        return fresh if same_building(current, fresh) else None

    def _described_anew(self, plan: Plan) -> dict[int, str]:
        """{location id: new place key} for each stored place a curator
        changed that this run may describe anew: all of the feed's meetings
        there, in any source, leave its description for one and the same new
        one (one meeting of a shared hall moving across town leaves the hall
        to the others as it is). Reads only."""
        leaving: dict[int, dict[int, str | None]] = {}  # location id -> {meeting id: its new place key}
        for chunk in _batches(plan.update, LOOKUP_BATCH):
            signatures = {pk: _location_signature(fm) for fm, pk in chunk}
            for pk, location_id, last, locked in Meeting.objects.filter(
                    pk__in=list(signatures), location__isnull=False).values_list(
                    "pk", "location_id", f"feed_values__{locks.PLACE}", "locked_fields"):
                if last and locks.PLACE not in locked and signatures[pk] != last:
                    leaving.setdefault(location_id, {})[pk] = signatures[pk]
        candidates: list[int] = []
        for ids in _batches(sorted(leaving), LOOKUP_BATCH):
            candidates.extend(location.pk for location in Location.objects.filter(pk__in=ids)
                              if location.source and not location.source_key.startswith("key:")
                              and Places.curated(location))
        removed, restored = set(plan.remove), set(plan.restore_unchanged)
        stayed: set[int] = set()
        for ids in _batches(candidates, LOOKUP_BATCH):
            for pk, location_id, last, locked, gone in Meeting.objects.filter(location_id__in=ids).values_list(
                    "pk", "location_id", f"feed_values__{locks.PLACE}", "locked_fields", "removed"):
                if (pk in leaving[location_id] or (gone and pk not in restored) or pk in removed
                        or locks.PLACE in locked):
                    continue
                if last:
                    stayed.add(location_id)  # the feed still describes it as it was
        anew: dict[int, str] = {}
        for location_id in candidates:
            keys = set(leaving[location_id].values()) - {None}
            if location_id not in stayed and len(keys) == 1 and not (key := next(iter(keys))).startswith("key:"):
                anew[location_id] = key
        return anew

    def _stored_place(self, fm: FeedMeeting, meeting: Meeting) -> tuple[Location | WrittenPlace | None, str, str]:
        """`_place` for a stored meeting's record: the place it has, the feed's last key for it, its lock."""
        return self._place(fm, meeting.location, (meeting.feed_values or {}).get(locks.PLACE),
                           place_locked=locks.PLACE in meeting.locked_fields)

    def _settle_described_anew(self, plan: Plan) -> None:
        """Describe anew the curated halls this run describes anew
        (`_described_anew`), by their meetings' records, before any new
        record is placed: a new meeting at a hall's new description is then
        placed at that hall, not at a second location made under its key."""
        keys = set(self.described_anew.values())
        records = [(fm, pk) for fm, pk in plan.update if _location_signature(fm) in keys]
        for chunk in _batches(records, LOOKUP_BATCH):
            rows = Meeting.objects.select_related("location").in_bulk([pk for _, pk in chunk])
            for fm, pk in chunk:
                meeting = rows[pk]
                if (meeting.location_id in self.described_anew and locks.PLACE not in meeting.locked_fields
                        and self.described_anew[meeting.location_id] == _location_signature(fm)):
                    self._stored_place(fm, meeting)  # its place is found again, as settled, by the update pass

    def _feed_values(self, fm: FeedMeeting, zone: str) -> tuple[list[MeetingType], dict]:
        """The meeting's types and feed values (in the zone the importer chose for it)."""
        types = self.types.resolve(fm.type_tokens)
        return types, {**locks.current_values(fm, [t.code for t in types]), "timezone": zone}

    def _slugs(self, hints: list[tuple[str, str]]) -> list[str]:
        """Our slugs for new meetings: the feed's, unless another meeting has
        it; then one derived from (source, key), the same on every run."""
        slugs = []
        longest = Meeting._meta.get_field("slug").max_length
        hints = [((slugify(hint).strip("-")[:longest].strip("-") or "meeting"), key) for hint, key in hints]
        taken = set(Meeting.objects.filter(slug__in=[h for h, _ in hints]).values_list("slug", flat=True))
        for hint, key in hints:
            slug = hint
            digest = hashlib.sha1(f"{self.source.pk}:{key}".encode()).hexdigest()
            length = 8
            while slug in taken:
                slug = f"{hint[:50]}-{digest[:length]}"
                length += 4
            taken.add(slug)
            slugs.append(slug)
        return slugs

    def _tick(self, total: int) -> None:
        self.done += 1
        if self.progress and self.done % 200 == 0:
            self.progress(self.done, total)

    def apply(self, *, parsed: ParsedFeed, plan: Plan) -> None:
        """Apply the plan; called inside the run's one transaction. Every
        record's place first, in feed order (a place two records describe
        ends as the later one says), then the meetings FEEDS_APPLY_CHUNK at
        a time, each chunk reading its places back as stored: what lives for
        the whole run is one (place id, key, zone) per record, a
        `WrittenPlace` per new place and the stored places the feed names."""
        total = len(parsed.meetings)
        self.done = plan.unchanged
        self.run.duplicates = 0
        self.places.preload(chain(plan.create, (fm for fm, _ in plan.update)))
        self.described_anew = self._described_anew(plan) if plan.update else {}
        if plan.create and self.described_anew:
            self._settle_described_anew(plan)
        create_places: list[tuple[int | None, str, str]] = []
        for chunk in _chunks(plan.create):
            self._placed(create_places, [self._place(fm) for fm in chunk])
        update_places: list[tuple[int | None, str, str]] = []
        for chunk in _chunks(plan.update):
            rows = Meeting.objects.select_related("location").in_bulk([pk for _, pk in chunk])
            self._placed(update_places, [self._stored_place(fm, rows[pk]) for fm, pk in chunk])
            del rows
        described_anew = self.places.save(date=self.now)

        touched: set[int] = set()
        for chunk, places in zip(_chunks(plan.create), _chunks(create_places)):
            touched.update(self._create(chunk, places, total))
        for chunk, places in zip(_chunks(plan.update), _chunks(update_places)):
            touched.update(self._update(chunk, places, total))
        # Other meetings at a place the feed described anew follow it (pin, search text).
        for location in described_anew:
            location_meetings_follow(location=location, date=self.now, skip=touched, names=self.type_names)

        for restored in _chunks(plan.restore_unchanged):
            Meeting.objects.filter(pk__in=restored).update(removed=False, removed_at=None)
            self.run.restored += len(restored)
            history_bulk_record(instances=Meeting.objects.filter(pk__in=restored), date=self.now)
        for removed in _chunks(plan.remove):
            Meeting.objects.filter(pk__in=removed).update(removed=True, removed_at=self.now)
            history_bulk_record(instances=Meeting.objects.filter(pk__in=removed), date=self.now)
            # The other source's copy of a meeting that left its feed is shown again.
            duplicates_show_again(kept=removed, date=self.now)
        if self.progress:
            self.progress(total, total)
        self.run.created = len(plan.create)
        self.run.updated = len(plan.update)
        self.run.unchanged = plan.unchanged
        self.run.removed = len(plan.remove)
        self._write_kept_notes()

    def _note_kept(self, fm: FeedMeeting, meeting: Meeting, values: dict, last: dict | None,
                   final_types: list[MeetingType]) -> None:
        """Note on the run a meeting that kept a curator's value where the
        feed now says something new and different: the curator may want the
        feed's word (release the field) or to tell the feed's keepers."""
        if not meeting.locked_fields:
            return
        last = last or {}
        current = locks.current_values(meeting, [t.code for t in final_types])
        kept = [name for name in locks.FEED_FIELDS if name in meeting.locked_fields
                and values[name] != current[name] and (name not in last or last[name] != values[name])]
        place_key = meeting.feed_values.get(locks.PLACE)
        if (locks.PLACE in meeting.locked_fields and place_key != last.get(locks.PLACE)
                and (meeting.location is None or meeting.location.source_key != place_key)):
            kept.append(locks.PLACE)
        if not kept:
            return
        if len(self.kept_notes) >= settings.FEEDS_PARSE_MAX_ISSUES:
            self.kept_unlisted += 1
            return
        said = "; ".join(f"{name} {_place_text(fm) if name == locks.PLACE else _value_text(name, values[name])}"
                         for name in kept)
        self.kept_notes.append(ImportIssue(
            run=self.run, kind=ImportIssue.Kind.REPAIRED, record_key=fm.key[:200], field=", ".join(kept)[:60],
            reason=f"{CURATED_KEPT} {', '.join(kept)}; the feed now says {said}"[:MAX_REASON]))

    def _write_kept_notes(self) -> None:
        """The notes of `_note_kept`, at most FEEDS_PARSE_MAX_ISSUES and a line counting the rest."""
        notes, self.kept_notes = self.kept_notes, []
        if self.kept_unlisted:
            notes.append(ImportIssue(run=self.run, kind=ImportIssue.Kind.REPAIRED, record_key="", field="",
                                     reason=f"{CURATED_KEPT} values on {self.kept_unlisted:,} more meetings, "
                                            "not listed"))
            self.run.issues_left_out += self.kept_unlisted
        ImportIssue.objects.bulk_create(notes, batch_size=500)

    def _placed(self, found: list[tuple[int | None, str, str]], places: list[tuple]) -> None:
        """Write the places a chunk of records made and keep each record's as (id, key, zone)."""
        self.places.write_new(date=self.now)
        found.extend((location.pk if location is not None else None, signature, zone)
                     for location, signature, zone in places)

    @staticmethod
    def _locations(places: list[tuple[int | None, str, str]]) -> dict[int, Location]:
        """A chunk's places as stored: every place of the run is written before any meeting is built."""
        return Location.objects.in_bulk({pk for pk, _, _ in places if pk is not None})

    def _create(self, records: list[FeedMeeting], places: list[tuple], total: int) -> list[int]:
        """New meetings: built in memory, derived fields by the service's rule, then bulk-written."""
        slugs = self._slugs([(fm.slug_hint, fm.key) for fm in records])
        locations = self._locations(places)
        new_meetings, new_types = [], []
        for fm, (location_id, signature, zone), slug in zip(records, places, slugs):
            location = locations[location_id] if location_id is not None else None
            types, values = self._feed_values(fm, zone)
            meeting = Meeting(
                fellowship=self.source.fellowship, service_body=self.source.service_body, slug=slug,
                source=self.source.meeting_source, source_key=fm.key, feed_source=self.source,
                content_hash=fm.content_hash(), created=self.now, updated=self.now,
            )
            meeting_take_feed(meeting=meeting, values=values, types=types, location=location, place_key=signature,
                              names=self.type_names)
            new_meetings.append(meeting)
            new_types.append(types)
            self._tick(total)
        # Marked before writing, so the flag goes out with the rows themselves.
        self.run.duplicates += mark_duplicates(meetings=list(zip(new_meetings, new_types)),
                                               source=self.source.meeting_source)
        Meeting.objects.bulk_create(new_meetings, batch_size=500)
        Through = Meeting.types.through
        Through.objects.bulk_create(
            [Through(meeting_id=m.pk, meetingtype_id=t.pk) for m, types in zip(new_meetings, new_types) for t in types],
            batch_size=1000,
        )
        history_bulk_record(instances=new_meetings, history_type="+", date=self.now,
                            type_codes={m.pk: sorted(t.code for t in types) for m, types in zip(new_meetings, new_types)})
        return [m.pk for m in new_meetings]

    def _update(self, records: list[tuple[FeedMeeting, int]], places: list[tuple], total: int) -> list[int]:
        """Stored meetings the feed changed: what a curator changed stays theirs."""
        # The fellowship and service body are read with the row: deriving
        # open/closed and the languages reads them for each meeting.
        rows = Meeting.objects.select_related("fellowship", "service_body").in_bulk([pk for _, pk in records])
        types_of = {pk: [] for pk in rows}
        for through in Meeting.types.through.objects.filter(meeting_id__in=list(rows)).select_related(
                "meetingtype"):
            types_of[through.meeting_id].append(through.meetingtype)
        locations = self._locations(places)
        changed, changed_codes, changed_types, before, retyped = [], {}, [], {}, set()
        for (fm, pk), (location_id, signature, zone) in zip(records, places):
            location = locations[location_id] if location_id is not None else None
            meeting = rows[pk]
            before[pk] = _columns(meeting, MEETING_UPDATE_FIELDS)
            types, values = self._feed_values(fm, zone)
            current_types = types_of[meeting.pk]
            final_types = meeting_take_feed(meeting=meeting, values=values, types=types, location=location,
                                            place_key=signature, names=self.type_names, current_types=current_types)
            self._note_kept(fm, meeting, values, before[pk]["feed_values"], final_types)
            meeting.source_key = fm.key  # a record keyed on its content has a new key after a change
            meeting.content_hash = fm.content_hash()
            meeting.updated = self.now
            if meeting.removed:
                self.run.restored += 1
            meeting.removed, meeting.removed_at = False, None
            if {t.pk for t in final_types} != {t.pk for t in current_types}:
                meeting.types.set(final_types)
                retyped.add(meeting.pk)
            changed_codes[meeting.pk] = sorted(t.code for t in final_types)
            changed.append(meeting)
            changed_types.append(final_types)
            self._tick(total)
        self.run.duplicates += mark_duplicates(meetings=list(zip(changed, changed_types)),
                                               source=self.source.meeting_source)
        # Each meeting writes the columns it changed: bulk_update sends a CASE
        # per column over its rows, and writing all of them for every changed
        # meeting made a re-import with 30% of a large feed changed 2.6x slower
        # than the first import (bench/README.md). Meetings that changed the
        # same columns are written together.
        by_columns: dict[tuple[str, ...], list[Meeting]] = {}
        for meeting in changed:
            after = _columns(meeting, MEETING_UPDATE_FIELDS)
            columns = tuple(name for name, value in after.items() if value != before[meeting.pk][name])
            by_columns.setdefault(columns, []).append(meeting)
        for columns, meetings in by_columns.items():
            if columns:
                Meeting.objects.bulk_update(meetings, columns, batch_size=500)
        # A meeting whose feed changed only what a curator keeps (its copy in
        # feed_values) changed nothing its history shows: no empty row.
        shown = {meeting.pk for columns, meetings in by_columns.items() for meeting in meetings
                 if meeting.pk in retyped or shows_change(Meeting, fields=columns)}
        history_bulk_record(instances=[m for m in changed if m.pk in shown], date=self.now, type_codes=changed_codes)
        # A meeting the feed now unpublishes, or marked a copy itself, shows the copies it hid.
        duplicates_show_again(kept=[m.pk for m in changed], date=self.now)
        return [m.pk for m in changed]


# Runs ----------------------------------------------------------------------

def _finish(run: ImportRun, *, status: str, reason: str = "", started: float) -> ImportRun:
    run.status = status
    run.reason = reason
    run.finished = timezone.now()
    run.duration_seconds = round(monotonic.monotonic() - started, 3)
    if status != ImportRun.Status.HELD:
        run.payload, run.payload_reading, run.would_remove, run.would_unpublish = "", {}, [], []
    run.payload = storable_text(run.payload)  # a held body with NUL or lone surrogates must still save
    run.save()
    FeedSource.objects.filter(pk=run.source_id).update(last_run_at=run.finished, last_status=status)
    if status in (ImportRun.Status.SUCCEEDED, ImportRun.Status.HELD):
        held_runs_supersede(run=run)
    return run


# A held run that a later run of its source superseded (`held_runs_supersede`):
# it ends failed, with a reason that begins so, and cannot be approved.
SUPERSEDED = "superseded by run"


class HeldRunSuperseded(ValueError):
    """A held run a later run of its source superseded: approving it would
    put back an older feed than the directory holds."""


def held_runs_supersede(*, run: ImportRun) -> int:
    """The held runs of `run`'s source before it end failed, superseded (their
    payloads go): `run` succeeded or was held itself, and approving one of
    them would apply a feed older than the directory's. Returns how many."""
    return ImportRun.objects.filter(source_id=run.source_id, status=ImportRun.Status.HELD, pk__lt=run.pk).update(
        status=ImportRun.Status.FAILED, payload="", payload_reading={}, would_remove=[], would_unpublish=[],
        reason=f"{SUPERSEDED} {run.pk} of {run.started:%Y-%m-%d %H:%M} ({run.status}): its source was imported "
               "again since, so applying this older feed would roll the directory back; not applied")


def _approvable(run: ImportRun) -> None:
    """Raise unless `run` may be approved: `HeldRunSuperseded` when a later
    run of its source succeeded or was held (a held run found so is marked
    superseded now), ValueError when it is not held."""
    if run.status == ImportRun.Status.FAILED and run.reason.startswith(SUPERSEDED):
        raise HeldRunSuperseded(f"run {run.pk} was {run.reason}")
    if run.status != ImportRun.Status.HELD:
        raise ValueError(f"run {run.pk} is not held ({run.status}): only a held run can be approved")
    later = ImportRun.objects.filter(
        source_id=run.source_id, pk__gt=run.pk,
        status__in=[ImportRun.Status.SUCCEEDED, ImportRun.Status.HELD]).order_by("-pk").first()
    if later is not None:
        held_runs_supersede(run=later)  # runs held before this fix, or a race lost to `later`
        run.refresh_from_db()
        raise HeldRunSuperseded(f"run {run.pk} was {run.reason}")


def _record_notes(run: ImportRun, parsed: ParsedFeed) -> None:
    """The run's counts and issues: at most FEEDS_PARSE_MAX_ISSUES are stored
    (ParsedFeed keeps no more), the rest only counted, so a junk feed cannot
    fill the database."""
    run.records = parsed.records
    run.rejected = parsed.rejected_count
    run.repaired = len(parsed.repaired_keys)
    run.skipped = parsed.skipped_count
    run.issues_left_out = parsed.unlisted
    ImportIssue.objects.filter(run=run).delete()
    ImportIssue.objects.bulk_create([
        ImportIssue(run=run, kind=n.kind, record_key=n.record_key[:200], field=n.field[:60], reason=n.reason[:1000])
        for n in parsed.notes
    ], batch_size=500)


class ImportRefused(fetch.FetchError):
    """The source names something the importer may not read (a local path)."""


def _obtain(*, source: FeedSource, local_file_allowed: bool) -> FeedDocument:
    """Fetch the source's feed: its uploaded file, or its URL through its format."""
    if source.upload:
        return FeedDocument(text=fetch.read_file(source.upload.path).text)
    if not source.url:
        raise fetch.FetchError("the source has neither a URL nor an uploaded file")
    problem = feed_url_problem(source.url)
    if problem:
        if local_file_allowed and "://" not in source.url:
            return FeedDocument(text=fetch.read_file(source.url).text)
        raise ImportRefused(f"refused: {problem}")
    # The validators of the last import of this very URL (a changed URL is fetched in full).
    known = source.fetched_url == source.url
    return parser_for(source.format).fetch(
        url=source.url, bmlt_service_body_ids=source.bmlt_service_body_ids,
        etag=source.fetched_etag if known else "", last_modified=source.fetched_last_modified if known else "")


NOT_MODIFIED_REASON = "not modified since the last import (HTTP 304): nothing downloaded, nothing changed"


def _note_left_alone(*, source: FeedSource, parsed: ParsedFeed, plan: Plan) -> None:
    """Each record the plan leaves alone, on the run with the meeting and
    the body it belongs to now, so the feed's curators see why their record
    changed nothing (and may drop it from the feed)."""
    if not plan.left_alone:
        return
    pks = [pk for _, pk in plan.left_alone]
    where: dict[int, tuple[str, str]] = {}
    for batch in _batches(pks, LOOKUP_BATCH):
        where.update((pk, (slug, body)) for pk, slug, body in Meeting.objects.filter(pk__in=batch).values_list(
            "pk", "slug", "service_body__name"))
    for key, pk in plan.left_alone:
        slug, body = where[pk]
        parsed.skip(key, f"left alone: its meeting ({slug}) now belongs to {body}, not to "
                         f"{source.service_body.name} or a body below it")


@dataclass(frozen=True)
class HeldFeed:
    """The feed a run read, as a held run keeps it for its approval: the
    feed's text, or the decoded records it was given (tests, the sample
    data), with the format and the options it was read with."""

    document: FeedDocument | None  # None: the run was given a parsed feed, nothing to keep
    format: str
    # A fetched feed's text carries what it is read with (a root server's
    # answers, joined), and its options are a server's words, not stored apart.
    fetched: bool

    def keep(self, run: ImportRun) -> None:
        if self.document is None:
            return
        # The importer's own options are added again when the approval reads it.
        options = {} if self.fetched else {key: value for key, value in self.document.options.items()
                                           if key not in ("fellowship", "held")}
        run.payload_reading = {"format": self.format, "options": options}
        if self.document.text or self.document.records is None:
            run.payload = self.document.text
        else:
            run.payload, run.payload_reading["records"] = json.dumps(self.document.records), True

    @staticmethod
    def of(run: ImportRun) -> FeedDocument:
        """The document a held run keeps, to be read again as it was
        (a run held before its reading was kept: its text, in its source's format)."""
        reading = run.payload_reading
        options = {**reading.get("options", {}), "held": True}
        if reading.get("records"):
            return FeedDocument(records=json.loads(run.payload), options=options)
        return FeedDocument(text=run.payload, options=options)


def _apply_parsed(*, source: FeedSource, run: ImportRun, parsed: ParsedFeed, held: HeldFeed, allow_shrink: bool,
                  geocoder, progress: Progress | None, location_namespace: str, started: float) -> ImportRun:
    plan = feed_plan(source=source, parsed=parsed)
    for key, reason in plan.matched:
        parsed.annotate(key, "slug", reason)
    _note_left_alone(source=source, parsed=parsed, plan=plan)
    _record_notes(run, parsed)
    # Counted over the whole feed, records unchanged since the last run too,
    # so the same feed reports the same codes, held or applied.
    types = TypeResolver(source.fellowship)
    run.unknown_types = types.unknown_by_record(parsed.meetings)
    reason = "" if allow_shrink else _shrink_reason(source=source, parsed=parsed, plan=plan)
    if reason:
        held.keep(run)
        run.would_remove, run.would_unpublish = plan.remove, plan.unpublish
        return _finish(run, status=ImportRun.Status.HELD, reason=reason, started=started)
    namespace = location_namespace or source.meeting_source
    incoming = [*plan.create, *(fm for fm, _ in plan.update)]
    wanted = sorted({key for fm in incoming if _needs_geocoding(fm) and (key := _location_signature(fm))})
    known: set[str] = set()
    for keys in _batches(wanted, LOOKUP_BATCH):
        known.update(Location.objects.filter(source=namespace, source_key__in=keys).values_list("source_key", flat=True))
    geocoded = geocode_new_places(meetings=incoming, known_keys=known, geocoder=geocoder)
    places = Places(namespace=namespace, geocoded=geocoded, geocoder=geocoder)
    applier = Applier(source=source, run=run, places=places, types=types, progress=progress)
    with transaction.atomic(), attributed(import_run=run):
        applier.apply(parsed=parsed, plan=plan)
    return _finish(run, status=ImportRun.Status.SUCCEEDED, started=started)


class SourceUpToDate(Exception):
    """The source was already imported for the due time asked about."""


def source_imported_since(*, source_id: int, due_at: dt.datetime) -> bool:
    """Whether a run of the source finished at or after `due_at` with an
    outcome (applied, or held for a curator); failed and running ones do not count."""
    return ImportRun.objects.filter(
        source_id=source_id, finished__gte=due_at,
        status__in=[ImportRun.Status.SUCCEEDED, ImportRun.Status.HELD]).exists()


def killed_runs_reason(limit: int) -> str:
    return (f"{limit} of its runs for this due time were killed with their worker (a feed too large for it?): "
            "not tried again until its next due time; \"Import now\" tries at once")


def feed_import(*, source_id: int, document: FeedDocument | None = None, parsed: ParsedFeed | None = None,
                held_run_id: int | None = None, local_file_allowed: bool = False, allow_shrink: bool = False,
                geocoder=None, progress: Progress | None = None, location_namespace: str = "",
                format: str | None = None, due_at: dt.datetime | None = None) -> ImportRun:
    """Import one feed source now: claim, fetch, parse, geocode, apply.

    `document` (text or decoded records) or `parsed` skip the fetch, and
    `format` reads a document in another format than the source's;
    `held_run_id` applies that held run's feed as fetched, shrink guard off;
    `local_file_allowed` lets a source name a file on this machine (the
    command line only); `location_namespace` shares stored places between
    sources (the sample data's several sources); `due_at` (when the
    scheduler found the source due) makes the import once per due time
    (`SourceUpToDate`, checked under the claim). Raises `SourceBusy` when
    another run of the source is in progress, and `TransientFetchError`
    (after recording the run as failed) when a retry may help. Every other
    problem ends the run held or failed, with its reason."""
    with source_claimed(source_id=source_id):
        if due_at is not None and source_imported_since(source_id=source_id, due_at=due_at):
            raise SourceUpToDate(f"feed source {source_id} was already imported since {due_at.isoformat()}")
        source = FeedSource.objects.select_related("fellowship", "service_body").get(pk=source_id)
        started = monotonic.monotonic()
        limit = settings.FEEDS_KILLED_RUNS_LIMIT
        if due_at is not None and ImportRun.objects.filter(
                source_id=source_id, started__gte=due_at, status=ImportRun.Status.FAILED,
                reason=STALE_RUN_REASON).count() >= limit:
            # A task given back each time its worker dies would otherwise kill workers forever.
            return _finish(ImportRun.objects.create(source=source), status=ImportRun.Status.FAILED,
                           reason=killed_runs_reason(limit), started=started)
        if held_run_id is not None:
            run = ImportRun.objects.get(pk=held_run_id, source=source)
            _approvable(run)  # under the claim: no other run of the source ends meanwhile
            run.approved_at = timezone.now()
            document, format, allow_shrink = HeldFeed.of(run), run.payload_reading.get("format", format), True
        else:
            run = ImportRun.objects.create(source=source)
        held = HeldFeed(document=None, format="", fetched=False)
        try:
            if parsed is None:
                fetched = document is None
                document = document or _obtain(source=source, local_file_allowed=local_file_allowed)
                if document.not_modified:
                    return _finish(run, status=ImportRun.Status.SUCCEEDED, reason=NOT_MODIFIED_REASON,
                                   started=started)
                held = HeldFeed(document=document, format=format or source.format, fetched=fetched)
                # A record's own type codes are read only when they are the source's fellowship's.
                document = replace(document, options={**document.options, "fellowship": source.fellowship.slug})
                parsed = parser_for(format or source.format).parse(document=document, root=source.url)
            run = _apply_parsed(source=source, run=run, parsed=parsed, held=held, allow_shrink=allow_shrink,
                                geocoder=geocoder, progress=progress, location_namespace=location_namespace,
                                started=started)
            if document is not None and document.validators and run.status == ImportRun.Status.SUCCEEDED:
                # Only a feed that was applied may be skipped next time (a held one is fetched again).
                etag, last_modified = document.validators
                FeedSource.objects.filter(pk=source.pk).update(
                    fetched_url=source.url, fetched_etag=etag, fetched_last_modified=last_modified)
            elif held_run_id is not None and run.status == ImportRun.Status.SUCCEEDED:
                # The directory is the approved feed now, not the one the kept
                # validators name: a 304 for those must not say "nothing changed".
                FeedSource.objects.filter(pk=source.pk).update(fetched_etag="", fetched_last_modified="")
            return run
        except FeedUnreadable as error:
            held.keep(run)
            return _finish(run, status=ImportRun.Status.HELD, reason=str(error), started=started)
        except fetch.FetchError as error:
            _finish(run, status=ImportRun.Status.FAILED, reason=str(error), started=started)
            if isinstance(error, fetch.TransientFetchError):
                raise
            return run
        except Exception as error:  # noqa: BLE001 - any failure ends the run as failed, never "running"
            return _finish(run, status=ImportRun.Status.FAILED, reason=f"{type(error).__name__}: {error}"[:2000],
                           started=started)


def feed_places_apply(*, namespace: str, places: list[FeedMeeting]) -> None:
    """Store places a feed lists beside its meetings (halls no meeting uses
    yet, as the sample data has), by the same rules as a meeting's place;
    each is a `FeedMeeting` of which only the place fields are read."""
    now = timezone.now()
    with transaction.atomic():
        stored = Places(namespace=namespace, geocoded={})
        keyed = [(key, fm) for fm in places if (key := _location_signature(fm))]
        stored.preload(places)
        for key, fm in keyed:
            stored.location(fm, key)
        names = type_search_names_read()
        for location in stored.save(date=now):
            location_meetings_follow(location=location, date=now, names=names)


# The older entry points, kept for their callers: each is one `feed_import`.

def import_feed_text(*, source: FeedSource, text: str, geocoder=None, allow_shrink: bool = False,
                     bmlt_formats: list | None = None, default_closed: bool | None = None) -> ImportRun:
    """Parse `text` in the source's format and apply it."""
    document = FeedDocument(text=text, options={"bmlt_formats": bmlt_formats, "default_closed": default_closed})
    return feed_import(source_id=source.pk, document=document, geocoder=geocoder, allow_shrink=allow_shrink)


def import_records(*, records: list, source: FeedSource | None = None, fellowship: Fellowship | None = None,
                   service_body: ServiceBody | None = None, format: str = FeedFormat.MEETING_GUIDE,
                   allow_shrink: bool = False, bmlt_formats: list | None = None) -> ImportRun:
    """Apply decoded records: Meeting Guide dicts, or BMLT records."""
    if source is None:
        source, _ = FeedSource.objects.get_or_create(
            slug=f"records-{service_body.slug}"[:80], defaults={
                "name": f"Records for {service_body.name}"[:200], "format": format, "fellowship": fellowship,
                "service_body": service_body})
    document = FeedDocument(records=records, options={"bmlt_formats": bmlt_formats})
    return feed_import(source_id=source.pk, document=document, format=format, allow_shrink=allow_shrink)


def import_run_approve(*, run: ImportRun) -> ImportRun:
    """An admin's approval of a held run: apply its feed, shrink guard off.
    Raises `HeldRunSuperseded` when a later run of the source succeeded or
    was held (the held run is marked so), ValueError for a run not held."""
    if run.status != ImportRun.Status.HELD:
        _approvable(run)  # says why at once; a held run is checked under the source's claim
    return feed_import(source_id=run.source_id, held_run_id=run.pk)


def import_run_meetings(*, run: ImportRun) -> dict[str, QuerySet[Meeting]]:
    """The meetings `run` wrote, read back from what it recorded: "added",
    "changed" and "removed" from the history rows attributed to it, "held"
    from its notes on records it left alone; a held run, which writes
    nothing, has those it would take out ("would_remove", "would_unpublish")."""
    if run.status == ImportRun.Status.HELD:
        return {kind: Meeting.objects.filter(pk__in=_held_ids(run, kind)) for kind in ("would_remove", "would_unpublish")}
    rows = Meeting.history.filter(import_run_id=run.pk)
    added = rows.filter(history_type="+").values("id")
    held = run.issues.filter(Q(kind=ImportIssue.Kind.SKIPPED) | CURATED_KEPT_NOTE)
    return {
        "added": Meeting.objects.filter(pk__in=added),
        "changed": Meeting.objects.filter(pk__in=rows.filter(history_type="~", removed=False).exclude(
            id__in=added).values("id")),
        "removed": Meeting.objects.filter(pk__in=rows.filter(history_type="~", removed=True).values("id")),
        "held": Meeting.objects.filter(source=run.source.meeting_source, source_key__in=held.values("record_key")),
    }


def _held_ids(run: ImportRun, kind: str) -> RawSQL:
    """The ids of a held run's list `kind`, read by the database from the
    run's row: given as parameters, a feed that lost more meetings than a
    statement takes (SQLite: 32,766) failed its page."""
    database = connections[router.db_for_read(Meeting)]
    table, column = map(database.ops.quote_name, (ImportRun._meta.db_table, ImportRun._meta.get_field(kind).column))
    if database.vendor == "postgresql":
        return RawSQL(f"SELECT jsonb_array_elements_text({column})::bigint FROM {table} WHERE id = %s", [run.pk])
    return RawSQL(f"SELECT value FROM {table}, json_each({table}.{column}) WHERE {table}.id = %s", [run.pk])
