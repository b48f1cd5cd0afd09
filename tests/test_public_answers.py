"""Public answers kept in the shared cache are never stale (meetings/public_answers.py,
meetings/directory_version.py): every kind of write is read at once, in this
process and from another one; validators and 304s; a cache that is down."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.http import http_date, parse_http_date

from meetingfinder.settings import cache_settings
from meetings.directory_version import directory_version
from meetings.models import Meeting
from tests.factories import WRITE_KINDS as KINDS
from tests.factories import make_meeting
from tests.factories import writes_prepare as prepare
from tests.factories import writes_setup as setup_directory
from tests.factories import writes_write as write

BASE_DIR = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2025, 3, 4, 18, 30, 20, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def writes_rows(shared_rows):
    """Made once for the module (conftest's `shared_rows`): its tests read them."""
    with shared_rows():
        setup_directory()
        yield


@pytest.fixture
def writes_clock(db, settings, frozen_now):
    settings.GEOCODER = "offline"
    frozen_now(NOW)


@pytest.fixture
def writes_directory(writes_rows, writes_clock):
    """The module's directory (`writes_rows`), the clock stopped at NOW."""


@pytest.fixture
def writes_directory_made_now(writes_clock):
    """A directory of the test's own, its version dated in the test's second."""
    setup_directory()


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_write_is_read_at_once(writes_directory, client, kind):
    plan = prepare(kind)
    first = client.get(plan["url"])
    again = client.get(plan["url"])
    assert (first["X-Cache"], again["X-Cache"]) == ("miss", "hit")
    assert again.content == first.content
    assert plan["expected"] not in first.content.decode()

    write(kind)

    after = client.get(plan["url"])
    assert after.status_code == 200
    assert after["X-Cache"] == "miss"
    assert plan["expected"] in after.content.decode()


def test_every_write_path_bumps_the_version(writes_directory):
    for kind in KINDS:
        prepare(kind)
        before = directory_version()
        write(kind)
        assert directory_version().number > before.number, kind


def test_a_rolled_back_write_bumps_nothing(writes_directory):
    from django.db import transaction

    before = directory_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        Meeting.objects.filter(slug="service-meeting").update(name="never")
        raise RuntimeError
    assert directory_version() == before


@pytest.mark.parametrize("changed_at", [
    dt.datetime(2026, 12, 2, 8, 29, 46, 598972, tzinfo=dt.timezone.utc),
    dt.datetime(2025, 3, 4, 18, 30, 20, 999999, tzinfo=dt.timezone.utc),
    dt.datetime(2038, 1, 19, 3, 14, 8, 1, tzinfo=dt.timezone.utc),
    dt.datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=dt.timezone.utc),
])
def test_the_version_names_the_instant_of_its_row_to_the_microsecond(writes_directory, changed_at):
    """Its time is in every key, ETag and Last-Modified: read as the row
    has it (on PostgreSQL as microseconds since the epoch), in UTC."""
    from meetings.models import DirectoryVersion

    DirectoryVersion.objects.filter(pk=1).update(changed_at=changed_at)
    version = directory_version()
    assert version.changed_at == changed_at == DirectoryVersion.objects.get(pk=1).changed_at
    assert version.changed_at.utcoffset() == dt.timedelta(0)


def test_a_hit_reads_nothing_but_the_version(writes_directory, client):
    client.get("/api/v1/meetings/", {"q": "before"})
    with CaptureQueriesContext(connection) as captured:
        hit = client.get("/api/v1/meetings/", {"q": "before"})
    assert hit["X-Cache"] == "hit"
    assert len(hit.json()["results"]) == len(KINDS)
    assert len(captured) == 1 and "meetings_directoryversion" in captured[0]["sql"]


def test_a_hit_and_a_304_are_served_before_the_request_layers(writes_directory, client, monkeypatch):
    """A public answer is everyone's: its kept copy and its 304 are served
    without sessions, language, CSRF, users or messages (PublicAnswerMiddleware),
    which a miss still passes through on its way to the view."""
    from django.contrib.messages.middleware import MessageMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.middleware.csrf import CsrfViewMiddleware
    from django.middleware.locale import LocaleMiddleware

    layers = (SessionMiddleware, LocaleMiddleware, CsrfViewMiddleware, MessageMiddleware)
    passed = []
    for layer in layers:
        def noted(self, request, _original=layer.process_request, _name=layer.__name__):
            passed.append(_name)
            return _original(self, request)
        monkeypatch.setattr(layer, "process_request", noted)
    url = "/api/v1/meetings/service-meeting/"
    miss = client.get(url)
    assert miss["X-Cache"] == "miss" and sorted(passed) == sorted(layer.__name__ for layer in layers)
    passed.clear()
    hit = client.get(url)
    assert hit["X-Cache"] == "hit" and passed == []
    assert client.get(url, HTTP_IF_NONE_MATCH=hit["ETag"]).status_code == 304 and passed == []
    # Anything else goes through every layer, as before.
    assert client.get("/api/v1/fellowships/").status_code == 200
    assert sorted(passed) == sorted(layer.__name__ for layer in layers)


# What a response says of itself and of its safety, the same on a kept copy as on a fresh answer.
SAME_ON_A_HIT = ("Content-Type", "Content-Disposition", "Content-Length", "Cache-Control", "ETag", "Last-Modified",
                 "Vary", "Content-Language", "Allow", "Access-Control-Allow-Origin", "Content-Security-Policy",
                 "Permissions-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy",
                 "Cross-Origin-Opener-Policy")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/meetings/?q=before", "/api/v1/meetings/service-meeting/",
                                 "/api/v1/feeds/meeting-guide.json", "/api/v1/meetings/calendar.ics?q=before",
                                 "/api/v1/meetings/service-meeting/calendar.ics",
                                 "/client_interface/json/?switcher=GetSearchResults&SearchString=before"])
def test_a_kept_answer_is_the_fresh_one_in_any_language(writes_directory, client, settings, url):
    """Served before the language is chosen, a kept answer must hold no text
    in a language: the one kept from a Spanish reader's request is what an
    English reader's fresh answer would be, and it carries the same headers."""
    def body(response):
        return b"".join(response.streaming_content) if response.streaming else response.content

    miss = client.get(url, HTTP_ACCEPT_LANGUAGE="es")
    kept = body(miss)  # a streamed answer is kept once read whole
    hit = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert (miss.status_code, miss["X-Cache"], hit["X-Cache"]) == (200, "miss", "hit")
    settings.CACHE_ANSWERS = False
    fresh = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert body(hit) == kept == body(fresh)
    for name in SAME_ON_A_HIT:
        if name == "Content-Length" and miss.streaming:  # sent as it is read; its kept copy has a length
            assert hit[name] == str(len(kept))
            continue
        assert hit.get(name) == miss.get(name), name
    assert hit["X-Frame-Options"] == "DENY" and hit["Content-Security-Policy"]
    # Holding no language, it says none, and does not split shared caches by language.
    assert not miss.has_header("Content-Language") and "Accept-Language" not in miss.get("Vary", "")


FEED = "/api/v1/feeds/meeting-guide.json"


def streamed(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_whole_feed_is_kept_past_the_size_of_a_search(writes_directory, client, settings):
    """The feed of 100,000 meetings is ~62 MB and took 5-8 s on every request:
    past CACHE_ANSWER_MAX_BYTES it was never kept. It has a limit of its own."""
    whole = streamed(client.get(FEED))
    settings.CACHE_ANSWER_MAX_BYTES = len(whole) - 1
    first = client.get(FEED, {"fellowship": "aa"})
    assert first["X-Cache"] == "miss"
    body = streamed(first)
    again = client.get(FEED, {"fellowship": "aa"})
    assert (again["X-Cache"], streamed(again)) == ("hit", body)
    settings.CACHE_FEED_MAX_BYTES = len(body) - 1
    assert client.get(FEED, {"fellowship": "aa", "region": ""})["X-Cache"] == "miss"
    assert client.get(FEED, {"fellowship": "aa", "region": ""})["X-Cache"] == "miss"
    # A search keeps the general limit.
    settings.CACHE_ANSWER_MAX_BYTES = 10
    client.get("/api/v1/meetings/")
    assert client.get("/api/v1/meetings/")["X-Cache"] == "miss"


def test_a_parameter_the_feed_does_not_read_gets_the_kept_feed(writes_directory, client):
    """Each junk parameter (`?x=1`, `?x=2`) made the feed again: half a second
    to seconds of work apiece for anyone who asked."""
    body = streamed(client.get(FEED, {"fellowship": "aa"}))
    for junk in ({"x": "1"}, {"_": "1700000000"}, {"x": "2", "limit": "1"}):
        busted = client.get(FEED, {"fellowship": "aa", **junk})
        assert (busted["X-Cache"], streamed(busted)) == ("hit", body), junk
    assert client.get(FEED, {"fellowship": "na"})["X-Cache"] == "miss"
    assert client.get(FEED, {"fellowship": "aa", "x": "1"})["ETag"] == client.get(FEED, {"fellowship": "aa"})["ETag"]


def test_repeated_parameters_are_told_apart_in_the_order_given(writes_directory, client):
    """A view reads the last of a repeated parameter: `limit=1&limit=3` and
    `limit=3&limit=1` are two answers (as are two BMLT switchers, two JSONP callbacks)."""
    three = client.get("/api/v1/meetings/?q=before&limit=1&limit=3")
    one = client.get("/api/v1/meetings/?q=before&limit=3&limit=1")
    assert (len(three.json()["results"]), len(one.json()["results"])) == (3, 1)
    assert one["X-Cache"] == "miss"
    jsonp = "/client_interface/jsonp/?switcher=GetServerInfo&callback=first&callback=second"
    assert client.get(jsonp).content.startswith(b"/**/second(")
    swapped = client.get("/client_interface/jsonp/?switcher=GetServerInfo&callback=second&callback=first")
    assert swapped.content.startswith(b"/**/first(")


def test_what_the_api_negotiates_is_part_of_its_answer(writes_directory, client):
    """A kept JSON answer is not what a client that accepts no JSON would get."""
    url = "/api/v1/meetings/service-meeting/"
    json_answer = client.get(url)
    assert client.get(url)["X-Cache"] == "hit"
    assert client.get(url, HTTP_ACCEPT="application/xml").status_code == 406
    browsable = client.get(url, HTTP_ACCEPT="text/*")
    assert browsable.status_code == 200 and browsable["Content-Type"].startswith("text/html")
    assert client.get(url, HTTP_ACCEPT="text/*", HTTP_IF_NONE_MATCH=json_answer["ETag"]).status_code == 200
    assert client.get(url, HTTP_ACCEPT="application/json")["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("url", ["/api/v1/meetings/no-such-meeting/", "/api/v1/meetings/?lat=999&lng=0",
                                 "/api/v1/feeds/meeting-guide.json?fellowship=nope",
                                 "/client_interface/json/?switcher=GetSearchResults&weekdays[]=monday"])
def test_a_conditional_request_is_answered_as_the_plain_one(writes_directory, client, url):
    """Only an answer the client holds can be "not modified": a 404 or a 400
    stays one whatever the validators say."""
    plain = client.get(url).status_code
    assert plain in (400, 404)
    assert client.get(url, HTTP_IF_NONE_MATCH="*").status_code == plain
    assert client.get(url, HTTP_IF_MODIFIED_SINCE="Tue, 01 Dec 2037 00:00:00 GMT").status_code == plain


def test_a_write_in_the_same_second_is_never_hidden_by_a_date(writes_directory_made_now, client):
    """Last-Modified counts whole seconds: a copy dated within the second of a
    change may predate a second change in it, so it gets the answer, not a 304."""
    url = "/api/v1/meetings/?q=before"
    first = client.get(url)
    write("bulk_update")  # the clock is frozen: the same second
    assert client.get(url).content != first.content  # kept at the new version
    again = client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert again.status_code == 200 and again.content != first.content


def test_a_deploy_that_changes_the_code_changes_every_validator(writes_directory, client, monkeypatch):
    """Answers shaped by the code before a deploy are neither served nor 304'd."""
    from meetings import public_answers

    url = "/api/v1/feeds/meeting-guide.json"
    first = client.get(url)
    b"".join(first.streaming_content)
    token, changed_at = public_answers.code_state()
    monkeypatch.setattr(public_answers, "code_state",
                        lambda: ("0123456789", changed_at + dt.timedelta(days=400)))
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200
    later = http_date(parse_http_date(first["Last-Modified"]) + 3600)
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=later).status_code == 200


@pytest.mark.parametrize("url", ["/client_interface/json/?switcher=GetServerInfo", "/api/v1/meetings/?q=before",
                                 "/api/v1/feeds/meeting-guide.json"])
def test_head_is_answered_as_get_whether_kept_or_not(writes_directory, client, url):
    fresh = client.head(url)
    assert fresh.status_code == 200 and fresh.get("X-Cache") == "miss"
    whole = client.get(url)
    streamed(whole)  # a streamed answer is kept once read whole
    kept = client.head(url)
    assert kept.status_code == 200 and kept["X-Cache"] == "hit" and kept.content == b""
    for name in ("ETag", "Content-Type", "Last-Modified"):
        assert kept[name] == whole[name], name


def test_the_query_is_normalised_and_the_host_kept(writes_directory, client):
    client.get("/api/v1/meetings/", {"q": "before", "day": "2"})
    assert client.get("/api/v1/meetings/?day=2&q=before")["X-Cache"] == "hit"
    # Pagination links name the host: another host is another answer.
    other = client.get("/api/v1/meetings/?day=2&q=before", HTTP_HOST="localhost")
    assert other["X-Cache"] == "miss"


def test_answers_that_show_the_clock_are_kept_until_the_clock_changes_them(writes_directory, client, frozen_now):
    # The meeting: Tuesdays 19:00-20:00 in Los Angeles, 03:00-04:00 UTC on Wednesday 5 March 2025.
    url = "/api/v1/meetings/service-meeting/"
    first = client.get(url)  # Tuesday 18:30:20 UTC
    frozen_now(NOW + dt.timedelta(hours=5))  # 23:30:20: nothing the clock shows has changed
    assert client.get(url)["X-Cache"] == "hit"
    frozen_now(dt.datetime(2025, 3, 5, 0, 0, 5, tzinfo=dt.timezone.utc))  # a day begins in UTC: a turn
    assert client.get(url)["X-Cache"] == "miss"
    frozen_now(dt.datetime(2025, 3, 5, 3, 0, 30, tzinfo=dt.timezone.utc))  # it starts
    started = client.get(url)
    assert started["X-Cache"] == "miss"
    assert started.json()["in_progress"] and not first.json()["in_progress"]
    frozen_now(dt.datetime(2025, 3, 5, 3, 0, 50, tzinfo=dt.timezone.utc))
    assert client.get(url)["X-Cache"] == "hit"
    frozen_now(dt.datetime(2025, 3, 5, 3, 1, 0, tzinfo=dt.timezone.utc))  # its next start is next week's
    moved = client.get(url)
    assert moved["X-Cache"] == "miss" and moved.json()["next_start"] != started.json()["next_start"]


def another_process() -> None:
    """What a process of its own holds in memory (kept values, spans of this
    minute) forgotten; the shared cache (Redis in production) kept."""
    from meetings import directory_version as versions
    from meetings import public_answers

    versions._kept.clear()
    public_answers._spans.clear()


def test_another_process_takes_the_clocks_facts_from_the_shared_cache(writes_directory, client):
    """Every answer that shows the clock reads the turns of every meeting's
    weekly times (selectors.clock_turns), 0.1-0.7 s at 1,000,000 meetings, once
    per directory version: read by one process, kept for the others."""
    first = client.get("/api/v1/meetings/", {"q": "before", "in_progress": "true"})
    another_process()
    with CaptureQueriesContext(connection) as captured:
        again = client.get("/api/v1/meetings/", {"q": "before", "in_progress": "true"})
    assert (again["X-Cache"], again.content) == ("hit", first.content)
    assert len(captured) == 1 and "meetings_directoryversion" in captured[0]["sql"]


def test_a_value_read_while_a_write_commits_is_kept_by_no_process(writes_directory):
    """A value kept for a version must be that version's: read while a write
    commits it may be the next one's, which every process (and a replica)
    still at this version would take. It serves its one reader and is read
    again."""
    from meetings.directory_version import answering_at, kept_per_version
    from meetings.services import meeting_save

    def read_across_a_write():
        meeting = Meeting.objects.get(slug="service-meeting")
        meeting.name = "moved on"
        meeting_save(meeting=meeting)
        return "the next version's"

    version = directory_version()
    with answering_at(version, using="default"):
        assert kept_per_version("names", using="default", read=read_across_a_write,
                                shared=True) == "the next version's"
        another_process()
        assert kept_per_version("names", using="default", read=lambda: "this version's",
                                shared=True) == "this version's"


@pytest.mark.parametrize("moved", [{"time": dt.time(11, 0)}, {"timezone": "Europe/London"}])
def test_right_after_a_write_that_moves_a_meeting_every_process_shows_it(writes_directory, client, frozen_now,
                                                                        moved):
    """The clock's facts are kept per directory version, in a process and in
    the shared cache: after a write that moves a meeting's time or zone, an
    answer in this process or another is kept only until it starts."""
    from meetings.services import meeting_save

    url = "/api/v1/meetings/service-meeting/"
    assert not client.get(url).json()["in_progress"]  # 18:30:20 UTC: it starts at 03:00 UTC
    meeting = Meeting.objects.get(slug="service-meeting")
    for field, value in moved.items():
        setattr(meeting, field, value)
    meeting_save(meeting=meeting)  # now at 19:00 UTC: 11:00 in Los Angeles, or 19:00 in London
    for process in ("this one", "another"):
        if process == "another":
            another_process()
        frozen_now(dt.datetime(2025, 3, 4, 18, 59, 50, tzinfo=dt.timezone.utc))
        before = client.get(url)
        frozen_now(dt.datetime(2025, 3, 4, 19, 0, 10, tzinfo=dt.timezone.utc))
        started = client.get(url)
        assert not before.json()["in_progress"] and started.json()["in_progress"], process
        assert started["ETag"] != before["ETag"], process
        assert started.json()["next_start"] == "2025-03-04T19:00:00Z", process


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/meetings/?q=before", "/api/v1/meetings/service-meeting/",
                                 "/api/v1/feeds/meeting-guide.json", "/api/v1/meetings/calendar.ics?q=before",
                                 "/api/v1/meetings/service-meeting/calendar.ics"])
def test_validators_and_304(writes_directory, client, url):
    first = client.get(url)
    assert first.status_code == 200
    first_body = b"".join(first.streaming_content) if first.streaming else first.content  # kept once read
    assert first_body
    assert first["Cache-Control"].startswith("public, max-age=")
    assert first["ETag"] and first["Last-Modified"]
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    # A copy dated after the second of the last change is this answer (a date
    # within that second could be a copy from before a second write in it).
    a_second_later = http_date(parse_http_date(first["Last-Modified"]) + 1)
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=a_second_later).status_code == 304
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]).status_code == 200
    write("bulk_update")
    # The write renamed a meeting each of these answers shows.
    changed = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]


def test_api_answers_vary_on_accept_and_html_is_not_kept(writes_directory, client):
    url = "/api/v1/meetings/service-meeting/"
    json_answer = client.get(url)
    assert "Accept" in json_answer["Vary"]
    html = client.get(url, HTTP_ACCEPT="text/html")
    assert html["Content-Type"].startswith("text/html")
    assert not html.has_header("X-Cache") and "public" not in html.get("Cache-Control", "")
    assert client.get(url)["X-Cache"] == "hit"


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_public_answers_read_where_the_replicas_say(writes_directory, client, monkeypatch, accept):
    """Every public answer, the browsable API's HTML too, reads the database
    replicas.read_alias() names (tests/test_replicas.py: a real replica)."""
    from contextlib import contextmanager

    from meetingfinder import replicas

    read_from = []
    original = replicas.reading_from

    @contextmanager
    def noted(alias):
        read_from.append(alias)
        with original(alias):
            yield alias

    monkeypatch.setattr(replicas, "reading_from", noted)
    monkeypatch.setattr(replicas, "read_alias", lambda: "default")
    assert client.get("/api/v1/meetings/service-meeting/", HTTP_ACCEPT=accept).status_code == 200
    assert read_from and set(read_from) == {"default"}


def test_answers_that_show_the_clock_may_be_reused_until_their_span_ends(writes_directory, client, frozen_now):
    answer = client.get("/api/v1/meetings/service-meeting/")  # at 18:30:20, hours before the next turn
    assert answer["Cache-Control"] == "public, max-age=60"
    frozen_now(dt.datetime(2025, 3, 4, 23, 59, 30, tzinfo=dt.timezone.utc))  # 30 s before a day begins in UTC
    assert client.get("/api/v1/meetings/service-meeting/")["Cache-Control"] == "public, max-age=30"
    feed = client.get("/api/v1/feeds/meeting-guide.json")
    assert feed["Cache-Control"] == "public, max-age=300"


def test_errors_are_not_kept(writes_directory, client):
    assert client.get("/api/v1/meetings/", {"lat": "100", "lng": "0"}).status_code == 400
    assert client.get("/api/v1/meetings/no-such-meeting/").status_code == 404
    again = client.get("/api/v1/meetings/no-such-meeting/")
    assert again.status_code == 404 and not again.has_header("X-Cache")


@pytest.mark.parametrize("url", ["/api/v1/meetings/no-such-meeting/", "/api/v1/meetings/no-such-meeting/calendar.ics"])
def test_a_missing_meeting_is_said_in_the_senders_language_and_never_kept(writes_directory, client, url):
    """Never kept (only a 200 is everyone's), a 404 passes the language
    middleware: it may speak the sender's language, as the change-request
    API does, and says so (Content-Language, Vary) to shared caches."""
    spanish = client.get(url, HTTP_ACCEPT_LANGUAGE="es")
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert (spanish.status_code, english.status_code) == (404, 404)
    assert spanish.json() == {"detail": "Ninguna reunión publicada tiene este identificador (slug)."}
    assert english.json() == {"detail": "No published meeting has this slug."}
    assert not spanish.has_header("X-Cache") and not english.has_header("X-Cache")
    assert spanish["Content-Language"] == "es" and "Accept-Language" in spanish["Vary"]


@pytest.mark.parametrize("url, name, spanish_messages, english_messages", [
    ("/api/v1/meetings/?time_after=25", "time_after", ["Usa HH:MM, por ejemplo 18:30."], ["Use HH:MM, e.g. 18:30."]),
    ("/api/v1/meetings/calendar.ics?near=Irvien", "near",
     ["No conocemos ningún lugar llamado 'Irvien': prueba con un código postal o 'Ciudad, ST'.",
      "¿Quisiste decir Irvine, CA?"],
     ["No place is known by 'Irvien': try a ZIP code or 'City, ST'.", "Did you mean Irvine, CA?"]),
    ("/api/v1/feeds/meeting-guide.json?fellowship=xx", "fellowship", ["Comunidad desconocida: xx."],
     ["Unknown fellowship: xx."]),
    ("/api/v1/meetings/?offset=10001", "offset",
     ["Usa un número entero del 0 al 10000. Las páginas más profundas cuestan más de lo que nadie necesita: afina "
      "la búsqueda o lee el feed de Meeting Guide."],
     ["Use a whole number from 0 to 10000. Deeper pages cost more than any reader needs: narrow the search, or "
      "read the Meeting Guide feed."]),
    ("/api/v1/changes/?limit=0", "limit", ["Usa un número entero del 1 al 1000000000."],
     ["Use a whole number from 1 to 1000000000."]),
])
def test_a_bad_search_is_said_in_the_senders_language_and_never_kept(writes_directory, client, url, name,
                                                                     spanish_messages, english_messages):
    """A 400 is never kept, so the search's messages may speak the sender's
    language (Content-Language, Vary say so); a 200 stays language-free."""
    spanish = client.get(url, HTTP_ACCEPT_LANGUAGE="es")
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert (spanish.status_code, english.status_code) == (400, 400)
    assert spanish.json() == {name: spanish_messages}
    assert english.json() == {name: english_messages}
    assert not spanish.has_header("X-Cache") and not english.has_header("X-Cache")
    assert spanish["Content-Language"] == "es" and "Accept-Language" in spanish["Vary"]
    found = client.get("/api/v1/meetings/?time_after=18:00", HTTP_ACCEPT_LANGUAGE="es")
    assert found.status_code == 200 and found["X-Cache"] == "miss"
    assert not found.has_header("Content-Language") and "Accept-Language" not in found.get("Vary", "")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_cache_that_is_down_does_not_take_search_down(writes_directory, client, settings, monkeypatch):
    from meetings import directory_version as caching

    settings.CACHES = {"default": cache_settings(f"redis://127.0.0.1:{_closed_port()}/9")}
    monkeypatch.setattr(caching, "cache", caches["default"])
    monkeypatch.setattr(caching._shared_cache, "down_until", 0.0)
    with pytest.raises(Exception):
        caches["default"].get("anything")  # the cache really is down
    started = time.monotonic()
    for _ in range(3):
        answer = client.get("/api/v1/meetings/", {"q": "before"})
        assert answer.status_code == 200 and len(answer.json()["results"]) == len(KINDS)
    assert client.get("/api/v1/feeds/meeting-guide.json").status_code == 200
    # After the first failure the cache is left alone for a while: no waiting on it per request.
    assert time.monotonic() - started < 5


def test_a_big_feed_is_streamed_and_kept(writes_directory, client):
    for n in range(30):
        make_meeting(name=f"Extra {n}", service_body=Meeting.objects.get(slug="service-meeting").service_body)
    first = client.get("/api/v1/feeds/meeting-guide.json")
    body = b"".join(first.streaming_content)
    again = client.get("/api/v1/feeds/meeting-guide.json")
    assert again["X-Cache"] == "hit" and again.content == body
    assert len(json.loads(body)) == 30 + len(KINDS)


# Another process: a gunicorn serving the API and a writer process, on one
# SQLite file, neither of them this process. The writer takes one JSON
# command a line on stdin and answers one a line on stdout.
WRITER = """
import json, sys
import django
django.setup()
from django.core.management import call_command
from tests.factories import writes_prepare, writes_setup, writes_write
answers, sys.stdout = sys.stdout, sys.stderr  # what the writes print (mail, counts) goes to stderr
for line in sys.stdin:
    command = json.loads(line)
    try:
        if command["do"] == "migrate":
            call_command("migrate", interactive=False, verbosity=0); answer = {"ok": True}
        elif command["do"] == "setup":
            writes_setup(); answer = {"ok": True}
        elif command["do"] == "prepare":
            answer = {"ok": True, **writes_prepare(command["kind"])}
        else:
            writes_write(command["kind"]); answer = {"ok": True}
    except Exception as error:
        answer = {"ok": False, "error": repr(error)}
    print(json.dumps(answer), file=answers, flush=True)
"""


def _free_port() -> int:
    return _closed_port()


def _ask(writer, **command) -> dict:
    writer.stdin.write(json.dumps(command) + "\n")
    writer.stdin.flush()
    answer = json.loads(writer.stdout.readline())
    assert answer.pop("ok"), answer
    return answer


def _get(port: int, url: str):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{url}", timeout=10) as response:
        return response.headers, response.read().decode()


def _two_answers_in_one_time(port: int, url: str):
    """Two answers to one URL, asked again if the time the answer holds for
    turned between them (its ETag names that time): this server's clock runs."""
    answers = [_get(port, url) for _ in range(2)]
    if answers[0][0]["ETag"] != answers[1][0]["ETag"]:
        answers = [_get(port, url) for _ in range(2)]
    return answers


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("processes")
    env = {key: value for key, value in os.environ.items() if not key.startswith("DATABASE_")}
    env.update(DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}", CACHE_URL="locmemcache://", GEOCODER="offline",
               DJANGO_SETTINGS_MODULE="meetingfinder.settings", PYTHONPATH=str(BASE_DIR))
    # The writer migrates the file (one Python start fewer than `manage.py
    # migrate` first) while gunicorn starts: neither reads the database before
    # it is asked, and nothing is asked before the writer has set the directory up.
    writer = subprocess.Popen([sys.executable, "-c", WRITER], cwd=BASE_DIR, env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "meetingfinder.wsgi:application", "-c", "/dev/null",
                               "-b", f"127.0.0.1:{port}", "-w", "1", "--threads", "2"], cwd=BASE_DIR, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _ask(writer, do="migrate")
        _ask(writer, do="setup")
        for _ in range(100):
            try:
                _get(port, "/api/v1/fellowships/")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        yield writer, port
    finally:
        server.terminate()
        writer.stdin.close()
        writer.terminate()
        server.wait(10)
        writer.wait(10)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_write_in_another_process_is_read_at_once(two_processes, kind):
    writer, port = two_processes
    plan = _ask(writer, do="prepare", kind=kind)
    (headers, first), (again_headers, again) = _two_answers_in_one_time(port, plan["url"])
    assert again_headers["X-Cache"] == "hit" and again == first
    assert plan["expected"] not in first

    _ask(writer, do="write", kind=kind)

    headers, after = _get(port, plan["url"])
    assert headers["X-Cache"] == "miss"
    assert plan["expected"] in after


CLOCK_URLS = [
    "/api/v1/meetings/?q=Clock",
    "/api/v1/meetings/?q=Clock&starting_within=90",
    "/api/v1/meetings/?q=Clock&in_progress=true",
    "/api/v1/meetings/?q=Clock&starts_on=today&tz=Asia/Tokyo",
    "/api/v1/meetings/calendar.ics?q=Clock",
    "/api/v1/meetings/clock-0/",
]


@pytest.mark.django_db
def test_an_answer_that_shows_the_clock_is_the_same_throughout_its_span(settings, frozen_now, client, rf):
    """What the key promises: computed afresh at any instant of its span, the
    answer is the one computed at its first minute and at its last second."""
    import random

    from fellowships.services import vocabularies_sync
    from meetings.public_answers import clock_span

    settings.GEOCODER = "offline"
    settings.CACHE_ANSWERS = False
    vocabularies_sync()
    rng = random.Random(11)
    zones = ["America/Los_Angeles", "America/New_York", "Asia/Kolkata", "Europe/London"]
    for n in range(16):
        start = dt.time(rng.randrange(24), rng.choice([0, 15, 30, 45, 50]))
        end = rng.choice([None, dt.time(rng.randrange(24), rng.choice([0, 30]))])
        make_meeting(name=f"Clock {n}", slug=f"clock-{n}", day=rng.randrange(7), time=start.strftime("%H:%M"),
                     end_time=end, timezone=zones[n % len(zones)])
    version = directory_version()
    # Instants over a fortnight that holds the spring-forward of New York and Los Angeles (9 March 2025).
    base = dt.datetime(2025, 3, 3, tzinfo=dt.timezone.utc)
    spans = []
    for _ in range(20):
        now = base + dt.timedelta(seconds=rng.randrange(14 * 86400))
        for url in CLOCK_URLS:
            since, until = clock_span(rf.get(url), now=now, version=version, using="default")
            assert since <= now < until
            answers = []
            for instant in (since, now, until - dt.timedelta(seconds=1)):
                frozen_now(instant)
                answer = client.get(url)
                assert answer.status_code == 200, answer.content
                answers.append(answer.content)
            assert answers[0] == answers[1] == answers[2], (url, now, since, until)
            spans.append(until - since)
    # Spans are what makes the key worth keeping: most are far longer than a minute here.
    assert sorted(spans)[len(spans) // 2] > dt.timedelta(minutes=30)


def test_an_answer_is_computed_at_the_instant_its_key_names(writes_directory, client, monkeypatch):
    """The key is taken at one instant and the view reads the clock later: it
    must read the same instant, or an answer of the next span is kept under
    this one's key."""
    from django.utils import timezone

    from meetings import clock

    monkeypatch.undo()  # the real clock (writes_directory froze it), here one that runs a minute a read
    readings = iter(dt.datetime(2025, 3, 5, 2, 59, 59, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=61 * n)
                    for n in range(1000))
    monkeypatch.setattr(timezone, "now", lambda: next(readings))
    with clock.held_at(dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)):
        assert clock.now() == dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    # The key is taken at 02:59:59 UTC, a second before the meeting starts (19:00 in Los Angeles).
    answer = client.get("/api/v1/meetings/service-meeting/")
    assert answer["X-Cache"] == "miss"
    assert answer.json()["in_progress"] is False
    assert answer.json()["next_start"] == "2025-03-05T03:00:00Z"


def test_a_clock_answer_is_kept_until_its_span_ends_and_never_longer_than_the_setting(
        writes_directory, client, frozen_now, settings, monkeypatch):
    from meetings import public_answers

    kept = []
    monkeypatch.setattr(public_answers, "cache_set", lambda key, value, timeout: kept.append(timeout))
    settings.CACHE_ANSWER_SECONDS = 600
    client.get("/api/v1/meetings/service-meeting/")  # 18:30:20 UTC, its span ends at midnight UTC
    frozen_now(dt.datetime(2025, 3, 4, 23, 59, 30, tzinfo=dt.timezone.utc))
    client.get("/api/v1/meetings/service-meeting/")
    assert kept == [600, 30]


@pytest.mark.parametrize("query", ["starting_within=%2060", "starting_within=5&starting_within=60"])
def test_the_span_reads_starting_within_as_the_search_does(writes_directory, rf, query):
    """The search reads the last value, stripped: so must the span, or an answer
    kept for a span that misses the search's own turns goes stale."""
    from meetings.public_answers import clock_span

    # 00:30 UTC on Wednesday 15 January (no change of offset near): the meeting (19:00 in Los
    # Angeles) starts at 03:00 UTC, is within the hour from 02:00.
    now = dt.datetime(2025, 1, 15, 0, 30, tzinfo=dt.timezone.utc)
    version = directory_version()
    span = clock_span(rf.get(f"/api/v1/meetings/?{query}"), now=now, version=version, using="default")
    plain = clock_span(rf.get("/api/v1/meetings/?starting_within=60"), now=now, version=version, using="default")
    assert span == plain
    assert plain[1] == dt.datetime(2025, 1, 15, 2, 0, tzinfo=dt.timezone.utc)


def test_a_calendar_refused_says_why_in_the_senders_language(writes_directory, client, settings, monkeypatch):
    from meetings.api import publish_views

    by_appointment = Meeting.objects.filter(published=True).first()
    Meeting.objects.filter(pk=by_appointment.pk).update(day=None, time=None, end_time=None)
    url = f"/api/v1/meetings/{by_appointment.slug}/calendar.ics"
    spanish = client.get(url, HTTP_ACCEPT_LANGUAGE="es").json()["detail"]
    assert spanish.startswith("Esta reunión no tiene una hora semanal")
    assert client.get(url, HTTP_ACCEPT_LANGUAGE="en").json()["detail"].startswith("This meeting has no weekly time")
    monkeypatch.setattr(publish_views, "CALENDAR_MAX_EVENTS", 1)
    too_many = client.get("/api/v1/meetings/calendar.ics", HTTP_ACCEPT_LANGUAGE="es")
    assert too_many.status_code == 400
    assert too_many.json()["detail"] == ("Coincide más de 1 reunión: afina la búsqueda (para tenerlo todo, lee "
                                         "el feed de Meeting Guide).")
