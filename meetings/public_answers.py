"""Public answers (search, a meeting, the Meeting Guide feed, calendars, the
BMLT interface): read from a replica when there is one (meetingfinder/replicas.py),
kept in the shared cache, and revalidated over HTTP.

An answer's key is its URL (host, path, the query with its parameters
sorted), the directory version (meetings/directory_version.py: bumped by
every write, in the writer's transaction) and, for answers that show the
clock (every meeting row carries `next_start` and `in_progress`), the span of
time it holds for: from the last minute at which anything the clock decides
changed (a meeting started or ended, a day began in a zone of the directory,
a meeting came within `starting_within` of its start) to the next
(schedule.unchanged_span). So a cached answer is never older than the data
or the clock: a write changes the version, a turn of the clock the span, and
the next read in any process misses and computes afresh. The answer is
computed at the instant its key names (clock.held_at).

Over HTTP the same names give `ETag` and `Last-Modified`, a 304 when they
match (one small query, no cache, no search), `Cache-Control: public` with a
short max-age (an answer that shows the clock: until its span ends, at most)
and `Vary: Accept` where the API would answer HTML to a browser (not cached).

A kept answer and a 304 are served by PublicAnswerMiddleware, before the
layers a public answer never needs (sessions, language, CSRF, users); what it
cannot serve goes on to the view, wrapped by `public_answer`, which makes and
keeps it at the version and instant the middleware read.

The cache fails open (meetings/directory_version.py, `cache_get`): an error
from it (Redis down) is logged, the answer is computed as if it missed, and
the cache is left alone for a few seconds.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache, wraps

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, OperationalError
from django.http import HttpResponse, HttpResponseNotModified
from django.urls import Resolver404, get_resolver
from django.utils.cache import cc_delim_re, patch_vary_headers
from django.utils.http import http_date, parse_etags, parse_http_date_safe

from meetingfinder import replicas
from meetings import clock, schedule, selectors
from meetings.directory_version import Version, answering_at, cache_get, cache_set, code_state, directory_version
from meetings.filters import clock_parameters
from meetings.throttles import (ComputeBudget, compute_budgeted, counts_its_own_compute, rendered,
                                 within_compute_budget)

# Response headers a cached answer keeps; the validators are set anew on each.
KEPT_HEADERS = ("Content-Type", "Content-Disposition", "Allow", "Access-Control-Allow-Origin",
                "Access-Control-Expose-Headers")


def answer_key(request, *, version_token: str, since: dt.datetime | None, negotiates: bool,
               params: tuple[str, ...] | None = None) -> str:
    """The URL with its parameters sorted by name, a repeated one's values in
    the order given (a view reads the last), and, where the view negotiates,
    what the client accepts (a JSON answer is not everyone's). A view that
    names the parameters it reads (`params`) is keyed on those alone: a
    cache-buster (`?_=1700000000`) gets the kept answer, not a new one."""
    query = sorted((name, values) for name, values in request.GET.lists() if params is None or name in params)
    accept = request.META.get("HTTP_ACCEPT", "") if negotiates else ""
    url = f"{request.scheme}://{request.get_host()}{request.path}?{query!r} {accept}"
    digest = hashlib.sha256(url.encode()).hexdigest()[:40]
    return f"answer:{code_state()[0]}:{version_token}:{int(since.timestamp()) if since else '-'}:{digest}"


# Spans computed this minute, per version and clock parameters: a handful.
_spans: dict[tuple, tuple[dt.datetime, dt.datetime]] = {}
_SPANS_MAX = 256


def clock_span(request, *, now: dt.datetime, version: Version, using: str) -> tuple[dt.datetime, dt.datetime]:
    """[since, until) around `now` in which an answer to `request` that shows
    the clock stays the same (schedule.unchanged_span over the directory's
    meetings). The search parameters that move with the clock, read as the
    search reads them, widen what counts as a turn: `starting_within` and the
    viewer's `tz` (its midnights: `starts_on`). A value the search refuses
    adds nothing: that answer is a 400, never kept."""
    starting_within, viewer_zone = clock_parameters(request.GET)
    leads = (starting_within,) if starting_within else ()
    day_zones = (viewer_zone,) if viewer_zone else ()
    minute = now.replace(second=0, microsecond=0)
    memo = (version.token, using, minute, leads, day_zones)
    span = _spans.get(memo)
    if span is None:
        with answering_at(version, using=using):
            zones = selectors.clock_turns(using=using)
        span = schedule.unchanged_span(now=now, zones=zones, leads=leads, day_zones=day_zones)
        while len(_spans) >= _SPANS_MAX:
            _spans.pop(next(iter(_spans)))
        _spans[memo] = span
    return span


# Formats the seconds of a Last-Modified: answers share a handful (a version, a span).
_http_date = lru_cache(maxsize=64)(http_date)


def _public_headers(response, *, etag: str, last_modified: int, max_age: int,
                    negotiates: bool, extra: dict[str, str]) -> HttpResponse:
    response["ETag"] = etag
    response["Last-Modified"] = _http_date(last_modified)
    response["Cache-Control"] = f"public, max-age={max_age}"
    if negotiates:
        patch_vary_headers(response, ("Accept",))
    for name, value in extra.items():
        response[name] = value
    return response


def _kept_while_streamed(chunks, *, context: contextvars.Context, key: str, headers: dict, timeout: int,
                         max_bytes: int):
    """Stream the answer, reading in the request's database context, and keep
    it when it was read whole within the size limit."""
    iterator = iter(chunks)
    kept: list[bytes] | None = []
    size = 0
    while True:
        try:
            chunk = context.run(next, iterator)
        except StopIteration:
            break
        if kept is not None:
            size += len(chunk)
            if size <= max_bytes:
                kept.append(chunk)
            else:
                kept = None
        yield chunk
    if kept is not None:
        cache_set(key, (headers, b"".join(kept)), timeout)


@dataclass(frozen=True)
class Answering:
    """What one request's answer is made at: the database it reads, the
    directory's version there, the instant, and the key and validators these
    name."""
    alias: str
    version: Version
    now: dt.datetime
    key: str
    timeout: int
    shown: dict
    max_bytes: int


def _answering(request, options: dict, *, alias: str) -> Answering:
    version = directory_version(using=alias)
    now = clock.now()
    since = until = None
    if options["clock_dependent"]:
        since, until = clock_span(request, now=now, version=version, using=alias)
    key = answer_key(request, version_token=version.token, since=since, negotiates=options["negotiates"],
                     params=options["params"])
    etag = f'"{hashlib.sha256(key.encode()).hexdigest()[:24]}"'  # unique to the answer, as its key
    last_modified = int(max(t for t in (version.changed_at, since, code_state()[1]) if t).timestamp())
    max_age = options["max_age"] or settings.CACHE_PUBLIC_MAX_AGE
    timeout = settings.CACHE_ANSWER_SECONDS
    if options["clock_dependent"]:
        holds_for = math.ceil((until - now).total_seconds())
        max_age, timeout = min(max_age, holds_for), min(timeout, holds_for)
    shown = dict(etag=etag, last_modified=last_modified, max_age=max_age, negotiates=options["negotiates"],
                 extra=options["extra_headers"])
    max_bytes = getattr(settings, options["max_bytes_setting"])
    return Answering(alias, version, now, key, timeout, shown, max_bytes)


def _served(request, answering: Answering) -> HttpResponse | None:
    """A 304 when the client's copy is this answer, the kept answer when there
    is one, else None (the view answers). Only an answer that exists can be
    "not modified": an ETag of ours names one (we give ETags to 200s alone;
    "*" names none in particular), a date only a kept one (a 200). Dates
    count whole seconds and a second can hold two changes, so a copy dated
    within the second of the last change gets the answer, not a 304."""
    # Read from META, as Django's own conditional responses do: request.headers builds a dict of them all.
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None and answering.shown["etag"] in (
            tag.removeprefix("W/") for tag in parse_etags(if_none_match)):
        return _public_headers(HttpResponseNotModified(), **answering.shown)
    kept = cache_get(answering.key) if settings.CACHE_ANSWERS else None
    if kept is None:
        return None
    # Most requests send none: parsing an empty date raises and catches inside Django.
    dated = parse_http_date_safe(since) if (since := request.META.get("HTTP_IF_MODIFIED_SINCE")) else None
    if if_none_match is None and dated is not None and answering.shown["last_modified"] < dated:
        return _public_headers(HttpResponseNotModified(), **answering.shown)
    headers, body = kept
    response = HttpResponse(body, headers=headers)
    response["Content-Length"] = str(len(body))
    response["X-Cache"] = "hit"
    return _public_headers(response, **answering.shown)


def _made(view, request, args, kwargs, answering: Answering):
    """The view's answer at the request's instant and version, kept when it
    is everyone's (a 200 that sets no cookie, JSON where the view negotiates);
    a 429 instead when the client has spent its computing budget
    (throttles.ComputeBudget), which the time taken is counted against."""

    def make():
        with answering_at(answering.version, using=answering.alias), clock.held_at(answering.now):
            return rendered(view(request, *args, **kwargs))

    response = within_compute_budget(request, make, refused=ComputeBudget.refusal)
    if response.status_code != 200 or response.has_header("Set-Cookie"):
        return response
    if answering.shown["negotiates"] and not response.get("Content-Type", "").startswith("application/json"):
        return response
    headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
    if settings.CACHE_ANSWERS:
        if response.streaming:
            response.streaming_content = _kept_while_streamed(
                response.streaming_content, context=contextvars.copy_context(), key=answering.key,
                headers=headers, timeout=answering.timeout, max_bytes=answering.max_bytes)
        elif len(response.content) <= answering.max_bytes:
            cache_set(answering.key, (headers, response.content), answering.timeout)
    response["X-Cache"] = "miss"
    return _public_headers(response, **answering.shown)


def _browser_asks_for_html(request, options: dict) -> bool:
    """A browser asking the API for HTML gets the browsable API: per user, not kept."""
    return options["negotiates"] and "text/html" in request.META.get("HTTP_ACCEPT", "")


def _on_a_replica(answer, alias: str | None = None):
    """`answer(alias)` on a usable replica (or the primary); a replica that
    went away since its last check is set aside and the primary answers."""
    alias = alias or replicas.read_alias()
    if alias != DEFAULT_DB_ALIAS:
        try:
            with replicas.reading_from(alias):
                return answer(alias)
        except OperationalError:
            replicas.set_aside(alias)
    with replicas.reading_from(DEFAULT_DB_ALIAS):
        return answer(DEFAULT_DB_ALIAS)


# Where PublicAnswerMiddleware leaves what a request it could not serve is answered at.
ANSWERING = "_meetingfinder_answering"


def public_answer(*, clock_dependent: bool, max_age: int | None = None, negotiates: bool = False,
                  extra_headers: dict[str, str] | None = None, params: tuple[str, ...] | None = None,
                  max_bytes_setting: str = "CACHE_ANSWER_MAX_BYTES"):
    """Wrap a public read view: replica, cache, validators (see the module).
    `negotiates`: the view answers HTML to browsers (DRF's browsable API).
    `params`: the only query parameters the view reads (the key's). The
    largest answer kept is the setting `max_bytes_setting` names.
    PublicAnswerMiddleware serves 304s and kept answers before the view's
    URL is reached; this makes, keeps and shows the rest."""
    options = dict(clock_dependent=clock_dependent, max_age=max_age, negotiates=negotiates,
                   extra_headers=extra_headers or {}, params=params, max_bytes_setting=max_bytes_setting)

    def decorate(view):
        other_methods = compute_budgeted(view)  # OPTIONS, a 405: never kept, each on the budget

        @wraps(view)
        def answer(request, *args, **kwargs):
            if request.method not in ("GET", "HEAD"):
                return other_methods(request, *args, **kwargs)
            if _browser_asks_for_html(request, options):  # never kept: every one on the budget
                return within_compute_budget(request, lambda: _on_a_replica(lambda alias: rendered(
                    view(request, *args, **kwargs))), refused=ComputeBudget.refusal)
            answering = request.__dict__.pop(ANSWERING, None)

            def on(alias: str):
                nonlocal answering
                if answering is None or answering.alias != alias:
                    answering = _answering(request, options, alias=alias)
                    served = _served(request, answering)
                    if served is not None:
                        return served
                return _made(view, request, args, kwargs, answering)

            return _on_a_replica(on, answering.alias if answering else None)

        answer.public_answer_options = options
        return counts_its_own_compute(answer)  # a kept answer and a 304 cost nothing

    return decorate


class PublicAnswerMiddleware:
    """Serves a public answer's 304 or kept copy before the layers it never
    needs (the request's database budget, static files, sessions, language,
    CSRF, users, messages, history, django-axes): a public answer is the same
    for everyone and holds no text in a language. Inside the security headers
    and the JSON errors. What it cannot serve goes on to its view
    (`public_answer`), with the version and instant it read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        options = _public_options(request)
        if options is None:
            return self.get_response(request)

        def on(alias: str):
            answering = _answering(request, options, alias=alias)
            served = _served(request, answering)
            if served is None:
                setattr(request, ANSWERING, answering)
            return served

        served = _on_a_replica(on)
        return _language_free(self.get_response(request)) if served is None else served


def _language_free(response):
    """A public answer holds no text in a language (it is kept for all), so it
    names none and varies on none, as its kept copy does: what the language
    middleware adds to every answer it passes is taken back."""
    if response.has_header("X-Cache"):
        response.headers.pop("Content-Language", None)
        vary = [name for name in cc_delim_re.split(response.get("Vary", "")) if name and name.lower() != "accept-language"]
        if vary:
            response["Vary"] = ", ".join(vary)
        else:
            response.headers.pop("Vary", None)
    return response


def _public_options(request) -> dict | None:
    if request.method not in ("GET", "HEAD"):
        return None
    options = _path_options(get_resolver(), request.path_info)
    if options is None or _browser_asks_for_html(request, options):
        return None
    return options


@lru_cache(maxsize=4096)
def _path_options(resolver, path: str) -> dict | None:
    """The options of the public answer `path` resolves to (None: not one),
    remembered per URL conf (a new resolver when it changes): resolving
    walks the URL conf's patterns, a tenth of a kept answer's cost."""
    try:
        match = resolver.resolve(path)
    except Resolver404:
        return None
    return getattr(match.func, "public_answer_options", None)
