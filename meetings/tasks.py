"""Celery tasks for feed imports: thin; they take ids and call the import
service (`meetings.feeds.importer.feed_import`), which holds the one-run-per-
source claim itself. Time limits are the settings' (CELERY_TASK_TIME_LIMIT,
CELERY_TASK_SOFT_TIME_LIMIT), the same the claim's staleness uses."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from meetings.feeds.claims import SourceBusy
from meetings.feeds.fetch import TransientFetchError
from meetings.feeds.importer import feed_import
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
def import_feed_source(self, source_id: int) -> dict:
    """Import one source now; returns the run's status and counts."""
    try:
        run = feed_import(source_id=source_id)
    except SourceBusy:
        log.info("feed source %s is already being imported; skipped", source_id)
        return {"status": "skipped", "reason": "another run of this source is in progress"}
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
