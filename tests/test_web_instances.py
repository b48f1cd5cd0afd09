"""Stateless web: two gunicorn instances (separate processes, their own
ports) behind one address, a round-robin proxy as a load balancer would be.
Whichever instance answers, a search is the same answer (kept once in the
shared cache), a curator's login holds (the session is in the database) and
the change-request throttle is one count for the client."""

from __future__ import annotations

import http.client
import http.server
import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from meetings.models import ChangeRequest
from tests.factories import aa_meeting, child_database_url

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_CACHE_REDIS_URL", "redis://127.0.0.1:6379/5")
SEARCH = "/api/v1/meetings/?near=92618&radius=10&units=mi"


class RoundRobin(http.server.BaseHTTPRequestHandler):
    """Sends each request to the next instance, saying which in X-Instance,
    and puts the client's address in X-Forwarded-For (one trusted proxy)."""
    instances: list[int] = []
    turn = itertools.count()

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.forward()

    def do_POST(self):
        self.forward()

    def forward(self):
        port = self.instances[next(self.turn) % len(self.instances)]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name: value for name, value in self.headers.items()
                   if name.lower() not in ("connection", "x-forwarded-for")}
        headers["X-Forwarded-For"] = self.client_address[0]
        upstream = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            answer = upstream.getresponse()
            content = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(name, value)
        self.send_header("X-Instance", str(port))
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)


class Browser:
    """One client through the proxy, keeping its cookies."""

    def __init__(self, port: int, *, address: str = "127.0.0.1"):
        self.port = port
        self.address = address
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, *, form: dict | None = None, payload: dict | None = None,
                headers: dict | None = None) -> tuple[int, dict, str]:
        headers = dict(headers or {})
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        headers["Referer"] = f"http://127.0.0.1:{self.port}/"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30, source_address=(self.address, 0))
        try:
            conn.request(method, path, body=body, headers=headers)
            answer = conn.getresponse()
            text = answer.read().decode()
            for name, value in answer.getheaders():
                if name.lower() == "set-cookie":
                    for morsel in SimpleCookie(value).values():
                        self.cookies[morsel.key] = morsel.value
            return answer.status, dict(answer.getheaders()), text
        finally:
            conn.close()


def _free_port() -> int:
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return port


def _wait_until_serving(port: int, instance: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and instance.poll() is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/fellowships/")
            if conn.getresponse().status == 200:
                return
        except (ConnectionError, OSError):
            time.sleep(0.2)
        finally:
            conn.close()
    raise AssertionError(f"gunicorn on port {port} did not serve within 30 s")


@pytest.fixture
def postgresql_only():
    """Skips before anything is made or waited for (clear_of_the_hours_turn
    waits up to 90 s, which a run on SQLite spent only to be skipped)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL: the two instances must share the database")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_gunicorn_instances_behind_one_address_give_the_same_answers_and_share_throttling(
        postgresql_only, directory, settings, clear_of_the_hours_turn):
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as error:
        pytest.skip(f"needs Redis at {REDIS_URL} (.ci/run starts it): {error}")
    meetings = [aa_meeting(directory, name=f"Group {n}", time=f"{10 + n}:00") for n in range(5)]
    # A password the instances can check (the suite's own hasher is a fast one they do not have).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    get_user_model().objects.create_superuser("curator", "curator@example.org", "a-long-test-password-1")

    # A client address of this test's own (any 127/8 address is this machine),
    # so its throttle count is its own in a Redis that other runs share.
    client_address = f"127.{random.randrange(1, 255)}.{random.randrange(1, 255)}.{random.randrange(2, 255)}"
    env = {
        **os.environ,
        "DATABASE_URL": child_database_url(),
        "CACHE_URL": REDIS_URL,
        "CHANGE_REQUESTS_RATE": "10/hour",
        "DJANGO_NUM_PROXIES": "1",
        "GEOCODER": "offline",
    }
    ports = [_free_port(), _free_port()]
    instances = [
        subprocess.Popen([sys.executable, "-m", "gunicorn", "meetingfinder.wsgi:application", "-c", "/dev/null",
                          "-b", f"127.0.0.1:{port}", "-w", "2", "--threads", "1"],
                         cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in ports
    ]
    RoundRobin.instances = ports
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RoundRobin)
    threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    browser = Browser(proxy.server_address[1])
    try:
        for port, instance in zip(ports, instances):
            _wait_until_serving(port, instance)

        # A search: the same answer from both, computed once and kept in the shared cache.
        # The answer shows the clock, so its key names the time it holds for (the ETag
        # says which): a pair that straddled a turn of that time is asked again.
        answers = [browser.request("GET", SEARCH) for _ in range(2)]
        assert answers[0][1]["X-Cache"] == "miss"
        if answers[0][1]["ETag"] != answers[1][1]["ETag"]:
            answers = [browser.request("GET", SEARCH) for _ in range(2)]
        assert {headers["X-Instance"] for _, headers, _ in answers} == {str(port) for port in ports}
        assert [status for status, _, _ in answers] == [200, 200]
        assert answers[0][2] == answers[1][2]
        assert answers[0][1]["ETag"] == answers[1][1]["ETag"]
        assert answers[1][1]["X-Cache"] == "hit"
        assert {row["slug"] for row in json.loads(answers[0][2])["results"]} == {m.slug for m in meetings}

        # A curator logs in on one instance and is known on the other.
        status, headers, page = browser.request("GET", "/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, headers, _ = browser.request("POST", "/admin/login/?next=/admin/", form={
            "csrfmiddlewaretoken": token, "username": "curator", "password": "a-long-test-password-1",
            "next": "/admin/"})
        assert status == 302 and headers["Location"] == "/admin/"
        logged_in = [browser.request("GET", "/admin/") for _ in range(2)]
        assert {headers["X-Instance"] for _, headers, _ in logged_in} == {str(port) for port in ports}
        assert [status for status, _, _ in logged_in] == [200, 200]
        assert all("Log out" in page for _, _, page in logged_in)

        # Change requests from one client, alternating instances: ten in all, then refused on both.
        anonymous = Browser(proxy.server_address[1], address=client_address)
        sent = [anonymous.request("POST", "/api/v1/change-requests/",
                                  payload={"meeting": meetings[0].slug, "description": f"fix {n}"})
                for n in range(14)]
        codes = [status for status, _, _ in sent]
        assert codes == [202] * 10 + [429] * 4, codes
        refused_by = {headers["X-Instance"] for status, headers, _ in sent if status == 429}
        assert refused_by == {str(port) for port in ports}
        assert ChangeRequest.objects.count() == 10
    finally:
        for instance in instances:
            instance.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown
        for instance in instances:
            try:
                instance.wait(timeout=15)
            except subprocess.TimeoutExpired:
                instance.kill()
                instance.wait()
        proxy.shutdown()
        proxy.server_close()
        keys = redis.Redis.from_url(REDIS_URL)
        for key in keys.scan_iter(f"*{client_address}*"):
            keys.delete(key)
