"""What a person types reaches what they mean (issue 10, the API side):
bare city names, keywords without accents that reach type names, parts of
the day, and online-only meetings that are never "0.0 mi" from anything."""

from __future__ import annotations

import pytest

from tests.factories import LocationFactory, make_meeting

URL = "/api/v1/meetings/"


@pytest.fixture
def irvine(vocabularies):
    place = LocationFactory(city="Irvine", state="CA", latitude=33.6846, longitude=-117.8265)
    return make_meeting(name="Irvine Noon", location=place, day=2, time="12:00")


@pytest.mark.django_db
def test_a_bare_city_name_is_the_one_where_the_directory_has_meetings(irvine, client):
    assert client.get(URL, {"near": "Irvine, CA"}).status_code == 200
    body = client.get(URL, {"near": "Irvine", "radius": 5})
    assert body.status_code == 200, body.json()
    assert [m["name"] for m in body.json()["results"]] == ["Irvine Noon"]
    from meetings.filters import search_parse

    assert search_parse({"near": "Irvine"}).place.startswith("Irvine, CA")
    assert client.get(URL, {"near": "Nowhereville"}).status_code == 400


@pytest.mark.django_db
def test_a_bare_name_prefers_the_directorys_place_even_when_the_geocoder_knows_another(irvine, client,
                                                                                     monkeypatch):
    """Nominatim (GEOCODER=nominatim) answers a bare "Irvine" itself, with
    whichever Irvine it ranks first; the directory's Irvine, CA must win."""
    from meetings import filters
    from meetings.geocoding import GeocodingError, Place

    places = {"irvine": Place(55.6117, -4.6694, "Irvine, North Ayrshire, Scotland, United Kingdom"),
              "irvine, ca": Place(33.6846, -117.8265, "Irvine, Orange County, California, United States")}

    def world_geocoder(query):
        try:
            return places[query.lower()]
        except KeyError:
            raise GeocodingError(query) from None

    monkeypatch.setattr(filters, "geocode", world_geocoder)
    body = client.get(URL, {"near": "Irvine", "radius": 5})
    assert body.status_code == 200, body.json()
    assert [m["name"] for m in body.json()["results"]] == ["Irvine Noon"]
    assert filters.search_parse({"near": "Irvine"}).place.startswith("Irvine, Orange County, California")
    # A name the directory has no meetings in is still the geocoder's answer.
    places["glasgow"] = Place(55.8617, -4.2583, "Glasgow, Scotland, United Kingdom")
    assert filters.search_parse({"near": "Glasgow"}).place.startswith("Glasgow, Scotland")


@pytest.mark.django_db
def test_keywords_ignore_case_and_accents_and_reach_type_names(vocabularies, client):
    make_meeting(name="Grupo Rendición", types=("S",))
    make_meeting(name="Tuesday Night", types=("W",))
    assert [m["name"] for m in client.get(URL, {"q": "rendicion"}).json()["results"]] == ["Grupo Rendición"]
    assert [m["name"] for m in client.get(URL, {"q": "RENDICIÓN"}).json()["results"]] == ["Grupo Rendición"]
    assert [m["name"] for m in client.get(URL, {"q": "women"}).json()["results"]] == ["Tuesday Night"]
    assert client.get(URL, {"q": "women rendicion"}).json()["results"] == []


@pytest.mark.django_db
def test_keywords_reach_the_type_names_the_spanish_page_shows(vocabularies, client):
    """The Spanish page names type W "Mujeres" (AA's translation, also for NA's
    W, which has none of its own): typed as a keyword, it finds them."""
    make_meeting(name="Grupo Martes", types=("W",))
    make_meeting(name="NA Tuesday", fellowship="na", types=("W",), location=LocationFactory())
    make_meeting(name="Men at Noon", types=("M",))
    assert sorted(m["name"] for m in client.get(URL, {"q": "mujeres"}).json()["results"]) == [
        "Grupo Martes", "NA Tuesday"]
    assert sorted(m["name"] for m in client.get(URL, {"q": "MUJERES martes"}).json()["results"]) == ["Grupo Martes"]


@pytest.mark.django_db
def test_parts_of_the_day(vocabularies, client):
    for hour in ("06:30", "12:00", "18:00", "23:30", "02:00"):
        make_meeting(name=f"At {hour}", time=hour)

    def names(**query):
        return sorted(m["name"] for m in client.get(URL, query).json()["results"])

    assert names(time_of_day="morning") == ["At 06:30"]
    assert names(time_of_day="midday") == ["At 12:00"]
    assert names(time_of_day="evening") == ["At 18:00"]
    assert names(time_of_day="night") == ["At 02:00", "At 23:30"]
    assert names(time_of_day="morning,night") == ["At 02:00", "At 06:30", "At 23:30"]
    assert client.get(URL, {"time_of_day": "brunch"}).status_code == 400


@pytest.mark.django_db
def test_online_only_meetings_are_not_near_anything(vocabularies, client):
    city = LocationFactory(city="Santa Ana", latitude=33.7455, longitude=-117.8677, approximate=True)
    hall = LocationFactory(city="Santa Ana", latitude=33.76, longitude=-117.88)
    make_meeting(name="Online Only", location=city, conference_url="https://zoom.us/j/123456789")
    make_meeting(name="In The Hall", location=hall)
    near = client.get(URL, {"lat": 33.7455, "lng": -117.8677}).json()["results"]
    assert [m["name"] for m in near] == ["In The Hall"] and near[0]["distance"] is not None
    online = client.get(URL, {"attendance": "online"}).json()["results"]
    assert [(m["name"], m["distance"]) for m in online] == [("Online Only", None)]


@pytest.mark.django_db
def test_a_near_search_past_its_last_page_counts_only_what_is_near(vocabularies, client):
    """Past the last page a near search is counted, and the count once forgot the place."""
    for n in range(2):
        make_meeting(name=f"Near {n}", location=LocationFactory(latitude=33.70 + n * 0.001, longitude=-117.85))
    make_meeting(name="Far", location=LocationFactory(latitude=40.7, longitude=-74.0))
    body = client.get(URL, {"lat": 33.7, "lng": -117.85, "radius": 5, "offset": 10}).json()
    assert body["results"] == [] and body["count"] == 2 and body["next"] is None
