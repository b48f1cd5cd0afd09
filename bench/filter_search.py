"""Searches by type code, by language, by keyword and by a place's name as
people ask them (near a place, and listings), timed through the app in-process (Django `Client`, the real
view, production settings, the answer cache off).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mf_bench_100000 .venv/bin/python bench/filter_search.py [--points 60]

Read-only: only GET requests. Prints one line per kind of search: median and
90th percentile over the same populated points (fixtures/directory.py), and
the matches summed over them, which must not change between two trees.
"""

from __future__ import annotations

import argparse
import random
import time

import in_process

in_process.django_setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from fixtures import directory  # noqa: E402

SEARCH = "/api/v1/meetings/"
# (city, state) of the directory's US places, read by main().
PLACES: list[tuple[str, str]] = []


def near(point: tuple[float, float], radius_mi: int) -> dict[str, str]:
    return {"lat": f"{point[0]:.4f}", "lng": f"{point[1]:.4f}", "radius": str(radius_mi)}


SEARCHES = {
    "near, type=O": lambda p, rng: {**near(p, 10), "type": "O"},
    "near, aa, type=O,W": lambda p, rng: {**near(p, 10), "type": "O,W", "fellowship": "aa"},
    "near, aa, type=ASL (rare)": lambda p, rng: {**near(p, 25), "type": "ASL", "fellowship": "aa"},
    "near, type=D|DISC (either)": lambda p, rng: {**near(p, 10), "type": "D|DISC"},
    "near, language=es": lambda p, rng: {**near(p, 25), "language": "es"},
    # The directory's own US places, named as people type them (round 32).
    "near=City, ST": lambda p, rng: {"near": ", ".join(rng.choice(PLACES))},
    "near=City (bare name)": lambda p, rng: {"near": rng.choice(PLACES)[0]},
    "list, everything": lambda p, rng: {},
    "list, one day": lambda p, rng: {"day": str(rng.randrange(7))},
    "list, type=O, one day": lambda p, rng: {"type": "O", "day": str(rng.randrange(7))},
    "list, aa, type=W,B": lambda p, rng: {"type": "W,B", "fellowship": "aa"},
    "list, type=D|DISC (either)": lambda p, rng: {"type": "D|DISC"},
    "list, type=D|DISC and W": lambda p, rng: {"type": "D|DISC,W"},
    "list, language=es": lambda p, rng: {"language": "es"},
    "near, q=serenity": lambda p, rng: {**near(p, 10), "q": "serenity"},
    "near, q=ab (2 letters)": lambda p, rng: {**near(p, 10), "q": "ab"},
    "list, q=serenity": lambda p, rng: {"q": "serenity"},
    "list, q=women (a type)": lambda p, rng: {"q": "women"},
    "list, q=step (common)": lambda p, rng: {"q": "step"},
    "list, q=grupo (no match)": lambda p, rng: {"q": "grupo"},
    "list, q=ab (2 letters)": lambda p, rng: {"q": "ab"},
    "list, q=the (very common)": lambda p, rng: {"q": "the"},
    "list, q=language of the heart": lambda p, rng: {"q": "language of the heart"},
    "list, q=street (rare)": lambda p, rng: {"q": "street"},
    "list, q=church": lambda p, rng: {"q": "church"},
    "list, q=big book": lambda p, rng: {"q": "big book"},
    "list, q=%%% (signs only: no word)": lambda p, rng: {"q": "%%%"},
    "list, q=step - study (a dash)": lambda p, rng: {"q": "step - study"},
    "near, q=the": lambda p, rng: {**near(p, 10), "q": "the"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=60)
    parser.add_argument("--seed", type=int, default=3)
    options = parser.parse_args()
    client = Client()
    points = directory.populated_points(random.Random(options.seed), options.points)
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT city, state FROM meetings_location WHERE country = 'US' AND city <> '' "
                       "AND state <> '' AND NOT approximate ORDER BY 1, 2")
        PLACES.extend(random.Random(options.seed).sample(cursor.fetchall(), 200))
    print(f"database {connection.settings_dict['NAME']} ({connection.vendor}), {options.points} points each")
    print(f"{'search':30} {'p50 ms':>8} {'p90 ms':>8} {'matches':>8}")
    for name, make in SEARCHES.items():
        rng = random.Random(options.seed)
        times, matches = [], 0
        for point in points:
            started = time.perf_counter()
            response = client.get(SEARCH, make(point, rng))
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{name}: {response.status_code} {response.content[:300]!r}")
            matches += response.json()["count"]
        times.sort()
        print(f"{name:30} {times[len(times) // 2]:>8.2f} {times[int(len(times) * 0.9)]:>8.2f} {matches:>8}")


if __name__ == "__main__":
    main()
