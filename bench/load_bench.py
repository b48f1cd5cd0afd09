"""Load (issue 12): `wrk` at 64 connections for 60 s on each of search, a
meeting's detail and the Meeting Guide export, against gunicorn as deployed
(gunicorn.conf.py, DEBUG off, a throwaway key, ALLOWED_HOSTS) on PostgreSQL
with 100,000 meetings and the answer cache in Redis, as production runs it.
Prints requests/s, p50, p99, answers that are not 2xx/3xx, socket errors
(connect, read, write, timeout) and the RSS of each gunicorn worker (from
/proc) after a warm-up and after each endpoint's run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mf_load_100000 .venv/bin/python bench/load_bench.py \\
        [--seconds 60] [--connections 64] [--cache-url redis://127.0.0.1:6379/9] [--json out.json]

The database is only read. Load one with `manage.py migrate` then
`bench/directory.py --size 100000` (bench/README.md). Endpoints, every
request drawn at random:
  search  near a random populated point (bench/http_bench.py's script), radius 25 mi,
          a random weekday, open/closed and attendance
  detail  /api/v1/meetings/<slug>/ of 2,000 meetings drawn from the directory
  export  /api/v1/feeds/meeting-guide.json?service_body=<slug> of every service body
          (the feed a service body's tsml-ui or app reads)
Exits 1 when any request failed or a worker's RSS grew by more than --max-growth-mb.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.http_bench import LUA as SEARCH_LUA  # noqa: E402
from bench.http_bench import free_port, start_gunicorn, stop  # noqa: E402
from fixtures import directory  # noqa: E402

# One path drawn at random from a list per request; the same report as bench/http_bench.py's.
PATHS_LUA = """
local paths = {%(paths)s}
math.randomseed(%(seed)d)
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
""" + SEARCH_LUA[SEARCH_LUA.index("done = function"):]


def lua_strings(values: list[str]) -> str:
    return ", ".join(json.dumps(v) for v in values)


def endpoints(database_url: str, *, seed: int) -> dict[str, str]:
    """Each endpoint's wrk script, its slugs drawn from the directory (read only)."""
    import psycopg

    rng = random.Random(seed)
    with psycopg.connect(database_url) as connection:
        slugs = [r[0] for r in connection.execute(
            "SELECT slug FROM meetings_meeting WHERE published AND NOT removed AND duplicate_of_id IS NULL "
            "ORDER BY id")]
        bodies = [r[0] for r in connection.execute("SELECT slug FROM fellowships_servicebody ORDER BY id")]
    points = directory.populated_points(rng, 2000)
    details = [f"/api/v1/meetings/{slug}/" for slug in rng.sample(slugs, min(2000, len(slugs)))]
    feeds = [f"/api/v1/feeds/meeting-guide.json?service_body={urllib.parse.quote(body)}" for body in bodies]
    return {
        "search": SEARCH_LUA % {"points": ", ".join(f"{{{lat:.5f}, {lng:.5f}}}" for lat, lng in points),
                                "seed": seed},
        "detail": PATHS_LUA % {"paths": lua_strings(details), "seed": seed},
        "export": PATHS_LUA % {"paths": lua_strings(feeds), "seed": seed},
    }


def run_wrk(script_text: str, *, port: int, seconds: int, connections: int, threads: int,
            sample=None, every: float = 15.0) -> dict:
    """wrk's report; with `sample`, its value every `every` seconds while wrk runs."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(script_text)
    samples = []
    try:
        wrk = subprocess.Popen(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", script.name,
             f"http://127.0.0.1:{port}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started = time.monotonic()
        while sample is not None and wrk.poll() is None:
            try:
                wrk.wait(timeout=max(0.0, started + every * (len(samples) + 1) - time.monotonic()))
            except subprocess.TimeoutExpired:
                samples.append(sample())
        out, err = wrk.communicate(timeout=seconds + 120)
    finally:
        os.unlink(script.name)
    if wrk.returncode:
        raise RuntimeError(f"wrk failed: {out[-2000:]} {err[-2000:]}")
    result = json.loads(next(line for line in out.splitlines() if line.startswith("WRKJSON "))[len("WRKJSON "):])
    result["per_second"] = round(result["requests"] / (result["duration_us"] / 1e6), 1)
    result["socket_errors"] = sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    if sample is not None:
        result["samples"] = samples
    return result


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


def workers_rss(master: int) -> dict[int, float]:
    return {pid: rss_mb(pid) for pid in worker_pids(master)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads")
    parser.add_argument("--warm-up", type=int, default=5, help="seconds of each endpoint before the runs")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/9",
                        help="the answer cache (emptied first); locmemcache:// for each worker's own memory")
    parser.add_argument("--endpoints", default="search,detail,export")
    parser.add_argument("--max-growth-mb", type=float, default=20.0,
                        help="a worker's RSS may grow this much from after the warm-up to the end")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--json")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("needs wrk (Debian package wrk)")
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        sys.exit("DATABASE_URL must name the PostgreSQL database with 100,000 meetings (read only)")
    if args.cache_url.startswith("redis://"):
        subprocess.run(["redis-cli", "-u", args.cache_url, "FLUSHDB"], check=True, capture_output=True)
    # Production's settings: DEBUG off (start_gunicorn), a strong key, the hosts, the shared cache.
    os.environ.update(DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
                      CACHE_URL=args.cache_url, GEOCODER="offline", DATABASE_REPLICA_URLS="")
    scripts = endpoints(database_url, seed=args.seed)
    chosen = [name.strip() for name in args.endpoints.split(",")]
    port = free_port()
    server = start_gunicorn(port)
    runs = []
    try:
        for name in chosen:
            run_wrk(scripts[name], port=port, seconds=args.warm_up, connections=args.connections,
                    threads=args.threads)
        rss_before = workers_rss(server.pid)
        print(f"gunicorn workers {sorted(rss_before)}, RSS after warm-up (MB): {list(rss_before.values())}",
              flush=True)
        for name in chosen:
            result = run_wrk(scripts[name], port=port, seconds=args.seconds, connections=args.connections,
                             threads=args.threads, sample=lambda: workers_rss(server.pid))
            result.update(endpoint=name, rss_mb=workers_rss(server.pid))
            runs.append(result)
            print(f"{name}: {result['per_second']} req/s, p99 {result['p99_ms']} ms, "
                  f"non-2xx/3xx {result['status_errors']}, socket errors {result['socket_errors']}, "
                  f"RSS {list(result['rss_mb'].values())}", flush=True)
        rss_end = workers_rss(server.pid)
        # For the record, not under load: the whole directory's feed, once.
        started = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/feeds/meeting-guide.json", timeout=300) as feed:
            size = len(feed.read())
        whole_feed = {"bytes": size, "seconds": round(time.monotonic() - started, 2)}
    finally:
        stop(server)
    print(f"\n{args.connections} connections, {args.seconds} s per endpoint, wrk -t{args.threads}, "
          f"gunicorn as deployed (gunicorn.conf.py: {len(rss_before)} workers), cache {args.cache_url}, "
          f"{os.cpu_count()} cores, load average at the end {os.getloadavg()[0]:.1f}\n")
    header = (f"{'endpoint':<8} | {'req/s':>8} | {'p50 ms':>8} | {'p99 ms':>8} | {'non-2xx/3xx':>11} | "
              f"{'socket errors':>13} | RSS MB of each worker: before, every 15 s, after")
    print(header)
    print("-" * len(header))
    previous = rss_before
    for r in runs:
        rss = "; ".join(
            " ".join(f"{mb:.0f}" for mb in (previous.get(pid, 0), *(s.get(pid, 0) for s in r["samples"]),
                                            r["rss_mb"][pid]))
            for pid in r["rss_mb"])
        print(f"{r['endpoint']:<8} | {r['per_second']:>8.1f} | {r['p50_ms']:>8.1f} | {r['p99_ms']:>8.1f} | "
              f"{r['status_errors']:>11} | {r['socket_errors']:>13} | {rss}")
        previous = r["rss_mb"]
    growth = {pid: round(rss_end.get(pid, 0) - mb, 1) for pid, mb in rss_before.items()}
    print(f"\nworker RSS growth over all runs (MB): {list(growth.values())}; the whole feed once afterwards: "
          f"{whole_feed['bytes'] / 1e6:.1f} MB in {whole_feed['seconds']} s")
    failures = []
    if any(r["status_errors"] or r["socket_errors"] for r in runs):
        failures.append("requests failed")
    if set(rss_end) != set(rss_before):
        failures.append(f"workers were replaced: {sorted(rss_before)} -> {sorted(rss_end)}")
    elif any(g > args.max_growth_mb for g in growth.values()):
        failures.append(f"a worker's RSS grew more than {args.max_growth_mb} MB")
    print("load: " + ("; ".join(failures) if failures else "0 errors, worker memory flat"))
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "rss_before": rss_before, "rss_end": rss_end,
                                               "whole_feed": whole_feed, "failures": failures}, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
