"""Celery tasks for feed imports: thin; they take ids and call the import
service (`meetings.feeds.importer.feed_import`), which holds the one-run-per-
source claim itself and, for the beat's tasks, imports once per due time, so
a task delivered again (CELERY_TASK_ACKS_LATE: its worker died) is harmless."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from meetings.feeds.claims import SourceBusy
from meetings.feeds.fetch import TransientFetchError
from meetings.feeds.importer import SourceUpToDate, feed_import
from meetings.models import FeedSource

log = logging.getLogger(__name__)


@shared_task(
    bind=True,
    autoretry_for=(TransientFetchError,),
    retry_backoff=60,
    retry_backoff_max=30 * 60,
    retry_jitter=True,
    max_retries=4,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
)
def import_feed_source(self, source_id: int, due_at: str | None = None) -> dict:
    """Import one source now, or (`due_at`, ISO 8601, from the beat) once for
    that due time; returns the run's status and counts."""
    try:
        run = feed_import(source_id=source_id, due_at=dt.datetime.fromisoformat(due_at) if due_at else None)
    except SourceBusy:
        log.info("feed source %s is already being imported; skipped", source_id)
        return {"status": "skipped", "reason": "another run of this source is in progress"}
    except SourceUpToDate:
        log.info("feed source %s was already imported for its due time %s; skipped", source_id, due_at)
        return {"status": "skipped", "reason": "already imported for this due time"}
    return {"status": run.status, "run": run.pk, "created": run.created, "updated": run.updated,
            "unchanged": run.unchanged, "removed": run.removed, "rejected": run.rejected}


# The due time of a source never imported: any run that ended is its import.
DUE_SINCE_EVER = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def sources_due(*, now: dt.datetime) -> dict[int, dt.datetime]:
    """Enabled sources whose refresh interval has passed, each with the time
    it became due (the same for every beat until it is imported)."""
    due = {}
    for pk, last_run_at, minutes in FeedSource.objects.filter(enabled=True).values_list(
            "pk", "last_run_at", "refresh_minutes"):
        due_at = DUE_SINCE_EVER if last_run_at is None else last_run_at + dt.timedelta(minutes=minutes)
        if due_at <= now:
            due[pk] = due_at
    return due


@shared_task
def import_due_feeds() -> list[int]:
    """Beat: start an import for every enabled source whose interval has
    passed. Two beats (or one task delivered twice) find the same due time,
    and the import runs once for it."""
    due = sources_due(now=timezone.now())
    for source_id, due_at in due.items():
        import_feed_source.delay(source_id, due_at=due_at.isoformat())
    return list(due)
