"""HTTP throughput and latency of the search endpoint: gunicorn as deployed
(gunicorn.conf.py: a gthread worker per core, one thread each) on
127.0.0.1, driven by `wrk` with a Lua script that sends every request to a
different random point in a populated area with a random weekday, open/closed
and attendance, so no response cache can stand in for the search.

    DATABASE_URL=postgres://.../mf_bench_100000 python bench/http_bench.py --json out.json

Needs `wrk` (Debian package `wrk`); without it, a threaded Python client is used.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# DEBUG is off, as in production, so Django needs a key: a throwaway one.
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-key-never-used-in-production-7c1e9a4f2b8d6e3a5c0f")

from fixtures import directory  # noqa: E402

LUA = """
local points = {%(points)s}
local days = {0, 1, 2, 3, 4, 5, 6}
local attendance = {"in_person", "in_person", "in_person", "online", "hybrid"}
local opens = {"open", "open", "closed"}
math.randomseed(%(seed)d)
local statuses = {}

request = function()
  local p = points[math.random(#points)]
  local path = string.format(
    "/api/v1/meetings/?lat=%%.5f&lng=%%.5f&radius=25&units=mi&day=%%d&open=%%s&attendance=%%s&limit=25",
    p[1], p[2], days[math.random(#days)], opens[math.random(#opens)], attendance[math.random(#attendance)])
  return wrk.format("GET", path)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "connect_errors": %%d, "read_errors": %%d, "write_errors": %%d, ' ..
    '"status_errors": %%d, "timeouts": %%d, "p50_ms": %%.3f, "p95_ms": %%.3f, "p99_ms": %%.3f, "max_ms": %%.3f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int, workers: int | None = None, *, threads: int | None = None,
                   worker_class: str | None = None) -> subprocess.Popen:
    """gunicorn as deployed (./gunicorn.conf.py), on this port; workers,
    threads and worker class override the file's when given."""
    env = dict(os.environ, DJANGO_DEBUG="false", DJANGO_SETTINGS_MODULE="meetingfinder.settings")
    # All the load comes from one address: the per-client compute budget
    # (meetings/throttles.py) would refuse it, and it limits a client, not
    # the capacity measured here.
    env.setdefault("PUBLIC_COMPUTE_SECONDS_PER_MINUTE", "0")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    overrides = []
    for flag, value in (("--workers", workers), ("--threads", threads), ("--worker-class", worker_class)):
        if value is not None:
            overrides += [flag, str(value)]
    process = subprocess.Popen(
        [str(gunicorn), "meetingfinder.wsgi:application", "--config", str(ROOT / "gunicorn.conf.py"), "--bind",
         f"127.0.0.1:{port}", *overrides, "--log-level", "warning",
         *(["--access-logfile", "-"] if os.environ.get("BENCH_ACCESS_LOG") else [])],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/fellowships/", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.3)
    stop(process)
    raise RuntimeError(f"gunicorn did not answer on port {port}: {process.stderr.read().decode()[-2000:]}")


def stop(process: subprocess.Popen) -> None:
    # Only the gunicorn this script started: its own process group.
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def run_wrk(port: int, points, *, seconds: int, connections: int, threads: int, seed: int) -> dict:
    lua_points = ", ".join(f"{{{lat:.5f}, {lng:.5f}}}" for lat, lng in points)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % {"points": lua_points, "seed": seed})
    try:
        output = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", script.name,
             f"http://127.0.0.1:{port}"],
            capture_output=True, text=True, timeout=seconds + 60, check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    line = next(line for line in output.splitlines() if line.startswith("WRKJSON "))
    result = json.loads(line[len("WRKJSON "):])
    result["per_second"] = round(result["requests"] / (result["duration_us"] / 1e6), 1)
    result["errors"] = sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors",
                                               "timeouts"))
    result["client"] = "wrk"
    return result


def run_python_client(port: int, points, *, seconds: int, connections: int, seed: int) -> dict:
    """Fallback when wrk is missing: threads with keep-alive connections."""
    import http.client

    latencies, errors, lock = [], [0], threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(n: int) -> None:
        rng = random.Random(seed + n)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        while time.monotonic() < deadline:
            lat, lng = points[rng.randrange(len(points))]
            path = (f"/api/v1/meetings/?lat={lat:.5f}&lng={lng:.5f}&radius=25&units=mi&day={rng.randrange(7)}"
                    f"&open=open&attendance=in_person&limit=25")
            t0 = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                ok = False
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            with lock:
                latencies.append((time.perf_counter() - t0) * 1000)
                errors[0] += not ok

    started = time.monotonic()
    workers = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started
    latencies.sort()

    def at(q):
        return round(latencies[int(q * (len(latencies) - 1))], 3) if latencies else None

    return {"requests": len(latencies), "per_second": round(len(latencies) / elapsed, 1), "errors": errors[0],
            "p50_ms": at(0.5), "p95_ms": at(0.95), "p99_ms": at(0.99), "client": "python-threads"}


def gunicorn_settings(workers: int | None, threads: int | None, worker_class: str | None) -> dict:
    """What the server runs with: gunicorn.conf.py's values under the overrides."""
    config: dict = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), config)
    return {"gunicorn_workers": workers if workers is not None else config["workers"],
            "threads": threads if threads is not None else config["threads"],
            "worker_class": worker_class or config["worker_class"]}


def run(*, seconds: int, connections: int, workers: int | None, seed: int, threads: int | None = None,
        worker_class: str | None = None) -> dict:
    rng = random.Random(seed)
    points = directory.populated_points(rng, 2000)
    port = free_port()
    process = start_gunicorn(port, workers, threads=threads, worker_class=worker_class)
    try:
        if shutil.which("wrk"):
            # A short warm-up so every worker has its connection and caches.
            run_wrk(port, points, seconds=2, connections=connections, threads=2, seed=seed + 1)
            result = run_wrk(port, points, seconds=seconds, connections=connections, threads=2, seed=seed)
        else:
            result = run_python_client(port, points, seconds=seconds, connections=connections, seed=seed)
    finally:
        stop(process)
    result.update(gunicorn_settings(workers, threads, worker_class), connections=connections, seconds=seconds)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, help="default: gunicorn.conf.py's (one per core)")
    parser.add_argument("--threads", type=int, help="threads per worker; default: gunicorn.conf.py's")
    parser.add_argument("--worker-class", help="default: gunicorn.conf.py's")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args()
    result = run(seconds=args.seconds, connections=args.connections, workers=args.workers, seed=args.seed,
                 threads=args.threads, worker_class=args.worker_class)
    text = json.dumps(result, indent=2)
    if args.json:
        Path(args.json).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
