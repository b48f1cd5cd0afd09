"""A realistic traffic mix replayed with `wrk` against gunicorn (as deployed,
bench/http_bench.py) on PostgreSQL at 100,000 meetings (issue 14), with the
shared cache in Redis, and the same mix with the answer cache off, and
random points alone without it, in one run; prints a table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ .venv/bin/python bench/mix_bench.py \
        [--size 100000] [--seconds 20] [--connections 16] [--cache-url redis://127.0.0.1:6379/9] [--json out.json] \
        [--database NAME]

The database `mf_bench_<size>` must exist (bench/run.py makes it); it is only
read, through the app. The mix, each request drawn at random:
  40% near a ZIP code or "City, ST" drawn from the directory's places, a weekday, radius 10 mi
  20% near a random populated GPS point (bench/directory.py), random weekday/open/attendance
  15% online meetings starting within the hour
  15% a meeting's detail (slugs drawn from the directory)
   5% a service body's Meeting Guide feed, with If-None-Match of the ETag the client last saw
   5% a search calendar (.ics) near a ZIP code
The hit ratio counts answers served from the cache (`X-Cache: hit`) and 304s
among all 200/304 answers.

Runs: the mix with the cache on from an empty cache (its first seconds, as
after a flush); the mix with the cache warm, every URL it can draw asked once
before (a server that has been answering for a while: the steady state); the
mix with the answer cache off; random points alone with it off; one cached
answer asked again and again (what the cache can serve at most). From these,
the warm mix's ceiling: misses at the random points' rate, hits at the one
answer's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
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

from fixtures import directory  # noqa: E402
from bench.http_bench import LUA as POINTS_LUA  # noqa: E402
from bench.http_bench import free_port, start_gunicorn, stop  # noqa: E402

MIX_LUA = """
local near = {%(near)s}
local details = {%(details)s}
local calendars = {%(calendars)s}
local online = %(online)s
local points = {%(points)s}
local feeds = {%(feeds)s}
local days = {0, 1, 2, 3, 4, 5, 6}
local attendance = {"in_person", "in_person", "in_person", "online", "hybrid"}
local opens = {"open", "open", "closed"}
-- Globals: the main state reads each thread's with thread:get.
hits, misses, not_modified, other = 0, 0, 0, 0
local threads = {}

-- Each thread its own draws (the same seed in both would send every request twice).
setup = function(thread) table.insert(threads, thread); thread:set("id", #threads) end
init = function(args) math.randomseed(%(seed)d * 100 + id) end
%(request)s
response = function(status, headers, body)
  if status == 304 then not_modified = not_modified + 1
  elseif status == 200 and headers["X-Cache"] == "hit" then hits = hits + 1
  elseif status == 200 then misses = misses + 1
  else other = other + 1 end
end

done = function(summary, latency, requests)
  local h, m, n, o = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    h = h + t:get("hits"); m = m + t:get("misses"); n = n + t:get("not_modified"); o = o + t:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "connect_errors": %%d, "read_errors": %%d, "write_errors": %%d, ' ..
    '"status_errors": %%d, "timeouts": %%d, "p50_ms": %%.3f, "p95_ms": %%.3f, "p99_ms": %%.3f, "max_ms": %%.3f, ' ..
    '"hits": %%d, "misses": %%d, "not_modified": %%d, "other_status": %%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, h, m, n, o))
end
"""


MIX_REQUEST = """
request = function()
  local r = math.random(100)
  local path
  local headers = {}
  if r <= 40 then
    path = near[math.random(#near)]
  elseif r <= 60 then
    local p = points[math.random(#points)]
    path = string.format("/api/v1/meetings/?lat=%.5f&lng=%.5f&radius=25&units=mi&day=%d&open=%s&attendance=%s",
      p[1], p[2], days[math.random(#days)], opens[math.random(#opens)], attendance[math.random(#attendance)])
  elseif r <= 75 then
    path = online
  elseif r <= 90 then
    path = details[math.random(#details)]
  elseif r <= 95 then
    local f = feeds[math.random(#feeds)]
    path = "/api/v1/feeds/meeting-guide.json?service_body=" .. f[1]
    headers["If-None-Match"] = f[2]
  else
    path = calendars[math.random(#calendars)]
  end
  return wrk.format("GET", path, headers)
end

"""

# One answer, asked again and again: what the cache can serve at most.
ONE_ANSWER_REQUEST = """
request = function() return wrk.format("GET", "%(path)s") end
"""


def _lua_strings(values) -> str:
    return ", ".join(json.dumps(v) for v in values)


def workload(*, size: int, seed: int) -> dict:
    """Places, slugs and service bodies drawn from the directory itself (read only)."""
    import psycopg

    rng = random.Random(seed)
    url = os.environ["DATABASE_URL"]
    with psycopg.connect(url) as connection:
        zips = [r[0] for r in connection.execute(
            "SELECT DISTINCT postal_code FROM meetings_location WHERE country = 'US' AND postal_code ~ '^[0-9]{5}$' "
            "AND NOT approximate ORDER BY 1")]
        cities = [f"{c}, {s}" for c, s in connection.execute(
            "SELECT DISTINCT city, state FROM meetings_location WHERE country = 'US' AND city <> '' AND state <> '' "
            "AND NOT approximate ORDER BY 1, 2")]
        slugs = [r[0] for r in connection.execute(
            "SELECT slug FROM meetings_meeting WHERE published AND NOT removed AND duplicate_of_id IS NULL ORDER BY id")]
        bodies = [r[0] for r in connection.execute("SELECT slug FROM fellowships_servicebody ORDER BY id")]
    places = rng.sample(zips, min(150, len(zips))) + rng.sample(cities, min(150, len(cities)))
    return {"places": [urllib.parse.quote(p) for p in places], "slugs": rng.sample(slugs, min(2000, len(slugs))),
            "bodies": [urllib.parse.quote(b) for b in rng.sample(bodies, min(20, len(bodies)))],
            "points": directory.populated_points(rng, 2000)}


def feed_etags(port: int, bodies: list[str]) -> list[tuple[str, str]]:
    """What a client saw on its last visit to each feed: the ETag this server
    gives it now (an answer's ETag names its URL, host and port included)."""
    feeds = []
    for body in bodies:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/feeds/meeting-guide.json?service_body={body}",
                                    timeout=120) as response:
            response.read()
            feeds.append((body, response.headers["ETag"]))
    return feeds


def run_wrk(script_text: str, *, port: int, seconds: int, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(script_text)
    try:
        output = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", script.name,
             f"http://127.0.0.1:{port}"], capture_output=True, text=True, timeout=seconds + 60)
        if output.returncode:
            raise RuntimeError(f"wrk failed: {output.stdout[-2000:]} {output.stderr[-2000:]}")
        output = output.stdout
    finally:
        os.unlink(script.name)
    result = json.loads(next(line for line in output.splitlines() if line.startswith("WRKJSON "))[len("WRKJSON "):])
    result["per_second"] = round(result["requests"] / (result["duration_us"] / 1e6), 1)
    result["errors"] = sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors",
                                               "timeouts"))
    if "hits" in result:
        answered = result["hits"] + result["misses"] + result["not_modified"]
        result["hit_ratio"] = round((result["hits"] + result["not_modified"]) / answered, 3) if answered else None
    return result


def mix_script(work: dict, seed: int, *, feeds: list[tuple[str, str]], request: str = MIX_REQUEST) -> str:
    urls = cacheable_urls(work)
    return MIX_LUA % {
        "request": request,
        "near": _lua_strings(urls["near"]),
        "details": _lua_strings(urls["details"]),
        "calendars": _lua_strings(urls["calendars"]),
        "online": json.dumps(urls["online"][0]),
        "points": ", ".join(f"{{{lat:.5f}, {lng:.5f}}}" for lat, lng in work["points"]),
        "feeds": ", ".join(f"{{{json.dumps(b)}, {json.dumps(e)}}}" for b, e in feeds),
        "seed": seed,
    }


def cacheable_urls(work: dict) -> dict[str, list[str]]:
    """Every URL the mix's cacheable requests draw from, by kind (the random
    points never repeat; the feeds are revalidated): the mix's script picks
    from these lists, and a warm cache has asked each once."""
    days = range(7)
    return {
        "near": [f"/api/v1/meetings/?near={p}&radius=10&day={d}" for p in work["places"] for d in days],
        "online": ["/api/v1/meetings/?attendance=online&starting_within=60"],
        "details": [f"/api/v1/meetings/{slug}/" for slug in work["slugs"]],
        "calendars": [f"/api/v1/meetings/calendar.ics?near={p}&radius=5&day={d}"
                      for p in work["places"] for d in days],
    }


def warm_cache(port: int, urls: list[str], *, threads: int = 4) -> float:
    """Ask each URL once (a few at a time); seconds taken."""
    from concurrent.futures import ThreadPoolExecutor

    def ask(url: str) -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{url}", timeout=60) as response:
            response.read()

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(ask, urls))
    return time.monotonic() - started


def clock_turns(url: str) -> dict:
    """Per zone of the directory's meetings, where in its week what the clock
    shows of them changes (meetings/schedule.py, as the app reads them)."""
    import psycopg

    from meetings import schedule

    by_zone: dict[str, list] = {}
    with psycopg.connect(url) as connection:
        for zone, day, start, end in connection.execute(
                "SELECT DISTINCT timezone, day, time, end_time FROM meetings_meeting "
                "WHERE day IS NOT NULL AND time IS NOT NULL"):
            if schedule.is_valid_zone(zone):
                by_zone.setdefault(zone, []).append((day, start, end))
    return {zone: schedule.zone_turns(times) for zone, times in by_zone.items()}


def quiet_for(turns: dict, seconds: float) -> float:
    """Wait, if need be, until the clock will not turn for `seconds`: a cached
    answer that shows the clock is kept until its next turn (a meeting starts
    or ends somewhere), so a run across one measures a cache emptied midway
    (a warm mix crossing 20:00 had 51% hits where it has 81%). Seconds waited."""
    from meetings import schedule

    waited = 0.0
    while True:
        now = dt.datetime.now(dt.timezone.utc)
        _, until = schedule.unchanged_span(now=now, zones=turns)
        left = (until - now).total_seconds()
        if left >= seconds:
            return waited
        time.sleep(left + 1)
        waited += left + 1


def one_run(name: str, *, env: dict, script, seed: int, seconds: int, connections: int, warm=None,
            turns: dict | None = None) -> dict:
    # A run that keeps answers fits between two turns of the clock: 3 s to
    # warm connections, the cache's warming (~30 s here), the run, a margin.
    waited = quiet_for(turns, 3 + (60 if warm else 0) + seconds + 5) if turns is not None else 0.0
    saved = dict(os.environ)
    os.environ.update(env)
    port = free_port()
    try:
        process = start_gunicorn(port)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        # Warm connections, plans and per-process maps with other draws than the run's own.
        run_wrk(script(port, seed + 1), port=port, seconds=3, connections=connections)
        warmed = warm(port) if warm else None
        result = run_wrk(script(port, seed), port=port, seconds=seconds, connections=connections)
        if warmed is not None:
            result["warm_seconds"] = round(warmed, 1)
        result["waited_for_the_clock_seconds"] = round(waited)
    finally:
        stop(process)
    result["name"] = name
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--json")
    parser.add_argument("--database", help="default mf_bench_<size>; a copy migrated to this branch's schema")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("needs wrk (Debian package wrk)")
    server = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    database_url = server._replace(path="/" + (args.database or f"mf_bench_{args.size}")).geturl()
    os.environ["DATABASE_URL"] = database_url
    common = {"DATABASE_URL": database_url, "GEOCODER": "offline", "DATABASE_REPLICA_URLS": ""}
    if args.cache_url.startswith("redis://"):
        subprocess.run(["redis-cli", "-u", args.cache_url, "FLUSHDB"], check=False, capture_output=True)
    work = workload(size=args.size, seed=args.seed)

    def the_mix(port, seed):
        return mix_script(work, seed, feeds=feed_etags(port, work["bodies"]))

    def one_answer(port, seed):
        path = cacheable_urls(work)["near"][0]
        return mix_script(work, seed, feeds=[], request=ONE_ANSWER_REQUEST % {"path": path})

    def random_points(port, seed):
        points = directory.populated_points(random.Random(seed), 2000)
        return POINTS_LUA % {"points": ", ".join(f"{{{a:.5f}, {b:.5f}}}" for a, b in points), "seed": seed}

    def flush_cache():
        if args.cache_url.startswith("redis://"):
            subprocess.run(["redis-cli", "-u", args.cache_url, "FLUSHDB"], check=False, capture_output=True)

    def every_url_once(port):
        return warm_cache(port, [url for urls in cacheable_urls(work).values() for url in urls])

    cached = {**common, "CACHE_URL": args.cache_url}
    uncached = {**common, "CACHE_ANSWERS": "false"}
    timed = dict(seed=args.seed, seconds=args.seconds, connections=args.connections)
    turns = clock_turns(database_url)
    runs = [one_run("mix, cache on, from cold", env=cached, script=the_mix, turns=turns, **timed)]
    flush_cache()
    runs += [
        one_run("mix, cache on, warm", env=cached, script=the_mix, warm=every_url_once, turns=turns, **timed),
        one_run("mix, cache off", env=uncached, script=the_mix, **timed),
        one_run("random points alone, cache off", env=uncached, script=random_points, **timed),
        one_run("one cached answer, again and again", env=cached, script=one_answer, turns=turns, **timed),
    ]
    print(f"\n{args.size:,} meetings, gunicorn as deployed (gunicorn.conf.py), wrk -t2 -c{args.connections} "
          f"-d{args.seconds}s\n")
    header = f"{'run':<34}| {'req/s':>8} | {'p50 ms':>8} | {'p99 ms':>8} | {'errors':>6} | {'hit ratio':>9}"
    print(header)
    print("-" * len(header))
    for r in runs:
        ratio = "" if r.get("hit_ratio") is None else f"{r['hit_ratio']:.1%}"
        print(f"{r['name']:<34}| {r['per_second']:>8.1f} | {r['p50_ms']:>8.2f} | {r['p99_ms']:>8.2f} | "
              f"{r['errors']:>6} | {ratio:>9}")
    warm, random_alone, one_answer = runs[1], runs[3], runs[4]
    share_uncached = 1 - (warm["hit_ratio"] or 0)
    ceiling = 1 / (share_uncached / random_alone["per_second"] + (1 - share_uncached) / one_answer["per_second"])
    print(f"\nThe warm mix's ceiling on this machine: {ceiling:,.0f} req/s, were every miss as cheap as a random point "
          f"and every hit as cheap as the one cached answer ({1 - share_uncached:.1%} hits).")
    waited = sum(r["waited_for_the_clock_seconds"] for r in runs)
    print(f"Waited {waited} s in all so that no run keeping answers crossed a turn of the clock.")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
