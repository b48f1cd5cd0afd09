"""The search page for people: the API's search rendered as a list."""

import datetime as dt

import pytest

from tests.factories import LocationFactory, make_meeting


@pytest.mark.django_db
def test_search_page_lists_matches_nearest_first_with_links(vocabularies, client):
    make_meeting(name="Far Tuesday", day=2, types=("O",), location=LocationFactory(latitude=33.75, longitude=-117.85))
    near = make_meeting(name="Near Tuesday", day=2, types=("O", "SP"),
                        location=LocationFactory(latitude=33.63, longitude=-117.87))
    make_meeting(name="Wednesday", day=3, types=("O",), location=LocationFactory(latitude=33.63, longitude=-117.87))
    response = client.get("/", {"near": "92660", "radius": 20, "day": 2, "fellowship": "aa"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Near Tuesday") < html.index("Far Tuesday")
    assert "Wednesday" not in html.split("results-heading")[1]
    assert f'href="/meetings/{near.slug}/"' in html
    assert "Tuesday 19:00 P" in html and "Speaker" in html and " mi" in html


@pytest.mark.django_db
def test_search_page_says_what_is_wrong(vocabularies, client):
    response = client.get("/", {"near": "nowhere", "day": 9})
    html = response.content.decode()
    assert response.status_code == 400
    assert "No place is known by" in html and "day:" in html


@pytest.mark.django_db
def test_online_meetings_starting_soon(vocabularies, client, frozen_now):
    frozen_now(dt.datetime(2026, 12, 2, 17, 0, tzinfo=dt.timezone.utc))  # Wednesday 09:00 in LA
    make_meeting(name="Soon online", day=3, time="09:30", location=LocationFactory(approximate=True),
                 conference_url="https://zoom.us/j/5")
    make_meeting(name="Later online", day=3, time="13:00", location=LocationFactory(approximate=True),
                 conference_url="https://zoom.us/j/6")
    html = client.get("/", {"attendance": "online", "starting_within": 60}).content.decode()
    assert "Soon online" in html and "starts in 30 min" in html and "Later online" not in html


@pytest.mark.django_db
def test_front_page_without_a_search(vocabularies, client):
    response = client.get("/")
    assert response.status_code == 200 and "results-heading" not in response.content.decode()
