"""A client's new public questions have a computing budget per minute
(meetings/throttles.py ComputeBudget): past it, a new question to any
public route is a 429 with Retry-After before any work, while answers kept
in the cache and 304s are still served, and other clients are not
affected. A streamed answer (the Meeting Guide feed) counts the time taken
to make it."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings as site_settings
from django.core.cache import cache
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve, reverse

from meetingfinder.errors import is_api_path
from meetings import throttles
from meetings.models import ChangeRequest
from meetings.throttles import ComputeBudget
from tests.factories import aa_meeting

SEARCH = "/api/v1/meetings/?near=92618&radius={radius}&units=mi"
FEED = "/api/v1/feeds/meeting-guide.json"


def forget_budgets():
    cache.clear()
    ComputeBudget._past.clear()  # what this worker remembers of clients past their budget


@pytest.fixture(scope="module")
def meetings_once(directory_once, shared_rows):
    """Made once for the module (conftest's `shared_rows`): its tests read them."""
    with shared_rows():
        for n in range(5):
            aa_meeting(directory_once, name=f"Step Study {n}")
        yield


@pytest.fixture
def directory(directory_shared):
    return directory_shared


@pytest.fixture(autouse=True)
def meetings(meetings_once, directory, clock_stopped):
    # One minute throughout: a test crossing into the next would start a new budget.
    forget_budgets()
    yield
    forget_budgets()


def test_past_its_budget_a_client_gets_429_for_new_questions_only(settings, client):
    settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 0.001  # any answer computed spends it
    first = client.get(SEARCH.format(radius=10))
    assert first.status_code == 200 and first["X-Cache"] == "miss"

    refused = client.get(SEARCH.format(radius=11))
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 61
    assert "try again" in refused.json()["detail"]
    assert refused["Cache-Control"] == "no-store"

    # What is kept costs nothing: the answer computed before, and its 304.
    again = client.get(SEARCH.format(radius=10))
    assert again.status_code == 200 and again["X-Cache"] == "hit"
    assert client.get(SEARCH.format(radius=10), HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    # Another client has a budget of its own.
    other = Client(REMOTE_ADDR="192.0.2.44")
    assert other.get(SEARCH.format(radius=11)).status_code == 200


def test_a_streamed_feed_counts_the_time_taken_to_make_it(settings, client):
    settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 0.001
    feed = client.get(FEED)
    assert feed.status_code == 200 and feed.streaming
    b"".join(feed.streaming_content)  # sent whole: made, and counted
    assert client.get(SEARCH.format(radius=10)).status_code == 429


def test_the_count_is_shared_by_the_workers(settings, client):
    settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 0.001
    assert client.get(SEARCH.format(radius=10)).status_code == 200
    # Another worker (its own memory) asks the shared count once, then knows.
    ComputeBudget._past.clear()
    assert client.get(SEARCH.format(radius=11)).status_code == 200
    assert client.get(SEARCH.format(radius=12)).status_code == 429


def test_a_count_another_request_starts_first_is_added_to():
    """The window's first requests race to start its count: the one whose
    start comes second adds to the other's, as every later one does, in one
    increment of the cache once the count exists."""
    from django.core.cache.backends.locmem import LocMemCache

    shared = LocMemCache("compute-budget-race", {})
    increments = []
    real_incr = shared.incr

    def incr(key, delta=1, version=None):
        increments.append(key)
        try:
            return real_incr(key, delta)
        finally:
            if len(increments) == 1:  # no count yet: another request starts it before this one can
                shared.add(key, 5)

    shared.incr = incr
    assert throttles._count_in(shared, key="compute:192.0.2.7:1", lifetime=60, by=2) == 7
    assert throttles._count_in(shared, key="compute:192.0.2.7:1", lifetime=60, by=1) == 8
    assert len(increments) == 3


def test_the_default_budget_leaves_people_searching_alone(settings, client):
    settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 10.0  # production's default (meetingfinder/settings.py)
    codes = {client.get(SEARCH.format(radius=radius)).status_code for radius in range(1, 61)}
    assert codes == {200}


def test_no_budget_when_it_is_off(settings, client):
    settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 0
    assert {client.get(SEARCH.format(radius=radius)).status_code for radius in range(1, 6)} == {200}


def test_the_search_page_counts_too_and_says_to_wait_in_the_persons_language(settings, client):
    settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 0.001
    assert client.get("/?near=92618").status_code == 200
    # One budget for the page and the API: the page's search spent it.
    assert client.get(SEARCH.format(radius=10)).status_code == 429
    busy = client.get("/?near=92618&radius=5", HTTP_ACCEPT_LANGUAGE="es")
    assert busy.status_code == 429 and 1 <= int(busy["Retry-After"]) <= 61
    text = busy.content.decode()
    assert "Espera un momento" in text and 'href="/?near=92618&amp;radius=5"' in text


def test_the_changes_feed_counts_too(settings, client):
    settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 0.001
    assert client.get("/api/v1/changes/").status_code == 200
    refused = client.get("/api/v1/changes/?limit=5")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1


def test_the_api_schema_counts_too(settings, client):
    settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 0.001
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/schema/?format=json").status_code == 429


def test_an_ipv6_client_has_one_budget_for_its_whole_64(settings):
    settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 0.001
    assert Client(REMOTE_ADDR="2001:db8:1:2::1").get(SEARCH.format(radius=10)).status_code == 200
    # Another address of the same /64 (one home's block): the same client.
    assert Client(REMOTE_ADDR="2001:db8:1:2:ffff::9").get(SEARCH.format(radius=11)).status_code == 429
    # The next /64 is someone else; IPv4 written as IPv6 is that IPv4 address.
    assert Client(REMOTE_ADDR="2001:db8:1:3::1").get(SEARCH.format(radius=11)).status_code == 200
    assert Client(REMOTE_ADDR="::ffff:192.0.2.7").get(SEARCH.format(radius=12)).status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.7").get(SEARCH.format(radius=13)).status_code == 429


def test_the_browsable_api_counts_too(settings, client):
    """A browser asking the API for HTML gets the browsable API, made afresh
    each time (never kept): on the budget like any new question."""
    settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 0.001
    html = client.get(SEARCH.format(radius=10), HTTP_ACCEPT="text/html")
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    assert client.get(SEARCH.format(radius=10), HTTP_ACCEPT="text/html").status_code == 429


def test_a_meeting_page_counts_too(settings, client, directory):
    settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 0.001
    slug = aa_meeting(directory, name="Lunch Bunch").slug
    assert client.get(f"/meetings/{slug}/").status_code == 200
    busy = client.get(f"/meetings/{slug}/")
    assert busy.status_code == 429 and "Please wait a moment" in busy.content.decode()
    # A correction sent within its throttle is never turned away by the budget: what a person wrote is not lost.
    sent = client.post(f"/meetings/{slug}/", {"description": "The door is on the side.", "time": "20:00"})
    assert sent.status_code == 200 and ChangeRequest.objects.filter(meeting__slug=slug).count() == 1


def test_corrections_past_their_throttle_and_the_budget_get_no_page_made_again(settings, client, directory):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"change-requests": "1/hour"}}
    settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 0.001
    slug = aa_meeting(directory, name="Lunch Bunch").slug
    page = f"/meetings/{slug}/"
    # Within the throttle: kept, whatever the budget (the page made for it spent it).
    assert client.post(page, {"description": "Side door.", "time": "20:00"}).status_code == 200
    # Past the throttle and the budget: the short wait page, not the meeting's page made again.
    refused = client.post(page, {"description": "Again."})
    assert refused.status_code == 429 and "Please wait a moment" in refused.content.decode()
    assert ChangeRequest.objects.count() == 1


def test_workers_threads_mark_clients_past_their_budget_safely(settings, rf):
    """Threads of one worker remembering clients at once (gunicorn with threads,
    runserver): never an error after an answer was made."""
    settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 0.001
    errors: list[BaseException] = []

    def spend(first: int) -> None:
        try:
            for n in range(first, first + 400):
                ComputeBudget(rf.get("/", REMOTE_ADDR=f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")).spend(0.01)
        except BaseException as error:  # noqa: BLE001 - any is the failure
            errors.append(error)

    threads = [threading.Thread(target=spend, args=(k * 400,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(ComputeBudget(rf.get("/", REMOTE_ADDR=f"10.0.{n // 256}.{n % 256}")).spent() for n in (0, 1799, 3199))


def test_an_answer_that_fails_is_counted_too(settings, client):
    """A statement cancelled by the timeout is the costliest question: the
    time it took counts, though it ends in a 503."""
    from django.db import OperationalError, connection

    def refuse(execute, sql, params, many, context):
        raise OperationalError("canceling statement due to statement timeout")

    settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 0.001
    with connection.execute_wrapper(refuse):
        assert Client(raise_request_exception=False).get("/?near=92618").status_code == 503
    assert client.get("/?near=92618&radius=5").status_code == 429


def test_the_refusal_speaks_the_senders_language(settings, client):
    settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 0.001
    client.get(SEARCH.format(radius=10))
    refused = client.get(SEARCH.format(radius=11), HTTP_ACCEPT_LANGUAGE="es")
    assert refused.status_code == 429 and "vuelve a intentarlo" in refused.json()["detail"]


# Values for a route's parameters: any will do, a refusal comes before any work.
ROUTE_ARGUMENTS = {"version": "v1", "format": "json", "slug": "no-such-meeting", "pk": "1"}
# Routes a client past its budget may still ask, by name, each with why (a
# health probe would be one: the load balancer asking is no client). None today.
EXEMPT: dict[str, str] = {}


def public_routes(patterns=None, *, prefix: tuple = (), namespace: str = ""):
    """Every route a visitor reaches, as (name, the pattern chain, view), read
    from the URL resolver, so a route added later is checked without a word
    here: all but the admin and the static files."""
    for route in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(route, URLResolver):
            if route.namespace == "admin":
                continue
            inner = f"{namespace}{route.namespace}:" if route.namespace else namespace
            yield from public_routes(route.url_patterns, prefix=(*prefix, route.pattern), namespace=inner)
        else:
            yield f"{namespace}{route.name}" if route.name else None, (*prefix, route.pattern), route.callback


def route_url(name: str, chain: tuple, view) -> str:
    """A URL of the route, its parameters filled with ROUTE_ARGUMENTS."""
    assert name, f"the route {''.join(map(str, chain))} needs a name to be checked"
    parameters = {key for pattern in chain for key in pattern.regex.groupindex}
    url = reverse(name, kwargs={key: ROUTE_ARGUMENTS[key] for key in parameters})
    assert resolve(url).func is view, f"{url} is not the route {name}"
    return url


def test_past_its_budget_a_client_gets_429_from_every_public_route(settings):
    """Every public route's new question costs computing (the region list, the
    API root, the docs, the favicon: 3 to 10 ms each), so each is on the budget,
    and so is OPTIONS on the API: past it, 429 (the search page's wait page on
    the pages) before any work."""
    settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 0.001
    client = Client(raise_request_exception=False)  # a route's error is one more answer not refused
    assert client.get(SEARCH.format(radius=10)).status_code == 200  # spends the budget
    asked = []
    for name, chain, view in public_routes():
        if name in EXEMPT or str(chain[0]).startswith(site_settings.STATIC_URL.lstrip("/")):
            continue
        url = route_url(name, chain, view)
        methods = ("GET", "HEAD", "OPTIONS") if is_api_path(url) else ("GET", "HEAD")
        asked += [(method, url, client.generic(method, url)) for method in methods]
    assert len(asked) > 40  # the resolver was read: the API's routes, the pages, BMLT, the schema
    answered = [(method, url, response.status_code) for method, url, response in asked
                if response.status_code != 429 or not response.has_header("Retry-After")]
    assert answered == []


def test_the_budget_costs_nothing_on_a_kept_answer_a_304_or_a_refusal(settings, client, monkeypatch):
    """Only a computed answer touches the count (one cache call); what is kept,
    a 304 and a refusal are decided in the worker's memory."""
    settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 0.001
    counted = []
    count = throttles._window_count
    monkeypatch.setattr(throttles, "_window_count",
                        lambda *args, **kwargs: counted.append(1) or count(*args, **kwargs))
    first = client.get(SEARCH.format(radius=10))
    assert first.status_code == 200 and counted == [1]
    assert client.get(SEARCH.format(radius=10))["X-Cache"] == "hit"
    assert client.get(SEARCH.format(radius=10), HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert client.get(SEARCH.format(radius=11)).status_code == 429
    assert client.get("/api/v1/regions/").status_code == 429
    assert client.options("/api/v1/meetings/").status_code == 429
    assert counted == [1]


def test_a_correction_sent_to_the_api_is_never_turned_away_by_the_budget(settings, client, directory):
    """Its own throttle limits it; what a person wrote within that is not lost."""
    settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 0.001
    slug = aa_meeting(directory, name="Lunch Bunch").slug
    assert client.get(SEARCH.format(radius=10)).status_code == 200
    sent = client.post("/api/v1/change-requests/", {"meeting": slug, "description": "Side door."},
                       content_type="application/json")
    assert sent.status_code == 202 and ChangeRequest.objects.filter(meeting__slug=slug).count() == 1
