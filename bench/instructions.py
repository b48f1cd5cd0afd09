"""Instructions per public request in this process, under callgrind (issues 11 and 14).

A search by lat/lng (random populated points, radius 25 mi, a weekday,
open/closed, attendance), near a ZIP (radius 10, a weekday), by next start
(`soonest`: a weekday, open/closed), the search page opening on now (`page`:
open/closed), the lat/lng search naming a fellowship and a type (`names`), BMLT's
GetSearchResults near a point (`bmlt`: nearest 10, a weekday), one meeting's
calendar (`ics`), all with the answer cache off, or one search kept in the cache asked again and again
(`hit`), through Django's test Client with production settings and the clock
held still. Instructions are counted, not time: the same code gives the
same count on a busy machine, to a fraction of a percent.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mf_bench_100000 PYTHONHASHSEED=0 \\
        valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/cg.out \\
        .venv/bin/python bench/instructions.py latlng [--requests 100] [--tree /path/to/a/checkout]
    grep summary: /tmp/cg.out.1      # divided by --requests

Counting starts after 15 requests of warm-up (callgrind_control -i on) and
the count is dumped after the measured requests (/tmp/cg.out.1). Reads only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
from pathlib import Path

import in_process

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("kind", choices=("latlng", "zip", "hit", "soonest", "page", "names", "bmlt", "ics"))
parser.add_argument("--requests", type=int, default=100)
parser.add_argument("--tree", default=str(Path(__file__).resolve().parent.parent))
args = parser.parse_args()

# On, as in production, but far: the first requests under valgrind are slow.
os.environ["DATABASE_REQUEST_BUDGET_MS"] = "3600000"
in_process.django_setup(args.tree)

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402

from fixtures import directory  # noqa: E402
from meetings import clock  # noqa: E402

settings.CACHE_ANSWERS = args.kind == "hit"
held = dt.datetime(2026, 12, 2, 18, 3, 30, tzinfo=dt.timezone.utc)
clock.now = lambda: clock._held.get() or held
points = directory.populated_points(random.Random(7), 400)
with psycopg.connect(os.environ["DATABASE_URL"]) as connection:
    zips = [row[0] for row in connection.execute(
        "SELECT DISTINCT postal_code FROM meetings_location WHERE country = 'US' AND postal_code ~ '^[0-9]{5}$' "
        "AND NOT approximate ORDER BY 1")]
    slugs = [row[0] for row in connection.execute(
        "SELECT slug FROM meetings_meeting WHERE published AND day IS NOT NULL ORDER BY id LIMIT 400")]
zips = random.Random(8).sample(zips, 400)


def path(i: int) -> str:
    rng = random.Random(i)
    if args.kind in ("latlng", "names"):
        lat, lng = points[i % len(points)]
        if args.kind == "names":
            return (f"/api/v1/meetings/?lat={lat:.5f}&lng={lng:.5f}&radius=25&units=mi&day={rng.randrange(7)}"
                    "&fellowship=aa&type=D")
        return (f"/api/v1/meetings/?lat={lat:.5f}&lng={lng:.5f}&radius=25&units=mi&day={rng.randrange(7)}"
                f"&open={rng.choice(['open', 'open', 'closed'])}"
                f"&attendance={rng.choice(['in_person', 'in_person', 'in_person', 'online', 'hybrid'])}")
    if args.kind == "zip":
        return f"/api/v1/meetings/?near={zips[i % len(zips)]}&radius=10&day={rng.randrange(7)}"
    if args.kind == "soonest":
        return f"/api/v1/meetings/?order=soonest&open={rng.choice(['open', 'closed'])}&day={rng.randrange(7)}"
    if args.kind == "bmlt":
        lat, lng = points[i % len(points)]
        return (f"/client_interface/json/?switcher=GetSearchResults&lat_val={lat:.5f}&long_val={lng:.5f}"
                f"&geo_width=-10&weekdays={rng.randrange(7) + 1}")
    if args.kind == "ics":
        return f"/api/v1/meetings/{slugs[i % len(slugs)]}/calendar.ics"
    if args.kind == "page":
        return f"/?open={rng.choice(['open', 'closed'])}"
    return "/api/v1/meetings/?near=92612&radius=10&day=3"


client = Client()
answers: dict[tuple, int] = {}


def ask(i: int) -> None:
    response = client.get(path(i))
    answer = (response.status_code, response.get("X-Cache"))
    answers[answer] = answers.get(answer, 0) + 1


for i in range(1000, 1015):
    ask(i)
answers.clear()
pid = str(os.getpid())
subprocess.run(["callgrind_control", "-i", "on", pid], capture_output=True)  # nothing to do outside valgrind
for i in range(args.requests):
    ask(i)
subprocess.run(["callgrind_control", "-d", pid], capture_output=True)  # nothing to do outside valgrind
print(args.kind, args.requests, "requests:", answers)
