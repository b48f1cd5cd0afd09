"""The admin's "Import now" (meetings/feeds/admin.py, meetings/feeds/dispatch.py):
never a server error when the queue is down, never minutes inside the request."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid

import pytest
from celery import Celery
from django.core.files.base import ContentFile

from meetings.feeds import dispatch
from meetings.models import ImportRun, Meeting
from tests.factories import feed_record, make_source


def _import_now(client, source):
    return client.post("/admin/meetings/feedsource/", {"action": "import_now", "_selected_action": [source.pk]},
                       follow=True)


@pytest.fixture
def uploaded(vocabularies, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    source = make_source("oc")
    source.upload.save("feed.json", ContentFile(json.dumps([feed_record(n) for n in range(3)]).encode()))
    return source


@pytest.fixture
def broker_down(monkeypatch):
    """A broker configured but not answering, as when Redis is down: the
    task as an app with such a broker would send it."""
    app = Celery("broker-down", broker="redis://127.0.0.1:9/0", set_as_current=False)  # port 9: nothing listens

    @app.task(name="broker-down.import_feed_source", shared=False)
    def import_feed_source(source_id):
        raise AssertionError("never run: the broker is down")

    monkeypatch.setattr(dispatch, "import_feed_source", import_feed_source)
    yield
    app.close()


def test_import_now_with_the_queue_down_says_try_again_later(uploaded, admin_client, broker_down):
    started = time.monotonic()
    response = _import_now(admin_client, uploaded)
    assert response.status_code == 200
    assert "the import queue is unavailable, try again later" in response.content.decode().lower()
    assert time.monotonic() - started < 10
    assert not ImportRun.objects.exists()


def test_import_now_pressed_again_with_the_queue_down_answers_at_once(uploaded, admin_client, broker_down):
    # The broker client's reconnection backoff must not hold the curator's request:
    # a second and third press said so after 6 s each.
    for _ in range(3):
        started = time.monotonic()
        response = _import_now(admin_client, uploaded)
        assert "the import queue is unavailable" in response.content.decode().lower()
        assert time.monotonic() - started < 2
    assert not ImportRun.objects.exists()


@pytest.mark.services
def test_import_now_with_the_queue_up_queues_the_import(uploaded, admin_client, monkeypatch):
    import redis

    broker = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/11")
    try:
        redis.Redis.from_url(broker, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as error:
        pytest.skip(f"needs Redis at {broker} (.ci/run starts it): {error}")
    queue = f"mf-test-import-now-{uuid.uuid4().hex[:8]}"
    app = Celery("broker-up", broker=broker, set_as_current=False)
    app.conf.task_default_queue = queue

    @app.task(name="broker-up.import_feed_source", shared=False)
    def import_feed_source(source_id):
        raise AssertionError("never run here: no worker reads this queue")

    monkeypatch.setattr(dispatch, "import_feed_source", import_feed_source)
    waiting = redis.Redis.from_url(broker)
    try:
        response = _import_now(admin_client, uploaded)
        assert "import queued for 1 source." in response.content.decode().lower()
        assert waiting.llen(queue) == 1
    finally:
        waiting.delete(queue)
        app.close()
    assert not ImportRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_import_now_without_a_broker_runs_outside_the_request(uploaded, admin_client, monkeypatch):
    release = threading.Event()
    real = dispatch.feed_import

    def slow_import(**kwargs):
        # A large feed: the request must not wait for it.
        release.wait(timeout=30)
        return real(**kwargs)

    monkeypatch.setattr(dispatch, "feed_import", slow_import)
    started = time.monotonic()
    response = _import_now(admin_client, uploaded)
    assert time.monotonic() - started < 5
    assert response.status_code == 200 and "in the background" in response.content.decode()
    assert not Meeting.objects.exists()
    background = [t for t in threading.enumerate() if t.name == f"feed-import-{uploaded.pk}"]
    assert len(background) == 1
    release.set()
    # Joined rather than polled: SQLite's shared in-memory test database locks
    # whole tables, so reading while the thread writes would fail spuriously.
    background[0].join(timeout=30)
    assert not background[0].is_alive()
    run = ImportRun.objects.get()
    assert (run.status, run.created) == ("succeeded", 3)
    assert Meeting.objects.count() == 3
