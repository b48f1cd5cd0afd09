"""End to end: NA's crouton, installed from the npm registry at test time (never
committed), renders the Orange County NA meetings from the running server in
Debian's headless Chromium, as many as the API lists.

Needs `chromium` (apt) and the npm registry; the browser may reach nothing but
the live server (every other request is aborted)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from fellowships.models import ServiceBody

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="stylesheet" href="crouton.css"></head>
<body><div id="bmlt-tabs"></div>
<script src="crouton.js"></script>
<script>
  var crouton = new Crouton({root_server: ROOT, service_body: [BODY], recurse_service_bodies: true,
                             show_map: false, noMap: true, has_meeting_count: true, theme: "jack"});
  crouton.render();
  crouton.meetingCount(function (count) { window.croutonCount = count; });
</script></body></html>"""

pytestmark = pytest.mark.browser

# The browser's clock (crouton shows each meeting's next date from it).
FIXED_INSTANT = "2026-11-30T00:10:00Z"


@pytest.fixture(scope="session")
def crouton_package(tmp_path_factory) -> Path:
    if not Path(CHROMIUM).exists() or shutil.which("npm") is None:
        pytest.fail("this test needs Debian's chromium (apt-get install chromium) and npm")
    where = tmp_path_factory.mktemp("crouton")
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(where),
                    "@bmlt-enabled/croutonjs"], check=True, timeout=600)
    return where / "node_modules" / "@bmlt-enabled" / "croutonjs"


@pytest.mark.django_db(transaction=True)
def test_crouton_renders_the_orange_county_na_meetings(live_server, crouton_package, client):
    from playwright.sync_api import sync_playwright

    call_command("load_sample_data", verbosity=0)
    area = ServiceBody.objects.get(slug="oc-na-area")
    listed = client.get("/api/v1/meetings/", {"service_body": area.slug, "limit": 1}).json()
    assert listed["count"] > 50 and not listed.get("count_capped")

    root = live_server.url
    page_html = PAGE.replace("ROOT", json.dumps(root)).replace("BODY", json.dumps(str(area.pk)))
    files = {"index.html": (page_html.encode(), "text/html"),
             "crouton.js": ((crouton_package / "crouton.js").read_bytes(), "application/javascript"),
             "crouton.css": ((crouton_package / "crouton.css").read_bytes(), "text/css")}
    asked: list[str] = []

    def route(request_route):
        url = request_route.request.url
        asked.append(url)
        if url.startswith(f"{root}/crouton-e2e/"):
            body, content_type = files.get(url.rsplit("/", 1)[1].split("?")[0], (b"", "text/plain"))
            return request_route.fulfill(status=200 if body else 404, body=body, content_type=content_type)
        if url.startswith(f"{root}/client_interface/"):
            return request_route.continue_()
        return request_route.abort()  # no map tiles, fonts or anything else from the internet

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            # A reader in Orange County, at a fixed instant: crouton's own date
            # arithmetic fails in a browser on UTC on some dates (moment.tz.guess()
            # names no zone for "UTC", and getAdjustedDateTime then calls .add on
            # a string: seen on 30 November 2026), which is not ours to test.
            page = browser.new_page(timezone_id="America/Los_Angeles")
            page.clock.install(time=FIXED_INSTANT)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.route("**/*", route)
            page.goto(f"{root}/crouton-e2e/index.html")
            page.wait_for_function("window.croutonCount !== undefined", timeout=60000)
            count = page.evaluate("window.croutonCount")
            rows = page.locator("#bmlt-tabs .bmlt-data-row").count()
            names = page.locator("#bmlt-tabs .meeting-name").all_inner_texts()
        finally:
            browser.close()
    assert any("/client_interface/jsonp/?switcher=GetSearchResults" in url for url in asked)
    assert errors == []
    assert count == listed["count"]
    # One row per meeting, each with its name.
    assert rows == len(names) == listed["count"]
