"""How often one client may send corrections: the API's change requests and
the meeting page's correction form share this throttle (and its count).

When the shared cache does not answer (Redis down), the count is kept in
this worker's memory instead, and the shared cache is left alone for a few
seconds: corrections are still limited (per worker, so by the number of
workers times the rate), never a server error."""

from __future__ import annotations

import logging
import time

from django.core.cache.backends.locmem import LocMemCache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

log = logging.getLogger(__name__)

# After the shared cache fails, this many seconds counting in the worker alone.
SHARED_CACHE_RETRY_SECONDS = 5.0
_shared_cache_down_until = 0.0
_local_counts = LocMemCache("change-request-throttle", {})


def _window_count(shared_cache, *, key: str, lifetime: int) -> int:
    """This request counted in its window: the shared cache's count, or this
    worker's while the shared cache is down."""
    global _shared_cache_down_until
    if time.monotonic() >= _shared_cache_down_until:
        try:
            return _count_in(shared_cache, key=key, lifetime=lifetime)
        except Exception as error:  # any backend error: Redis down, a timeout
            log.warning("shared cache unavailable (%s): change requests counted in this worker", error)
            _shared_cache_down_until = time.monotonic() + SHARED_CACHE_RETRY_SECONDS
    return _count_in(_local_counts, key=key, lifetime=lifetime)


def _count_in(cache, *, key: str, lifetime: int) -> int:
    # One atomic increment: parallel requests cannot all read "9 of 10".
    cache.add(key, 0, timeout=lifetime)
    try:
        return cache.incr(key)
    except ValueError:  # the window's key expired between add and incr
        cache.add(key, 1, timeout=lifetime)
        return 1


class ChangeRequestThrottle(SimpleRateThrottle):
    """Per client address, at the rate `CHANGE_REQUESTS_RATE` sets. The address
    is REMOTE_ADDR, or the one the nearest of `NUM_PROXIES` trusted proxies put
    in X-Forwarded-For (a client writes the rest of that header). Requests are
    counted per fixed window of the rate's period in the shared cache, one
    atomic increment each, so every worker sees one count and parallel
    requests cannot all read "9 of 10" and pass; refused requests count too."""

    scope = "change-requests"

    def get_rate(self):
        # Read at each request, not import, so the setting can change.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends = (window + 1) * self.duration
        key = f"{self.get_cache_key(request, view)}:{window}"
        lifetime = int(self.window_ends - self.now) + 1
        return _window_count(self.cache, key=key, lifetime=lifetime) <= self.num_requests

    def wait(self) -> float:
        """Seconds until the window ends (Retry-After)."""
        return max(self.window_ends - self.now, 0.0)
