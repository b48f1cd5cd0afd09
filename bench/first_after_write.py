"""The first public search after a write, and a known place's search (issue 14, round 35).

Every write names a new directory version, and the first answer that shows
the clock in each process then reads the clock's facts of every meeting
(selectors.clock_turns). Timed in-process through Django's test Client
(production settings, the answer cache off), each round: a real service
write (`meeting_save` of one meeting's notes), the search (the first after
the write), the same search again (what a known place costs), and the first
in another process (this process's kept values and spans forgotten, the
shared cache of CACHE_URL kept: run it with a Redis for what production does).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mf_bench_1000000 [CACHE_URL=redis://127.0.0.1:6379/1] \\
        .venv/bin/python bench/first_after_write.py [--tree /path/to/another/checkout] [--rounds 7]

`--tree` times another checkout's code on the same database (its migrations
applied). Writes to the database: one meeting's notes, once per round.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import in_process

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--tree", default=str(Path(__file__).resolve().parent.parent))
parser.add_argument("--rounds", type=int, default=7)
parser.add_argument("--near", default="Chicago, IL")
args = parser.parse_args()

in_process.django_setup(args.tree)

from django.test import Client  # noqa: E402

from meetings import directory_version, public_answers  # noqa: E402
from meetings.models import Meeting  # noqa: E402
from meetings.services import meeting_save  # noqa: E402

SEARCH = "/api/v1/meetings/"


def timed(client: Client, query: dict) -> tuple[float, list[str]]:
    started = time.perf_counter()
    response = client.get(SEARCH, query)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.content[:300]
    return elapsed, [row["slug"] for row in response.json()["results"]]


def main() -> None:
    assert Path(directory_version.__file__).is_relative_to(args.tree), directory_version.__file__
    client = Client()
    query = {"near": args.near}
    written = Meeting.objects.filter(published=True).order_by("id").first()
    timings: dict[str, list[float]] = {"first after a write": [], "known place again": [],
                                       "first in another process": []}
    ids = []
    for n in range(args.rounds):
        written.notes = f"first_after_write {time.time()} {n}"
        meeting_save(meeting=written)
        first, ids = timed(client, query)
        again, _ = timed(client, query)
        directory_version._kept.clear()
        public_answers._spans.clear()
        other, _ = timed(client, query)
        if n:  # the first round warms the process
            for line, ms in zip(timings, (first, again, other)):
                timings[line].append(ms)
    print(f"{args.tree}  near={args.near}: {len(ids)} rows, the first {ids[:1]}, the last {ids[-1:]}")
    for line, values in timings.items():
        print(f"  {line:<26} p50 {statistics.median(values):8.1f} ms   min {min(values):8.1f}   "
              f"max {max(values):8.1f}")


if __name__ == "__main__":
    main()
