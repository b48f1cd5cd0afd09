"""The admin's "Import now" (meetings/feeds/admin.py, meetings/feeds/dispatch.py):
never a server error when the queue is down, never minutes inside the request;
and a run's page, which names the meetings the run wrote."""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import sqlite3
import threading
import time
import uuid

import pytest
from celery import Celery
from django.core.files.base import ContentFile
from django.db import connection
from django.urls import reverse
from django.utils import translation

from meetings.feeds import dispatch
from meetings.models import FeedSource, ImportRun, Meeting
from tests.factories import feed_record, make_source, run_feed


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


# A run's page: which meetings it wrote, as its history and notes record them.

@pytest.fixture
def curated_run(directory):
    """The AA office's feed imported twice: the second run renames m0, finds
    the curator's name on m1 over the feed's, drops m2, leaves m3 alone (a
    superuser moved it to a body the curator does not keep) and adds m4."""
    from meetings.services import meeting_lock_fields, meeting_save
    from tests.factories import ServiceBodyFactory

    source = FeedSource.objects.create(slug="oc-aa", name="OC AA feed", fellowship=directory.aa_office.fellowship,
                                       service_body=directory.aa_office, shrink_guard_share=1.0)
    first = run_feed(source, [feed_record(n) for n in range(4)])
    curated = Meeting.objects.get(source_key="m1")
    curated.name = "Curated name"
    meeting_save(meeting=curated)
    meeting_lock_fields(meeting=curated, fields=["name"])
    moved = Meeting.objects.get(source_key="m3")
    moved.service_body = ServiceBodyFactory(name="LA Central Office", fellowship=directory.aa_office.fellowship)
    meeting_save(meeting=moved)
    second = run_feed(source, [feed_record(0, name="Renamed 0"), feed_record(1, name="Feed name"), feed_record(3),
                               feed_record(4)])
    assert (second.created, second.updated, second.removed, second.skipped) == (1, 2, 1, 1)
    return first, second


def run_meetings(client, run, **headers) -> dict[str, str]:
    """The run page's meetings, section by section, as read (links as `[name](url)`)."""
    page = client.get(reverse("admin:meetings_importrun_change", args=[run.pk]), **headers).content.decode()
    block = re.search(r'<fieldset class="module aligned" id="run-meetings">(.*?)</fieldset>', page, re.S).group(1)
    rows = re.findall(r'<label>(.*?):</label><div class="readonly">(.*?)</div>', block, re.S)
    return {html.unescape(label): " ".join(html.unescape(re.sub(r'<a href="([^"]*)">([^<]*)</a>', r"[\2](\1)",
                                                                   text)).split()) for label, text in rows}


def meeting_link(key: str, language: str = "en") -> str:
    meeting = Meeting.objects.get(source_key=key)
    with translation.override(language):
        return f"[{meeting.name} ({meeting.get_day_display()})]({reverse('admin:meetings_meeting_change', args=[meeting.pk])})"


def test_a_runs_page_lists_the_meetings_it_added_changed_removed_and_held(aa_client, curated_run):
    _, second = curated_run
    assert run_meetings(aa_client, second) == {
        "Added": meeting_link("m4"),
        # m1 is not: only the feed's copy of the name it kept changed (stored beside the curator's), no history.
        "Changed": meeting_link("m0"),
        "Removed (gone from the feed)": meeting_link("m2"),
        # m1 kept the curator's name; m3, left alone, is another body's now: the curator does not see it.
        "Held (a curated value kept, or another service body's now)": f"{meeting_link('m1')} and 1 more not listed",
    }
    spanish = run_meetings(aa_client, second, HTTP_ACCEPT_LANGUAGE="es")
    assert spanish["Añadidas"] == meeting_link("m4", "es") and spanish["Modificadas"].endswith(meeting_link("m0", "es"))
    assert spanish["Retiradas (ya no están en la fuente)"] == meeting_link("m2", "es")
    assert spanish["Retenidas (se conservó un valor curado, o son ahora de otra entidad de servicio)"] == (
        f"{meeting_link('m1', 'es')} y 1 más sin listar")


def test_a_held_runs_page_lists_the_meetings_it_would_remove(aa_client, directory):
    """Held for review, the run wrote nothing, but its reviewer sees which
    meetings it would take out of the listing (those they curate, named)."""
    from meetings.services import meeting_save
    from tests.factories import ServiceBodyFactory

    source = FeedSource.objects.create(slug="oc-aa", name="OC AA feed", fellowship=directory.aa_office.fellowship,
                                       service_body=directory.aa_office, shrink_guard_share=0.5)
    run_feed(source, [feed_record(n) for n in range(4)])
    moved = Meeting.objects.get(source_key="m3")
    moved.service_body = ServiceBodyFactory(name="LA Central Office", fellowship=directory.aa_office.fellowship)
    meeting_save(meeting=moved)
    held = run_feed(source, [feed_record(0, name="Renamed 0")])
    assert held.status == "held" and Meeting.objects.filter(removed=True).count() == 0
    label = "Would be removed (gone from the feed; the run is held, nothing was written)"
    # m3 is another body's now: the run would leave it alone.
    assert run_meetings(aa_client, held) == {label: f"{meeting_link('m1')}, {meeting_link('m2')}"}
    assert run_meetings(aa_client, held, HTTP_ACCEPT_LANGUAGE="es") == {
        "Se retirarían (ya no están en la fuente; la ejecución está retenida y no escribió nada)":
            f"{meeting_link('m1', 'es')}, {meeting_link('m2', 'es')}"}
    # Superseded by a later run, it would remove nothing.
    run_feed(source, [feed_record(n) for n in range(3)])
    held.refresh_from_db()
    assert (held.status, run_meetings(aa_client, held)) == ("failed", {})


def test_a_held_runs_page_lists_the_meetings_it_would_unpublish(admin_client, vocabularies):
    """The shrink guard counts the meetings a feed unpublishes (BMLT's published "0") with those it
    removes: both leave the listing. The held run's page named only those it would remove."""
    from meetings.feeds.importer import import_records
    from tests.factories import BMLT_FORMATS, bmlt_record

    source = make_source("bm", fellowship="na", format="bmlt")

    def run(records):
        return import_records(records=records, source=source, format="bmlt", bmlt_formats=BMLT_FORMATS)

    run([bmlt_record(id_bigint=str(n), meeting_name=f"Meeting {n}") for n in range(10)])
    held = run([bmlt_record(id_bigint=str(n), meeting_name=f"Meeting {n}", published="0" if n < 2 else "1")
                for n in range(8)])
    assert held.status == "held" and Meeting.objects.published().count() == 10

    def links(*names, language="en"):
        with translation.override(language):
            return ", ".join(f"[{m.name} ({m.get_day_display()})]({reverse('admin:meetings_meeting_change', args=[m.pk])})"
                             for m in Meeting.objects.filter(name__in=names).order_by("name"))

    assert run_meetings(admin_client, held) == {
        "Would be removed (gone from the feed; the run is held, nothing was written)": links("Meeting 8", "Meeting 9"),
        "Would be unpublished (the feed says so; the run is held, nothing was written)":
            links("Meeting 0", "Meeting 1")}
    assert run_meetings(admin_client, held, HTTP_ACCEPT_LANGUAGE="es")[
        "Se retirarían de la publicación (la fuente lo indica; la ejecución está retenida y no escribió nada)"] == (
        links("Meeting 0", "Meeting 1", language="es"))
    # Superseded by a later run, it would do nothing.
    run([bmlt_record(id_bigint=str(n), meeting_name=f"Meeting {n}") for n in range(10)])
    held.refresh_from_db()
    assert (held.status, held.would_unpublish, run_meetings(admin_client, held)) == ("failed", [], {})


@contextlib.contextmanager
def parameters_at_most(limit: int):
    """SQLite's limit on a statement's parameters lowered to `limit` (32,766
    by default, 250,000 in Debian's build): a test of a size that runs fast
    meets it. PostgreSQL's is not lowered (65,535 with server-side binding)."""
    if connection.vendor != "sqlite":
        yield
        return
    connection.ensure_connection()
    before = connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
    try:
        yield
    finally:
        connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, before)


def test_a_held_run_past_the_databases_parameter_limit_is_shown_and_approved(admin_client, vocabularies,
                                                                              settings):
    """The held run's page passed every id it would remove as a parameter of one statement: on SQLite a
    feed that lost more meetings than its limit (32,766) was a server error. 1,200 leave, the limit 999."""
    settings.FEEDS_APPLY_CHUNK = 500
    # PostgreSQL's limit is not lowered: there the same path is read at a size its test run affords.
    size = 1200 if connection.vendor == "sqlite" else 60
    source = make_source("oc")
    first = run_feed(source, [feed_record(n) for n in range(size)])
    assert (first.status, first.reason, first.created) == ("succeeded", "", size), first.reason
    with parameters_at_most(999):
        held = run_feed(source, [feed_record(0)])
        assert (held.status, len(held.would_remove)) == ("held", size - 1)
        label = "Would be removed (gone from the feed; the run is held, nothing was written)"
        assert run_meetings(admin_client, held)[label].endswith(f" and {size - 1 - 50} more not listed")
        response = admin_client.post(reverse("admin:meetings_importrun_changelist"),
                                     {"action": "approve", "_selected_action": [held.pk]}, follow=True)
    held.refresh_from_db()
    assert (response.status_code, held.status, held.removed) == (200, "succeeded", size - 1)
    assert Meeting.objects.filter(removed=False).count() == 1


def test_a_huge_runs_page_names_a_bounded_number_of_meetings(aa_client, curated_run, monkeypatch):
    from meetings.feeds import admin as feeds_admin

    first, _ = curated_run
    monkeypatch.setattr(feeds_admin, "RUN_MEETINGS_SHOWN", 2)
    added = run_meetings(aa_client, first)["Added"]
    # In name order as they are named now; m3, another body's now, is among those counted, not named.
    assert added == f"{meeting_link('m1')}, {meeting_link('m2')} and 2 more not listed"
    assert run_meetings(aa_client, first, HTTP_ACCEPT_LANGUAGE="es")["Añadidas"].endswith(" y 2 más sin listar")


@pytest.mark.parametrize("format", ["meeting-guide", "csv", "bmlt"])
def test_a_held_run_of_decoded_records_is_applied_when_approved(admin_client, vocabularies, format):
    """Found by the review of 1 December: a run made from decoded records (the
    importer given records, not a feed's text: tests, the sample data) kept no
    text, so its approval read an empty feed and held the run again. It keeps
    the records now, with the format and the options (BMLT's format table)
    they were read with."""
    from meetings.feeds.importer import import_records
    from tests.factories import BMLT_FORMATS, bmlt_record

    source = make_source("bm", fellowship="na" if format == "bmlt" else "aa", format=format)

    def run(count: int) -> ImportRun:
        if format == "bmlt":
            return import_records(records=[bmlt_record(id_bigint=str(n), meeting_name=f"Meeting {n}")
                                            for n in range(count)], source=source, format=format,
                                  bmlt_formats=BMLT_FORMATS)
        return import_records(records=[feed_record(n, types="O") for n in range(count)], source=source,
                              format=format)

    assert run(10).status == "succeeded"
    held = run(6)
    assert held.status == "held"
    response = admin_client.post(reverse("admin:meetings_importrun_changelist"),
                                 {"action": "approve", "_selected_action": [held.pk]}, follow=True)
    held.refresh_from_db()
    assert (response.status_code, held.status, held.removed, held.unknown_types) == (200, "succeeded", 4, {}), (
        held.reason)
    assert held.payload == ""
    assert list(Meeting.objects.filter(removed=False).values_list("open_closed", flat=True)) == ["open"] * 6
