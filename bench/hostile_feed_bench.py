"""Memory and time of the feed parsers on large and hostile bodies (issue 12):
135,000 valid Meeting Guide records, a 50 MB array of junk records (all
rejected), a 50 MB array of tiny junk values (past the record limit), a
50 MB BMLT answer of junk, 100,000-deep nesting and a gzip bomb.

    .venv/bin/python bench/hostile_feed_bench.py                 # parsers only (no database)
    .venv/bin/python bench/hostile_feed_bench.py --import        # also import_feed_text on SQLite (slow)
    .venv/bin/python bench/hostile_feed_bench.py --import --case "valid 135,000 records (MG)"   # one case
    DATABASE_URL=postgres://.../fresh_db .venv/bin/python bench/hostile_feed_bench.py --import --database-url-env \
        --case "valid 135,000 records (MG)"

`--database-url-env` imports into DATABASE_URL (a fresh, empty database: the
bench migrates it and adds its source) instead of a new SQLite file.

    .venv/bin/python bench/hostile_feed_bench.py --reimport      # first import, then a changed re-import (SQLite)
    DATABASE_URL=postgres://.../fresh_db .venv/bin/python bench/hostile_feed_bench.py --reimport --database-url-env

`--reimport`: the 135,000 valid records imported into a fresh database, then
the same source's feed again with 30% of its records changed (name, time,
notes), 5% gone and 5% new (`changed_records`): a re-import diffs against
the stored rows, which the first import never does. Each step is a fresh
process on the same database; the seconds are `import_feed_text` alone
(migrating and adding the source come before), the peak RSS that process's
`ru_maxrss`, its making of the body included. With `--every-record-changed`
the re-import changes every record instead (name, time and notes, the body's
size the same), none gone and none new.

Each case runs in a fresh process, twice: once for the time and the peak
resident size (`ru_maxrss`, the whole process, body included), once under
tracemalloc for the peak of Python allocations made while parsing (the body
itself excluded: it exists before the parse starts)."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def valid_records(count: int) -> list[dict]:
    cities = [("Irvine", "CA", 33.68, -117.82), ("Denver", "CO", 39.74, -104.99), ("Boston", "MA", 42.36, -71.06)]
    records = []
    for n in range(count):
        city, state, lat, lng = cities[n % len(cities)]
        records.append({
            "slug": f"meeting-{n}", "name": f"{city} Group {n}", "day": n % 7, "time": f"{6 + n % 16:02d}:30",
            "types": ["O", "D", "BE"], "address": f"{100 + n // 3} Main St", "city": city, "state": state,
            "postal_code": "92618", "latitude": round(lat + (n % 100) / 1000, 5),
            "longitude": round(lng - (n % 77) / 1000, 5), "timezone": "America/Los_Angeles",
            "location": f"Hall {n // 3}", "notes": "Side door, second floor.", "updated": "2024-01-02 03:04:05",
        })
        if n % 5 == 0:
            records[-1]["conference_url"] = "https://zoom.us/j/5550100"
    return records


def valid_feed(count: int) -> str:
    return json.dumps(valid_records(count))


def changed_records(*, count: int, every: bool = False) -> list[dict]:
    """The feed of `valid_records(count)` as its source publishes it later,
    the same every time: 30% of the records changed (name, time and notes;
    n % 10 in 2, 3, 4), 5% gone (n % 20 == 1) and 5% new (the generator's next
    records, at places of their own). `every`: every record changed (name,
    time and notes, each the same length, so the feed stays under the size
    limit; its place the same), none gone, none new."""
    if every:
        records = valid_records(count)
        for n, record in enumerate(records):
            record.update(name=record["name"].replace("Group", "Party"), time=f"{6 + n % 16:02d}:45",
                          notes="Back door, ground floor.")
        return records
    records = valid_records(count + count // 20)
    kept = []
    for n, record in enumerate(records):
        if n < count and n % 20 == 1:
            continue
        if n < count and n % 10 in (2, 3, 4):
            record.update(name=record["name"] + " (Downstairs)", time=f"{6 + n % 16:02d}:45",
                          notes="Front door now; ring the bell.")
        kept.append(record)
    return kept


def junk_records(size: int) -> str:
    # ~250-byte objects that are not meetings, each different: every one is rejected.
    item = json.dumps({"slug": "junk-%09d", "junk": "x" * 190, "day": "someday", "time": "soon"})
    return "[" + ",".join(item % n for n in range(size // (len(item) + 1))) + "]"


def junk_values(size: int) -> str:
    return "[" + ",".join(["1"] * (size // 2)) + "]"


def bmlt_junk(size: int) -> str:
    item = json.dumps({"id_bigint": "%09d", "meeting_name": {"a": 1}, "format_shared_id_list": [1, 2],
                       "weekday_tinyint": "9", "comments": "y" * 150})
    items = ",".join(item % n for n in range(size // (len(item) + 1)))
    return '{"meetings": [' + items + '], "formats": {"x": 1}}'


def gzip_bomb(size: int) -> bytes:
    # Compressed in chunks, so making the bomb does not cost the gigabyte it holds.
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"0" * MB
    return b"".join([*(compressor.compress(zeros) for _ in range(size // MB)), compressor.flush()])


CASES = {
    "valid 135,000 records (MG)": ("meeting-guide", lambda: valid_feed(135_000)),
    "50 MB junk records (MG)": ("meeting-guide", lambda: junk_records(48 * MB)),
    "50 MB of tiny junk values (MG)": ("meeting-guide", lambda: junk_values(48 * MB)),
    "50 MB junk records (BMLT)": ("bmlt", lambda: bmlt_junk(48 * MB)),
    "100,000-deep nesting (MG)": ("meeting-guide", lambda: "[" * 100_000 + "]" * 100_000),
    "gzip bomb, 1 GB of zeros (bytes)": ("meeting-guide", lambda: gzip_bomb(1024 * MB)),
}


def _setup_django(database: str | None) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meetingfinder.settings")
    # DEBUG stays off, as in production (on, Django would keep every query): a throwaway key.
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-key-never-used-in-production-7c1e9a4f2b8d6e3a5c0f")
    if database:
        os.environ["DATABASE_URL"] = database
    import django

    django.setup()


def run_case(name: str, *, traced: bool, do_import: bool, database_url_env: bool = False) -> dict:
    feed_format, make = CASES[name]
    database = None
    if do_import and not database_url_env:
        database = f"sqlite:///{tempfile.mkdtemp()}/hostile.sqlite3"
    _setup_django(database)
    from meetings.feeds.importer import parse_feed_text
    from meetings.feeds.records import FeedUnreadable

    body = make()
    size = len(body)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    outcome = ""
    try:
        if do_import:
            outcome = _import(body, feed_format)
        else:
            parsed = parse_feed_text(text=body, format=feed_format)
            outcome = (f"{len(parsed.meetings):,} meetings, {parsed.rejected_count:,} rejected, "
                       f"{len(parsed.notes):,} notes kept")
    except FeedUnreadable as error:
        outcome = f"unreadable: {str(error)[:70]}"
    seconds = time.perf_counter() - started
    result = {"case": name, "body_mb": size / MB, "seconds": seconds, "outcome": outcome,
              "rss_before_mb": rss_before / MB,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB}
    if traced:
        result["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / MB
    return result


def _bench_source(feed_format: str):
    """The bench's source in a migrated database: made on the first call, found on later ones."""
    from django.core.management import call_command

    from fellowships.models import Fellowship, ServiceBody
    from fellowships.services import vocabularies_sync
    from meetings.models import FeedSource

    call_command("migrate", verbosity=0)
    vocabularies_sync()
    fellowship = Fellowship.objects.get(slug="aa" if feed_format != "bmlt" else "na")
    body_obj, _ = ServiceBody.objects.get_or_create(slug="bench", defaults={
        "name": "bench", "fellowship": fellowship, "timezone": "America/Los_Angeles"})
    source, _ = FeedSource.objects.get_or_create(slug="bench", defaults={
        "name": "bench", "fellowship": fellowship, "service_body": body_obj, "format": feed_format,
        "url": "https://bmlt.example.org/main_server"})
    return source


def _import(body, feed_format: str) -> str:
    from meetings.feeds.importer import import_feed_text

    source = _bench_source(feed_format)
    text = body if isinstance(body, str) else body.decode("utf-8", "replace")
    run = import_feed_text(source=source, text=text)
    return (f"{run.status}: {run.created:,} created, {run.rejected:,} rejected, "
            f"{run.issues.count():,} issue rows; {run.reason[:50]}")


REIMPORT_RECORDS = 135_000


def run_reimport_step(*, step: str, database: str | None, every: bool = False) -> dict:
    """One step of `--reimport` in this (fresh) process: "first" imports the
    valid records, "again" the changed ones (`changed_records`) into the same database."""
    _setup_django(database)
    from meetings.feeds.importer import import_feed_text

    source = _bench_source("meeting-guide")
    count = REIMPORT_RECORDS
    body = json.dumps(valid_records(count) if step == "first" else changed_records(count=count, every=every))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.perf_counter()
    run = import_feed_text(source=source, text=body)
    seconds = time.perf_counter() - started
    return {"step": step, "records": run.records, "body_mb": len(body) / MB, "seconds": seconds,
            "rss_before_mb": rss_before / MB,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB,
            "status": run.status, "reason": run.reason[:80], "created": run.created, "updated": run.updated,
            "unchanged": run.unchanged, "removed": run.removed, "restored": run.restored}


def reimport(*, database_url_env: bool, every: bool = False) -> None:
    """`--reimport`: each step in a fresh process, on one database."""
    database = "" if database_url_env else f"sqlite:///{tempfile.mkdtemp()}/reimport.sqlite3"
    rows = []
    for step in ("first", "again"):
        command = [sys.executable, __file__, "--reimport-step", step]
        command += ["--database-url-env"] if database_url_env else ["--database", database]
        command += ["--every-record-changed"] if every else []
        output = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True).stdout
        rows.append(json.loads(output.strip().splitlines()[-1]))
    vendor = "DATABASE_URL" if database_url_env else "SQLite"
    print(f"import_feed_text, {REIMPORT_RECORDS:,} records then the changed feed ({vendor}); MB = MiB")
    header = (f"{'step':6} {'records':>8} {'body MB':>8} {'seconds':>8} {'RSS before':>11} {'peak RSS':>9}  "
              "created/updated/unchanged/removed")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['step']:6} {r['records']:8,} {r['body_mb']:8.1f} {r['seconds']:8.2f} {r['rss_before_mb']:11.0f} "
              f"{r['peak_rss_mb']:9.0f}  {r['created']:,}/{r['updated']:,}/{r['unchanged']:,}/{r['removed']:,}"
              f" {r['status']} {r['reason']}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", help="run this case alone, untraced unless --traced, and print its JSON")
    parser.add_argument("--traced", action="store_true")
    parser.add_argument("--import", dest="do_import", action="store_true")
    parser.add_argument("--database-url-env", action="store_true",
                        help="import into DATABASE_URL (fresh and empty) instead of a new SQLite file")
    parser.add_argument("--reimport", action="store_true",
                        help="a first import of the valid records, then a re-import with some changed")
    parser.add_argument("--every-record-changed", action="store_true",
                        help="with --reimport: the re-import changes every record (name, time, notes)")
    parser.add_argument("--reimport-step", choices=["first", "again"], help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reimport_step:
        print(json.dumps(run_reimport_step(step=args.reimport_step, database=args.database,
                                           every=args.every_record_changed)))
        return
    if args.reimport:
        reimport(database_url_env=args.database_url_env, every=args.every_record_changed)
        return
    if args.database_url_env and not (args.case and args.do_import):
        parser.error("--database-url-env imports one --case (with --import) into a fresh database")
    if args.case:
        print(json.dumps(run_case(args.case, traced=args.traced, do_import=args.do_import,
                                  database_url_env=args.database_url_env)))
        return
    rows = []
    for name in CASES:
        results = {}
        for traced in (False, True):
            command = [sys.executable, __file__, "--case", name] + (["--traced"] if traced else [])
            command += ["--import"] if args.do_import else []
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            results.update({k: v for k, v in json.loads(output.strip().splitlines()[-1]).items()
                            if traced is False or k == "traced_peak_mb"})
        rows.append(results)
    header = (f"{'case':34} {'body MB':>8} {'seconds':>8} {'RSS before':>11} {'peak RSS':>9} "
              f"{'py peak':>8}  outcome")
    print(("import_feed_text (SQLite)" if args.do_import else "parse_feed_text") + "; MB = MiB")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['case']:34} {r['body_mb']:8.1f} {r['seconds']:8.2f} {r['rss_before_mb']:11.0f} "
              f"{r['peak_rss_mb']:9.0f} {r['traced_peak_mb']:8.0f}  {r['outcome']}")


if __name__ == "__main__":
    main()
