"""The deployment's proxy (docker-compose.yml's nginx, its configuration run
as written, here in front of the test server): it tells the app who is
asking, so each client has its own change-request count and login lockout
(DJANGO_NUM_PROXIES=1, the compose default) and no client can forge another
address; and it compresses answers, whose weakened ETag still revalidates."""

from __future__ import annotations

import gzip
import http.client
import json
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.factories import aa_meeting

ROOT = Path(__file__).resolve().parent.parent
SUBMIT = "/api/v1/change-requests/"

# Every alias: on PostgreSQL a nearest-first search reads through knn_default.
pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def compose_environment_default(name: str) -> str:
    """A variable's default in the app's environment (`${NAME:-default}`)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    value = compose["services"]["web"]["environment"][name]
    match = re.fullmatch(r"\$\{" + name + r":-(.*)\}", value)
    return match.group(1) if match else value


def proxy_configuration(upstream: str, port: int) -> str:
    """The proxy's nginx configuration as docker-compose.yml writes it, the
    web service's address replaced by `upstream` (Docker's resolver left out)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["proxy"]["command"]
    written = re.search(r"printf '(.*?)' >", command, re.S).group(1).replace("$$", "$")
    written = written.replace("resolver 127.0.0.11 valid=10s;", "").replace("http://web:8000", upstream)
    return written.replace("listen 8000;", f"listen 127.0.0.1:{port};")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def production_setting(name: str) -> str:
    """A variable's value in deploy/production.env.example."""
    for line in (ROOT / "deploy" / "production.env.example").read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1]
    raise LookupError(name)


# A TLS proxy of one's own in front of the compose nginx, as
# deploy/production.env.example describes it: says https, appends the client.
TLS_PROXY = """server {{ listen 127.0.0.1:{port};
  location / {{ proxy_pass http://127.0.0.1:{compose}; proxy_set_header Host $host;
               proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
               proxy_set_header X-Forwarded-Proto https; }} }}"""


@pytest.fixture
def proxy(proxies) -> int:
    """The compose proxy's port."""
    return proxies[0]


@pytest.fixture
def tls_proxy(proxies) -> int:
    """The port of a TLS proxy in front of the compose proxy."""
    return proxies[1]


@pytest.fixture
def proxies(live_server, tmp_path):
    nginx = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if nginx is None:
        pytest.fail("this test runs the deployment's nginx: apt-get install nginx-light (.ci/run installs it)")
    port, front = free_port(), free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; events {{}}\n"
                    f"http {{ access_log off; client_body_temp_path {tmp_path}; proxy_temp_path {tmp_path};\n"
                    f"{proxy_configuration(live_server.url.replace('localhost', '127.0.0.1'), port)}\n"
                    f"{TLS_PROXY.format(port=front, compose=port)} }}\n")
    process = subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp_path), "-g", "daemon off;"],
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"nginx did not start: {process.stderr.read().decode()}")
            time.sleep(0.05)
    yield port, front
    process.terminate()
    process.wait(timeout=10)


def request(port: int, method: str, path: str, *, source: str = "127.0.0.1", body: dict | None = None,
            headers: dict | None = None) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json"} if data else {}
        connection.request(method, path, body=data, headers={**sent, **(headers or {})})
        answer = connection.getresponse()
        headers: dict[str, str] = {}
        for name, value in answer.getheaders():  # a header given twice (Vary) read as one list
            headers[name.lower()] = f"{headers[name.lower()]}, {value}" if name.lower() in headers else value
        return answer.status, headers, answer.read()
    finally:
        connection.close()


def test_behind_the_proxy_each_client_is_counted_apart_and_cannot_forge_another(proxy, directory, settings,
                                                                              clock_stopped):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "NUM_PROXIES": int(compose_environment_default("DJANGO_NUM_PROXIES")),
                               "DEFAULT_THROTTLE_RATES": {"change-requests": "3/hour"}}
    meeting = aa_meeting(directory)
    correction = {"meeting": meeting.slug, "description": "The hall moved next door."}
    # One client, forging a fresh address before the proxy's entry each time: one count.
    first = [request(proxy, "POST", SUBMIT, body=correction, headers={"X-Forwarded-For": f"198.51.100.{n}"})[0]
             for n in range(5)]
    assert first == [202, 202, 202, 429, 429]
    # Another client (another address reaching the proxy) has a count of its own.
    assert request(proxy, "POST", SUBMIT, source="127.0.0.2", body=correction)[0] == 202


def test_the_proxy_compresses_answers_and_their_weak_etag_revalidates(proxy, directory):
    for n in range(25):
        aa_meeting(directory, name=f"Step Study {n}")
    search = "/api/v1/meetings/?near=92618&radius=25&units=mi"
    status, headers, body = request(proxy, "GET", search, headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert "accept-encoding" in headers["vary"].lower()
    answer = json.loads(gzip.decompress(body))
    assert len(answer["results"]) == 25 and len(body) < len(json.dumps(answer)) / 3
    etag = headers["etag"]
    assert etag.startswith('W/"')  # nginx weakens the app's ETag when it compresses
    status, headers, body = request(proxy, "GET", search, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert status == 304 and body == b""
    # Without gzip, the same answer whole.
    status, headers, body = request(proxy, "GET", search)
    assert status == 200 and "content-encoding" not in headers and json.loads(body) == answer


def test_behind_a_tls_proxy_as_production_has_it_https_and_each_client_hold(tls_proxy, directory, settings,
                                                                           clock_stopped):
    """deploy/production.env.example's settings behind a TLS proxy in front of
    the compose nginx: the request is known to be https (the nginx passes on
    what the TLS proxy says; it said http and every request redirected again),
    and each client is still counted apart (two proxies append)."""
    settings.SECURE_PROXY_SSL_HEADER = tuple(production_setting("DJANGO_SECURE_PROXY_SSL_HEADER").split(","))
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "NUM_PROXIES": int(production_setting("DJANGO_NUM_PROXIES")),
                               "DEFAULT_THROTTLE_RATES": {"change-requests": "2/hour"}}
    meeting = aa_meeting(directory)
    aa_meeting(directory, name="Second Meeting")
    status, _, body = request(tls_proxy, "GET", "/api/v1/meetings/?limit=1")
    assert status == 200 and json.loads(body)["next"].startswith("https://")
    correction = {"meeting": meeting.slug, "description": "The hall moved next door."}
    first = [request(tls_proxy, "POST", SUBMIT, body=correction, headers={"X-Forwarded-For": f"198.51.100.{n}"})[0]
             for n in range(3)]
    assert first == [202, 202, 429]
    assert request(tls_proxy, "POST", SUBMIT, source="127.0.0.2", body=correction)[0] == 202
