"""Applying a feed to the directory, safely.

Entry points (keyword-only):

- `import_source(source=...)`: fetch a `FeedSource` (URL, BMLT root server or
  uploaded file), parse and apply it. What the Celery task and the admin call.
- `import_feed_text(source=..., text=...)`: parse raw feed text in the
  source's format and apply it. Unreadable text holds the run.
- `import_records(source=None, fellowship=..., service_body=..., records=[...],
  format="meeting-guide")`: apply already-decoded records (a list of Meeting
  Guide dicts, or BMLT `GetSearchResults` records); without a source one is
  made per service body. The exporter's round-trip tests use this.
- `import_run_approve(run=...)`: apply a held run's feed as it was fetched.

Each returns the `ImportRun`: status (succeeded, held, failed), counts and
issues. A run is one transaction: it applies whole or not at all. Meetings
match by (source, the feed's key); unchanged records (same content hash) cost
no write; meetings gone from the feed are marked removed, restored when they
return; the shrink guard holds a run that would remove too much; fields an
admin curated are left alone (`meetings.feeds.locks`); the same meeting from
two sources is shown once (`meetings.feeds.duplicates`).
"""

from __future__ import annotations

import hashlib
import time as monotonic
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from fellowships.models import Fellowship, MeetingType, ServiceBody
from fellowships.vocabularies import WORLD_ID_TO_MEETING_GUIDE
from meetings.feeds import bmlt, fetch, locks
from meetings.feeds.csv import parse_csv
from meetings.feeds.duplicates import mark_duplicates
from meetings.feeds.meeting_guide import load_feed_text, parse_meeting_guide
from meetings.feeds.records import FeedMeeting, FeedUnreadable, ParsedFeed, storable_text
from meetings.history import attributed, history_bulk_record
from meetings.models import FeedFormat, FeedSource, ImportIssue, ImportRun, Location, Meeting, Region
from meetings.services import location_geocode, meeting_refresh_derived

Progress = Callable[[int, int], None]

# Parsing -------------------------------------------------------------------

def parse_feed_text(*, text: str, format: str, root: str = "", bmlt_formats: list | None = None,
                    default_closed: bool | None = None) -> ParsedFeed:
    """Raw feed text in one of the formats as a `ParsedFeed`; raises
    `FeedUnreadable` for an HTML page, invalid or truncated JSON."""
    if format == FeedFormat.MEETING_GUIDE:
        return parse_meeting_guide(load_feed_text(text))
    if format == FeedFormat.CSV:
        return parse_csv(text)
    if format == FeedFormat.BMLT:
        meetings, used_formats = bmlt.split_search_results(bmlt.load_json_text(text, what="GetSearchResults"))
        return bmlt.parse_bmlt(meetings, formats=(bmlt_formats or []) + used_formats, root=root,
                               default_closed=default_closed)
    raise ValueError(f"unknown feed format {format!r}")


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

    def resolve(self, tokens: list[str]) -> tuple[list[MeetingType], list[str]]:
        found: list[MeetingType] = []
        unknown: list[str] = []
        for token in tokens:
            hits = self._lookup(token)
            if not hits:
                unknown.append(token)
            for hit in hits:
                if hit not in found:
                    found.append(hit)
        return found, unknown

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
    """What identifies a feed meeting's place; None for meetings without one."""
    if not fm.has_place and fm.latitude is None and not fm.location_name:
        return None
    parts = [fm.location_name, fm.address, fm.city, fm.state, fm.postal_code, fm.country, fm.formatted_address,
             fm.latitude, fm.longitude, fm.approximate, fm.location_notes, "/".join(fm.regions)]
    return hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()


class Places:
    """Locations made during one run: one per distinct place, geocoded once."""

    def __init__(self, geocoder) -> None:
        self.geocoder = geocoder
        self.by_signature: dict[str, Location] = {}
        self.regions: dict[tuple[str, ...], Region] = {}

    def region(self, names: list[str]) -> Region | None:
        parent = None
        for depth in range(1, len(names) + 1):
            path = tuple(names[:depth])
            if path not in self.regions:
                slug = slugify("-".join(path))[:100] or f"region-{depth}"
                region, _ = Region.objects.get_or_create(
                    slug=slug, defaults={"name": path[-1][:100], "parent": parent})
                self.regions[path] = region
            parent = self.regions[path]
        return parent

    def location(self, fm: FeedMeeting, signature: str) -> Location:
        if signature in self.by_signature:
            return self.by_signature[signature]
        location = Location(
            name=fm.location_name, address=fm.address, city=fm.city, state=fm.state,
            postal_code=fm.postal_code, country=fm.country, formatted_address=fm.formatted_address,
            latitude=fm.latitude, longitude=fm.longitude, approximate=fm.approximate, notes=fm.location_notes,
            region=self.region(fm.regions) if fm.regions else None,
        )
        if location.latitude is None and (fm.has_place or fm.location_name):
            # Never blocks: a failure is recorded and the meeting flagged for review.
            location_geocode(location=location, geocoder=self.geocoder)
            if location.geocode_status == Location.GeocodeStatus.OK:
                location.approximate = location.approximate or not fm.address
        if location.latitude is not None and not location.timezone:
            location.timezone = timezone_at(location.latitude, location.longitude)
        self.by_signature[signature] = location
        return location


# Applying ------------------------------------------------------------------

@dataclass
class Plan:
    create: list[FeedMeeting] = field(default_factory=list)
    update: list[tuple[FeedMeeting, int]] = field(default_factory=list)
    restore_unchanged: list[int] = field(default_factory=list)
    unchanged: int = 0
    remove: list[int] = field(default_factory=list)
    active: int = 0


def _key_stem(key: str) -> str:
    # Multi-day Meeting Guide records are keyed "slug@day"; the record is "slug".
    return key.rsplit("@", 1)[0]


def _plan(*, source: FeedSource, parsed: ParsedFeed) -> Plan:
    plan = Plan()
    existing = {
        key: (pk, content_hash, removed)
        for pk, key, content_hash, removed in Meeting.objects.filter(source=source.meeting_source)
        .values_list("id", "source_key", "content_hash", "removed")
    }
    incoming: set[str] = set()
    for fm in parsed.meetings:
        incoming.add(fm.key)
        current = existing.get(fm.key)
        if current is None:
            plan.create.append(fm)
        elif current[1] == fm.content_hash() and not current[2]:
            plan.unchanged += 1
        elif current[1] == fm.content_hash():
            plan.restore_unchanged.append(current[0])
        else:
            plan.update.append((fm, current[0]))
    for key, (pk, _, removed) in existing.items():
        if removed:
            continue
        plan.active += 1
        if key not in incoming and key not in parsed.seen_keys and _key_stem(key) not in parsed.seen_keys:
            plan.remove.append(pk)
    return plan


def _shrink_reason(*, source: FeedSource, parsed: ParsedFeed, plan: Plan) -> str:
    if parsed.records == 0:
        return "the feed is an empty list"
    if not parsed.meetings:
        return f"none of the feed's {parsed.records} records could be read"
    share = source.shrink_guard_share if source.shrink_guard_share is not None else settings.FEEDS_SHRINK_GUARD_SHARE
    if plan.active and len(plan.remove) / plan.active > share:
        return (f"the feed would remove {len(plan.remove)} of {plan.active} meetings "
                f"({len(plan.remove) / plan.active:.0%}, more than the {share:.0%} allowed)")
    return ""


class Applier:
    def __init__(self, *, source: FeedSource, run: ImportRun, geocoder, progress: Progress | None) -> None:
        self.source = source
        self.run = run
        self.now = timezone.now()
        self.types = TypeResolver(source.fellowship)
        self.places = Places(geocoder)
        self.progress = progress
        self.unknown: dict[str, int] = {}
        self.issues: list[ImportIssue] = []

    def _zone(self, fm: FeedMeeting, location: Location | None) -> str:
        if fm.timezone:
            return fm.timezone
        if location is not None and location.timezone:
            return location.timezone
        return self.source.service_body.timezone

    def _feed_state(self, fm: FeedMeeting) -> tuple[Location | None, str, list[MeetingType], dict]:
        signature = _location_signature(fm)
        location = self.places.location(fm, signature) if signature else None
        types, unknown = self.types.resolve(fm.type_tokens)
        for code in unknown:
            self.unknown[code] = self.unknown.get(code, 0) + 1
        values = {
            "name": fm.name, "day": fm.day, "time": locks.encode("time", fm.time),
            "end_time": locks.encode("end_time", fm.end_time), "timezone": self._zone(fm, location),
            "notes": fm.notes, "conference_url": fm.conference_url, "conference_url_notes": fm.conference_url_notes,
            "conference_phone": fm.conference_phone, "conference_phone_notes": fm.conference_phone_notes,
            "group": fm.group, "group_notes": fm.group_notes, "url": fm.url, "published": fm.published,
            "types": locks.encode("types", [t.code for t in types]),
        }
        return location, signature or "", types, values

    def _flag_geocoding(self, meeting: Meeting, location: Location | None) -> None:
        if location is not None and location.geocode_status == Location.GeocodeStatus.FAILED:
            meeting.needs_review = True
            meeting.review_reason = f"Location could not be geocoded: {location.geocode_error}"[:300]
        elif meeting.review_reason.startswith("Location could not be geocoded"):
            meeting.needs_review = False
            meeting.review_reason = ""

    def _save_locations(self) -> None:
        new = [loc for loc in self.places.by_signature.values() if loc.pk is None]
        Location.objects.bulk_create(new, batch_size=500)
        # Bulk writes skip save(), so their history is written here, in bulk,
        # attributed to the run (apply_parsed wraps the run in `attributed`).
        history_bulk_record(instances=new, history_type="+", date=self.now)

    def _slugs(self, hints: list[tuple[str, str]]) -> list[str]:
        """Our slugs for new meetings: the feed's, unless another meeting has
        it; then one derived from (source, key), the same on every run."""
        slugs = []
        hints = [((slugify(hint).strip("-")[:50] or "meeting"), key) for hint, key in hints]
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

    def apply(self, *, parsed: ParsedFeed, plan: Plan) -> list[Meeting]:
        total = len(parsed.meetings)
        done = plan.unchanged
        touched: list[Meeting] = []
        # New meetings: built in memory, derived fields by the service's rule, then bulk-written.
        prepared = [(fm, *self._feed_state(fm)) for fm in plan.create]
        existing_rows = Meeting.objects.in_bulk([pk for _, pk in plan.update])
        types_of = {pk: [] for pk in existing_rows}
        for through in Meeting.types.through.objects.filter(meeting_id__in=list(existing_rows)).select_related(
                "meetingtype"):
            types_of[through.meeting_id].append(through.meetingtype)
        updates = [(fm, existing_rows[pk], *self._feed_state(fm)) for fm, pk in plan.update]
        self._save_locations()

        slugs = self._slugs([(fm.slug_hint, fm.key) for fm, *_ in prepared])
        new_meetings, new_types = [], []
        for (fm, location, signature, types, values), slug in zip(prepared, slugs):
            meeting = Meeting(
                fellowship=self.source.fellowship, service_body=self.source.service_body, location=location,
                slug=slug, source=self.source.meeting_source, source_key=fm.key, feed_source=self.source,
                content_hash=fm.content_hash(), feed_values={**values, "location": signature},
                created=self.now, updated=self.now,
            )
            for name in locks.FEED_FIELDS:
                if name != "types":
                    setattr(meeting, name, locks.decode(name, values[name]))
            meeting_refresh_derived(meeting=meeting, types=types)
            self._flag_geocoding(meeting, location)
            new_meetings.append(meeting)
            new_types.append(types)
            done += 1
            if self.progress and done % 200 == 0:
                self.progress(done, total)
        touched.extend(new_meetings)

        changed, changed_codes = [], {}
        for fm, meeting, location, signature, types, values in updates:
            current_types = types_of[meeting.pk]
            current = locks.current_values(meeting, [t.code for t in current_types])
            curated = locks.newly_curated(meeting=meeting, current=current)
            meeting.locked_fields = sorted(set(meeting.locked_fields) | set(curated))
            for name in locks.FEED_FIELDS:
                if name not in meeting.locked_fields and name != "types":
                    setattr(meeting, name, locks.decode(name, values[name]))
            keep_types = "types" in meeting.locked_fields
            final_types = current_types if keep_types else types
            if signature != (meeting.feed_values or {}).get("location"):
                meeting.location = location
            meeting.feed_values = {**values, "location": signature}
            meeting.content_hash = fm.content_hash()
            meeting.updated = self.now
            if meeting.removed:
                self.run.restored += 1
            meeting.removed, meeting.removed_at = False, None
            meeting_refresh_derived(meeting=meeting, types=final_types)
            self._flag_geocoding(meeting, meeting.location)
            if not keep_types and {t.pk for t in types} != {t.pk for t in current_types}:
                meeting.types.set(types)
            changed_codes[meeting.pk] = sorted(t.code for t in final_types)
            changed.append(meeting)
            done += 1
            if self.progress and done % 200 == 0:
                self.progress(done, total)
        touched.extend(changed)

        # Marked before writing, so the flag goes out with the rows themselves.
        self.run.duplicates = mark_duplicates(meetings=touched, source=self.source.meeting_source)
        Meeting.objects.bulk_create(new_meetings, batch_size=500)
        Through = Meeting.types.through
        Through.objects.bulk_create(
            [Through(meeting_id=m.pk, meetingtype_id=t.pk) for m, types in zip(new_meetings, new_types) for t in types],
            batch_size=1000,
        )
        fields = ["location", "content_hash", "feed_values", "locked_fields", "updated", "removed", "removed_at",
                  "open_closed", "attendance", "conference_provider", "latitude", "longitude", "needs_review",
                  "review_reason", "duplicate_of", *[n for n in locks.FEED_FIELDS if n != "types"]]
        Meeting.objects.bulk_update(changed, fields, batch_size=500)
        history_bulk_record(instances=new_meetings, history_type="+", date=self.now,
                            type_codes={m.pk: sorted(t.code for t in types) for m, types in zip(new_meetings, new_types)})
        history_bulk_record(instances=changed, date=self.now, type_codes=changed_codes)

        if plan.restore_unchanged:
            Meeting.objects.filter(pk__in=plan.restore_unchanged).update(removed=False, removed_at=None)
            self.run.restored += len(plan.restore_unchanged)
            history_bulk_record(instances=Meeting.objects.filter(pk__in=plan.restore_unchanged), date=self.now)
        if plan.remove:
            Meeting.objects.filter(pk__in=plan.remove).update(removed=True, removed_at=self.now)
            # The other source's copy of a meeting that left its feed is shown again.
            shown_again = list(Meeting.objects.filter(duplicate_of__in=plan.remove).values_list("pk", flat=True))
            Meeting.objects.filter(pk__in=shown_again).update(duplicate_of=None)
            history_bulk_record(instances=Meeting.objects.filter(pk__in=[*plan.remove, *shown_again]), date=self.now)
        if self.progress:
            self.progress(total, total)
        self.run.created = len(new_meetings)
        self.run.updated = len(changed)
        self.run.unchanged = plan.unchanged
        self.run.removed = len(plan.remove)
        return touched


def _finish(run: ImportRun, *, status: str, reason: str = "", started: float) -> ImportRun:
    run.status = status
    run.reason = reason
    run.finished = timezone.now()
    run.duration_seconds = round(monotonic.monotonic() - started, 3)
    if status != ImportRun.Status.HELD:
        run.payload = ""
    run.payload = storable_text(run.payload)  # a held body with NUL or lone surrogates must still save
    run.save()
    FeedSource.objects.filter(pk=run.source_id).update(last_run_at=run.finished, last_status=status)
    return run


def _record_notes(run: ImportRun, parsed: ParsedFeed) -> None:
    run.records = parsed.records
    # Exact counts: parsed.notes keeps only the first FEEDS_PARSE_MAX_ISSUES.
    run.rejected = parsed.rejected_count
    run.repaired = parsed.repaired_count
    ImportIssue.objects.filter(run=run).delete()
    ImportIssue.objects.bulk_create([
        ImportIssue(run=run, kind=n.kind, record_key=n.record_key[:200], field=n.field[:60], reason=n.reason)
        for n in parsed.notes
    ], batch_size=500)


def apply_parsed(*, source: FeedSource, parsed: ParsedFeed, run: ImportRun | None = None, geocoder=None,
                 allow_shrink: bool = False, payload: str = "", progress: Progress | None = None) -> ImportRun:
    """Apply a parsed feed to a source's meetings in one transaction, or hold it."""
    started = monotonic.monotonic()
    run = run or ImportRun.objects.create(source=source)
    _record_notes(run, parsed)
    try:
        with transaction.atomic():
            plan = _plan(source=source, parsed=parsed)
            reason = "" if allow_shrink else _shrink_reason(source=source, parsed=parsed, plan=plan)
            if reason:
                run.payload = payload
                return _finish(run, status=ImportRun.Status.HELD, reason=reason, started=started)
            applier = Applier(source=source, run=run, geocoder=geocoder, progress=progress)
            with attributed(import_run=run):
                applier.apply(parsed=parsed, plan=plan)
            run.unknown_types = applier.unknown
    except Exception as error:
        return _finish(run, status=ImportRun.Status.FAILED, reason=f"{type(error).__name__}: {error}",
                       started=started)
    return _finish(run, status=ImportRun.Status.SUCCEEDED, started=started)


def _hold_unreadable(*, source: FeedSource, run: ImportRun | None, error: Exception, payload: str) -> ImportRun:
    started = monotonic.monotonic()
    run = run or ImportRun.objects.create(source=source)
    run.payload = payload
    return _finish(run, status=ImportRun.Status.HELD, reason=str(error), started=started)


def import_feed_text(*, source: FeedSource, text: str, run: ImportRun | None = None, geocoder=None,
                     allow_shrink: bool = False, progress: Progress | None = None, bmlt_formats: list | None = None,
                     default_closed: bool | None = None) -> ImportRun:
    """Parse `text` in the source's format and apply it."""
    try:
        parsed = parse_feed_text(text=text, format=source.format, root=source.url, bmlt_formats=bmlt_formats,
                                 default_closed=default_closed)
    except FeedUnreadable as error:
        return _hold_unreadable(source=source, run=run, error=error, payload=text)
    return apply_parsed(source=source, parsed=parsed, run=run, geocoder=geocoder, allow_shrink=allow_shrink,
                        payload=text, progress=progress)


def source_for_records(*, fellowship: Fellowship, service_body: ServiceBody, format: str) -> FeedSource:
    source, _ = FeedSource.objects.get_or_create(
        slug=f"records-{service_body.slug}"[:80],
        defaults={"name": f"Records for {service_body.name}"[:200], "format": format,
                  "fellowship": fellowship, "service_body": service_body},
    )
    return source


def import_records(*, records: list, source: FeedSource | None = None, fellowship: Fellowship | None = None,
                   service_body: ServiceBody | None = None, format: str = FeedFormat.MEETING_GUIDE,
                   geocoder=None, allow_shrink: bool = False, bmlt_formats: list | None = None) -> ImportRun:
    """Apply decoded records: Meeting Guide dicts, or BMLT records."""
    if source is None:
        if fellowship is None or service_body is None:
            raise ValueError("import_records needs a source, or a fellowship and a service body")
        source = source_for_records(fellowship=fellowship, service_body=service_body, format=format)
    if format == FeedFormat.BMLT:
        parsed = bmlt.parse_bmlt(records, formats=bmlt_formats or [], root=source.url)
    elif format in (FeedFormat.MEETING_GUIDE, FeedFormat.CSV):
        parsed = parse_meeting_guide(records)
    else:
        raise ValueError(f"unknown feed format {format!r}")
    return apply_parsed(source=source, parsed=parsed, geocoder=geocoder, allow_shrink=allow_shrink)


def _fetch_bmlt(source: FeedSource) -> tuple[str, list, bool | None]:
    root = source.url
    ids = [i.strip() for i in source.bmlt_service_body_ids.split(",") if i.strip()]
    results = fetch.fetch_url(bmlt.search_url(root=root, service_body_ids=ids)).text
    formats = bmlt.load_json_text(fetch.fetch_url(bmlt.formats_url(root=root)).text, what="GetFormats")
    try:
        info = bmlt.load_json_text(fetch.fetch_url(bmlt.server_info_url(root=root)).text, what="GetServerInfo")
        default_closed = bmlt.default_closed_status(info)
    except (fetch.FetchError, FeedUnreadable):
        default_closed = None  # older servers: open/closed then comes from formats only
    return results, formats if isinstance(formats, list) else [], default_closed


NOT_MODIFIED_REASON = "not modified since the last import (HTTP 304): nothing downloaded, nothing changed"


def _fetch_conditionally(source: FeedSource) -> fetch.Fetched:
    """GET the source's URL with the validators of its last successful import
    of that URL, so an unchanged feed is not downloaded again."""
    known = source.fetched_url == source.url
    return fetch.fetch(source.url, etag=source.fetched_etag if known else "",
                       last_modified=source.fetched_last_modified if known else "")


def import_source(*, source: FeedSource, geocoder=None, progress: Progress | None = None) -> ImportRun:
    """Fetch and apply one source now. Network errors that are worth a retry
    propagate as `TransientFetchError` after the run is recorded as failed."""
    run = ImportRun.objects.create(source=source)
    started = monotonic.monotonic()
    bmlt_formats, default_closed = None, None
    fetched = None
    try:
        if source.upload:
            text = fetch.read_file(source.upload.path).text
        elif source.format == FeedFormat.BMLT and "://" in source.url and "/client_interface/" not in source.url:
            text, bmlt_formats, default_closed = _fetch_bmlt(source)
        elif source.url and "://" not in source.url:
            # A path: made by the import_feed command (curators may name URLs only).
            text = fetch.read_file(source.url).text
        elif source.url:
            fetched = _fetch_conditionally(source)
            if fetched.not_modified:
                return _finish(run, status=ImportRun.Status.SUCCEEDED, reason=NOT_MODIFIED_REASON, started=started)
            text = fetched.text
        else:
            raise fetch.FetchError("the source has neither a URL nor an uploaded file")
    except FeedUnreadable as error:
        return _hold_unreadable(source=source, run=run, error=error, payload="")
    except fetch.FetchError as error:
        _finish(run, status=ImportRun.Status.FAILED, reason=str(error), started=started)
        if isinstance(error, fetch.TransientFetchError):
            raise
        return run
    run = import_feed_text(source=source, text=text, run=run, geocoder=geocoder, progress=progress,
                           bmlt_formats=bmlt_formats, default_closed=default_closed)
    if fetched is not None and run.status == ImportRun.Status.SUCCEEDED:
        # Only a feed that was applied may be skipped next time (a held one is fetched again).
        FeedSource.objects.filter(pk=source.pk).update(
            fetched_url=source.url, fetched_etag=fetched.etag, fetched_last_modified=fetched.last_modified)
    return run


def import_run_approve(*, run: ImportRun, geocoder=None) -> ImportRun:
    """An admin's approval of a held run: apply its feed, shrink guard off."""
    if run.status != ImportRun.Status.HELD:
        raise ValueError("only a held run can be approved")
    run.approved_at = timezone.now()
    return import_feed_text(source=run.source, text=run.payload, run=run, geocoder=geocoder, allow_shrink=True)
