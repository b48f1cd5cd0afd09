"""Fetching a feed safely: http(s) only, connect and read timeouts, a maximum
body size, a bounded number of redirects, and no private or loopback
addresses unless `FEEDS_ALLOW_PRIVATE_ADDRESSES` is on (a feed URL is typed
by an admin, but the server must not become a way to reach the inside).
Local files are read with the same size limit."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from meetings.feeds.records import FeedUnreadable


class FetchError(Exception):
    """The feed could not be fetched, and trying again will not help."""


class TransientFetchError(FetchError):
    """A network error or a server error: worth retrying later."""


@dataclass(frozen=True)
class Fetched:
    text: str
    content_type: str
    url: str


def _limits() -> tuple[float, float, int, int, bool]:
    return (
        settings.FEEDS_CONNECT_TIMEOUT_SECONDS,
        settings.FEEDS_READ_TIMEOUT_SECONDS,
        settings.FEEDS_MAX_BYTES,
        settings.FEEDS_MAX_REDIRECTS,
        settings.FEEDS_ALLOW_PRIVATE_ADDRESSES,
    )


def check_address(host: str, port: int, *, allow_private: bool) -> None:
    """Refuse hosts that resolve to private, loopback, link-local or reserved addresses."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise TransientFetchError(f"cannot resolve {host}: {error}") from error
    if allow_private:
        return
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if (address.is_private or address.is_loopback or address.is_link_local or address.is_reserved
                or address.is_multicast or address.is_unspecified):
            raise FetchError(f"{host} resolves to a private or loopback address ({address}); refused")


def _decode(body: bytes, content_type: str) -> str:
    charset = "utf-8"
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip('"')
    try:
        return body.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return body.decode("utf-8", errors="replace")


def _read_limited(response: http.client.HTTPResponse, max_bytes: int) -> bytes:
    length = response.getheader("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise FetchError(f"feed is {int(length)} bytes; the limit is {max_bytes}")
    chunks, total = [], 0
    while True:
        try:
            chunk = response.read(64 * 1024)
        except http.client.IncompleteRead as error:
            raise FeedUnreadable(
                f"truncated body: the connection closed after {total + len(error.partial)} bytes"
            ) from error
        if not chunk:
            break
        total += len(chunk)
        if total > max_bytes:
            raise FetchError(f"feed is larger than the limit of {max_bytes} bytes")
        chunks.append(chunk)
    if length and length.isdigit() and total < int(length):
        raise FeedUnreadable(f"truncated body: {total} of {int(length)} bytes arrived")
    return b"".join(chunks)


def fetch_url(url: str) -> Fetched:
    """GET a feed. Raises `FetchError` (refused, too big, client error),
    `TransientFetchError` (network or server error) or `FeedUnreadable`
    (truncated body)."""
    connect_timeout, read_timeout, max_bytes, max_redirects, allow_private = _limits()
    for _hop in range(max_redirects + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"scheme {parts.scheme!r} refused: feeds are fetched over http(s) only")
        if not parts.hostname:
            raise FetchError(f"{url!r} has no host")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        check_address(parts.hostname, port, allow_private=allow_private)
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname, port, timeout=connect_timeout, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(parts.hostname, port, timeout=connect_timeout)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        try:
            connection.connect()
            connection.sock.settimeout(read_timeout)
            connection.request("GET", path, headers={
                "User-Agent": settings.FEEDS_USER_AGENT, "Accept": "application/json, text/csv, */*",
            })
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise FetchError(f"redirect {response.status} without a Location")
                url = urljoin(url, location)
                continue
            if response.status >= 500:
                raise TransientFetchError(f"server error {response.status} from {parts.hostname}")
            if response.status >= 400:
                raise FetchError(f"HTTP {response.status} from {parts.hostname}")
            content_type = response.getheader("Content-Type", "")
            body = _read_limited(response, max_bytes)
            return Fetched(_decode(body, content_type), content_type, url)
        except (TimeoutError, socket.timeout) as error:
            raise TransientFetchError(f"timed out fetching {parts.hostname}") from error
        except (ConnectionError, http.client.HTTPException, ssl.SSLError, OSError) as error:
            if isinstance(error, (FetchError, FeedUnreadable)):
                raise
            raise TransientFetchError(f"network error fetching {parts.hostname}: {error}") from error
        finally:
            connection.close()
    raise FetchError(f"more than {max_redirects} redirects")


def read_file(path: str | Path) -> Fetched:
    _, _, max_bytes, _, _ = _limits()
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise FetchError(f"cannot read {path}: {error.strerror}") from error
    if size > max_bytes:
        raise FetchError(f"{path} is {size} bytes; the limit is {max_bytes}")
    data = path.read_bytes()
    content_type = "text/csv" if path.suffix.lower() == ".csv" else "application/json"
    return Fetched(_decode(data, content_type), content_type, str(path))


def fetch(location: str) -> Fetched:
    """A URL or a local path."""
    if "://" in location:
        return fetch_url(location)
    return read_file(location)
