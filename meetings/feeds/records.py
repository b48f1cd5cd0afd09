"""The normalised feed record every parser produces, and the value readers
the parsers share (times, zones, notes, links).

A parser turns one raw record into `FeedMeeting`s (one per weekday) or a
rejection; problems it repaired are kept as notes. Nothing here touches the
database, so every quirk can be tested as a plain function.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
import zoneinfo
from dataclasses import dataclass, field, fields

from meetings.attendance import conference_provider


class RecordRejected(Exception):
    """A record that cannot be imported as it is; `field` names the culprit."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass
class Note:
    """A rejected or repaired record, for the run's report."""

    kind: str  # "rejected" or "repaired"
    record_key: str
    field: str
    reason: str


@dataclass
class FeedMeeting:
    """One weekly occurrence as a feed describes it, in our words."""

    key: str  # the feed's own key, unique within the source
    slug_hint: str  # what our slug is derived from (slugified) when the meeting is new
    name: str
    day: int | None  # 0 = Sunday; None = by appointment
    time: dt.time | None
    end_time: dt.time | None = None
    timezone: str = ""
    type_tokens: list[str] = field(default_factory=list)  # codes or names, resolved by the importer
    notes: str = ""
    conference_url: str = ""
    conference_url_notes: str = ""
    conference_phone: str = ""
    conference_phone_notes: str = ""
    group: str = ""
    group_notes: str = ""
    url: str = ""
    published: bool = True
    location_name: str = ""
    address: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""
    formatted_address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    approximate: bool = False
    location_notes: str = ""
    regions: list[str] = field(default_factory=list)

    def content_hash(self) -> str:
        """Stable over runs: an unchanged record hashes the same. The repr of
        plain values (str, int, float, bool, time, lists) is deterministic."""
        cached = self.__dict__.get("_content_hash")
        if cached is None:
            values = repr(tuple(getattr(self, name) for name in _FIELD_NAMES))
            cached = self.__dict__["_content_hash"] = hashlib.sha256(values.encode("utf-8")).hexdigest()
        return cached

    @property
    def has_place(self) -> bool:
        return bool(self.address or self.formatted_address or self.city or self.postal_code)


_FIELD_NAMES = tuple(f.name for f in fields(FeedMeeting))


@dataclass
class ParsedFeed:
    meetings: list[FeedMeeting] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    # Keys of every record the feed sent, rejected ones too: a meeting whose
    # record was unreadable this time is not "gone from the feed".
    seen_keys: set[str] = field(default_factory=set)
    records: int = 0

    def reject(self, key: str, error: RecordRejected) -> None:
        self.notes.append(Note("rejected", key, error.field, error.reason))

    def repair(self, key: str, field_name: str, reason: str) -> None:
        self.notes.append(Note("repaired", key, field_name, reason))


class FeedUnreadable(Exception):
    """The feed as a whole cannot be read (HTML page, invalid or truncated JSON)."""


DAY_NAMES = {
    name: index
    for index, names in enumerate([
        ("sunday", "sun"), ("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"),
        ("thursday", "thu", "thur", "thurs"), ("friday", "fri"), ("saturday", "sat"),
    ])
    for name in names
}
TIME_RE = re.compile(r"^(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*([ap])?\.?\s*(m\.?)?$", re.IGNORECASE)


def read_day(value, *, field_name: str = "day") -> int:
    """Meeting Guide's 0..6 (Sunday = 0) from an int, numeric string or
    English day name. 7, negative numbers and junk are errors, never a guess."""
    if isinstance(value, bool) or value is None:
        raise RecordRejected(field_name, f"day {value!r} is not a weekday")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    elif isinstance(value, str) and value.strip().lower().rstrip(".") in DAY_NAMES:
        return DAY_NAMES[value.strip().lower().rstrip(".")]
    else:
        raise RecordRejected(field_name, f"day {value!r} is not a weekday")
    if not 0 <= number <= 6:
        raise RecordRejected(field_name, f"day {number} is outside 0-6 (Sunday = 0)")
    return number


def read_time(value, *, field_name: str = "time") -> tuple[dt.time, str]:
    """A wall-clock time from `HH:MM`, `H:MM`, `HH:MM:SS`, `6:30 PM` or a bare
    hour `19`; returns the time and a repair note ("" when none was needed).
    Junk is an error, never midnight."""
    text = str(value).strip() if value is not None and not isinstance(value, bool) else ""
    match = TIME_RE.match(text)
    if not match:
        raise RecordRejected(field_name, f"{field_name} {value!r} is not a time")
    hour, minute, second = int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0)
    meridiem = (match.group(4) or "").lower()
    note = ""
    if meridiem:
        if not 1 <= hour <= 12:
            raise RecordRejected(field_name, f"{field_name} {value!r} is not a 12-hour time")
        hour = hour % 12 + (12 if meridiem == "p" else 0)
        note = f"{field_name} {text!r} read as {hour:02d}:{minute:02d}"
    elif match.group(2) is None:
        note = f"{field_name} {text!r} read as {hour:02d}:00"
    if hour == 24 and minute == 0 and second == 0:
        raise RecordRejected(field_name, f"{field_name} {value!r} is not a time of day")
    if hour > 23 or minute > 59 or second > 59:
        raise RecordRejected(field_name, f"{field_name} {value!r} is not a time")
    return dt.time(hour, minute), note


# Zone words real feeds send in place of IANA names. Ambiguous ones (CST is
# also China Standard Time) are only taken in their North American sense
# because the formats this importer reads are North American in origin.
ZONE_ALIASES = {
    "eastern": "America/New_York", "est": "America/New_York", "edt": "America/New_York",
    "eastern time": "America/New_York", "eastern standard time": "America/New_York",
    "central": "America/Chicago", "cst": "America/Chicago", "cdt": "America/Chicago",
    "central time": "America/Chicago", "central standard time": "America/Chicago",
    "mountain": "America/Denver", "mst": "America/Denver", "mdt": "America/Denver",
    "mountain time": "America/Denver", "mountain standard time": "America/Denver",
    "arizona": "America/Phoenix",
    "pacific": "America/Los_Angeles", "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles",
    "pacific time": "America/Los_Angeles", "pacific standard time": "America/Los_Angeles",
    "alaska": "America/Anchorage", "akst": "America/Anchorage",
    "hawaii": "Pacific/Honolulu", "hst": "Pacific/Honolulu",
    "atlantic": "America/Halifax", "newfoundland": "America/St_Johns",
}


def _iana_names() -> set[str]:
    return zoneinfo.available_timezones()


IANA_NAMES = _iana_names()
IANA_BY_LOWER = {name.lower(): name for name in IANA_NAMES}


def read_timezone(value) -> tuple[str, str]:
    """An IANA zone name, and a note when a word like "Eastern" was mapped.
    Empty input gives ("", ""); an unknown word is an error."""
    text = str(value or "").strip()
    if not text:
        return "", ""
    if text in IANA_NAMES:
        return text, ""
    if text.lower() in IANA_BY_LOWER:
        return IANA_BY_LOWER[text.lower()], ""
    mapped = ZONE_ALIASES.get(text.lower())
    if mapped:
        return mapped, f"time zone {text!r} mapped to {mapped}"
    raise RecordRejected("timezone", f"time zone {text!r} is not an IANA name and has no known mapping")


BREAK_RE = re.compile(r"<\s*(br|/p|/div|/li)\s*/?\s*>", re.IGNORECASE)
TAG_RE = re.compile(r"<[^>]+>")


def read_text(value) -> tuple[str, bool]:
    """Plain text with line breaks; HTML (`<br>` and friends) turned into
    text. Returns the text and whether HTML was removed."""
    if value is None:
        return "", False
    text = str(value)
    if "<" in text and TAG_RE.search(text):
        text = html.unescape(TAG_RE.sub("", BREAK_RE.sub("\n", text)))
        return "\n".join(line.rstrip() for line in text.strip().splitlines()), True
    return text.strip(), False


URL_RE = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


def links_in(text: str) -> list[str]:
    return [link.rstrip(".,);") for link in URL_RE.findall(text or "")]


def conference_link_in(text: str) -> str:
    """The first recognised conference link in free text (BMLT's old virtual
    meetings put their Zoom link in `comments`)."""
    for link in links_in(text):
        if conference_provider(link):
            return link
    return ""


def read_coordinate(value, *, low: float, high: float) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number != number or not low <= number <= high:  # NaN or out of range
        return None
    return round(number, 6)


def add_minutes(start: dt.time, minutes: int) -> dt.time:
    total = (start.hour * 60 + start.minute + minutes) % (24 * 60)
    return dt.time(total // 60, total % 60)
