"""The search's fast path keeps MeetingSerializer's contract, field by field."""

import datetime as dt

import pytest

from meetings import clock
from meetings.api.serializers import MeetingSerializer
from meetings.models import Meeting
from tests.factories import LocationFactory, RegionFactory, make_meeting

URL = "/api/v1/meetings/"


@pytest.fixture
def varied(vocabularies, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: dt.datetime(2026, 11, 1, 8, 40, tzinfo=dt.timezone.utc))
    region = RegionFactory(name="Irvine", slug="irvine")
    make_meeting(name="In person", types=("O", "D", "W"), location=LocationFactory(region=region, notes="Room 4"),
                 end_time=dt.time(20, 30), group="Home Group", url="https://example.org/m/1")
    make_meeting(name="Hybrid", types=("C",), conference_url="https://zoom.us/j/1", conference_url_notes="pw 1",
                 conference_phone="+1 555 010 0100", day=0, time="01:30")  # in progress across fall-back
    make_meeting(name="Online only", no_location=True, conference_url="https://meet.google.com/x",
                 timezone="America/New_York", day=6, time="23:30", end_time=dt.time(0, 30))
    make_meeting(name="By appointment", day=None, time=None, fellowship="na", types=("OPEN",))
    make_meeting(name="Alateen", fellowship="al-anon", types=("Y", "TC"))
    make_meeting(name="No zone", location=LocationFactory(timezone=""), service_body=None)
    Meeting.objects.filter(name="No zone").update(timezone="")


def serializer_view(client, query) -> dict:
    """What MeetingSerializer says of each meeting a search returns."""
    from rest_framework.test import APIRequestFactory

    request = APIRequestFactory().get(URL, query)
    from rest_framework.request import Request

    drf_request = Request(request)
    expected = {}
    for meeting in Meeting.objects.with_listing_relations():
        serializer = MeetingSerializer(meeting, context={"request": drf_request, "now": clock.now(),
                                                         "units": query.get("units", "mi")})
        expected[meeting.slug] = dict(serializer.data)
    return expected


@pytest.mark.parametrize("query", [{}, {"tz": "Europe/Berlin"}, {"near": "92618", "units": "km"}, {"near": "92618"}])
def test_fast_rows_equal_the_serializer(varied, client, query):
    response = client.get(URL, {**query, "limit": 100})
    assert response.status_code == 200
    rows = response.json()["results"]
    expected = serializer_view(client, query)
    assert rows, "the search found nothing to compare"
    for row in rows:
        want = expected[row["slug"]]
        if "near" in query:
            assert row["distance"] is not None and row["distance"] >= 0
            want["distance"] = row["distance"]  # the serializer has no search annotation
        assert set(row) == set(want)
        for field in want:
            assert row[field] == want[field], (row["slug"], field)


def test_fast_rows_cover_the_tricky_cases(varied, client):
    rows = {r["name"]: r for r in client.get(URL, {"limit": 100, "tz": "Asia/Tokyo"}).json()["results"]}
    assert rows["Hybrid"]["in_progress"] is True
    assert rows["By appointment"]["next_start"] is None and rows["By appointment"]["day_local"] is None
    assert rows["Online only"]["location"] == "" and rows["Online only"]["approximate"] is True
    assert rows["In person"]["region"] == "irvine" and rows["In person"]["location_notes"] == "Room 4"
    assert rows["No zone"]["next_start"] is None and rows["No zone"]["in_progress"] is False
    assert rows["Alateen"]["attendance_option"] == "inactive"
