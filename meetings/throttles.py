"""What one client may ask of the server:
- how often it may send corrections: the API's change requests and the
  meeting page's correction form share this throttle (and its count);
- how much computing its public questions may cost (`ComputeBudget`): an
  answer kept in the cache or revalidated (304) costs nothing, but each new
  question is computed, and a client asking a new one every time (a BMLT
  answer of 10,000 meetings, the whole feed with another parameter, random
  places) would otherwise hold the workers alone.

When the shared cache does not answer (Redis down), a count is kept in
this worker's memory instead, and the shared cache is left alone for a few
seconds: clients are still limited (per worker, so by the number of
workers times the rate), never a server error."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver
from django.utils.translation import gettext
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from meetingfinder.client_address import counted_client
from meetings import clock
from meetings.directory_version import SharedCacheGuard

log = logging.getLogger(__name__)

# After the shared cache fails, this many seconds counting in the worker alone.
SHARED_CACHE_RETRY_SECONDS = 5.0
_shared_cache = SharedCacheGuard(retry_seconds=SHARED_CACHE_RETRY_SECONDS, log=log)
_local_counts = LocMemCache("change-request-throttle", {})


def _window_count(shared_cache, *, key: str, lifetime: int, by: int = 1) -> int:
    """The window's count with `by` added: the shared cache's count, or this
    worker's while the shared cache is down."""
    count = _shared_cache.call(lambda: _count_in(shared_cache, key=key, lifetime=lifetime, by=by), otherwise=None,
                               failing="shared cache unavailable (%s): clients counted in this worker")
    return count if count is not None else _count_in(_local_counts, key=key, lifetime=lifetime, by=by)


def _count_in(cache, *, key: str, lifetime: int, by: int) -> int:
    # One atomic increment: parallel requests cannot all read "9 of 10"; one
    # round trip once the window's key exists (its first request adds it).
    try:
        return cache.incr(key, by)
    except ValueError:  # the window's first request, or its key just expired
        if cache.add(key, by, timeout=lifetime):
            return by
        return cache.incr(key, by)  # another request added it first


class ChangeRequestThrottle(SimpleRateThrottle):
    """Per client, at the rate `CHANGE_REQUESTS_RATE` sets. The client is its
    address (an IPv6 address's /64: `counted_client`): REMOTE_ADDR, or the one
    the nearest of `NUM_PROXIES` trusted proxies put in X-Forwarded-For (a
    client writes the rest of that header). Requests are counted per fixed
    window of the rate's period in the shared cache, one atomic increment
    each, so every worker sees one count and parallel requests cannot all
    read "9 of 10" and pass; refused requests count too."""

    scope = "change-requests"

    def timer(self) -> float:
        """Now, from the API's clock (tests stop it there: a count straddling
        the turn of the hour is two windows)."""
        return clock.now().timestamp()

    def get_rate(self):
        # Read at each request, not import, so the setting can change.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": counted_client(request)}

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


class ComputeBudget:
    """The computing time a client's new public questions may cost per
    minute (`PUBLIC_COMPUTE_SECONDS_PER_MINUTE`; 0: no limit), counted per
    client as the change-request throttle counts it (an IPv6 address's /64:
    `counted_client`), per fixed minute in the shared cache. A question
    asked once the minute's budget is spent is refused (429, Retry-After:
    the minute's end) before any work; answers kept in the cache and 304s
    are still served. People searching spend a few milliseconds a question:
    only a client making the server compute for seconds on end meets the
    limit (meetings/public_answers.py).

    One cache operation per computed answer, none per refusal or kept
    answer: the count is added to after the answer (a failed one too), and a
    worker remembers the clients it saw pass the budget until the minute
    ends. So a client gets past the budget by the answers it has under way
    when it reaches it: one more per worker and thread, or as many as it
    sends at once (gunicorn.conf.py runs one thread per worker)."""

    WINDOW_SECONDS = 60
    # Clients seen past their budget in this worker, this minute (`_past_window`):
    # replaced, never iterated, when the minute turns; changed under the lock.
    _past: set[str] = set()
    _past_window: int | None = None
    _past_lock = threading.Lock()
    _PAST_MAX = 10_000

    def __init__(self, request):
        self.limit_ms = int(settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE * 1000)
        now = clock.now().timestamp()  # the minute: tests can stop it
        self.window = int(now // self.WINDOW_SECONDS)
        self.retry_after = max(1, int((self.window + 1) * self.WINDOW_SECONDS - now) + 1)
        self.key = f"compute:{counted_client(request)}:{self.window}"

    def spent(self) -> bool:
        """Whether the client has spent this minute's budget."""
        return bool(self.limit_ms) and self.key in ComputeBudget._past

    def spend(self, seconds: float) -> None:
        if not self.limit_ms:
            return
        # Whole milliseconds, rounded up: every computed answer counts.
        total = _window_count(self.cache, key=self.key, lifetime=self.retry_after,
                              by=max(1, math.ceil(seconds * 1000)))
        if total >= self.limit_ms:
            with ComputeBudget._past_lock:
                if ComputeBudget._past_window != self.window:  # a new minute: the earlier ones are forgotten
                    ComputeBudget._past, ComputeBudget._past_window = set(), self.window
                if len(ComputeBudget._past) < self._PAST_MAX:
                    ComputeBudget._past.add(self.key)

    def counted(self, chunks, *, already: float):
        """A streamed answer's chunks, the time taken to make them (and
        `already`, the time before the first) spent when the stream ends."""
        spent = already
        iterator = iter(chunks)
        try:
            while True:
                started = time.perf_counter()
                try:
                    chunk = next(iterator)
                except StopIteration:
                    return
                finally:
                    spent += time.perf_counter() - started
                yield chunk
        finally:
            self.spend(spent)

    @property
    def cache(self):
        return caches["default"]  # the throttles' cache

    def refusal(self) -> JsonResponse:
        """The API's answer to a question past the budget."""
        return JsonResponse({"detail": gettext("Too many new questions from this address: try again in a minute.")},
                            status=429, headers={"Retry-After": str(self.retry_after), "Cache-Control": "no-store"})


def rendered(response: HttpResponse) -> HttpResponse:
    """The response rendered now (a DRF or template response renders late,
    after the view returns), so the time it takes is counted where it is made."""
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    return response


def within_compute_budget(request, make: Callable[[], HttpResponse], *,
                          refused: Callable[[ComputeBudget], HttpResponse], refuses: bool = True) -> HttpResponse:
    """`make()`'s answer to a public question, rendered and its time counted
    against the client's budget (a streamed answer's as it is made), or `refused(budget)`
    without any work when the budget is spent (unless not `refuses`: then
    counted only)."""
    budget = ComputeBudget(request)
    if refuses and budget.spent():
        return refused(budget)
    started = time.perf_counter()
    try:
        response = rendered(make())
    except BaseException:  # a statement timeout is the costliest answer of all: counted too
        budget.spend(time.perf_counter() - started)
        raise
    if response.streaming:  # made as it is sent: counted as it is made
        response.streaming_content = budget.counted(response.streaming_content,
                                                    already=time.perf_counter() - started)
    else:
        budget.spend(time.perf_counter() - started)
    return response


# What a client past its budget is refused: questions. A write (a correction)
# is counted but has its own throttle, and what a person wrote within it is not lost.
QUESTIONS = ("GET", "HEAD", "OPTIONS")
# Set on a view that runs what it computes within_compute_budget itself.
COUNTS_ITS_OWN = "counts_its_own_compute"


def compute_budgeted(view):
    """A public view on the client's budget: every answer it makes counted,
    and past the budget a question refused before any work (a write is
    counted, never refused). A view that counts its own (`counts_its_own_compute`)
    is returned as it is: one request is counted once."""
    if getattr(view, COUNTS_ITS_OWN, False):
        return view

    @wraps(view)
    def budgeted(request, *args, **kwargs):
        return within_compute_budget(request, lambda: view(request, *args, **kwargs), refused=ComputeBudget.refusal,
                                     refuses=request.method in QUESTIONS)

    return counts_its_own_compute(budgeted)


def counts_its_own_compute(view):
    """Marks a view that runs what it computes within_compute_budget itself,
    where only it knows how (kept answers served free, a page's own wait
    page): `compute_budgeted` leaves it as it is."""
    setattr(view, COUNTS_ITS_OWN, True)
    return view


def budgeted_routes(routes: list) -> list:
    """`routes` (and the routes they include) with every view on the
    client's computing budget (`compute_budgeted`), so a route added later is
    on it too; the URL conf leaves out of `routes` what is not (the admin)."""
    return [URLResolver(route.pattern, budgeted_routes(route.url_patterns), route.default_kwargs,
                        route.app_name, route.namespace) if isinstance(route, URLResolver)
            else URLPattern(route.pattern, compute_budgeted(route.callback), route.default_args, route.name)
            for route in routes]
