"""Issue 2, "Geo search that scales": on 100,000 meetings the nearest-first
search with radius and filters is served by the GiST index, and PostgreSQL
returns the same meetings in the same order as the exact great-circle
computation the SQLite path uses (meetings/geo.py's `great_circle_m`). On
the same data, a keyword search reads the trigram index of migration 0012
when the word is rare, and stops at the page when it is common.

The data is fixtures/directory.py's generator, bulk-loaded with COPY."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
from dataclasses import replace

import pytest
from django.db import connection, connections

from fixtures import directory
from fellowships.models import Fellowship
from meetings import geo
from meetings.querysets import times_under_way
from meetings.rows import IdsStatement, page_statement
from meetings.selectors import ATTENDANCE_MATCHES, MeetingFilters, ids_statement, meeting_search, nearest_first_values

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# The (earth, day) GiST index of migration 0005.
INDEX = "meeting_earth_day_gist"
RADIUS_M = geo.to_metres(25, "mi")


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the GiST/earthdistance plan exists only on PostgreSQL: run with DATABASE_URL=postgres://...")


def near_statement(point: geo.Point, filters: MeetingFilters, *, window: slice = slice(0, 25)) -> tuple[str, tuple]:
    """The statement of a nearest-first search's ids, as selectors.search_page reads them."""
    return ids_statement(meeting_search(point=point, radius_m=RADIUS_M, filters=filters), window=window)


def plan_for(statement: tuple[str, tuple]) -> dict:
    """The plan PostgreSQL runs the statement with: inside the planner setting
    that selectors.search_page applies when it reads a nearest-first search."""
    sql, params = statement
    with geo.nearest_first_plan(using="default") as alias, connections[alias].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def nodes(plan: dict) -> list[dict]:
    return [plan] + [n for child in plan.get("Plans", []) for n in nodes(child)]


def searches() -> list[tuple[str, geo.Point, MeetingFilters]]:
    aa = Fellowship.objects.get(slug="aa")
    na = Fellowship.objects.get(slug="na")
    rng = random.Random(5)
    cases = []
    for n, (lat, lng) in enumerate(directory.dense_points(rng, 3) + directory.rural_points(rng, 2)):
        cases.append((f"point {n}: radius + day + open + attendance + fellowship", geo.Point(lat, lng), MeetingFilters(
            fellowships=(aa,) if n % 2 else (aa, na), days=(n % 7,), open_closed="open", attendance=("in_person",))))
        cases.append((f"point {n}: radius + open, no weekday", geo.Point(lat, lng), MeetingFilters(open_closed="open")))
        cases.append((f"point {n}: radius + two weekdays", geo.Point(lat, lng), MeetingFilters(days=(n % 7, (n + 3) % 7))))
    return cases


@pytest.fixture(scope="module")
def hundred_thousand(shared_rows):
    """Loaded once for the module (conftest's `shared_rows`)."""
    if connection.vendor != "postgresql":
        yield
        return
    with shared_rows():
        directory.directory_load(size=100_000, seed=11, rebuild_indexes=True)
        yield


def test_index_serves_radius_search_with_filters(hundred_thousand):
    for label, point, filters in searches():
        ids = near_statement(point, filters)
        for statement in (ids, page_statement(IdsStatement(*ids, using="default"))[:2]):  # its ids, the page's rows
            plan = nodes(plan_for(statement))
            on_meetings = [n for n in plan if n.get("Relation Name") == "meetings_meeting"]
            assert not [n for n in on_meetings if n["Node Type"] == "Seq Scan"], (label, plan)
            assert any(n.get("Index Name") == INDEX for n in plan), (label, plan)


def test_nearest_first_search_is_a_knn_index_scan(hundred_thousand):
    for label, point, filters in searches():
        plan = nodes(plan_for(near_statement(point, filters)))
        knn = [n for n in plan if n.get("Index Name") == INDEX and n["Node Type"] == "Index Scan"
               and "<->" in " ".join(n.get("Order By", []) if isinstance(n.get("Order By"), list)
                                     else [n.get("Order By", "")])]
        assert knn, (label, plan)
        # A sort may only order the few rows that share a distance, never every match.
        assert not [n for n in plan if n["Node Type"] == "Sort"], (label, plan)


def test_a_prepared_near_statement_is_planned_once_as_the_knn_scan(hundred_thousand):
    """The knn connection keeps one plan of a statement it has prepared
    (settings.py: plan_cache_mode=auto there) once that plan costs no more
    than planning for each search's values: it must, and be the KNN scan.
    With the window as a parameter, PostgreSQL planned every search again
    (0.6-0.8 ms more a search at 100,000 meetings; bench/README.md, round 47)."""
    import itertools
    import re

    from django.db import transaction
    from psycopg.sql import Literal

    for label, point, filters in searches():
        sql, params = near_statement(point, filters)
        numbered = re.sub(r"(?<!%)%s", lambda _, n=itertools.count(1): f"${next(n)}", sql).replace("%%", "%")
        types = [next(name for kind, name in ((float, "float8"), (int, "bigint"), (str, "text"))
                      if isinstance(value, kind)) for value in params]
        values = ", ".join(f"{Literal(value).as_string(connection.connection)}::{t}" for value, t in zip(params, types))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("SET LOCAL plan_cache_mode = auto")
            cursor.execute(f"PREPARE near({', '.join(types)}) AS {numbered}")
            try:
                for _ in range(8):
                    cursor.execute(f"EXECUTE near({values})")
                cursor.execute("SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'near'")
                generic, custom = cursor.fetchone()
                cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE near({values})")
                plan = cursor.fetchone()[0]
            finally:
                cursor.execute("DEALLOCATE near")
        assert (generic, custom) == (3, 5), label  # planned for the first five runs' values, then kept
        plan = nodes((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
        assert [n for n in plan if n.get("Index Name") == INDEX and "<->" in str(n.get("Order By", ""))], (label, plan)
        assert not [n for n in plan if n["Node Type"] == "Sort"], (label, plan)


def test_one_weekday_is_a_condition_of_the_knn_scan(hundred_thousand):
    """The other weekdays are skipped inside the index, not fetched and filtered."""
    for label, point, filters in searches():
        if len(filters.days) != 1:
            continue
        plan = nodes(plan_for(near_statement(point, filters)))
        (scan,) = [n for n in plan if n.get("Index Name") == INDEX]
        assert f"(day = '{filters.days[0]}'::smallint)" in scan["Index Cond"], (label, scan)
        assert "day" not in scan.get("Filter", ""), (label, scan)


def keyword_plan(words: str, *, analyze: bool = False) -> list[dict]:
    """The plan of a listing's first page for `q=words` (no place)."""
    return listing_plan({"q": words}, analyze=analyze)


def listing_plan(query: dict[str, str], *, analyze: bool = False) -> list[dict]:
    """The plan of a listing's first page for `query` (no place)."""
    from django.http import QueryDict

    from meetings.filters import search_parse
    from meetings.selectors import search_query

    qs = search_query(search_parse(QueryDict(mutable=True) | query)).meetings.values_list("id", flat=True)[:26]
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ({'ANALYZE, ' if analyze else ''}FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    return nodes((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])


def test_a_rare_keyword_without_a_place_is_looked_up_in_the_trigram_index(hundred_thousand):
    """Checked row by row (unaccent on six columns of every meeting until a
    page is found), one rare word took 310-520 ms at 100,000 meetings
    (bench/README.md, round 15): it is found through the trigram index of
    the meetings' search text (migration 0012)."""
    for words in ("street", "avenue", "street avenue"):
        plan = keyword_plan(words)
        assert "meeting_search_text_trgm" in {n.get("Index Name") for n in plan}, (words, plan)


def test_a_common_keyword_without_a_place_stops_at_the_page(hundred_thousand):
    """A word in most meetings ("the") was gathered whole before the page
    when a meeting's and its venue's texts were indexed apart (round 15: 22
    -> 135 ms, growing with the directory): the page reads in weekday order
    and stops once it is full."""
    for words in ("the", "the group"):
        plan = keyword_plan(words, analyze=True)
        read = sum(n.get("Actual Rows", 0) + n.get("Rows Removed by Filter", 0)
                   + n.get("Rows Removed by Index Recheck", 0)
                   for n in plan if n.get("Relation Name") in ("meetings_meeting", "meetings_location"))
        assert read < 10_000, (words, read, plan)  # of 100,000


def rows_read(plan: list[dict]) -> int:
    return sum(n.get("Actual Rows", 0) + n.get("Rows Removed by Filter", 0) + n.get("Rows Removed by Index Recheck", 0)
               for n in plan if n.get("Relation Name") in ("meetings_meeting", "meetings_meeting_types"))


def test_a_search_by_rare_type_codes_reads_no_type_rows_and_a_few_meetings(hundred_thousand):
    """Each code was a subquery run for every meeting tried, reading its type
    rows: "list, aa, type=W,B" tried every AA meeting (~120-200 ms;
    bench/README.md, round 18). The codes are words of the meeting's row:
    PostgreSQL reads the meetings that have them through the column's
    trigram index (migration 0016), or reads in weekday order until the page
    is full, whichever its sampled statistics make cheaper (both were seen)."""
    plan = listing_plan({"type": "W,B", "fellowship": "aa"}, analyze=True)
    assert not [n for n in plan if n.get("Relation Name") == "meetings_meeting_types"], plan
    assert rows_read(plan) < 20_000, plan  # of 100,000


def test_a_search_by_a_common_type_code_stops_at_the_page(hundred_thousand):
    """Open meetings are half the directory: read in weekday order, each row
    checked for the code, until the page is full."""
    plan = listing_plan({"type": "O", "day": "3"}, analyze=True)
    assert not [n for n in plan if n.get("Relation Name") == "meetings_meeting_types"], plan
    assert rows_read(plan) < 5_000, plan


def test_a_keyword_near_a_place_keeps_the_knn_scan(hundred_thousand):
    """Near a place the KNN scan reads a few rows and each is checked: no
    scan of every meeting or venue for the word (the nearest-first plan has
    no bitmap scans, which the trigram indexes need)."""
    for label, point, filters in searches()[:4]:
        plan = nodes(plan_for(near_statement(point, replace(filters, keyword="serenity hall"))))
        assert any(n.get("Index Name") == INDEX for n in plan), (label, plan)
        assert not [n for n in plan if n["Node Type"] == "Seq Scan"
                    and n.get("Relation Name") in ("meetings_meeting", "meetings_location")], (label, plan)


def expected_nearest(generated: directory.Directory, point: geo.Point, filters: MeetingFilters, fellowship_ids):
    """The search done the SQLite way in plain Python: filter, exact great-circle distance, (distance, id)."""
    attendance = {a for wanted in filters.attendance for a in ATTENDANCE_MATCHES[wanted]}
    found = []
    for m in generated.meetings:
        # Online-only meetings' pins are cities, not places to go: a near search leaves them out.
        if not m["published"] or m["latitude"] is None or m["attendance"] == "online":
            continue
        if filters.days and m["day"] not in filters.days:
            continue
        if filters.open_closed and m["open_closed"] != filters.open_closed:
            continue
        if attendance and m["attendance"] not in attendance:
            continue
        if fellowship_ids and m["fellowship_id"] not in fellowship_ids:
            continue
        distance = geo.great_circle_m(point.latitude, point.longitude, m["latitude"], m["longitude"])
        if distance <= RADIUS_M:
            found.append((distance, m["id"]))
    return sorted(found)


def by_distance(results: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """(distance, id) in distance order, ids of equal distances (to a micrometre) sorted."""
    return sorted((round(d, 6), pk) for d, pk in results)


def test_postgresql_order_equals_exact_great_circle_order(vocabularies):
    generated, _ = directory.directory_load(size=10_000, seed=12)
    rng = random.Random(9)
    points = directory.dense_points(rng, 6) + directory.populated_points(rng, 10) + directory.rural_points(rng, 4)
    aa = Fellowship.objects.get(slug="aa")
    compared = 0
    for n, (lat, lng) in enumerate(points):
        point = geo.Point(lat, lng)
        filters = MeetingFilters(days=(n % 7,), open_closed="open" if n % 3 else None,
                                 attendance=("in_person",) if n % 2 else (), fellowships=(aa,) if n % 4 == 0 else ())
        expected = expected_nearest(generated, point, filters, {aa.pk} if filters.fellowships else set())
        # Only this test's rows: other tests of the module may have loaded more.
        found = meeting_search(point=point, radius_m=RADIUS_M, filters=filters)
        centre = geo.earth_point(lat, lng)
        got = [(geo.earth_distance_m(geo.earth_point(latitude, longitude), centre), pk) for pk, latitude, longitude
               in nearest_first_values(found, window=slice(0, 100), columns='"id", "latitude", "longitude"',
                                       meetings=found.meetings.filter(pk__gte=generated.meetings[0]["id"]))]
        expected = expected[:100]
        # Meetings within a centimetre of the radius may fall either side of it on either path.
        if len(got) != len(expected):
            boundary = {pk for d, pk in expected + got if abs(d - RADIUS_M) < 0.01}
            got = [x for x in got if x[1] not in boundary]
            expected = [x for x in expected if x[1] not in boundary]
        # Nearest first; meetings at one spot (the same distance) come in index order on
        # PostgreSQL, so those are compared as groups.
        assert [d for d, _ in got] == sorted(d for d, _ in got), (lat, lng, filters)
        assert by_distance(got) == by_distance(expected), (lat, lng, filters)
        assert all(abs(a - b) < 0.01 for (a, _), (b, _) in zip(got, expected))
        compared += len(got)
    assert compared > 250


def test_reading_a_search_page_plans_it_as_a_knn_scan(vocabularies):
    """plan_for() above applies the planner setting by hand; search_page, which
    every reader of a nearest-first search goes through, must apply it itself."""
    from django.test.utils import CaptureQueriesContext

    from meetings.selectors import MeetingSearch, search_page

    search = MeetingSearch(point=geo.Point(40.72, -74.0), radius_m=RADIUS_M)
    with CaptureQueriesContext(connection) as captured:
        search_page(search, window=slice(0, 25))
    statements = [q["sql"] for q in captured.captured_queries]
    setting = [i for i, sql in enumerate(statements) if "'enable_bitmapscan', 'off'" in sql or "enable_bitmapscan = off" in sql]
    search_at = [i for i, sql in enumerate(statements) if "<->" in sql]
    assert setting and search_at and setting[0] < search_at[0], statements


def test_a_near_search_at_another_place_compiles_no_query_of_meetings(vocabularies, client, settings, monkeypatch):
    """Building and compiling the whole query was a sixth of a near search's
    instructions (bench/README.md, round 47): what a search asks besides its
    place is compiled once for the question and kept with it, and the place
    is the parameters of the one near statement (geo.NEAREST_FIRST_SQL)."""
    from django.db.models.sql.compiler import SQLCompiler

    from meetings.models import Meeting
    from tests.factories import LocationFactory, make_meeting

    settings.CACHE_ANSWERS = False
    for n, (lat, lng) in enumerate([(40.72, -74.0), (40.75, -73.98), (40.70, -73.95)]):
        make_meeting(name=f"Meeting {n}", day=3, location=LocationFactory(latitude=lat, longitude=lng))
    compiled, real = [], SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *args, **kwargs: compiled.append(self.query.model)
                        or real(self, *args, **kwargs))
    asked = {"day": "3", "radius": "25", "attendance": "in_person"}

    def names(lat: float, lng: float) -> list[str]:
        answer = client.get("/api/v1/meetings/", {"lat": lat, "lng": lng, **asked})
        assert answer.status_code == 200, answer.content
        return [row["name"] for row in answer.json()["results"]]

    assert names(40.72, -74.0) == ["Meeting 0", "Meeting 1", "Meeting 2"]
    assert Meeting in compiled  # the question's first search
    compiled.clear()
    assert names(40.70, -73.95) == ["Meeting 2", "Meeting 0", "Meeting 1"]
    assert Meeting not in compiled, compiled


def test_the_kept_sql_of_a_search_goes_with_its_kept_query(vocabularies):
    """A clock search's kept query is dropped when its minute passes
    (`_matching_at`); its SQL must go with it, not stay held by a cache of
    its own (about 240 KB each, hundreds of them)."""
    import gc

    from meetings import selectors

    for minute in range(3):
        now = dt.datetime(2026, 12, 2, 18, minute, tzinfo=dt.timezone.utc)
        for filters in (MeetingFilters(in_progress=True, now=now), MeetingFilters(starting_within=60, now=now)):
            near_statement(geo.Point(40.72, -74.0), filters)
    assert len(selectors._KEPT_SQL) > 0
    selectors._matching_at.cache_clear()
    selectors._matching.cache_clear()
    gc.collect()
    assert len(selectors._KEPT_SQL) == 0


def test_written_out_distance_equals_earthdistance_bit_for_bit(vocabularies):
    """geo.PG_DISTANCE_SQL is earth_distance(ll_to_earth(...), centre) written
    out: the same value to the last bit as the function, and as Python's
    geo.earth_distance_m, for points near and far, both hemispheres, across
    the antimeridian and at the poles."""
    from django.db.models.expressions import RawSQL

    from meetings.models import Meeting

    generated, _ = directory.directory_load(size=2_000, seed=14)
    rng = random.Random(3)
    centres = [(40.72, -74.0), (-33.87, 151.21), (64.14, -21.94), (0.0, 179.99), (-89.9, 10.0), (51.5, -0.12)]
    centres += [(rng.uniform(-90, 90), rng.uniform(-180, 180)) for _ in range(4)]
    meetings = Meeting.objects.filter(pk__gte=generated.meetings[0]["id"], latitude__isnull=False)
    compared = 0
    for lat, lng in centres:
        centre = geo.earth_point(lat, lng)
        rows = meetings.annotate(
            written_out=geo.pg_distance_m(centre),
            function=RawSQL('earth_distance(ll_to_earth("meetings_meeting"."latitude", "meetings_meeting"."longitude"),'
                            " %s::cube)", (geo.cube_literal(centre),)),
        ).values_list("latitude", "longitude", "written_out", "function")
        for latitude, longitude, written_out, function in rows:
            assert written_out == function, (lat, lng, latitude, longitude)
            assert written_out == geo.earth_distance_m(geo.earth_point(latitude, longitude), centre)
            compared += 1
    assert compared > 10_000


def test_a_near_search_calls_no_earthdistance_function_per_row(vocabularies):
    """The radius cut is plain arithmetic: earthdistance's earth_distance, a
    SQL function PostgreSQL calls for every row the index scan passes, cost
    ~0.45 ms of a ~2 ms page at 100,000 meetings (bench/README.md, round 13).
    ll_to_earth stays where it is the index's expression (box and `<->`)."""
    sql, _ = near_statement(geo.Point(40.72, -74.0), MeetingFilters(days=(2,)))
    assert "earth_distance(" not in sql and "sec_to_gc(" not in sql, sql
    assert "earth_box(" in sql  # the index condition


def test_a_listings_rows_are_joined_for_its_page_alone(hundred_thousand, client):
    """A listing's page is its ids first, then their rows (the page statement
    nearest-first pages use): its venues, fellowships and service bodies are
    joined for the page's rows only. Planned with every match joined, at
    1,000,000 meetings "list, q=language of the heart" joined the venue of
    40,380 matches to sort them and keep 25 (234 -> 143 ms; "type=O, one
    day" 42 -> 16 ms; bench/README.md, round 20)."""
    from django.test.utils import CaptureQueriesContext

    for query in ({"q": "language of the heart"}, {"type": "O", "day": "3"}, {"q": "the"}):
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/meetings/", query).status_code == 200
        (page,) = [q["sql"] for q in captured if "meetings_location" in q["sql"]]
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {page}")
            plan = cursor.fetchone()[0]
        plan = nodes((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
        joined = [n["Actual Rows"] * n["Actual Loops"] for n in plan if n.get("Relation Name") == "meetings_location"]
        assert joined and max(joined) <= 25, (query, plan)


def test_the_admins_list_of_meetings_reads_a_page_not_the_directory(hundred_thousand, admin_client):
    """The admin's list of meetings, as a superuser sees it, unfiltered and
    searched: at 1,000,000 meetings its page statement sorted every meeting
    (~1 s: the weekday-and-time index held published meetings only) and a
    search checked six columns of every meeting and venue (~2.5 s;
    bench/README.md, round 24). Now the page is read in index order, and a
    search word is looked up in the search text's trigram index."""
    from django.test.utils import CaptureQueriesContext

    for query in ({}, {"q": "street"}, {"q": "street avenue"}):
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get("/admin/meetings/meeting/", query).status_code == 200
        # The page: the one statement that reads meetings in order (all of them when they fit on it).
        (page,) = [q["sql"] for q in captured if q["sql"].startswith('SELECT "meetings_meeting"."id"')
                   and " ORDER BY " in q["sql"]]
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {page}")
            plan = cursor.fetchone()[0]
        plan = nodes((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
        assert rows_read(plan) < 5_000, (query, plan)  # of 100,000
        if "q" in query:
            assert "meeting_search_text_trgm" in {n.get("Index Name") for n in plan}, (query, plan)


def test_what_is_under_way_reads_recent_starts_only(hundred_thousand, client, frozen_now):
    """A search for meetings under way read every start of the last 25 hours
    (the longest a meeting could last), then walked a listing's order to
    find the few under way: 1.5 s at 1,000,000 meetings for the search page
    with no input (bench/README.md, round 25). Now it reads back as far as
    the directory's longest meeting, and the page's statement reads the
    meetings found through the same conditions."""
    from django.test.utils import CaptureQueriesContext

    frozen_now(dt.datetime(2027, 1, 13, 2, 30, tzinfo=dt.timezone.utc))  # Tuesday evening in the Americas
    for query in ({"in_progress": "true"}, {"in_progress": "true", "fellowship": "na"}, {"in_progress": "true",
                                                                                          "q": "serenity"}):
        client.get("/api/v1/meetings/", query)  # the clock's facts: read once per directory version
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/v1/meetings/", query)
        assert response.status_code == 200 and response.json()["count"], query
        read = 0
        for statement in captured:
            if '"meetings_meeting"' not in statement["sql"]:
                continue
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement['sql']}")
                plan = cursor.fetchone()[0]
            read += rows_read(nodes((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]))
        assert read < 10_000, (query, read)  # of 100,000


def test_what_is_under_way_is_read_through_its_weekly_times_alone(hundred_thousand, client, frozen_now):
    """What is under way was every start of the last hours read into Python,
    each checked there, and the ids under way sent back twice (the count and
    the page): 0.8 s at 1,000,000 meetings (bench/README.md, round 37). The
    weekly times under way are found among the clock's facts
    (selectors.clock_turns), so the count and the page are the only
    statements, and each reads through the (zone, day, time, end) index no
    meeting that is not under way, whatever the search asks with it."""
    from django.test.utils import CaptureQueriesContext

    from meetings import schedule, selectors
    from meetings.models import Meeting

    now = frozen_now(dt.datetime(2027, 1, 13, 2, 30, tzinfo=dt.timezone.utc))  # Tuesday evening in the Americas
    under_way = sum(schedule.in_progress(day=day, time=time, end_time=end_time, timezone=zone, now=now)
                    for day, time, end_time, zone in Meeting.objects.values_list("day", "time", "end_time",
                                                                                 "timezone"))
    assert under_way > 1_000
    for query in ({"in_progress": "true"}, {"in_progress": "true", "attendance": "online"},
                  {"in_progress": "true", "fellowship": "na"}):
        selectors.clock_turns(using="default")  # read once per directory version
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/meetings/", query).status_code == 200
        statements = [s["sql"] for s in captured if '"meetings_meeting"' in s["sql"]]
        assert len(statements) == 2, statements  # the count and the page
        for sql in statements:
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
                plan = cursor.fetchone()[0]
            plan = nodes((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
            assert "meeting_tz_day_time_end" in {n.get("Index Name") for n in plan}, (query, plan)
            # The page's 25 rows are read again by key, for their columns.
            assert rows_read(plan) <= under_way + 25, (query, rows_read(plan), under_way)


def test_what_is_under_way_is_listed_in_an_order_no_index_holds(hundred_thousand, client, frozen_now):
    """Listed by weekday and time, the meetings under way were read by
    walking the weekday-and-time index until a page of them was found: they
    all start about now, which PostgreSQL's estimate cannot know, so at
    1,000,000 meetings it chose that walk and read 350,000 meetings (3 s;
    bench/README.md, round 37). None under way lacks a day, so the order
    puts NULL first, which no index holds: even with sorting discouraged,
    the page is the meetings under way, sorted."""
    from django.test.utils import CaptureQueriesContext

    frozen_now(dt.datetime(2027, 1, 13, 2, 30, tzinfo=dt.timezone.utc))
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/v1/meetings/", {"in_progress": "true", "fellowship": "aa"}).status_code == 200
    (page,) = [q["sql"] for q in captured if "meetings_location" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("SET enable_sort = off")
        try:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {page}")
            plan = cursor.fetchone()[0]
        finally:
            cursor.execute("RESET enable_sort")
    plan = nodes((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
    assert not {"meeting_pub_day_time", "meeting_day_time"} & {n.get("Index Name") for n in plan}, plan


def test_a_bare_city_name_is_looked_up_in_the_city_index(hundred_thousand):
    """"Irvine" is completed with the states where the directory has meetings
    in a city of that name (meetings/filters.py). Compared case-blind, with no
    index on the city, it read every place: 122 ms of a 135 ms search at
    1,000,000 meetings, against 11 ms for "Irvine, CA" (1 December 2026). The
    places of that name are read from their index, then their meetings."""
    from meetings.filters import bare_city_states

    with connection.cursor() as cursor:
        cursor.execute("SELECT city FROM meetings_location WHERE city <> '' ORDER BY id LIMIT 1")
        city = cursor.fetchone()[0].lower()  # as a person types it
        sql, params = bare_city_states(city).query.sql_with_params()
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    read = nodes((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
    assert [n for n in read if n.get("Index Name") == "location_city_upper"], read
    assert not [n for n in read if n["Node Type"] == "Seq Scan" and n.get("Relation Name") == "meetings_location"], read


def test_a_place_not_known_reads_the_city_names_of_its_initial(hundred_thousand):
    """A place not known is offered the city spelt like it ("Did you mean").
    The cities were every public meeting's, counted by place: 1.0-1.4 s at
    1,000,000 meetings, paid by the first such request after each write
    (bench/README.md, round 33). Now the names beginning with the letter
    typed are read from the index of upper-cased city names, one probe per
    name, and the one spelt like it is looked up there."""
    from django.http import QueryDict
    from django.test.utils import CaptureQueriesContext

    from meetings.filters import SearchInvalid, search_parse

    with connection.cursor() as cursor:
        cursor.execute("SELECT l.city FROM meetings_location l JOIN meetings_meeting m ON m.location_id = l.id "
                       "WHERE l.state <> '' AND length(l.city) > 5 AND m.published GROUP BY 1 ORDER BY count(*) "
                       "DESC LIMIT 1")
        city = cursor.fetchone()[0]
    with CaptureQueriesContext(connection) as captured, pytest.raises(SearchInvalid) as invalid:
        search_parse(QueryDict(f"near={city}{city[-1]}"))  # "Chicagoo"
    assert invalid.value.suggested_near.startswith(f"{city}, ")
    read = 0
    for statement in captured:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement['sql']}")
            plan = cursor.fetchone()[0]
        read += sum((n.get("Actual Rows", 0) + n.get("Rows Removed by Filter", 0)) * n.get("Actual Loops", 1)
                    for n in nodes((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
                    if n.get("Relation Name") in ("meetings_location", "meetings_meeting"))
    assert read < 20_000, read  # of 100,000 meetings and their 41,000 places


def test_the_clocks_facts_are_read_one_probe_per_weekly_time(hundred_thousand):
    """Every answer that shows the clock reads, once per directory version and
    process, the distinct weekly times of every meeting (selectors.clock_turns).
    SELECT DISTINCT read every meeting: 0.24-0.7 s at 1,000,000 (bench/README.md,
    round 35). The times are read from the (zone, day, time, end) index, one
    probe per time (two after a start without an end), the same with a third
    of the meetings without an end and some by appointment."""
    from django.test.utils import CaptureQueriesContext

    from meetings import schedule, selectors

    with connection.cursor() as cursor:
        cursor.execute("UPDATE meetings_meeting SET end_time = NULL WHERE id % 3 = 0")
        cursor.execute("UPDATE meetings_meeting SET day = NULL, time = NULL, end_time = NULL WHERE id % 101 = 0")
        cursor.execute("SELECT DISTINCT timezone, day, time, end_time FROM meetings_meeting WHERE day IS NOT NULL")
        distinct = cursor.fetchall()
    with CaptureQueriesContext(connection) as captured:
        turns = selectors.clock_turns(using="default")
    times: dict[str, list] = {}
    for zone, day, time, end_time in distinct:
        if zone in schedule.known_zone_names():
            times.setdefault(zone, []).append((day, time, end_time))
    assert turns == {zone: schedule.zone_turns(found) for zone, found in times.items()}
    read = []
    for statement in captured:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement['sql']}")
            plan = cursor.fetchone()[0]
        read += [n for n in nodes((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
                 if n.get("Relation Name") == "meetings_meeting"]
    assert all(n.get("Index Name") == "meeting_tz_day_time_end" for n in read), read
    rows = sum(n.get("Actual Rows", 0) * n.get("Actual Loops", 1) for n in read)
    assert rows <= 2 * len(distinct), (rows, len(distinct))  # of 100,000


# Wednesday 00:10 in New York, when few meetings are under way or start soon
# (in the directory's evening zones most have ended), and Tuesday 19:30 there,
# its busiest hour.
QUIET = dt.datetime(2027, 1, 13, 5, 10, tzinfo=dt.timezone.utc)
BUSY = dt.datetime(2027, 1, 13, 0, 30, tzinfo=dt.timezone.utc)


def near_clock_searches() -> list[dict[str, str]]:
    """Searches near a place (a dense metro, a rural ZIP) that ask the clock, within 10 and 300 miles."""
    rng = random.Random(7)
    places = directory.dense_points(rng, 1) + directory.rural_points(rng, 1)
    return [{"lat": str(lat), "lng": str(lng), "radius": radius, **asked}
            for lat, lng in places for radius in ("10", "300")
            for asked in ({"in_progress": "true"}, {"starting_within": "60"},
                          {"in_progress": "true", "fellowship": "aa"})]


def page_read(client, query: dict[str, str]) -> tuple[list[str], list[dict]]:
    """The statements of the API's first page for `query`, and the plan of its page's, as it was read."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/v1/meetings/", query).status_code == 200
    statements = [q["sql"] for q in captured]
    (page,) = [sql for sql in statements if "meetings_location" in sql]
    knn = any("enable_bitmapscan" in sql for sql in statements)
    with geo.nearest_first_plan(using="default") if knn else contextlib.nullcontext("default") as alias:
        with connections[alias].cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {page}")
            plan = cursor.fetchone()[0]
    return statements, nodes((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])


def at_clock_times(query: dict[str, str], now: dt.datetime) -> int:
    """How many meetings, published or not, have a weekly time the search's clock conditions name."""
    from meetings import selectors
    from meetings.models import Meeting

    meetings = Meeting.objects.all()
    if "in_progress" in query:
        meetings = meetings.in_progress(times_under_way(now=now, turns=selectors.clock_turns(using="default")))
    if "starting_within" in query:
        meetings = meetings.starting_within(now=now, minutes=int(query["starting_within"]),
                                            zones=selectors.zones_in_use(using="default"))
    return meetings.count()


def test_near_a_place_few_at_the_clocks_times_are_read_through_them(hundred_thousand, client, frozen_now):
    """Near a place, what is under way or starts soon was read nearest first
    from the GiST index, bitmap scans off, which walks the whole radius
    when few meetings near are under way: at 1,000,000 meetings at 00:10 in
    New York 1.1 s within 10 miles and 4.9 s within 500 km, `starting_within`
    3.7 s (bench/README.md, rounds 37 and 39). When the clock's facts count few
    meetings of the whole directory at those weekly times, the page reads
    them through the (zone, day, time, end) index and sorts them by
    distance: the radius is never walked."""
    frozen_now(QUIET)
    for query in near_clock_searches():
        statements, plan = page_read(client, query)
        assert not [sql for sql in statements if "enable_bitmapscan" in sql], (query, statements)
        names = {n.get("Index Name") for n in plan}
        assert "meeting_tz_day_time_end" in names and INDEX not in names, (query, plan)
        # Every meeting at those times, once, and the page's 25 again by key.
        assert rows_read(plan) <= at_clock_times(query, QUIET) + 26, (query, rows_read(plan))


def test_near_a_place_many_at_the_clocks_times_keep_the_knn_scan(hundred_thousand, client, frozen_now, monkeypatch,
                                                                  settings):
    """When more meetings than selectors.CLOCK_PLAN_MAX_MEETINGS are at
    those times, the nearest ones under way are found soon by the KNN scan
    (43 ms at 1,000,000 at 19:30 in New York, against 3.0 s for reading
    them all): the plan is chosen by that count alone."""
    from meetings import selectors

    settings.CACHE_ANSWERS = False  # the same answer, read again by each plan
    frozen_now(BUSY)
    for query in near_clock_searches()[:3]:
        at_times = at_clock_times(query, BUSY)
        for most, knn in ((at_times - 1, True), (at_times, False)):
            monkeypatch.setattr(selectors, "CLOCK_PLAN_MAX_MEETINGS", most)
            statements, plan = page_read(client, query)
            assert any("enable_bitmapscan" in sql for sql in statements) == knn, (query, most, statements)
            scans = [n for n in plan if n.get("Index Name") == INDEX and "<->" in str(n.get("Order By"))]
            assert bool(scans) == knn, (query, most, plan)


def test_both_plans_give_the_same_meetings_in_the_same_order(hundred_thousand, client, frozen_now, monkeypatch,
                                                             settings):
    """The plan changes how a page is read, never what it holds: at instants
    through a day, each search gives the same meetings nearest first whichever
    plan reads it (meetings at one spot, an equal distance, compared as a
    group: the KNN scan gives them in index order, the other plan by id, as
    SQLite does)."""
    from meetings import selectors

    settings.CACHE_ANSWERS = False  # the same answer, read again by each plan
    compared = 0
    for hours in range(0, 24, 3):
        frozen_now(QUIET + dt.timedelta(hours=hours))
        for query in near_clock_searches():
            found = []
            for most in (-1, 10**9):  # the KNN scan, then the clock's index
                monkeypatch.setattr(selectors, "CLOCK_PLAN_MAX_MEETINGS", most)
                rows = client.get("/api/v1/meetings/", {**query, "limit": "100"}).json()["results"]
                centre = geo.earth_point(float(query["lat"]), float(query["lng"]))
                found.append([(geo.earth_distance_m(geo.earth_point(r["latitude"], r["longitude"]), centre), r["slug"])
                              for r in rows])
            knn, clock = found
            assert [d for d, _ in knn] == [d for d, _ in clock], (hours, query)
            if len(knn) == 100:  # a group at one spot may straddle the page's end
                knn, clock = ([x for x in each if x[0] < knn[-1][0]] for each in (knn, clock))
            assert by_distance(knn) == by_distance(clock), (hours, query)
            compared += len(knn)
    assert compared > 2_000
