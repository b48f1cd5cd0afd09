"""The search page's server-time budget (issue 10: first page of results
under 300 ms on the Orange County data), printed as a table.

    .venv/bin/python bench/page_bench.py            # a fresh SQLite file with the sample data
    DATABASE_URL=postgres://... .venv/bin/python bench/page_bench.py   # a migrated database of yours
    DATABASE_URL=postgres://.../mf_load_100000 .venv/bin/python bench/page_bench.py --as-is
        # the database as it is, e.g. 100,000 meetings from bench/directory.py (see bench/README.md)

Speed targets live here, not in timed tests (tests/test_page_budgets.py
checks the page's weight, which does not depend on the machine's load).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meetingfinder.settings")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 50)
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/page_bench.sqlite3"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

BUDGET_MS = 300
SEARCHES = {
    "now (no input)": {},
    "near Irvine": {"near": "Irvine"},
    "AA Tuesday evening open": {"fellowship": "aa", "day": "2", "time_of_day": "evening", "open": "open"},
    "online, keyword": {"attendance": "online", "q": "step"},
    "today in the viewer's zone": {"starts_on": "today", "tz": "America/New_York"},
    "AA tomorrow evening": {"fellowship": "aa", "starts_on": "tomorrow", "time_of_day": "evening"},
}


def main() -> None:
    if "--as-is" not in sys.argv[1:]:
        call_command("migrate", verbosity=0)
        call_command("load_sample_data", verbosity=0)
    client = Client()
    # CPU time of this process beside wall time: on a shared machine the wall
    # clock also counts other processes' turns (SQLite runs in this process;
    # on PostgreSQL the database's own CPU is not in it).
    print(f"{'search page':28} | {'p50 ms':>8} | {'max ms':>8} | {'cpu p50':>8} | budget {BUDGET_MS} ms")
    for label, query in SEARCHES.items():
        client.get("/", query)  # warm: vocabularies, zone data, templates
        runs, cpu = [], []
        for _ in range(9):
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get("/", query)
            runs.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            assert response.status_code == 200, (label, response.status_code)
        runs.sort()
        cpu.sort()
        verdict = "met" if runs[len(runs) // 2] < BUDGET_MS else "MISSED"
        print(f"{label:28} | {runs[len(runs) // 2]:8.1f} | {runs[-1]:8.1f} | {cpu[len(cpu) // 2]:8.1f} | {verdict}")


if __name__ == "__main__":
    main()
