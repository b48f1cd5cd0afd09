"""Every page, the admin, the API and its docs send a Content-Security-Policy
that allows no inline script or style, and a Permissions-Policy; the pages
keep to it (no inline script, style block or style attribute, every script and
style sheet from this site, and each of those files is served); the API docs
keep the site's Cross-Origin-Opener-Policy."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.factories import aa_meeting


class PageParts(HTMLParser):
    """What a page loads, and what it has inline."""

    def __init__(self):
        super().__init__()
        self.scripts: list[str] = []
        self.style_sheets: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "style" in attrs or any(name.startswith("on") for name in attrs):
            self.inline.append(f"<{tag}> attribute: {self.get_starttag_text()}")
        if tag == "style":
            self.inline.append("<style> block")
        if tag == "script":
            # Data (type=application/json) is not script; anything else must be a file.
            if attrs.get("src"):
                self.scripts.append(attrs["src"])
            elif attrs.get("type") != "application/json":
                self._in_script = True
        if tag == "link" and "stylesheet" in (attrs.get("rel") or ""):
            self.style_sheets.append(attrs["href"])

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline.append(f"inline script: {data.strip()[:60]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def directives(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request['PATH_INFO']}: no Content-Security-Policy"
    parts = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


def assert_strict_policy(response) -> None:
    policy = directives(response)
    for directive in ("script-src", "style-src"):
        assert policy[directive] == ["'self'"], (directive, policy)
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'self'"]
    features = response.headers.get("Permissions-Policy", "")
    # The search page alone may ask the position, for its "Near me" button (issue 10).
    position = "geolocation=(self)" if response.request["PATH_INFO"] == "/" else "geolocation=()"
    for feature in ("camera=()", "microphone=()", position, "payment=()", "usb=()"):
        assert feature in features, (feature, features)


def assert_page_keeps_to_the_policy(client, response) -> PageParts:
    assert response.status_code == 200, response.request["PATH_INFO"]
    assert_strict_policy(response)
    parts = PageParts()
    parts.feed(response.content.decode())
    assert parts.inline == [], (response.request["PATH_INFO"], parts.inline)
    for url in parts.scripts + parts.style_sheets:
        assert url.startswith("/") and not url.startswith("//"), f"{url}: not from this site"
        served = client.get(url)
        body = b"".join(served.streaming_content) if served.streaming else served.content
        assert served.status_code == 200 and body, url
    return parts


@pytest.fixture
def superuser(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "not-a-real-password")
    client.force_login(user)
    return user


def test_public_pages_keep_to_a_policy_without_inline_code(client, directory):
    meeting = aa_meeting(directory)
    for url in ("/", "/?near=92660&radius=10", reverse("meeting-page", args=[meeting.slug])):
        parts = assert_page_keeps_to_the_policy(client, client.get(url))
        assert parts.style_sheets, f"{url} lost its style"


def test_the_correction_form_still_works_under_the_policy(client, directory):
    meeting = aa_meeting(directory)
    response = client.post(reverse("meeting-page", args=[meeting.slug]), {"description": "Moved", "time": "20:00"})
    assert "Thank you" in response.content.decode()
    assert_page_keeps_to_the_policy(client, response)


def test_the_admin_keeps_to_the_policy(client, directory, superuser):
    meeting = aa_meeting(directory)
    client.logout()
    assert_page_keeps_to_the_policy(client, client.get(reverse("admin:login")))
    client.force_login(superuser)
    for url in (reverse("admin:index"), reverse("admin:meetings_meeting_changelist"),
                reverse("admin:meetings_meeting_change", args=[meeting.pk]),
                reverse("admin:meetings_meeting_add"), reverse("admin:meetings_location_changelist"),
                reverse("admin:meetings_changerequest_changelist"), "/admin/meetings/meeting/quality/"):
        parts = assert_page_keeps_to_the_policy(client, client.get(url))
        assert parts.scripts or url.endswith("quality/"), url


def test_the_api_and_its_errors_send_the_headers(client, directory):
    assert_strict_policy(client.get("/api/v1/meetings/"))
    assert_strict_policy(client.get("/api/v1/meetings/no-such-meeting/"))
    assert_strict_policy(client.get("/no-such-page/"))


def test_the_api_docs_load_swagger_ui_from_files_under_the_policy(client, db):
    response = client.get("/api/docs/")
    parts = assert_page_keeps_to_the_policy(client, response)
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert any("swagger-ui-bundle.js" in src for src in parts.scripts)
    start_up = [src for src in parts.scripts if "script" in src.split("?", 1)[-1]]
    assert len(start_up) == 1, parts.scripts
    script = client.get(start_up[0])
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("application/javascript")
    text = script.content.decode()
    assert "SwaggerUIBundle(" in text and re.search(r'url: "/api/schema/', text), text[:300]
    # Swagger UI asks no other site (validator.swagger.io's badge) for anything.
    assert '"validatorUrl": null' in text
    assert client.get("/api/schema/").status_code == 200


def test_one_policy_text_on_every_kind_of_answer(client, directory, settings):
    """The policy is the site's, the same text on a page, an API answer, its
    kept copy and 304, an error and the admin's login (built once per process
    from CONTENT_SECURITY_POLICY: meetingfinder/content_security.py)."""
    settings.CACHE_ANSWERS = True
    meeting = aa_meeting(directory)
    url = f"/api/v1/meetings/{meeting.slug}/"
    fresh = client.get(url)
    kept = client.get(url)
    answers = {
        "page": client.get("/"), "api": fresh, "kept": kept,
        "304": client.get(url, HTTP_IF_NONE_MATCH=kept["ETag"]), "400": client.get("/api/v1/meetings/?day=9"),
        "404": client.get("/no-such-page/"), "admin": client.get(reverse("admin:login")),
    }
    assert (fresh["X-Cache"], kept["X-Cache"], answers["304"].status_code) == ("miss", "hit", 304)
    policies = {name: response.get("Content-Security-Policy") for name, response in answers.items()}
    assert set(policies.values()) == {policies["page"]}, policies
    assert_strict_policy(answers["api"])


def test_djangos_debug_pages_keep_their_inline_style(client, db, settings):
    """With DEBUG on, Django's own 404 and 500 pages are styled inline: no policy on them."""
    settings.DEBUG = True
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and not response.has_header("Content-Security-Policy")
    assert client.get("/").has_header("Content-Security-Policy")
