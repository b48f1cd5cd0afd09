"""Starting an import from a web request, without doing it in the request.

With a broker, the import is queued for a Celery worker; a broker that does
not answer (Redis down) is `ImportQueueUnavailable`, which the admin shows
as "try again later" rather than a server error. Without one (the embedded
default, tasks run in-process), a large feed would take minutes inside the
request, so the import runs in a background thread of this process and its
run appears on the source when it is done. Either way the import service's
claim keeps it to one run per source."""

from __future__ import annotations

import logging
import threading

from django.db import connection
from kombu.exceptions import OperationalError

from meetings.feeds.claims import SourceBusy
from meetings.feeds.importer import feed_import
from meetings.tasks import import_feed_source

log = logging.getLogger(__name__)
QUEUED, IN_BACKGROUND = "queued", "background"
# How long "Import now" waits for the broker to accept a connection.
BROKER_CONNECT_SECONDS = 2.0


class ImportQueueUnavailable(Exception):
    """The broker did not take the task."""


def _import_in_background(*, source_id: int) -> None:
    try:
        feed_import(source_id=source_id)
    except SourceBusy:
        log.info("feed source %s is already being imported; the background import was skipped", source_id)
    except Exception:  # noqa: BLE001 - a thread has nobody to raise to; the run records what it can
        log.exception("background import of feed source %s failed", source_id)
    finally:
        # This thread's own connection, not to be left open after it ends.
        connection.close()


def feed_import_start(*, source_id: int) -> str:
    """Start importing a source now, outside the caller's request: QUEUED
    or IN_BACKGROUND."""
    if import_feed_source.app.conf.task_always_eager:
        threading.Thread(target=_import_in_background, kwargs={"source_id": source_id}, daemon=True,
                         name=f"feed-import-{source_id}").start()
        return IN_BACKGROUND
    try:
        # A broker that is down should be said at once: one connection
        # attempt (kombu would otherwise retry it for seconds once its pooled
        # connection has failed) and no publish retries.
        with import_feed_source.app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=0, timeout=BROKER_CONNECT_SECONDS)
            import_feed_source.apply_async(args=[source_id], retry=False, connection=broker)
    except (OperationalError, OSError) as error:
        raise ImportQueueUnavailable(str(error)) from error
    return QUEUED
