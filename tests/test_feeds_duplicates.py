"""One meeting listed by two sources is shown once (meetings/feeds/duplicates.py),
and only ever hidden behind a meeting the public sees: a look-alike nobody
sees hides nothing."""

from __future__ import annotations

import pytest

from meetings.models import Meeting
from meetings.services import meetings_set_published
from tests.factories import LocationFactory, feed_record, make_meeting, make_source, run_feed

SEARCH = "/api/v1/meetings/"
# Where feed_record(1) puts its meeting.
SERENITY = (33.681, -117.82)


def found(client, latitude: float, longitude: float) -> list[str]:
    """The names the public search finds within a kilometre of a point."""
    response = client.get(SEARCH, {"lat": latitude, "lng": longitude, "radius": 1, "units": "km"})
    assert response.status_code == 200, response.content
    return sorted(m["name"] for m in response.json()["results"])


@pytest.fixture
def copy_hidden(vocabularies):
    """"Serenity Group" from the intergroup's feed, shown; "Serenity" from
    the district's feed, the same meeting, hidden behind it."""
    intergroup, district = make_source("oc"), make_source("district")
    run_feed(intergroup, [feed_record(1, name="Serenity Group")])
    run = run_feed(district, [feed_record(1, name="Serenity", slug="d-77")])
    kept, copy = Meeting.objects.get(feed_source=intergroup), Meeting.objects.get(feed_source=district)
    assert run.duplicates == 1 and copy.duplicate_of == kept
    return kept, copy


# Hidden only behind a public meeting ------------------------------------------

def test_a_curators_unpublished_draft_hides_no_import(vocabularies, client):
    draft = make_meeting(name="Serenity Group", day=1, time="19:00", published=False,
                         location=LocationFactory(latitude=SERENITY[0], longitude=SERENITY[1]))
    run = run_feed(make_source("oc"), [feed_record(1, name="Serenity Group")])
    imported = Meeting.objects.exclude(pk=draft.pk).get()
    assert (run.duplicates, imported.duplicate_of) == (0, None)
    assert found(client, *SERENITY) == ["Serenity Group"]


def test_another_bodys_unpublished_listing_hides_no_import(vocabularies, client):
    intergroup, district = make_source("oc"), make_source("district")
    run_feed(intergroup, [feed_record(1, name="Serenity Group")])
    meetings_set_published(meetings=Meeting.objects.filter(feed_source=intergroup), published=False)
    run = run_feed(district, [feed_record(1, name="Serenity", slug="d-77")])
    assert (run.duplicates, Meeting.objects.get(feed_source=district).duplicate_of) == (0, None)
    assert found(client, *SERENITY) == ["Serenity"]


def test_a_copy_is_hidden_behind_a_public_meeting(copy_hidden, client):
    assert found(client, *SERENITY) == ["Serenity Group"]
