"""Writes: every change to meetings and locations goes through here, so the
derived fields (open/closed, attendance, provider, copied coordinates) never
drift from what they derive from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from fellowships.models import MeetingType
from fellowships.services import open_closed_for
from meetings.attendance import conference_provider, derive_attendance, is_online
from meetings.geocoding import GeocodingError, geocode
from meetings.history import history_bulk_record, record_type_codes
from meetings.models import Location, Meeting


def location_query(location: Location) -> str:
    """What to ask a geocoder for a location."""
    if location.formatted_address:
        return location.formatted_address
    parts = [location.address, location.city, " ".join(p for p in (location.state, location.postal_code) if p)]
    return ", ".join(p for p in parts if p)


def location_geocode(*, location: Location, geocoder=None) -> bool:
    """Fill in a location's coordinates from its address. Never raises: a
    failure is recorded on the location so a curator can fix the pin."""
    query = location_query(location)
    try:
        place = geocode(query, geocoder=geocoder)
    except GeocodingError as error:
        location.geocode_status = Location.GeocodeStatus.FAILED
        location.geocode_error = str(error)[:300]
        return False
    location.latitude = round(place.latitude, 6)
    location.longitude = round(place.longitude, 6)
    location.geocode_status = Location.GeocodeStatus.OK
    location.geocode_error = ""
    if not location.timezone and place.timezone:
        location.timezone = place.timezone
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
        location_geocode(location=location, geocoder=geocoder)
    location.save()
    meetings = list(location.meetings.select_related("fellowship", "service_body", "location").prefetch_related("types"))
    changed_at = timezone.now()
    for meeting in meetings:
        meeting_refresh_derived(meeting=meeting)
        # The meeting as published (its address, pin) changed with its location.
        meeting.updated = changed_at
        if location.geocode_status == Location.GeocodeStatus.FAILED:
            meeting.needs_review = True
            meeting.review_reason = f"Location could not be geocoded: {location.geocode_error}"[:300]
        elif meeting.review_reason.startswith("Location could not be geocoded"):
            meeting.needs_review = False
            meeting.review_reason = ""
    Meeting.objects.bulk_update(
        meetings, ["latitude", "longitude", "attendance", "timezone", "needs_review", "review_reason", "updated"]
    )
    return location


def meeting_refresh_derived(*, meeting: Meeting, types: Iterable[MeetingType] | None = None) -> Meeting:
    """Recompute what a meeting derives from its types, links and location
    (not saved). `types` replaces the saved ones when given."""
    types = list(meeting.types.all()) if types is None else list(types)
    location = meeting.location
    meeting.open_closed = open_closed_for(fellowship=meeting.fellowship, types=types)
    meeting.conference_provider = conference_provider(meeting.conference_url)
    temporarily_closed = any(t.meaning == MeetingType.Meaning.TEMPORARILY_CLOSED for t in types)
    approximate = location is None or location.approximate or location.latitude is None
    meeting.attendance = derive_attendance(
        temporarily_closed=temporarily_closed,
        online=is_online(conference_url=meeting.conference_url, conference_phone=meeting.conference_phone),
        approximate=approximate,
    )
    meeting.latitude = location.latitude if location else None
    meeting.longitude = location.longitude if location else None
    if not meeting.timezone:
        meeting.timezone = (location.timezone if location else "") or meeting.service_body.timezone
    return meeting


@transaction.atomic
def meeting_save(*, meeting: Meeting, types: Iterable[MeetingType] | None = None, now: dt.datetime | None = None) -> Meeting:
    """Save a meeting with its derived fields; `types` replaces its types."""
    types = None if types is None else list(types)
    meeting_refresh_derived(meeting=meeting, types=types if types is not None else (
        meeting.types.all() if meeting.pk else []))
    meeting.updated = now or timezone.now()
    if types is not None:
        record_type_codes(meeting, types)
    meeting.save()
    if types is not None:
        meeting.types.set(types)
    return meeting


def _temporarily_closed_type(meeting: Meeting) -> MeetingType | None:
    return MeetingType.objects.filter(
        fellowship_id=meeting.fellowship_id, meaning=MeetingType.Meaning.TEMPORARILY_CLOSED
    ).first()


@transaction.atomic
def meetings_set_published(*, meetings: QuerySet[Meeting], published: bool, user=None) -> int:
    changing = list(meetings.exclude(published=published))
    now = timezone.now()
    for meeting in changing:
        meeting.published, meeting.updated = published, now
    Meeting.objects.bulk_update(changing, ["published", "updated"], batch_size=500)
    # A queryset write skips save(): its history is recorded here.
    history_bulk_record(instances=changing, user=user, date=now)
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
            tc = _temporarily_closed_type(meeting)
            if tc is None:
                continue
            types.append(tc)
        else:
            types = [t for t in types if t.meaning != MeetingType.Meaning.TEMPORARILY_CLOSED]
        meeting_save(meeting=meeting, types=types)
        changed += 1
    return changed
