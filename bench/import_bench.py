"""Import benchmark: a generated 10,000-meeting Meeting Guide feed with
coordinates, imported into a fresh database, then re-imported unchanged.

    .venv/bin/python bench/import_bench.py            # SQLite (a temporary file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mf_bench .venv/bin/python bench/import_bench.py

Targets (issue 3): first import under 15 s; the unchanged re-import under
10% of that, writing nothing to meetings, locations or their types."""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meetingfinder.settings")
# DEBUG is off, as in production, so Django needs a key: a throwaway one.
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-key-never-used-in-production-7c1e9a4f2b8d6e3a5c0f")
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

CITIES = [("Irvine", "CA", 33.68, -117.82, "America/Los_Angeles"), ("Denver", "CO", 39.74, -104.99, "America/Denver"),
          ("Chicago", "IL", 41.88, -87.63, "America/Chicago"), ("Boston", "MA", 42.36, -71.06, "America/New_York")]
TYPES = ["O", "C", "D", "SP", "BE", "ST", "W", "M", "X", "S", "EN", "B"]


def generate_feed(count: int, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    records = []
    for n in range(count):
        city, state, lat, lng, zone = CITIES[n % len(CITIES)]
        records.append({
            "slug": f"meeting-{n}", "name": f"{city} Group {n}", "day": rng.randrange(7),
            "time": f"{rng.randrange(6, 22):02d}:{rng.choice(['00', '15', '30', '45'])}",
            "types": rng.sample(TYPES, 3), "address": f"{100 + n // 3} Main St", "city": city, "state": state,
            "postal_code": "00000", "latitude": round(lat + rng.uniform(-0.3, 0.3), 5),
            "longitude": round(lng + rng.uniform(-0.3, 0.3), 5), "timezone": zone, "location": f"Hall {n // 3}",
            "notes": "Side door.", "updated": "2024-01-02 03:04:05",
        })
    return records


class WriteCounter:
    """Counts statements that change meetings, locations or meeting types."""

    TABLES = ('"meetings_meeting"', '"meetings_location"', '"meetings_meeting_types"')

    def __init__(self) -> None:
        self.writes = 0

    def __call__(self, execute, sql, params, many, context):
        head = sql.lstrip()[:80].upper()
        if head.startswith(("INSERT", "UPDATE", "DELETE")) and any(t.upper() in head for t in self.TABLES):
            self.writes += 1
        return execute(sql, params, many, context)


def main() -> None:
    from fellowships.models import Fellowship, ServiceBody
    from fellowships.services import vocabularies_sync
    from meetings.feeds.importer import import_feed_text
    from meetings.models import FeedSource, Meeting

    if connection.vendor == "postgresql":
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)
    vocabularies_sync()
    aa = Fellowship.objects.get(slug="aa")
    body, _ = ServiceBody.objects.get_or_create(slug="bench", defaults={
        "name": "Bench", "fellowship": aa, "timezone": "America/Los_Angeles"})
    FeedSource.objects.filter(slug="bench").delete()
    Meeting.objects.filter(source__startswith="feed:").delete()
    source = FeedSource.objects.create(slug="bench", name="Bench", fellowship=aa, service_body=body)
    text = json.dumps(generate_feed(10_000))

    rows = []
    for label in ("first import", "unchanged re-import"):
        counter = WriteCounter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            run = import_feed_text(source=source, text=text)
        seconds = time.perf_counter() - started
        rows.append((label, seconds, run.created, run.updated, run.unchanged, counter.writes, run.status))
    print(f"database: {connection.vendor}")
    print(f"{'run':<22}{'seconds':>9}{'created':>9}{'updated':>9}{'unchanged':>11}{'writes':>9}  status")
    for label, seconds, created, updated, unchanged, writes, status in rows:
        print(f"{label:<22}{seconds:>9.2f}{created:>9}{updated:>9}{unchanged:>11}{writes:>9}  {status}")
    first, second = rows[0][1], rows[1][1]
    print(f"re-import / first import: {second / first:.1%}  (targets: first < 15 s, ratio < 10%, writes = 0)")


if __name__ == "__main__":
    main()
