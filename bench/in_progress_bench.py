"""What is under way now, alone and with other conditions, through the API and
the search page, in-process (Django `Client`, production settings, the answer
cache off) at fixed instants, so two trees read the same meetings.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mf_bench_100000 .venv/bin/python bench/in_progress_bench.py \
        [--tree /path/to/another/checkout] [--rounds 5] [--explain] [--only NAME]

Read-only. Prints per search and instant the medians of the rounds after the
first, in wall time and in this process's CPU time (the database's work
excluded: less disturbed by a busy machine), the statements' count and
database time of the last round, and what was found (the API's count and a
checksum of its page's meetings, the page's links to meetings), which must
not change between two trees; `--explain` prints each
statement's EXPLAIN (ANALYZE, BUFFERS) plan of the last round.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
import zlib
from pathlib import Path

import in_process

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--tree", default=str(Path(__file__).resolve().parent.parent))
parser.add_argument("--rounds", type=int, default=5)
parser.add_argument("--explain", action="store_true")
parser.add_argument("--only", default="", help="run only the searches whose name holds this")
options = parser.parse_args()

in_process.django_setup(options.tree)

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from meetings import clock  # noqa: E402

# 19:30 on a Tuesday in New York (the directory's evening, its busiest hour),
# and ten past midnight there (what is under way runs over the wall day's end).
INSTANTS = {
    "Tue 19:30 NY": dt.datetime(2026, 12, 2, 0, 30, tzinfo=dt.timezone.utc),
    "Wed 00:10 NY": dt.datetime(2026, 12, 2, 5, 10, tzinfo=dt.timezone.utc),
}
SEARCHES = {
    "api in_progress": ("/api/v1/meetings/", {"in_progress": "true"}),
    "api in_progress near=10001": ("/api/v1/meetings/", {"in_progress": "true", "near": "10001"}),
    "api in_progress near=10001 10mi": ("/api/v1/meetings/", {"in_progress": "true", "near": "10001",
                                                               "radius": "10"}),
    "api in_progress lat/lng 25mi": ("/api/v1/meetings/",
                                     {"in_progress": "true", "lat": "41.8781", "lng": "-87.6298", "radius": "25"}),
    "api in_progress online": ("/api/v1/meetings/", {"in_progress": "true", "attendance": "online"}),
    "api in_progress aa": ("/api/v1/meetings/", {"in_progress": "true", "fellowship": "aa"}),
    "api starting_within=60": ("/api/v1/meetings/", {"starting_within": "60"}),
    "api starting_within=60 near": ("/api/v1/meetings/", {"starting_within": "60", "near": "10001"}),
    "api starting_within=60 near 10mi": ("/api/v1/meetings/", {"starting_within": "60", "near": "10001",
                                                               "radius": "10"}),
    "api starting_within=60 online": ("/api/v1/meetings/", {"starting_within": "60", "attendance": "online"}),
    "page in_progress": ("/", {"in_progress": "true"}),
    "page in_progress near=10001": ("/", {"in_progress": "true", "near": "10001"}),
    "page in_progress online": ("/", {"in_progress": "true", "attendance": "online"}),
    "page (no input)": ("/", {}),
}


def main() -> None:
    client = Client()
    print(f"{options.tree}: database {connection.settings_dict['NAME']}, {options.rounds} rounds "
          "(medians of all but the first)")
    print(f"{'search':34} {'instant':13} {'ms':>8} {'cpu ms':>7} {'stmts':>5} {'sql ms':>7} {'found':>13}")
    for label, instant in INSTANTS.items():
        clock.now = lambda instant=instant: instant
        for name, (path, query) in SEARCHES.items():
            if options.only not in name:
                continue
            times, cpu = [], []
            for _ in range(options.rounds):
                with CaptureQueriesContext(connection) as captured:
                    started, cpu_started = time.perf_counter(), time.process_time()
                    response = client.get(path, query)
                    times.append((time.perf_counter() - started) * 1000)
                    cpu.append((time.process_time() - cpu_started) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{name}: {response.status_code} {response.content[:300]!r}")
            # What was found, comparable between trees: the API's count and its page's meetings, the page's links.
            found = (f"{response.json()['count']} " + zlib.crc32(" ".join(
                m["slug"] for m in response.json()["results"]).encode()).to_bytes(4).hex()
                if path.startswith("/api/") else str(response.content.count(b'href="/meetings/')))
            sql_ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
            print(f"{name:34} {label:13} {statistics.median(times[1:] or times):>8.1f} "
                  f"{statistics.median(cpu[1:] or cpu):>7.1f} "
                  f"{len(captured.captured_queries):>5} {sql_ms:>7.1f} {found:>13}", flush=True)
            if options.explain:
                with connection.cursor() as cursor:
                    for q in captured.captured_queries:
                        sql = q["sql"]
                        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                            continue
                        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                        print("\n".join(row[0] for row in cursor.fetchall()))
                        print("-" * 60)


if __name__ == "__main__":
    main()
