"""Search benchmarks on one loaded database: the database time of the
nearest-25 search (EXPLAIN ANALYZE) against a full-scan reference, the count
query, and the API in-process against a plain ModelSerializer reference.

    DATABASE_URL=postgres://.../mf_bench_100000 python bench/search_bench.py --json out.json

`bench/run.py` runs it once per size; it prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meetingfinder.settings")
# DEBUG is off, as in production, so Django needs a key: a throwaway one.
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-key-never-used-in-production-7c1e9a4f2b8d6e3a5c0f")
# Benchmarks measure production settings: DEBUG keeps every query in memory.
os.environ.setdefault("DJANGO_DEBUG", "false")
# The search is measured, not the answer cache in front of it (meetings/public_answers.py):
# the same points run through the Client and the view, so the second would read the first's answers.
os.environ.setdefault("CACHE_ANSWERS", "false")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from rest_framework import generics, serializers  # noqa: E402
from rest_framework.test import APIRequestFactory  # noqa: E402

from fixtures import directory  # noqa: E402
from meetings import geo  # noqa: E402
from meetings.api.pagination import CappedCountPagination  # noqa: E402
from meetings.api.views import MeetingViewSet  # noqa: E402
from meetings.filters import search_parse  # noqa: E402
from meetings.models import Location, Meeting  # noqa: E402
from meetings.querysets import near  # noqa: E402
from meetings.rows import IdsStatement, page_statement  # noqa: E402
from meetings.selectors import MeetingFilters, ids_statement, meeting_search  # noqa: E402

RADIUS_MI = 25
RADIUS_M = geo.to_metres(RADIUS_MI, "mi")


def percentiles(values: list[float]) -> dict:
    values = sorted(values)
    if not values:
        return {}

    def at(q: float) -> float:
        return round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))], 3)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "mean": round(statistics.fmean(values), 3),
            "n": len(values)}


def search_filters(rng: random.Random) -> MeetingFilters:
    """The benchmarked search: one weekday, open, attendable in person."""
    return MeetingFilters(days=(rng.randrange(7),), open_closed="open", attendance=("in_person",))


# --- the queries ---------------------------------------------------------------

def indexed_search(point: geo.Point, filters: MeetingFilters):
    """The app's search, exactly as the API runs it: the statement of its first 25 ids."""
    return ids_statement(meeting_search(point=point, radius_m=RADIUS_M, filters=filters), window=slice(0, 25))


# The planner setting the app reads every nearest-first search under
# (meetings/geo.py: nearest_first_plan).
APP_SETTINGS = ("SET enable_bitmapscan = off",)


def full_scan_search(point: geo.Point, filters: MeetingFilters):
    """BMLT's way: the distance of every row passing the filters, ordered by it;
    neither the box nor the KNN order can use the GiST index."""
    qs = meeting_search(point=None, radius_m=None, filters=filters).meetings.filter(
        latitude__isnull=False, longitude__isnull=False)
    centre = geo.earth_point(point.latitude, point.longitude)
    qs = qs.annotate(distance_m=geo.pg_distance_m(centre)).filter(geo.pg_within_radius(centre, RADIUS_M))
    return qs.order_by("distance_m", "id")[:25]


def explain(sql: str, params, *, settings: tuple[str, ...] = ()) -> dict:
    with connection.cursor() as cursor:
        for statement in settings:
            cursor.execute(statement)
        try:
            cursor.execute(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        finally:
            for statement in settings:
                cursor.execute(f"RESET {statement.split()[1]}")
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return plan[0]


def plan_nodes(node: dict) -> list[dict]:
    return [node] + [n for child in node.get("Plans", []) for n in plan_nodes(child)]


def plan_summary(plan: dict) -> str:
    """The plan's node types, outermost first, with the index used."""
    parts = []
    for node in plan_nodes(plan["Plan"]):
        label = node["Node Type"]
        if node.get("Index Name"):
            label += f" on {node['Index Name']}"
        if node.get("Order By"):
            label += " (KNN order)"
        if node["Node Type"] == "Sort":
            label += f" [{node.get('Sort Method', '')}]"
        parts.append(label)
    return " > ".join(parts)


def time_query(build, points, rng, *, settings: tuple[str, ...] = ()) -> dict:
    times, planning, plans, rows = [], [], {}, []
    for lat, lng in points:
        built = build(geo.Point(lat, lng), search_filters(rng))
        sql, params = built if isinstance(built, tuple) else built.query.sql_with_params()
        plan = explain(sql, params, settings=settings)
        times.append(plan["Execution Time"])
        planning.append(plan["Planning Time"])
        rows.append(plan["Plan"].get("Actual Rows", 0))
        summary = plan_summary(plan)
        plans[summary] = plans.get(summary, 0) + 1
    # Execution Time leaves out planning, which the API pays on every query too.
    return {**percentiles(times), "planning": percentiles(planning), "rows_mean": round(statistics.fmean(rows), 1),
            "plans": plans}


def time_page_statement(points, rng) -> dict:
    """The database time of the one statement the API runs for a page (25
    rows and one of lookahead: meetings/selectors.py search_page, its ids
    nearest first under its rows), under the app's planner setting."""
    return time_query(lambda point, filters: page_statement(IdsStatement(*ids_statement(
        meeting_search(point=point, radius_m=RADIUS_M, filters=filters), window=slice(0, 26)), using="default"))[:2],
        points, rng, settings=APP_SETTINGS)


def count_costs(points, rng) -> dict:
    """Exact count vs the API's capped count vs the search, at dense points."""
    exact, capped, search = [], [], []
    for lat, lng in points:
        filters = search_filters(rng)
        found = meeting_search(point=geo.Point(lat, lng), radius_m=RADIUS_M, filters=filters)
        sql, params = ids_statement(found, window=slice(0, None))
        exact.append(explain(f"SELECT COUNT(*) FROM ({sql}) AS matches", params)["Execution Time"])
        sql, params = ids_statement(found, window=slice(0, _count_cap() + 1))
        capped.append(explain(f"SELECT COUNT(*) FROM ({sql}) AS matches", params)["Execution Time"])
        sql, params = ids_statement(found, window=slice(0, 25))
        search.append(explain(sql, params, settings=APP_SETTINGS)["Execution Time"])
    return {"exact_count": percentiles(exact), "capped_count": percentiles(capped), "search": percentiles(search),
            "cap": _count_cap()}


def _count_cap() -> int:
    from django.conf import settings

    return settings.MEETINGS_COUNT_CAP


# --- the API -------------------------------------------------------------------

class ReferenceLocationSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Location
        fields = ["name", "formatted_address", "address", "city", "state", "postal_code", "country",
                  "approximate", "region", "notes"]


class ReferenceMeetingSerializer(serializers.ModelSerializer):
    """The plain DRF way: a ModelSerializer with nested and related fields."""

    fellowship = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    service_body = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    types = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    location = ReferenceLocationSerializer(read_only=True)
    distance = serializers.SerializerMethodField()

    class Meta:
        model = Meeting
        fields = ["slug", "name", "fellowship", "service_body", "day", "time", "end_time", "timezone", "types",
                  "open_closed", "attendance", "location", "latitude", "longitude", "notes", "conference_url",
                  "conference_url_notes", "conference_provider", "conference_phone", "conference_phone_notes",
                  "group", "url", "updated", "distance"]

    def get_distance(self, meeting) -> float | None:
        metres = getattr(meeting, "distance_m", None)
        return None if metres is None else round(geo.from_metres(metres, "mi"), 2)


class ReferenceMeetingList(generics.ListAPIView):
    """The same search and pagination as the app's endpoint, read under the
    same planner setting; only the serializer differs."""

    serializer_class = ReferenceMeetingSerializer
    pagination_class = CappedCountPagination
    filter_backends: list = []

    def get_queryset(self):
        search = search_parse(self.request.query_params)
        centre = geo.earth_point(search.point.latitude, search.point.longitude)
        found = meeting_search(point=search.point, radius_m=search.radius_m, filters=search.filters)
        # The same search as the ORM's query: its conditions, the place's, nearest first.
        within, order = near(search.point, radius_m=found.nearest.radius_m, vendor="postgresql")
        return found.meetings.filter(*within).order_by(*order).annotate(
            distance_m=geo.pg_distance_m(centre)).with_listing_relations().using(self.run_on)

    def list(self, request, *args, **kwargs):
        with geo.nearest_first_plan(using="default") as self.run_on:
            return super().list(request, *args, **kwargs)


def api_query(lat: float, lng: float, rng: random.Random) -> dict:
    return {"lat": f"{lat:.5f}", "lng": f"{lng:.5f}", "radius": str(RADIUS_MI), "units": "mi",
            "day": str(rng.randrange(7)), "open": "open", "attendance": "in_person", "limit": "25"}


def time_api(points, rng, *, call) -> dict:
    times, statuses, results = [], {}, []
    started = time.perf_counter()
    for lat, lng in points:
        query = api_query(lat, lng, rng)
        t0 = time.perf_counter()
        status, count = call(query)
        times.append((time.perf_counter() - t0) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        results.append(count)
    elapsed = time.perf_counter() - started
    return {**percentiles(times), "per_second": round(len(points) / elapsed, 1), "statuses": statuses,
            "results_mean": round(statistics.fmean(results), 1)}


def client_call():
    client = Client()

    def call(query):
        response = client.get("/api/v1/meetings/", query)
        return response.status_code, len(response.json()["results"]) if response.status_code == 200 else 0

    return call


def view_call(view):
    factory = APIRequestFactory()

    def call(query):
        response = view(factory.get("/api/v1/meetings/", query), version="v1")
        if hasattr(response, "render"):
            response.render()
        return response.status_code, len(json.loads(response.content)["results"]) if response.status_code == 200 else 0

    return call


def run(*, samples: int, api_samples: int, seed: int) -> dict:
    rng = random.Random(seed)
    dense = directory.dense_points(rng, samples)
    rural = directory.rural_points(rng, samples)
    populated = directory.populated_points(rng, api_samples)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM meetings_meeting")
        meetings = cursor.fetchone()[0]
    # Warm the caches once so the first size measured is not penalised.
    time_query(indexed_search, dense[:10], random.Random(0), settings=APP_SETTINGS)
    result = {"meetings": meetings, "radius_mi": RADIUS_MI, "db": {}}
    for label, points in (("dense", dense), ("rural", rural)):
        result["db"][label] = {
            "indexed": time_query(indexed_search, points, random.Random(seed), settings=APP_SETTINGS),
            "full_scan": time_query(full_scan_search, points[: max(10, samples // 4)], random.Random(seed)),
        }
    result["count"] = count_costs(dense[: max(10, samples // 2)], random.Random(seed))
    app_view = MeetingViewSet.as_view({"get": "list"})
    reference_view = ReferenceMeetingList.as_view()
    view_call(app_view)(api_query(*populated[0], rng))  # warm-up
    view_call(reference_view)(api_query(*populated[0], rng))
    result["api"] = {
        "client": time_api(populated, random.Random(seed), call=client_call()),
        "app_view": time_api(populated, random.Random(seed), call=view_call(app_view)),
        "model_serializer_view": time_api(populated, random.Random(seed), call=view_call(reference_view)),
    }
    # The database time of the same populated-area searches, for the API's ratio.
    result["api"]["db_same_points"] = time_query(indexed_search, populated, random.Random(seed),
                                                  settings=APP_SETTINGS)
    result["api"]["db_page_statement"] = time_page_statement(populated, random.Random(seed))
    result["db"]["dense"]["page_statement"] = time_page_statement(dense, random.Random(seed))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200, help="random points per database measurement")
    parser.add_argument("--api-samples", type=int, default=300, help="requests per in-process API measurement")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args()
    result = run(samples=args.samples, api_samples=args.api_samples, seed=args.seed)
    text = json.dumps(result, indent=2)
    if args.json:
        Path(args.json).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
