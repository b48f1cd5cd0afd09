"""The change-request throttle (API and meeting page) counts per real client
address (an IPv6 address's /64): a forged X-Forwarded-For makes no fresh
client, and behind a
configured number of proxies each client is counted apart. The count lives in
the shared cache: two workers (processes) with their own cache clients share
one limit, and parallel requests cannot slip past it."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from meetingfinder.client_address import client_network
from meetingfinder.settings import cache_settings
from meetings.throttles import ChangeRequestThrottle
from meetings.models import ChangeRequest
from tests.factories import aa_meeting

ROOT = Path(__file__).resolve().parent.parent
SUBMIT = "/api/v1/change-requests/"
REDIS_URL = os.environ.get("TEST_CACHE_REDIS_URL", "redis://127.0.0.1:6379/5")


@pytest.fixture(autouse=True)
def ten_an_hour(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"change-requests": "10/hour"}}


@pytest.fixture
def meeting(directory):
    return aa_meeting(directory)


def submit(client: Client, meeting, **headers) -> int:
    return client.post(SUBMIT, {"meeting": meeting.slug, "description": "fix"}, content_type="application/json",
                       **headers).status_code


def test_fifty_forged_forwarded_for_addresses_get_only_the_limit_through(client, meeting, clock_stopped):
    codes = [submit(client, meeting, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}") for n in range(50)]
    assert codes.count(202) == 10 and codes.count(429) == 40
    assert ChangeRequest.objects.count() == 10


def test_refused_requests_say_when_to_come_back(client, meeting, clock_stopped):
    for _ in range(10):
        submit(client, meeting)
    response = client.post(SUBMIT, {"meeting": meeting.slug, "description": "fix"}, content_type="application/json")
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 3600


def test_the_meeting_page_form_is_not_fooled_by_forged_addresses(client, meeting, clock_stopped):
    page = reverse("meeting-page", args=[meeting.slug])
    codes = [client.post(page, {"description": f"fix {n}", "time": "20:00"},
                         HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(50)]
    assert codes.count(200) == 10 and ChangeRequest.objects.count() == 10
    assert "Too many corrections" in client.post(page, {"description": "x"}).content.decode()


def test_an_empty_correction_past_the_limit_is_refused_not_a_500(client, meeting, clock_stopped):
    """An empty form was no form at all to the page (`request.POST or None`): refusing it raised AttributeError."""
    page = reverse("meeting-page", args=[meeting.slug])
    for n in range(10):
        client.post(page, {"description": f"fix {n}"})
    response = client.post(page, {})
    assert response.status_code == 400 and "Too many corrections" in response.content.decode()
    assert ChangeRequest.objects.count() == 10


def test_behind_one_proxy_each_client_is_counted_apart(meeting, settings, clock_stopped):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    # One client forging what it puts before the proxy's entry: still one client.
    codes = [submit(proxy, meeting, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.7") for n in range(20)]
    assert codes.count(202) == 10
    # Another client behind the same proxy has its own count.
    assert submit(proxy, meeting, HTTP_X_FORWARDED_FOR="203.0.113.8") == 202


def test_an_ipv6_client_is_its_whole_64(meeting, clock_stopped):
    """A home or phone may send from any address of its /64: twenty addresses
    there are one client; the next /64 is someone else."""
    codes = [submit(Client(REMOTE_ADDR=f"2001:db8:1:2::{n:x}"), meeting) for n in range(1, 21)]
    assert codes.count(202) == 10 and codes.count(429) == 10
    assert ChangeRequest.objects.count() == 10
    assert submit(Client(REMOTE_ADDR="2001:db8:1:3::1"), meeting) == 202


def test_ipv4_clients_are_single_addresses_written_either_way(meeting, clock_stopped):
    assert [submit(Client(REMOTE_ADDR="192.0.2.7"), meeting) for _ in range(10)] == [202] * 10
    # IPv4 written as IPv6 is that IPv4 address; its neighbour is someone else.
    assert submit(Client(REMOTE_ADDR="::ffff:192.0.2.7"), meeting) == 429
    assert submit(Client(REMOTE_ADDR="192.0.2.8"), meeting) == 202


def test_the_meeting_page_form_counts_an_ipv6_client_by_its_64(meeting, clock_stopped):
    page = reverse("meeting-page", args=[meeting.slug])
    codes = [Client(REMOTE_ADDR=f"2001:db8:1:2:{n:x}::9").post(page, {"description": f"fix {n}", "time": "20:00"})
             for n in range(1, 21)]
    assert sum("Too many corrections" in response.content.decode() for response in codes) == 10
    assert ChangeRequest.objects.count() == 10
    Client(REMOTE_ADDR="2001:db8:1:3::1").post(page, {"description": "fix", "time": "20:00"})
    assert ChangeRequest.objects.count() == 11


def test_behind_one_proxy_an_ipv6_client_is_its_whole_64(meeting, settings, clock_stopped):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    # Twenty addresses of one /64 as the proxy saw them, each with a forged entry before it.
    codes = [submit(proxy, meeting, HTTP_X_FORWARDED_FOR=f"2001:db8:ff::{n:x}, 2001:db8:1:2::{n:x}")
             for n in range(1, 21)]
    assert codes.count(202) == 10
    assert submit(proxy, meeting, HTTP_X_FORWARDED_FOR="2001:db8:1:3::1") == 202


def redis_or_skip() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as error:
        pytest.skip(f"needs Redis at {REDIS_URL} (.ci/run starts it): {error}")
    return REDIS_URL


@pytest.fixture
def shared_cache(settings):
    """The default cache in Redis, as in production; yields a client address
    in a /64 of this test's own (the client counted), so runs sharing the
    database do not meet."""
    import redis

    settings.CACHES = {"default": cache_settings(redis_or_skip())}
    address = f"2001:db8:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}::1"
    yield address
    keys = redis.Redis.from_url(REDIS_URL)
    for key in keys.scan_iter(f"*{client_network(address)}*"):
        keys.delete(key)


WORKER = """
import datetime as dt, json, sys
import django
django.setup()
from django.test import RequestFactory
from meetings import clock
from meetings.throttles import ChangeRequestThrottle
instant = dt.datetime.fromisoformat(sys.argv[3])
clock.now = lambda: instant  # the parent's stopped clock: one hour's window in both
request = RequestFactory().post("/api/v1/change-requests/", REMOTE_ADDR=sys.argv[2])
print(json.dumps([ChangeRequestThrottle().allow_request(request, None) for _ in range(int(sys.argv[1]))]))
"""


@pytest.mark.services
def test_the_window_is_the_api_clocks_hour(client, meeting, frozen_now):
    """The count runs per fixed hour of `meetings.clock`: stopped there, the
    tenth correction at 03:59:59 is the last, the eleventh waits one second,
    and at 04:00 a new hour's count begins."""
    frozen_now(dt.datetime(2026, 12, 1, 3, 59, 59, tzinfo=dt.timezone.utc))
    assert [submit(client, meeting) for _ in range(10)] == [202] * 10
    refused = client.post(SUBMIT, {"meeting": meeting.slug, "description": "fix"}, content_type="application/json")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    frozen_now(dt.datetime(2026, 12, 1, 4, 0, 0, tzinfo=dt.timezone.utc))
    assert submit(client, meeting) == 202


def test_two_workers_share_one_count_in_redis(shared_cache, clock_stopped):
    request = RequestFactory().post(SUBMIT, REMOTE_ADDR=shared_cache)
    here = [ChangeRequestThrottle().allow_request(request, None) for _ in range(6)]
    # Another process: its own Django, its own connection to Redis, same settings, the clock stopped alike.
    env = {**os.environ, "CACHE_URL": REDIS_URL, "CHANGE_REQUESTS_RATE": "10/hour"}
    worker = subprocess.run([sys.executable, "-c", WORKER, "10", shared_cache, clock_stopped.isoformat()], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert worker.returncode == 0, worker.stderr
    there = json.loads(worker.stdout.strip().splitlines()[-1])
    assert here == [True] * 6 and there == [True] * 4 + [False] * 6
    assert not ChangeRequestThrottle().allow_request(request, None)


@pytest.mark.services
def test_parallel_requests_cannot_slip_past_the_limit(shared_cache, clock_stopped):
    allowed: list[bool] = []
    start = threading.Barrier(40)

    def one_request():
        request = RequestFactory().post(SUBMIT, REMOTE_ADDR=shared_cache)
        throttle = ChangeRequestThrottle()
        start.wait()
        allowed.append(throttle.allow_request(request, None))

    threads = [threading.Thread(target=one_request) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(allowed) == 40 and allowed.count(True) == 10


@pytest.fixture
def cache_down(settings, monkeypatch):
    """The shared cache configured in Redis at a port where nothing listens
    (Redis down), with the throttle's memory of a failure cleared."""
    import socket

    from meetings import throttles

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.CACHES = {"default": cache_settings(f"redis://127.0.0.1:{port}/9")}
    monkeypatch.setattr(throttles._shared_cache, "down_until", 0.0)
    monkeypatch.setattr(throttles, "_local_counts", throttles.LocMemCache("throttle-test", {}))


def test_with_the_shared_cache_down_requests_are_counted_in_the_worker(client, meeting, cache_down, clock_stopped):
    from django.core.cache import cache

    with pytest.raises(Exception):
        cache.get("anything")  # the cache really is down
    codes = [submit(client, meeting) for _ in range(12)]
    # Not a 500: the worker counts on its own until the shared cache answers again.
    assert codes == [202] * 10 + [429] * 2
    assert ChangeRequest.objects.count() == 10
    page = reverse("meeting-page", args=[meeting.slug])
    assert "Too many corrections" in client.post(page, {"description": "x"}).content.decode()
