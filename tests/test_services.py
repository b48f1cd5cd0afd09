"""Writes keep derived fields in step with what they derive from."""

import pytest
from geopy.location import Location as GeopyLocation
from geopy.point import Point as GeopyPoint

from fellowships.models import MeetingType
from meetings.models import Location, Meeting
from meetings.services import location_save, meetings_set_published, meetings_set_temporarily_closed
from tests.factories import LocationFactory, make_meeting


def found_at(lat, lng):
    return lambda query: GeopyLocation(query, GeopyPoint(lat, lng), {"timezone": "America/Los_Angeles"})


@pytest.mark.django_db
class TestLocationSave:
    def test_geocodes_a_changed_address_and_moves_its_meetings(self, vocabularies):
        place = LocationFactory()
        meeting = make_meeting(location=place)
        place.address, place.formatted_address = "500 Other St", "500 Other St, Tustin, CA 92780, USA"
        location_save(location=place, address_changed=True, coordinates_changed=False,
                      geocoder=found_at(33.74, -117.82))
        meeting.refresh_from_db()
        assert (meeting.latitude, meeting.longitude) == (33.74, -117.82)
        assert place.geocode_status == Location.GeocodeStatus.OK

    def test_a_failed_geocode_never_blocks_saving_and_flags_meetings(self, vocabularies):
        place = LocationFactory()
        meeting = make_meeting(location=place)
        place.formatted_address = "Somewhere unknown"
        place.name = "Renamed hall"
        location_save(location=place, address_changed=True, coordinates_changed=False,
                      geocoder=lambda query: None)
        place.refresh_from_db()
        meeting.refresh_from_db()
        assert place.name == "Renamed hall"
        assert place.geocode_status == Location.GeocodeStatus.FAILED
        assert meeting.needs_review and "geocoded" in meeting.review_reason
        # The old pin stays rather than vanishing.
        assert meeting.latitude == pytest.approx(33.6846)

    def test_coordinates_placed_by_hand_are_kept(self, vocabularies):
        place = LocationFactory()
        meeting = make_meeting(location=place)
        place.latitude, place.longitude = 33.70, -117.90
        location_save(location=place, address_changed=True, coordinates_changed=True,
                      geocoder=found_at(1.0, 1.0))
        meeting.refresh_from_db()
        assert place.geocode_status == Location.GeocodeStatus.MANUAL
        assert (meeting.latitude, meeting.longitude) == (33.70, -117.90)


@pytest.mark.django_db
class TestBulkChanges:
    def test_temporarily_closed_and_reopened(self, vocabularies):
        hybrid = make_meeting(name="Hybrid", conference_url="https://zoom.us/j/1", types=("O",))
        plain = make_meeting(name="Plain", types=("O",))
        changed = meetings_set_temporarily_closed(meetings=Meeting.objects.all(), closed=True)
        hybrid.refresh_from_db()
        plain.refresh_from_db()
        assert changed == 2
        assert (hybrid.attendance, plain.attendance) == ("online", "inactive")
        assert set(plain.types.values_list("code", flat=True)) == {"O", "TC"}
        assert meetings_set_temporarily_closed(meetings=Meeting.objects.all(), closed=True) == 0
        meetings_set_temporarily_closed(meetings=Meeting.objects.all(), closed=False)
        hybrid.refresh_from_db()
        plain.refresh_from_db()
        assert (hybrid.attendance, plain.attendance) == ("hybrid", "in_person")
        assert not MeetingType.objects.filter(meetings=plain, code="TC").exists()

    def test_publish_and_unpublish(self, vocabularies):
        make_meeting(name="A")
        make_meeting(name="B", published=False)
        assert meetings_set_published(meetings=Meeting.objects.all(), published=False) == 1
        assert not Meeting.objects.filter(published=True).exists()
        assert meetings_set_published(meetings=Meeting.objects.all(), published=True) == 2


@pytest.mark.django_db
def test_time_zone_falls_back_to_location_then_service_body(vocabularies):
    east = make_meeting(location=LocationFactory(timezone="America/New_York"))
    bare = make_meeting(no_location=True, conference_url="https://zoom.us/j/5")
    assert east.timezone == "America/New_York"
    assert bare.timezone == "America/Los_Angeles"
    assert bare.attendance == "online"


@pytest.mark.django_db
def test_editing_a_location_marks_its_meetings_updated(vocabularies):
    """Feeds and their ETags follow `updated`: a moved venue is a changed meeting."""
    place = LocationFactory()
    meeting = make_meeting(location=place)
    before = meeting.updated
    place.name = "New hall name"
    location_save(location=place, address_changed=False, coordinates_changed=False)
    meeting.refresh_from_db()
    assert meeting.updated > before
