import pytest
from django.test import override_settings
from geopy.exc import GeocoderUnavailable
from geopy.location import Location as GeopyLocation
from geopy.point import Point as GeopyPoint

from meetings.geocoding import GeocodingError, geocode
from meetings.models import GeocodeCacheEntry


@pytest.mark.parametrize(
    ("query", "lat", "lng", "zone"),
    [
        ("92660", 33.63, -117.87, "America/Los_Angeles"),
        ("92660-1234", 33.63, -117.87, "America/Los_Angeles"),
        ("Irvine, CA", 33.68, -117.79, "America/Los_Angeles"),
        ("irvine ca", 33.68, -117.79, "America/Los_Angeles"),
        ("1 Main St, Irvine, CA 92618, USA", 33.67, -117.73, "America/Los_Angeles"),
        ("New York, NY", 40.75, -73.98, "America/New_York"),
        ("Irvine, CA USA", 33.68, -117.79, "America/Los_Angeles"),
    ],
)
def test_offline_gazetteer(db, query, lat, lng, zone):
    place = geocode(query)
    assert place.latitude == pytest.approx(lat, abs=0.1)
    assert place.longitude == pytest.approx(lng, abs=0.1)
    assert place.timezone == zone


@pytest.mark.parametrize("query", ["Irvine, California", "irvine california", "Irvine, Calif.", "Irvine Calif",
                                   "1 Main St, Irvine, California, USA"])
def test_offline_gazetteer_reads_a_state_by_its_name(db, query):
    # One table (geocoding.US_STATES) reads the name and the common abbreviation as the two-letter code.
    place = geocode(query)
    assert place.label == "Irvine, CA" and place.timezone == "America/Los_Angeles"


@pytest.mark.parametrize(("query", "label"), [("New York, New York", "New York, NY"),
                                              ("Charleston, West Virginia", "Charleston, WV"),
                                              ("Charleston West Virginia", "Charleston, WV"),
                                              ("Washington, District of Columbia", "Washington, DC"),
                                              ("Albany, N.Y.", "Albany, NY")])
def test_offline_gazetteer_reads_states_of_several_words(db, query, label):
    assert geocode(query).label == label


@pytest.mark.parametrize("query", ["nowhere", "", "99999", "Atlantis, ZZ", "Irvine, Atlantis", "Irvine, Texas"])
def test_unknown_places_raise(db, query):
    with pytest.raises(GeocodingError):
        geocode(query)


def test_the_gazetteer_finds_a_zip_codes_records_as_the_library_does():
    """Its index only narrows what zipcodes.matching scans: the same records, none for a code not issued."""
    import zipcodes

    from meetings.geocoding import _zip_index

    codes = [record["zip_code"] for record in zipcodes.list_all()[::211]] + ["00000", "00001", "99999"]
    for code in codes:
        assert zipcodes.matching(code, zips=_zip_index().get(code, [])) == zipcodes.matching(code), code


@override_settings(GEOCODER="nominatim")
def test_online_geocoder_answers_are_cached(db, monkeypatch):
    calls = []

    def fake_nominatim(query):
        calls.append(query)
        return GeopyLocation("Tustin, CA", GeopyPoint(33.74, -117.82), {})

    import meetings.geocoding as geocoding

    monkeypatch.setattr(geocoding, "_geocode_function", lambda name: fake_nominatim)
    first = geocode("Tustin, California")
    second = geocode("  tustin,   california ")
    assert (first.latitude, second.latitude) == (33.74, 33.74)
    assert calls == ["Tustin, California"]
    assert GeocodeCacheEntry.objects.filter(provider="nominatim").count() == 1


@override_settings(GEOCODER="nominatim")
def test_online_geocoder_failure_is_a_geocoding_error(db, monkeypatch):
    import meetings.geocoding as geocoding

    def down(query):
        raise GeocoderUnavailable("service down")

    monkeypatch.setattr(geocoding, "_geocode_function", lambda name: down)
    with pytest.raises(GeocodingError, match="geocoder failed"):
        geocode("Tustin, California")
    assert not GeocodeCacheEntry.objects.exists()  # a failure is not remembered as "no such place"
