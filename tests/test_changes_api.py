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
