"""How often one client may send corrections: the API's change requests and
the meeting page's correction form share this throttle (and its count)."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


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
        self.cache.add(key, 0, timeout=lifetime)
        try:
            count = self.cache.incr(key)
        except ValueError:  # the window's key expired between add and incr
            self.cache.add(key, 1, timeout=lifetime)
            count = 1
        return count <= self.num_requests

    def wait(self) -> float:
        """Seconds until the window ends (Retry-After)."""
        return max(self.window_ends - self.now, 0.0)
