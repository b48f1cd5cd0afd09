import http.server
import threading

import pytest

from meetings.feeds import fetch
from meetings.feeds.records import FeedUnreadable

BODY = b'[{"slug": "a", "name": "A", "day": 1, "time": "19:00"}]'


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/feed.json":
            self._send(200, BODY)
        elif self.path.startswith("/hop/"):
            n = int(self.path.rsplit("/", 1)[1])
            self.send_response(302)
            self.send_header("Location", f"/hop/{n - 1}" if n > 0 else "/feed.json")
            self.end_headers()
        elif self.path == "/big":
            self._send(200, b"[" + b" " * 5000 + b"]")
        elif self.path == "/truncated":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(BODY)
        elif self.path == "/down":
            self._send(503, b"busy")
        elif self.path == "/missing":
            self._send(404, b"no")

    def _send(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def allow_local(settings):
    settings.FEEDS_ALLOW_PRIVATE_ADDRESSES = True
    settings.FEEDS_MAX_BYTES = 4000
    settings.FEEDS_MAX_REDIRECTS = 3
    return settings


def test_fetches_a_feed(server, allow_local):
    fetched = fetch.fetch_url(f"{server}/feed.json")
    assert fetched.text == BODY.decode() and fetched.content_type.startswith("application/json")


def test_follows_a_bounded_number_of_redirects(server, allow_local):
    # /hop/2 takes three redirects to reach the feed, /hop/3 four.
    assert fetch.fetch_url(f"{server}/hop/2").url.endswith("/feed.json")
    with pytest.raises(fetch.FetchError, match="redirects"):
        fetch.fetch_url(f"{server}/hop/3")


def test_refuses_bodies_over_the_limit(server, allow_local):
    with pytest.raises(fetch.FetchError, match="limit"):
        fetch.fetch_url(f"{server}/big")


def test_truncated_body_is_unreadable(server, allow_local):
    with pytest.raises(FeedUnreadable, match="truncated"):
        fetch.fetch_url(f"{server}/truncated")


def test_server_errors_are_transient_and_client_errors_are_not(server, allow_local):
    with pytest.raises(fetch.TransientFetchError):
        fetch.fetch_url(f"{server}/down")
    with pytest.raises(fetch.FetchError) as error:
        fetch.fetch_url(f"{server}/missing")
    assert not isinstance(error.value, fetch.TransientFetchError)


def test_connection_refused_is_transient(allow_local):
    with pytest.raises(fetch.TransientFetchError):
        fetch.fetch_url("http://127.0.0.1:9/feed.json")


def test_loopback_and_private_addresses_are_refused_by_default(server, settings):
    settings.FEEDS_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(fetch.FetchError, match="private or loopback"):
        fetch.fetch_url(f"{server}/feed.json")
    with pytest.raises(fetch.FetchError, match="private or loopback"):
        fetch.fetch_url("http://10.1.2.3/feed.json")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed.json", "gopher://x/"])
def test_only_http_schemes(url):
    with pytest.raises(fetch.FetchError, match="scheme"):
        fetch.fetch_url(url)


def test_local_files_with_the_size_limit(tmp_path, settings):
    settings.FEEDS_MAX_BYTES = 100
    small = tmp_path / "feed.json"
    small.write_bytes(BODY)
    assert fetch.fetch(str(small)).text == BODY.decode()
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 200)
    with pytest.raises(fetch.FetchError, match="limit"):
        fetch.fetch(str(big))
