"""Data-quality review: what in a service body's listings needs a curator's
attention. Each rule is a plain selector narrowing a queryset, so the review
page counts it and the admin list filters by it with the same code
(`QUALITY_RULES`, the admin's "needs attention" filter).

Meetings gone from their feed (`removed`) are never listed: nothing about
them is shown to the public."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from fellowships.models import MeetingType
from meetings import clock
from meetings.models import FeedSource, ImportRun, Location, Meeting
from meetings.schedule import known_zone_names


def _current(meetings: QuerySet[Meeting]) -> QuerySet[Meeting]:
    return meetings.filter(removed=False)


def meetings_without_coordinates(*, meetings: QuerySet[Meeting]) -> QuerySet[Meeting]:
    """Held at a place that has no pin at all."""
    return _current(meetings).filter(location__isnull=False, location__latitude__isnull=True)


def meetings_approximate_in_person(*, meetings: QuerySet[Meeting]) -> QuerySet[Meeting]:
    """A street address is given (people are meant to come to a door) but
    the pin marks only an area, so the meeting is not shown as in person."""
    return _current(meetings).filter(location__approximate=True, location__latitude__isnull=False).exclude(
        location__address="")


def meetings_without_timezone(*, meetings: QuerySet[Meeting]) -> QuerySet[Meeting]:
    """No time zone, or a name that is not an IANA zone: no next start, no calendar."""
    return _current(meetings).exclude(timezone__in=sorted(known_zone_names()))


def meetings_with_unrecognised_conference_host(*, meetings: QuerySet[Meeting]) -> QuerySet[Meeting]:
    """A join link apps will not show (meetings/attendance.py lists the hosts they accept)."""
    return _current(meetings).exclude(conference_url="").filter(conference_provider="")


def meetings_online_without_link_or_phone(*, meetings: QuerySet[Meeting]) -> QuerySet[Meeting]:
    """Listed with no door (no place, or only an area) and no way to join."""
    no_door = Q(location__isnull=True) | Q(location__approximate=True, location__address="")
    return _current(meetings).filter(no_door, conference_url="", conference_phone="")


def meetings_temporarily_closed_long(*, meetings: QuerySet[Meeting], now: dt.datetime | None = None
                                     ) -> QuerySet[Meeting]:
    """Temporarily closed and not touched since, for longer than the setting
    (90 days): still closed, or reopened and nobody said so?"""
    now = now or clock.now()
    closed = Exists(Meeting.types.through.objects.filter(
        meeting_id=OuterRef("pk"), meetingtype__meaning=MeetingType.Meaning.TEMPORARILY_CLOSED))
    since = now - dt.timedelta(days=settings.QUALITY_TEMPORARILY_CLOSED_DAYS)
    return _current(meetings).filter(closed, updated__lt=since)


def meetings_not_updated(*, meetings: QuerySet[Meeting], now: dt.datetime | None = None) -> QuerySet[Meeting]:
    """Not changed by anyone or any import for longer than the setting (a year)."""
    now = now or clock.now()
    return _current(meetings).filter(updated__lt=now - dt.timedelta(days=settings.QUALITY_STALE_DAYS))


def meetings_possible_duplicates(*, meetings: QuerySet[Meeting]) -> QuerySet[Meeting]:
    """Marked by an import as another source's copy, or sharing fellowship,
    weekday, time and place with another current meeting that a curator has
    not said is another meeting ("not a copy": `Meeting.not_copy_of`)."""
    told_apart = Meeting.not_copy_of.through.objects.filter(from_meeting_id=OuterRef(OuterRef("pk")),
                                                            to_meeting_id=OuterRef("pk"))
    twin = Meeting.objects.filter(
        removed=False, fellowship_id=OuterRef("fellowship_id"), day=OuterRef("day"), time=OuterRef("time"),
        location_id=OuterRef("location_id"),
    ).exclude(pk=OuterRef("pk")).exclude(Exists(told_apart))
    return _current(meetings).filter(
        Q(duplicate_of__isnull=False)
        | Q(Exists(twin), day__isnull=False, time__isnull=False, location__isnull=False)
    )


def meetings_geocoding_failed(*, meetings: QuerySet[Meeting]) -> QuerySet[Meeting]:
    return _current(meetings).filter(location__geocode_status=Location.GeocodeStatus.FAILED)


def feed_sources_needing_attention(*, sources: QuerySet[FeedSource]) -> QuerySet[FeedSource]:
    """Sources whose last run failed, or was held for approval."""
    return sources.filter(last_status__in=[ImportRun.Status.FAILED, ImportRun.Status.HELD])


@dataclass(frozen=True)
class QualityRule:
    slug: str
    label: str
    select: Callable[..., QuerySet[Meeting]]


QUALITY_RULES = (
    QualityRule("no-coordinates", gettext_lazy("Without coordinates"), meetings_without_coordinates),
    QualityRule("approximate-in-person", gettext_lazy("Street address but only an approximate pin"),
                meetings_approximate_in_person),
    QualityRule("no-timezone", gettext_lazy("Without a valid time zone"), meetings_without_timezone),
    QualityRule("unrecognised-conference-host", gettext_lazy("Conference link on an unrecognised host"),
                meetings_with_unrecognised_conference_host),
    QualityRule("online-without-link-or-phone", gettext_lazy("Online but with neither link nor phone"),
                meetings_online_without_link_or_phone),
    QualityRule("temporarily-closed-long", format_lazy(gettext_lazy("Temporarily closed for more than {days} days"),
                                                       days=settings.QUALITY_TEMPORARILY_CLOSED_DAYS),
                meetings_temporarily_closed_long),
    QualityRule("not-updated", format_lazy(gettext_lazy("Not updated for more than {days} days"),
                                           days=settings.QUALITY_STALE_DAYS), meetings_not_updated),
    QualityRule("possible-duplicates", gettext_lazy("Possible duplicates"), meetings_possible_duplicates),
    QualityRule("geocoding-failed", gettext_lazy("Address could not be geocoded"), meetings_geocoding_failed),
)
RULES_BY_SLUG = {rule.slug: rule for rule in QUALITY_RULES}
