"""End to end: the search page, a meeting's page (and a curator's form of it) in Debian's headless
Chromium against the running server with the Orange County sample data, at
a phone's and a desktop's size, in English and Spanish, with and without
JavaScript, with axe-core's accessibility check.

The clock is stopped on Tuesday 1 December 2026, 18:45 in Los Angeles, so
"now" has meetings under way and starting soon. The browser reaches nothing
but the live server: map tiles are refused, which is how the list is shown
to work when tiles fail. axe-core comes from the npm registry at test time
(never committed).

Screenshots: set MEETINGFINDER_SCREENSHOTS=docs/screenshots to write the
README's pictures (PNG) there."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import call_command
from django.db import connections
from playwright.sync_api import expect

from meetings import clock

CHROMIUM = "/usr/bin/chromium"
# No name but the live server's (localhost) resolves: map tiles and anything
# else from the internet fail, as offline. Refused in Chromium itself, not by
# a Playwright route, which would stop each request for this process to
# answer and turn the browser's cache off (the file's CPU: 82 s -> 72 s).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost"]
# Tuesday 1 December 2026, 18:45 in Los Angeles.
TUESDAY_EVENING = dt.datetime(2026, 12, 2, 2, 45, tzinfo=dt.timezone.utc)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
AXE_PATH = "/axe-e2e/axe.min.js"
IRVINE = {"latitude": 33.6846, "longitude": -117.8265}

# The live server's near searches read through the nearest-first connection too (meetingfinder/replicas.py).
# A test that only reads shares the module's sample (`site`); one that writes
# (a correction sent, a meeting edited) commits, and has a sample of its own.
READS = pytest.mark.django_db(databases="__all__")
WRITES = pytest.mark.django_db(transaction=True, databases="__all__")
pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def axe_script(tmp_path_factory) -> Path:
    if not Path(CHROMIUM).exists() or shutil.which("npm") is None:
        pytest.fail("these tests need Debian's chromium (apt-get install chromium) and npm")
    where = tmp_path_factory.mktemp("axe")
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(where), "axe-core@4"],
                   check=True, timeout=600)
    return where / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker) -> str:
    """The live server's address, over the sample loaded and committed once
    for the module's readers on a worker, the clock stopped, and flushed
    after the last of them (loaded and flushed for each, the sample cost a
    second of CPU per test). A reader runs in a transaction (`READS`) the
    server does not need: a thread with its own connection (SQLite's in
    memory shared), it reads what was committed. pytest-django runs the
    transactional tests (`WRITES`) after all others, so no writer's flush
    falls among the readers."""
    from pytest_django.live_server_helper import LiveServer

    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "now", lambda: TUESDAY_EVENING)
        call_command("load_sample_data", verbosity=0)
        server = LiveServer(os.environ.get("DJANGO_LIVE_SERVER_ADDRESS", "localhost"))
        try:
            yield server.url
        finally:
            server.stop()
            for alias in connections:
                if not connections[alias].settings_dict["TEST"].get("MIRROR"):  # a mirror reads its primary
                    call_command("flush", verbosity=0, interactive=False, database=alias)


@pytest.fixture
def fresh_site(live_server, frozen_now) -> str:
    """For a test that writes (`WRITES`): pytest-django's live server over
    the sample loaded for it alone, flushed after it."""
    frozen_now(TUESDAY_EVENING)
    call_command("load_sample_data", verbosity=0)
    return live_server.url


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the module's tests on a worker (0.8 s to start each
    time); every test opens its own context. While Playwright's sync API is
    open, its event loop runs in this thread, so Django would refuse the
    tests' own database work (fixtures, teardown's flush) as if called from
    async code: DJANGO_ALLOW_ASYNC_UNSAFE, Django's switch for exactly this,
    is on for as long as the browser is."""
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def open_context(browser, *, viewport: dict, locale: str = "en-US", javascript: bool = True,
                 geolocation: dict | None = None, zone: str = "America/Los_Angeles"):
    context = browser.new_context(
        viewport=viewport, locale=locale, timezone_id=zone, java_script_enabled=javascript,
        geolocation=geolocation, permissions=["geolocation"] if geolocation else [], accept_downloads=True,
        extra_http_headers={"Accept-Language": locale.split("-")[0]})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return context, page


def names(page) -> list[str]:
    return page.locator("#list a.name").all_inner_texts()


def query_of(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def wait_for_popup(page) -> None:
    """Until a map popup has faded in."""
    page.wait_for_function("() => { const p = document.querySelector('.leaflet-popup');"
                           " return p && getComputedStyle(p).opacity === '1'; }")


def shoot(page, name: str) -> None:
    target = os.environ.get("MEETINGFINDER_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(400)  # a map ends its pan to a popup just opened
        page.screenshot(path=str(Path(target) / f"{name}.png"))


@WRITES
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_search_flows(fresh_site, browser, viewport):
    size = "phone" if viewport is PHONE else "desktop"
    context, page = open_context(browser, viewport=viewport)
    try:
        # No input: meetings under way and starting soon, labelled.
        page.goto(fresh_site + "/")
        assert page.title() == "Meetings starting soon · meetingfinder"
        headings = page.locator("#list h3").all_inner_texts()
        assert headings[:2] == ["In progress", "Starting soon"], headings
        assert page.locator(".soon", has_text=re.compile(r"Starts in \d+ min")).count() > 0
        assert page.locator("#tz").input_value() == "America/Los_Angeles"
        assert no_sideways_scroll(page)
        shoot(page, f"home-{size}-en")

        # A bare city name.
        page.fill("#near", "Irvine")
        submit_search(page)
        assert query_of(page)["near"] == ["Irvine"]
        assert page.locator("#list .meeting").count() > 0, page.content()[:3000]
        assert "Irvine" in page.title()
        distances = [float(d) for d in re.findall(r"· (\d+\.\d) mi", page.locator("#list").inner_text())]
        assert distances and distances[0] <= 10

        # List and map: pins for meetings with a door; a pin shows its meeting.
        page.click("#view-switch [data-view=map]")
        page.wait_for_selector(".leaflet-marker-icon")
        assert page.locator("#list").is_hidden()
        pins = page.locator(".leaflet-marker-icon").count()
        assert pins > 0
        page.locator(".leaflet-marker-icon").last.click()
        popup = page.locator(".leaflet-popup-content a")
        popup.wait_for()
        assert popup.get_attribute("href").startswith("/meetings/")
        wait_for_popup(page)
        shoot(page, f"results-map-{size}-en")
        page.click("#view-switch [data-view=list]")
        assert page.locator("#list").is_visible() and page.locator("#map").is_hidden()
        shoot(page, f"results-list-{size}-en")

        # Filters: AA, open, Tuesday (today), evening.
        page.goto(fresh_site + "/")
        page.click("details.filters summary")
        page.select_option("#fellowship", "aa")
        page.select_option("#open", "open")
        page.select_option("#day", "today")
        page.check("input[name=time_of_day][value=evening]")
        submit_search(page)
        asked = query_of(page)
        assert asked["fellowship"] == ["aa"] and asked["open"] == ["open"] and asked["starts_on"] == ["today"]
        assert asked["time_of_day"] == ["evening"]
        rows = page.locator("#list .meeting").all_inner_texts()
        assert rows
        for row in rows:
            assert "AA ·" in row and "Open" in row and "Tuesday" in row, row
            hour = re.search(r"Tuesday (\d+):\d\d PM", row)
            assert hour and 5 <= int(hour.group(1)) <= 8, row
        # ... then Women instead of open, then Spanish instead of Women.
        assert page.locator("details.filters").get_attribute("open") is not None
        page.select_option("#open", "")
        page.check("input[name=type][value=W]")
        submit_search(page)
        assert names(page) == ["Women's Step Study"]
        page.uncheck("input[name=type][value=W]")
        page.select_option("#language", "es")
        submit_search(page)
        assert names(page) == ["Grupo Esperanza", "Grupo Nueva Vida"]
        assert page.locator("#language").input_value() == "es"

        # Back works: the previous search comes back from the URL.
        page.go_back()
        expect(page.locator("#list a.name")).to_have_text(["Women's Step Study"])

        # A meeting: calendar file, share link.
        page.goto(fresh_site + "/?q=Grupo+Esperanza")
        page.locator("#list a.name").first.click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Grupo Esperanza"
        # "Find another meeting" leads back to the search it came from, not to an empty form.
        page.click("p.back a")
        page.wait_for_url(lambda url: "q=Grupo+Esperanza" in url)
        expect(page.locator("#list a.name").first).to_have_text("Grupo Esperanza")
        page.locator("#list a.name").first.click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Grupo Esperanza"
        # ... and so it does after a correction sent from the meeting's page (a page of its own since).
        page.fill("textarea[name=description]", "The meeting moved to the library.")
        with page.expect_navigation():
            page.click("form.correction button[type=submit]")
        expect(page.locator("p.sent")).to_be_visible()
        page.click("p.back a")
        page.wait_for_url(lambda url: "q=Grupo+Esperanza" in url)
        expect(page.locator("#list a.name").first).to_have_text("Grupo Esperanza")
        page.locator("#list a.name").first.click()
        page.wait_for_load_state()
        assert no_sideways_scroll(page)
        with page.expect_download() as download:
            page.click("text=Add to calendar")
        ics = Path(download.value.path()).read_text()
        assert ics.startswith("BEGIN:VCALENDAR") and "RRULE:FREQ=WEEKLY;BYDAY=TU" in ics
        assert "TZID=America/Los_Angeles" in ics
        shared = page.locator("#share").get_attribute("data-url")
        assert shared == page.url.split("?")[0]
        page.goto(shared)
        assert page.locator("h1").inner_text() == "Grupo Esperanza"
        assert page.locator("#your-time").inner_text() == ""  # the browser's zone is the meeting's
        assert 'data-own-offset="-480"' in page.content()
        assert page.locator("#map .leaflet-marker-icon").count() == 1
        shoot(page, f"meeting-{size}-en")

        # Spanish, from the switch on the page.
        page.click("button[name=language][value=es]")
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "es"
        assert "Añadir al calendario" in page.content()
        assert "martes 19:00" in page.locator(".facts").inner_text()
        shoot(page, f"meeting-{size}-es")
        page.goto(fresh_site + "/")
        assert page.locator("h1").inner_text() == "Buscar una reunión"
        shoot(page, f"home-{size}-es")
        page.goto(fresh_site + "/?near=Irvine")
        shoot(page, f"results-list-{size}-es")
        page.click("#view-switch [data-view=map]")
        # On a phone's map pins a street apart overlap: the pin itself is told it was clicked.
        page.locator(".leaflet-marker-icon").last.dispatch_event("click")
        page.locator(".leaflet-popup-content a").first.wait_for()
        wait_for_popup(page)
        shoot(page, f"results-map-{size}-es")
        assert page.errors == []
    finally:
        context.close()


def submit_search(page, control: str = "button.primary") -> None:
    """Press Search (or another control that submits) and wait until the
    address bar names the new search: with JavaScript the page is updated in
    place, so there is no load to wait for."""
    before = page.url
    page.click(control)
    page.wait_for_url(lambda url: url != before)


MAP_PLACES_OF_THE_LIST = """() => [...new Set([...document.querySelectorAll('#list .meeting[data-lat]')]
    .map(m => m.dataset.lat + ',' + m.dataset.lng))].length"""


@READS
def test_searches_update_the_page_in_place(site, browser):
    """With JavaScript a search, the next page and Back replace the form and
    the results from the server's own page without reloading it (a mark left
    on the window stays), the URL follows, the map's pins follow, focus goes
    to the results' heading and a status line reads it out."""
    context, page = open_context(browser, viewport=PHONE, geolocation=IRVINE)
    loads = []
    page.on("load", lambda _: loads.append(page.url))
    try:
        page.goto(site + "/?near=Irvine")
        page.evaluate("window.stillHere = 'yes'")
        first_names = names(page)
        assert page.title() == "Meetings: near Irvine, CA · meetingfinder"
        page.click("#view-switch [data-view=map]")
        page.wait_for_selector(".leaflet-marker-icon")
        pins_before = page.locator(".leaflet-marker-icon").evaluate_all("pins => pins.map(p => p.title)")

        # A filter, on the map: NA only.
        page.click("details.filters summary")
        page.select_option("#fellowship", "na")
        submit_search(page)
        assert page.evaluate("window.stillHere") == "yes"
        assert query_of(page)["fellowship"] == ["na"] and query_of(page)["near"] == ["Irvine"]
        assert urlparse(page.url).fragment == "map"  # the view shown; the form's #results-heading is not pushed
        rows = page.locator("#list .meeting").all_text_contents()
        assert rows and all("NA ·" in row for row in rows)
        assert page.title() == "Meetings: NA · near Irvine, CA · meetingfinder"
        assert page.locator("#fellowship").input_value() == "na"
        assert page.locator("#list").is_hidden() and page.locator("#map").is_visible()
        places = page.evaluate(MAP_PLACES_OF_THE_LIST)
        expect(page.locator(".leaflet-marker-icon")).to_have_count(places)
        pins = page.locator(".leaflet-marker-icon").evaluate_all("pins => pins.map(p => p.title)")
        assert places > 0 and sorted(pins) != sorted(pins_before)
        for title in pins:
            for name in title.split(", "):
                assert name in page.locator("#list").text_content(), title
        heading = page.locator("#results-heading").inner_text()
        expect(page.locator("#search-status")).to_have_text(heading)
        assert page.evaluate("document.activeElement.id") == "results-heading"
        # The skip link's #main is not the list view.
        page.focus(".skip")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"#main$"))
        assert page.locator("#map").is_visible()
        page.go_back()
        page.wait_for_url(re.compile(r"#map$"))
        assert page.locator("#map").is_visible() and page.evaluate("window.stillHere") == "yes"
        # The language switch comes back to this search.
        assert "fellowship=na" in page.locator(".language input[name=next]").input_value()

        # Back: the previous results, the form as it was, still the same window.
        page.go_back()
        expect(page.locator("#list a.name")).to_have_text(first_names)
        assert page.locator("#fellowship").input_value() == ""
        assert page.title() == "Meetings: near Irvine, CA · meetingfinder"
        expect(page.locator(".leaflet-marker-icon")).to_have_count(len(pins_before))
        page.go_forward()
        expect(page.locator("#fellowship")).to_have_value("na")

        # Near me still works after a swap, in place too.
        page.click("#view-switch [data-view=list]")
        submit_search(page, "#near-me")
        assert query_of(page)["lat"] == ["33.68460"] and "near" not in query_of(page)
        assert page.title() == "Meetings: NA · near you · meetingfinder"

        # The next 50 and back to the first, in place.
        page.goto(site + "/?fellowship=aa")
        page.evaluate("window.stillHere = 'again'")
        assert page.locator(".pages a[rel=next]").count() == 1
        submit_search(page, ".pages a[rel=next]")
        assert query_of(page)["offset"] == ["50"] and urlparse(page.url).fragment == ""  # #results-heading unpushed
        expect(page.locator("#results-heading")).to_have_text(re.compile(r"^Meetings 51–\d+$"))
        submit_search(page, ".pages a:not([rel])")
        assert "offset" not in query_of(page)
        # A place nobody knows: the form's error line, in place.
        page.fill("#near", "Nowhereville Zzq")
        submit_search(page)
        expect(page.locator("#search .error")).to_have_count(1)
        assert page.evaluate("document.activeElement.id") == "near"
        assert page.evaluate("window.stillHere") == "again"
        assert len(loads) == 2, loads  # the two goto()s, nothing else
        assert page.errors == []
    finally:
        context.close()


@READS
def test_a_failed_fetch_falls_back_to_a_normal_search(site, browser):
    context, page = open_context(browser, viewport=PHONE)
    try:
        page.goto(site + "/")
        page.evaluate("window.stillHere = 'yes'")
        page.route("**/?*fellowship=aa*", lambda route: route.abort()
                   if route.request.resource_type == "fetch" else route.continue_())
        page.click("details.filters summary")
        page.select_option("#fellowship", "aa")
        with page.expect_navigation():
            page.click("button.primary")
        page.wait_for_load_state()
        assert query_of(page)["fellowship"] == ["aa"]
        assert page.evaluate("window.stillHere") is None
        lands_at_the_results(page)  # as without JavaScript
        rows = page.locator("#list .meeting").all_inner_texts()
        assert rows and all("AA ·" in row for row in rows)
    finally:
        context.close()


@READS
def test_near_me_with_a_granted_position(site, browser):
    context, page = open_context(browser, viewport=PHONE, geolocation=IRVINE)
    try:
        page.goto(site + "/")
        with page.expect_navigation():
            page.click("#near-me")
        asked = query_of(page)
        assert asked["lat"] == ["33.68460"] and asked["lng"] == ["-117.82650"] and "near" not in asked
        # Empty fields stay out of the URL, as with the Search button.
        assert "=&" not in page.url and not page.url.endswith("="), page.url
        assert page.title() == "Meetings: near you · meetingfinder"
        distances = [float(d) for d in re.findall(r"· (\d+\.\d) mi", page.locator("#list").inner_text())]
        assert distances and distances[0] < 2
        assert page.errors == []
    finally:
        context.close()


@READS
def test_the_browsers_own_zone(site, browser):
    context, page = open_context(browser, viewport=PHONE, zone="America/New_York")
    try:
        page.goto(site + "/")
        page.wait_for_url(re.compile(r"tz=America%2FNew_York"))
        assert page.locator("#tz").input_value() == "America/New_York"
        first = page.locator("#list .meeting time").first.inner_text()
        assert first.endswith("EST"), first
        assert page.locator(".own", has_text="PST where it meets").count() > 0
        page.locator("#list a.name").first.click()
        page.wait_for_load_state()
        assert page.locator("#your-time").inner_text().startswith("In your time zone:")
    finally:
        context.close()


@READS
def test_map_pins_when_leaflets_stylesheet_arrives_after_its_script(site, browser):
    """On a slow connection Leaflet's script can run before its stylesheet
    has loaded: Leaflet then guessed its images' folder from the link as
    "/static/leaflet" + "marker-icon.png", and every pin was a broken image."""
    context, page = open_context(browser, viewport=PHONE)
    held, broken = [], []
    page.route("**/leaflet/leaflet.css", lambda route: held.append(route))
    page.on("response", lambda response: broken.append(response.url) if response.status >= 400 else None)
    try:
        page.goto(site + "/?near=Irvine")
        page.click("#view-switch [data-view=map]")
        page.wait_for_function("() => window.L !== undefined")
        page.wait_for_timeout(300)
        assert held, "the stylesheet was not asked for"
        held[0].continue_()
        page.wait_for_selector(".leaflet-marker-icon")
        page.wait_for_function("() => [...document.querySelectorAll('.leaflet-marker-icon')].every(i => i.complete)")
        sources = page.evaluate("[...document.querySelectorAll('.leaflet-marker-icon')].map(i => [i.src, i.naturalWidth])")
        assert all(src.endswith("/static/leaflet/images/marker-icon.png") and width > 0 for src, width in sources), \
            sources[:2]
        assert broken == [] and page.errors == []
    finally:
        context.close()


@READS
def test_the_meeting_page_fits_a_360_px_phone(site, browser):
    context, page = open_context(browser, viewport={"width": 360, "height": 740})
    try:
        page.goto(site + "/?attendance=online")
        page.locator("#list a.name").first.click()
        page.wait_for_load_state()
        assert no_sideways_scroll(page), page.evaluate("document.documentElement.scrollWidth")
        sizes = page.evaluate("""() => [...document.querySelectorAll('main a.button, main button, main input, main select')]
            .filter(e => e.offsetParent && e.type !== 'checkbox' && !e.closest('.trap'))
            .map(e => e.getBoundingClientRect().height)""")
        assert sizes and min(sizes) >= 44
        assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") == 16
        # The call button reads "Call +1-669-...": a button lays its words and the number out as
        # two boxes, where the space between them was dropped ("Call+1-669-...").
        page.goto(site + "/meetings/na-online-dinner-hour-huntington-beach-tue/")
        gap = page.evaluate("""() => { const call = document.querySelector('.actions a[href^="tel:"]');
            const words = document.createRange(); words.selectNodeContents(call.firstChild);
            return call.querySelector('.tel').getBoundingClientRect().left - words.getBoundingClientRect().right; }""")
        assert gap >= 3, gap
        assert no_sideways_scroll(page)
    finally:
        context.close()


@READS
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_links_minutes_and_unit_stay_asked(site, browser, javascript):
    """A shared link's starting_within and in_progress, which no field of the
    form holds, survive a search changed on the page; unticked, they go. Its
    unit (km) stays chosen too: the next search asked miles."""
    context, page = open_context(browser, viewport=PHONE, javascript=javascript)
    try:
        page.goto(site + "/?attendance=online&starting_within=60")
        page.select_option("#fellowship", "aa")
        submit_search(page)
        assert query_of(page)["starting_within"] == ["60"] and query_of(page)["fellowship"] == ["aa"]
        rows = page.locator("#list .meeting").all_inner_texts()
        assert rows and all("AA ·" in row for row in rows)
        page.uncheck("input[name=starting_within]")
        submit_search(page)
        assert "starting_within" not in query_of(page) and query_of(page)["fellowship"] == ["aa"]
        assert page.locator("input[name=starting_within]").count() == 0
        page.goto(site + "/?near=Irvine%2C+CA&units=km")
        page.select_option("#radius", "25")
        submit_search(page)
        assert query_of(page)["units"] == ["km"] and query_of(page)["radius"] == ["25"]
        assert page.locator("#units").input_value() == "km"
        distances = [float(d) for d in re.findall(r"· (\d+\.\d) km", page.locator("#list").inner_text())]
        assert distances and max(distances) <= 25
        assert page.errors == []
    finally:
        context.close()


def lands_at_the_results(page) -> None:
    """A search without JavaScript opens at the results' heading (the form's
    action names it), not at the top of the page above the form and its filters."""
    assert urlparse(page.url).fragment == "results-heading", page.url
    expect(page.locator("#results-heading")).to_be_in_viewport()


@READS
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_search_and_filters_without_javascript(site, browser, viewport):
    context, page = open_context(browser, viewport=viewport, javascript=False)
    try:
        page.goto(site + "/")
        assert page.locator("#list .meeting").count() > 0
        assert page.locator("#near-me").is_hidden() and page.locator("#view-switch").is_hidden()
        page.fill("#near", "Irvine, CA")
        page.click("details.filters summary")
        page.select_option("#fellowship", "na")
        page.select_option("#attendance", "in_person")
        page.click("button.primary")
        page.wait_for_load_state()
        asked = query_of(page)
        assert asked["near"] == ["Irvine, CA"] and asked["fellowship"] == ["na"]
        lands_at_the_results(page)
        rows = page.locator("#list .meeting").all_inner_texts()
        assert rows and all("NA ·" in row for row in rows)
        page.select_option("#day", "today")
        page.check("input[name=time_of_day][value=evening]")
        page.click("button.primary")
        page.wait_for_load_state()
        assert query_of(page)["starts_on"] == ["today"] and page.locator("#day").input_value() == "today"
        lands_at_the_results(page)
        # The next Tab is the first meeting under the heading landed on, not the page's first link.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == names(page)[0]
        assert all("Tuesday" in row for row in page.locator("#list .meeting").all_inner_texts())
        # Back is the search before.
        page.go_back()
        page.wait_for_load_state()
        assert "starts_on" not in query_of(page) and query_of(page)["fellowship"] == ["na"]
        # The language switch is a plain form.
        page.click("button[name=language][value=es]")
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "es" and query_of(page)["fellowship"] == ["na"]
        # A search not made: the heading landed on leads to the message above it.
        page.fill("#near", "Springfield")
        page.click("button.primary")
        page.wait_for_load_state()
        lands_at_the_results(page)
        page.click("#results-heading a")
        expect(page.locator("#search .error")).to_be_in_viewport()
    finally:
        context.close()


# One test per language and width: xdist shares them between its workers
# (as one test, 125 s on a loaded machine, the last worker ran alone).
@READS
@pytest.mark.parametrize("locale", ["en-US", "es-ES"], ids=["en", "es"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_accessibility_with_axe(site, browser, axe_script, locale, viewport):
    """No critical or serious axe-core violations on the home page, a results
    page (loaded, and put in place by a search), one with a link's minutes
    kept in the form, a search not made (its heading a link to the message),
    and a meeting page, in English and Spanish, at a phone's and a desktop's width."""
    counts: Counter = Counter()
    serious: list[str] = []
    context, page = open_context(browser, viewport=viewport, locale=locale)
    page.route(site + AXE_PATH, lambda route: route.fulfill(
        status=200, body=axe_script.read_bytes(), content_type="application/javascript"))
    try:
        for path in ("/", "/?near=Irvine%2C+CA&fellowship=aa", "/?attendance=online&starting_within=60",
                     "/?near=Springfield", "/meetings/aa-nooner-costa-mesa-mon/", "in place"):
            if path == "in place":  # results a search put in place of the first ones
                page.goto(site + "/")
                page.fill("#near", "Irvine")
                submit_search(page)
            else:
                page.goto(site + path)
            # Served as a file of the site: the pages' policy runs no inline script.
            page.add_script_tag(url=site + AXE_PATH)
            found = page.evaluate("async () => (await axe.run()).violations.map("
                                  "v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))")
            for violation in found:
                counts[violation["impact"]] += 1
                if violation["impact"] in ("critical", "serious"):
                    serious.append(f"{locale} {viewport['width']} {path}: {json.dumps(violation)}")
    finally:
        context.close()
    print("axe violations by impact:", dict(counts) or "none")
    assert serious == []


@READS
def test_the_wait_page_past_a_clients_budget_is_accessible(site, browser, axe_script, settings, clock_stopped):
    """Past the computing budget (meetings/throttles.py) the search page says
    to wait, in the person's language, with a way to try again; no critical
    or serious axe-core violation on a phone."""
    from django.core.cache import cache

    from meetings.throttles import ComputeBudget

    settings.PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 0.001
    serious: list[str] = []
    try:
        for locale, wait in (("en-US", "Please wait a moment"), ("es-ES", "Espera un momento")):
            cache.clear()
            ComputeBudget._past.clear()
            context, page = open_context(browser, viewport=PHONE, locale=locale)
            page.route(site + AXE_PATH, lambda route: route.fulfill(
                status=200, body=axe_script.read_bytes(), content_type="application/javascript"))
            try:
                assert page.goto(site + "/").status == 200  # spends the budget
                answer = page.goto(site + "/?near=Irvine%2C+CA")
                assert answer.status == 429
                expect(page.locator("h1")).to_have_text(wait)
                assert no_sideways_scroll(page)
                page.add_script_tag(url=site + AXE_PATH)
                found = page.evaluate("async () => (await axe.run()).violations.map("
                                      "v => ({id: v.id, impact: v.impact}))")
                serious += [f"{locale}: {json.dumps(v)}" for v in found if v["impact"] in ("critical", "serious")]
            finally:
                context.close()
    finally:
        cache.clear()
        ComputeBudget._past.clear()
    assert serious == []


@WRITES
def test_a_correction_refused_for_its_cookie_comes_back_to_send_again(fresh_site, browser, axe_script):
    """The page was left open while its security cookie went (here: cleared):
    pressing Send shows the page again with the correction as typed and a
    note in the person's language, no critical or serious axe-core violation
    on a phone, and pressing Send again sends it (meetings.views.csrf_failure).
    Both answers open at the correction's heading, the note and the thanks on
    the screen: at the page's top, a phone showed neither."""
    from meetings.models import ChangeRequest

    serious: list[str] = []
    for locale, note, thanks in (("en-US", "Not sent yet", "Thank you"), ("es-ES", "Todavía no se ha enviado",
                                                                          "Gracias")):
        context, page = open_context(browser, viewport=PHONE, locale=locale)
        page.route(fresh_site + AXE_PATH, lambda route: route.fulfill(
            status=200, body=axe_script.read_bytes(), content_type="application/javascript"))
        try:
            page.goto(fresh_site + "/meetings/aa-nooner-costa-mesa-mon/")
            typed = f"The hall moved upstairs ({locale})"
            page.fill("textarea[name=description]", typed)
            context.clear_cookies()
            with page.expect_navigation() as refused:
                page.click("form.correction button[type=submit]")
            assert refused.value.status == 403
            expect(page.locator("form.correction .errorlist").first).to_contain_text(note)
            # The page opens at the form, not at its top: the note is on a phone's screen.
            expect(page.locator("form.correction .errorlist").first).to_be_in_viewport()
            assert page.locator("textarea[name=description]").input_value() == typed
            assert no_sideways_scroll(page)
            page.add_script_tag(url=fresh_site + AXE_PATH)
            found = page.evaluate("async () => (await axe.run()).violations.map(v => ({id: v.id, impact: v.impact}))")
            serious += [f"{locale}: {json.dumps(v)}" for v in found if v["impact"] in ("critical", "serious")]
            with page.expect_navigation() as sent:
                page.click("form.correction button[type=submit]")
            assert sent.value.status == 200
            expect(page.locator("p.sent")).to_contain_text(thanks)
            expect(page.locator("p.sent")).to_be_in_viewport()
            assert ChangeRequest.objects.filter(description=typed).count() == 1
        finally:
            context.close()
    assert serious == []


@WRITES
@pytest.mark.parametrize("locale, viewport", [("en-US", PHONE), ("es-ES", DESKTOP)], ids=["en-phone", "es-desktop"])
def test_a_curator_edits_a_meetings_time_as_the_wall_clock_where_it_meets(fresh_site, browser, locale, viewport):
    """A meeting's time is the wall clock where it meets, not an instant: the
    admin's time widget told a curator in Los Angeles "You are 8 hours behind
    server time" beside it and offered "Now" (the server's UTC time), which
    invites shifting the meeting by 8 hours. The field is the browser's own
    time input (a phone's time picker), the meeting's time as saved."""
    from django.contrib.auth import get_user_model

    from meetings.models import Meeting

    get_user_model().objects.create_superuser("curator", "curator@example.org", "not-a-real-password")
    meeting = Meeting.objects.get(slug="aa-nooner-costa-mesa-mon")
    context, page = open_context(browser, viewport=viewport, locale=locale)
    try:
        page.goto(fresh_site + "/admin/login/?next=/admin/")
        page.fill("#id_username", "curator")
        page.fill("#id_password", "not-a-real-password")
        with page.expect_navigation():
            page.click("input[type=submit]")
        page.goto(fresh_site + f"/admin/meetings/meeting/{meeting.pk}/change/")
        schedule = page.locator("fieldset", has=page.locator("#id_time"))
        expect(schedule.locator(".timezonewarning")).to_have_count(0)
        expect(schedule.locator(".datetimeshortcuts")).to_have_count(0)  # no "Now", no clock of the server's
        assert page.locator("#id_time").input_value() == "12:00"
        page.fill("#id_time", "12:30")
        with page.expect_navigation():
            page.click("input[name=_continue]")
        meeting.refresh_from_db()
        assert meeting.time == dt.time(12, 30)
        assert page.locator("#id_time").input_value() == "12:30"
        assert no_sideways_scroll(page)
        assert page.errors == []
    finally:
        context.close()


@READS
def test_a_link_to_a_meeting_no_longer_listed_leads_on(site, browser, axe_script):
    """A shared link, a calendar entry or a bookmark to a meeting taken off
    the list (or a link cut short) was Django's bare "Not Found" page, in
    English whatever the person reads, with no way on. It is the site's page,
    in the person's language, leading to the search; no critical or serious
    axe-core violation on a phone."""
    serious: list[str] = []
    for locale, heading, onward in (("en-US", "Meeting not found", "Find a meeting"),
                                    ("es-ES", "No se encontró la reunión", "Buscar una reunión")):
        context, page = open_context(browser, viewport=PHONE, locale=locale)
        page.route(site + AXE_PATH, lambda route: route.fulfill(
            status=200, body=axe_script.read_bytes(), content_type="application/javascript"))
        try:
            answer = page.goto(site + "/meetings/aa-a-meeting-no-longer-listed-mon/")
            assert answer.status == 404
            expect(page.locator("h1")).to_have_text(heading)
            assert page.locator("html").get_attribute("lang") == locale[:2]
            assert no_sideways_scroll(page)
            page.add_script_tag(url=site + AXE_PATH)
            found = page.evaluate("async () => (await axe.run()).violations.map(v => ({id: v.id, impact: v.impact}))")
            serious += [f"{locale}: {json.dumps(v)}" for v in found if v["impact"] in ("critical", "serious")]
            with page.expect_navigation():
                page.locator("main a", has_text=onward).click()
            assert urlparse(page.url).path == "/" and page.locator("#list .meeting").count() > 0
        finally:
            context.close()
    assert serious == []


@READS
@pytest.mark.parametrize("locale, finding, failed", [
    ("en-US", "Finding where you are…", "Your position could not be read"),
    ("es-ES", "Buscando dónde estás…", "No se pudo saber dónde estás")], ids=["en", "es"])
def test_near_me_says_when_the_position_cannot_be_read(site, browser, locale, finding, failed):
    """Near me with the position refused (or location off, or no fix): the
    button came back and the cursor went to the place's field, with nothing
    said, so a person pressed it again and again. While the browser looks,
    the page says so; when it cannot, it says what to do instead, in the
    person's language, read out (role=status) and on a phone's screen."""
    context, page = open_context(browser, viewport=PHONE, locale=locale)  # no position granted
    try:
        page.goto(site + "/")
        status = page.locator("#near-me-status")
        page.click("#near-me")
        expect(status).to_contain_text(failed)
        expect(status).to_contain_text("ZIP" if locale == "en-US" else "código postal")
        expect(status).to_be_in_viewport()
        assert status.get_attribute("role") == "status"
        assert page.evaluate("document.activeElement.id") == "near"
        assert "lat" not in query_of(page)
        # A position that takes its time: the wait is named, the button not pressed twice.
        page.evaluate("navigator.geolocation.getCurrentPosition = () => {}")
        page.click("#near-me")
        expect(status).to_have_text(finding)
        assert page.locator("#near-me").is_disabled()
        assert page.errors == []
    finally:
        context.close()


@READS
def test_find_another_meeting_goes_back_to_the_search_without_javascript(site, browser):
    """Without JavaScript "Find another meeting" was the empty search page:
    the place and filters the person had chosen were gone. It is the search
    they came from, at its results."""
    context, page = open_context(browser, viewport=PHONE, javascript=False)
    try:
        page.goto(site + "/?near=Irvine&fellowship=aa#results-heading")
        searched = names(page)
        page.locator("#list a.name").first.click()
        page.wait_for_load_state()
        page.click("p.back a")
        page.wait_for_load_state()
        assert query_of(page)["near"] == ["Irvine"] and query_of(page)["fellowship"] == ["aa"]
        assert names(page) == searched
        lands_at_the_results(page)
    finally:
        context.close()
