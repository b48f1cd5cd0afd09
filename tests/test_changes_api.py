"""GET /api/v1/changes/: every change to meetings and locations since a
moment, oldest first, paginated, with old and new values and what made it."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from meetings.models import Location, Meeting
from meetings.services import meeting_save
from tests.factories import aa_meeting, feed_record, make_source, run_feed

CHANGES = "/api/v1/changes/"


def test_changes_list_meetings_and_locations_with_old_and_new_values(client, directory):
    meeting = aa_meeting(directory, "Serenity Group")
    meeting.name = "Serenity Step Study"
    meeting_save(meeting=meeting)
    body = client.get(CHANGES).json()
    kinds = [(c["kind"], c["action"]) for c in body["results"]]
    assert kinds == [("location", "created"), ("meeting", "created"), ("meeting", "changed")]
    change = body["results"][-1]
    assert change["slug"] == meeting.slug and change["object_id"] == meeting.pk
    assert change["changes"] == {"name": {"old": "Serenity Group", "new": "Serenity Step Study"}}
    assert change["made_by"] == "system"
    created = body["results"][1]["changes"]
    assert created["name"] == {"old": None, "new": "Serenity Group"} and created["time"]["new"] == "19:00"
    assert "review_reason" not in created


def test_since_narrows_and_a_malformed_since_is_400(client, directory):
    meeting = aa_meeting(directory)
    later = Meeting.history.latest("history_date").history_date + dt.timedelta(seconds=1)
    Meeting.history.filter(id=meeting.pk).update(history_date=later - dt.timedelta(days=2))
    Location.history.all().update(history_date=later - dt.timedelta(days=2))
    meeting.notes = "Side door"
    meeting_save(meeting=meeting)
    since = (later - dt.timedelta(days=1)).isoformat()
    results = client.get(CHANGES, {"since": since}).json()["results"]
    assert [c["changes"] for c in results] == [{"notes": {"old": "", "new": "Side door"}}]
    assert client.get(CHANGES, {"since": "2999-01-01"}).json()["results"] == []
    response = client.get(CHANGES, {"since": "last tuesday"})
    assert response.status_code == 400 and "since" in response.json()


def test_changes_are_paginated_in_a_stable_order_with_bounded_queries(client, vocabularies, settings):
    source = make_source()
    run = run_feed(source, [feed_record(n) for n in range(30)])
    first = client.get(CHANGES, {"limit": 25}).json()
    assert first["count"] == 60 and len(first["results"]) == 25 and first["next"]
    pages, url = [first], first["next"]
    while url:
        pages.append(client.get(url).json())
        url = pages[-1]["next"]
    ids = [(c["kind"], c["id"]) for page in pages for c in page["results"]]
    assert len(pages) == 3 and len(ids) == len(set(ids)) == 60
    at = [c["at"] for page in pages for c in page["results"]]
    assert at == sorted(at)
    assert all(c["made_by"] == "import" and c["import_run"] == run.pk for c in first["results"])
    with CaptureQueriesContext(connection) as queries:
        client.get(CHANGES, {"limit": 200})
    assert len(queries) <= 10


def _count_queries(captured) -> list[str]:
    return [q["sql"] for q in captured if "COUNT(" in q["sql"].upper()]


def test_the_count_stops_at_the_cap_and_says_so_with_bounded_work(client, vocabularies, settings):
    """Every request counted the whole union of both history tables (30 ms at
    241,000 rows, growing for ever); now it counts as the meeting search does:
    at most MEETINGS_COUNT_CAP rows, or as far as the page asked for."""
    settings.MEETINGS_COUNT_CAP = 10
    run_feed(make_source(), [feed_record(n) for n in range(30)])  # 60 changes
    with CaptureQueriesContext(connection) as captured:
        first = client.get(CHANGES, {"limit": 5}).json()
    assert (first["count"], first["count_capped"], len(first["results"])) == (10, True, 5)
    assert "after=" in first["next"] and "offset" not in first["next"] and first["previous"] is None
    [count_sql] = _count_queries(captured)
    assert "LIMIT" in count_sql.upper()
    # Past the cap the count reaches one row past the page: "next" still leads on.
    deep = client.get(CHANGES, {"limit": 5, "offset": 20}).json()
    assert (deep["count"], deep["count_capped"]) == (26, True)
    assert "after=" in deep["next"] and "offset" not in deep["next"] and "offset=15" in deep["previous"]
    # The last page knows the exact count and links no further.
    last = client.get(CHANGES, {"limit": 5, "offset": 55}).json()
    assert (last["count"], last["count_capped"], last["next"], len(last["results"])) == (60, False, None, 5)
    assert "offset=50" in last["previous"]
    # A page past the end reads no rows and says how many there are.
    with CaptureQueriesContext(connection) as captured:
        beyond = client.get(CHANGES, {"limit": 5, "offset": 1000}).json()
    assert (beyond["results"], beyond["count"], beyond["count_capped"], beyond["next"]) == ([], 60, False, None)
    assert not [q["sql"] for q in captured if "OFFSET" in q["sql"].upper()]
    # The whole feed, paged to its end, is still every change once, oldest first.
    pages, url = [], CHANGES + "?limit=7"
    while url:
        pages.append(client.get(url).json())
        url = pages[-1]["next"]
    ids = [(c["kind"], c["id"]) for page in pages for c in page["results"]]
    assert len(ids) == len(set(ids)) == 60 and len(pages) == 9
    assert [c["at"] for page in pages for c in page["results"]] == sorted(c["at"] for p in pages for c in p["results"])


def test_the_query_count_does_not_grow_with_the_page_or_the_history(client, vocabularies, settings):
    settings.MEETINGS_COUNT_CAP = 10
    source = make_source()

    def import_named(numbers, suffix):
        run_feed(source, [feed_record(n, name=f"Meeting {n}{suffix}") for n in numbers])

    import_named(range(3), "")
    import_named(range(3), " b")  # 3 locations and 3 meetings created, 3 meetings changed
    with CaptureQueriesContext(connection) as small:
        assert client.get(CHANGES, {"limit": 9}).json()["count_capped"] is False
    import_named(range(40), " b")
    import_named(range(40), " c")
    with CaptureQueriesContext(connection) as large:
        body = client.get(CHANGES, {"limit": 500, "offset": 1}).json()
    assert len(body["results"]) == 6 + 3 + 74 + 40 - 1
    assert {(c["kind"], c["action"]) for c in body["results"]} == {
        ("location", "created"), ("meeting", "created"), ("meeting", "changed")}
    assert len(large) == len(small)


def _page_through(client, url: str) -> list[dict]:
    pages = []
    while url:
        pages.append(client.get(url).json())
        url = pages[-1]["next"]
    return pages


def test_next_leads_on_from_the_last_change_at_the_cost_of_a_first_page(client, vocabularies, settings):
    """`next` names the page's last change (`after`), so a page deep in the
    history is read from the history tables' time index, never skipped row
    by row as an offset is; changes at one instant, of both kinds, come in
    one order and each once."""
    run_feed(make_source(), [feed_record(n) for n in range(30)])  # 60 changes
    instant = Meeting.history.earliest("history_date").history_date
    Meeting.history.filter(history_id__gt=Meeting.history.order_by("history_id")[9].history_id).update(
        history_date=instant)
    Location.history.filter(history_id__gt=Location.history.order_by("history_id")[19].history_id).update(
        history_date=instant)
    by_offset = [c for offset in range(0, 60, 7)
                 for c in client.get(CHANGES, {"limit": 7, "offset": offset}).json()["results"]]
    pages = _page_through(client, CHANGES + "?limit=7")
    by_after = [c for page in pages for c in page["results"]]
    assert [(c["kind"], c["id"]) for c in by_after] == [(c["kind"], c["id"]) for c in by_offset]
    assert len({(c["kind"], c["id"]) for c in by_after}) == 60 and len(pages) == 9
    with CaptureQueriesContext(connection) as captured:
        deep = client.get(pages[-2]["next"]).json()
    assert deep["results"] == pages[-1]["results"] and deep["next"] is None
    assert not [q["sql"] for q in captured if "OFFSET" in q["sql"].upper()]
    # With `since` too, both narrow.
    since = by_after[40]["at"]
    narrowed = _page_through(client, f"{CHANGES}?limit=4&since={since.replace('+', '%2B')}")
    assert [c["id"] for p in narrowed for c in p["results"]] == [
        c["id"] for c in client.get(CHANGES, {"since": since, "limit": 500}).json()["results"]]


def test_a_malformed_after_is_400_naming_it(client, vocabularies):
    run_feed(make_source(), [feed_record(1)])
    for value in ("", "yesterday", "2026-01-01T00:00:00,meeting,1", "2026-01-01T00:00:00+00:00,venue,1",
                  "2026-01-01T00:00:00+00:00,meeting,-1", "2026-01-01T00:00:00+00:00,meeting,1" + "0" * 30,
                  "0001-01-01T00:00:00+01:00,meeting,1", "2026-01-01T00:00:00+00:00,meeting,١"):
        response = client.get(CHANGES, {"after": value})
        assert response.status_code == 400 and "after" in response.json(), value
