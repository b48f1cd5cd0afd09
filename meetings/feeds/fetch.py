"""Fetching a feed safely (README.md, "What keeps data safe"). A feed URL is
typed by a curator, so the server must not become a way to reach the inside:
every address of the host must be globally reachable (`address_refusal`), and
the connection goes to the address that was checked, so a second DNS answer
cannot send it elsewhere (DNS rebinding); nor be held by a slow or hostile
feed server: timeouts, an overall deadline, and `FEEDS_MAX_BYTES` on the body
as received and as inflated.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import ssl
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from meetings.feeds.body import GZIP_MAGIC, Inflater, decode_body
from meetings.feeds.records import FeedUnreadable

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# RFC 6052's well-known NAT64 prefix: the IPv4 address is the last 32 bits.
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
# What FEEDS_ALLOW_PRIVATE_ADDRESSES opens besides loopback: the private-use
# networks of RFC 1918 and RFC 4193 (an intranet's feed server).
PRIVATE_USE_NETWORKS = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                               "fc00::/7"))
# Blocks IANA's registries list as not globally reachable that an older
# `ipaddress` takes for global: 192.0.0.0/24 before CPython gh-113171 (3.11.10,
# 3.12.4) and 3fff::/20 (documentation, registered 2024). Harmless once the
# runtime knows them.
NOT_GLOBAL_UNKNOWN_TO_OLDER_PYTHON = tuple(ipaddress.ip_network(n) for n in ("192.0.0.0/24", "3fff::/20"))
# FeedSource keeps validators up to this length; a longer one is not remembered.
VALIDATOR_MAX_LENGTH = 500


class FetchError(Exception):
    """The feed could not be fetched, and trying again will not help."""


class TransientFetchError(FetchError):
    """A network error, a server error or a server too slow: worth retrying later."""


@dataclass(frozen=True)
class Fetched:
    text: str
    content_type: str
    url: str
    # The validators to send next time (conditional GET); empty when the server gave none.
    etag: str = ""
    last_modified: str = ""
    # A 304 to a conditional request: nothing was downloaded, `text` is empty.
    not_modified: bool = False


# Addresses -------------------------------------------------------------------

@dataclass(frozen=True)
class _Embedded:
    """The IPv4 address(es) an IPv6 address carries."""
    form: str  # "a 6to4", ...
    ipv4s: tuple[ipaddress.IPv4Address, ...]
    # IPv4-mapped and NAT64 packets go to the IPv4 address: it alone decides.
    decides: bool


def _embedded_ipv4(address: ipaddress.IPv6Address) -> _Embedded | None:
    if address.ipv4_mapped is not None:
        return _Embedded("an IPv4-mapped", (address.ipv4_mapped,), decides=True)
    if address.sixtofour is not None:
        return _Embedded("a 6to4", (address.sixtofour,), decides=False)
    if address.teredo is not None:
        return _Embedded("a Teredo", address.teredo, decides=False)  # (server, client)
    if address in NAT64_PREFIX:
        return _Embedded("a NAT64", (ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF),), decides=True)
    return None


def _in_any(address: Address, networks: tuple) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def _is_private_use(address: Address) -> bool:
    return _in_any(address, PRIVATE_USE_NETWORKS)


def address_refusal(address: Address, *, allow_private: bool) -> str | None:
    """Why a feed may not be fetched from `address`, as a phrase naming the
    rule ("link-local", "not globally reachable ..."), or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(address)):
        for ipv4 in embedded.ipv4s:
            if reason := address_refusal(ipv4, allow_private=allow_private):
                return f"{embedded.form} address for {ipv4}, which is {reason}"
        if embedded.decides:
            return None
    if allow_private and (address.is_loopback or _is_private_use(address)):
        return None
    rules = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("site-local", getattr(address, "is_site_local", False)),
        ("private-use", _is_private_use(address)),
        ("reserved", address.is_reserved),
        # is_global is False for every block IANA lists as not globally reachable.
        ("not globally reachable (IANA special-purpose address registry)",
         not address.is_global or _in_any(address, NOT_GLOBAL_UNKNOWN_TO_OLDER_PYTHON)),
    )
    return next((rule for rule, applies in rules if applies), None)


def resolve(host: str, port: int) -> list[Address]:
    """The addresses `host` has, from one lookup, each once in the order
    given. Tests replace this to answer for made-up names."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def checked_addresses(host: str, port: int, *, allow_private: bool) -> list[Address]:
    """Resolve `host` once and refuse it unless every address passes
    `address_refusal`; the connection is then made to these addresses only."""
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as error:
        raise TransientFetchError(f"cannot resolve {host}: {error}") from error
    if not addresses:
        raise TransientFetchError(f"cannot resolve {host}: no addresses")
    for address in addresses:
        if reason := address_refusal(address, allow_private=allow_private):
            where = str(address) if host == str(address) else f"{host} resolves to {address}, which"
            hint = ""
            if address.is_loopback or _is_private_use(address):
                hint = " (FEEDS_ALLOW_PRIVATE_ADDRESSES lets loopback and private-use networks through)"
            raise FetchError(f"{where} is {reason}; refused: feeds are fetched from public addresses only{hint}")
    return addresses


def tls_context() -> ssl.SSLContext:
    """Certificates checked against the system's CAs (tests trust their own)."""
    return ssl.create_default_context()


# Connections -----------------------------------------------------------------

class _OutOfTime(Exception):
    """The overall deadline passed."""


class _Deadline:
    def __init__(self, seconds: float):
        self._at = time.monotonic() + seconds

    def timeout(self, limit: float) -> float:
        """`limit`, or what is left of the deadline when that is shorter."""
        left = self._at - time.monotonic()
        if left <= 0:
            raise _OutOfTime
        return min(limit, left)

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self._at


class _DeadlineReader(io.RawIOBase):
    """A socket as http.client reads a response from it (`HTTPResponse` is
    given this in its place, and only calls `makefile("rb")`): every read
    waits at most the read timeout and never past the deadline, so a server
    trickling its headers, chunk sizes or body is cut off at the deadline."""

    def __init__(self, sock: socket.socket, *, deadline: _Deadline, read_timeout: float):
        super().__init__()
        self._sock = sock
        self._stream = sock.makefile("rb", buffering=0)  # keeps the socket open while the response is read
        self._deadline = deadline
        self._read_timeout = read_timeout

    def makefile(self, mode: str, *args, **kwargs) -> io.BufferedReader:
        return io.BufferedReader(self)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int | None:
        self._sock.settimeout(self._deadline.timeout(self._read_timeout))
        try:
            return self._stream.readinto(buffer)
        except TimeoutError:
            if self._deadline.passed:
                raise _OutOfTime from None
            raise

    def close(self) -> None:
        self._stream.close()
        super().close()


class PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to an address checked beforehand. `host` names the
    site in the Host header (and in TLS, in the subclass) and is never looked
    up again."""

    def __init__(self, host: str, port: int, *, address: Address, deadline: _Deadline):
        super().__init__(host, port, timeout=settings.FEEDS_CONNECT_TIMEOUT_SECONDS)
        self.address = address
        self.deadline = deadline
        self.read_timeout = settings.FEEDS_READ_TIMEOUT_SECONDS

    def connect(self) -> None:
        sock = socket.socket(socket.AF_INET6 if self.address.version == 6 else socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.deadline.timeout(self.timeout))
            sock.connect((str(self.address), self.port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except BaseException:
            sock.close()
            raise
        self.sock = sock

    def send(self, data) -> None:
        self.sock.settimeout(self.deadline.timeout(self.read_timeout))
        super().send(data)

    def response_class(self, sock: socket.socket, *args, **kwargs) -> http.client.HTTPResponse:
        # Called by getresponse() as self.response_class(sock, method=...).
        reader = _DeadlineReader(sock, deadline=self.deadline, read_timeout=self.read_timeout)
        return http.client.HTTPResponse(reader, *args, **kwargs)


class PinnedHTTPSConnection(PinnedHTTPConnection):
    default_port = http.client.HTTPS_PORT

    def __init__(self, host: str, port: int, *, context: ssl.SSLContext, **kwargs):
        super().__init__(host, port, **kwargs)
        self.context = context

    def connect(self) -> None:
        super().connect()
        # SNI and the certificate check are for the host name, not the address.
        # The socket timeout bounds the whole handshake.
        self.sock.settimeout(self.deadline.timeout(self.timeout))
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host)


def _connect(*, scheme: str, host: str, port: int, addresses: list[Address],
             deadline: _Deadline) -> PinnedHTTPConnection:
    """A connection to the first of the checked addresses that answers."""
    last_error: OSError | None = None
    for address in addresses:
        if scheme == "https":
            connection = PinnedHTTPSConnection(host, port, context=tls_context(), address=address, deadline=deadline)
        else:
            connection = PinnedHTTPConnection(host, port, address=address, deadline=deadline)
        try:
            connection.connect()
        except ssl.SSLCertVerificationError as error:
            connection.close()
            raise FetchError(f"the TLS certificate of {host} ({address}) is not valid: "
                             f"{error.verify_message or error}") from error
        except OSError as error:
            connection.close()
            last_error = error
            continue
        except BaseException:
            connection.close()
            raise
        return connection
    assert last_error is not None
    raise last_error


# Bodies ----------------------------------------------------------------------

def _inflater(encoding: str, start: bytes, max_bytes: int) -> Inflater | None:
    """How to decode a body sent with `Content-Encoding: encoding` that begins
    with `start` (at least two bytes unless the body is shorter)."""
    if encoding in ("gzip", "x-gzip") or (encoding == "identity" and start.startswith(GZIP_MAGIC)):
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == "deflate":
        # HTTP's deflate is a zlib stream (RFC 1950), but some servers send raw deflate.
        is_zlib = len(start) >= 2 and start[0] & 0x0F == 8 and int.from_bytes(start[:2], "big") % 31 == 0
        wbits = zlib.MAX_WBITS if is_zlib else -zlib.MAX_WBITS
    else:
        return None
    return Inflater(wbits=wbits, what="the feed", limit=max_bytes, setting="FEEDS_MAX_BYTES", too_large=FetchError)


class _Body:
    """A body received chunk by chunk, decoded, within the size limit."""

    def __init__(self, *, encoding: str, max_bytes: int):
        self._encoding, self._max_bytes = encoding, max_bytes
        self._start = b""  # the first bytes, held until the decoding is chosen
        self._chosen = False
        self._inflater: Inflater | None = None
        self.received = 0
        self._data = bytearray()

    def feed(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.received > self._max_bytes:
            raise FetchError(f"feed is larger than the limit of {self._max_bytes} bytes")
        if not self._chosen:
            self._start += chunk
            if len(self._start) < 2:
                return
            chunk, self._start = self._start, b""
            self._choose(chunk)
        self._data += self._inflater.feed(chunk) if self._inflater else chunk

    def _choose(self, start: bytes) -> None:
        self._inflater = _inflater(self._encoding, start, self._max_bytes)
        self._chosen = True

    def finish(self) -> bytes:
        if not self._chosen and self._start:  # a body of one byte
            self._choose(self._start)
            self._data += self._inflater.feed(self._start) if self._inflater else self._start
        if self._inflater:
            self._inflater.finish()
        return bytes(self._data)


def _decode(body: bytes, content_type: str) -> str:
    """The body as text: in its declared charset, else as its byte-order mark
    or first bytes show (UTF-16 and UTF-32 feeds exist: body.decode_body),
    else UTF-8 with replacement characters for what cannot be read."""
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            try:
                return body.decode(value.strip('"'))
            except (LookupError, UnicodeDecodeError):
                break
    try:
        return decode_body(body)
    except FeedUnreadable:
        return body.decode("utf-8", errors="replace")


def _read_limited(response: http.client.HTTPResponse, max_bytes: int) -> bytes:
    length = response.getheader("Content-Length")
    if length and not (length.isascii() and length.isdigit()):
        length = None  # not a length (http.client reads such a body to its end too)
    if length and int(length) > max_bytes:
        raise FetchError(f"feed is {int(length)} bytes; the limit is {max_bytes}")
    encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
        raise FetchError(f"Content-Encoding {encoding!r} is not supported (gzip and deflate are)")
    body = _Body(encoding=encoding, max_bytes=max_bytes)
    while True:
        try:
            chunk = response.read1(64 * 1024)
        except http.client.IncompleteRead as error:
            raise FeedUnreadable(
                f"truncated body: the connection closed after {body.received + len(error.partial)} bytes"
            ) from error
        if not chunk:
            break
        body.feed(chunk)
    if length and body.received < int(length):
        raise FeedUnreadable(f"truncated body: {body.received} of {int(length)} bytes arrived")
    return body.finish()


def _validator(response: http.client.HTTPResponse, name: str) -> str:
    value = (response.getheader(name) or "").strip()
    return value if len(value) <= VALIDATOR_MAX_LENGTH else ""


# Fetching --------------------------------------------------------------------

def _request_target(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a URL a feed may be fetched from."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        if not parts.scheme or "://" not in url:
            raise FetchError(f"{url!r} is not an http(s) URL: feeds are fetched from URLs only; "
                             f"local files are imported with the import_feed command")
        raise FetchError(f"scheme {parts.scheme!r} refused: feeds are fetched over http(s) only")
    if not parts.hostname:
        raise FetchError(f"{url!r} has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise FetchError(f"{url!r} has an invalid port") from error
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path


def fetch_url(url: str, *, etag: str = "", last_modified: str = "") -> Fetched:
    """GET a feed, as the module docstring says. With `etag` or
    `last_modified` (from an earlier `Fetched`) the request is conditional.
    Raises `FetchError` (refused, too big, client error),
    `TransientFetchError` (network or server error, deadline) or
    `FeedUnreadable` (truncated or corrupt body)."""
    deadline = _Deadline(settings.FEEDS_TOTAL_TIMEOUT_SECONDS)
    conditional = {"If-None-Match": etag, "If-Modified-Since": last_modified}
    headers = {
        "User-Agent": settings.FEEDS_USER_AGENT, "Accept": "application/json, text/csv, */*",
        "Accept-Encoding": "gzip, deflate", **{name: value for name, value in conditional.items() if value},
    }
    for _hop in range(settings.FEEDS_MAX_REDIRECTS + 1):
        scheme, host, port, path = _request_target(url)
        addresses = checked_addresses(host, port, allow_private=settings.FEEDS_ALLOW_PRIVATE_ADDRESSES)
        connection = response = None
        try:
            connection = _connect(scheme=scheme, host=host, port=port, addresses=addresses, deadline=deadline)
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise FetchError(f"redirect {response.status} without a Location")
                url = urljoin(url, location)
                continue
            if response.status == 304:
                if not (etag or last_modified):
                    raise FetchError(f"HTTP 304 (not modified) from {host} to a request that was not conditional")
                return Fetched("", "", url, etag=_validator(response, "ETag") or etag,
                               last_modified=_validator(response, "Last-Modified") or last_modified,
                               not_modified=True)
            if response.status >= 500:
                raise TransientFetchError(f"server error {response.status} from {host}")
            if response.status >= 400:
                raise FetchError(f"HTTP {response.status} from {host}")
            content_type = response.getheader("Content-Type", "")
            body = _read_limited(response, settings.FEEDS_MAX_BYTES)
            return Fetched(_decode(body, content_type), content_type, url, etag=_validator(response, "ETag"),
                           last_modified=_validator(response, "Last-Modified"))
        except _OutOfTime as error:
            raise TransientFetchError(
                f"gave up on {host} after {settings.FEEDS_TOTAL_TIMEOUT_SECONDS:g} s (FEEDS_TOTAL_TIMEOUT_SECONDS): "
                f"the server is too slow"
            ) from error
        except TimeoutError as error:
            raise TransientFetchError(f"timed out fetching {host}") from error
        except (FetchError, FeedUnreadable):
            raise
        except (http.client.HTTPException, OSError) as error:
            raise TransientFetchError(f"network error fetching {host}: {error}") from error
        finally:
            if response is not None:
                response.close()
            if connection is not None:
                connection.close()
    raise FetchError(f"more than {settings.FEEDS_MAX_REDIRECTS} redirects")


def read_file(path: str | Path) -> Fetched:
    """A local feed file, for the command line only, with the size limit (a
    gzip file is inflated within it too)."""
    max_bytes = settings.FEEDS_MAX_BYTES
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise FetchError(f"cannot read {path}: {error.strerror}") from error
    if size > max_bytes:
        raise FetchError(f"{path} is {size} bytes; the limit is {max_bytes}")
    body = _Body(encoding="identity", max_bytes=max_bytes)
    body.feed(path.read_bytes())
    data = body.finish()
    content_type = "text/csv" if path.name.lower().endswith((".csv", ".csv.gz")) else "application/json"
    return Fetched(_decode(data, content_type), content_type, str(path))
