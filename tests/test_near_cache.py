"""What a process keeps of the shared cache in its own memory
(meetingfinder/near_cache.py): a kept answer asked again on this process
needs no shared cache, a write still makes the next one a miss, and the
memory it takes stays within CACHE_NEAR_BYTES."""

from __future__ import annotations

import datetime as dt
import pickle

import pytest
from django.core.cache import cache

from meetingfinder.near_cache import NearCache
from tests.factories import make_meeting

URL = "/api/v1/meetings/?q=Serenity"


@pytest.fixture
def directory(db, settings, frozen_now):
    settings.GEOCODER = "offline"
    frozen_now(dt.datetime(2025, 3, 4, 18, 30, 20, tzinfo=dt.timezone.utc))
    make_meeting(name="Serenity at noon", time="12:00")


def test_an_answer_asked_again_here_is_served_when_the_shared_cache_lost_it(directory, client):
    first = client.get(URL)
    cache.clear()  # evicted, or Redis restarted
    again = client.get(URL)
    assert (first["X-Cache"], again["X-Cache"]) == ("miss", "hit")
    assert (again.content, again["ETag"]) == (first.content, first["ETag"])


def test_a_write_makes_the_next_answer_a_miss_though_one_is_kept_here(directory, client):
    assert client.get(URL)["X-Cache"] == "miss"
    assert client.get(URL)["X-Cache"] == "hit"
    make_meeting(name="Serenity at dusk", time="19:00")
    after = client.get(URL)
    assert after["X-Cache"] == "miss" and len(after.json()["results"]) == 2


def test_nothing_is_kept_here_with_no_bytes_for_it(directory, client, settings):
    settings.CACHE_NEAR_BYTES = 0
    client.get(URL)
    cache.clear()
    assert client.get(URL)["X-Cache"] == "miss"


def test_the_least_recently_used_go_first_and_none_takes_more_than_an_eighth(settings):
    body = b"x" * 1000
    size = len(pickle.dumps(body, pickle.HIGHEST_PROTOCOL))
    settings.CACHE_NEAR_BYTES = 8 * size + 100
    near = NearCache()

    def kept(key: str):
        return near.get(key, lambda: None)  # here, or nowhere

    for n in range(8):
        near.keep(f"answer:{n}", body)
    assert kept("answer:0") == body  # now the most recently used
    near.keep("answer:8", body)
    assert kept("answer:1") is None
    assert all(kept(f"answer:{n}") == body for n in (0, *range(2, 9)))
    near.keep("answer:big", body * 2)
    assert kept("answer:big") is None
    near.keep("answer:0", b"")  # a value kept again under its key is counted once
    assert kept("answer:0") == b"" and kept("answer:2") == body
    assert near.get("answer:9", lambda: body) == body and kept("answer:9") == body  # the shared cache's, kept here


def test_a_value_over_an_eighth_is_refused_without_being_copied(settings):
    """The whole feed (tens of MB) is never kept here: refusing it must not
    build its pickle, which costs its size in memory and ~45 ms at 62 MB on
    every read of it from the shared cache."""
    import tracemalloc

    settings.CACHE_NEAR_BYTES = 8 * 1024 * 1024
    feed = ({"Content-Type": "application/json"}, b"x" * 20_000_000)
    near = NearCache()
    tracemalloc.start()
    try:
        near.keep("feed", feed)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert near.get("feed", lambda: None) is None
    assert peak < 1_000_000, peak
