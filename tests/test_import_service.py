"""The import service `feed_import` (meetings/feeds/importer.py): the
per-source claim every entry point respects, stale-run recovery, the format
registry, geocoding outside the apply transaction, the cap on stored issues,
and local paths refused to anyone but the command line."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection
from geopy.location import Location as GeopyLocation
from geopy.point import Point as GeopyPoint

from meetings import geocoding, services
from meetings.feeds import claims, formats
from meetings.feeds.claims import SourceBusy
from meetings.feeds.formats import FeedParser, guess_format
from meetings.feeds.importer import feed_import, import_feed_text, import_run_approve
from meetings.feeds.meeting_guide import parse_meeting_guide
from meetings.models import FeedFormat, FeedSource, GeocodeCacheEntry, ImportIssue, ImportRun, Location, Meeting
from tests.factories import feed_record, make_source, run_feed, child_database_url

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def source(vocabularies):
    return make_source()


# The claim ----------------------------------------------------------------

def test_every_entry_point_respects_the_claim(source, tmp_path):
    run_feed(source, [feed_record(n) for n in range(10)])
    held = run_feed(source, [feed_record(n) for n in range(5)])
    assert held.status == "held"
    holder = claims.source_claim_take(source_id=source.pk)
    assert holder
    with pytest.raises(SourceBusy):
        import_run_approve(run=held)
    with pytest.raises(SourceBusy):
        run_feed(source, [feed_record(1)])
    with pytest.raises(CommandError, match="in progress"):
        call_command("import_feed", source.slug)
    held.refresh_from_db()
    assert held.status == "held" and ImportRun.objects.count() == 2
    assert Meeting.objects.filter(removed=True).count() == 0
    claims.source_claim_release(source_id=source.pk, holder=holder)
    assert import_run_approve(run=held).status == "succeeded"


def _dead_holder() -> str:
    """The name a holder had that has since died: a PostgreSQL session that
    closed, or a process on this machine that exited."""
    if connection.vendor == "postgresql":
        import psycopg

        db = connection.settings_dict
        other = psycopg.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"] or "127.0.0.1",
                                port=db["PORT"] or 5432, password=db["PASSWORD"] or None, autocommit=True)
        pid, started = other.execute(
            "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()").fetchone()
        other.close()
        for _ in range(50):
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
                if cursor.fetchone() is None:
                    break
            time.sleep(0.1)
        return f"pg:{pid}:{started.isoformat()}"
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return f"host:{socket.gethostname()}:{process.pid}"


def test_a_run_left_running_by_a_killed_process_is_failed_and_the_next_run_proceeds(source):
    from django.utils import timezone

    crashed = ImportRun.objects.create(source=source)  # status "running", as kill -9 leaves it
    FeedSource.objects.filter(pk=source.pk).update(running_since=timezone.now(), claimed_by=_dead_holder())
    run = run_feed(source, [feed_record(1)])
    crashed.refresh_from_db()
    assert (run.status, run.created) == ("succeeded", 1)
    assert crashed.status == "failed" and "crashed or was killed" in crashed.reason
    assert crashed.finished is not None
    source.refresh_from_db()
    assert source.running_since is None and source.claimed_by == ""


def test_a_live_holder_keeps_its_claim(source):
    holder = claims.source_claim_take(source_id=source.pk)
    assert claims.source_claim_take(source_id=source.pk) is None
    claims.source_claim_release(source_id=source.pk, holder=holder)


def test_a_crash_inside_the_import_fails_the_run_and_releases_the_claim(source, monkeypatch):
    def explodes(**kwargs):
        raise AttributeError("'list' object has no attribute 'split'")

    monkeypatch.setattr(formats.MeetingGuideParser, "parse_text", lambda self, **kwargs: explodes())
    run = run_feed(source, [feed_record(1)])
    assert run.status == "failed" and "AttributeError" in run.reason
    source.refresh_from_db()
    assert source.running_since is None and source.last_status == "failed"


# Issues -------------------------------------------------------------------

def test_stored_issues_are_capped_and_the_rest_counted(source, settings):
    settings.FEEDS_PARSE_MAX_ISSUES = 5
    junk = [feed_record(n, time="junk") for n in range(12)]
    run = run_feed(source, [feed_record(100), *junk])
    assert (run.rejected, run.issues_left_out) == (12, 7)
    # Five issues and the line saying how many more there were.
    assert ImportIssue.objects.filter(run=run).count() == 6


# The registry -------------------------------------------------------------

class PipesParser(FeedParser):
    """A made-up format, `name|day|time` a line: a new format is a parser
    and one registry line."""

    def parse_text(self, *, text, root, options):
        records = []
        for n, line in enumerate(text.splitlines()):
            name, day, time_text = line.split("|")
            records.append({"slug": f"p{n}", "name": name, "day": int(day), "time": time_text,
                            "city": "Irvine", "state": "CA", "latitude": 33.68, "longitude": -117.82})
        return parse_meeting_guide(records)

    def claims(self, location):
        return location.endswith(".pipes")


def test_a_new_format_is_one_registry_line(vocabularies, monkeypatch):
    monkeypatch.setitem(formats.PARSERS, "pipes", PipesParser())
    assert guess_format("https://example.org/meetings.pipes") == "pipes"
    source = make_source("pipes", format="pipes")
    run = import_feed_text(source=source, text="Early Risers|1|06:30\nNight Owls|5|22:00")
    assert (run.status, run.created) == ("succeeded", 2)
    assert sorted(Meeting.objects.values_list("name", flat=True)) == ["Early Risers", "Night Owls"]


def test_every_format_has_a_parser_and_guessing_uses_them():
    assert set(formats.PARSERS) == {choice.value for choice in FeedFormat}
    assert guess_format("feed.CSV") == FeedFormat.CSV
    assert guess_format("https://bmlt.example.org/main_server") == FeedFormat.BMLT
    assert guess_format("https://example.org/meetings.json") == FeedFormat.MEETING_GUIDE
    with pytest.raises(formats.UnknownFormat, match="unknown feed format 'nope'"):
        formats.parser_for("nope")


# Geocoding ----------------------------------------------------------------

def test_geocoding_happens_before_the_apply_transaction_and_its_cache_survives_a_failed_apply(
        source, settings, monkeypatch):
    settings.GEOCODER = "nominatim"
    asked = []
    depth_when_asked = []

    def fake_nominatim(query):
        asked.append(query)
        depth_when_asked.append(len(connection.savepoint_ids))
        return GeopyLocation(query, GeopyPoint(39.74, -104.99), {})

    monkeypatch.setattr(geocoding, "_geocode_function", lambda name: fake_nominatim)
    records = []
    for n in range(3):
        record = feed_record(n, city="Denver", state="CO", postal_code="", address=f"{n} Elm St")
        del record["latitude"], record["longitude"]
        records.append(record)

    def dies(**kwargs):
        raise RuntimeError("worker killed mid-apply")

    monkeypatch.setattr(services, "meeting_refresh_derived", dies)
    base_depth = len(connection.savepoint_ids)
    run = run_feed(source, records)
    assert run.status == "failed" and Meeting.objects.count() == 0
    assert len(asked) == 3 and set(depth_when_asked) == {base_depth}  # no apply transaction open yet
    assert GeocodeCacheEntry.objects.filter(provider="nominatim").count() == 3  # kept for the next run


def test_the_online_geocoder_rate_is_shared_by_every_worker_through_redis():
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/3")
    key = f"test:pace:{os.getpid()}:{time.monotonic_ns()}"
    # Three "workers", each with its own connection, as three processes would have.
    pacers = [geocoding.RequestPacer(min_delay_seconds=0.2, redis_url=redis_url, key=key) for _ in range(3)]
    stamps: list[float] = []
    lock = threading.Lock()

    def worker(pacer):
        for _ in range(2):
            pacer.wait()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker, args=(pacer,)) for pacer in pacers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps.sort()
    # Six requests at one every 0.2 s span at least a second, whichever worker
    # sent them (per-worker pacing: ~0.2 s). The span, not each gap: a thread
    # may note its time late on a loaded machine.
    assert len(stamps) == 6 and stamps[-1] - stamps[0] >= 0.8, stamps


def test_without_redis_the_rate_is_per_process_across_threads():
    pacer = geocoding.RequestPacer(min_delay_seconds=0.1)
    stamps = []
    threads = [threading.Thread(target=lambda: (pacer.wait(), stamps.append(time.monotonic()))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps.sort()
    assert min(b - a for a, b in zip(stamps, stamps[1:])) >= 0.09


# Local paths --------------------------------------------------------------

LOCAL_PATHS = ["/etc/passwd", "file:///etc/passwd", "/proc/self/environ"]


@pytest.mark.parametrize("url", LOCAL_PATHS)
def test_a_feed_source_url_must_be_http(source, url):
    source.url = url
    with pytest.raises(ValidationError) as error:
        source.full_clean()
    assert "http" in error.value.message_dict["url"][0]


@pytest.mark.parametrize("url", LOCAL_PATHS)
def test_a_local_path_is_refused_at_import_and_nothing_of_it_is_stored(source, url):
    FeedSource.objects.filter(pk=source.pk).update(url=url)  # e.g. saved before validation existed
    run = feed_import(source_id=source.pk)
    assert run.status == "failed" and run.reason.startswith("refused") and "http" in run.reason
    assert run.payload == "" and not ImportIssue.objects.exists() and not Meeting.objects.exists()
    assert "root:" not in run.reason


def post_source_form(admin_client, source, **fields):
    """The admin's change form of `source`, as saved with `fields` changed."""
    headers = {"HTTP_ACCEPT_LANGUAGE": fields.pop("language")} if "language" in fields else {}
    return admin_client.post(f"/admin/meetings/feedsource/{source.pk}/change/", {
        "slug": source.slug, "name": source.name, "format": source.format, "url": "https://example.org/feed.json",
        "fellowship": source.fellowship_id, "service_body": source.service_body_id,
        "bmlt_service_body_ids": "", "refresh_minutes": 60, "enabled": "on", "shrink_guard_share": "",
        "runs-TOTAL_FORMS": 0, "runs-INITIAL_FORMS": 0, **fields,
    }, **headers)


def test_the_admin_refuses_a_local_path(source, admin_client):
    response = post_source_form(admin_client, source, url="/etc/passwd")
    assert response.status_code == 200 and b"http" in response.content
    source.refresh_from_db()
    assert source.url == ""


def test_the_command_line_may_import_a_local_file(vocabularies, tmp_path):
    make_source("oc")
    path = tmp_path / "feed.json"
    path.write_text(json.dumps([feed_record(1)]))
    call_command("import_feed", str(path), "--fellowship", "aa", "--service-body", "oc-office")
    file_source = FeedSource.objects.get(url=str(path.resolve()))
    assert Meeting.objects.filter(feed_source=file_source).count() == 1
    # The same source started from anywhere else is refused.
    assert feed_import(source_id=file_source.pk).reason.startswith("refused")


def test_an_uploaded_file_is_read(source, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    source.upload.save("feed.json", ContentFile(json.dumps([feed_record(1)]).encode()))
    assert feed_import(source_id=source.pk).created == 1
    assert Location.objects.count() == 1


class StallingFeed(http.server.BaseHTTPRequestHandler):
    """Sends the start of a feed, then nothing: an import waits in the middle."""

    stall = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = json.dumps([feed_record(n) for n in range(3)]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if StallingFeed.stall:
            self.wfile.write(body[:10])
            self.wfile.flush()
            time.sleep(30)
        else:
            self.wfile.write(body)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_kill_9_mid_import_then_the_next_run_proceeds(vocabularies, settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL: the killed process must share the database")
    settings.FEEDS_ALLOW_PRIVATE_ADDRESSES = True  # the feed is served from this machine
    StallingFeed.stall = True
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StallingFeed)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    source = make_source(url=f"http://127.0.0.1:{httpd.server_address[1]}/feed.json")
    env = {**os.environ, "FEEDS_ALLOW_PRIVATE_ADDRESSES": "true",
           "DATABASE_URL": child_database_url()}
    importing = subprocess.Popen([sys.executable, "manage.py", "import_feed", source.slug], cwd=ROOT, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not ImportRun.objects.filter(source=source).exists():
            time.sleep(0.2)
        crashed = ImportRun.objects.get(source=source)
        assert crashed.status == "running"
        importing.send_signal(signal.SIGKILL)
        importing.wait(timeout=10)
    finally:
        if importing.poll() is None:
            importing.kill()
    StallingFeed.stall = False
    # The database notices the killed session within moments.
    deadline = time.monotonic() + 10
    while True:
        try:
            run = feed_import(source_id=source.pk, allow_shrink=True)
            break
        except SourceBusy:
            assert time.monotonic() < deadline, "the killed import's claim was never seen as stale"
            time.sleep(0.2)
    httpd.shutdown()
    httpd.server_close()
    crashed.refresh_from_db()
    assert (run.status, run.created, run.reason) == ("succeeded", 3, "")
    assert crashed.status == "failed" and "crashed or was killed" in crashed.reason


@pytest.mark.parametrize("fields, field", [
    ({"shrink_guard_share": 5}, "shrink_guard_share"),  # above 1: no run could ever be held
    ({"shrink_guard_share": -0.1}, "shrink_guard_share"),
    ({"refresh_minutes": 0}, "refresh_minutes"),  # due on every beat
])
def test_a_feed_source_refuses_a_share_outside_0_to_1_and_a_zero_refresh(source, fields, field):
    for name, value in fields.items():
        setattr(source, name, value)
    with pytest.raises(ValidationError) as error:
        source.full_clean()
    assert list(error.value.message_dict) == [field]


@pytest.mark.parametrize("share", [None, 0, 0.3, 1])
def test_a_feed_source_takes_a_share_from_0_to_1_or_none_for_the_setting(source, share):
    source.shrink_guard_share, source.refresh_minutes = share, 1
    source.full_clean()


def test_the_admin_shows_a_bad_share_and_refresh_on_their_fields(source, admin_client):
    response = post_source_form(admin_client, source, refresh_minutes=0, shrink_guard_share="5")
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["shrink_guard_share"] == ["Give a share between 0 and 1 (0.3: a run that would remove more than "
                                            "3 in 10 of the meetings is held), or leave it empty for the default."]
    assert errors["refresh_minutes"] == ["Refresh at most once a minute: give 1 or more minutes."]
    source.refresh_from_db()
    assert (source.refresh_minutes, source.shrink_guard_share) == (12 * 60, None)


def test_the_share_and_refresh_messages_are_in_spanish(source, admin_client):
    response = post_source_form(admin_client, source, refresh_minutes=0, shrink_guard_share="5", language="es")
    errors = response.context["adminform"].form.errors
    assert errors["shrink_guard_share"][0].startswith("Indique una proporción entre 0 y 1")
    assert errors["refresh_minutes"] == ["Actualice como mucho una vez por minuto: indique 1 minuto o más."]
