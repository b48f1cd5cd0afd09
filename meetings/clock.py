"""The clock the API reads "now" from. One function, so tests can stop time
(monkeypatch `meetings.clock.now`) without touching the system clock, and so
one answer reads one instant (`held_at`: the public answer's key and the view
that computes it see the same now)."""

import contextvars
import datetime as dt
from contextlib import contextmanager

from django.utils import timezone

_held: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar("clock_held", default=None)


def now() -> dt.datetime:
    held = _held.get()
    return held if held is not None else timezone.now()


@contextmanager
def held_at(instant: dt.datetime):
    """Within the block, `now()` is `instant`."""
    token = _held.set(instant)
    try:
        yield
    finally:
        _held.reset(token)
