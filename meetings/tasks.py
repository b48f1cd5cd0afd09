"""Celery tasks for feed imports: thin; they take ids and call the importer.

One run per source at a time: a run claims its source by setting
`FeedSource.running_since` with a single conditional UPDATE, which works on
SQLite and PostgreSQL alike; a second task for the same source finds it
claimed and stops. A claim older than the hard time limit is stale (its
worker died) and may be taken over."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from meetings.feeds.fetch import TransientFetchError
from meetings.feeds.importer import import_source
from meetings.models import FeedSource

log = logging.getLogger(__name__)

SOFT_TIME_LIMIT_SECONDS = 10 * 60
TIME_LIMIT_SECONDS = 11 * 60


def claim_source(source_id: int) -> bool:
    now = timezone.now()
    stale = now - dt.timedelta(seconds=TIME_LIMIT_SECONDS)
    return bool(
        FeedSource.objects.filter(pk=source_id)
        .filter(Q(running_since__isnull=True) | Q(running_since__lt=stale))
        .update(running_since=now)
    )


def release_source(source_id: int) -> None:
    FeedSource.objects.filter(pk=source_id).update(running_since=None)


@shared_task(
    bind=True,
    autoretry_for=(TransientFetchError,),
    retry_backoff=60,
    retry_backoff_max=30 * 60,
    retry_jitter=True,
    max_retries=4,
    soft_time_limit=SOFT_TIME_LIMIT_SECONDS,
    time_limit=TIME_LIMIT_SECONDS,
)
def import_feed_source(self, source_id: int) -> dict:
    """Import one source now; returns the run's status and counts."""
    if not claim_source(source_id):
        log.info("feed source %s is already being imported; skipped", source_id)
        return {"status": "skipped", "reason": "another run of this source is in progress"}
    try:
        source = FeedSource.objects.select_related("fellowship", "service_body").get(pk=source_id)
        run = import_source(source=source)
    finally:
        release_source(source_id)
    return {"status": run.status, "run": run.pk, "created": run.created, "updated": run.updated,
            "unchanged": run.unchanged, "removed": run.removed, "rejected": run.rejected}


def sources_due(*, now: dt.datetime) -> list[int]:
    due = []
    for pk, last_run_at, minutes in FeedSource.objects.filter(enabled=True).values_list(
            "pk", "last_run_at", "refresh_minutes"):
        if last_run_at is None or last_run_at + dt.timedelta(minutes=minutes) <= now:
            due.append(pk)
    return due


@shared_task
def import_due_feeds() -> list[int]:
    """Beat: start an import for every enabled source whose interval has passed."""
    due = sources_due(now=timezone.now())
    for source_id in due:
        import_feed_source.delay(source_id)
    return due
