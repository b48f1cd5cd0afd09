"""The clock the API reads "now" from. One function, so tests can stop time
(monkeypatch `meetings.clock.now`) without touching the system clock."""

import datetime as dt

from django.utils import timezone


def now() -> dt.datetime:
    return timezone.now()
