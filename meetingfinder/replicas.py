"""Read replicas: public reads on a healthy replica, everything else on the primary.

`DATABASE_REPLICA_URLS` configures zero or more replicas (aliases
`replica_0`, `replica_1`...). The public read views (meetings/public_answers.py:
search, a meeting, the feed, calendars, the BMLT interface) run inside
`reading_from(alias)`; `PrimaryReplicaRouter` sends every read made there to
that alias, and every other read and every write to the primary, so the
admin, the importer and each write path read what they just wrote.

A replica is used while it answers and lags at most
`DATABASE_REPLICA_MAX_LAG_SECONDS`; each process checks that at most once
every `DATABASE_REPLICA_CHECK_SECONDS` per replica (one small query), and a
replica that fails a read is set aside until the next check.
"""

from __future__ import annotations

import logging
import random
import time
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

log = logging.getLogger(__name__)

_reading_from: ContextVar[str | None] = ContextVar("reading_from", default=None)

# How far a standby is behind: zero when it has replayed all it received (an
# idle primary sends nothing, and the last replayed commit grows old without
# any lag), else the age of the last replayed commit. Zero on a primary.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() IS NOT NULL AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
END
"""

# alias -> (monotonic time of the check, usable)
_health: dict[str, tuple[float, bool]] = {}


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith("replica_")]


def nearest_first_alias(alias: str) -> str | None:
    """The connection to the database of `alias` that plans without bitmap
    scans (settings.py), for a nearest-first search's statement (meetings/geo.py)."""
    twin = f"knn_{alias}"
    return twin if twin in settings.DATABASES else None


class PrimaryReplicaRouter:
    """Reads inside `reading_from(alias)` go to that alias; all else to the primary."""

    def db_for_read(self, model, **hints):
        return _reading_from.get() or DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # Replicas copy the primary's schema; nothing migrates them.
        return db == DEFAULT_DB_ALIAS


class reading_from:
    """Within, reads go to `alias`. A class rather than a @contextmanager:
    every public request enters one, and a generator costs twice as much."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def __enter__(self) -> str:
        self.token = _reading_from.set(self.alias)
        return self.alias

    def __exit__(self, *exc_info) -> None:
        _reading_from.reset(self.token)


def replica_lag_seconds(alias: str) -> float:
    """How far `alias` is behind its primary, in seconds (raises when it does not answer)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute(LAG_SQL)
        return float(cursor.fetchone()[0])


def _usable(alias: str) -> bool:
    now = time.monotonic()
    checked = _health.get(alias)
    if checked is not None and now - checked[0] < settings.DATABASE_REPLICA_CHECK_SECONDS:
        return checked[1]
    try:
        lag = replica_lag_seconds(alias)
        usable = lag <= settings.DATABASE_REPLICA_MAX_LAG_SECONDS
        if not usable:
            log.warning("replica %s lags %.1f s: reading from the primary", alias, lag)
    except DatabaseError as error:
        log.warning("replica %s does not answer (%s): reading from the primary", alias, error)
        connections[alias].close()
        usable = False
    _health[alias] = (now, usable)
    return usable


def read_alias() -> str:
    """A usable replica for a public read, else the primary."""
    usable = [alias for alias in replica_aliases() if _usable(alias)]
    return random.choice(usable) if usable else DEFAULT_DB_ALIAS


def set_aside(alias: str) -> None:
    """A read failed on `alias`: the primary until its next check."""
    _health[alias] = (time.monotonic(), False)
    for each in (alias, nearest_first_alias(alias)):
        try:
            if each is not None:
                connections[each].close()
        except DatabaseError:
            pass
