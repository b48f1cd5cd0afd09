"""One import per feed source at a time, whoever starts it (Celery, the
`import_feed` command, the admin's "Import now" or approval of a held run).

A run claims its source with one conditional UPDATE of `running_since` and
`claimed_by` (compare-and-set on the values it read), which works the same
on SQLite and PostgreSQL and holds no transaction open during a long import.
`claimed_by` names the holder so a claim left by a killed process is seen as
stale at once: on PostgreSQL the holder's database session (it ends when
the process dies), on SQLite the process on this machine. A holder that
cannot be checked (another machine) is stale after the task's hard time limit.

Claiming also recovers the source: runs still "running" can only belong to
a holder that died, so they are marked failed, saying so.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django.utils import timezone

from meetings.models import FeedSource, ImportRun

STALE_RUN_REASON = ("the run stopped without finishing (its process crashed or was killed); "
                    "marked failed when the next run of this source started")


class SourceBusy(Exception):
    """Another run of this source is in progress."""


def _holder() -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()")
            pid, started = cursor.fetchone()
        return f"pg:{pid}:{started.isoformat()}"
    return f"host:{socket.gethostname()}:{os.getpid()}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def holder_alive(*, holder: str, since: dt.datetime | None) -> bool:
    kind, _, rest = holder.partition(":")
    if kind == "pg" and connection.vendor == "postgresql":
        pid, _, started = rest.partition(":")
        with connection.cursor() as cursor:
            # pg_stat_activity is a snapshot taken once per transaction: take it now.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT backend_start FROM pg_stat_activity WHERE pid = %s", [int(pid)])
            row = cursor.fetchone()
        return row is not None and row[0].isoformat() == started
    if kind == "host":
        host, _, pid = rest.rpartition(":")
        if host == socket.gethostname() and pid.isdigit():
            return _process_alive(int(pid))
    if since is None:
        return False
    return since >= timezone.now() - dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)


def _claim_held(current: dict) -> bool:
    return current["running_since"] is not None and holder_alive(holder=current["claimed_by"],
                                                                 since=current["running_since"])


def source_busy(*, source_id: int) -> bool:
    """Whether a live run holds the source's claim now (a run a dead process
    left does not: the next claim takes it over)."""
    current = FeedSource.objects.filter(pk=source_id).values("running_since", "claimed_by").first()
    return current is not None and _claim_held(current)


def source_claim_take(*, source_id: int) -> str | None:
    """Claim the source: the holder's name, or None when a live holder has
    it. Marks runs left "running" by a dead holder as failed."""
    current = FeedSource.objects.filter(pk=source_id).values("running_since", "claimed_by").first()
    if current is None:
        raise FeedSource.DoesNotExist(f"no feed source {source_id}")
    if _claim_held(current):
        return None
    now = timezone.now()
    holder = _holder()
    taken = FeedSource.objects.filter(pk=source_id, **current).update(running_since=now, claimed_by=holder)
    if not taken:
        return None  # someone else claimed it between our read and our write
    ImportRun.objects.filter(source_id=source_id, status=ImportRun.Status.RUNNING).update(
        status=ImportRun.Status.FAILED, reason=STALE_RUN_REASON, finished=now, payload="")
    return holder


def source_claim_release(*, source_id: int, holder: str) -> None:
    # Only our own claim: one taken over as stale belongs to its new holder.
    FeedSource.objects.filter(pk=source_id, claimed_by=holder).update(running_since=None, claimed_by="")


@contextmanager
def source_claimed(*, source_id: int) -> Iterator[None]:
    """Hold the source's claim for the block; `SourceBusy` when another run has it."""
    holder = source_claim_take(source_id=source_id)
    if holder is None:
        raise SourceBusy(f"another run of feed source {source_id} is in progress")
    try:
        yield
    finally:
        source_claim_release(source_id=source_id, holder=holder)
