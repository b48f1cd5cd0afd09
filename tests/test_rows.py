"""The one row (meetings/rows.py): what the API's list and detail return is
exactly what the OpenAPI schema declares, for every meeting of the sample
directory, and a page costs what it should."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import jsonschema
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator

from meetings import clock
from fellowships.models import MeetingType
from meetings.models import Meeting, Region
from meetings.geo import Point
from meetings.rows import ROW_FIELDS, meeting_rows, meeting_rows_of_page

NOW = dt.datetime(2026, 11, 3, 17, 5, tzinfo=dt.timezone.utc)


def json_schema(openapi: dict, name: str) -> dict:
    """A component of the OpenAPI 3.0 schema as plain JSON Schema: references
    inlined, `nullable` spelled as a null type, nothing extra allowed."""
    components = openapi["components"]["schemas"]

    def convert(node):
        if isinstance(node, list):
            return [convert(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return convert(components[node["$ref"].rsplit("/", 1)[1]])
        converted = {key: convert(value) for key, value in node.items() if key not in ("nullable", "readOnly")}
        if node.get("nullable"):
            if "enum" in converted:
                converted["enum"] = [*converted["enum"], None]
            converted = {"anyOf": [converted, {"type": "null"}]}
        elif converted.get("type") == "object" and "properties" in converted:
            converted["additionalProperties"] = False
            converted["required"] = list(converted["properties"])
        return converted

    return convert(components[name])


@pytest.fixture(scope="module")
def openapi(django_db_blocker):
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture
def sample(oc_sample, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


def test_the_schema_declares_exactly_the_row(openapi):
    declared = openapi["components"]["schemas"]["Meeting"]["properties"]
    assert list(declared) == [field.name for field in ROW_FIELDS]


def test_every_sample_meeting_matches_the_schema_in_list_and_detail(openapi, sample, client):
    meeting = json_schema(openapi, "Meeting")
    page = json_schema(openapi, "PaginatedMeetingList")
    published = Meeting.objects.published().count()
    assert published > 300
    seen = set()
    for query in ({"limit": 200}, {"lat": 33.68, "lng": -117.83, "limit": 200, "tz": "Europe/Berlin"}):
        offset = 0
        while True:
            body = client.get("/api/v1/meetings/", {**query, "offset": offset}).json()
            jsonschema.validate(body, page)
            seen |= {row["slug"] for row in body["results"]}
            if body["next"] is None:
                break
            offset += 200
    assert len(seen) == published
    for slug in sorted(seen)[::7]:
        body = client.get(f"/api/v1/meetings/{slug}/", {"tz": "America/New_York"}).json()
        jsonschema.validate(body, meeting)
    # A row that breaks the schema is caught: the check can fail.
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**body, "day": "Monday"}, meeting)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**body, "extra": 1}, meeting)


def test_detail_equals_the_row_in_the_list(sample, client):
    listed = client.get("/api/v1/meetings/", {"q": "Newport", "limit": 5}).json()["results"]
    assert listed
    for row in listed:
        assert client.get(f"/api/v1/meetings/{row['slug']}/").json() == row


def test_detail_costs_one_query_with_its_types(sample, client, type_names_read):
    slug = Meeting.objects.published().filter(types__isnull=False).values_list("slug", flat=True)[0]
    type_names_read()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/api/v1/meetings/{slug}/")
    assert response.status_code == 200 and response.json()["types"]
    # The directory version (the answer's cache key and ETag), the row and, on SQLite, its
    # type ids (an ARRAY subquery of the same statement on PostgreSQL), named from a map.
    assert "meetings_directoryversion" in captured[0]["sql"]
    assert len(captured) == (2 if connection.vendor == "postgresql" else 3), [q["sql"] for q in captured]


def test_a_listing_page_costs_the_same_whatever_its_size(sample, client, type_names_read):
    type_names_read()
    counts = []
    for limit in (5, 50):
        with CaptureQueriesContext(connection) as captured:
            assert len(client.get("/api/v1/meetings/", {"limit": limit}).json()["results"]) == limit
        counts.append(len(captured))
    # With the directory version and the count; SQLite reads the page's ids,
    # then their rows, where PostgreSQL reads both in one statement.
    assert counts[0] == counts[1] <= (3 if connection.vendor == "postgresql" else 5), counts


def test_a_pages_one_statement_gives_the_rows_the_orm_gives(sample):
    """A page of a search is read in one statement of its own (on PostgreSQL,
    its values in binary); a meeting's page through the ORM's `.values()`:
    every sample meeting's row is the same either way, field for field."""
    meetings = Meeting.objects.published().order_by("id")
    shown = {"now": NOW, "unit": "km", "viewer_zone": ZoneInfo("Asia/Kolkata"), "centre": Point(33.68, -117.83)}
    by_page = meeting_rows_of_page(meetings.values_list("id", flat=True)[:1000], run_on=meetings.db, **shown)
    assert len(by_page) == meetings.count() > 300
    assert by_page == meeting_rows(meetings, **shown)
    assert {type(row["updated"]) for row in by_page} == {str} and by_page[0]["updated"].endswith("Z")


@pytest.mark.postgres
def test_behind_a_pooler_a_pages_statement_binds_and_reads_as_text(sample, monkeypatch):
    """With DATABASE_PREPARE_THRESHOLD empty (a pooler in transaction mode)
    Django binds parameters in the client, whose cursors read no binary."""
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL: SQLite has no client-side binding")
    from django.db.backends.postgresql.base import Cursor as ClientBindingCursor

    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "cursor_factory", ClientBindingCursor)
    meetings = Meeting.objects.published().order_by("id")
    by_page = meeting_rows_of_page(meetings.values_list("id", flat=True)[:50], run_on=meetings.db, now=NOW)
    assert by_page == meeting_rows(meetings[:50], now=NOW) and len(by_page) == 50


def test_a_missing_meeting_is_a_404_in_json(sample, client):
    response = client.get("/api/v1/meetings/no-such-meeting/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No published meeting has this slug."}


def test_type_names_are_read_once_per_directory_version(sample, client, type_names_read):
    type_names_read()
    slug = Meeting.objects.published().filter(types__isnull=False).values_list("slug", flat=True)[0]
    with CaptureQueriesContext(connection) as captured:
        codes = client.get(f"/api/v1/meetings/{slug}/").json()["types"]
    assert not [q for q in captured if "fellowships_meetingtype" in q["sql"]]
    # A bulk rename (no save(), no signal of its own) bumps the version: read again, shown at once.
    MeetingType.objects.filter(code=codes[0], meetings__slug=slug).update(code=codes[0] + "-NEW")
    with CaptureQueriesContext(connection) as captured:
        renamed = client.get(f"/api/v1/meetings/{slug}/").json()["types"]
    assert codes[0] + "-NEW" in renamed
    assert [q for q in captured if "fellowships_meetingtype" in q["sql"]]


def test_slugs_of_fellowships_service_bodies_and_regions_are_read_once_per_directory_version(sample, settings,
                                                                                           client):
    settings.CACHE_ANSWERS = False  # each answer computed
    slug = Meeting.objects.published().filter(location__region__isnull=False).values_list("slug", flat=True)[0]
    client.get(f"/api/v1/meetings/{slug}/")
    with CaptureQueriesContext(connection) as captured:
        row = client.get(f"/api/v1/meetings/{slug}/").json()
    assert row["fellowship"] and row["service_body"] and row["region"]
    assert not [q for q in captured for table in ("fellowships_fellowship", "fellowships_servicebody", "meetings_region")
                if table in q["sql"]]
    # A bulk rename (no save(), no signal of its own) bumps the version: read again, shown at once.
    Region.objects.filter(slug=row["region"]).update(slug=row["region"] + "-new")
    assert client.get(f"/api/v1/meetings/{slug}/").json()["region"] == row["region"] + "-new"


def test_a_service_body_written_since_the_version_was_read_is_named(sample):
    """A page read at a version may show a meeting written since (read
    committed): the slugs kept for that version do not know its new service
    body, so they are read again."""
    from meetings.directory_version import answering_at, directory_version
    from tests.factories import ServiceBodyFactory, make_meeting

    now = dt.datetime(2026, 12, 2, 18, tzinfo=dt.timezone.utc)
    with answering_at(directory_version(using="default"), using="default"):
        assert meeting_rows(Meeting.objects.published().order_by("pk")[:3], now=now)
        body = ServiceBodyFactory(slug="opened-since")
        meeting = make_meeting(name="Since", service_body=body, fellowship=body.fellowship.slug)
        assert meeting_rows(Meeting.objects.filter(pk=meeting.pk), now=now)[0]["service_body"] == "opened-since"


def test_an_address_sent_in_parts_is_the_rows_formatted_address(vocabularies, client):
    """A feed that sends address, city, state and postal code but no
    formatted address: the row reads as the Meeting Guide export writes it."""
    from tests.factories import LocationFactory, make_meeting

    corner = LocationFactory(address="1 Main St", city="Santa Ana", state="CA", postal_code="92701",
                             formatted_address="")
    meeting = make_meeting(name="Corner", location=corner)
    row = client.get(f"/api/v1/meetings/{meeting.slug}/").json()
    assert row["formatted_address"] == "1 Main St, Santa Ana, CA 92701, US"
    assert (row["address"], row["city"], row["state"], row["postal_code"]) == ("1 Main St", "Santa Ana", "CA",
                                                                             "92701")
    given = make_meeting(name="Given", location=LocationFactory(formatted_address="1 Main St, Santa Ana, CA, USA"))
    assert client.get(f"/api/v1/meetings/{given.slug}/").json()["formatted_address"] == "1 Main St, Santa Ana, CA, USA"


def test_a_stored_zone_that_is_not_an_iana_name_is_published_by_no_reader(vocabularies, client):
    """Found by the review of 1 December: a name written to the database
    directly (the admin, the API and the importers refuse one) reached the
    API's row, the BMLT interface and the meeting page as it was. Every
    reader now says what the searches and the clock already read it as: no
    zone (no next start, no calendar; the quality page lists the meeting)."""
    from tests.factories import make_meeting

    meeting = make_meeting(name="Early Birds")
    Meeting.objects.filter(pk=meeting.pk).update(timezone="Mars/Base")
    row = client.get(f"/api/v1/meetings/{meeting.slug}/").json()
    assert (row["timezone"], row["next_start"]) == ("", None)
    assert client.get("/api/v1/meetings/").json()["results"] == [row]
    bmlt = client.get("/client_interface/json/", {"switcher": "GetSearchResults"}).json()
    assert [record["time_zone"] for record in bmlt] == [""]
    for path in ("/api/v1/feeds/meeting-guide.json", "/api/v1/meetings/calendar.ics", f"/meetings/{meeting.slug}/",
                 "/?near=92660", f"/api/v1/meetings/{meeting.slug}/calendar.ics"):
        response = client.get(path)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code in (200, 404) and b"Mars/Base" not in body, path
