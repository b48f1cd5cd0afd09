"""Faults, scripted (issue 12): one command breaks what production depends on
and counts what the app does about it.

    .venv/bin/python bench/faults.py [--scenarios kill,redis,postgres] [--keep-going]

Everything runs on throwaway services this script starts on spare ports and
removes afterwards, whatever happens: a PostgreSQL cluster (initdb, as the
`postgres` user when run as root; PG_BIN, default /usr/lib/postgresql/15/bin),
migrated, with the Orange County sample data; a redis-server; gunicorn as
deployed (gunicorn.conf.py, DEBUG off, a throwaway key). The machine's own
PostgreSQL and Redis are never touched.

  kill      `manage.py import_feed` killed with SIGKILL before and at points
            of its write transaction: the source's meetings are all of the
            old feed or all of the new one, the killed run is marked failed
            by the next run of the source, and that run succeeds.
  redis     Redis (cache and Celery broker) stopped: search, pages, the
            admin and a change request still answer; the admin's "Import
            now" says the queue is unavailable and runs nothing in the request.
  postgres  PostgreSQL stopped (`pg_ctl stop -m fast`) and started again
            while clients search: only 200s and 503s with Retry-After, no
            request hangs, and searches succeed again without restarting
            the app.

Prints a table of counts per scenario and the checks; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
SCENARIOS = ("kill", "redis", "postgres")
# The sample data's AA office: the kill scenario's feed is listed under it.
SERVICE_BODY = "oc-aa-central-office"
# Orange County, where the sample meetings are.
SEARCH_CENTRE = (33.70, -117.83)
STALE_RUN_WORDS = "crashed or was killed"
QUEUE_UNAVAILABLE_WORDS = "import queue is unavailable"
REDIS_DOWN_MAX_SECONDS = 3.0


# What a scenario found: counts to print and checks that pass or fail.

@dataclass
class Check:
    name: str
    passed: bool
    detail: str = ""


@dataclass
class Outcome:
    scenario: str
    counts: dict[str, object] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    def check(self, name: str, passed: bool, detail: str = "") -> None:
        self.checks.append(Check(name, bool(passed), detail))

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)


def table(outcomes: list[Outcome]) -> str:
    lines = []
    for outcome in outcomes:
        lines.append(f"\n== {outcome.scenario}")
        width = max((len(k) for k in outcome.counts), default=0)
        for key, value in outcome.counts.items():
            lines.append(f"  {key:<{width}}  {value}")
        for c in outcome.checks:
            lines.append(f"  [{'pass' if c.passed else 'FAIL'}] {c.name}{f' ({c.detail})' if c.detail else ''}")
    verdict = "all checks passed" if all(o.passed for o in outcomes) else "SOME CHECKS FAILED"
    lines.append(f"\nfaults: {verdict}")
    return "\n".join(lines)


# Pure judgements, tested in bench/checks/test_faults.py.

def feed_state(*, live_names: list[str], versions: dict[str, int]) -> str:
    """Which feed version the source's live meetings are: the version whose
    records they all are and whose record count they have, else "mixed".
    `versions` maps a version's name marker to its record count."""
    for marker, count in versions.items():
        if len(live_names) == count and all(name.endswith(f"({marker})") for name in live_names):
            return marker
    return "mixed"


@dataclass
class Sample:
    """One search sent while PostgreSQL was stopped and started."""
    started: float
    seconds: float
    status: int | None  # None: no answer within the client's timeout, or the connection failed
    retry_after: bool = False
    hung: bool = False


def outage_summary(samples: list[Sample], *, stopping: float, started_again: float, settle: float = 2.0) -> dict:
    """Counts of the PostgreSQL scenario's samples, by phase: answered before
    the stop began, while down (from the stop to `settle` seconds after it
    started again) and after."""
    phases = {"before": [], "down": [], "after": []}
    for s in samples:
        if s.started + s.seconds < stopping:
            phases["before"].append(s)
        elif s.started < started_again + settle:
            phases["down"].append(s)
        else:
            phases["after"].append(s)
    summary: dict = {"requests": len(samples)}
    summary["200"] = sum(s.status == 200 for s in samples)
    summary["503"] = sum(s.status == 503 for s in samples)
    summary["503 without Retry-After"] = sum(s.status == 503 and not s.retry_after for s in samples)
    summary["other status"] = sum(s.status not in (200, 503) and not s.hung and s.status is not None
                                  for s in samples)
    summary["connection errors"] = sum(s.status is None and not s.hung for s in samples)
    summary["hung (client timeout)"] = sum(s.hung for s in samples)
    for phase, items in phases.items():
        statuses = Counter("hung" if s.hung else s.status for s in items)
        summary[f"{phase}: by status"] = dict(sorted(statuses.items(), key=lambda kv: str(kv[0])))
    summary["slowest ms"] = round(max((s.seconds for s in samples), default=0) * 1000)
    return summary


def outage_checks(summary: dict, outcome: Outcome) -> None:
    before, down, after = (summary[f"{p}: by status"] for p in ("before", "down", "after"))
    outcome.check("searches answered 200 before the stop", before and set(before) == {200}, str(before))
    outcome.check("the outage was seen: 503s while PostgreSQL was down", down.get(503, 0) > 0, str(down))
    outcome.check("every 503 carries Retry-After", summary["503 without Retry-After"] == 0)
    outcome.check("no other status", summary["other status"] == 0)
    outcome.check("no connection refused or reset", summary["connection errors"] == 0)
    outcome.check("no request hung", summary["hung (client timeout)"] == 0)
    outcome.check("searches succeed again after the restart, app not restarted",
                  after and set(after) == {200}, str(after))


# Throwaway services.

def spare_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def as_postgres(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: the cluster belongs to `postgres` then.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class Cluster:
    """A PostgreSQL cluster of its own under `directory`, on a spare port."""

    def __init__(self, directory: Path) -> None:
        self.data = directory / "pgdata"
        self.socket_dir = directory
        self.log = directory / "postgresql.log"
        self.port = spare_port()

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create(self) -> None:
        subprocess.run(as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"]),
                       check=True, capture_output=True)
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.socket_dir}'\nfsync = off\n")
        self.start()

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), *args]),
                       check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self.pg_ctl("start", "-w")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("stop", "-m", mode, "-w")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError):
                self.stop("immediate")


class RedisServer:
    def __init__(self, directory: Path, *, started) -> None:
        self.port = spare_port()
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started("process", self.process.pid)
        wait_for(lambda: port_open(self.port), what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_for(ready, *, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up within {seconds:.0f} s")


class App:
    """gunicorn as deployed (gunicorn.conf.py), DEBUG off, on a spare port."""

    def __init__(self, env: dict, log: Path, *, started) -> None:
        self.port = spare_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        gunicorn = Path(PYTHON).with_name("gunicorn")
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [str(gunicorn), "meetingfinder.wsgi:application", "--config", str(ROOT / "gunicorn.conf.py"),
                 "--bind", f"127.0.0.1:{self.port}"],
                cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)
        started("group", self.process.pid)
        wait_for(self._answers, what=f"gunicorn on port {self.port} (log: {log})")

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
        import requests

        with contextlib.suppress(requests.RequestException):
            return requests.get(f"{self.base}/api/v1/fellowships/", timeout=5).status_code == 200
        return False

    def stop(self) -> None:
        # Only the gunicorn this script started: its own process group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class Services:
    """What every scenario shares, removed at exit whatever happens."""

    def __init__(self, work_dir: Path | None = None) -> None:
        self.directory = work_dir or Path(tempfile.mkdtemp(prefix="mf-faults."))
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        self.cluster = Cluster(self.directory)
        self.database_url = self.cluster.url("mf_faults")
        self.secret_key = secrets.token_urlsafe(50)
        self.admin_password = secrets.token_urlsafe(16)
        self._stops: list = []

    def env(self, **extra: str) -> dict:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("DATABASE_", "CACHE_", "CELERY_", "REDIS_", "DJANGO_", "GUNICORN_"))}
        env.update(DATABASE_URL=self.database_url, DJANGO_DEBUG="false", DJANGO_SECRET_KEY=self.secret_key,
                   DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", GEOCODER="offline", WEB_CONCURRENCY="2",
                   MEDIA_ROOT=str(self.directory / "media"), LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
        env.update(extra)
        return env

    def manage(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env(**env), capture_output=True,
                              text=True, timeout=600)

    def prepare(self) -> dict:
        started = time.monotonic()
        self.cluster.create()
        self._stops.append(self.cluster.remove)
        subprocess.run(as_postgres([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.cluster.port),
                                    "-U", "postgres", "mf_faults"]), check=True, capture_output=True)
        for args, extra in ((("migrate", "--noinput", "-v", "0"), {}), (("load_sample_data",), {}),
                            (("createsuperuser", "--noinput", "--username", "faults", "--email", "faults@example.org"),
                             {"DJANGO_SUPERUSER_PASSWORD": self.admin_password})):
            done = self.manage(*args, **extra)
            if done.returncode:
                raise RuntimeError(f"manage.py {args[0]} failed: {done.stdout[-1500:]} {done.stderr[-1500:]}")
        return {"PostgreSQL cluster, migrated, sample data (s)": round(time.monotonic() - started, 1)}

    def started(self, kind: str, pid: int) -> None:
        """Noted for a caller's cleanup (.ci/run's trap) should this script
        itself be killed before its own: `group PGID` or `process PID`."""
        with open(self.directory / "processes", "a") as noted:
            noted.write(f"{kind} {pid}\n")

    def app(self, **env: str) -> App:
        app = App(self.env(**env), self.directory / "gunicorn.log", started=self.started)
        self._stops.append(app.stop)
        return app

    def redis(self) -> RedisServer:
        server = RedisServer(self.directory, started=self.started)
        self._stops.append(server.stop)
        return server

    def close(self) -> None:
        for stop in reversed(self._stops):
            with contextlib.suppress(Exception):
                stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def query(services: Services, sql: str, params: tuple = ()) -> list[tuple]:
    import psycopg

    with psycopg.connect(services.database_url, autocommit=True) as connection:
        return connection.execute(sql, params).fetchall()


# Scenario: kill -9 mid-import.

def feed_records(*, marker: str, count: int) -> list[dict]:
    """A Meeting Guide feed whose every record names its version."""
    return [{"slug": f"faults-{n}", "name": f"Faults meeting {n} ({marker})", "day": n % 7,
             "time": f"{6 + n % 15:02d}:{'30' if marker == 'v2' else '00'}", "types": ["O", "D"],
             "address": f"{n} Main St", "city": "Irvine", "state": "CA", "postal_code": "92618",
             "latitude": 33.60 + (n % 500) * 0.0005, "longitude": -117.90 + (n // 500) * 0.005}
            for n in range(count)]


class ImportProcess:
    """`manage.py import_feed` in a process of its own; its progress bar
    (stderr, every 200 meetings written in its one transaction) is read as
    it comes, so it can be killed at a chosen point of the write."""

    def __init__(self, services: Services, source: str) -> None:
        self.process = subprocess.Popen([PYTHON, "manage.py", "import_feed", source], cwd=ROOT,
                                        env=services.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.written = 0
        self.total = 0
        self.output = ""
        threading.Thread(target=self._read_progress, daemon=True).start()

    def _read_progress(self) -> None:
        chunk = b""
        while byte := self.process.stderr.read(1):
            chunk += byte
            if byte in b"\r\n":
                text = chunk.decode(errors="replace")
                self.output += text
                if found := re.search(r"(\d+)/(\d+)", text):
                    self.written, self.total = int(found[1]), int(found[2])
                chunk = b""

    def kill_when(self, ready, *, seconds: float = 120) -> bool:
        """SIGKILL once `ready()`; False when the import ended first."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.process.poll() is None:
            if ready():
                self.process.send_signal(signal.SIGKILL)
                self.process.wait()
                return True
            time.sleep(0.005)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        return False


def scenario_kill(services: Services, *, records: int) -> Outcome:
    outcome = Outcome("kill -9 mid-import")
    feed = services.directory / "faults-feed.json"
    versions = {"v1": records, "v2": records + records // 20}
    feed.write_text(json.dumps(feed_records(marker="v1", count=versions["v1"])))
    first = services.manage("import_feed", str(feed), "--fellowship", "aa", "--service-body", SERVICE_BODY)
    if first.returncode:
        outcome.check("the first import succeeds", False, first.stderr[-500:])
        return outcome
    source_id, slug = query(services, "SELECT id, slug FROM meetings_feedsource WHERE url = %s", (str(feed),))[0]

    def live_names() -> list[str]:
        return [r[0] for r in query(services, "SELECT name FROM meetings_meeting WHERE feed_source_id = %s "
                                              "AND NOT removed", (source_id,))]

    def running_run() -> bool:
        return bool(query(services, "SELECT 1 FROM meetings_importrun WHERE source_id = %s AND status = 'running'",
                          (source_id,)))

    # Where each kill lands: before the write transaction (the run is
    # recorded, the feed being read), then at points of the write.
    kill_points = [("before the write", None), ("write 25%", 0.25), ("write 50%", 0.50)]
    tally = Counter()
    current = "v1"
    for label, share in kill_points:
        new = "v2" if current == "v1" else "v1"
        feed.write_text(json.dumps(feed_records(marker=new, count=versions[new])))
        importing = ImportProcess(services, slug)
        if share is None:
            killed = importing.kill_when(running_run)
        else:
            killed = importing.kill_when(lambda: importing.total and importing.written >= share * importing.total)
        tally["kills"] += killed
        state = feed_state(live_names=live_names(), versions=versions)
        kind = "old" if state == current else "new" if state == new else "mixed"
        tally[f"database fully {kind} after the kill" if kind != "mixed" else "database mixed after the kill"] += 1
        outcome.check(f"kill {label}: killed mid-run, database fully old or fully new", killed and kind != "mixed",
                      f"killed={killed}, {importing.written}/{importing.total} written, state={state}")
        killed_run = query(services, "SELECT id FROM meetings_importrun WHERE source_id = %s ORDER BY id DESC LIMIT 1",
                           (source_id,))[0][0]
        # The next run: the killed process's session may take a moment to end.
        deadline = time.monotonic() + 30
        while True:
            again = services.manage("import_feed", slug)
            if again.returncode == 0 or "in progress" not in again.stderr or time.monotonic() > deadline:
                break
            tally["next run waited (source still claimed)"] += 1
            time.sleep(0.5)
        status, reason = query(services, "SELECT status, reason FROM meetings_importrun WHERE id = %s",
                               (killed_run,))[0]
        marked = status == "failed" and STALE_RUN_WORDS in reason
        tally["killed runs marked failed by the next run"] += marked
        after = feed_state(live_names=live_names(), versions=versions)
        proceeded = again.returncode == 0 and after == new
        tally["next runs succeeded, database fully new"] += proceeded
        outcome.check(f"kill {label}: the killed run is marked failed, the next run succeeds", marked and proceeded,
                      f"killed run {status}; next run exit {again.returncode}, state={after}")
        current = new if proceeded else current
    outcome.counts.update({"feed records (v1 / v2)": f"{versions['v1']:,} / {versions['v2']:,}", **tally})
    return outcome


# Scenario: Redis down.

class AdminSession:
    def __init__(self, base: str) -> None:
        import requests

        self.base = base
        self.http = requests.Session()

    def csrf(self) -> str:
        return self.http.cookies.get("csrftoken", "")

    def login(self, username: str, password: str):
        self.http.get(f"{self.base}/admin/login/", timeout=15)
        return self.http.post(f"{self.base}/admin/login/?next=/admin/", timeout=15, data={
            "username": username, "password": password, "csrfmiddlewaretoken": self.csrf(), "next": "/admin/"},
            headers={"Referer": f"{self.base}/admin/login/"})

    def import_now(self, source_id: int):
        url = f"{self.base}/admin/meetings/feedsource/"
        self.http.get(url, timeout=15)
        return self.http.post(url, timeout=30, headers={"Referer": url}, data={
            "action": "import_now", "_selected_action": str(source_id), "csrfmiddlewaretoken": self.csrf()})


def redis_round(services: Services, app: App, *, slug: str, source_id: int) -> dict[str, tuple[int, str, float]]:
    """Each request a visitor, a curator or a client makes: (status, what it said, seconds)."""
    import requests

    answers = {}

    def timed(name: str, send, said=lambda r: r.headers.get("X-Cache", "")):
        started = time.monotonic()
        try:
            response = send()
            answers[name] = (response.status_code, said(response), time.monotonic() - started)
        except requests.RequestException as error:
            answers[name] = (0, type(error).__name__, time.monotonic() - started)

    lat, lng = SEARCH_CENTRE
    visitor = requests.Session()
    for name, path in (("search API", f"/api/v1/meetings/?lat={lat}&lng={lng}&radius=25"),
                       ("search API again (cache)", f"/api/v1/meetings/?lat={lat}&lng={lng}&radius=25"),
                       ("meeting API", f"/api/v1/meetings/{slug}/"),
                       ("Meeting Guide feed", "/api/v1/feeds/meeting-guide.json"),
                       ("search page", "/?near=92660"),
                       ("meeting page", f"/meetings/{slug}/")):
        timed(name, lambda p=path: visitor.get(app.base + p, timeout=15))
    timed("change request (throttled)", lambda: visitor.post(
        f"{app.base}/api/v1/change-requests/", json={"meeting": slug, "description": "faults: Redis"}, timeout=15))
    admin = AdminSession(app.base)
    timed("admin login", lambda: admin.login("faults", services.admin_password),
          said=lambda r: "logged in" if r.url.rstrip("/").endswith("/admin") else "not logged in")
    for name, path in (("admin index", "/admin/"), ("admin meetings", "/admin/meetings/meeting/"),
                       ("admin feed sources", "/admin/meetings/feedsource/")):
        timed(name, lambda p=path: admin.http.get(app.base + p, timeout=15), said=lambda r: "")

    def import_message(response) -> str:
        text = response.text.lower()
        for words in (QUEUE_UNAVAILABLE_WORDS, "import queued", "import started in the background"):
            if words in text:
                return words
        return "no message"

    timed("admin Import now", lambda: admin.import_now(source_id), said=import_message)
    # Pressed again: a broker client's reconnection backoff shows from the second attempt.
    timed("admin Import now again", lambda: admin.import_now(source_id), said=import_message)
    return answers


def scenario_redis(services: Services) -> Outcome:
    outcome = Outcome("Redis down (cache and broker)")
    redis = services.redis()
    app = services.app(CACHE_URL=f"redis://127.0.0.1:{redis.port}/0",
                       CELERY_BROKER_URL=f"redis://127.0.0.1:{redis.port}/1")
    slug = query(services, "SELECT slug FROM meetings_meeting WHERE published AND NOT removed ORDER BY id LIMIT 1")[0][0]
    source_id = query(services, "SELECT id FROM meetings_feedsource ORDER BY id LIMIT 1")[0][0]
    runs_before = query(services, "SELECT count(*) FROM meetings_importrun")[0][0]
    up = redis_round(services, app, slug=slug, source_id=source_id)
    redis.stop()
    outcome.check("Redis is really down", not port_open(redis.port))
    runs_while_up = query(services, "SELECT count(*) FROM meetings_importrun")[0][0]
    down = redis_round(services, app, slug=slug, source_id=source_id)
    app.stop()
    runs_after = query(services, "SELECT count(*) FROM meetings_importrun")[0][0]
    width = max(len(name) for name in up)
    outcome.counts[f"{'request':<{width}}"] = f"{'Redis up':<29}| Redis down"
    for name in up:
        (s1, said1, t1), (s2, said2, t2) = up[name], down[name]
        outcome.counts[f"{name:<{width}}"] = (f"{s1} {said1:<16} {t1 * 1000:>5.0f} ms | "
                                              f"{s2} {said2:<27} {t2 * 1000:>5.0f} ms")
    expected = {"change request (throttled)": 202}
    outcome.check("the cache was in Redis while it was up", up["search API again (cache)"][1] == "hit")
    for name, (status, said, seconds) in down.items():
        if name.startswith("admin Import now"):
            continue
        outcome.check(f"Redis down: {name} answers {expected.get(name, 200)}", status == expected.get(name, 200),
                      f"{status} {said}".strip())
    outcome.check("Redis down: the admin is logged in", down["admin login"][1] == "logged in")
    outcome.check("Redis up: Import now queues the import", up["admin Import now"][1] == "import queued")
    for name in ("admin Import now", "admin Import now again"):
        outcome.check(f"Redis down: {name[6:]} answers 200 saying the import queue is unavailable",
                      down[name][:2] == (200, QUEUE_UNAVAILABLE_WORDS), str(down[name][:2]))
    outcome.check("Redis down: no import ran in the request", runs_after == runs_while_up == runs_before,
                  f"import runs {runs_before} -> {runs_while_up} -> {runs_after}")
    # Waiting on Redis shows as seconds: its timeouts, a client's reconnection backoff.
    outcome.check(f"Redis down: no request waits on Redis (each under {REDIS_DOWN_MAX_SECONDS:.0f} s)",
                  all(seconds < REDIS_DOWN_MAX_SECONDS for _, _, seconds in down.values()))
    return outcome


# Scenario: PostgreSQL stopped and started under load.

def search_load(base: str, *, clients: int, stop: threading.Event, timeout: float) -> list[Sample]:
    import requests

    samples: list[Sample] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        rng = random.Random(n)
        http = requests.Session()
        while not stop.is_set():
            lat = SEARCH_CENTRE[0] + rng.uniform(-0.3, 0.3)
            lng = SEARCH_CENTRE[1] + rng.uniform(-0.3, 0.3)
            url = f"{base}/api/v1/meetings/?lat={lat:.5f}&lng={lng:.5f}&radius=10&day={rng.randrange(7)}"
            started = time.monotonic()
            try:
                response = http.get(url, timeout=timeout)
                sample = Sample(started, time.monotonic() - started, response.status_code,
                                retry_after="Retry-After" in response.headers)
            except requests.Timeout:
                sample = Sample(started, time.monotonic() - started, None, hung=True)
                http = requests.Session()
            except requests.RequestException:
                sample = Sample(started, time.monotonic() - started, None)
                http = requests.Session()
                time.sleep(0.05)
            with lock:
                samples.append(sample)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


def scenario_postgres(services: Services, *, clients: int, down_seconds: float, timeout: float) -> Outcome:
    outcome = Outcome("PostgreSQL stopped and started under load")
    app = services.app()
    stop = threading.Event()
    samples: list[Sample] = []
    loader = threading.Thread(target=lambda: samples.extend(
        search_load(app.base, clients=clients, stop=stop, timeout=timeout)))
    loader.start()
    try:
        time.sleep(3)
        stopping = time.monotonic()
        services.cluster.stop("fast")
        stopped = time.monotonic()
        time.sleep(down_seconds)
        services.cluster.start()
        started_again = time.monotonic()
        time.sleep(5)
    finally:
        stop.set()
        loader.join()
        app.stop()
    summary = outage_summary(samples, stopping=stopping, started_again=started_again)
    outcome.counts.update({"clients": clients, "client timeout (s)": timeout,
                           "pg_ctl stop -m fast took (s)": round(stopped - stopping, 2),
                           "down, then pg_ctl start -w, took (s)": round(started_again - stopped, 2), **summary})
    outage_checks(summary, outcome)
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated: {', '.join(SCENARIOS)}")
    parser.add_argument("--records", type=int, default=800, help="records of the kill scenario's feed")
    parser.add_argument("--clients", type=int, default=8, help="searching clients while PostgreSQL restarts")
    parser.add_argument("--down-seconds", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=10.0, help="client timeout: slower counts as hung")
    parser.add_argument("--work-dir", type=Path, help="where the throwaway services live (default: a new temp dir); "
                        "removed at the end")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if unknown := set(chosen) - set(SCENARIOS):
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    started = time.monotonic()
    # Stopped from outside (CI's timeout, kill): clean up as on any other exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    services = Services(args.work_dir)
    outcomes: list[Outcome] = []
    try:
        setup = Outcome("setup", counts=services.prepare())
        setup.check("throwaway PostgreSQL migrated with the sample data", True)
        outcomes.append(setup)
        for name in chosen:
            began = time.monotonic()
            try:
                if name == "kill":
                    outcomes.append(scenario_kill(services, records=args.records))
                elif name == "redis":
                    outcomes.append(scenario_redis(services))
                else:
                    outcomes.append(scenario_postgres(services, clients=args.clients, down_seconds=args.down_seconds,
                                                      timeout=args.timeout))
            except Exception as error:  # noqa: BLE001 - a scenario that breaks is a failed check, reported
                failed = Outcome(name)
                failed.check("the scenario ran to its end", False, f"{type(error).__name__}: {error}")
                outcomes.append(failed)
            outcomes[-1].counts["scenario took (s)"] = round(time.monotonic() - began, 1)
    finally:
        services.close()
    print(table(outcomes))
    print(f"({time.monotonic() - started:.0f} s)")
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
