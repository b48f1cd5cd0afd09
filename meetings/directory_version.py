"""The directory's version: one row bumped by every write to what the public
read path shows, read by every cached answer (meetings/public_answers.py).

Every write reaches `directory_changed` from one of two doors, wired here:
- saves, deletes and type changes of the models readers see, through Django's
  model signals (services, the admin, change-request approval, revert, the
  sample data, factories: whatever calls `save()`);
- the writes that skip `save()` (`QuerySet.update`, `bulk_create`,
  `bulk_update`: the importer, bulk admin actions, location moves), through
  `pre_queryset_write`, which the querysets of those models send
  (fellowships/querysets.py).

The bump is an UPDATE of the row in the writer's own transaction, before the
write: a reader sees the new version exactly when it sees the new data (on
this process or any other, primary or replica), and a rolled-back write
bumps nothing. Writers take the row's lock first and in the same order, so
two write transactions queue on it (no deadlock) until the first commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connections, router
from django.db.models import F
from django.db.models.signals import m2m_changed, pre_delete, pre_save
from django.utils import timezone

from fellowships.models import Fellowship, MeetingType, ServiceBody
from fellowships.querysets import pre_queryset_write
from meetingfinder.near_cache import NearCache
from meetings.models import DirectoryVersion, Location, Meeting, Region

T = TypeVar("T")
log = logging.getLogger(__name__)

BASE_DIR = Path(__file__).resolve().parent.parent
# After the shared cache fails, this many seconds without asking it.
CACHE_RETRY_SECONDS = 5.0


@dataclass
class SharedCacheGuard:
    """The shared cache (Redis in production) asked through `call`: `ask()`,
    or `otherwise` while the cache is down. A failure is logged (`failing`,
    `%s` the error), then the cache is left alone for `retry_seconds`, so no
    request waits on a cache that is down."""

    retry_seconds: float
    log: logging.Logger
    down_until: float = 0.0

    def call(self, ask: Callable[[], T], *, otherwise: T, failing: str) -> T:
        if time.monotonic() < self.down_until:
            return otherwise
        try:
            return ask()
        except Exception as error:  # any backend error: Redis down, a timeout
            self.log.warning(failing, error)
            self.down_until = time.monotonic() + self.retry_seconds
            return otherwise


_shared_cache = SharedCacheGuard(retry_seconds=CACHE_RETRY_SECONDS, log=log)
_near = NearCache()  # what this process read from or wrote to the shared cache lately


@dataclass(frozen=True)
class Version:
    number: int
    changed_at: dt.datetime | None

    @cached_property  # a public answer's key and span both name it
    def token(self) -> str:
        """Names this state of the directory; the time makes a restored
        database (an older number again) name its state anew at its first write."""
        stamp = int(self.changed_at.timestamp() * 1_000_000) if self.changed_at else 0
        return f"{self.number}.{stamp:x}"


def directory_changed(*, using: str | None = None) -> None:
    """Bump the version, in the current transaction of `using` (the primary)."""
    using = using or router.db_for_write(DirectoryVersion)
    bumped = DirectoryVersion.objects.using(using).filter(pk=1).update(
        version=F("version") + 1, changed_at=timezone.now())
    if not bumped:  # a database emptied by a test's flush, or restored without the row
        DirectoryVersion.objects.using(using).get_or_create(pk=1, defaults={"version": 1})


# Read by every public request: named SQL, a tenth of the ORM's cost to build. On PostgreSQL the
# time comes as whole microseconds since the epoch, an integer psycopg loads in C: a timestamptz
# goes through Django's loader, in Python (a thirtieth of a kept answer's instructions).
VERSION_SQL = 'SELECT "version", "changed_at" FROM "meetings_directoryversion" WHERE "id" = 1'
VERSION_SQL_POSTGRESQL = ('SELECT "version", (EXTRACT(EPOCH FROM "changed_at") * 1000000)::bigint '
                          'FROM "meetings_directoryversion" WHERE "id" = 1')
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


# The version a public answer is made at (meetings/public_answers.py): the
# reads of that database within the answer see it, so its key, its ETag and
# what it shows (type names, zones in use) agree, at one read of the row.
_answering: ContextVar[tuple[str, Version] | None] = ContextVar("directory_version_answering", default=None)


@contextmanager
def answering_at(version: Version, *, using: str) -> Iterator[None]:
    token = _answering.set((using, version))
    try:
        yield
    finally:
        _answering.reset(token)


@contextmanager
def at_one_version(*, using: str | None = None) -> Iterator[None]:
    """Within (a page for people), what asks the version of the database
    `using` (the read router's) sees one, read here once: a search page
    keeps several tables per version (kept_per_version), a read of the row each."""
    using = using or router.db_for_read(DirectoryVersion)
    with answering_at(directory_version(using=using), using=using):
        yield


def directory_version(*, using: str | None = None) -> Version:
    """The version as the database `using` (a replica when reading there) has it."""
    using = using or router.db_for_read(DirectoryVersion)
    answering = _answering.get()
    if answering is not None and answering[0] == using:
        return answering[1]
    return _version_read(using)


def _version_read(using: str) -> Version:
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(VERSION_SQL_POSTGRESQL if connection.vendor == "postgresql" else VERSION_SQL)
        row = cursor.fetchone()
    if row is None:
        return Version(0, None)
    number, changed_at = row
    if isinstance(changed_at, int):
        changed_at = EPOCH + dt.timedelta(microseconds=changed_at)
    elif changed_at is not None and timezone.is_naive(changed_at):  # SQLite's driver reads UTC without its zone
        changed_at = changed_at.replace(tzinfo=dt.timezone.utc)
    return Version(number, changed_at)


@lru_cache(maxsize=1)
def code_state() -> tuple[str, dt.datetime]:
    """Names the code that shapes answers, and when its newest file changed: a
    deploy that changes it must not serve (or 304) answers shaped by the code
    before it, so both are in every key, ETag and Last-Modified (and the name
    in the key of a value kept in the shared cache: `kept_per_version`)."""
    digest = hashlib.sha256()
    newest = 0.0
    for app in ("meetingfinder", "meetings", "fellowships"):
        for path in sorted((BASE_DIR / app).rglob("*.py")):
            digest.update(path.read_bytes())
            newest = max(newest, path.stat().st_mtime)
    return digest.hexdigest()[:10], dt.datetime.fromtimestamp(int(newest), tz=dt.timezone.utc)


def cache_get(key: str):
    """The value kept in this process (near_cache.py) or the shared cache, or None: missing, or the cache down."""
    return _near.get(key, lambda: _shared_cache.call(lambda: cache.get(key), otherwise=None,
                                                     failing="cache unavailable (%s): answering without it"))


def cache_set(key: str, value, timeout: int) -> None:
    _near.keep(key, value)
    _shared_cache.call(lambda: cache.set(key, value, timeout), otherwise=None,
                       failing="cache unavailable (%s): not kept")


# Small derived tables kept per database and directory version in this process (rows' type names,
# the zones in use, the page's type names per language: a few a database), and some in the shared
# cache: every write that could change them bumps the version, so an entry is never stale anywhere.
_kept: dict[tuple[str, str, str], object] = {}
_KEPT_MAX = 32


def kept_per_version(name: str, *, using: str, read: Callable[[], T],
                     still_good: Callable[[T], bool] | None = None, shared: bool = False) -> T:
    """`read()`'s value for this state of the database `using`, read once.
    `still_good`: False when a value kept for this version misses something
    written since the version was read (read again). `shared`: read once for
    every process, kept in the shared cache too under the version (the same
    data on the primary and every replica) and the code's state, unless a
    write committed while it was read (it may be the next version's, which
    processes still at this one would take). A database with no version row
    (emptied, restored) names no state: nothing is kept."""
    version = directory_version(using=using)
    key = (name, using, version.token)
    value = _kept.get(key, _kept)
    if value is not _kept and (still_good is None or still_good(value)):
        return value
    if version.changed_at is None:
        return read()
    shared_key = f"kept:{code_state()[0]}:{name}:{version.token}"
    found = cache_get(shared_key) if shared else None
    if found is not None and (still_good is None or still_good(found[0])):
        value = found[0]
    else:
        value = read()
        if shared:
            if _version_read(using) != version:
                return value
            cache_set(shared_key, (value,), settings.CACHE_ANSWER_SECONDS)
    while len(_kept) >= _KEPT_MAX:
        _kept.pop(next(iter(_kept)))
    _kept[key] = value
    return value


def _on_write(sender, using=None, **kwargs) -> None:
    directory_changed(using=using)


def _on_types_changed(sender, action: str, using=None, **kwargs) -> None:
    if action in ("pre_add", "pre_remove", "pre_clear"):
        directory_changed(using=using)


def connect_signals() -> None:
    """The models whose rows a public answer shows (meetings/rows.py, the
    feed, calendars, BMLT): their saves, deletes and type changes."""
    for model in (Meeting, Location, Region, Fellowship, MeetingType, ServiceBody, Meeting.types.through):
        uid = f"directory_version.{model._meta.label}"
        pre_save.connect(_on_write, sender=model, dispatch_uid=f"{uid}.save")
        pre_delete.connect(_on_write, sender=model, dispatch_uid=f"{uid}.delete")
        pre_queryset_write.connect(_on_write, sender=model, dispatch_uid=f"{uid}.queryset")
    m2m_changed.connect(_on_types_changed, sender=Meeting.types.through, dispatch_uid="directory_version.types")
