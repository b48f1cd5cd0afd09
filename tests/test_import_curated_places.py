"""A curator's places against later imports (meetings/feeds/importer.py,
Applier._place): a hall a curator changed (a note, a pin placed by hand) is
described anew by the feed only when the feed describes that very hall anew
(all of its meetings there, the same building), never because one meeting
moved away from it; and a curator's choice of location for a meeting is a
curated field like its name: kept by imports, reported, releasable."""

from __future__ import annotations

import pytest
from django.urls import reverse
from geopy.location import Location as GeopyLocation
from geopy.point import Point as GeopyPoint

from meetings.feeds.formats import FeedDocument
from meetings.feeds.importer import feed_import
from meetings.feeds.locks import PLACE
from meetings.models import ImportIssue, Location, Meeting
from meetings.services import meeting_feed_place, meeting_release_lock
from tests.factories import (RegionFactory, change_url, feed_record, location_form_data, make_source, meeting_form_data,
                             run_feed)

GRACE = {"location": "Grace Church", "address": "1 Main St", "latitude": 33.7, "longitude": -117.8}
OTHER = {"location": "Other Hall", "address": "99 Far Away Rd", "latitude": 33.9, "longitude": -118.1}


@pytest.fixture
def source(vocabularies):
    return make_source("t1")


def _meetings(source) -> dict[str, Meeting]:
    return {m.source_key: m for m in Meeting.objects.filter(feed_source=source).select_related("location")}


def _shared_hall(source) -> Location:
    run = run_feed(source, [feed_record(n, **GRACE) for n in (1, 2, 3)])
    assert run.created == 3
    (hall,) = {m.location for m in _meetings(source).values()}
    return hall


def _edit_location(admin_client, location: Location, **fields) -> Location:
    response = admin_client.post(change_url(location), location_form_data(location, **fields))
    assert response.status_code == 302, response.context["adminform"].form.errors
    location.refresh_from_db()
    return location


# A curated hall shared by several meetings ---------------------------------------

@pytest.mark.parametrize("edit", [{"notes": "Enter by the side door"},
                                  {"latitude": 33.7004, "longitude": -117.8003}],
                         ids=["notes", "pin placed by hand"])
def test_one_meeting_moving_away_leaves_the_curated_hall_to_the_others(source, admin_client, edit):
    hall = _edit_location(admin_client, _shared_hall(source), **edit)
    assert hall.locked_fields
    curated = {name: getattr(hall, name) for name in ("name", "address", "notes", "latitude", "longitude")}

    run = run_feed(source, [feed_record(1, **OTHER), feed_record(2, **GRACE), feed_record(3, **GRACE)])
    assert (run.status, run.updated, run.unchanged) == ("succeeded", 1, 2)
    meetings = _meetings(source)
    moved = meetings["m1"]
    assert moved.location_id != hall.pk
    assert (moved.location.name, moved.location.address, moved.latitude, moved.longitude) == (
        "Other Hall", "99 Far Away Rd", 33.9, -118.1)
    hall.refresh_from_db()
    assert {name: getattr(hall, name) for name in curated} == curated
    for key in ("m2", "m3"):
        assert meetings[key].location_id == hall.pk
        assert (meetings[key].latitude, meetings[key].longitude) == (hall.latitude, hall.longitude)
    # Nothing left to do the next time.
    again = run_feed(source, [feed_record(1, **OTHER), feed_record(2, **GRACE), feed_record(3, **GRACE)])
    assert (again.updated, again.unchanged) == (0, 3)


def test_meetings_moving_together_from_a_hall_others_still_use_leave_it_as_it_is(source, admin_client):
    hall = _edit_location(admin_client, _shared_hall(source), notes="Enter by the side door")
    run = run_feed(source, [feed_record(1, **OTHER), feed_record(2, **OTHER), feed_record(3, **GRACE)])
    assert run.updated == 2
    meetings = _meetings(source)
    assert meetings["m1"].location_id == meetings["m2"].location_id != hall.pk
    assert meetings["m1"].location.notes == "" and meetings["m3"].location_id == hall.pk
    hall.refresh_from_db()
    assert (hall.name, hall.address, hall.notes) == ("Grace Church", "1 Main St", "Enter by the side door")


def test_a_curated_hall_whose_address_the_feed_corrects_for_all_its_meetings_takes_it(source, admin_client):
    hall = _edit_location(admin_client, _shared_hall(source), notes="Enter by the side door",
                          latitude=33.7004, longitude=-117.8003)
    corrected = {**GRACE, "address": "1 Main Street", "postal_code": "92620"}
    run = run_feed(source, [feed_record(n, **corrected) for n in (1, 2, 3)])
    assert (run.status, run.updated) == ("succeeded", 3)
    hall.refresh_from_db()
    # The feed's words for the hall, the curator's note and pin.
    assert (hall.name, hall.address, hall.postal_code) == ("Grace Church", "1 Main Street", "92620")
    assert (hall.notes, hall.latitude, hall.longitude) == ("Enter by the side door", 33.7004, -117.8003)
    assert set(hall.locked_fields) == {"notes", "latitude", "longitude"}
    assert {m.location_id for m in _meetings(source).values()} == {hall.pk}
    assert Location.objects.filter(source=source.meeting_source).count() == 1
    assert run_feed(source, [feed_record(n, **corrected) for n in (1, 2, 3)]).unchanged == 3
    # Later, one of them moves away: the corrected hall stays for the two others.
    run_feed(source, [feed_record(1, **OTHER), feed_record(2, **corrected), feed_record(3, **corrected)])
    meetings = _meetings(source)
    hall.refresh_from_db()
    assert meetings["m1"].location.name == "Other Hall" and meetings["m2"].location_id == hall.pk
    assert (hall.address, hall.notes) == ("1 Main Street", "Enter by the side door")


def test_a_hall_another_feed_still_gives_as_it_was_is_not_described_anew(vocabularies, admin_client):
    """Two sources sharing a place namespace (as the sample data's do): one
    source correcting its meeting's address does not rewrite the hall the
    other source still gives as it was."""
    first, second = make_source("first"), make_source("second")

    def run(source, records):
        return feed_import(source_id=source.pk, document=FeedDocument(records=records), location_namespace="shared")

    run(first, [feed_record(1, **GRACE)])
    run(second, [feed_record(2, **GRACE)])
    hall = Location.objects.get()
    hall = _edit_location(admin_client, hall, notes="Enter by the side door")
    run(first, [feed_record(1, **{**GRACE, "address": "1 Main Street"})])
    hall.refresh_from_db()
    assert (hall.address, hall.notes) == ("1 Main St", "Enter by the side door")
    moved = Meeting.objects.get(feed_source=first)
    assert moved.location_id != hall.pk and moved.location.address == "1 Main Street"
    assert Meeting.objects.get(feed_source=second).location_id == hall.pk


@pytest.mark.parametrize("locked", [(), ("address",)], ids=["address the feed's", "address locked"])
def test_a_hall_described_anew_is_found_again_by_its_new_description(vocabularies, admin_client, locked):
    """The feed corrects a curated hall's street number for all its meetings:
    the hall takes it, and a later meeting (another source of the namespace,
    or the same feed's next run) given that corrected address is at that hall,
    not at a second location made for the same building. So it is when the
    curator locked the address too: the feed's corrected words still name
    this hall."""
    first, second = make_source("first"), make_source("second")

    def run(source, records):
        return feed_import(source_id=source.pk, document=FeedDocument(records=records), location_namespace="shared")

    run(first, [feed_record(n, **GRACE) for n in (1, 2)])
    hall = _edit_location(admin_client, Location.objects.get(), notes="Enter by the side door",
                          **({"address": "1 Main Street"} if locked else {}))
    corrected = {**GRACE, "address": "11 Main St"}
    assert run(first, [feed_record(n, **corrected) for n in (1, 2)]).updated == 2
    hall.refresh_from_db()
    assert hall.address == ("1 Main Street" if locked else "11 Main St")
    assert {m.location_id for m in Meeting.objects.all()} == {hall.pk}

    assert run(second, [feed_record(3, **corrected)]).created == 1
    assert run(first, [feed_record(n, **corrected) for n in (1, 2, 4)]).created == 1
    assert {m.location_id for m in Meeting.objects.all()} == {hall.pk}
    assert Location.objects.count() == 1
    hall.refresh_from_db()
    assert hall.notes == "Enter by the side door"


@pytest.mark.parametrize("locked", [(), ("address",)], ids=["address the feed's", "address locked"])
def test_a_new_meeting_at_a_hall_described_anew_in_the_same_run_is_at_that_hall(vocabularies, admin_client,
                                                                                 locked):
    """In one run the feed corrects a curated hall's street number for all its
    meetings and lists a new meeting there, with the corrected address: the
    new meeting is at the curated hall (which takes the corrected words and
    their key), not at a second location made for the same building because
    new records are placed before the stored ones."""
    first = make_source("first")

    def run(records):
        return feed_import(source_id=first.pk, document=FeedDocument(records=records), location_namespace="shared")

    run([feed_record(n, **GRACE) for n in (1, 2)])
    hall = _edit_location(admin_client, Location.objects.get(), notes="Enter by the side door",
                          **({"address": "1 Main Street"} if locked else {}))
    corrected = {**GRACE, "address": "11 Main St"}
    done = run([feed_record(n, **corrected) for n in (1, 2, 3)])
    assert (done.status, done.created, done.updated) == ("succeeded", 1, 2)
    assert Location.objects.count() == 1
    assert {m.location_id for m in Meeting.objects.all()} == {hall.pk}
    hall.refresh_from_db()
    assert hall.address == ("1 Main Street" if locked else "11 Main St")
    assert hall.notes == "Enter by the side door"
    assert hall.source_key == Meeting.objects.get(source_key="m3").feed_values[PLACE]
    # The next run finds everything where it is.
    again = run([feed_record(n, **corrected) for n in (1, 2, 3)])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert Location.objects.count() == 1


# A curated hall with one meeting -----------------------------------------------------

def test_the_only_meeting_of_a_curated_hall_moving_across_town_goes_to_the_new_place(source, admin_client):
    run_feed(source, [feed_record(1, **GRACE)])
    hall = _edit_location(admin_client, _meetings(source)["m1"].location, notes="Enter by the side door",
                          latitude=33.7004, longitude=-117.8003)
    run_feed(source, [feed_record(1, **OTHER)])
    meeting = _meetings(source)["m1"]
    assert meeting.location_id != hall.pk
    assert (meeting.location.name, meeting.location.notes, meeting.latitude) == ("Other Hall", "", 33.9)
    hall.refresh_from_db()
    assert (hall.name, hall.notes, hall.latitude) == ("Grace Church", "Enter by the side door", 33.7004)


def test_the_only_meeting_of_a_curated_hall_with_its_address_corrected_keeps_the_hall(source, admin_client):
    run_feed(source, [feed_record(1, **GRACE)])
    hall = _edit_location(admin_client, _meetings(source)["m1"].location, notes="Enter by the side door")
    # The feed's pin moves by a few metres with the corrected address.
    run_feed(source, [feed_record(1, **{**GRACE, "address": "1 Main Street", "latitude": 33.7002})])
    meeting = _meetings(source)["m1"]
    hall.refresh_from_db()
    assert meeting.location_id == hall.pk
    assert (hall.address, hall.notes, hall.latitude) == ("1 Main Street", "Enter by the side door", 33.7002)


def _unplaced(n: int, **fields) -> dict:
    """A record without coordinates: the importer geocodes it."""
    record = feed_record(n, **fields)
    del record["latitude"], record["longitude"]
    return record


def _geocoder(found):
    def geocode(query):
        return None if found is None else GeopyLocation(query, GeopyPoint(*found), {"timezone": ""})
    return geocode


def test_a_hall_placed_only_by_its_city_is_not_another_hall_of_that_city(source, admin_client):
    """Two halls of one city geocode to the same city-wide point: that says
    nothing of whether they are one building."""
    centre = _geocoder((33.68, -117.83))
    run_feed(source, [_unplaced(1, location="Grace Church", address="")], geocoder=centre)
    hall = _edit_location(admin_client, _meetings(source)["m1"].location, notes="Enter by the side door")
    assert hall.approximate
    run_feed(source, [_unplaced(1, location="Other Hall", address="")], geocoder=centre)
    meeting = _meetings(source)["m1"]
    hall.refresh_from_db()
    assert meeting.location_id != hall.pk and meeting.location.name == "Other Hall"
    assert (hall.name, hall.notes) == ("Grace Church", "Enter by the side door")


@pytest.mark.parametrize("corrected, same", [
    ({"address": "1 Main Street"}, True),  # the same hall's name and city
    ({"location": "Grace Chapel"}, True),  # the same street address and city
    ({"location": "Other Hall", "address": "99 Far Away Rd"}, False),
    ({"city": "Tustin"}, False),
])
def test_without_positions_the_same_hall_is_told_by_its_words(source, admin_client, corrected, same):
    nowhere = _geocoder(None)
    grace = {"location": "Grace Church", "address": "1 Main St"}
    run_feed(source, [_unplaced(1, **grace)], geocoder=nowhere)
    hall = _edit_location(admin_client, _meetings(source)["m1"].location, notes="Enter by the side door")
    run_feed(source, [_unplaced(1, **{**grace, **corrected})], geocoder=nowhere)
    hall.refresh_from_db()
    assert (_meetings(source)["m1"].location_id == hall.pk) is same
    assert hall.notes == "Enter by the side door"
    assert (hall.name, hall.address) == ((corrected.get("location", "Grace Church"),
                                          corrected.get("address", "1 Main St")) if same
                                         else ("Grace Church", "1 Main St"))


# Online meetings and the region a place is filed under --------------------------------

HALL_IN_SANTA_ANA = {"location": "Grace Church", "address": "1 Main St", "city": "Santa Ana", "postal_code": "92701",
                     "latitude": 33.745, "longitude": -117.868, "regions": ["Santa Ana"]}
# The same group online only: Meeting Guide feeds keep the venue's name and
# city, put "Online" in the street field and file the meeting under "Online".
ONLINE_ONLY = {"location": "Grace Church", "address": "Online", "city": "Santa Ana", "postal_code": "",
               "conference_url": "https://zoom.us/j/5550100", "regions": ["Online"]}
SANTA_ANA_CENTRE = (33.7455, -117.8677)


def _region(source, key: str = "m1") -> str | None:
    region = _meetings(source)[key].location.region
    return region.slug if region else None


def test_a_curated_hall_whose_meeting_goes_online_stays_the_hall(source, admin_client):
    """Before, the hall was described anew as the online meeting's city-wide
    place: its street cleared, its door note shown on an online meeting,
    and the meeting listed under the street's region. The group going
    online leaves the hall; the hall stays as the curator left it, under
    its region, and the online meeting goes where the feed files it."""
    run_feed(source, [feed_record(1, **HALL_IN_SANTA_ANA)])
    hall = _edit_location(admin_client, _meetings(source)["m1"].location, notes="Enter by the side door")
    assert _region(source) == "santa-ana"
    run = run_feed(source, [_unplaced(1, **ONLINE_ONLY)], geocoder=_geocoder(SANTA_ANA_CENTRE))
    assert (run.status, run.updated) == ("succeeded", 1)
    meeting = _meetings(source)["m1"]
    assert meeting.attendance == "online" and meeting.location_id != hall.pk
    assert meeting.location.approximate and meeting.location.notes == ""
    # As a first import of the same feed files it.
    assert _region(source) == "online"
    hall.refresh_from_db()
    assert (hall.address, hall.notes, hall.region.slug) == ("1 Main St", "Enter by the side door", "santa-ana")
    # Back in person, the group is at its hall again, the curator's note with it.
    run_feed(source, [feed_record(1, **HALL_IN_SANTA_ANA)])
    assert _meetings(source)["m1"].location_id == hall.pk and _region(source) == "santa-ana"


def test_an_online_meeting_back_at_its_hall_is_not_filed_under_online(source, admin_client):
    """Before, the online meeting's curated place was described anew as the
    hall and kept the region "Online": an in-person meeting listed as
    online's, its Zoom note on a door. Now the hall is a place of its own."""
    run_feed(source, [_unplaced(1, **ONLINE_ONLY)], geocoder=_geocoder(SANTA_ANA_CENTRE))
    place = _edit_location(admin_client, _meetings(source)["m1"].location, notes="Zoom opens at 6:45")
    assert (place.approximate, _region(source)) == (True, "online")
    run_feed(source, [feed_record(1, **HALL_IN_SANTA_ANA)])
    meeting = _meetings(source)["m1"]
    assert meeting.attendance == "in_person" and meeting.location_id != place.pk
    assert (meeting.location.address, meeting.location.notes) == ("1 Main St", "")
    assert _region(source) == "santa-ana"
    place.refresh_from_db()
    assert (place.notes, place.region.slug) == ("Zoom opens at 6:45", "online")
    # Nothing left to do the next time.
    assert run_feed(source, [feed_record(1, **HALL_IN_SANTA_ANA)]).unchanged == 1


def test_the_region_a_curator_files_an_online_meetings_place_under_stays(source, admin_client):
    """A curator who files the online meeting's place under a region owns
    that choice: the feed describing the place anew does not undo it, nor
    does the meeting leave for a new place under the feed's region."""
    run_feed(source, [_unplaced(1, **ONLINE_ONLY)], geocoder=_geocoder(SANTA_ANA_CENTRE))
    county = RegionFactory(name="Orange County", slug="orange-county")
    place = _edit_location(admin_client, _meetings(source)["m1"].location, region=county.pk)
    for described in ({**ONLINE_ONLY, "postal_code": "92701"}, {**ONLINE_ONLY, "postal_code": "92702"}):
        assert run_feed(source, [_unplaced(1, **described)], geocoder=_geocoder(SANTA_ANA_CENTRE)).updated == 1
        assert _meetings(source)["m1"].location_id == place.pk
        assert _region(source) == "orange-county"


def test_the_region_stays_as_the_first_run_filed_it_while_the_feed_does(source, admin_client):
    run_feed(source, [_unplaced(1, **ONLINE_ONLY)], geocoder=_geocoder(SANTA_ANA_CENTRE))
    place = _edit_location(admin_client, _meetings(source)["m1"].location, notes="Zoom opens at 6:45")
    run_feed(source, [_unplaced(1, **{**ONLINE_ONLY, "postal_code": "92701", "time": "20:00"})],
             geocoder=_geocoder(SANTA_ANA_CENTRE))
    assert _meetings(source)["m1"].location_id == place.pk
    assert _region(source) == "online"


# A curator's choice of location ------------------------------------------------------

def test_a_curators_move_is_kept_by_imports_reported_and_releasable(source, admin_client):
    hall_b = {"location": "St Mark", "address": "5 Oak St", "latitude": 33.71, "longitude": -117.81}
    run_feed(source, [feed_record(1, **GRACE), feed_record(2, **hall_b)])
    meetings = _meetings(source)
    m1, m2 = meetings["m1"], meetings["m2"]
    hall_a = m1.location
    response = admin_client.post("/admin/meetings/location/add/", {
        **location_form_data(Location(name="Community Center", address="4 Civic Center Plaza", city="Irvine",
                                      state="CA", postal_code="92606", country="US"))})
    assert response.status_code == 302
    own = Location.objects.get(name="Community Center")
    for meeting, target in ((m1, own), (m2, hall_a)):
        response = admin_client.post(change_url(meeting), meeting_form_data(meeting, location=target.pk))
        assert response.status_code == 302
        meeting.refresh_from_db()
        assert meeting.locked_fields == [PLACE]

    # The feed spells both addresses out: each meeting stays where the curator put it.
    records = [feed_record(1, **{**GRACE, "address": "1 Main Street"}),
               feed_record(2, **{**hall_b, "address": "5 Oak Street"})]
    run = run_feed(source, records)
    assert (run.status, run.updated) == ("succeeded", 2)
    m1.refresh_from_db()
    m2.refresh_from_db()
    assert (m1.location_id, m2.location_id) == (own.pk, hall_a.pk)
    assert (m2.latitude, m2.longitude) == (hall_a.latitude, hall_a.longitude)
    notes = dict(run.issues.values_list("record_key", "reason"))
    assert notes["m1"] == ("kept the curator's location; the feed now says location "
                           "'Grace Church, 1 Main Street, Irvine'")
    assert notes["m2"].startswith("kept the curator's location")
    # A run that changes nothing else keeps them and says nothing more.
    again = run_feed(source, records)
    assert (again.unchanged, again.issues.count()) == (2, 0)

    # The admin shows the feed's place beside the curated location, and releases it.
    page = admin_client.get(change_url(m1)).content.decode()
    assert "Grace Church" in page and reverse("admin:meetings_meeting_release_lock", args=[m1.pk, PLACE]) in page
    # Its page asks first, naming the place the meeting goes back to, and changes nothing.
    confirm = admin_client.get(reverse("admin:meetings_meeting_release_lock", args=[m1.pk, PLACE])).content.decode()
    assert ("Location is curated on Meeting 1: imports leave it alone. Released, the meeting goes back to the "
            f"feed's place, {meeting_feed_place(m1)}, and follows the feed again.") in confirm
    m1.refresh_from_db()
    assert (m1.locked_fields, m1.location_id) == ([PLACE], own.pk)
    response = admin_client.post(reverse("admin:meetings_meeting_release_lock", args=[m1.pk, PLACE]))
    assert response.status_code == 302
    m1.refresh_from_db()
    assert m1.locked_fields == [] and m1.location_id not in (own.pk, hall_a.pk)
    assert (m1.location.name, m1.location.address, m1.latitude) == ("Grace Church", "1 Main Street", 33.7)
    assert run_feed(source, records).unchanged == 2
    m1.refresh_from_db()
    assert m1.location.address == "1 Main Street"


def test_releasing_a_location_whose_feed_place_is_gone_places_it_at_the_next_import(source, admin_client):
    run_feed(source, [feed_record(1, **GRACE)])
    meeting = _meetings(source)["m1"]
    feed_place = meeting.location
    other = Location.objects.create(name="Elsewhere", address="7 Elm St", latitude=33.5, longitude=-117.5)
    admin_client.post(change_url(meeting), meeting_form_data(meeting, location=other.pk))
    feed_place.delete()  # a superuser tidied up the empty hall
    meeting.refresh_from_db()
    meeting = meeting_release_lock(meeting=meeting, field=PLACE)
    meeting.refresh_from_db()
    assert (meeting.locked_fields, meeting.location_id) == ([], other.pk)
    run = run_feed(source, [feed_record(1, **GRACE)])
    assert run.updated == 1
    meeting.refresh_from_db()
    assert (meeting.location.name, meeting.location.address) == ("Grace Church", "1 Main St")


def test_reverting_an_imports_move_keeps_the_meeting_where_it_was(source, admin_client):
    run_feed(source, [feed_record(1, **GRACE)])
    meeting = _meetings(source)["m1"]
    hall = meeting.location
    run_feed(source, [feed_record(1, **OTHER)])
    record = meeting.history.order_by("-history_id").first()
    response = admin_client.post(reverse("admin:meetings_meeting_revert", args=[meeting.pk, record.history_id]))
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert (meeting.location_id, meeting.locked_fields) == (hall.pk, [PLACE])
    run_feed(source, [feed_record(1, **OTHER, notes="Bring a friend")])
    meeting.refresh_from_db()
    assert (meeting.location_id, meeting.notes) == (hall.pk, "Bring a friend")


def test_a_curated_location_is_kept_without_a_note_when_the_feeds_place_did_not_change(source, admin_client):
    run_feed(source, [feed_record(1, **GRACE)])
    meeting = _meetings(source)["m1"]
    other = Location.objects.create(name="Elsewhere", address="7 Elm St", latitude=33.5, longitude=-117.5)
    admin_client.post(change_url(meeting), meeting_form_data(meeting, location=other.pk))
    run = run_feed(source, [feed_record(1, **GRACE, notes="Bring a friend")])
    meeting.refresh_from_db()
    assert (meeting.location_id, meeting.notes) == (other.pk, "Bring a friend")
    assert not ImportIssue.objects.filter(run=run).exists()


def test_a_move_made_before_moves_were_curated_is_locked_by_migration_0027(source, admin_client):
    """Migration 0027: a curator's move made before a meeting's location was
    a curated field left no lock, and the next import that gave the record
    anew put the meeting back at the feed's place. The move is locked now,
    as the admin locks one today; a meeting the feed moved, one no one
    moved, and one that is no feed's are left as they are."""
    from importlib import import_module

    from django.apps import apps

    from tests.factories import LocationFactory, make_meeting

    hall_b = {"location": "St Mark", "address": "5 Oak St", "latitude": 33.71, "longitude": -117.81}
    run_feed(source, [feed_record(1, **GRACE), feed_record(2, **hall_b), feed_record(3)])
    meetings = _meetings(source)
    moved_by_curator, never_moved = meetings["m1"], meetings["m3"]
    feed_hall = moved_by_curator.location
    own = LocationFactory(name="Community Center")
    manual = make_meeting(name="Hand Made", location=LocationFactory())
    for meeting, changes in ((moved_by_curator, {"location": own.pk}), (never_moved, {"notes": "Side door"}),
                             (manual, {"location": own.pk})):
        response = admin_client.post(change_url(meeting), meeting_form_data(meeting, **changes))
        assert response.status_code == 302
    # As the admin left a move before it locked one.
    Meeting.objects.filter(pk=moved_by_curator.pk).update(locked_fields=[])
    run_feed(source, [feed_record(1, **GRACE), feed_record(2, **OTHER), feed_record(3)])

    import_module("meetings.migrations.0027_curators_moves_locked").curators_moves_locked(apps, None)
    meetings = _meetings(source)
    assert {key: meeting.locked_fields for key, meeting in meetings.items()} == {
        "m1": [PLACE], "m2": [], "m3": ["notes"]}
    manual.refresh_from_db()
    assert (manual.location_id, manual.locked_fields, manual.feed_values) == (own.pk, [], {})

    # The feed spells the halls out anew: the curator's move stays, the others follow the feed.
    records = [feed_record(1, **{**GRACE, "address": "1 Main Street"}),
               feed_record(2, **{**OTHER, "address": "99 Far Away Road"}), feed_record(3, address="3 Main Street")]
    assert run_feed(source, records).updated == 3
    meetings = _meetings(source)
    assert meetings["m1"].location_id == own.pk
    assert (meetings["m2"].location.address, meetings["m3"].location.address) == ("99 Far Away Road",
                                                                                  "3 Main Street")

    # The admin shows the lock as one made today: the feed's place beside it, releasable.
    page = admin_client.get(change_url(moved_by_curator)).content.decode()
    assert "Grace Church" in page
    release = reverse("admin:meetings_meeting_release_lock", args=[moved_by_curator.pk, PLACE])
    assert release in page
    assert admin_client.post(release).status_code == 302
    moved_by_curator.refresh_from_db()
    assert moved_by_curator.locked_fields == [] and moved_by_curator.location_id not in (own.pk, feed_hall.pk)
    assert (moved_by_curator.location.name, moved_by_curator.location.address) == ("Grace Church", "1 Main Street")
