import datetime as dt
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from celery.exceptions import Retry
from django.core.files.base import ContentFile
from django.db import connection
from django.utils import timezone

from meetings import tasks
from meetings.feeds import claims, importer
from meetings.feeds.fetch import TransientFetchError
from meetings.models import FeedSource, ImportRun, Meeting
from tests.factories import feed_record, make_source, child_database_url

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def feed_file(tmp_path, settings):
    """A feed a curator uploaded (a source may not name a file on the server)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return json.dumps([feed_record(n) for n in range(3)]).encode()


def uploaded_source(slug, body: bytes, **fields):
    source = make_source(slug, **fields)
    source.upload.save(f"{slug}.json", ContentFile(body))
    return source


def test_task_imports_a_source_eagerly(vocabularies, feed_file):
    source = uploaded_source("oc", feed_file)
    result = tasks.import_feed_source.delay(source.pk).get()
    assert (result["status"], result["created"]) == ("succeeded", 3)
    source.refresh_from_db()
    assert source.running_since is None and source.claimed_by == "" and source.last_status == "succeeded"


def test_one_run_per_source_at_a_time(vocabularies, feed_file):
    source = uploaded_source("oc", feed_file)
    holder = claims.source_claim_take(source_id=source.pk)
    assert holder
    result = tasks.import_feed_source.delay(source.pk).get()
    assert result["status"] == "skipped" and not ImportRun.objects.exists()
    claims.source_claim_release(source_id=source.pk, holder=holder)
    assert tasks.import_feed_source.delay(source.pk).get()["status"] == "succeeded"


def test_a_stale_claim_of_an_unknown_holder_is_taken_over_after_the_time_limit(vocabularies, feed_file, settings):
    source = uploaded_source("oc", feed_file)
    elsewhere = "host:another-machine:4242"
    FeedSource.objects.filter(pk=source.pk).update(running_since=timezone.now() - dt.timedelta(minutes=5),
                                                   claimed_by=elsewhere)
    assert claims.source_claim_take(source_id=source.pk) is None  # may still be running over there
    FeedSource.objects.filter(pk=source.pk).update(
        running_since=timezone.now() - dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60))
    assert claims.source_claim_take(source_id=source.pk)


def test_task_time_limits_are_the_settings(settings):
    assert tasks.import_feed_source.time_limit == settings.CELERY_TASK_TIME_LIMIT
    assert tasks.import_feed_source.soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT


def test_network_errors_are_retried(vocabularies, feed_file, monkeypatch):
    source = uploaded_source("oc", feed_file)
    real = tasks.feed_import
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise TransientFetchError("connection reset")
        return real(**kwargs)

    monkeypatch.setattr(tasks, "feed_import", flaky)
    # Eagerly, Celery raises the scheduled retry instead of sleeping through it.
    with pytest.raises(Retry, match="Retry in"):
        tasks.import_feed_source.apply(args=[source.pk]).get()
    source.refresh_from_db()
    assert source.running_since is None  # the claim is released for the retry
    assert tasks.import_feed_source.apply(args=[source.pk]).get()["status"] == "succeeded"
    assert len(calls) == 2
    assert tasks.import_feed_source.time_limit and tasks.import_feed_source.soft_time_limit


def test_due_sources(vocabularies, feed_file):
    now = timezone.now()
    never = uploaded_source("never", feed_file)
    recent = uploaded_source("recent", feed_file, last_run_at=now - dt.timedelta(minutes=5))
    old = uploaded_source("old", feed_file, last_run_at=now - dt.timedelta(hours=13))
    uploaded_source("off", feed_file, enabled=False)
    assert sorted(tasks.sources_due(now=now)) == sorted([never.pk, old.pk])
    assert recent.pk not in tasks.import_due_feeds.delay().get()
    assert Meeting.objects.filter(feed_source=never).count() == 3


def test_the_beat_imports_a_source_once_per_due_time(vocabularies, feed_file):
    source = uploaded_source("oc", feed_file, refresh_minutes=60)
    assert tasks.sources_due(now=timezone.now()) == {source.pk: tasks.DUE_SINCE_EVER}
    assert tasks.import_due_feeds.delay().get() == [source.pk]
    # The same task again (a second beat that read the source before that import
    # ended, or the broker delivering it twice): nothing imported.
    again = tasks.import_feed_source.delay(source.pk, due_at=tasks.DUE_SINCE_EVER.isoformat()).get()
    assert again == {"status": "skipped", "reason": "already imported for this due time"}
    assert list(ImportRun.objects.values_list("status", flat=True)) == ["succeeded"]
    # The next due time is the interval after that run; "Import now" (no due time) always imports.
    source.refresh_from_db()
    assert tasks.sources_due(now=source.last_run_at + dt.timedelta(minutes=60)) == {
        source.pk: source.last_run_at + dt.timedelta(minutes=60)}
    assert tasks.import_feed_source.delay(source.pk).get()["status"] == "succeeded"


def test_a_failed_run_is_not_the_import_of_its_due_time(vocabularies, feed_file):
    source = uploaded_source("oc", feed_file)
    ImportRun.objects.create(source=source, status="failed", finished=timezone.now(), reason="connection reset")
    result = tasks.import_feed_source.delay(source.pk, due_at=tasks.DUE_SINCE_EVER.isoformat()).get()
    assert result["status"] == "succeeded"


def test_a_source_whose_runs_keep_killing_their_worker_waits_for_its_next_due_time(vocabularies, feed_file,
                                                                                     settings):
    source = uploaded_source("oc", feed_file)
    due_at = tasks.DUE_SINCE_EVER.isoformat()
    for _ in range(settings.FEEDS_KILLED_RUNS_LIMIT - 1):
        ImportRun.objects.create(source=source, status="failed", finished=timezone.now(),
                                 reason=claims.STALE_RUN_REASON)
    # The last one left "running" by a killed worker: the next claim marks it failed and counts it.
    ImportRun.objects.create(source=source)
    assert tasks.import_feed_source.delay(source.pk, due_at=due_at).get()["status"] == "failed"
    assert ImportRun.objects.filter(reason=claims.STALE_RUN_REASON).count() == settings.FEEDS_KILLED_RUNS_LIMIT
    assert ImportRun.objects.first().reason == importer.killed_runs_reason(settings.FEEDS_KILLED_RUNS_LIMIT)
    assert Meeting.objects.count() == 0
    # It is next due an interval after that, not at once; "Import now" (no due time) imports.
    assert tasks.sources_due(now=timezone.now()) == {}
    assert tasks.import_feed_source.delay(source.pk).get()["status"] == "succeeded"


def test_a_task_whose_worker_died_is_delivered_again_and_a_running_one_never(settings):
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    # Redis delivers an unacknowledged task again after the visibility timeout: longer
    # than a task can wait for its retry and then run.
    longest = tasks.import_feed_source.retry_backoff_max + settings.CELERY_TASK_TIME_LIMIT
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > longest


class FeedHandler(http.server.BaseHTTPRequestHandler):
    body = b"[]"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_real_worker_consumes_the_task_from_redis_into_postgresql(vocabularies):
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL: the worker process must share the database")
    from celery import Celery

    FeedHandler.body = json.dumps([feed_record(n) for n in range(4)]).encode()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    source = make_source(url=f"http://127.0.0.1:{httpd.server_address[1]}/feed.json")

    broker = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/11")
    queue = f"mf-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": child_database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "FEEDS_ALLOW_PRIVATE_ADDRESSES": "true",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "meetingfinder", "worker", "--pool=solo", "-Q", queue,
         "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    client = Celery("test-client", broker=broker)
    try:
        client.send_task("meetings.tasks.import_feed_source", args=[source.pk], queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and worker.poll() is None:
            run = ImportRun.objects.filter(source=source).exclude(status="running").first()
            if run:
                break
            time.sleep(0.5)
        else:
            run = None
        assert run is not None, "the worker did not finish an import within 60 s"
        assert (run.status, run.created) == ("succeeded", 4)
        assert Meeting.objects.filter(feed_source=source).count() == 4
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
        httpd.shutdown()
        httpd.server_close()
        client.close()


class SlowFeeds(http.server.BaseHTTPRequestHandler):
    """Feed n at /feed/<n>.json (three meetings of its own), answered after a
    pause long enough to kill a worker mid-import; counts requests in flight."""
    pause = 1.5
    lock = threading.Lock()
    in_flight = 0

    def log_message(self, *args):
        pass

    def do_GET(self):
        cls = type(self)
        n = int(self.path.rsplit("/", 1)[-1].split(".")[0])
        body = json.dumps([feed_record(n * 10 + k) for k in range(3)]).encode()
        with cls.lock:
            cls.in_flight += 1
        try:
            time.sleep(cls.pause)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the worker asking was killed
        finally:
            with cls.lock:
                cls.in_flight -= 1


def wait_for(condition, *, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


@dataclass
class Workers:
    """Two real Celery workers (prefork, one pool process each, separate
    process groups) on their own queue of the Redis broker, sharing the test
    database, and a client to send them tasks."""
    processes: dict[str, subprocess.Popen]
    logs: dict[str, Path]
    client: object
    queue: str

    def pool_process(self, name: str) -> int:
        """The worker's one pool process: the process whose parent it is (/proc/<pid>/stat)."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                pid, rest = stat.read_text().split(" ", 1)
            except OSError:
                continue  # ended meanwhile
            if int(rest.rsplit(")", 1)[1].split()[1]) == self.processes[name].pid:
                children.append(int(pid))
        assert len(children) == 1, children
        return children[0]

    def print_logs(self):
        for name, log in self.logs.items():
            print(f"--- worker {name}\n{log.read_text()[-4000:]}")


@pytest.fixture
def slow_feeds(vocabularies):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowFeeds)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/feed"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def two_workers(tmp_path, request):
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL: the worker processes must share the database")
    import redis
    from celery import Celery

    broker = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/11")
    queue = f"mf-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": child_database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "FEEDS_ALLOW_PRIVATE_ADDRESSES": "true",
        **getattr(request, "param", {}),
    }
    logs = {name: tmp_path / f"worker-{name}.log" for name in "ab"}
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "meetingfinder", "worker", "--pool=prefork", "--concurrency=1",
             "-n", f"{name}-{queue}@%h", "-Q", queue, "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True)  # its own process group: killing it kills its pool process too
        for name, log in logs.items()
    }
    client = Celery("test-client", broker=broker, backend=broker)
    workers = Workers(processes=processes, logs=logs, client=client, queue=queue)
    try:
        wait_for(lambda: all("ready." in log.read_text() for log in logs.values()), seconds=30,
                 what="both workers ready")
        yield workers
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        client.close()
        keys = redis.Redis.from_url(broker)
        for key in [*keys.scan_iter(f"*{queue}*"), *keys.scan_iter("celery-task-meta-*")]:
            keys.delete(key)


def succeeded_sources() -> int:
    return ImportRun.objects.filter(status="succeeded").values("source").distinct().count()


def runs_by_source(sources) -> dict[int, list[tuple[str, str]]]:
    runs = {source.pk: [] for source in sources}
    for source_id, status, reason in ImportRun.objects.order_by("started", "id").values_list(
            "source", "status", "reason"):
        runs[source_id].append((status, reason))
    return runs


# The killed worker's task is delivered again after this (production: an hour).
SHORT_VISIBILITY = {"CELERY_BROKER_VISIBILITY_TIMEOUT": "6", "CELERY_BROKER_RESTORE_SWEEP_SECONDS": "1"}


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("two_workers", [SHORT_VISIBILITY], indirect=True, ids=["visibility-6s"])
def test_two_workers_import_ten_sources_once_each_and_lose_none_when_one_is_killed(slow_feeds, two_workers):
    """One of two workers is killed (SIGKILL to it and its pool process, as
    when its machine dies) while both import. Its task, never acknowledged,
    is delivered again to the other worker, which takes the dead holder's
    claim over at once: every source ends with exactly one succeeded run for
    its due time, and the same tasks delivered again afterwards import nothing."""
    workers = two_workers
    sources = [make_source(f"src{n}", url=f"{slow_feeds}/{n}.json") for n in range(10)]
    started = time.monotonic()
    try:
        beat = workers.client.send_task("meetings.tasks.import_due_feeds", queue=workers.queue)
        assert sorted(beat.get(timeout=15)) == sorted(source.pk for source in sources)

        wait_for(lambda: SlowFeeds.in_flight == 2, seconds=15, what="both workers importing at once")
        os.killpg(workers.processes["a"].pid, signal.SIGKILL)
        workers.processes["a"].wait(timeout=10)
        wait_for(lambda: succeeded_sources() == 10, seconds=45,
                 what="every source imported (none lost with the killed worker)")

        runs = runs_by_source(sources)
        assert all([status for status, _ in source_runs].count("succeeded") == 1 for source_runs in runs.values())
        # The killed worker's run, left "running", was marked failed by the run that took the source over.
        assert sorted(source_runs for source_runs in runs.values() if len(source_runs) > 1) == [
            [("failed", claims.STALE_RUN_REASON), ("succeeded", "")]]
        assert Meeting.objects.count() == 30

        # The same tasks delivered again (a second beat that read the sources before
        # these imports finished, or a redelivery): each is skipped, nothing imported twice.
        again = [workers.client.send_task("meetings.tasks.import_feed_source", args=[source.pk],
                                          kwargs={"due_at": tasks.DUE_SINCE_EVER.isoformat()}, queue=workers.queue)
                 for source in sources]
        assert [result.get(timeout=30) for result in again] == [
            {"status": "skipped", "reason": "already imported for this due time"}] * 10
        assert workers.client.send_task("meetings.tasks.import_due_feeds", queue=workers.queue).get(timeout=15) == []
        assert ImportRun.objects.filter(status="succeeded").count() == 10
        assert time.monotonic() - started < 60
    except AssertionError:
        workers.print_logs()
        raise


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_pool_process_killed_mid_import_gives_its_task_back_at_once(slow_feeds, two_workers):
    """Only the pool process of one worker dies (the OOM killer's choice);
    the worker itself lives on and gives the task back at once (an hour's
    visibility timeout never comes into it): the source is imported."""
    workers = two_workers
    sources = [make_source(f"src{n}", url=f"{slow_feeds}/{n}.json") for n in range(4)]
    try:
        workers.client.send_task("meetings.tasks.import_due_feeds", queue=workers.queue).get(timeout=15)
        wait_for(lambda: SlowFeeds.in_flight == 2, seconds=15, what="both workers importing at once")
        os.kill(workers.pool_process("a"), signal.SIGKILL)
        wait_for(lambda: succeeded_sources() == 4, seconds=30, what="every source imported (none lost)")
        runs = runs_by_source(sources)
        assert all([status for status, _ in source_runs].count("succeeded") == 1 for source_runs in runs.values())
        assert sorted(source_runs for source_runs in runs.values() if len(source_runs) > 1) == [
            [("failed", claims.STALE_RUN_REASON), ("succeeded", "")]]
        assert workers.processes["a"].poll() is None
    except AssertionError:
        workers.print_logs()
        raise
