"""The search page for people (issue 10): the API's search rendered as a
list that opens on now, with every filter kept in the URL."""

import datetime as dt
import re

import pytest
from django.test import override_settings

from fellowships.services import vocabularies_sync
from meetings import clock
from meetings.models import Meeting
from tests.factories import LocationFactory, make_meeting

# Wednesday 2 December 2026, 09:00 in Los Angeles.
WEDNESDAY_9AM_LA = dt.datetime(2026, 12, 2, 17, 0, tzinfo=dt.timezone.utc)


def results_of(html: str) -> str:
    return html.split('id="results-heading" tabindex="-1"', 1)[1]


def names_in_order(html: str) -> list[str]:
    return re.findall(r'<a class="name" href="[^"]+">([^<]+)</a>', html)


@pytest.fixture(scope="module")
def week_once(shared_rows):
    """`week`'s meetings, made once for the module (conftest's `shared_rows`)
    at the instant its tests stop the clock: 31 tests read them, and making
    them cost each about 80 ms of CPU."""
    with shared_rows():
        with clock.held_at(WEDNESDAY_9AM_LA):
            vocabularies_sync()
            made = week_make()
        yield made


@pytest.fixture
def week(week_once, read_again, frozen_now):
    """A few meetings around a frozen Wednesday morning in Los Angeles."""
    frozen_now(WEDNESDAY_9AM_LA)
    return read_again(week_once)


def week_make() -> dict:
    online = LocationFactory(approximate=True, latitude=33.75, longitude=-117.87, city="Santa Ana")
    return {
        "under_way": make_meeting(name="Under way", day=3, time="08:30", end_time=dt.time(9, 30),
                                  timezone="America/Los_Angeles"),
        "soon": make_meeting(name="Soon online", day=3, time="09:25", timezone="America/Los_Angeles",
                             location=online, conference_url="https://zoom.us/j/5"),
        "later": make_meeting(name="Later today", day=3, time="19:00", timezone="America/Los_Angeles",
                              types=("O", "W")),
        "tomorrow": make_meeting(name="Tomorrow noon", day=4, time="12:00", timezone="America/Los_Angeles"),
        "monday": make_meeting(name="Monday night", day=1, time="21:00", timezone="America/Los_Angeles",
                               types=("C",)),
        "new_york": make_meeting(name="Eastern online", day=3, time="13:00", timezone="America/New_York",
                                 location=online, conference_url="https://meet.google.com/abc-defg-hij"),
        "closed_building": make_meeting(name="Closed building", day=3, time="10:00", timezone="America/Los_Angeles",
                                        types=("TC",)),
    }


@pytest.mark.django_db
class TestOpensOnNow:
    def test_no_input_lists_in_progress_then_soon_then_later_today_then_other_days(self, week, client):
        response = client.get("/")
        html = response.content.decode()
        assert response.status_code == 200
        names = names_in_order(html)
        assert names == ["Under way", "Soon online", "Eastern online", "Later today", "Tomorrow noon",
                         "Monday night"]
        for heading in ("In progress", "Starting soon", "Later today", "Tomorrow", "Monday"):
            assert f"<h3>{heading}</h3>" in html
        assert "Starts in 25 min" in html

    def test_across_zones_the_order_is_the_next_start_not_the_wall_clock(self, week, client):
        # 13:00 in New York is 10:00 in Los Angeles: before the 19:00 Pacific meeting.
        names = names_in_order(client.get("/", {"day": 3}).content.decode())
        assert names.index("Eastern online") < names.index("Later today")
        assert "10:00 AM PST" in client.get("/").content.decode()
        assert "1:00 PM EST where it meets" in client.get("/").content.decode()

    def test_the_viewers_zone_from_tz(self, week, client):
        html = client.get("/", {"tz": "America/New_York"}).content.decode()
        assert "Wednesday 10:00 PM EST" in html  # Later today at 19:00 Pacific
        assert "7:00 PM PST where it meets" in html

    def test_temporarily_closed_meetings_hidden_unless_asked_for(self, week, client):
        assert "Closed building" not in results_of(client.get("/").content.decode())
        html = results_of(client.get("/", {"attendance": "inactive"}).content.decode())
        assert names_in_order(html) == ["Closed building"]


@pytest.mark.django_db
class TestSearchWithoutAPlace:
    def test_the_default_radius_is_shown_and_only_applied_with_a_place(self, week, client):
        # What the form sends when Search is pressed with nothing typed.
        response = client.get("/", {"near": "", "radius": "10", "fellowship": "aa", "day": "", "q": ""})
        assert response.status_code == 200
        html = response.content.decode()
        assert '<option value="10" selected>10</option>' in html and '<option value="mi" selected>miles' in html
        assert "Later today" in names_in_order(html)

    @pytest.mark.parametrize("asked", [{"attendance": "online"}, {"fellowship": "aa"}, {"day": "4"}])
    def test_online_fellowship_or_day_alone(self, week, client, asked):
        response = client.get("/", {**asked, "radius": "10"})
        assert response.status_code == 200 and names_in_order(response.content.decode())


@pytest.mark.django_db
class TestFilters:
    def test_filters_combine_and_stay_in_the_form(self, week, client):
        html = client.get("/", {"fellowship": "aa", "open": "open", "starts_on": "today", "type": "W"}).content.decode()
        assert names_in_order(html) == ["Later today"]
        assert '<option value="aa" selected>' in html and '<option value="open" selected>' in html
        assert 'value="W" checked' in html and '<option value="today" selected>' in html

    @pytest.mark.parametrize("language, legend, soon, now", [
        ("en", "Only meetings", "starting within 60 minutes", "in progress now"),
        ("es", "Solo reuniones", "que empiezan dentro de 60 minutos", "en curso ahora")])
    def test_a_links_minutes_and_in_progress_stay_in_the_form_to_untick(self, week, client, language, legend,
                                                                       soon, now):
        # The form has no field of its own for them: without these boxes the next Search dropped them.
        html = client.get("/", {"starting_within": "60", "in_progress": "TRUE", "attendance": "online"},
                          HTTP_ACCEPT_LANGUAGE=language).content.decode()
        form = html.split('id="search"', 1)[1].split("</form>", 1)[0]
        assert f"<legend>{legend}</legend>" in form
        assert f'<input type="checkbox" name="starting_within" value="60" checked> {soon}</label>' in form
        assert f'<input type="checkbox" name="in_progress" value="true" checked> {now}</label>' in form
        plain = client.get("/", {"attendance": "online"}).content.decode()
        assert 'name="starting_within"' not in plain and 'name="in_progress"' not in plain

    @pytest.mark.parametrize("language, words", [
        ("en", ["on Tuesday", "on Thursday", "starting at 6:30 PM or later", "starting before 9:00 PM",
                "listed by Orange County Central Office"]),
        ("es", ["el martes", "el jueves", "que empiezan a las 18:30 o más tarde", "que empiezan antes de las 21:00",
                "publicadas por Orange County Central Office"])])
    def test_a_links_weekdays_hours_and_service_body_stay_in_the_form_to_untick(self, week, client, language,
                                                                              words):
        """The API's `day`, `time_after`, `time_before` and `service_body`
        (the README's own example link asks day=2) have no field on the page:
        a search changed there dropped them, as it dropped `starting_within`."""
        from fellowships.models import ServiceBody

        ServiceBody.objects.filter(pk=week["later"].service_body_id).update(name="Orange County Central Office")
        body = ServiceBody.objects.get(pk=week["later"].service_body_id)
        html = client.get("/", {"day": "4,2", "time_after": "18:30", "time_before": "21:00",
                                "service_body": body.slug.upper()}, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        form = html.split('id="search"', 1)[1].split("</form>", 1)[0]
        boxes = re.findall(r'<input type="checkbox" name="(\w+)" value="([^"]+)" checked> ([^<]+)</label>', form)
        assert boxes == [("day", "2", words[0]), ("day", "4", words[1]), ("time_after", "18:30", words[2]),
                         ("time_before", "21:00", words[3]), ("service_body", body.slug, words[4])]

    @pytest.mark.parametrize("language, miles, kilometres", [("en", "miles", "kilometers"),
                                                             ("es", "millas", "kilómetros")])
    def test_a_links_units_stay_chosen_in_the_form(self, week, client, language, miles, kilometres):
        """A link's units=km had no field on the page: the distances read in
        km, and the next Search asked miles (10 km became 10 mi). The unit is
        a choice of its own beside the distance, starting at the link's."""
        def units_offered(asked: dict) -> list[tuple[str, str, str]]:
            html = client.get("/", asked, HTTP_ACCEPT_LANGUAGE=language).content.decode()
            form = html.split('id="search"', 1)[1].split("</form>", 1)[0]
            units = re.search(r'<select id="units" name="units"[^>]*>(.*?)</select>', form, flags=re.S).group(1)
            return re.findall(r'<option value="(\w+)"( selected)?>([^<]+)</option>', units)

        assert units_offered({"near": "92660", "units": "km"}) == [("mi", "", miles), ("km", " selected", kilometres)]
        assert units_offered({"near": "92660"}) == [("mi", " selected", miles), ("km", "", kilometres)]
        # The radius's choices are numbers: the unit beside them says what they count.
        html = client.get("/", {"near": "92660", "units": "km"}).content.decode()
        assert '<option value="10" selected>10</option>' in html
        # Online meetings for this search (no place) keep the unit for the next search with one.
        link = re.search(r'id="online-elsewhere">.*?href="(\?[^"]+)"', html, flags=re.S).group(1)
        assert "units=km" in link and "near=" not in link

    @pytest.mark.parametrize("asked", [{"starting_within": "soon"}, {"in_progress": "false"}])
    def test_a_value_the_search_refuses_or_reads_as_nothing_is_not_kept(self, week, client, asked):
        html = client.get("/", asked).content.decode()
        assert 'name="starting_within"' not in html and 'name="in_progress"' not in html

    def test_slugs_in_capitals_stay_chosen_in_the_form(self, week, client):
        # The API reads fellowship=AA as aa; a shared link in capitals must show
        # the same filters chosen, or the next Search silently drops them.
        html = client.get("/", {"fellowship": "AA", "starts_on": "TODAY", "language": "EN"}).content.decode()
        assert names_in_order(html) == ["Under way", "Soon online", "Eastern online", "Later today"]
        assert '<option value="aa" selected>' in html and '<option value="today" selected>' in html
        assert '<option value="en" selected>' in html
        assert "Closed (AA):" in html and "Closed (NA):" not in html

    def test_days_offer_today_and_tomorrow_in_the_viewers_zone(self, week, client):
        html = client.get("/").content.decode()
        assert '<select id="day" name="starts_on">' in html
        assert '<option value="today">Today (Wednesday)</option>' in html
        assert '<option value="tomorrow">Tomorrow (Thursday)</option>' in html
        # Then the coming weekdays, in order from the day after tomorrow.
        assert re.findall(r'<option value="(\d)">', html.split('name="starts_on"', 1)[1].split("</select>")[0]) \
            == ["5", "6", "0", "1", "2"]

    def test_types_in_words_and_open_closed_explained(self, week, client):
        html = client.get("/").content.decode()
        assert 'value="W"> Women' in html
        assert "Open: anyone may attend" in html
        assert "Closed (AA): only for people who have a drinking problem" in html
        assert "Closed (Al-Anon): only for families and friends" in html

    def test_a_type_two_fellowships_write_differently_is_one_box_finding_both(self, week, client):
        """Found by the review of 1 December: "Discussion" was offered twice
        (AA's D, NA's DISC), and ticking both found nothing (all types are
        required). One box, `D|DISC`, finds either; a link naming one of its
        codes shows the box ticked."""
        make_meeting(name="AA discussion", day=3, time="20:00", timezone="America/Los_Angeles", types=("D",))
        make_meeting(name="NA discussion", fellowship="na", day=3, time="20:00", timezone="America/Los_Angeles",
                     types=("DISC",))
        html = client.get("/").content.decode()
        assert re.findall(r'value="([^"]+)"> Discussion<', html) == ["D|DISC"]
        found = client.get("/", {"type": "D|DISC", "starts_on": "today"}).content.decode()
        assert sorted(names_in_order(found)) == ["AA discussion", "NA discussion"]
        assert 'value="D|DISC" checked> Discussion' in found
        assert 'value="D|DISC" checked> Discussion' in client.get("/", {"type": "DISC"}).content.decode()
        # With NA chosen, NA's code alone.
        assert re.findall(r'value="([^"]+)"> Discussion<', client.get("/", {"fellowship": "na"}).content.decode()) \
            == ["DISC"]

    def test_types_the_vocabularies_bridge_are_one_box_unless_a_code_means_two_things(self, week, client):
        """NA's Wheelchair (WCHR) is AA's Wheelchair Access (X) by the bridge
        the feeds use (fellowships/vocabularies.py): one box, either code. Al-
        Anon's Beginners (B) bridges to AA's BE, but B is AA's Big Book too, so
        its box would find Big Book meetings: it stays a box of its own."""
        for name, fellowship, code in (("AA wheelchair", "aa", "X"), ("NA wheelchair", "na", "WCHR"),
                                       ("AA big book", "aa", "B"), ("Al-Anon beginners", "al-anon", "B"),
                                       ("AA beginners", "aa", "BE")):
            make_meeting(name=name, fellowship=fellowship, day=3, time="20:00", timezone="America/Los_Angeles",
                         types=(code,))
        html = client.get("/").content.decode()
        boxes = dict((label, value) for value, label in re.findall(r'name="type" value="([^"]+)"> ([^<]+)<', html))
        assert boxes["Wheelchair Access"] == "WCHR|X" and "Wheelchair" not in boxes
        assert boxes["Big Book / Beginners"] == "B" and boxes["Newcomer"] == "BE"
        found = client.get("/", {"type": "WCHR|X", "starts_on": "today"}).content.decode()
        assert sorted(names_in_order(found)) == ["AA wheelchair", "NA wheelchair"]

    def test_open_and_closed_are_asked_by_their_own_choice_not_as_types(self, week, client):
        """"Open" and "Closed" are the Open/closed choice, not type boxes beside
        it as well ("Open / Open (observers welcome)", NA's OPEN, Al-Anon's C):
        two ways to ask one thing, which could be asked at odds."""
        make_meeting(name="NA open", fellowship="na", day=3, time="20:00", timezone="America/Los_Angeles",
                     types=("OPEN",))
        html = client.get("/").content.decode()
        boxes = re.findall(r'name="type" value="[^"]+"> ([^<]+)<', html)
        assert "Women" in boxes and not [box for box in boxes if "Open" in box or "Closed" in box]
        assert '<select id="open"' in html
        found = client.get("/", {"open": "open", "starts_on": "today"}).content.decode()
        assert {"Later today", "NA open"} <= set(names_in_order(found))

    def test_the_types_and_languages_offered_are_read_once_per_directory_version(self, week, client):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        def type_reads() -> int:
            with CaptureQueriesContext(connection) as queries:
                html = client.get("/").content.decode()
            assert 'value="W"> Women' in html
            return sum('FROM "fellowships_meetingtype"' in q["sql"] and "EXISTS" in q["sql"]
                       for q in queries.captured_queries)

        assert type_reads() == 2  # formats and features, then languages
        assert type_reads() == 0
        # A write shows at once: a Spanish-speaking meeting offers Spanish.

        def languages(html: str) -> list[str]:
            return re.findall(r'<option value="(\w+)"', html.split('<select id="language"', 1)[1].split("</select>")[0])

        assert "es" not in languages(client.get("/").content.decode())
        make_meeting(name="Reunion", day=3, time="20:00", timezone="America/Los_Angeles", types=("S",))
        assert "es" in languages(client.get("/").content.decode())

    def test_the_fellowships_and_regions_offered_are_read_once_per_directory_version(self, week, client):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from tests.factories import RegionFactory

        def offered() -> tuple[list[str], int]:
            with CaptureQueriesContext(connection) as queries:
                html = client.get("/").content.decode()
            regions = html.split('<select id="region"', 1)[1].split("</select>", 1)[0]
            reads = sum('FROM "meetings_region"' in q["sql"] or 'FROM "fellowships_fellowship"' in q["sql"]
                        for q in queries.captured_queries)
            return re.findall(r'<option value="([\w-]+)"', regions), reads

        client.get("/")
        assert offered()[1] == 0
        RegionFactory(name="Irvine", slug="irvine")
        assert offered()[0] == ["irvine"]

    def test_language_region_and_keyword_filters_are_offered(self, week, client):
        html = client.get("/").content.decode()
        assert "Evening <small>5:00 PM–9:00 PM</small>" in html and "Night <small>9:00 PM–4:00 AM</small>" in html
        for field in ('name="language"', 'name="region"', 'name="q"', 'name="time_of_day"', 'name="attendance"'):
            assert field in html

    def test_time_of_day_several_allowed(self, week, client):
        html = client.get("/", {"time_of_day": ["evening", "night"]}).content.decode()
        assert names_in_order(html) == ["Later today", "Monday night"]
        assert 'value="evening" checked' in html and 'value="night" checked' in html

    def test_a_bare_city_name_says_which_place_was_taken(self, week, client):
        response = client.get("/", {"near": "Irvine"})
        html = response.content.decode()
        assert response.status_code == 200 and "Place taken: Irvine, CA" in html
        # Near a place: places to go, nearest first; online-only meetings are not "0.0 mi" away.
        assert "Soon online" not in names_in_order(html) and "Later today" in names_in_order(html)

    def test_near_a_place_the_page_says_where_online_only_meetings_are(self, week, client):
        # Asked for online meetings near a place: the online-only ones are not near
        # anything, and the page says so with the same search without the place.
        html = client.get("/", {"near": "Irvine", "attendance": "online", "fellowship": "aa"}).content.decode()
        assert "Soon online" not in names_in_order(html)
        note = re.search(r'<p class="note" id="online-elsewhere">(.*?)</p>', html, flags=re.S).group(1)
        assert "Online-only meetings have no place" in note
        link = re.search(r'href="(\?[^"]+)"', note).group(1).replace("&amp;", "&")
        assert "near=" not in link and "attendance=online" in link and "fellowship=aa" in link
        assert link.endswith("#results-heading")  # opens at its results without JavaScript
        assert "Soon online" in names_in_order(client.get("/" + link).content.decode())
        # Without a place, nothing to say.
        assert 'id="online-elsewhere"' not in client.get("/", {"attendance": "online"}).content.decode()

    def test_a_place_spelt_like_a_city_with_meetings_offers_that_city(self, week, client):
        """Found by the review of 1 December: "Irvin" or "Santa Anna" was a dead end, a red line and
        nothing to press; the city the person meant is one press away, with the rest of the search."""
        response = client.get("/", {"near": "Irvin", "fellowship": "aa"})
        html = response.content.decode()
        assert response.status_code == 400 and "Did you mean Irvine, CA?" in html
        link = re.search(r'<a class="button" id="suggested-near" href="(\?[^"]+)">Search near Irvine, CA</a>',
                         html).group(1).replace("&amp;", "&")
        followed = client.get("/" + link).content.decode()
        assert "Place taken: Irvine, CA" in followed and "Later today" in names_in_order(followed)
        assert "fellowship=aa" in link and link.endswith("#results-heading")
        spanish = client.get("/", {"near": "santa anna"}, HTTP_ACCEPT_LANGUAGE="es").content.decode()
        assert "¿Quisiste decir Santa Ana, CA?" in spanish and ">Buscar cerca de Santa Ana, CA</a>" in spanish
        # A state typed after the city with no comma is read as a state, as "Irvien, CA" is.
        html = client.get("/", {"near": "Irvien California"}).content.decode()
        assert "Did you mean Irvine, CA?" in html and ">Search near Irvine, CA</a>" in html
        # Spelt like no city of the directory: nothing offered.
        html = client.get("/", {"near": "Springfield"}).content.decode()
        assert "No place is known by" in html and "Did you mean" not in html and "suggested-near" not in html

    def test_a_search_not_made_is_not_said_to_have_found_nothing(self, week, client):
        """Found by the review of 1 December: under "No place is known by 'Springfield'" the results said
        "No meetings match" and "Try fewer filters, another day, or a larger distance.", advice for a search
        that found nothing, to a person whose search was never made (a screen reader heard both)."""
        for asked, line in (({"near": "Springfield"}, "near-error"), ({"time_after": "25"}, "time_after-error"),
                            ({"near": "Springfield", "time_after": "25"}, "near-error")):
            response = client.get("/", asked)
            html = results_of(response.content.decode())
            assert response.status_code == 400 and "No meetings match" not in html and "Try fewer" not in html
            # Without JavaScript a search lands at this heading: it leads to the (first) message.
            assert html.startswith(f'><a href="#{line}">Nothing searched yet: see the message above.</a></h2>')
            assert f'<p class="error" id="{line}" role="alert">' in response.content.decode()
        html = results_of(client.get("/", {"near": "Springfield"}, HTTP_ACCEPT_LANGUAGE="es").content.decode())
        assert html.startswith('><a href="#near-error">Todavía no se ha buscado nada: mira el mensaje de arriba.</a></h2>')
        # A search made that finds nothing still says so, with its advice.
        html = results_of(client.get("/", {"q": "nothing-like-it"}).content.decode())
        assert html.startswith(">No meetings match</h2>") and "Try fewer filters" in html

    def test_errors_name_the_field_as_the_page_labels_it(self, vocabularies, client):
        """Found by the review of 1 December: a bad value was shown under the API's name for it
        ("time_after: Use HH:MM", "radius may be at most 310 mi"), which the page shows nowhere. Each
        message names the field as the page labels it (a link's own, as its box under "Only meetings"
        says), and the field points at it; every parameter a link can send is a 400, never a 500."""
        cases = [
            ({"near": "nowhere", "day": 9}, [("near-error", "No place is known by 'nowhere': try a ZIP code or "
                                                           "'City, ST'."),
                                              ("day-error", "Weekday: Use a whole number from 0 to 6.")]),
            ({"near": "Irvine", "lat": "33", "lng": "-117"}, [("near-error", "Type a place or use Near me, not both.")]),
            ({"lat": "33.6"}, [("lng-error", "Near me: your position came without its latitude or longitude: press "
                                             "Near me again, or type a place.")]),
            ({"lat": "abc", "lng": "1"}, [("lat-error", "Near me: A valid number is required.")]),
            ({"near": "92660", "radius": "5000"}, [("radius-error", "Choose at most 310 mi.")]),
            ({"near": "92660", "units": "yd"}, [("units-error", "Unit of distance: Use one of: mi, km.")]),
            ({"fellowship": "zz"}, [("fellowship-error", "Fellowship: Unknown fellowship: zz.")]),
            ({"starts_on": "someday"}, [("starts_on-error", "Day: Use one of: today, tomorrow, 0, 1, 2, 3, 4, 5, 6.")]),
            ({"time_after": "25"}, [("time_after-error", "Starting at or after: Use HH:MM, e.g. 18:30.")]),
            ({"time_before": "7pm"}, [("time_before-error", "Starting before: Use HH:MM, e.g. 18:30.")]),
            ({"time_after": "19:00", "time_before": "19:00"},
             [("time_before-error", "Starting before: use a time other than Starting at or after.")]),
            ({"time_of_day": "dawn"}, [("time_of_day-error", "Time of day: Use one of: morning, midday, evening, "
                                                             "night.")]),
            ({"open": "maybe"}, [("open-error", "Open or closed: Use one of: open, closed.")]),
            ({"attendance": "teleport"}, [("attendance-error", "Attendance: Use one of: in_person, online, hybrid, "
                                                               "inactive.")]),
            ({"type": "ZZZ"}, [("type-error", "Type: Unknown type code: ZZZ.")]),
            ({"language": "xx"}, [("language-error", "Language: Unknown language: xx (use ISO 639-1 codes such as "
                                                     "en, es).")]),
            ({"region": "nowhere"}, [("region-error", "Region: Unknown region: nowhere.")]),
            ({"service_body": "nobody"}, [("service_body-error", "Listed by: Unknown service body: nobody.")]),
            ({"q": "y" * 201}, [("q-error", "Keyword: Use at most 200 characters.")]),
            ({"starting_within": "0"}, [("starting_within-error", "Starting within (minutes): Use a whole number "
                                                                  "from 1 to 10080.")]),
            ({"in_progress": "maybe"}, [("in_progress-error", "In progress: Use true or false.")]),
            ({"q": "a" * 5000}, [("query-error", "Search: The query is longer than 2000 characters.")]),
        ]
        for asked, expected in cases:
            response = client.get("/", asked)
            html = response.content.decode().replace("&#x27;", "'")
            shown = re.findall(r'<p class="error" id="([^"]+)" role="alert">(.*?)</p>', html, flags=re.S)
            assert (response.status_code, shown) == (400, expected), asked
        # The field says it is wrong, and which message says why.
        html = client.get("/", {"attendance": "teleport", "open": "maybe", "near": "x" * 201}).content.decode()
        assert '<select id="attendance" name="attendance" aria-invalid="true" aria-describedby="attendance-error">' in html
        assert '<select id="open" name="open" aria-describedby="open-means open-error" aria-invalid="true">' in html
        assert re.search(r'<input id="near" name="near" [^>]* aria-invalid="true" aria-describedby="near-error">', html)
        assert "aria-invalid" not in client.get("/", {"near": "92660"}).content.decode()

    def test_every_parameter_a_link_can_send_has_the_pages_name_for_it(self):
        """A parameter added to the search with no label on the page would make
        its bad value's message a server error (views.FIELD_LABELS[key])."""
        from meetings.filters import PARAMETERS
        from meetings.views import FIELD_LABELS, WHERE_ERRORS

        assert {p.name for p in PARAMETERS} | {"query"} <= FIELD_LABELS.keys() | set(WHERE_ERRORS)


@pytest.mark.django_db
class TestRows:
    def test_a_row_says_when_how_and_what(self, week, client):
        html = client.get("/").content.decode()
        item = html.split("Soon online", 1)[1].split("</li>", 1)[0]
        assert "Online · Zoom" in item and "Wednesday 9:25 AM PST" in item and "AA" in item
        item = html.split(">Later today</a>", 1)[1].split("</li>", 1)[0]
        assert "In person" in item and ">Open</abbr>" in item and "Women" in item
        assert '<span class="types">Women</span>' in item  # open is said once, not again as a type

    def test_a_page_reads_the_directory_version_once(self, week, client):
        """Its tables kept per version (types, zones, the clock's turns) are
        read at the one version the page reads first."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        client.get("/")
        with CaptureQueriesContext(connection) as queries:
            html = client.get("/").content.decode()
        assert names_in_order(html)[:2] == ["Under way", "Soon online"]
        assert sum('FROM "meetings_directoryversion"' in q["sql"] for q in queries.captured_queries) == 1

    def test_the_rows_types_are_named_from_a_read_once_per_directory_version(self, week, client):
        """The types' names in the page's language are read once per version
        (not a query a page), and a type renamed shows at once."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from fellowships.models import MeetingType

        def types_of_later_today() -> tuple[str, int]:
            with CaptureQueriesContext(connection) as queries:
                html = client.get("/").content.decode()
            item = html.split(">Later today</a>", 1)[1].split("</li>", 1)[0]
            reads = sum('FROM "fellowships_meetingtype"' in q["sql"] and "EXISTS" not in q["sql"]
                        for q in queries.captured_queries)
            return item.split('<span class="types">', 1)[1].split("</span>", 1)[0], reads

        assert types_of_later_today()[0] == "Women"
        assert types_of_later_today() == ("Women", 0)
        women = MeetingType.objects.get(fellowship__slug="aa", code="W")
        women.name = "Women only"
        women.save()
        assert types_of_later_today()[0] == "Women only"

    def test_near_a_place_nearest_first_with_distance(self, vocabularies, client):
        make_meeting(name="Far Tuesday", day=2, types=("O",),
                     location=LocationFactory(latitude=33.75, longitude=-117.85))
        near = make_meeting(name="Near Tuesday", day=2, types=("O", "SP"),
                            location=LocationFactory(latitude=33.63, longitude=-117.87))
        make_meeting(name="Wednesday", day=3, types=("O",), location=LocationFactory(latitude=33.63, longitude=-117.87))
        response = client.get("/", {"near": "92660", "radius": 20, "day": 2, "fellowship": "aa", "order": "distance"})
        html = response.content.decode()
        assert response.status_code == 200
        assert names_in_order(html) == ["Near Tuesday", "Far Tuesday"]
        assert '<option value="distance" selected>Nearest first</option>' in html
        assert f'href="/meetings/{near.slug}/"' in html
        assert "Speaker" in html and re.search(r"\d+\.\d mi", results_of(html))
        assert "<title>Meetings: AA · near Newport Beach, CA 92660 · Tuesday · meetingfinder</title>" in html
        assert "Place taken: Newport Beach, CA 92660" in html

    @pytest.mark.parametrize("units", ["mi", "km"])
    def test_a_place_without_a_distance_searches_the_distance_the_form_shows(self, vocabularies, client, units):
        # A shared link names a place and no distance: the form shows 10 (mi
        # or km), and that is what is searched, not the API's widest radius.
        make_meeting(name="Near", day=2, location=LocationFactory(latitude=33.63, longitude=-117.87))
        make_meeting(name="Eight miles", day=2, location=LocationFactory(latitude=33.74, longitude=-117.87))
        make_meeting(name="Twenty miles", day=2, location=LocationFactory(latitude=33.92, longitude=-117.87))
        html = client.get("/", {"near": "92660", "order": "distance", "units": units}).content.decode()
        assert '<option value="10" selected>10</option>' in html and f'<option value="{units}" selected>' in html
        assert names_in_order(html) == (["Near", "Eight miles"] if units == "mi" else ["Near"])
        wider = client.get("/", {"near": "92660", "order": "distance", "units": units, "radius": 50})
        assert names_in_order(wider.content.decode()) == ["Near", "Eight miles", "Twenty miles"]

    def test_a_links_distance_stays_chosen_in_the_form(self, week, client):
        """A link's radius that is none of the form's choices (radius=3, 2.5,
        100 km) showed the first choice, 1, selected: the next Search, with
        JavaScript or without, asked 1 mile. It is a choice of its own, in
        order; one the search refuses is not kept."""
        def radius_offered(asked: dict) -> list[tuple[str, str]]:
            html = client.get("/", asked).content.decode()
            radius = re.search(r'<select id="radius" name="radius"[^>]*>(.*?)</select>', html, flags=re.S).group(1)
            return re.findall(r'<option value="([\d.]+)"( selected)?>\1</option>', radius)

        def chosen(asked: dict) -> tuple[str, list[str]]:
            offered = radius_offered(asked)
            return [value for value, selected in offered if selected], [value for value, _ in offered]

        assert chosen({"near": "92660", "radius": "3"}) == (["3"], ["1", "2", "3", "5", "10", "25", "50"])
        assert chosen({"near": "92660", "radius": "2.5"}) == (["2.5"], ["1", "2", "2.5", "5", "10", "25", "50"])
        assert chosen({"near": "92660", "radius": "100", "units": "km"})[0] == ["100"]
        assert chosen({"radius": "3"})[0] == ["3"]  # shown without a place too, for the next search with one
        for same in ("10", "10.0", ""):
            assert chosen({"near": "92660", "radius": same}) == (["10"], ["1", "2", "5", "10", "25", "50"])
        for refused in ("far", "0", "1000"):
            assert chosen({"near": "92660", "radius": refused}) == (["10"], ["1", "2", "5", "10", "25", "50"])
        # Online meetings for this search (no place) keep the distance for the next search with one.
        html = client.get("/", {"near": "Irvine", "radius": "3"}).content.decode()
        assert "radius=3" in re.search(r'id="online-elsewhere">.*?href="(\?[^"]+)"', html, flags=re.S).group(1)

    def test_near_a_place_soonest_first_by_default(self, week, client):
        # Wednesday 09:00 in Los Angeles: what is under way, then what starts
        # soonest within the radius, each with its distance; then nearest first.
        far = make_meeting(name="Far and soon", day=3, time="09:40", timezone="America/Los_Angeles",
                           location=LocationFactory(latitude=33.80, longitude=-117.87))
        html = client.get("/", {"near": "92660", "radius": 25}).content.decode()
        # Online-only and temporarily closed meetings are not places to go now.
        assert names_in_order(html) == ["Under way", far.name, "Later today", "Tomorrow noon", "Monday night"]
        for heading in ("In progress", "Starting soon", "Later today", "Tomorrow", "Monday"):
            assert f"<h3>{heading}</h3>" in html
        assert "Starts in 40 min" in html and len(re.findall(r"\d+\.\d mi", results_of(html))) == 5
        assert '<option value="soonest" selected>Soonest first</option>' in html
        nearest = names_in_order(client.get("/", {"near": "92660", "radius": 25, "order": "distance"}).content.decode())
        assert nearest[-1] == far.name and set(nearest) == set(names_in_order(html))
        # Without a place, no order to choose: the page opens on now.
        assert 'id="order"' not in client.get("/", {"order": "distance"}).content.decode()

    def test_pins_only_for_real_places(self, week, client):
        html = client.get("/").content.decode()
        soon = html.split('data-name="Soon online"', 1)[0].rsplit("<li", 1)[1]
        later = html.split('data-name="Later today"', 1)[0].rsplit("<li", 1)[1]
        assert "data-lat" not in soon and "data-lat" in later

    def test_next_pages_beyond_fifty(self, vocabularies, client, frozen_now):
        frozen_now(WEDNESDAY_9AM_LA)
        location = LocationFactory()
        for n in range(55):
            make_meeting(name=f"Meeting {n:02d}", day=4, time=f"{8 + n // 6:02d}:{(n % 6) * 10:02d}",
                         timezone="America/Los_Angeles", location=location)
        first = client.get("/", {"fellowship": "aa"}).content.decode()
        assert len(names_in_order(first)) == 50
        next_url = re.search(r'href="(\?[^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
        assert "offset=50" in next_url and "fellowship=aa" in next_url
        # Without JavaScript the next page opens at its results, as a search does, not above the form.
        assert next_url.endswith("#results-heading")
        previous_url = re.search(r'<a class="button" href="(\?[^"]+)">Previous 50', client.get("/" + next_url)
                                 .content.decode()).group(1)
        assert previous_url.endswith("#results-heading") and "offset" not in previous_url
        second = client.get("/" + next_url).content.decode()
        assert names_in_order(second) == [f"Meeting {n:02d}" for n in range(50, 55)]
        # The heading counts what it can: more than a page, then which ones these are.
        heading = re.compile(r'<h2 id="results-heading" tabindex="-1">([^<]+)</h2>')
        assert heading.search(first).group(1) == "More than 50 meetings"
        assert heading.search(second).group(1) == "Meetings 51–55"
        # The deepest page offers no next one: past it the page opens on the first again.
        with override_settings(MEETINGS_MAX_OFFSET=49):
            assert 'rel="next"' not in client.get("/", {"fellowship": "aa"}).content.decode()
        with override_settings(MEETINGS_MAX_OFFSET=50):
            assert 'rel="next"' in client.get("/", {"fellowship": "aa"}).content.decode()


# Monday 30 November 2026, 23:30 in New York (Tuesday 04:30 UTC).
MONDAY_2330_NEW_YORK = dt.datetime(2026, 12, 1, 4, 30, tzinfo=dt.timezone.utc)
NEW_YORK = "America/New_York"


@pytest.fixture
def near_midnight(vocabularies, frozen_now):
    """Meetings in four zones around a New York viewer's midnight."""
    frozen_now(MONDAY_2330_NEW_YORK)
    online = LocationFactory(approximate=True, latitude=33.75, longitude=-117.87, city="Santa Ana")
    for name, day, time, zone_name in [
        ("New York Monday 2000", 1, "20:00", NEW_YORK),
        ("New York Monday 2345", 1, "23:45", NEW_YORK),
        ("Tokyo Tuesday 1350", 2, "13:50", "Asia/Tokyo"),  # 23:50 in New York
        ("Los Angeles Monday 2100", 1, "21:00", "America/Los_Angeles"),  # midnight in New York
        ("Los Angeles Tuesday 2100", 2, "21:00", "America/Los_Angeles"),  # Wednesday in New York
        ("Honolulu Monday 2000", 1, "20:00", "Pacific/Honolulu"),  # 01:00 on Tuesday in New York
    ]:
        make_meeting(name=name, day=day, time=time, timezone=zone_name, location=online,
                     conference_url="https://zoom.us/j/1")
    make_meeting(name="New York under way", day=1, time="23:00", end_time=dt.time(23, 59), timezone=NEW_YORK)


def day_choice(html: str, label: str) -> str:
    """The value of the form's day option a person picks by its label."""
    day_select = html.split('id="day"', 1)[1].split("</select>", 1)[0]
    return re.search(rf'<option value="([^"]*)"[^>]*>{label}', day_select).group(1)


@pytest.mark.django_db
class TestTodayInTheViewersZone:
    """Today and Tomorrow are the viewer's dates, whatever each meeting's own weekday."""

    def pick(self, client, label: str) -> list[str]:
        form = client.get("/", {"tz": NEW_YORK}).content.decode()
        name = re.search(r'<select id="day" name="([^"]+)"', form).group(1)
        return names_in_order(client.get("/", {"tz": NEW_YORK, name: day_choice(form, label)}).content.decode())

    def test_today_is_what_starts_before_the_viewers_midnight(self, near_midnight, client):
        assert self.pick(client, "Today") == ["New York under way", "New York Monday 2345", "Tokyo Tuesday 1350"]

    def test_tomorrow_starts_at_the_viewers_midnight(self, near_midnight, client):
        assert self.pick(client, "Tomorrow") == ["Los Angeles Monday 2100", "Honolulu Monday 2000"]

    def test_the_coming_wednesday(self, near_midnight, client):
        assert self.pick(client, "Wednesday") == ["Los Angeles Tuesday 2100"]

    def test_opening_on_now_groups_by_the_viewers_dates(self, near_midnight, client):
        html = client.get("/", {"tz": NEW_YORK}).content.decode()
        groups = {heading: names_in_order(part) for heading, part in
                  re.findall(r"<h3>([^<]+)</h3>(.*?)</ol>", html, flags=re.S)}
        assert groups["In progress"] == ["New York under way"]
        assert groups["Starting soon"] == ["New York Monday 2345", "Tokyo Tuesday 1350", "Los Angeles Monday 2100"]
        # Honolulu's Monday evening is the New York viewer's tomorrow, not "later today".
        assert groups["Tomorrow"] == ["Honolulu Monday 2000"] and "Later today" not in groups
        assert groups["Wednesday"] == ["Los Angeles Tuesday 2100"]

    def test_the_title_says_today(self, near_midnight, client):
        html = client.get("/", {"tz": NEW_YORK, "starts_on": "today"}).content.decode()
        assert "<title>Meetings: today · meetingfinder</title>" in html


@pytest.mark.django_db
class TestPageShell:
    def test_public_links_only_developers_and_service_bodies_in_the_footer(self, vocabularies, client):
        html = client.get("/").content.decode()
        main, footer = html.split("<footer", 1)
        assert "/api/" not in main.split("</head>", 1)[1] and "/admin/" not in main
        assert ">For developers</a>" in footer and ">For service bodies</a>" in footer

    def test_landmarks_skip_link_and_title(self, vocabularies, client):
        html = client.get("/").content.decode()
        assert '<main id="main"' in html and 'href="#main"' in html
        assert "<title>Meetings starting soon · meetingfinder</title>" in html

    def test_only_the_search_page_may_ask_for_the_position(self, week, client):
        page = client.get("/")["Permissions-Policy"]
        assert "geolocation=(self)" in page and "camera=()" in page and "microphone=()" in page
        meeting = client.get(f"/meetings/{week['later'].slug}/")["Permissions-Policy"]
        assert "geolocation=()" in meeting
        # Only geolocation differs: the rest is the site's policy.
        assert page.replace("geolocation=(self)", "geolocation=()") == meeting

    def test_map_tiles_are_allowed_images(self, vocabularies, client):
        policy = client.get("/")["Content-Security-Policy"]
        assert "img-src 'self' data: https://tile.openstreetmap.org" in policy
        assert "script-src 'self'" in policy  # Leaflet is a file of this site

    def test_favicon(self, client):
        response = client.get("/favicon.ico")
        assert response.status_code == 200 and response["Content-Type"] == "image/x-icon"
        assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"

    def test_stylesheet_is_phone_first_with_dark_mode_and_print(self, client):
        from django.contrib.staticfiles import finders
        css = open(finders.find("meetings/site.css")).read()
        assert "font: 1rem/1.5" in css and "min-height: 44px" in css
        assert "@media (prefers-color-scheme: dark)" in css and "@media print" in css
        assert "@media (min-width: 600px)" in css  # one column below it

    def test_no_map_library_from_elsewhere(self, vocabularies, client):
        html = client.get("/").content.decode()
        # What the page loads (not its text: a random CSRF token holds "cdn" about once in 500 runs).
        loaded = re.findall(r'(?:src|href)="([^"]*)"', html)
        assert loaded and not [url for url in loaded if "unpkg" in url or "cdn" in url.lower()]
        assert not [url for url in loaded if url.startswith(("http:", "https:", "//")) and url.endswith(".js")]
        assert client.get("/static/leaflet/leaflet.js").status_code == 200


@pytest.mark.django_db
def test_in_progress_is_not_listed_again_as_next_week(week, client):
    html = client.get("/").content.decode()
    assert names_in_order(html).count("Under way") == 1
    assert Meeting.objects.filter(name="Under way").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "delete", "trace", "options", "patch"])
def test_the_search_page_answers_reads_alone(client, vocabularies, method):
    """TRACE / (and PUT, DELETE...) got the whole search page, 77 KB at 100,000 meetings."""
    response = client.generic(method.upper(), "/")
    assert response.status_code == 405 and "GET" in response["Allow"]
    assert client.generic("TRACE", "/favicon.ico").status_code == 405
    meeting = make_meeting(name="Morning Light")
    assert client.generic("TRACE", f"/meetings/{meeting.slug}/").status_code == 405
    assert client.head("/").status_code == 200


@pytest.mark.django_db
def test_a_meetings_page_says_when_it_is_under_way_or_starts_soon(week, client):
    """Opened from a link at the time it meets, a meeting's page says what the
    search's list says of it: under way ("In progress": one can still join),
    or starting within the hour and a half; nothing on another day."""
    def label(meeting, **headers) -> str:
        html = client.get(f"/meetings/{meeting.slug}/", **headers).content.decode()
        found = re.findall(r'<span class="soon[^"]*">([^<]+)</span>', html)
        return found[0] if found else ""

    assert label(week["under_way"]) == "In progress"
    assert label(week["soon"]) == "Starts in 25 min"
    assert label(week["tomorrow"]) == label(week["later"]) == ""
    assert label(week["under_way"], HTTP_ACCEPT_LANGUAGE="es") == "En curso"
