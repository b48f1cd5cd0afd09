"""The Meeting Guide feed export at scale: time and peak memory of the whole
feed, streamed through the Django test client into a sink, and of narrowed
feeds, to show memory stays flat as the feed grows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mf_export_bench \\
        .venv/bin/python bench/export_bench.py --size 100000

Migrates the database, loads `--size` meetings with the benchmark generator
(`bench/directory.py`, bulk COPY) unless that many are already there, then
prints a table. Memory is measured twice: Python allocations with tracemalloc
(a separate, untimed run, since tracing slows everything) and the process's
resident high-water mark (ru_maxrss) before and after the timed runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meetingfinder.settings")
# DEBUG is off, as in production, so Django needs a key: a throwaway one.
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-key-never-used-in-production-7c1e9a4f2b8d6e3a5c0f")
# Benchmarks measure production settings: DEBUG keeps every query in memory.
os.environ.setdefault("DJANGO_DEBUG", "false")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from fixtures import directory  # noqa: E402
from meetings.models import Location, Meeting  # noqa: E402

URL = "/api/v1/feeds/meeting-guide.json"


def prepare(size: int) -> None:
    call_command("migrate", verbosity=0)
    if Meeting.objects.count() == size:
        return
    Meeting.types.through.objects.all().delete()
    Meeting.objects.all().delete()
    Location.objects.all().delete()
    _, report = directory.directory_load(size=size)
    print(f"loaded {report.meetings} meetings, {report.locations} locations in "
          f"{report.generate_seconds + report.load_seconds:.1f}s")


def maxrss_mib() -> float:
    # Linux reports kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def export(client: Client, params: dict) -> tuple[int, int, int, float, str]:
    """(status, bytes, meetings, seconds, etag) of one export read to the end."""
    started = time.perf_counter()
    response = client.get(URL, params)
    size = 0
    records = 0
    for piece in response.streaming_content:  # the sink: count, keep nothing
        size += len(piece)
        records += piece.count(b'"slug":')
    seconds = time.perf_counter() - started
    return response.status_code, size, records, seconds, response["ETag"]


def traced_peak_mib(client: Client, params: dict) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    export(client, params)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of the full feed (best is reported)")
    args = parser.parse_args()
    prepare(args.size)
    client = Client()
    cases = [("al-anon only", {"fellowship": "al-anon"}), ("na only", {"fellowship": "na"}),
             ("aa only", {"fellowship": "aa"}), ("whole feed", {})]
    export(client, {"fellowship": "al-anon"})  # warm caches (zone table, vocabularies, connection)
    rows = []
    rss_before = maxrss_mib()
    for label, params in cases:
        runs = [export(client, params) for _ in range(args.repeat if not params else 1)]
        status, size, records, _, etag = runs[0]
        best = min(run[3] for run in runs)
        started = time.perf_counter()
        revalidated = client.get(URL, params, HTTP_IF_NONE_MATCH=etag)
        revalidate_ms = (time.perf_counter() - started) * 1000
        rows.append((label, records, size, best, revalidated.status_code, revalidate_ms))
        assert status == 200, status
    rss_after = maxrss_mib()
    peaks = {label: traced_peak_mib(client, params) for label, params in cases}

    print(f"\nMeeting Guide export, {connection.vendor}, {Meeting.objects.count():,} meetings in the database")
    print(f"{'feed':<14}{'meetings':>10}{'MiB out':>9}{'seconds':>9}{'meetings/s':>12}"
          f"{'peak MiB':>10}{'304 in ms':>11}")
    for label, records, size, seconds, status_304, revalidate_ms in rows:
        print(f"{label:<14}{records:>10,}{size / 2**20:>9.1f}{seconds:>9.2f}{records / seconds:>12,.0f}"
              f"{peaks[label]:>10.1f}{revalidate_ms:>11.1f}" + ("" if status_304 == 304 else f" ({status_304}!)"))
    print("\npeak MiB: Python allocations during one export (tracemalloc, untimed run).")
    print(f"process RSS high-water: {rss_before:.0f} MiB before the timed exports, {rss_after:.0f} MiB after "
          f"(+{rss_after - rss_before:.0f} MiB).")


if __name__ == "__main__":
    main()
