import functools
import gzip
import hashlib
import http.server
import ipaddress
import json
import socket
import ssl
import threading
import time
import tracemalloc
import zlib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from meetings.feeds import fetch
from meetings.feeds.importer import NOT_MODIFIED_REASON, HeldRunSuperseded, feed_import, import_run_approve
from meetings.feeds.records import FeedUnreadable
from meetings.feeds.locks import PLACE
from meetings.models import FeedSource, ImportRun, Location, Meeting
from meetings.services import meeting_release_lock, meetings_not_copies, meetings_not_copies_undo
from tests.factories import change_url, feed_record, make_source, meeting_form_data, run_feed

BODY = b'[{"slug": "a", "name": "A", "day": 1, "time": "19:00"}]'
# A self-signed certificate for feeds.example.test (valid until 2126), made with
# openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj /CN=feeds.example.test
#   -addext subjectAltName=DNS:feeds.example.test -addext basicConstraints=critical,CA:TRUE
TLS = Path(__file__).resolve().parent / "tls"
ETAG, LAST_MODIFIED = '"v1"', "Wed, 21 Oct 2015 07:28:00 GMT"


@functools.cache
def gzip_bomb() -> bytes:
    """20 kB of gzip that inflates to 20 MB of zeros."""
    return gzip.compress(bytes(20 * 1024 * 1024), compresslevel=9)


class Handler(http.server.BaseHTTPRequestHandler):
    requests: list = []  # (path, headers) of every request, for the test to read
    feed = BODY  # what /etag serves

    def log_message(self, *args):
        pass

    def do_GET(self):
        Handler.requests.append((self.path, self.headers))
        path, query = self.path.partition("?")[0], parse_qs(urlsplit(self.path).query)
        try:
            self._answer(path, query)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as some tests want it to

    def _answer(self, path, query):
        if path == "/feed.json":
            self._send(200, BODY)
        elif path.startswith("/hop/"):
            n = int(path.rsplit("/", 1)[1])
            self.send_response(302)
            self.send_header("Location", f"/hop/{n - 1}" if n > 0 else "/feed.json")
            self.end_headers()
        elif path.startswith("/slow-hop/"):
            time.sleep(0.4)
            n = int(path.rsplit("/", 1)[1])
            self.send_response(302)
            self.send_header("Location", f"/slow-hop/{n - 1}" if n > 0 else "/feed.json")
            self.end_headers()
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query["to"][0])
            self.end_headers()
        elif path == "/big":
            self._send(200, b"[" + b" " * 5000 + b"]")
        elif path == "/truncated":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(BODY)
        elif path == "/odd-length":
            # A Content-Length in digits other than ASCII ("²" is a digit to str.isdigit()).
            self.send_response(200)
            self.send_header("Content-Length", "\u00b2")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(BODY)
        elif path == "/down":
            self._send(503, b"busy")
        elif path == "/missing":
            self._send(404, b"no")
        elif path == "/gzip":
            self._send(200, gzip.compress(BODY), encoding="gzip")
        elif path == "/gzip-members":
            self._send(200, gzip.compress(BODY[:20]) + gzip.compress(BODY[20:]), encoding="gzip")
        elif path == "/deflate-zlib":
            self._send(200, zlib.compress(BODY), encoding="deflate")
        elif path == "/deflate-raw":
            raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
            self._send(200, raw.compress(BODY) + raw.flush(), encoding="deflate")
        elif path == "/feed.json.gz":
            self._send(200, gzip.compress(BODY), content_type="application/gzip")
        elif path == "/bomb":
            self._send(200, gzip_bomb(), encoding="gzip")
        elif path == "/bomb.json.gz":
            self._send(200, gzip_bomb(), content_type="application/gzip")
        elif path == "/gzip-truncated":
            self._send(200, gzip.compress(BODY)[:-12], encoding="gzip")
        elif path == "/gzip-corrupt":
            self._send(200, gzip.compress(BODY)[:10] + b"this is not deflate data" * 3, encoding="gzip")
        elif path == "/brotli":
            self._send(200, b"\x8b\x03\x80[]\x03", encoding="br")
        elif path == "/trickle-body":
            self.send_response(200)
            self.send_header("Content-Length", "40")
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.2)
        elif path == "/trickle-headers":
            for byte in b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]":
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
        elif path == "/etag":
            if self.headers.get("If-None-Match") == ETAG:
                self.send_response(304)
                self.send_header("ETag", ETAG)
                self.end_headers()
            else:
                self._send(200, Handler.feed, headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED})
        elif path == "/versioned":
            # An ETag per body, as servers give it.
            etag = f'"{hashlib.sha1(Handler.feed).hexdigest()[:12]}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
            else:
                self._send(200, Handler.feed, headers={"ETag": etag})
        elif path == "/always-304":
            self.send_response(304)
            self.end_headers()

    def _send(self, status, body, *, encoding=None, content_type="application/json; charset=utf-8", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if encoding:
            self.send_header("Content-Encoding", encoding)
        for name, value in dict(headers).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def serve(httpd):
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    return httpd


@pytest.fixture
def server():
    Handler.requests, Handler.feed = [], BODY
    httpd = serve(http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler))
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def allow_local(settings):
    settings.FEEDS_ALLOW_PRIVATE_ADDRESSES = True
    settings.FEEDS_MAX_BYTES = 4000
    settings.FEEDS_MAX_REDIRECTS = 3
    return settings


class FakeDNS(dict):
    """Name -> addresses; `lookups` lists the names asked for."""

    def __init__(self):
        super().__init__()
        self.lookups = []

    def resolve(self, host, port):
        self.lookups.append(host)
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        if host not in self:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(a) for a in self[host]]


@pytest.fixture
def dns(monkeypatch):
    """Answers for made-up names (`dns[name] = [address, ...]`); any other
    name fails to resolve, so no test asks a real DNS server."""
    fake = FakeDNS()
    monkeypatch.setattr(fetch, "resolve", fake.resolve)
    return fake


@pytest.fixture
def no_connections(monkeypatch):
    """A refusal must come before any connection is tried."""

    def connect(self, address):
        raise AssertionError(f"tried to connect to {address}")

    monkeypatch.setattr(socket.socket, "connect", connect)


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


def test_a_content_length_in_other_digits_is_ignored(server, allow_local):
    """Found in the issue 12 audit: int("²") raised ValueError out of the fetch."""
    assert fetch.fetch_url(f"{server}/odd-length").text == BODY.decode()


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
    with pytest.raises(fetch.FetchError, match="127.0.0.1 is loopback; refused") as error:
        fetch.fetch_url(f"{server}/feed.json")
    assert "FEEDS_ALLOW_PRIVATE_ADDRESSES" in str(error.value)
    with pytest.raises(fetch.FetchError, match="10.1.2.3 is private-use; refused"):
        fetch.fetch_url("http://10.1.2.3/feed.json")
    assert Handler.requests == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed.json", "gopher://x/"])
def test_only_http_schemes(url):
    with pytest.raises(fetch.FetchError, match="scheme"):
        fetch.fetch_url(url)


@pytest.mark.parametrize("location", ["/etc/passwd", "file:///etc/passwd", "etc/passwd", "C:\\feeds\\feed.json"])
def test_fetch_never_reads_local_files(location, tmp_path):
    # Only the command line reads files (read_file); a curator's URL never does.
    with pytest.raises(fetch.FetchError, match="http"):
        fetch.fetch_url(location)


def test_local_files_with_the_size_limit(tmp_path, settings):
    settings.FEEDS_MAX_BYTES = 100
    small = tmp_path / "feed.json"
    small.write_bytes(BODY)
    assert fetch.read_file(small).text == BODY.decode()
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 200)
    with pytest.raises(fetch.FetchError, match="limit"):
        fetch.read_file(big)


# Addresses: resolved once, every address checked, the connection pinned ---------

def test_the_connection_goes_to_the_address_that_was_checked(server, allow_local, monkeypatch):
    # DNS rebinding: the first answer passes the check, a second one would
    # point elsewhere (127.0.0.2: nothing listens there). One lookup only.
    port = int(server.rsplit(":", 1)[1])
    real_getaddrinfo, answers = socket.getaddrinfo, iter(["127.0.0.1", "127.0.0.2", "127.0.0.2"])

    def getaddrinfo(host, *args, **kwargs):
        if host == "feeds.example.test":
            host = next(answers)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    fetched = fetch.fetch_url(f"http://feeds.example.test:{port}/feed.json")
    assert fetched.text == BODY.decode()
    assert Handler.requests[0][1]["Host"] == f"feeds.example.test:{port}"
    assert next(answers) == "127.0.0.2"  # one answer was used


REFUSED = [
    ("100.100.100.200", "not globally reachable (IANA special-purpose address registry)"),
    ("100.64.0.1", "not globally reachable"),
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("2002:a9fe:a9fe::1", "a 6to4 address for 169.254.169.254, which is link-local"),
    ("2002:c0a8:101::1", "a 6to4 address for 192.168.1.1, which is private-use"),
    ("2002:7f00:1::1", "a 6to4 address for 127.0.0.1, which is loopback"),
    ("::ffff:169.254.169.254", "an IPv4-mapped address for 169.254.169.254, which is link-local"),
    ("::ffff:10.0.0.1", "an IPv4-mapped address for 10.0.0.1, which is private-use"),
    ("64:ff9b::a9fe:a9fe", "a NAT64 address for 169.254.169.254, which is link-local"),
    ("64:ff9b::6464:64c8", "a NAT64 address for 100.100.100.200, which is not globally reachable"),
    # Teredo: server 65.54.227.120, client 10.0.0.1 (stored inverted).
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "a Teredo address for 10.0.0.1, which is private-use"),
    ("64:ff9b:1::1", "reserved"),  # local-use NAT64
    ("::10.0.0.1", "reserved"),  # IPv4-compatible, deprecated
    ("127.0.0.53", "loopback"),
    ("::1", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("fec0::1", "site-local"),
    ("10.1.2.3", "private-use"),
    ("172.16.0.1", "private-use"),
    ("192.168.1.1", "private-use"),
    ("fd12:3456::1", "private-use"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("100::1", "reserved"),  # discard-only
    # The rest of IANA's special-purpose registries, one address per block that is not globally reachable.
    ("0.1.2.3", "not globally reachable"),
    ("192.0.0.8", "not globally reachable"),
    ("192.0.0.170", "not globally reachable"),
    ("192.0.2.1", "not globally reachable"),
    ("198.18.0.1", "not globally reachable"),
    ("198.51.100.7", "not globally reachable"),
    ("203.0.113.9", "not globally reachable"),
    ("2001:2::1", "not globally reachable"),
    ("2001:10::1", "not globally reachable"),
    ("2001:db8::1", "not globally reachable"),
    ("3fff::1", "not globally reachable"),
    ("5f00::1", "reserved"),  # SRv6 SIDs
]


@pytest.mark.parametrize("address, rule", REFUSED)
def test_special_purpose_addresses_are_refused_with_the_rule_named(address, rule, dns, no_connections):
    dns["feeds.example.test"] = [address]
    with pytest.raises(fetch.FetchError) as error:
        fetch.fetch_url("https://feeds.example.test/feed.json")
    assert not isinstance(error.value, fetch.TransientFetchError)
    assert f"feeds.example.test resolves to {ipaddress.ip_address(address)}, which is {rule}" in str(error.value)


def test_the_refusal_reads_as_a_sentence(dns, no_connections):
    dns["feeds.example.test"] = ["100.100.100.200"]
    with pytest.raises(fetch.FetchError) as error:
        fetch.fetch_url("http://feeds.example.test/feed.json")
    assert str(error.value) == (
        "feeds.example.test resolves to 100.100.100.200, which is not globally reachable (IANA special-purpose "
        "address registry); refused: feeds are fetched from public addresses only"
    )


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
                                     "::ffff:93.184.215.14", "64:ff9b::5db8:d70e", "2002:5db8:d70e::1"])
def test_public_addresses_pass_in_every_form(address):
    assert fetch.address_refusal(ipaddress.ip_address(address), allow_private=False) is None


def test_every_address_of_a_name_is_checked(dns, no_connections):
    dns["mixed.example.test"] = ["93.184.215.14", "10.0.0.1"]
    with pytest.raises(fetch.FetchError, match="resolves to 10.0.0.1, which is private-use"):
        fetch.fetch_url("http://mixed.example.test/feed.json")


def test_allowing_private_addresses_opens_loopback_and_private_use_only(settings, dns, no_connections):
    settings.FEEDS_ALLOW_PRIVATE_ADDRESSES = True
    for address in ["127.0.0.1", "::1", "10.0.0.1", "192.168.1.1", "fd00::1", "::ffff:127.0.0.1"]:
        assert fetch.address_refusal(ipaddress.ip_address(address), allow_private=True) is None
    for address, rule in [("169.254.169.254", "link-local"), ("2002:a9fe:a9fe::1", "6to4"),
                          ("100.100.100.200", "not globally reachable"), ("0.0.0.0", "unspecified"),
                          ("ff02::1", "multicast")]:
        dns["metadata.example.test"] = [address]
        with pytest.raises(fetch.FetchError, match=rule):
            fetch.fetch_url("http://metadata.example.test/latest/meta-data/")


def test_every_redirect_hop_is_checked(server, allow_local, dns):
    dns["metadata.example.test"] = ["169.254.169.254"]
    with pytest.raises(fetch.FetchError, match="metadata.example.test resolves to 169.254.169.254, which is link-local"):
        fetch.fetch_url(f"{server}/redirect?to=http://metadata.example.test/latest/meta-data/")
    assert "metadata.example.test" in dns.lookups
    with pytest.raises(fetch.FetchError, match="scheme 'file' refused"):
        fetch.fetch_url(f"{server}/redirect?to=file:///etc/passwd")


@pytest.fixture
def tls_server(monkeypatch):
    """An HTTPS server on 127.0.0.1 with a certificate for feeds.example.test,
    trusted by the fetcher; yields (port, the server names clients asked for)."""
    Handler.requests = []
    server_names = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(TLS / "feeds.example.test.crt", TLS / "feeds.example.test.key")
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    serve(httpd)
    monkeypatch.setattr(fetch, "tls_context", lambda: ssl.create_default_context(cafile=TLS / "feeds.example.test.crt"))
    yield httpd.server_address[1], server_names
    httpd.shutdown()
    httpd.server_close()


def test_https_to_the_checked_address_verifies_the_host_name(tls_server, allow_local, dns):
    port, server_names = tls_server
    dns["feeds.example.test"] = ["127.0.0.1"]
    fetched = fetch.fetch_url(f"https://feeds.example.test:{port}/feed.json")
    assert fetched.text == BODY.decode()
    assert server_names == ["feeds.example.test"]  # SNI
    assert Handler.requests[0][1]["Host"] == f"feeds.example.test:{port}"


def test_https_refuses_a_certificate_for_another_name(tls_server, allow_local, dns):
    port, _ = tls_server
    dns["other.example.test"] = ["127.0.0.1"]
    with pytest.raises(fetch.FetchError, match="TLS certificate of other.example.test .* is not valid") as error:
        fetch.fetch_url(f"https://other.example.test:{port}/feed.json")
    assert not isinstance(error.value, fetch.TransientFetchError)
    assert Handler.requests == []


# The overall deadline ----------------------------------------------------------

@pytest.mark.parametrize("path", ["/trickle-body", "/trickle-headers", "/slow-hop/3"])
def test_a_slow_server_is_cut_off_at_the_overall_deadline(path, server, allow_local):
    # One byte every 0.2 s never trips the 5 s read timeout; the 1 s deadline stops it.
    allow_local.FEEDS_READ_TIMEOUT_SECONDS = 5
    allow_local.FEEDS_TOTAL_TIMEOUT_SECONDS = 1
    started = time.monotonic()
    with pytest.raises(fetch.TransientFetchError, match=r"gave up on 127.0.0.1 after 1 s \(FEEDS_TOTAL_TIMEOUT"):
        fetch.fetch_url(f"{server}{path}")
    assert time.monotonic() - started < 1.5


# Compressed bodies -------------------------------------------------------------

@pytest.mark.parametrize("path", ["/gzip", "/gzip-members", "/deflate-zlib", "/deflate-raw", "/feed.json.gz"])
def test_compressed_bodies_are_inflated(path, server, allow_local):
    assert fetch.fetch_url(f"{server}{path}").text == BODY.decode()
    assert "gzip" in Handler.requests[0][1]["Accept-Encoding"]


@pytest.mark.parametrize("path", ["/bomb", "/bomb.json.gz"])
def test_a_gzip_bomb_stops_at_the_limit_in_bounded_memory(path, server, allow_local):
    allow_local.FEEDS_MAX_BYTES = 100_000  # the 20 kB bomb fits; its 20 MB do not
    gzip_bomb()
    tracemalloc.start()
    try:
        with pytest.raises(fetch.FetchError, match=r"the feed is gzip-compressed and expands to more than 100,000 bytes, the limit \(FEEDS_MAX_BYTES"):
            fetch.fetch_url(f"{server}{path}")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000


def test_a_gzip_file_is_inflated_within_the_limit_by_read_file_too(tmp_path, settings):
    settings.FEEDS_MAX_BYTES = 100_000
    path = tmp_path / "feed.json.gz"
    path.write_bytes(gzip.compress(BODY))
    assert fetch.read_file(path).text == BODY.decode()
    path.write_bytes(gzip_bomb())
    with pytest.raises(fetch.FetchError, match=r"expands to more than 100,000 bytes, the limit \(FEEDS_MAX_BYTES"):
        fetch.read_file(path)


@pytest.mark.parametrize("path, message", [("/gzip-truncated", "gzip-compressed but ends early"),
                                           ("/gzip-corrupt", "gzip-compressed but damaged")])
def test_broken_gzip_is_unreadable(path, message, server, allow_local):
    with pytest.raises(FeedUnreadable, match=message):
        fetch.fetch_url(f"{server}{path}")


def test_an_encoding_we_did_not_ask_for_is_refused(server, allow_local):
    with pytest.raises(fetch.FetchError, match="Content-Encoding 'br' is not supported"):
        fetch.fetch_url(f"{server}/brotli")


# Conditional GET -----------------------------------------------------------------

def test_validators_are_sent_back_and_a_304_is_not_modified(server, allow_local):
    first = fetch.fetch_url(f"{server}/etag")
    assert (first.text, first.etag, first.last_modified, first.not_modified) == (BODY.decode(), ETAG, LAST_MODIFIED,
                                                                                 False)
    again = fetch.fetch_url(f"{server}/etag", etag=first.etag, last_modified=first.last_modified)
    assert (again.text, again.etag, again.not_modified) == ("", ETAG, True)
    headers = Handler.requests[1][1]
    assert (headers["If-None-Match"], headers["If-Modified-Since"]) == (ETAG, LAST_MODIFIED)
    assert "If-None-Match" not in Handler.requests[0][1]


def test_a_304_to_a_plain_request_is_an_error(server, allow_local):
    with pytest.raises(fetch.FetchError, match="304 .* not conditional"):
        fetch.fetch_url(f"{server}/always-304")


def test_an_unchanged_feed_is_not_downloaded_again(server, allow_local, vocabularies):
    Handler.feed = json.dumps([feed_record(n) for n in range(3)]).encode()
    source = make_source(url=f"{server}/etag")
    first = feed_import(source_id=source.pk)
    assert (first.status, first.created) == (ImportRun.Status.SUCCEEDED, 3)
    source.refresh_from_db()
    assert (source.fetched_etag, source.fetched_last_modified) == (ETAG, LAST_MODIFIED)

    second = feed_import(source_id=source.pk)
    assert (second.status, second.reason) == (ImportRun.Status.SUCCEEDED, NOT_MODIFIED_REASON)
    assert (second.records, second.created, second.updated, second.removed) == (0, 0, 0, 0)
    assert Handler.requests[1][1]["If-None-Match"] == ETAG
    assert Meeting.objects.filter(feed_source=source).count() == 3
    assert FeedSource.objects.get(pk=source.pk).last_status == ImportRun.Status.SUCCEEDED


def test_a_held_feed_is_downloaded_again(server, allow_local, vocabularies):
    Handler.feed = b"<html>maintenance</html>"
    source = make_source(url=f"{server}/etag")
    assert feed_import(source_id=source.pk).status == ImportRun.Status.HELD
    assert feed_import(source_id=source.pk).status == ImportRun.Status.HELD
    assert [headers.get("If-None-Match") for _, headers in Handler.requests] == [None, None]


def _published(source) -> int:
    return Meeting.objects.filter(feed_source=source).published().count()


def test_a_held_run_superseded_by_a_304_cannot_roll_the_directory_back(server, allow_local, vocabularies):
    """A glitch shrank the feed (held), the next fetch was the full feed
    again (304: what the directory holds): approving the held run removed 6
    meetings, and every later 304 kept them removed."""
    full = json.dumps([feed_record(n) for n in range(10)]).encode()
    source = make_source(url=f"{server}/versioned")
    Handler.feed = full
    assert feed_import(source_id=source.pk).created == 10
    Handler.feed = json.dumps([feed_record(n) for n in range(4)]).encode()
    held = feed_import(source_id=source.pk)
    assert held.status == ImportRun.Status.HELD
    Handler.feed = full
    later = feed_import(source_id=source.pk)
    assert (later.status, later.reason) == (ImportRun.Status.SUCCEEDED, NOT_MODIFIED_REASON)
    held.refresh_from_db()
    assert held.status == ImportRun.Status.FAILED and held.reason.startswith(f"superseded by run {later.pk} ")
    with pytest.raises(HeldRunSuperseded):
        import_run_approve(run=held)
    assert _published(source) == 10
    assert feed_import(source_id=source.pk).reason == NOT_MODIFIED_REASON and _published(source) == 10


def test_an_approved_held_run_forgets_the_validators_of_the_feed_before_it(server, allow_local, vocabularies):
    """The directory is the approved feed now: when the server goes back to
    the feed the kept validators name, its 304 must not say "nothing changed"."""
    full = json.dumps([feed_record(n) for n in range(10)]).encode()
    source = make_source(url=f"{server}/versioned")
    Handler.feed = full
    feed_import(source_id=source.pk)
    Handler.feed = json.dumps([feed_record(n) for n in range(4)]).encode()
    held = feed_import(source_id=source.pk)
    approved = import_run_approve(run=held)
    assert (approved.status, approved.removed, _published(source)) == (ImportRun.Status.SUCCEEDED, 6, 4)
    source.refresh_from_db()
    assert (source.fetched_etag, source.fetched_last_modified) == ("", "")
    Handler.feed = full
    back = feed_import(source_id=source.pk)
    assert (back.status, back.restored, _published(source)) == (ImportRun.Status.SUCCEEDED, 6, 10)
    assert "If-None-Match" not in Handler.requests[-1][1]


def test_a_feed_whose_meeting_may_be_a_copy_again_is_downloaded_again(server, allow_local, vocabularies):
    """Once a curator takes back "not a copy" (services.meetings_not_copies_undo),
    the next import decides again whether the two are one meeting: a 304 for
    the feed as it was would leave them as they are."""
    intergroup = make_source("oc")
    run_feed(intergroup, [feed_record(1, name="Serenity Group")])
    Handler.feed = json.dumps([feed_record(1, name="Serenity", slug="d-77")]).encode()
    district = make_source("district", url=f"{server}/etag")
    assert feed_import(source_id=district.pk).duplicates == 1
    kept, copy = Meeting.objects.get(feed_source=intergroup), Meeting.objects.get(feed_source=district)
    meetings_not_copies(meetings=Meeting.objects.filter(pk=copy.pk))
    assert feed_import(source_id=district.pk).reason == NOT_MODIFIED_REASON
    meetings_not_copies_undo(meeting=copy, other=kept)
    run = feed_import(source_id=district.pk)
    assert (run.status, run.reason, run.duplicates) == (ImportRun.Status.SUCCEEDED, "", 1)
    assert "If-None-Match" not in Handler.requests[-1][1]
    copy.refresh_from_db()
    assert copy.duplicate_of == kept
    assert feed_import(source_id=district.pk).reason == NOT_MODIFIED_REASON  # and conditional again after that


def test_a_released_place_the_feed_must_give_again_is_downloaded_again(server, allow_local, vocabularies,
                                                                       admin_client):
    """A curator moved a meeting, its feed's hall was deleted, and the
    curator gave the place back to the feed (services.meeting_release_lock):
    the next import is to place it where the feed says. A 304 for the feed as
    it was left it where the curator had put it."""
    grace = {"location": "Grace Church", "address": "1 Main St", "latitude": 33.7, "longitude": -117.8}
    Handler.feed = json.dumps([feed_record(1, **grace)]).encode()
    source = make_source(url=f"{server}/etag")
    assert feed_import(source_id=source.pk).created == 1
    meeting = Meeting.objects.get(feed_source=source)
    feed_place = meeting.location
    elsewhere = Location.objects.create(name="Elsewhere", address="7 Elm St", latitude=33.5, longitude=-117.5)
    admin_client.post(change_url(meeting), meeting_form_data(meeting, location=elsewhere.pk))
    feed_place.delete()  # a superuser tidied up the empty hall
    assert feed_import(source_id=source.pk).reason == NOT_MODIFIED_REASON
    meeting.refresh_from_db()
    meeting_release_lock(meeting=meeting, field=PLACE)
    run = feed_import(source_id=source.pk)
    assert (run.status, run.reason, run.updated) == (ImportRun.Status.SUCCEEDED, "", 1)
    assert "If-None-Match" not in Handler.requests[-1][1]
    meeting.refresh_from_db()
    assert (meeting.location.name, meeting.location.address) == ("Grace Church", "1 Main St")
    assert feed_import(source_id=source.pk).reason == NOT_MODIFIED_REASON  # and conditional again after that


def test_validators_of_another_url_are_not_sent(server, allow_local, vocabularies):
    source = make_source(url=f"{server}/etag?new", fetched_url=f"{server}/etag", fetched_etag=ETAG,
                         fetched_last_modified=LAST_MODIFIED)
    Handler.feed = json.dumps([feed_record(1)]).encode()
    assert feed_import(source_id=source.pk).created == 1
    assert "If-None-Match" not in Handler.requests[0][1]


def test_a_utf16_feed_without_a_charset_is_read_as_utf16():
    """A body with a UTF-16 byte-order mark and no declared charset was read as
    UTF-8 with replacement characters, losing every accent (issue 12)."""
    from meetings.feeds.fetch import _decode

    text = '[{"name": "Grupo Rendición"}]'
    assert _decode(b"\xff\xfe" + text.encode("utf-16-le"), "application/json") == text
    assert _decode(text.encode("utf-8"), "application/json; charset=utf-8") == text
    assert _decode(b"\xff\xfe\x00", "application/json") != ""
