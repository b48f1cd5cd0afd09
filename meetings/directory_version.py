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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from django.db import connections, router
from django.db.models import F
from django.db.models.signals import m2m_changed, pre_delete, pre_save
from django.utils import timezone

from fellowships.querysets import pre_queryset_write

T = TypeVar("T")


@dataclass(frozen=True)
class Version:
    number: int
    changed_at: dt.datetime | None

    @property
    def token(self) -> str:
        """Names this state of the directory; the time makes a restored
        database (an older number again) name its state anew at its first write."""
        stamp = int(self.changed_at.timestamp() * 1_000_000) if self.changed_at else 0
        return f"{self.number}.{stamp:x}"


def directory_changed(*, using: str | None = None) -> None:
    """Bump the version, in the current transaction of `using` (the primary)."""
    from meetings.models import DirectoryVersion

    using = using or router.db_for_write(DirectoryVersion)
    bumped = DirectoryVersion.objects.using(using).filter(pk=1).update(
        version=F("version") + 1, changed_at=timezone.now())
    if not bumped:  # a database emptied by a test's flush, or restored without the row
        DirectoryVersion.objects.using(using).get_or_create(pk=1, defaults={"version": 1})


# Read by every public request: named SQL, a tenth of the ORM's cost to build.
VERSION_SQL = 'SELECT "version", "changed_at" FROM "meetings_directoryversion" WHERE "id" = 1'


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


def directory_version(*, using: str | None = None) -> Version:
    """The version as the database `using` (a replica when reading there) has it."""
    from meetings.models import DirectoryVersion

    using = using or router.db_for_read(DirectoryVersion)
    answering = _answering.get()
    if answering is not None and answering[0] == using:
        return answering[1]
    with connections[using].cursor() as cursor:
        cursor.execute(VERSION_SQL)
        row = cursor.fetchone()
    if row is None:
        return Version(0, None)
    number, changed_at = row
    if changed_at is not None and timezone.is_naive(changed_at):  # SQLite's driver reads UTC without its zone
        changed_at = changed_at.replace(tzinfo=dt.timezone.utc)
    return Version(number, changed_at)


# Small derived tables kept per database and directory version in this
# process (rows' type names, the zones in use): every write that could change
# them bumps the version, so an entry is never stale on any process.
_kept: dict[tuple[str, str, str], object] = {}
_KEPT_MAX = 16


def kept_per_version(name: str, *, using: str, read: Callable[[], T],
                     still_good: Callable[[T], bool] | None = None) -> T:
    """`read()`'s value for this state of the database `using`, read once.
    `still_good`: False when a value kept for this version misses something
    written since the version was read (read again). A database with no
    version row (emptied, restored) names no state: nothing is kept."""
    version = directory_version(using=using)
    key = (name, using, version.token)
    value = _kept.get(key, _kept)
    if value is _kept or (still_good is not None and not still_good(value)):
        value = read()
        if version.changed_at is None:
            return value
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
    from fellowships.models import Fellowship, MeetingType, ServiceBody
    from meetings.models import Location, Meeting, Region

    for model in (Meeting, Location, Region, Fellowship, MeetingType, ServiceBody, Meeting.types.through):
        uid = f"directory_version.{model._meta.label}"
        pre_save.connect(_on_write, sender=model, dispatch_uid=f"{uid}.save")
        pre_delete.connect(_on_write, sender=model, dispatch_uid=f"{uid}.delete")
        pre_queryset_write.connect(_on_write, sender=model, dispatch_uid=f"{uid}.queryset")
    m2m_changed.connect(_on_types_changed, sender=Meeting.types.through, dispatch_uid="directory_version.types")
