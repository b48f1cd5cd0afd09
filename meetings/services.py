"""Writes: every change to meetings and locations goes through here (the
importer, the sample data, change-request approval, the admin, history
reverts), so the derived fields (open/closed, attendance, provider, copied
coordinates, search text) never drift from what they derive from."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from fellowships.models import Fellowship, MeetingType, ServiceBody, service_body_fellowship_problem
from fellowships.services import open_closed_for
from meetings.attendance import conference_provider, derive_attendance, is_online
from meetings.curation import feed_source_listings, service_body_tree_ids
from meetings.directory_version import directory_changed
from meetings.feeds.claims import source_busy, source_claimed
from meetings.geocoding import GeocodingError, Place, geocode
from meetings.feeds.locks import (FEED_FIELDS, LOCATION_FEED_FIELDS, MEETING_LOCKABLE_FIELDS, PIN, PLACE,
                                  current_values, decode, newly_curated, unknown_fields)
from meetings.history import (RevertError, history_bulk_record, record_type_codes, revert_changes,
                              revert_schedule_problem)
from meetings.keywords import (FELLOWSHIP_SOURCE, language_named, meeting_languages, search_text,
                               type_search_names_read, type_text_sources_read, word_text)
from meetings.models import ADDRESS_PARTS, DirectoryVersion, FeedSource, Location, Meeting, address_as_read
from meetings.schedule import is_schedule

# How a meeting whose place could not be geocoded is flagged for review; the
# flag is lifted by the same rule once the place has coordinates.
GEOCODING_FAILED_REVIEW = "Location could not be geocoded"


def location_query(location: Location) -> str:
    """What to ask a geocoder for a location: its address as read, without
    the country (the geocode cache is keyed on these words)."""
    return address_as_read(formatted_address=location.formatted_address, address=location.address,
                           city=location.city, state=location.state, postal_code=location.postal_code, country="")


def place_lookup(*, query: str, geocoder=None) -> Place | GeocodingError:
    """A geocoder's answer for `query`, or the error that says why there is none."""
    try:
        return geocode(query, geocoder=geocoder)
    except GeocodingError as error:
        return error


def location_apply_place(*, location: Location, found: Place | GeocodingError) -> bool:
    """Set a location's coordinates from a geocoder's answer (not saved);
    an error is recorded on the location so a curator can fix the pin."""
    if isinstance(found, GeocodingError):
        location.geocode_status = Location.GeocodeStatus.FAILED
        location.geocode_error = str(found)[:300]
        return False
    location.latitude = round(found.latitude, 6)
    location.longitude = round(found.longitude, 6)
    location.geocode_status = Location.GeocodeStatus.OK
    location.geocode_error = ""
    if not location.timezone and found.timezone:
        location.timezone = found.timezone
    return True


@transaction.atomic
def location_save(*, location: Location, address_changed: bool, coordinates_changed: bool, geocoder=None) -> Location:
    """Save a location; geocode it when it has no coordinates or its address
    changed (a pin for the old address is stale), unless the same edit placed
    the pin by hand; then bring its meetings' copied coordinates and attendance
    up to date. Geocoding failure never blocks the save: meetings are flagged."""
    if coordinates_changed and location.latitude is not None:
        location.geocode_status = Location.GeocodeStatus.MANUAL
        location.geocode_error = ""
    elif (address_changed or location.latitude is None) and location_query(location):
        location_apply_place(location=location, found=place_lookup(query=location_query(location), geocoder=geocoder))
    location.save()
    location_meetings_follow(location=location, date=timezone.now())
    return location


def location_meetings_follow(*, location: Location, date: dt.datetime, skip: Iterable[int] = (),
                             names: Mapping[int, str] | None = None) -> int:
    """The meetings at a location that was just written (but those in
    `skip`, which their writer refreshed) take what they derive from it: pin,
    attendance, zone, search text, the geocoding flag. Returns how many."""
    skip = set(skip)
    ids = [pk for pk in location.meetings.values_list("pk", flat=True) if pk not in skip]
    if not ids:
        return 0
    using = location._state.db or "default"
    meetings = list(Meeting.objects.using(using).filter(pk__in=ids)
                    .select_related("fellowship", "service_body", "location").prefetch_related("types"))
    names = type_search_names_read(using=using) if names is None else names
    for meeting in meetings:
        meeting_refresh_derived(meeting=meeting, names=names)
        # The meeting as published (its address, pin) changed with its location.
        meeting.updated = date
        meeting_flag_geocoding(meeting=meeting, location=location)
    Meeting.objects.bulk_update(meetings, ["latitude", "longitude", "attendance", "timezone", "search_text",
                                           "needs_review", "review_reason", "updated"], batch_size=500)
    return len(meetings)


def meeting_type_saved(sender, instance: MeetingType, created: bool = False, raw: bool = False,
                       using: str = "default", **kwargs) -> None:
    """A vocabulary's type renamed, translated or given a language anew
    (`vocabularies_sync`) reaches the derived texts of its meetings
    (connected in meetings/apps.py). A new type has no meetings yet."""
    if not (created or raw):
        type_texts_follow(using=using)


# The defaults of a service body or fellowship that its meetings derive a
# field from where their types say nothing: (model, field). A save follows
# one only when it changed (`default_saving`, then the model's post_save receiver).
FOLLOWED_DEFAULTS = ((ServiceBody, "default_language"), (Fellowship, "default_open_closed"))


def default_saving(sender, instance, raw: bool = False, using: str = "default", update_fields=None,
                   **kwargs) -> None:
    """Before a save (pre_save, meetings/apps.py): the value of the followed
    default as stored, so the save's receiver writes meetings only when this
    save changes it. Reading a body's 45,000 meetings at every save took
    1.7-1.9 s at 1,000,000 meetings (bench/README.md, round 23)."""
    field = dict(FOLLOWED_DEFAULTS)[sender]
    if raw or instance.pk is None or (update_fields is not None and field not in update_fields):
        stored = getattr(instance, field)
    else:
        stored = sender.objects.using(using).filter(pk=instance.pk).values_list(field, flat=True).first()
    instance._stored_default = stored


def _default_changed(instance, field: str, *, created: bool, raw: bool) -> bool:
    return not (created or raw) and getattr(instance, "_stored_default", None) != getattr(instance, field)


def service_body_saved(sender, instance: ServiceBody, created: bool = False, raw: bool = False,
                       using: str = "default", **kwargs) -> None:
    """A service body's default language is the language of its meetings
    whose types name none (`keywords.meeting_languages`; connected in
    meetings/apps.py)."""
    if not _default_changed(instance, "default_language", created=created, raw=raw):
        return
    language_text = meeting_languages((), instance.default_language)
    spoken = Meeting.types.through.objects.using(using).filter(
        meeting_id=OuterRef("pk"), meetingtype__kind=MeetingType.Kind.LANGUAGE)
    Meeting.objects.using(using).filter(service_body=instance).exclude(language_text=language_text).filter(
        ~Exists(spoken)).update(language_text=language_text)


def fellowship_saved(sender, instance: Fellowship, created: bool = False, raw: bool = False,
                     using: str = "default", **kwargs) -> None:
    """A fellowship's default open/closed is that of its meetings whose
    types say neither (`fellowships.services.open_closed_for`; connected in
    meetings/apps.py): the vocabulary's new default shows on them at once,
    through the same follow as a type's new meaning."""
    if _default_changed(instance, "default_open_closed", created=created, raw=raw):
        type_texts_follow(using=using)


def meetings_migrated(sender, using: str = "default", plan=None, **kwargs) -> None:
    """At the end of `migrate` (post_migrate, meetings/apps.py), once the
    database is at its latest state. A migration may have changed anything
    readers see through historical models, which send no signal heard here:
    the directory's state is named anew (cached answers) when one was
    applied, and a vocabulary's changed type reaches its meetings' texts."""
    if plan is None:
        return  # `flush`: nothing is left to follow
    executor = MigrationExecutor(connections[using])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return  # migrated to an earlier state: the models are not its schema
    with transaction.atomic(using=using):
        if plan:
            directory_changed(using=using)
        type_texts_follow(using=using)


def type_texts_follow(*, using: str = "default") -> int:
    """Derive anew the meetings whose types or fellowship give them something
    else than they were written with (`keywords.type_text_sources_read`, kept
    with the directory's version); keep the new. Returns how many changed."""
    sources = type_text_sources_read(using=using)
    kept = DirectoryVersion.objects.using(using).filter(pk=1).values_list("type_text_sources", flat=True).first() or {}
    changed = [key for key, source in sources.items() if kept.get(key) != source]
    if not changed:
        return 0
    types = [int(key) for key in changed if not key.startswith(FELLOWSHIP_SOURCE)]
    fellowships = [int(key.removeprefix(FELLOWSHIP_SOURCE)) for key in changed if key.startswith(FELLOWSHIP_SOURCE)]
    through = Meeting.types.through.objects.using(using)
    # A fellowship's default reaches only the meetings whose types say neither open nor closed.
    saying = through.filter(meeting_id=OuterRef("pk"),
                            meetingtype__meaning__in=(MeetingType.Meaning.OPEN, MeetingType.Meaning.CLOSED))
    meetings = Meeting.objects.using(using).filter(
        Q(pk__in=through.filter(meetingtype_id__in=types).values("meeting_id"))
        | (Q(fellowship_id__in=fellowships) & ~Exists(saying)))
    names = {int(key): source[0] for key, source in sources.items() if not key.startswith(FELLOWSHIP_SOURCE)}
    count = meetings_refresh_from_types(meetings=meetings, names=names)
    directory_changed(using=using)  # the types readers see changed too
    DirectoryVersion.objects.using(using).update_or_create(pk=1, defaults={"type_text_sources": sources})
    return count


# What a meeting derives from its types (`meeting_refresh_derived`).
FROM_TYPES = ("search_text", "type_code_text", "language_text", "open_closed", "attendance")


def meetings_refresh_from_types(*, meetings: QuerySet[Meeting], names: Mapping[int, str]) -> int:
    """Derive anew what `meetings` take from their types, a page at a time
    (`names`: `keywords.type_search_names`), and write what changed.
    Returns how many changed."""
    changed = 0
    last = 0
    while True:
        page = list(meetings.filter(pk__gt=last).order_by("pk")
                    .select_related("location", "service_body", "fellowship").prefetch_related("types")[:500])
        if not page:
            return changed
        last = page[-1].pk
        stale = []
        for meeting in page:
            before = [getattr(meeting, field) for field in FROM_TYPES]
            meeting_refresh_derived(meeting=meeting, types=list(meeting.types.all()), names=names)
            if [getattr(meeting, field) for field in FROM_TYPES] != before:
                stale.append(meeting)
        Meeting.objects.using(meetings.db).bulk_update(stale, FROM_TYPES)
        changed += len(stale)


def meeting_flag_geocoding(*, meeting: Meeting, location: Location | None) -> Meeting:
    """Flag a meeting for review when its place could not be geocoded, and
    lift that flag (and only that one) once it could (not saved)."""
    if location is not None and location.geocode_status == Location.GeocodeStatus.FAILED:
        meeting.needs_review = True
        meeting.review_reason = f"{GEOCODING_FAILED_REVIEW}: {location.geocode_error}"[:300]
    elif meeting.review_reason.startswith(GEOCODING_FAILED_REVIEW):
        meeting.needs_review = False
        meeting.review_reason = ""
    return meeting


def meeting_refresh_derived(*, meeting: Meeting, types: Iterable[MeetingType] | None = None,
                            names: Mapping[int, str] | None = None) -> Meeting:
    """Recompute what a meeting derives from its types, links and location
    (not saved). `types` replaces the saved ones when given; `names` is the
    vocabularies' `keywords.type_search_names` (read when not given)."""
    types = list(meeting.types.all()) if types is None else list(types)
    location = meeting.location
    meeting.open_closed = open_closed_for(fellowship=meeting.fellowship, types=types)
    meeting.conference_provider = conference_provider(meeting.conference_url)
    meeting.attendance = derive_attendance(
        temporarily_closed=any(t.meaning == MeetingType.Meaning.TEMPORARILY_CLOSED for t in types),
        online=is_online(conference_url=meeting.conference_url, conference_phone=meeting.conference_phone),
        approximate=location is None or location.approximate or location.latitude is None)
    meeting.latitude = location.latitude if location else None
    meeting.longitude = location.longitude if location else None
    if not meeting.timezone:
        meeting.timezone = (location.timezone if location else "") or meeting.service_body.timezone
    if names is None:
        names = type_search_names_read(using=meeting._state.db or "default")
    meeting.search_text = search_text(meeting=meeting, location=location, type_ids=[t.pk for t in types], names=names)
    meeting.type_code_text = word_text(t.code for t in types)
    meeting.language_text = meeting_languages((language_named(t.kind, t.language) for t in types),
                                              meeting.service_body.default_language)
    return meeting


def meeting_take_feed(*, meeting: Meeting, values: dict, types: list[MeetingType], location: Location | None,
                      place_key: str, names: Mapping[int, str],
                      current_types: list[MeetingType] | None = None) -> list[MeetingType]:
    """Give a meeting what its feed says now (not saved; the importer writes
    in bulk), `values` encoded as `meetings.feeds.locks` keeps them. For a
    stored meeting (`current_types` given), a field a curator changed since
    the feed last wrote it becomes curated. Returns the types it ends with."""
    if current_types is not None:
        current = current_values(meeting, [t.code for t in current_types])
        meeting.locked_fields = sorted(set(meeting.locked_fields) | set(newly_curated(obj=meeting, current=current)))
    schedule_before = (meeting.day, meeting.time)
    for name in FEED_FIELDS:
        if name != "types" and name not in meeting.locked_fields:
            setattr(meeting, name, decode(name, values[name]))
    if {"day", "time"} & set(meeting.locked_fields) and not is_schedule(day=meeting.day, time=meeting.time):
        # A curated day beside the feed's by appointment would be a day
        # without a time, which no reader lists alike: the curator's schedule holds whole.
        meeting.day, meeting.time = schedule_before
    final_types = current_types if current_types is not None and "types" in meeting.locked_fields else types
    meeting.location = location
    meeting.feed_values = {**values, "location": place_key}
    meeting_refresh_derived(meeting=meeting, types=final_types, names=names)
    meeting_flag_geocoding(meeting=meeting, location=location)
    return final_types


@transaction.atomic
def meeting_save(*, meeting: Meeting, types: Iterable[MeetingType] | None = None, now: dt.datetime | None = None) -> Meeting:
    """Save a meeting with its derived fields; `types` replaces its types.
    When it is no longer public, the copies hidden behind it are shown again."""
    types = None if types is None else list(types)
    meeting_refresh_derived(meeting=meeting, types=types if types is not None else (
        meeting.types.all() if meeting.pk else []))
    meeting.updated = now or timezone.now()
    if types is not None:
        record_type_codes(meeting, types)
    adding = meeting._state.adding  # a new meeting hides nothing yet
    meeting.save()
    if types is not None:
        meeting.types.set(types)
    if not adding:
        duplicates_show_again(kept=[meeting.pk], date=meeting.updated)
    return meeting


def duplicates_show_again(*, kept: Iterable[int], date: dt.datetime, user=None,
                          deleting: bool = False) -> list[int]:
    """Show again the copies (`Meeting.duplicate_of`, meetings/feeds/duplicates.py)
    hidden behind those of the `kept` meetings that are not public now, and
    record their history: a meeting is only ever hidden behind one the public
    sees, or it would leave the directory with it. `deleting`: the kept
    meetings are about to be deleted, so all their copies are shown, save
    those deleted with them. Returns the ids of the copies shown again."""
    kept = list(kept)
    leaving = set(kept) if deleting else set()
    still_public = Meeting.objects.published().filter(pk=OuterRef("duplicate_of_id"))
    shown: list[int] = []
    for start in range(0, len(kept), 500):  # a bulk action's selection may be the whole directory
        hidden = Meeting.objects.filter(duplicate_of_id__in=kept[start:start + 500])
        if not deleting:
            hidden = hidden.exclude(Exists(still_public))
        copies = [pk for pk in hidden.values_list("pk", flat=True) if pk not in leaving]
        if copies:
            Meeting.objects.filter(pk__in=copies).update(duplicate_of=None)
            history_bulk_record(instances=Meeting.objects.filter(pk__in=copies), user=user, date=date)
            shown.extend(copies)
    return shown


@transaction.atomic
def meetings_delete(*, meetings: QuerySet[Meeting], user=None) -> None:
    """Delete `meetings`, showing again first the copies hidden behind them:
    the database would only empty their `duplicate_of` (on_delete=SET_NULL),
    unrecorded, and the public changes feed would never say they are public."""
    duplicates_show_again(kept=list(meetings.values_list("pk", flat=True)), date=timezone.now(), user=user,
                          deleting=True)
    meetings.delete()


@transaction.atomic
def meetings_not_copies(*, meetings: QuerySet[Meeting], user=None) -> int:
    """A curator's word that `meetings`, hidden as copies of other listings,
    are meetings of their own: each is shown, with its history recorded, and
    the pair is kept (`Meeting.not_copy_of`, both ways), so no import hides
    either behind the other again unless it is taken back
    (`meetings_not_copies_undo`). Returns how many were shown."""
    copies = list(meetings.filter(duplicate_of__isnull=False))
    Pair = Meeting.not_copy_of.through
    pairs = [(hidden.pk, hidden.duplicate_of_id) for hidden in copies]
    Pair.objects.bulk_create([Pair(from_meeting_id=one, to_meeting_id=other)
                              for pair in pairs for one, other in (pair, pair[::-1])],
                             ignore_conflicts=True, batch_size=500)
    now = timezone.now()
    for hidden in copies:
        hidden.duplicate_of, hidden.updated = None, now
    Meeting.objects.bulk_update(copies, ["duplicate_of", "updated"], batch_size=500)
    # A queryset write skips save(): its history is recorded here.
    history_bulk_record(instances=copies, user=user, date=now)
    return len(copies)


# Why each meeting of a pair has a history row when "not a copy" is taken back.
NOT_A_COPY_TAKEN_BACK = "not a copy of meeting {other}: taken back"


@transaction.atomic
def meetings_not_copies_undo(*, meeting: Meeting, other: Meeting, user=None) -> bool:
    """Take back a curator's word that `meeting` and `other` are two meetings
    (`meetings_not_copies`), with each meeting's history. Nothing is hidden
    here: the next import of either feed decides again, its records applied
    even if unchanged. Returns False when the pair is not there (taken back already)."""
    Pair = Meeting.not_copy_of.through
    pair = Pair.objects.filter(Q(from_meeting_id=meeting.pk, to_meeting_id=other.pk)
                               | Q(from_meeting_id=other.pk, to_meeting_id=meeting.pk))
    if not pair.exists():
        return False
    now = timezone.now()
    both = Meeting.objects.filter(pk__in=(meeting.pk, other.pk))
    # A queryset write, so the directory's version is bumped first (the
    # history rows reach the public changes feed), as every writer takes it.
    # An empty hash: the record counts as changed, as a released place's does.
    both.update(updated=now, content_hash="")
    if not pair.delete()[0]:  # another curator took it back meanwhile
        transaction.set_rollback(True)
        return False
    _feeds_downloaded_again(meetings=both)
    # A queryset write skips save(): the history is recorded here, each row naming the other meeting.
    for one in both:
        history_bulk_record(instances=[one], user=user, date=now,
                            reason=NOT_A_COPY_TAKEN_BACK.format(other=other.pk if one.pk == meeting.pk else meeting.pk))
    return True


@transaction.atomic
def meetings_set_published(*, meetings: QuerySet[Meeting], published: bool) -> int:
    """Publish or unpublish `meetings`; the copies hidden behind those
    unpublished are shown again. Returns how many changed."""
    changing = list(meetings.exclude(published=published))
    now = timezone.now()
    for meeting in changing:
        meeting.published, meeting.updated = published, now
    Meeting.objects.bulk_update(changing, ["published", "updated"], batch_size=500)
    # A queryset write skips save(): its history is recorded here.
    history_bulk_record(instances=changing, date=now)
    duplicates_show_again(kept=[m.pk for m in changing], date=now)
    return len(changing)


@transaction.atomic
def meetings_set_temporarily_closed(*, meetings: QuerySet[Meeting], closed: bool) -> int:
    """Mark buildings temporarily closed (the fellowship's TC type) or reopen
    them; attendance follows. Returns how many meetings changed."""
    changed = 0
    for meeting in meetings.select_related("fellowship", "service_body", "location").prefetch_related("types"):
        types = list(meeting.types.all())
        has_tc = any(t.meaning == MeetingType.Meaning.TEMPORARILY_CLOSED for t in types)
        if closed == has_tc:
            continue
        if closed:
            tc = MeetingType.objects.filter(fellowship_id=meeting.fellowship_id,
                                            meaning=MeetingType.Meaning.TEMPORARILY_CLOSED).first()
            if tc is None:
                continue
            types.append(tc)
        else:
            types = [t for t in types if t.meaning != MeetingType.Meaning.TEMPORARILY_CLOSED]
        meeting_save(meeting=meeting, types=types)
        changed += 1
    return changed


def meetings_move(*, meetings: QuerySet[Meeting], service_body: ServiceBody, user=None, reason: str = "") -> int:
    """Give `meetings` to `service_body`, 500 at a time: what they derive
    from their body follows (the language of those whose types name none,
    the zone of those without one), and their history is recorded,
    attributed to `user`. Returns how many moved."""
    ids = list(meetings.exclude(service_body=service_body).order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    names = type_search_names_read()
    for start in range(0, len(ids), 500):
        page = list(Meeting.objects.filter(pk__in=ids[start:start + 500]).order_by("pk")
                    .select_related("fellowship", "location").prefetch_related("types"))
        for meeting in page:
            meeting.service_body, meeting.updated = service_body, now
            meeting_refresh_derived(meeting=meeting, names=names)
        Meeting.objects.bulk_update(page, ["service_body", "updated", "timezone", *FROM_TYPES])
        history_bulk_record(instances=page, user=user, reason=reason, date=now,
                            type_codes={m.pk: sorted(t.code for t in m.types.all()) for m in page})
    return len(ids)


# Feed sources ---------------------------------------------------------------

# Why a feed's meetings changed body, on their history.
HANDED_OVER = "moved with its feed source"


def feed_source_handover(*, source: FeedSource, service_body: ServiceBody) -> QuerySet[Meeting]:
    """The meetings that go with `source` when it is given to `service_body`:
    its listings under its body as stored (`curation.feed_source_listings`),
    but for those already in `service_body` or below it, where the feed
    reaches them still."""
    stored = FeedSource.objects.filter(pk=source.pk).first() if source.pk else None
    if stored is None:
        return Meeting.objects.none()
    return feed_source_listings(source=stored).exclude(
        service_body_id__in=service_body_tree_ids(root_ids=[service_body.pk]))


def feed_source_move_problem(*, source: FeedSource, service_body: ServiceBody) -> str:
    """Why `source` cannot be given to `service_body` now, or "" when it can
    (or keeps its body): its meetings would go with it, and a body keeps one
    fellowship's; a run of its import in progress would go on writing the
    old body's listings."""
    if source.pk is None:
        return ""
    if FeedSource.objects.filter(pk=source.pk, service_body=service_body).exists():
        return ""  # it keeps its body
    handed = feed_source_handover(source=source, service_body=service_body)
    foreign = Fellowship.objects.filter(pk__in=handed.values("fellowship_id")).exclude(
        pk=service_body.fellowship_id).order_by("name").first()
    if foreign is not None:
        return _("Its meetings cannot go with it: %(problem)s") % {
            "problem": service_body_fellowship_problem(service_body=service_body, fellowship=foreign)}
    if source_busy(source_id=source.pk):
        return _("An import of this feed is running: give it to another service body once the import has "
                 "finished.")
    return ""


@transaction.atomic
def feed_source_save(*, source: FeedSource, user=None) -> int:
    """Save a feed source. Given to another service body, it hands its
    listings over in the same transaction (`feed_source_handover`), their
    history attributed to `user`; refused (nothing saved) with a
    ValidationError (`feed_source_move_problem`), or `SourceBusy` when a run
    claimed the source meanwhile. Returns how many meetings moved."""
    stored_body = None if source.pk is None else FeedSource.objects.select_for_update().filter(
        pk=source.pk).values_list("service_body_id", flat=True).first()
    if stored_body is None or stored_body == source.service_body_id:
        source.save()
        return 0
    if problem := feed_source_move_problem(source=source, service_body=source.service_body):
        raise ValidationError(problem, code="handover_refused")
    # Claimed to the end of the transaction (the source's row stays locked):
    # a run that starts meanwhile waits for the move, then reads the new body.
    with source_claimed(source_id=source.pk):
        moved = meetings_move(meetings=feed_source_handover(source=source, service_body=source.service_body),
                              service_body=source.service_body, user=user, reason=HANDED_OVER)
    source.save(handed_over=True)
    return moved


# Curated fields (meetings/feeds/locks.py) -----------------------------------

@transaction.atomic
def meeting_lock_fields(*, meeting: Meeting, fields: list[str]) -> Meeting:
    """Lock fields explicitly (an admin saying "keep mine"): feed fields, or
    the meeting's place (`locks.PLACE`, a curator's choice of location)."""
    unknown = unknown_fields(fields, allowed=MEETING_LOCKABLE_FIELDS)
    if unknown:
        raise ValueError(f"not feed fields: {', '.join(unknown)}")
    meeting.locked_fields = sorted(set(meeting.locked_fields) | set(fields))
    Meeting.objects.filter(pk=meeting.pk).update(locked_fields=meeting.locked_fields)
    return meeting


def meeting_feed_place(meeting: Meeting, *, locations: QuerySet[Location] | None = None) -> Location | None:
    """The stored location of the place the meeting's feed gave it last
    (`feed_values["location"]`), or None when the feed gave no place or that
    place was never stored. A place key is unique within its namespace: the
    meeting's source, else a namespace several sources share (the sample
    data's). `locations`: where to look (a data migration gives its
    historical model's)."""
    key = (meeting.feed_values or {}).get(PLACE)
    if not key:
        return None
    places = (locations if locations is not None else Location.objects).filter(source_key=key)
    return places.filter(source=meeting.source).first() or places.order_by("pk").first()


# A meeting's day and time: a weekly schedule has both, one by appointment neither.
SCHEDULE = ("day", "time")


@transaction.atomic
def meeting_release_lock(*, meeting: Meeting, field: str) -> Meeting:
    """Give a curated field back to the feed: it takes the feed's latest value
    now (`_released_in_memory`). A place the feed gave that is not stored yet
    is taken at the next import, the record counting as changed."""
    _, types = _released_in_memory(meeting=meeting, field=field)
    meeting = meeting_save(meeting=meeting, types=types)
    if meeting.feed_source_id and not meeting.content_hash:  # its record is to be applied again
        _feeds_downloaded_again(meetings=Meeting.objects.filter(pk=meeting.pk))
    return meeting


def _feeds_downloaded_again(*, meetings: QuerySet[Meeting]) -> None:
    """The feeds of `meetings`, whose records are to be applied again (an
    empty content hash), are downloaded in full at their next import: a 304
    for the feed as it was would leave the meetings as they are."""
    FeedSource.objects.filter(pk__in=meetings.values("feed_source_id")).update(fetched_etag="",
                                                                                fetched_last_modified="")


def meeting_fields_released(*, meeting: Meeting, field: str) -> list[str]:
    """The fields that releasing `field` gives back to the feed (`field`,
    and a schedule's other half when it would stand alone), as
    `meeting_release_lock` would, saving nothing: what the admin says before."""
    released, _ = _released_in_memory(meeting=copy.copy(meeting), field=field)
    return released


def _released_in_memory(*, meeting: Meeting, field: str) -> tuple[list[str], list[MeetingType] | None]:
    """`meeting_release_lock`'s change, made on `meeting` in memory: the
    fields given back, and the meeting's types when they are among them."""
    if field not in meeting.locked_fields:
        raise ValueError(_("%(field)s is not locked on %(meeting)s") % {"field": repr(field), "meeting": meeting.slug})
    meeting.locked_fields = [name for name in meeting.locked_fields if name != field]
    released, types = [field], None
    if field == PLACE:
        key = (meeting.feed_values or {}).get(PLACE)
        place = meeting_feed_place(meeting)
        if key == "":
            meeting.location = None  # the feed lists it without a place (online only)
        elif place is not None:
            meeting.location = place
        elif key is not None:
            # Forget the feed's last word on the record, so its next import
            # finds it changed and places it anew.
            meeting.feed_values = {**meeting.feed_values, PLACE: None}
            meeting.content_hash = ""
    elif field in (meeting.feed_values or {}):
        value = decode(field, meeting.feed_values[field])
        if field == "types":
            types = list(MeetingType.objects.filter(fellowship_id=meeting.fellowship_id, code__in=value))
        else:
            setattr(meeting, field, value)
    if field in SCHEDULE and not is_schedule(day=meeting.day, time=meeting.time):
        # The feed's half beside the curator's (or beside the half kept when
        # the feed dropped its schedule) is no schedule: the feed's comes back whole.
        (other,) = set(SCHEDULE) - {field}
        meeting.locked_fields = [name for name in meeting.locked_fields if name != other]
        setattr(meeting, other, decode(other, (meeting.feed_values or {}).get(other)))
        released.append(other)
    return released, types


@transaction.atomic
def location_lock_fields(*, location: Location, fields: list[str]) -> Location:
    """Lock a feed location's fields: later imports keep the curator's values."""
    unknown = unknown_fields(fields, allowed=LOCATION_FEED_FIELDS)
    if unknown:
        raise ValueError(f"not feed fields of a location: {', '.join(unknown)}")
    fields = set(fields)
    if fields & set(PIN):
        fields |= set(PIN)  # a pin is one thing: half of it is never the feed's
    location.locked_fields = sorted(set(location.locked_fields) | fields)
    Location.objects.filter(pk=location.pk).update(locked_fields=location.locked_fields)
    return location


# Reverting a change (history in meetings/history.py) --------------------------

@transaction.atomic
def history_revert(*, record, user=None):
    """Undo one change (exactly `history.revert_changes`, what the preview
    shows), through the write services. On an imported meeting the reverted
    feed fields become curated, or the next import would change them again.
    Returns the saved meeting or location."""
    previous = record.prev_record
    if record.history_type == "+" or previous is None:
        raise RevertError(_("This is the record's creation; unpublish the meeting instead of reverting it."))
    model = record.instance_type
    try:
        current = model.objects.select_for_update().get(pk=record.id)
    except model.DoesNotExist as error:
        raise RevertError(_("The record no longer exists.")) from error
    changes = revert_changes(record=record, current=current)
    if not changes:
        raise RevertError(_("Nothing to revert: each field this change made is derived or bookkeeping, or "
                            "already holds its value from before the change."))
    if problem := revert_schedule_problem(record=record, changes=changes, current=current):
        raise RevertError(problem)
    fields = [name for name in changes if name != "types"]
    reason = f"revert of change {record.history_id}"
    if "slug" in changes and model.objects.filter(slug=changes["slug"]["restored"]).exclude(pk=current.pk).exists():
        raise RevertError(_("The address /meetings/%(slug)s/ is another meeting's now: give this one its slug by "
                            "hand.") % {"slug": changes["slug"]["restored"]})
    types = None
    if "types" in changes:  # the codes of the meeting's fellowship before the revert
        types = list(MeetingType.objects.filter(fellowship_id=current.fellowship_id,
                                                code__in=changes["types"]["restored"]))
    for name in fields:
        attname = model._meta.get_field(name).attname
        setattr(current, attname, getattr(previous, attname))
    current._history_user = user
    current._change_reason = reason
    if model is Meeting:
        meeting_save(meeting=current, types=types)
        feed_fields = [n for n in fields + (["types"] if types is not None else []) if n in MEETING_LOCKABLE_FIELDS]
        if feed_fields and current.feed_source_id:
            meeting_lock_fields(meeting=current, fields=feed_fields)
        return current
    return location_save(location=current, address_changed=bool({*ADDRESS_PARTS, "formatted_address"} & set(fields)),
                         coordinates_changed=bool(set(PIN) & set(fields)))
