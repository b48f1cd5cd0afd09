"""Curator scopes: a curator sees and changes only their bodies' meetings,
locations, feed sources and requests, by every admin path; a superuser all."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from meetings.curation import curated_body_ids, locations_curated_by, meetings_curated_by, region_is_theirs
from meetings.models import ChangeRequest, FeedSource, Location, Meeting
from tests.factories import (
    LocationFactory, aa_meeting, change_url, make_meeting, meeting_form_data, message_texts, na_meeting,
)

MEETINGS = reverse("admin:meetings_meeting_changelist")
AUTOCOMPLETE = reverse("admin:autocomplete")


def listed(response) -> list[str]:
    return sorted(m.name for m in response.context["cl"].result_list)


def test_scope_includes_child_bodies_and_superuser_sees_all(directory):
    assert curated_body_ids(user=directory.aa_curator) == {directory.aa_office.pk, directory.aa_district.pk}
    assert curated_body_ids(user=directory.na_curator) == {directory.na_area.pk}
    boss = get_user_model().objects.create_superuser("boss", "boss@example.org", "not-a-real-password")
    assert curated_body_ids(user=boss) is None
    office = aa_meeting(directory, "Office Meeting")
    child = make_meeting(name="District Meeting", service_body=directory.aa_district)
    other = na_meeting(directory)
    assert set(meetings_curated_by(user=directory.aa_curator)) == {office, child}
    assert set(meetings_curated_by(user=boss)) == {office, child, other}


def test_changelist_lists_only_the_curators_meetings(aa_client, directory):
    aa_meeting(directory, "Office Meeting")
    make_meeting(name="District Meeting", service_body=directory.aa_district)
    na_meeting(directory, "NA Meeting")
    response = aa_client.get(MEETINGS)
    assert response.status_code == 200
    assert listed(response) == ["District Meeting", "Office Meeting"]


def test_another_bodys_meeting_cannot_be_read_or_changed_by_url(aa_client, directory):
    theirs = na_meeting(directory, "NA Meeting")
    response = aa_client.get(change_url(theirs))
    # The admin answers "does not exist" and goes back to the index.
    assert response.status_code == 302
    assert "doesn’t exist" in " ".join(message_texts(aa_client.get(response.url)))
    response = aa_client.post(change_url(theirs), meeting_form_data(theirs, name="Hijacked"))
    assert response.status_code == 302
    theirs.refresh_from_db()
    assert theirs.name == "NA Meeting"
    history_url = reverse("admin:meetings_meeting_history", args=[theirs.pk])
    assert aa_client.get(history_url).status_code in (403, 404)
    record = theirs.history.first()
    assert aa_client.get(reverse("admin:meetings_meeting_simple_history", args=[theirs.pk, record.history_id])
                         ).status_code in (403, 404)
    revert = reverse("admin:meetings_meeting_revert", args=[theirs.pk, record.history_id])
    assert aa_client.post(revert).status_code in (302, 403, 404)
    assert Meeting.objects.get(pk=theirs.pk).name == "NA Meeting"


def test_bulk_action_on_another_bodys_meeting_changes_nothing(aa_client, directory):
    mine = aa_meeting(directory, "Office Meeting")
    theirs = na_meeting(directory, "NA Meeting")
    response = aa_client.post(MEETINGS, {"action": "unpublish", "_selected_action": [theirs.pk]}, follow=True)
    assert Meeting.objects.get(pk=theirs.pk).published is True
    assert not any("unpublished" in text and text.startswith("1") for text in message_texts(response))
    aa_client.post(MEETINGS, {"action": "unpublish", "_selected_action": [theirs.pk, mine.pk]}, follow=True)
    assert Meeting.objects.get(pk=theirs.pk).published is True
    assert Meeting.objects.get(pk=mine.pk).published is False


def test_a_meeting_cannot_be_moved_to_another_body_or_location(aa_client, directory):
    mine = aa_meeting(directory, "Office Meeting")
    theirs = na_meeting(directory, "NA Meeting")
    response = aa_client.post(change_url(mine), meeting_form_data(mine, service_body=directory.na_area.pk))
    assert response.status_code == 200 and "service_body" in response.context["adminform"].form.errors
    response = aa_client.post(change_url(mine), meeting_form_data(mine, location=theirs.location_id))
    assert response.status_code == 200 and "location" in response.context["adminform"].form.errors
    mine.refresh_from_db()
    assert (mine.service_body_id, mine.location_id) != (directory.na_area.pk, theirs.location_id)


def test_the_meeting_form_offers_only_the_fellowships_of_the_curators_bodies(aa_client, admin_client, directory):
    """Found by the admin review of 1 December: the AA office's curator was
    offered Al-Anon and NA in a meeting's fellowship, which the save then
    refused (the body's fellowship). A superuser is offered all three."""
    def offered(client) -> list[str]:
        form = client.get(reverse("admin:meetings_meeting_add")).context["adminform"].form
        return sorted(f.slug for f in form.fields["fellowship"].queryset)

    assert offered(aa_client) == ["aa"]
    assert offered(admin_client) == ["aa", "al-anon", "na"]


def test_autocomplete_offers_only_the_curators_rows(aa_client, directory):
    mine = aa_meeting(directory, "Serenity Office", location=LocationFactory(name="Serenity Hall"))
    theirs = na_meeting(directory, "Serenity NA", location=LocationFactory(name="Serenity Church"))

    def answer(model_name: str, field_name: str, term: str) -> list[str]:
        response = aa_client.get(AUTOCOMPLETE, {"app_label": "meetings", "model_name": model_name,
                                                "field_name": field_name, "term": term})
        assert response.status_code == 200
        return sorted(item["text"] for item in response.json()["results"])

    assert [text.split(",")[0] for text in answer("meeting", "location", "Serenity")] == ["Serenity Hall"]
    assert answer("changerequest", "meeting", "Serenity") == [mine.name]
    assert answer("meeting", "service_body", "") == ["OC Central Office", "South County District"]
    assert theirs.name not in answer("changerequest", "meeting", "NA")


def test_locations_reachable_are_their_meetings_and_their_own(aa_client, directory):
    mine = aa_meeting(directory, "Office Meeting")
    theirs = na_meeting(directory, "NA Meeting")
    response = aa_client.post(reverse("admin:meetings_location_add"), {
        "name": "New Hall", "address": "", "city": "Irvine", "state": "CA", "postal_code": "92618",
        "country": "US", "formatted_address": "", "latitude": "33.68", "longitude": "-117.82", "timezone": "",
        "region": "", "notes": "",
    })
    assert response.status_code == 302
    new_hall = Location.objects.get(name="New Hall")
    assert set(locations_curated_by(user=directory.aa_curator)) == {mine.location, new_hall}
    assert aa_client.get(change_url(theirs.location)).status_code == 302
    assert aa_client.get(change_url(new_hall)).status_code == 200


def test_no_one_signed_in_and_no_inactive_account_curates_a_location(directory):
    """Signed out, or with an account switched off, a person curates nothing
    (`curated_body_ids`), locations included: an anonymous user's id is None,
    and "made by them" must not read as "made by no one" (every imported hall)."""
    from meetings.models import Region

    county = Region.objects.create(slug="orange-county", name="Orange County")
    empty = Region.objects.create(slug="lake-forest", name="Lake Forest", parent=county)
    imported_hall = LocationFactory(name="Imported Hall", region=county)  # made by an import: no creator
    made_by_the_curator = LocationFactory(name="Office Hall", created_by=directory.aa_curator)
    aa_meeting(directory, "Office Meeting", location=made_by_the_curator)
    directory.aa_curator.is_active = False
    for nobody in (AnonymousUser(), None, directory.aa_curator):
        assert list(locations_curated_by(user=nobody)) == [], nobody
        assert not region_is_theirs(user=nobody, region=county), nobody
        assert not region_is_theirs(user=nobody, region=empty), nobody
    assert imported_hall.created_by_id is None
    directory.aa_curator.is_active = True
    assert list(locations_curated_by(user=directory.aa_curator)) == [made_by_the_curator]
    assert region_is_theirs(user=directory.aa_curator, region=empty)


def test_a_region_another_bodys_hall_is_in_is_not_the_curators_to_change(aa_client, directory):
    """Regions are names every body shares: a curator changes one only when no
    other body's location is in it or in a region below it (renaming "Orange
    County" would rename it under everyone's meetings). Adding stays open."""
    from meetings.models import Region

    county = Region.objects.create(slug="orange-county", name="Orange County")
    irvine = Region.objects.create(slug="irvine", name="Irvine", parent=county)
    tustin = Region.objects.create(slug="tustin", name="Tustin", parent=county)
    aa_meeting(directory, "Office Meeting", location=LocationFactory(region=irvine))
    na_meeting(directory, "NA Meeting", location=LocationFactory(region=tustin))

    def renamed(region, name):
        return aa_client.post(change_url(region), {"slug": region.slug, "name": name,
                                                   "parent": region.parent_id or ""})

    assert aa_client.get(change_url(irvine)).status_code == 200
    assert renamed(irvine, "Irvine (city)").status_code == 302
    for shared in (tustin, county):  # NA's hall is in Tustin, and so below the county
        assert aa_client.get(change_url(shared)).status_code in (200, 403)
        assert renamed(shared, "Hijacked").status_code == 403
    assert sorted(Region.objects.values_list("name", flat=True)) == ["Irvine (city)", "Orange County", "Tustin"]
    assert aa_client.post(reverse("admin:meetings_region_add"), {"slug": "lake-forest", "name": "Lake Forest",
                                                                  "parent": county.pk}).status_code == 302
    boss = get_user_model().objects.create_superuser("boss", "boss@example.org", "not-a-real-password")
    aa_client.force_login(boss)
    assert renamed(county, "Orange County, CA").status_code == 302


def test_feed_sources_and_change_requests_are_scoped(aa_client, directory):
    from meetings.models import Fellowship

    FeedSource.objects.create(slug="oc-aa", name="OC AA feed", fellowship=Fellowship.objects.get(slug="aa"),
                              service_body=directory.aa_office, url="https://example.org/aa.json")
    theirs = FeedSource.objects.create(slug="oc-na", name="OC NA feed", fellowship=Fellowship.objects.get(slug="na"),
                                       service_body=directory.na_area, url="https://example.org/na.json")
    response = aa_client.get(reverse("admin:meetings_feedsource_changelist"))
    assert [s.name for s in response.context["cl"].result_list] == ["OC AA feed"]
    assert aa_client.get(change_url(theirs)).status_code == 302
    na = na_meeting(directory)
    request = ChangeRequest.objects.create(meeting=na, service_body=directory.na_area, description="wrong time")
    response = aa_client.get(reverse("admin:meetings_changerequest_changelist"))
    assert list(response.context["cl"].result_list) == []
    assert aa_client.post(change_url(request), {"decision_note": "", "_approve": "1"}).status_code == 302
    request.refresh_from_db()
    assert request.status == "pending"


def test_a_curator_cannot_delete(aa_client, directory):
    mine = aa_meeting(directory)
    assert aa_client.post(reverse("admin:meetings_meeting_delete", args=[mine.pk]), {"post": "yes"}).status_code == 403
    assert Meeting.objects.filter(pk=mine.pk).exists()


def test_make_curator_command_creates_a_staff_curator(directory):
    call_command("make_curator", "new-volunteer", "--email", "new-volunteer@example.org",
                 "--service-body", directory.na_area.slug)
    user = get_user_model().objects.get(username="new-volunteer")
    assert user.is_staff and not user.is_superuser
    assert user.groups.filter(name="Curators").exists()
    assert user.has_perm("meetings.change_meeting") and not user.has_perm("meetings.delete_meeting")
    assert curated_body_ids(user=user) == {directory.na_area.pk}


def test_a_request_follows_its_meeting_when_a_superuser_moves_it(aa_client, directory):
    """The request was sent while the meeting was the AA office's; a superuser
    has since moved the meeting to NA's area: the AA curator no longer sees the
    request, and cannot approve it into the other body's meeting."""
    from meetings.change_requests import change_request_submit

    meeting = aa_meeting(directory, "Late Night")
    request = change_request_submit(meeting=meeting, description="starts later", proposed={"time": "23:45"})
    new_meeting = change_request_submit(service_body=directory.aa_office, description="a new group",
                                        proposed={"name": "New Group"})
    requests = reverse("admin:meetings_changerequest_changelist")
    assert {r.pk for r in aa_client.get(requests).context["cl"].result_list} == {request.pk, new_meeting.pk}
    Meeting.objects.filter(pk=meeting.pk).update(service_body=directory.na_area)  # the superuser's move

    assert [r.pk for r in aa_client.get(requests).context["cl"].result_list] == [new_meeting.pk]
    assert aa_client.post(change_url(request), {"decision_note": "", "_approve": "1"}).status_code == 302
    request.refresh_from_db()
    meeting.refresh_from_db()
    assert request.status == "pending" and meeting.time.strftime("%H:%M") == "19:00"
    # The NA curator, whose meeting it is now, finds it in their queue.
    aa_client.force_login(directory.na_curator)
    assert [r.pk for r in aa_client.get(requests).context["cl"].result_list] == [request.pk]


def test_a_feed_source_of_another_fellowship_than_its_body_is_refused(aa_client, admin_client, directory):
    """Its meetings would be the AA body's but NA's, and the curator could not
    save one of them (the meeting form refuses the mismatch): refused on the
    field. The AA curator is not offered NA at all (only their bodies'
    fellowships); a superuser, offered every one, is told why."""
    from meetings.models import Fellowship

    data = {"slug": "oc-na", "name": "OC NA feed", "format": "meeting-guide", "url": "https://example.org/na.json",
            "fellowship": Fellowship.objects.get(slug="na").pk, "service_body": directory.aa_office.pk,
            "bmlt_service_body_ids": "", "refresh_minutes": 60, "enabled": "on", "shrink_guard_share": "",
            "runs-TOTAL_FORMS": 0, "runs-INITIAL_FORMS": 0}
    response = aa_client.post(reverse("admin:meetings_feedsource_add"), data)
    assert response.status_code == 200 and set(response.context["adminform"].form.errors) == {"fellowship"}
    response = admin_client.post(reverse("admin:meetings_feedsource_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["service_body"] == [
        "OC Central Office keeps Alcoholics Anonymous meetings, not Narcotics Anonymous."]
    assert not FeedSource.objects.exists()
    data["fellowship"] = Fellowship.objects.get(slug="aa").pk
    assert aa_client.post(reverse("admin:meetings_feedsource_add"), data).status_code == 302


def test_the_lists_filter_by_the_curators_fellowships_alone(aa_client, directory):
    """The Meetings and Service bodies lists offered the AA office's curator
    NA and Al-Anon to filter by, whose listings they can never see."""
    aa_meeting(directory, "Office Meeting")
    na_meeting(directory, "NA Meeting")
    na = directory.na_area.fellowship
    boss = get_user_model().objects.create_superuser("boss", "boss@example.org", "not-a-real-password")
    for changelist in (MEETINGS, reverse("admin:fellowships_servicebody_changelist")):
        # One fellowship is no choice: the filter is not shown.
        assert f"fellowship__id__exact={na.pk}" not in aa_client.get(changelist).content.decode(), changelist
        aa_client.force_login(boss)
        page = aa_client.get(changelist).content.decode()
        aa_client.force_login(directory.aa_curator)
        for fellowship in (directory.aa_office.fellowship, na):
            assert f"fellowship__id__exact={fellowship.pk}" in page, (changelist, fellowship)


def test_the_admin_shows_times_in_the_curators_zone(aa_client, admin_client, directory, settings):
    """A curator reads when an import ran in their own service bodies' zone,
    named at the top of every admin page, not in the server's UTC: the AA
    office's run at 23:30 UTC was at 3:30 p.m. in Orange County. Someone
    curating bodies of several zones, or every body, reads the site's."""
    from meetings.models import ImportRun

    settings.MEETINGS_PAGE_TIME_ZONE = "America/New_York"
    source = FeedSource.objects.create(slug="oc-aa", name="OC AA feed", fellowship=directory.aa_office.fellowship,
                                       service_body=directory.aa_office)
    started = dt.datetime(2026, 12, 1, 23, 30, tzinfo=dt.timezone.utc)
    ImportRun.objects.create(source=source, started=started, finished=started + dt.timedelta(minutes=1),
                             status=ImportRun.Status.SUCCEEDED)
    runs = reverse("admin:meetings_importrun_changelist")

    page = aa_client.get(runs).content.decode()
    assert "3:30 p.m." in page and "11:30 p.m." not in page
    assert "Times in America/Los_Angeles" in page
    page = admin_client.get(runs).content.decode()  # a superuser: every body
    assert "6:30 p.m." in page and "Times in America/New_York" in page
    directory.aa_district.timezone = "America/Denver"
    directory.aa_district.save()
    page = aa_client.get(runs).content.decode()  # the office and its district, in two zones
    assert "6:30 p.m." in page and "Times in America/New_York" in page
    with translation.override("es"):
        assert "Horas en America/New_York" in aa_client.get(runs, HTTP_ACCEPT_LANGUAGE="es").content.decode()
