"""The worst search requests one can build within the limits (issue 12:
bounded work per request), timed through the app in-process (Django
`Client`, the real view, production settings, the statement timeout on).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mf_bench_100000 .venv/bin/python bench/worst_search.py [--runs 5]

Read-only: only GET requests. Prints one line per request: its query length,
status, matches on the first page, median and slowest time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import string
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meetingfinder.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-key-never-used-in-production-7c1e9a4f2b8d6e3a5c0f")
os.environ.setdefault("DJANGO_DEBUG", "false")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from fellowships.models import MeetingType, ServiceBody  # noqa: E402
from meetings.filters import MAX_STARTING_WITHIN, TIMES_OF_DAY  # noqa: E402
from meetings.keywords import MAX_KEYWORD_WORDS  # noqa: E402
from meetings.models import Region  # noqa: E402

SEARCH = "/api/v1/meetings/"


def most(values: list[str]) -> str:
    """As many distinct values as one parameter takes."""
    return ",".join(values[: settings.MEETINGS_MAX_VALUES_PER_PARAMETER])


def longest_q() -> str:
    """The costliest allowed q: the most words (MAX_KEYWORD_WORDS), each two
    letters (no trigram to narrow it), each its own condition over every text column."""
    words = [a + b for a in string.ascii_lowercase for b in "aeiou"]
    return " ".join(words[:MAX_KEYWORD_WORDS])


def requests() -> dict[str, dict[str, str]]:
    codes = list(MeetingType.objects.filter(fellowship__slug="aa").order_by("code").values_list("code", flat=True))
    regions = list(Region.objects.order_by("slug").values_list("slug", flat=True))
    bodies = list(ServiceBody.objects.order_by("slug").values_list("slug", flat=True))
    # Languages the directory knows (an unknown one is a 400, not work).
    languages = sorted(set(MeetingType.objects.filter(kind="language").values_list("language", flat=True))
                       | set(ServiceBody.objects.values_list("default_language", flat=True)) - {""})
    everything = {
        "fellowship": "aa,na,al-anon", "day": "0,1,2,3,4,5,6", "type": most(codes),
        "attendance": "in_person,online,hybrid,inactive", "time_of_day": ",".join(TIMES_OF_DAY),
        "language": most(languages), "region": most(regions), "service_body": most(bodies),
        "starting_within": str(MAX_STARTING_WITHIN), "tz": "America/New_York", "open": "open",
        "time_after": "21:00", "time_before": "04:00",
    }
    deepest = str(settings.MEETINGS_MAX_OFFSET)  # a deeper page is a 400
    near = {"lat": "40.7128", "lng": "-74.0060", "radius": str(settings.MEETINGS_MAX_RADIUS_KM), "units": "km"}
    return {
        "20 type codes (aa)": {"fellowship": "aa", "type": most(codes)},
        "costliest q (10 two-letter words)": {"q": longest_q()},
        "every list parameter at its cap + costliest q": {**everything, "q": longest_q()},
        "the same, near NYC, max radius": {**everything, "q": longest_q(), **near},
        "near NYC, max radius, deepest offset": {**near, "offset": deepest, "limit": "200"},
        "no place, deepest offset, limit 200": {"offset": deepest, "limit": "200"},
        "soonest first, deepest offset, limit 200": {"order": "soonest", "offset": deepest, "limit": "200"},
        "starting_within max, tz, 20 languages": {"starting_within": str(MAX_STARTING_WITHIN),
                                                  "tz": "Pacific/Kiritimati", "language": most(languages)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    client = Client(raise_request_exception=False)
    print(f"database {connection.settings_dict['NAME']} ({connection.vendor}), statement timeout "
          f"{settings.DATABASE_STATEMENT_TIMEOUT_MS} ms, {options.runs} runs each")
    print(f"{'request':46} {'query':>6} {'status':>6} {'rows':>5} {'median ms':>10} {'max ms':>8}")
    for name, query in requests().items():
        encoded = urlencode(query)
        times, status, rows = [], None, 0
        for _ in range(options.runs):
            started = time.perf_counter()
            response = client.get(f"{SEARCH}?{encoded}")
            times.append((time.perf_counter() - started) * 1000)
            status = response.status_code
            if status == 200:
                rows = len(response.json()["results"])
            elif status == 400:
                raise SystemExit(f"{name}: 400 {response.json()}: the request is not within the limits")
        print(f"{name:46} {len(encoded):>6} {status:>6} {rows:>5} {statistics.median(times):>10.1f} "
              f"{max(times):>8.1f}")


if __name__ == "__main__":
    main()
