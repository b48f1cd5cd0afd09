"""GET /api/v1/changes/: every change to meetings and locations since a
moment, oldest first, paginated, with old and new values and what made it."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from meetings import history
from meetings.api.change_views import PRIVATE_FIELDS, READ_PER_RESULT
from meetings.history import history_bulk_record
from meetings.models import Location, Meeting
from meetings.services import meeting_save, meetings_delete, meetings_set_published
from tests.factories import LocationFactory, aa_meeting, feed_record, make_source, run_feed

CHANGES = "/api/v1/changes/"


def test_changes_list_meetings_and_locations_with_old_and_new_values(client, directory):
    meeting = aa_meeting(directory, "Serenity Group")
    meeting.name = "Serenity Step Study"
    meeting_save(meeting=meeting)
    meeting.location.notes = "Side door"
    meeting.location.save()
    body = client.get(CHANGES).json()
    # The place was made before its meeting, when it served no public meeting:
    # it comes whole with the meeting, and its own changes follow.
    kinds = [(c["kind"], c["action"]) for c in body["results"]]
    assert kinds == [("meeting", "created"), ("meeting", "changed"), ("location", "changed")]
    change = body["results"][1]
    assert change["slug"] == meeting.slug and change["object_id"] == meeting.pk
    assert change["changes"] == {"name": {"old": "Serenity Group", "new": "Serenity Step Study"}}
    assert change["made_by"] == "system"
    created = body["results"][0]
    assert created["changes"]["name"] == {"old": None, "new": "Serenity Group"}
    assert created["changes"]["time"]["new"] == "19:00"
    assert "review_reason" not in created["changes"]
    assert created["location"]["object_id"] == meeting.location_id
    assert created["location"]["values"]["notes"] == "" and "geocode_status" not in created["location"]["values"]
    assert body["results"][2]["changes"] == {"notes": {"old": "", "new": "Side door"}}


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
    # Nothing is skipped row by row but the time index, probed for where the page's reading stops.
    assert all(" LIMIT 2 OFFSET " in q["sql"].upper() for q in captured if "OFFSET" in q["sql"].upper())
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
    # Every page first reads where its reading stops (two statements): the
    # count grows with neither the page nor the history.
    assert len(large) <= len(small)


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
    # Nothing is skipped by the depth: only the page's own reach is (where it stops reading).
    skipped = [int(n) for q in captured for n in re.findall(r"OFFSET (\d+)", q["sql"].upper())]
    assert all(rows < 7 * READ_PER_RESULT for rows in skipped)
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


# What the public may see ------------------------------------------------------
#
# The feed says what search says: a meeting that is not public (never
# published, unpublished, removed from its feed, a second source's copy) and a
# place that serves no public meeting are no one's business but the curators'.

PRIVATE_WORDS = ("private-circle", "Private Circle", "12 Elm St", "Ring the back bell", "Ask Jane", "zoom.us/j/999")


def _private_meeting(directory) -> Meeting:
    """A meeting at a member's home, kept unpublished so no one outside sees it."""
    home = LocationFactory(name="Jane's home", address="12 Elm St", formatted_address="12 Elm St, Irvine, CA 92618",
                           notes="Ring the back bell")
    return aa_meeting(directory, "Private Circle", slug="private-circle", location=home, published=False,
                      notes="Ask Jane", conference_url="https://zoom.us/j/999")


def _everything_public_readers_get(client, *, since: str) -> list[str]:
    """The feed's text as every way of reading it gives it: whole, from a
    moment, a page at a time by `next` and by offset, after each change."""
    texts = [client.get(CHANGES).content.decode(), client.get(CHANGES, {"since": since}).content.decode()]
    for page in _page_through(client, CHANGES + "?limit=1"):
        texts.append(str(page))
    for offset in range(4):
        texts.append(client.get(CHANGES, {"limit": 1, "offset": offset}).content.decode())
    for change in client.get(CHANGES).json()["results"]:
        position = f"{change['at']},{change['kind']},{change['id']}"
        texts.append(client.get(CHANGES, {"after": position}).content.decode())
    return texts


def _changes_of(client, *, kind: str, object_id: int) -> list[dict]:
    return [c for page in _page_through(client, CHANGES + "?limit=500") for c in page["results"]
            if c["kind"] == kind and c["object_id"] == object_id]


def test_a_meeting_never_published_and_its_private_place_appear_nowhere(client, directory):
    public = aa_meeting(directory, "Serenity Group")
    since = timezone.now().isoformat()
    private = _private_meeting(directory)
    private.notes = "Ask Jane at the gate"
    meeting_save(meeting=private)
    home = private.location
    home.notes = "Ring the back bell twice"
    home.save()
    public.name = "Serenity Step Study"
    meeting_save(meeting=public)
    for text in _everything_public_readers_get(client, since=since):
        assert not [word for word in PRIVATE_WORDS if word in text], text
    assert _changes_of(client, kind="meeting", object_id=private.pk) == []
    assert _changes_of(client, kind="location", object_id=home.pk) == []
    body = client.get(CHANGES).json()
    # Only the public meeting's two changes: its place came with it, and nothing is counted that is not shown.
    assert [(c["slug"], c["action"]) for c in body["results"]] == [
        (public.slug, "created"), (public.slug, "changed")]
    assert body["count"] == 2 and body["next"] is None
    assert client.get(CHANGES, {"since": since}).json()["count"] == 1


def test_publishing_a_meeting_shows_it_whole_with_its_place_and_never_the_places_past(client, directory):
    private = _private_meeting(directory)
    home = private.location
    home.name, home.address, home.formatted_address = "St Mark's Hall", "1 Church Rd", "1 Church Rd, Irvine, CA"
    home.save()
    meetings_set_published(meetings=Meeting.objects.filter(pk=private.pk), published=True)
    [published] = _changes_of(client, kind="meeting", object_id=private.pk)
    record = Meeting.history.filter(id=private.pk).latest()
    shown = set(history.record_values(record)) - PRIVATE_FIELDS
    assert (published["action"], published["slug"]) == ("created", "private-circle")
    assert set(published["changes"]) == shown and all(v["old"] is None for v in published["changes"].values())
    assert published["changes"]["notes"]["new"] == "Ask Jane" and published["changes"]["published"]["new"] is True
    # Its place, whole, as it stands when the meeting is published: a mirror that never saw it has it.
    place = published["location"]
    assert place["object_id"] == home.pk
    assert place["values"]["address"] == "1 Church Rd" and place["values"]["notes"] == "Ring the back bell"
    assert not PRIVATE_FIELDS & set(place["values"])
    text = client.get(CHANGES).content.decode()
    assert "12 Elm St" not in text and "Jane's home" not in text
    assert _changes_of(client, kind="location", object_id=home.pk) == []
    # Now that it serves a public meeting, the place's own changes show, from what the public saw.
    home.notes = "Side door"
    home.save()
    [edit] = _changes_of(client, kind="location", object_id=home.pk)
    assert edit["action"] == "changed"
    assert edit["changes"] == {"notes": {"old": "Ring the back bell", "new": "Side door"}}


def test_unpublishing_withdraws_a_meeting_without_its_content_and_its_later_edits_stay_hidden(client, directory):
    meeting = aa_meeting(directory, "Serenity Group", notes="Side door")
    meetings_set_published(meetings=Meeting.objects.filter(pk=meeting.pk), published=False)
    meeting.refresh_from_db()
    meeting.notes = "Moved to a member's home: ask Jane"
    meeting_save(meeting=meeting)
    place = meeting.location
    place.address, place.formatted_address = "12 Elm St", "12 Elm St, Irvine, CA 92618"
    place.save()
    changes = _changes_of(client, kind="meeting", object_id=meeting.pk)
    assert [c["action"] for c in changes] == ["created", "deleted"]
    withdrawn = changes[-1]
    assert (withdrawn["slug"], withdrawn["changes"], withdrawn["location"]) == (meeting.slug, {}, None)
    # Its place with it (no other public meeting is there), and nothing of it after.
    assert [c["action"] for c in _changes_of(client, kind="location", object_id=place.pk)] == ["deleted"]
    text = client.get(CHANGES).content.decode()
    assert "ask Jane" not in text and "12 Elm St" not in text
    # Published again: whole, as new, with its place as it now stands.
    meetings_set_published(meetings=Meeting.objects.filter(pk=meeting.pk), published=True)
    again = _changes_of(client, kind="meeting", object_id=meeting.pk)[-1]
    assert again["action"] == "created" and again["changes"]["notes"] == {
        "old": None, "new": "Moved to a member's home: ask Jane"}
    assert again["location"]["values"]["address"] == "12 Elm St"


def test_a_meeting_removed_from_its_feed_or_found_a_duplicate_is_withdrawn(client, vocabularies):
    source = make_source()
    records = [feed_record(n) for n in range(10)]
    run_feed(source, records)
    run_feed(source, records[1:])
    gone = Meeting.objects.get(source_key="m0")
    assert gone.removed
    [created, withdrawn] = _changes_of(client, kind="meeting", object_id=gone.pk)
    assert created["action"] == "created" and created["location"]["object_id"] == gone.location_id
    assert (withdrawn["action"], withdrawn["changes"], withdrawn["slug"]) == ("deleted", {}, gone.slug)
    kept = Meeting.objects.get(source_key="m1")
    Meeting.objects.filter(pk=kept.pk).update(duplicate_of=Meeting.objects.get(source_key="m2"))
    history_bulk_record(instances=[Meeting.objects.get(pk=kept.pk)])
    assert [c["action"] for c in _changes_of(client, kind="meeting", object_id=kept.pk)] == ["created", "deleted"]


def test_a_public_meetings_edits_and_moves_show_as_before_with_the_new_place_whole(client, directory):
    meeting = aa_meeting(directory, "Serenity Group")
    meeting.time = dt.time(20, 30)
    meeting_save(meeting=meeting)
    hall = LocationFactory(name="New Hall", notes="Upstairs")
    meeting.location = hall
    meeting_save(meeting=meeting)
    changes = _changes_of(client, kind="meeting", object_id=meeting.pk)
    assert [c["action"] for c in changes] == ["created", "changed", "changed"]
    assert changes[1]["changes"] == {"time": {"old": "19:00", "new": "20:30"}} and changes[1]["location"] is None
    assert changes[2]["changes"]["location"] == {"old": changes[0]["location"]["object_id"], "new": hall.pk}
    assert changes[2]["location"]["object_id"] == hall.pk
    assert changes[2]["location"]["values"]["notes"] == "Upstairs"


def test_a_place_left_by_its_last_public_meeting_is_withdrawn_and_shows_no_more_changes(client, directory):
    meeting = aa_meeting(directory, "Serenity Group")
    place = meeting.location
    place.notes = "Side door"
    place.save()
    assert [c["changes"] for c in _changes_of(client, kind="location", object_id=place.pk)] == [
        {"notes": {"old": "", "new": "Side door"}}]
    meeting.location = LocationFactory()
    meeting_save(meeting=meeting)
    place.address, place.formatted_address = "12 Elm St", "12 Elm St, Irvine, CA 92618"
    place.save()
    assert [c["action"] for c in _changes_of(client, kind="location", object_id=place.pk)] == ["changed", "deleted"]
    assert "12 Elm St" not in client.get(CHANGES).content.decode()


def _leave_the_public(meeting: Meeting, how: str) -> None:
    if how == "unpublished":
        meetings_set_published(meetings=Meeting.objects.filter(pk=meeting.pk), published=False)
    elif how == "deleted":
        meetings_delete(meetings=Meeting.objects.filter(pk=meeting.pk))
    else:  # moved elsewhere, or online only: no place at all
        meeting.location = LocationFactory() if how == "moved" else None
        if how == "online only":
            meeting.attendance = "online"
            meeting.conference_url = "https://zoom.us/j/89416378139"
        meeting_save(meeting=meeting)


@pytest.mark.parametrize("how", ["unpublished", "deleted", "moved", "online only"])
def test_a_place_is_withdrawn_when_its_last_public_meeting_leaves_it(client, directory, how):
    """A mirror that showed a place is told to remove it once no public
    meeting is there, as it is told to remove a meeting: it may be someone's
    home. Its id and nothing else, right after the change that left it
    empty, made by what made that change."""
    home = LocationFactory(name="Jane's home", address="12 Elm St", formatted_address="12 Elm St, Irvine, CA")
    first, second = aa_meeting(directory, "First", location=home), aa_meeting(directory, "Second", location=home)
    _leave_the_public(first, how)
    assert _changes_of(client, kind="location", object_id=home.pk) == []  # the second is still there
    _leave_the_public(second, how)

    [withdrawn] = _changes_of(client, kind="location", object_id=home.pk)
    results = client.get(CHANGES, {"limit": 500}).json()["results"]
    made_it = results[results.index(withdrawn) - 1]
    assert (made_it["kind"], made_it["object_id"]) == ("meeting", second.pk)
    assert withdrawn == {**made_it, "id": -made_it["id"], "kind": "location", "object_id": home.pk, "slug": None,
                         "action": "deleted", "changes": {}, "location": None}
    assert len({(c["kind"], c["id"]) for c in results}) == len(results)
    # Each once, whichever way the feed is read; `after` from the withdrawal leads on past it.
    paged = [c for page in _page_through(client, CHANGES + "?limit=1") for c in page["results"]]
    assert paged == results
    position = f"{withdrawn['at']},location,{withdrawn['id']}"
    assert client.get(CHANGES, {"after": position}).json()["results"] == results[results.index(withdrawn) + 1:]
    # Published there again, it comes back whole with its meeting.
    if how == "unpublished":
        meetings_set_published(meetings=Meeting.objects.filter(pk=second.pk), published=True)
        assert _changes_of(client, kind="meeting", object_id=second.pk)[-1]["location"]["object_id"] == home.pk


def test_an_import_withdraws_a_place_once_and_not_when_another_meeting_comes_at_that_instant(client, vocabularies):
    source = make_source()
    hall = {"address": "1 Church Rd", "latitude": 33.7, "longitude": -117.8}
    new_street = {"address": "9 New St", "latitude": 33.75, "longitude": -117.85}
    elsewhere = feed_record(4)
    runs = [run_feed(source, [feed_record(1, **hall), feed_record(2, **hall), elsewhere]),
            run_feed(source, [feed_record(1, **hall), feed_record(2, **new_street), elsewhere]),
            # The hall's last meeting leaves it as another comes, at one instant: it stays.
            run_feed(source, [feed_record(1, **new_street), feed_record(2, **new_street), feed_record(5, **hall),
                              elsewhere]),
            # Both meetings on New Street go at once: it is withdrawn once.
            run_feed(source, [feed_record(5, **hall), elsewhere], allow_shrink=True)]
    assert {run.status for run in runs} == {"succeeded"}
    place, street = (Meeting.objects.get(source_key=key).location for key in ("m5", "m1"))
    assert [c["action"] for c in _changes_of(client, kind="location", object_id=place.pk)] == ["created"]
    assert [c["action"] for c in _changes_of(client, kind="location", object_id=street.pk)] == [
        "created", "deleted"]
    run_feed(source, [elsewhere], allow_shrink=True)
    assert [c["action"] for c in _changes_of(client, kind="location", object_id=place.pk)] == [
        "created", "deleted"]


def test_a_page_holds_at_most_limit_changes_withdrawals_counted_and_next_loses_and_repeats_none(client, directory):
    """A withdrawn place is a change of the feed like any other: a page holds
    at most `limit` of them, the count and offsets count it, and `next` (from
    a meeting change, its withdrawal still to come) leads on through every
    change once, whatever the page size."""
    places = [LocationFactory(name=f"Home {n}") for n in range(4)]
    first, second = aa_meeting(directory, "First", location=places[0]), aa_meeting(directory, "Second",
                                                                                 location=places[1])
    third, fourth = (aa_meeting(directory, name, location=places[2]) for name in ("Third", "Fourth"))
    fifth = aa_meeting(directory, "Fifth", location=places[3])
    _leave_the_public(first, "unpublished")
    _leave_the_public(second, "moved")
    _leave_the_public(fifth, "deleted")
    _leave_the_public(third, "deleted")
    _leave_the_public(fourth, "online only")
    whole = client.get(CHANGES, {"limit": 500}).json()
    everything = whole["results"]
    withdrawals = [c for c in everything if c["kind"] == "location" and c["action"] == "deleted"]
    assert {c["object_id"] for c in withdrawals} == {place.pk for place in places}
    assert whole["count"] == len(everything) == 14  # 5 made, 5 gone or moved, 4 places withdrawn
    for limit in (1, 2, 3):
        pages = _page_through(client, f"{CHANGES}?limit={limit}")
        assert all(len(page["results"]) <= limit for page in pages), limit
        assert [c for page in pages for c in page["results"]] == everything, limit
        by_offset = [c for offset in range(0, len(everything), limit)
                     for c in client.get(CHANGES, {"limit": limit, "offset": offset}).json()["results"]]
        assert by_offset == everything, limit
    # `after` any change leads on from the change after it.
    for n, change in enumerate(everything):
        position = f"{change['at']},{change['kind']},{change['id']}"
        assert client.get(CHANGES, {"after": position, "limit": 500}).json()["results"] == everything[n + 1:]


def test_paging_through_public_and_hidden_changes_yields_every_public_change_once(client, directory):
    """A page reads at most ten times its size of each kind's changes: past a
    long stretch of hidden ones it may come back short, or empty, with `next`
    leading on from where it stopped; a shorter stretch costs no empty page.
    Every public change comes once, in order, whichever way the feed is read."""
    private = _private_meeting(directory)
    expected = []

    def public_change(name: str) -> None:
        meeting = aa_meeting(directory, name)
        expected.append(("meeting", Meeting.history.filter(id=meeting.pk).latest().history_id))

    def hidden_changes(count: int) -> None:
        for n in range(count):
            private.notes = f"Ask Jane {n}"
            meeting_save(meeting=private)

    public_change("First")
    hidden_changes(15)  # fewer than a page of 2 reads (20 of a kind): no empty page
    public_change("Second")
    public_change("Third")
    hidden_changes(45)  # more than two pages' reach
    public_change("Fourth")
    pages = _page_through(client, CHANGES + "?limit=2")
    got = [(c["kind"], c["id"]) for page in pages for c in page["results"]]
    assert got == expected
    # Across 15 hidden changes the first page is full; 45 take a page past its
    # reach: it stops where its reading ends (short, then empty), and `next`
    # leads on from there.
    assert [len(page["results"]) for page in pages] == [2, 1, 0, 1]
    assert all(page["next"] for page in pages[:-1]) and pages[-1]["next"] is None
    assert [(c["kind"], c["id"]) for c in client.get(CHANGES, {"limit": 500}).json()["results"]] == expected
    assert client.get(CHANGES, {"limit": 1, "offset": 2}).json()["results"][0]["id"] == expected[2][1]
    assert client.get(CHANGES, {"limit": 500}).json()["count"] == 4


def test_a_page_that_stops_among_hidden_changes_leads_on_without_naming_one(client, directory, settings):
    """Its `next` named where it stopped reading: a hidden change's time
    (when someone's home meeting changed) and id. It leads on from there all
    the same, sealed: a position only this server reads."""
    private = _private_meeting(directory)
    aa_meeting(directory, "First")
    for n in range(45):
        private.notes = f"Ask Jane {n}"
        meeting_save(meeting=private)
    second = aa_meeting(directory, "Second")
    pages = _page_through(client, CHANGES + "?limit=2")
    assert [page["count_capped"] for page in pages] == [True, True, False]
    links = " ".join(unquote(page["next"] or "") for page in pages)
    for row in Meeting.history.filter(id=private.pk).exclude(history_type="+"):
        moment = row.history_date.astimezone(dt.timezone.utc)
        assert moment.isoformat() not in links and moment.strftime("%H:%M:%S.%f") not in links
        assert f"meeting,{row.history_id}" not in links
    assert second.pk in [c["object_id"] for page in pages for c in page["results"]]
    # A sealed position altered, or sealed under another key, is no position.
    sealed = parse_qs(urlsplit(pages[0]["next"]).query)["after"][0]
    assert client.get(CHANGES, {"after": sealed}).status_code == 200
    for value in (sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1], sealed[:20]):
        response = client.get(CHANGES, {"after": value})
        assert response.status_code == 400 and "after" in response.json(), value
    settings.SECRET_KEY = "another site's key, long enough to be a key of its own"
    assert client.get(CHANGES, {"after": sealed}).status_code == 400


def test_an_offset_page_reads_at_most_ten_times_its_reach(client, directory):
    """An offset page counts public changes, so it reads the hidden ones it
    passes: it reads at most ten times its offset and size of each kind (at
    100,000 meetings an unbounded one read all 140,000 history rows through
    the visibility subqueries, 0.25 s, and 50 s before the tables were
    analysed). Past a longer hidden stretch it comes back short, with `next`
    leading on from where it stopped: nothing public is skipped."""
    private = _private_meeting(directory)
    first = aa_meeting(directory, "First")
    for n in range(45):  # more than (offset 1 + limit 1) x 10 of them
        private.notes = f"Ask Jane {n}"
        meeting_save(meeting=private)
    second = aa_meeting(directory, "Second")
    page = client.get(CHANGES, {"limit": 1, "offset": 1}).json()
    assert page["results"] == [] and page["count_capped"] is True
    assert "after=" in page["next"] and "offset" not in page["next"]
    following = _page_through(client, page["next"])
    assert [c["object_id"] for p in following for c in p["results"] if c["kind"] == "meeting"] == [second.pk]
    assert first.pk in [c["object_id"] for c in client.get(CHANGES, {"limit": 1}).json()["results"]]


def test_an_offset_past_the_deepest_page_is_a_400_that_points_to_next(client, directory, settings):
    """An offset counts public changes, so a page reads ten times its offset
    and size: at 10^9 that bound is the whole history (7 s at a million
    meetings, then the statement timeout). The feed's offsets stop where the
    search's do (MEETINGS_MAX_OFFSET); `next` (after=) reaches any depth."""
    settings.MEETINGS_MAX_OFFSET = 100
    aa_meeting(directory, "First")
    assert client.get(CHANGES, {"offset": 100}).status_code == 200
    refused = client.get(CHANGES, {"offset": 101})
    assert refused.status_code == 400
    assert "from 0 to 100" in refused.json()["offset"][0] and "next" in refused.json()["offset"][0]
