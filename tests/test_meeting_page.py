"""A meeting's page (issue 10): map when the place is real, directions, join
labelled by provider, tap-to-dial, time in both zones, open/closed explained,
types in words, calendar, share, correction form, source and last update."""

import datetime as dt

import pytest
from django.contrib.staticfiles import finders

from tests.factories import LocationFactory, ServiceBodyFactory, make_meeting

# Wednesday 2 December 2026, 09:00 in Los Angeles.
WEDNESDAY_9AM_LA = dt.datetime(2026, 12, 2, 17, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def meetings(vocabularies, frozen_now, settings):
    frozen_now(WEDNESDAY_9AM_LA)
    body = ServiceBodyFactory(name="OC Office", website="https://oc.example.org", phone="+1 555 0100",
                              email="office@example.org")
    hall = make_meeting(name="Hall meeting", day=3, time="19:00", end_time=dt.time(20, 0),
                        timezone="America/Los_Angeles", types=("C", "W", "BE"), service_body=body,
                        url="https://oc.example.org/meetings/hall")
    online = make_meeting(name="Zoom only", day=3, time="13:00", timezone="America/New_York",
                          location=LocationFactory(approximate=True, city="Santa Ana"),
                          conference_url="https://zoom.us/j/5550100", conference_phone="+1 555 0100 123,,5550100#")
    return {"hall": hall, "online": online}


@pytest.mark.django_db
class TestMeetingPage:
    @pytest.mark.parametrize("referer, back", [
        ("http://testserver/?near=Irvine&fellowship=aa", "/?near=Irvine&amp;fellowship=aa#results-heading"),
        ("http://testserver/meetings/another/", "/"),  # not a search
        ("https://elsewhere.example/?near=Irvine", "/"),  # another site's page of the same path
        ("", "/")])
    def test_find_another_meeting_is_the_search_it_came_from(self, meetings, client, referer, back):
        html = client.get(f"/meetings/{meetings['hall'].slug}/", HTTP_REFERER=referer).content.decode()
        assert f'<p class="back"><a href="{back}"' in html

    def test_a_real_place_gets_a_map_directions_and_its_address(self, meetings, client):
        html = client.get(f"/meetings/{meetings['hall'].slug}/").content.decode()
        assert 'id="map"' in html and 'data-lat="33.684600"' in html
        assert "google.com/maps/dir/?api=1&amp;destination=33.6846,-117.8265" in html
        assert "openstreetmap.org/?mlat=33.6846" in html  # the map's fallback link without JavaScript
        assert "Main St, Irvine, CA 92618" in html

    def test_an_online_meeting_has_no_map_and_a_join_button_by_provider(self, meetings, client):
        html = client.get(f"/meetings/{meetings['online'].slug}/").content.decode()
        assert 'id="map"' not in html and "maps/dir" not in html
        assert '<a class="button primary" href="https://zoom.us/j/5550100" rel="noopener">Join on Zoom</a>' in html
        assert 'href="tel:+15550100123,,5550100%23">Call <span class="tel">+1 555 0100 123</span></a>' in html
        assert "Then enter 555 0100 #" in html

    @pytest.mark.parametrize("language, call, then", [("en", "Call", "Then enter"), ("es", "Llamar al", "Luego marca")])
    def test_a_dial_in_button_says_the_number_and_dials_into_the_meeting(self, meetings, client, language, call,
                                                                        then):
        # The pauses, the meeting id and the # stay in the tel: link; the button and the
        # Phone line read the number as listed, the keys after it in groups a person can read.
        meeting = make_meeting(name="Dial in", day=3, time="13:00", location=LocationFactory(approximate=True),
                               conference_phone="+1-669-555-0131,,89416378139#,,,,*123456#")
        html = client.get(f"/meetings/{meeting.slug}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        number = '<span class="tel">+1-669-555-0131</span>'
        assert f'<a class="button" href="tel:+16695550131,,89416378139%23,,,,*123456%23">{call} {number}</a>' in html
        assert f'<dd><a href="tel:+16695550131,,89416378139%23,,,,*123456%23">{number}</a><br>' \
               f'{then} 894 1637 8139 #, *123 456 #</dd>' in html
        assert ".tel { white-space: nowrap; }" in open(finders.find("meetings/site.css")).read()

    def test_a_number_without_keys_or_with_an_extension_reads_as_listed(self, meetings, client):
        plain = make_meeting(name="Plain", day=3, time="13:00", location=LocationFactory(approximate=True),
                             conference_phone="+1 (949) 555-0199")
        html = client.get(f"/meetings/{plain.slug}/").content.decode()
        assert 'Call <span class="tel">+1 (949) 555-0199</span></a>' in html and "Then enter" not in html
        extension = make_meeting(name="Extension", day=3, time="13:00", location=LocationFactory(approximate=True),
                                 conference_phone="+1 (949) 555-0199 ext. 12,, PIN 4567#")
        html = client.get(f"/meetings/{extension.slug}/").content.decode()
        assert 'Call <span class="tel">+1 (949) 555-0199</span></a>' in html and "Then enter 12, 4567 #" in html

    def test_time_in_the_meetings_zone_and_the_viewers(self, meetings, client):
        html = client.get(f"/meetings/{meetings['online'].slug}/", {"tz": "America/Los_Angeles"}).content.decode()
        assert "Wednesday 1:00 PM EST" in html and "Your time: Wednesday 10:00 AM PST" in html
        assert 'data-start="2026-12-02T18:00:00Z"' in html  # rewritten in the browser's own zone by pages.js
        same_zone = client.get(f"/meetings/{meetings['hall'].slug}/", {"tz": "America/Los_Angeles"}).content.decode()
        assert "Wednesday 7:00 PM–8:00 PM PST" in same_zone and "Your time:" not in same_zone

    def test_an_end_equal_to_the_start_shows_the_default_hour(self, meetings, client):
        # schedule.wall_end: an end equal to the start says nothing, as in the feed and the calendar.
        late = make_meeting(name="Late", day=0, time="23:00", end_time=dt.time(23, 0),
                            timezone="America/Los_Angeles")
        assert "Sunday 11:00 PM–12:00 AM PST" in client.get(f"/meetings/{late.slug}/").content.decode()

    @pytest.mark.parametrize("phone, href", [
        ("+1 (949) 555-0199 x 123#", "tel:+19495550199,123%23"),
        ("+1 949 555 0199 ext. 45", "tel:+19495550199,45"),
        ("+19495550199,,8765#", "tel:+19495550199,,8765%23"),
        ("Text 949 555 0199", "tel:9495550199"),  # "ext" inside a word is no extension
    ])
    def test_a_phone_with_an_extension_dials_it_after_the_number(self, meetings, client, phone, href):
        meeting = make_meeting(name="Phone", day=3, time="13:00", location=LocationFactory(approximate=True),
                               conference_phone=phone)
        html = client.get(f"/meetings/{meeting.slug}/").content.decode()
        assert f'href="{href}"' in html

    def test_open_closed_explained_and_types_in_words(self, meetings, client):
        html = client.get(f"/meetings/{meetings['hall'].slug}/").content.decode()
        assert "<dt>Closed</dt><dd>Closed (AA): only for people who have a drinking problem" in html
        assert "<dt>Types</dt><dd>Newcomer, Women</dd>" in html

    def test_calendar_share_correction_source_and_update(self, meetings, client):
        slug = meetings["hall"].slug
        html = client.get(f"/meetings/{slug}/").content.decode()
        assert f'href="/api/v1/meetings/{slug}/calendar.ics" download>Add to calendar' in html
        spanish = client.get(f"/meetings/{slug}/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
        assert f'href="/api/v1/meetings/{slug}/calendar.ics?lang=es" download>' in spanish
        assert f'data-url="http://testserver/meetings/{slug}/"' in html and "mailto:?subject=Hall%20meeting" in html
        assert 'name="description"' in html and "Send correction" in html
        assert "https://oc.example.org/meetings/hall" in html and "<dt>Last update</dt><dd>" in html
        assert "OC Office" in html and 'href="tel:+1 555 0100"' in html and "office@example.org" in html
        assert client.get(f"/api/v1/meetings/{slug}/calendar.ics").status_code == 200

    def test_a_place_sent_in_parts_shows_its_street(self, meetings, client):
        # A feed that sends address, city, state and postal code but no formatted address.
        corner = LocationFactory(name="Corner Hall", address="1 Main St", city="Santa Ana", state="CA",
                                 postal_code="92701", formatted_address="")
        meeting = make_meeting(name="Corner", day=3, time="19:00", location=corner)
        html = client.get(f"/meetings/{meeting.slug}/").content.decode()
        assert "<dt>Where</dt><dd>Corner Hall<br>1 Main St, Santa Ana, CA 92701, US</dd>" in html

    @pytest.mark.parametrize("fields", [{"day": None, "time": None}, {"day": 3, "time": None},
                                        {"day": 3, "time": "19:00", "timezone": "Mars/Olympus_Mons"}])
    def test_no_calendar_is_offered_for_a_meeting_without_one(self, meetings, client, fields):
        # By appointment, no time, no known zone: the calendar file would be a 404 (calendars.is_calendarable).
        meeting = make_meeting(name="Unplaceable", **fields)
        if fields.get("timezone"):
            type(meeting).objects.filter(pk=meeting.pk).update(timezone=fields["timezone"])
        html = client.get(f"/meetings/{meeting.slug}/").content.decode()
        assert client.get(f"/api/v1/meetings/{meeting.slug}/calendar.ics").status_code == 404
        assert "calendar.ics" not in html and "Add to calendar" not in html

    def test_public_links_only(self, meetings, client):
        html = client.get(f"/meetings/{meetings['hall'].slug}/").content.decode()
        main = html.split("<main", 1)[1].split("</main>", 1)[0]
        assert "/admin/" not in main and "/api/docs" not in main

    def test_long_links_wrap_on_a_phone(self, meetings, client):
        # A long URL is what made the old page 457 px wide at 390 (the browser test measures it).
        html = client.get(f"/meetings/{meetings['online'].slug}/").content.decode()
        assert 'class="wrap">https://zoom.us/j/5550100</a>' in html
