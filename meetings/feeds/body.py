"""Reading a feed body within bounds (README.md, "Hostile feeds"): bytes or
text to text, and JSON to values, with the size, nesting and record count
limited before anything large is built. Whatever a server or an uploaded
file sends, the answer is text and values, or `FeedUnreadable` with a reason
an admin can act on; never another exception.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from itertools import accumulate

from django.conf import settings

from meetings.feeds.records import FeedUnreadable

GZIP_MAGIC = b"\x1f\x8b"
# (bytes, codec) in the order they must be tested: UTF-32 LE starts like UTF-16 LE.
BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
BINARY_MAGIC = {b"PK\x03\x04": "a ZIP archive", b"%PDF": "a PDF document", b"\x89PNG": "a PNG image",
                b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image"}
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
WHITESPACE_RE = re.compile(r"[ \t\n\r]*")
# JSON strings (so brackets inside them are not counted), then anything but brackets.
JSON_STRING_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
NOT_BRACKET_RE = re.compile(r"[^\[\]{}]+")
BRACKET_DEPTH = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
MAX_INT_DIGITS = 18


def max_bytes() -> int:
    return settings.FEEDS_PARSE_MAX_BYTES


def size_text(count: int) -> str:
    return f"{count / (1024 * 1024):.1f} MB" if count >= 1024 * 1024 else f"{count:,} bytes"


# Bytes and text ---------------------------------------------------------------

class Inflater:
    """A gzip or zlib/raw deflate stream (by `wbits`) inflated chunk by chunk,
    `feed` then `finish`, never to more than `limit` bytes: a small body that
    inflates to gigabytes (a gzip bomb) stops there, memory bounded. Errors
    name the body (`what`) and the limit's `setting`; past the limit the
    fetcher raises its own `too_large` (fetching again will not help)."""

    def __init__(self, *, wbits: int, what: str, limit: int, setting: str, too_large=FeedUnreadable):
        self.kind = "gzip" if wbits > zlib.MAX_WBITS else "deflate"
        self._wbits, self._what, self._limit, self._setting, self._too_large = wbits, what, limit, setting, too_large
        self._zlib = zlib.decompressobj(wbits)
        self._size = 0

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        try:
            while data:
                piece = self._zlib.decompress(data, self._limit - self._size + 1)
                self._size += len(piece)
                if self._size > self._limit:
                    raise self._too_large(f"{self._what} is {self.kind}-compressed and expands to more than "
                                          f"{size_text(self._limit)}, the limit ({self._setting}; a {self.kind} bomb?)")
                out += piece
                if not self._zlib.eof:
                    data = self._zlib.unconsumed_tail
                    continue
                data = self._zlib.unused_data
                if data and self.kind == "gzip" and GZIP_MAGIC.startswith(data[:2]):
                    # Several gzip members one after another make one file (RFC 1952), as `cat a.gz b.gz` makes.
                    self._zlib = zlib.decompressobj(self._wbits)
                elif data.strip(b"\0"):
                    raise FeedUnreadable(f"{self._what} is {self.kind}-compressed and has data after its end")
                else:
                    data = b""  # the end, or the zero padding some servers add
        except zlib.error as error:
            raise FeedUnreadable(f"{self._what} is {self.kind}-compressed but damaged: {error}") from error
        return bytes(out)

    def finish(self) -> None:
        if not self._zlib.eof:
            raise FeedUnreadable(f"{self._what} is {self.kind}-compressed but ends early (truncated download?)")


def _codec_without_bom(head: bytes) -> str:
    """RFC 4627: a JSON (or CSV) text starts with an ASCII character, so the
    NULs among its first four bytes say UTF-16 or UTF-32 and the byte order."""
    if len(head) >= 4 and head[0] == 0 and head[1] == 0 and head[2] == 0 and head[3]:
        return "utf-32-be"
    if len(head) >= 4 and head[0] and head[1] == 0 and head[2] == 0 and head[3] == 0:
        return "utf-32-le"
    if len(head) >= 2 and head[0] == 0 and head[1]:
        return "utf-16-be"
    if len(head) >= 2 and head[0] and head[1] == 0:
        return "utf-16-le"
    return "utf-8"


def decode_body(data: bytes, *, what: str = "the feed", _gzipped: bool = False) -> str:
    """Bytes as text: gunzipped if gzip, in the encoding its BOM or first
    bytes show, else UTF-8; `FeedUnreadable` with the reason otherwise."""
    limit = max_bytes()
    if len(data) > limit:
        raise FeedUnreadable(f"{what} is {size_text(len(data))}; the limit is {size_text(limit)}")
    if data.startswith(GZIP_MAGIC):
        if _gzipped:
            raise FeedUnreadable(f"{what} is gzip-compressed twice")
        inflater = Inflater(wbits=16 + zlib.MAX_WBITS, what=what, limit=limit, setting="FEEDS_PARSE_MAX_BYTES")
        data = inflater.feed(data)
        inflater.finish()
        return decode_body(data, what=what, _gzipped=True)
    for magic, kind in BINARY_MAGIC.items():
        if data.startswith(magic):
            raise FeedUnreadable(f"{what} is {kind}, not a feed")
    codec, start = "", 0
    for bom, bom_codec in BOMS:
        if data.startswith(bom):
            codec, start = bom_codec, len(bom)
            break
    codec = codec or _codec_without_bom(data[:4])
    try:
        text = data[start:].decode(codec)
    except UnicodeDecodeError as error:
        position = start + error.start
        raise FeedUnreadable(
            f"{what} is not valid {codec.upper()} text: byte {data[position:position + 1].hex()} at offset "
            f"{position:,} cannot be read (send UTF-8, or UTF-16/UTF-32 with a byte-order mark)") from error
    return _refuse_binary(text, what=what)


def _refuse_binary(text: str, *, what: str) -> str:
    sample = text[:1024]
    if sample and len(CONTROL_RE.findall(sample)) > max(8, len(sample) // 10):
        raise FeedUnreadable(f"{what} is binary data, not text")
    return text


def _misread_bytes(text: str) -> bytes | None:
    """The bytes behind text that was decoded the wrong way (UTF-16 or UTF-32
    read as UTF-8 with replacement characters, gzip read as text), when no
    character was lost; None when it does not look misread."""
    head = text[:8]
    if head.startswith("\ufffd\ufffd\x00\x00"):  # FF FE 00 00: UTF-32 LE's BOM, each byte one U+FFFD
        bom, rest = b"\xff\xfe\x00\x00", text[4:]
    elif head.startswith("\x00\x00\ufffd\ufffd"):
        bom, rest = b"\x00\x00\xfe\xff", text[4:]
    elif head.startswith("\ufffd\ufffd") and "\x00" in head:  # FF FE or FE FF: UTF-16; the NULs say the order
        rest = text[2:]
        bom = b"\xfe\xff" if rest[:1] == "\x00" else b"\xff\xfe"
    elif head.startswith(("\x1f\ufffd", "\x1f\x8b")) or "\x00" in head[:4]:
        bom, rest = b"", text
    else:
        return None
    if bom and "\ufffd" not in rest and max(rest, default="\x00") < "\x80":
        return bom + rest.encode("ascii")
    if not bom and max(rest, default="\x00") <= "\xff":  # read as Latin-1: every byte kept
        return rest.encode("latin-1")
    return b""


def feed_text(body: str | bytes, *, what: str = "the feed", margin: int = 0) -> str:
    """A feed body as text, within the size limit; the BOM removed. `margin`
    is what the importer itself added to text it fetched, which the limit
    does not count (a held root server run: `bmlt.ANSWERS_JOIN_MARGIN`)."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        text = decode_body(bytes(body), what=what)
    else:
        if len(body) > max_bytes() + margin:
            raise FeedUnreadable(f"{what} is {len(body):,} characters; the limit is {size_text(max_bytes())}")
        data = _misread_bytes(body)
        if data == b"":
            raise FeedUnreadable(
                f"{what} is UTF-16, UTF-32 or compressed data that was read as UTF-8 text and lost characters "
                "(the server should send UTF-8, or name its charset)")
        text = decode_body(data, what=what) if data is not None else _refuse_binary(body, what=what)
    if len(text) > max_bytes() + margin:
        raise FeedUnreadable(f"{what} is {len(text):,} characters decoded; the limit is {size_text(max_bytes())}")
    return text.lstrip("\ufeff")


# JSON -----------------------------------------------------------------------------

def _bounded_int(digits: str) -> int | float:
    # Past 18 digits no field means an integer; a float keeps json from
    # raising at Python's 4,300-digit limit and every reader refuses it.
    return int(digits) if len(digits.lstrip("-")) <= MAX_INT_DIGITS else float(digits)


DECODER = json.JSONDecoder(parse_int=_bounded_int, strict=False)


def json_depth(text: str) -> int:
    """The deepest bracket nesting of a JSON text, without recursion: strings
    are removed (their brackets do not count), then the brackets are summed."""
    brackets = NOT_BRACKET_RE.sub("", JSON_STRING_RE.sub("", text)).encode("ascii")
    return max(accumulate(map(BRACKET_DEPTH.__getitem__, brackets)), default=0)


class JsonReader:
    """One JSON text, read value by value from a position."""

    def __init__(self, text: str, *, what: str) -> None:
        self.text = text
        self.what = what
        self.pos = WHITESPACE_RE.match(text).end()

    def skip_space(self) -> str:
        self.pos = WHITESPACE_RE.match(self.text, self.pos).end()
        return self.text[self.pos:self.pos + 1]

    def value(self):
        try:
            value, self.pos = DECODER.raw_decode(self.text, self.pos)
        except json.JSONDecodeError as error:
            if error.pos >= len(self.text.rstrip()) - 1:
                raise FeedUnreadable(f"{self.what}'s JSON ends early (truncated body?): {error.msg}") from error
            raise FeedUnreadable(f"{self.what} is not valid JSON: {error.msg} at line {error.lineno} "
                                 f"column {error.colno}") from error
        except RecursionError as error:  # only if the depth limit is set past Python's own
            raise FeedUnreadable(f"{self.what} is nested too deeply to read") from error
        return value

    def expect(self, char: str, *, after: str) -> None:
        found = self.skip_space()
        if found != char:
            if not found:
                raise FeedUnreadable(f"{self.what}'s JSON ends early (truncated body?) after {after}")
            raise FeedUnreadable(f"{self.what} is not valid JSON: expected {char!r} after {after} "
                                 f"at offset {self.pos:,}")
        self.pos += 1

    def items(self, *, max_items: int, label: str) -> Iterator:
        """The elements of the array at the position, one at a time; past
        `max_items` the feed is unreadable."""
        self.expect("[", after="the start")
        if self.skip_space() == "]":
            self.pos += 1
            return
        count = 0
        while True:
            self.skip_space()
            value = self.value()
            count += 1
            if count > max_items:
                raise FeedUnreadable(f"{self.what} has more than {max_items:,} {label}, the limit")
            yield value
            following = self.skip_space()
            if following == ",":
                self.pos += 1
                continue
            self.expect("]", after=f"{label} {count:,}")
            return

    def members(self, *, max_items: int, label: str, lazy: tuple[str, ...] = ()) -> dict:
        """The object at the position; array members are read with `items`,
        so a huge array inside an envelope is bounded too. Arrays under the
        `lazy` keys become `JsonRecords` (checked now, decoded when read)."""
        self.expect("{", after="the start")
        members: dict = {}
        if self.skip_space() == "}":
            self.pos += 1
            return members
        while True:
            self.skip_space()
            key = self.value()
            if not isinstance(key, str):
                raise FeedUnreadable(f"{self.what} is not valid JSON: an object key is not a string")
            self.expect(":", after=f"key {key[:40]!r}")
            if self.skip_space() == "[" and key in lazy:
                members[key] = JsonRecords(self, max_items=max_items, label=label)
            elif self.skip_space() == "[":
                members[key] = list(self.items(max_items=max_items, label=label))
            else:
                members[key] = self.value()
            following = self.skip_space()
            if following == ",":
                self.pos += 1
                continue
            self.expect("}", after=f"key {key[:40]!r}")
            return members

    def end(self) -> None:
        if self.skip_space():
            raise FeedUnreadable(f"{self.what} is not valid JSON: extra data after the end at offset {self.pos:,}")


def read_json(body: str | bytes, *, what: str, lazy: tuple[str, ...] = (), margin: int = 0):
    """A whole JSON document, checked for size (`feed_text`, `margin` as
    there), encoding, HTML and depth, arrays bounded by the record limit.
    With `lazy` keys, a top-level array and the arrays under those keys are
    `JsonRecords`."""
    text = feed_text(body, what=what, margin=margin)
    stripped = text.strip(" \t\r\n")
    if not stripped:
        raise FeedUnreadable(f"{what} is empty")
    if stripped[0] == "<":
        raise FeedUnreadable(f"{what} returned an HTML page, not JSON")
    depth, max_depth = json_depth(text), settings.FEEDS_PARSE_MAX_DEPTH
    if depth > max_depth:
        raise FeedUnreadable(f"{what} nests JSON {depth:,} levels deep; the limit is {max_depth}")
    reader = JsonReader(text, what=what)
    first, limit = reader.skip_space(), settings.FEEDS_PARSE_MAX_RECORDS
    if first == "[" and lazy:
        value = JsonRecords(reader, max_items=limit, label="records")
    elif first == "[":
        value = list(reader.items(max_items=limit, label="records"))
    elif first == "{":
        value = reader.members(max_items=limit, label="records", lazy=lazy)
    else:
        value = reader.value()
    reader.end()
    return value


# Text in a JSON body that decodes to a control character or a lone surrogate.
UNSAFE_JSON_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]|\\u(?:00[01]|007f|d[89a-f])",
                            re.IGNORECASE)


class JsonRecords:
    """The records of a JSON array, checked whole (syntax, count) when made,
    then decoded again one at a time as they are read, so a parser never
    holds every raw record at once. `needs_cleaning` is False when no string
    of the body can hold a control character or a lone surrogate."""

    def __init__(self, reader: JsonReader, *, max_items: int, label: str) -> None:
        self.text, self.what, self.start = reader.text, reader.what, reader.pos
        self.max_items, self.label = max_items, label
        counter = self._reader()
        self.count = sum(1 for _ in counter.items(max_items=max_items, label=label))
        reader.pos = counter.pos  # the reader goes on after the array
        self.needs_cleaning = bool(UNSAFE_JSON_RE.search(self.text))

    def _reader(self) -> JsonReader:
        reader = JsonReader(self.text, what=self.what)
        reader.pos = self.start
        return reader

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator:
        yield from self._reader().items(max_items=self.max_items, label=self.label)
