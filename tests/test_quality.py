"""Data-quality rules, each a selector tested on a meeting that breaks it
and one that does not; and the review page's counts and links."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from fellowships.models import Fellowship
from meetings import quality
from meetings.models import FeedSource, Location, Meeting
from tests.factories import LocationFactory, aa_meeting, na_meeting

ZOOM = "https://zoom.us/j/5550100"


def names(queryset) -> list[str]:
    return sorted(m.name for m in queryset)


def test_without_coordinates(directory):
    aa_meeting(directory, "Unplaced", location=LocationFactory(latitude=None, longitude=None))
    aa_meeting(directory, "Placed")
    aa_meeting(directory, "Online only", location=None, no_location=True, conference_url=ZOOM)
    assert names(quality.meetings_without_coordinates(meetings=Meeting.objects.all())) == ["Unplaced"]


def test_approximate_pin_with_a_street_address(directory):
    aa_meeting(directory, "Area pin", location=LocationFactory(approximate=True))
    aa_meeting(directory, "City only", location=LocationFactory(approximate=True, address=""), conference_url=ZOOM)
    aa_meeting(directory, "Door")
    assert names(quality.meetings_approximate_in_person(meetings=Meeting.objects.all())) == ["Area pin"]


def test_without_a_valid_time_zone(directory):
    meeting = aa_meeting(directory, "No zone")
    Meeting.objects.filter(pk=meeting.pk).update(timezone="")
    bad = aa_meeting(directory, "Bad zone")
    Meeting.objects.filter(pk=bad.pk).update(timezone="Pacific/Atlantis")
    aa_meeting(directory, "Zoned")
    assert names(quality.meetings_without_timezone(meetings=Meeting.objects.all())) == ["Bad zone", "No zone"]


def test_unrecognised_conference_host(directory):
    aa_meeting(directory, "Odd host", conference_url="https://meet.example.org/room")
    aa_meeting(directory, "Zoom", conference_url=ZOOM)
    aa_meeting(directory, "No link")
    assert names(quality.meetings_with_unrecognised_conference_host(meetings=Meeting.objects.all())) == ["Odd host"]


def test_online_without_link_or_phone(directory):
    aa_meeting(directory, "Nowhere", location=None, no_location=True)
    aa_meeting(directory, "City only", location=LocationFactory(approximate=True, address=""))
    aa_meeting(directory, "Online", location=None, no_location=True, conference_phone="+1 555 0100 123")
    aa_meeting(directory, "Door")
    assert names(quality.meetings_online_without_link_or_phone(meetings=Meeting.objects.all())) == [
        "City only", "Nowhere"]


def test_temporarily_closed_long_and_not_updated(directory):
    now = timezone.now()
    closed_long = aa_meeting(directory, "Closed long", types=("TC",))
    aa_meeting(directory, "Closed lately", types=("TC",))
    old_open = aa_meeting(directory, "Old open")
    Meeting.objects.filter(pk__in=[closed_long.pk, old_open.pk]).update(updated=now - dt.timedelta(days=120))
    assert names(quality.meetings_temporarily_closed_long(meetings=Meeting.objects.all(), now=now)) == [
        "Closed long"]
    assert names(quality.meetings_not_updated(meetings=Meeting.objects.all(), now=now)) == []
    Meeting.objects.filter(pk=old_open.pk).update(updated=now - dt.timedelta(days=400))
    assert names(quality.meetings_not_updated(meetings=Meeting.objects.all(), now=now)) == ["Old open"]


def test_possible_duplicates(directory):
    hall = LocationFactory()
    aa_meeting(directory, "Twin A", location=hall)
    aa_meeting(directory, "Twin B", location=hall)
    aa_meeting(directory, "Other time", location=hall, time="07:00")
    primary = aa_meeting(directory, "Primary")
    aa_meeting(directory, "Marked copy", duplicate_of=primary)
    assert names(quality.meetings_possible_duplicates(meetings=Meeting.objects.all())) == [
        "Marked copy", "Twin A", "Twin B"]


def test_meetings_a_curator_told_apart_are_not_possible_duplicates(directory):
    """Two meetings at one hall and hour that a curator said are two
    ("not a copy": services.meetings_not_copies) are not listed again as
    possible duplicates of each other; a third at that hour still is."""
    from meetings.services import meetings_not_copies

    hall = LocationFactory()
    men = aa_meeting(directory, "Men's Step Study", location=hall)
    women = aa_meeting(directory, "Women's Step Study", location=hall, duplicate_of=men)
    assert names(quality.meetings_possible_duplicates(meetings=Meeting.objects.all())) == [
        "Men's Step Study", "Women's Step Study"]
    meetings_not_copies(meetings=Meeting.objects.filter(pk=women.pk))
    assert names(quality.meetings_possible_duplicates(meetings=Meeting.objects.all())) == []
    aa_meeting(directory, "Step Study", location=hall)
    assert names(quality.meetings_possible_duplicates(meetings=Meeting.objects.all())) == [
        "Men's Step Study", "Step Study", "Women's Step Study"]


def test_geocoding_failures(directory):
    aa_meeting(directory, "Lost", location=LocationFactory(latitude=None, longitude=None,
                                                            geocode_status=Location.GeocodeStatus.FAILED))
    aa_meeting(directory, "Found")
    assert names(quality.meetings_geocoding_failed(meetings=Meeting.objects.all())) == ["Lost"]


def test_removed_meetings_are_never_listed(directory):
    meeting = aa_meeting(directory, "Gone", conference_url="https://meet.example.org/room")
    Meeting.objects.filter(pk=meeting.pk).update(removed=True)
    assert not quality.meetings_with_unrecognised_conference_host(meetings=Meeting.objects.all()).exists()


def test_feed_sources_failed_or_held(directory):
    aa = Fellowship.objects.get(slug="aa")
    for slug, status in (("failed", "failed"), ("held", "held"), ("fine", "succeeded")):
        FeedSource.objects.create(slug=slug, name=slug, fellowship=aa, service_body=directory.aa_office,
                                  last_status=status)
    found = quality.feed_sources_needing_attention(sources=FeedSource.objects.all())
    assert sorted(s.slug for s in found) == ["failed", "held"]


def test_review_page_counts_and_links_to_the_filtered_list(client, directory):
    aa_meeting(directory, "Odd host", conference_url="https://meet.example.org/room")
    aa_meeting(directory, "Fine")
    na_meeting(directory, "NA odd host", conference_url="https://meet.example.org/na")
    client.force_login(directory.aa_curator)
    page = client.get(reverse("admin:meetings_meeting_quality_body", args=[directory.aa_office.pk]))
    assert page.status_code == 200
    row = next(r for r in page.context["rows"] if r["label"] == "Conference link on an unrecognised host")
    assert row["count"] == 1
    listing = client.get(row["url"])
    assert [m.name for m in listing.context["cl"].result_list] == ["Odd host"]
    # Another body's review is not there for this curator.
    assert client.get(reverse("admin:meetings_meeting_quality_body", args=[directory.na_area.pk])).status_code == 404
    index = client.get(reverse("admin:meetings_meeting_quality")).content.decode()
    assert "OC Central Office" in index and "South County District" in index and "OC NA Area" not in index


def test_a_curator_finds_the_review_from_the_admin_index_and_the_meetings_list(aa_client, db):
    """Where a curator starts (the admin's home, the meetings' list), a link
    to the review, in their language; not for staff who may not see meetings,
    whom the review refuses too."""
    review = reverse("admin:meetings_meeting_quality")
    link = f'<a href="{review}">{{}}</a>'
    for start in (reverse("admin:index"), reverse("admin:meetings_meeting_changelist")):
        assert link.format("Data-quality review") in aa_client.get(start).content.decode()
        spanish = aa_client.get(start, HTTP_ACCEPT_LANGUAGE="es").content.decode()
        assert link.format("Revisión de la calidad de los datos") in spanish
    staff = get_user_model().objects.create_user("desk", "desk@example.org", "not-a-real-password", is_staff=True)
    aa_client.force_login(staff)
    assert review not in aa_client.get(reverse("admin:index")).content.decode()
    assert aa_client.get(review).status_code == 403
