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
import json
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from django.conf import settings

from meetings.attendance import conference_provider


class RecordRejected(Exception):
    """A record that cannot be imported as it is; `field` names the culprit."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass
class Note:
    """A rejected, repaired or skipped record, for the run's report."""

    kind: str  # "rejected", "repaired" or "skipped" (ImportIssue.Kind)
    record_key: str
    field: str
    reason: str


@dataclass(slots=True)
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
    # Slots, and the cache a field: a feed of 135,000 meetings holds them all,
    # and an instance dict costs about 0.8 kB more per meeting.
    hash_cache: str = field(default="", repr=False, compare=False)

    def content_hash(self) -> str:
        """Stable over runs: an unchanged record hashes the same. The repr of
        plain values (str, int, float, bool, time, lists) is deterministic."""
        if not self.hash_cache:
            values = repr(tuple(getattr(self, name) for name in _FIELD_NAMES))
            self.hash_cache = hashlib.sha256(values.encode("utf-8")).hexdigest()
        return self.hash_cache

    @property
    def has_place(self) -> bool:
        return bool(self.address or self.formatted_address or self.city or self.postal_code)


_FIELD_NAMES = tuple(f.name for f in fields(FeedMeeting) if f.name != "hash_cache")


@dataclass
class ParsedFeed:
    meetings: list[FeedMeeting] = field(default_factory=list)
    # The first FEEDS_PARSE_MAX_ISSUES notes, then one line saying how many
    # more there were; the counts below stay exact.
    notes: list[Note] = field(default_factory=list)
    # Keys of every record the feed sent, rejected ones too: a meeting whose
    # record was unreadable this time is not "gone from the feed".
    seen_keys: set[str] = field(default_factory=set)
    records: int = 0
    rejected_count: int = 0
    # Records left alone: their meeting is another service body's now (importer.feed_plan).
    skipped_count: int = 0
    repaired_keys: set[str] = field(default_factory=set)
    unlisted: int = 0

    def _note(self, kind: str, key: str, field_name: str, reason: str) -> None:
        limit = settings.FEEDS_PARSE_MAX_ISSUES
        if len(self.notes) < limit:
            self.notes.append(Note(kind, key[:200], field_name, reason[:MAX_REASON]))
            return
        self.unlisted += 1
        summary = Note("repaired", "", "", f"{self.unlisted:,} more rejected, repaired or skipped records not listed")
        if len(self.notes) == limit:
            self.notes.append(summary)
        else:
            self.notes[-1] = summary

    def reject(self, key: str, error: RecordRejected) -> None:
        self.rejected_count += 1
        self._note("rejected", key, error.field, error.reason)

    def repair(self, key: str, field_name: str, reason: str) -> None:
        self.repaired_keys.add(key[:200])
        self._note("repaired", key, field_name, reason)

    def annotate(self, key: str, field_name: str, reason: str) -> None:
        """One more note on a record already counted as repaired."""
        self._note("repaired", key, field_name, reason)

    def skip(self, key: str, reason: str) -> None:
        """A record read but left alone: nothing of it is written."""
        self.skipped_count += 1
        self._note("skipped", key, "", reason)


# A key given to two records ------------------------------------------------------

REPEATED_RECORD = "record repeated in the feed; imported once"
MAX_KEY = 200  # Meeting.source_key
FINGERPRINT_LENGTH = 10


def record_fingerprint(raw) -> str:
    """A record's content in ten hex digits. Its `updated` is left out: a feed
    that stamps every record at each export still says the same meetings."""
    if isinstance(raw, dict) and "updated" in raw:
        raw = {name: value for name, value in raw.items() if name != "updated"}
    encoded = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    # surrogatepass: the same bytes as before for clean text, no error for a lone surrogate.
    return hashlib.sha1(encoded.encode("utf-8", "surrogatepass")).hexdigest()[:FINGERPRINT_LENGTH]


def _said(meetings: list[FeedMeeting], error: RecordRejected | None, raw) -> str:
    """What a record said, in one short string: its meetings' content hashes,
    or its fingerprint when it was rejected."""
    if error is not None:
        return "rejected:" + record_fingerprint(raw)
    return ",".join(m.content_hash() for m in meetings)


# A parser's reading of a record under a key: read(key, repair) returns its
# meetings, tells `repair(field, reason)` what it repaired, raises RecordRejected.
RecordReader = Callable[[str, Callable[[str, str], None]], list[FeedMeeting]]


def _read_record(read: RecordReader, key: str) -> tuple[list[FeedMeeting], RecordRejected | None,
                                                         list[tuple[str, str]]]:
    """A record's meetings or its rejection, and its repair notes, not yet reported."""
    notes: list[tuple[str, str]] = []
    try:
        return read(key, lambda field_name, reason: notes.append((field_name, reason))), None, notes
    except RecordRejected as error:
        return [], error, notes


class KeyClaims:
    """The keys the records of one feed took, each with what its record said
    (raw records are not kept, so a feed can be read one record at a time).
    A record under a key already taken is the same record again (imported
    once), or another record, keyed apart on its content ("42~" and ten hex
    digits), so the same feed keys the same way on every run."""

    def __init__(self) -> None:
        self.said: dict[str, str] = {}

    def __contains__(self, key: str) -> bool:
        return key in self.said

    def read(self, key: str, read: RecordReader, raw, *, parsed: ParsedFeed, label: str, field_name: str,
             what: str) -> list[FeedMeeting] | None:
        """A record's meetings, read under `key`, or under a key apart when
        another record took it (noted), and claimed there; its repair notes
        and its rejection written to `parsed`. None for a record rejected, or
        repeating one already read (noted). Every parser reads its records so."""
        meetings, error, notes = _read_record(read, key)
        if key in self:
            derived = (None if self.said[key] == _said(meetings, error, raw)
                       else f"{key[:MAX_KEY - FINGERPRINT_LENGTH - 1]}~{record_fingerprint(raw)}")
            if derived is None or derived in self.said:
                parsed.repair(label, field_name, REPEATED_RECORD)
                return None
            parsed.repair(label, field_name, f"duplicate {what}; this record keyed as {derived}")
            key = derived
            meetings, error, notes = _read_record(read, key)
        if key:
            self.said[key] = _said(meetings, error, raw)
            parsed.seen_keys.add(key)
        for noted_field, reason in notes:
            parsed.repair(label, noted_field, reason)
        if error is not None:
            parsed.reject(label, error)
            return None
        return meetings


def opened_record(raw, index: int, *, clean: bool, parsed: ParsedFeed, read_key) -> tuple[object, str, str]:
    """(raw, key, label) of a feed's record `index`: cleaned unless its body
    was (`clean_record`), keyed by `read_key(raw, repair)` -> (key, name),
    labelled by the name or its place; what either repaired is noted under
    the label, which only the key gives. Every parser opens its records so."""
    early: list[tuple[str, str]] = []

    def repair(field_name: str, reason: str) -> None:
        early.append((field_name, reason))

    if clean:
        raw = clean_record(raw, repair)
    key, name = read_key(raw, repair)
    label = name or f"record {index + 1}"
    for field_name, reason in early:
        parsed.repair(label, field_name, reason)
    return raw, key, label


# A Meeting Guide record without a slug is keyed "noslug-" and its fingerprint.
NO_SLUG = "noslug-"
# Keys made from content: a record without a slug, or another record under
# a key already taken ("42~", "root#10~" and the fingerprint); a multi-day
# record's meetings end in "@" and the day.
_CONTENT_KEY = re.compile(rf"(noslug-|.*~)[0-9a-f]{{{FINGERPRINT_LENGTH}}}(?:@[0-6])?")


def content_key_stem(key: str) -> str | None:
    """What a key made from its record's content keeps when the content
    changes ("noslug-", "42~"); None for a key the feed gave."""
    match = _CONTENT_KEY.fullmatch(key)
    return match.group(1) if match else None


class FeedUnreadable(Exception):
    """The feed as a whole cannot be read (HTML page, invalid or truncated
    JSON, an encoding or a size past the limits); the message says why."""


# Text a feed sends --------------------------------------------------------------
#
# Every string of a record passes `clean_text` (NUL, other control characters
# and lone surrogates would fail the whole run on PostgreSQL or in UTF-8) and
# `limit_text` (model field lengths; notes FEEDS_PARSE_MAX_NOTES_CHARACTERS).
# Both repair the field with a note; neither rejects the record. A text field
# holding a list, an object or a boolean is ignored with a note, or rejects the
# record when the field is required (name, key, day, time).

MAX_REASON = 500
UNSAFE_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
# Model max_length of the fields a parser fills (meetings/models.py).
LIMITS = {
    "name": 255, "key": 180, "group": 200, "location": 200, "address": 200, "city": 100, "state": 50,
    "postal_code": 20, "country": 50, "formatted_address": 300, "conference_phone": 64, "url": 500,
    "region": 100, "type": 64,
}
MAX_TYPES = 50
# Set by the CSV reader on a row with more cells than the header has names.
EXTRA_CELLS = "_extra_cells"
MAX_REGIONS = 10


def notes_limit() -> int:
    return settings.FEEDS_PARSE_MAX_NOTES_CHARACTERS


def shown(value, limit: int = 60) -> str:
    """A value quoted for a note, never longer than `limit` and a bit."""
    text = repr(value[:limit + 1] if isinstance(value, str) else value)
    return text if len(text) <= limit + 2 else text[:limit] + "..."


def clean_text(text: str) -> tuple[str, str]:
    """Text without NUL and other control characters (tab and line breaks
    stay) and with lone surrogates as U+FFFD; and a note ("" when clean)."""
    if not UNSAFE_RE.search(text):
        return text, ""
    controls = len(CONTROL_RE.findall(text))
    surrogates = len(SURROGATE_RE.findall(text))
    text = SURROGATE_RE.sub("\ufffd", CONTROL_RE.sub("", text))
    what = [f"{controls} control character{'s' if controls != 1 else ''} removed" if controls else "",
            f"{surrogates} lone surrogate{'s' if surrogates != 1 else ''} replaced" if surrogates else ""]
    return text, "; ".join(w for w in what if w)


def clean_value(value, *, depth: int = 0):
    """A decoded JSON value with every string (and object key) cleaned;
    returns (value, changed)."""
    if isinstance(value, str):
        cleaned, note = clean_text(value)
        return cleaned, bool(note)
    if isinstance(value, list) and depth < 8:
        items = [clean_value(item, depth=depth + 1) for item in value]
        return [item for item, _ in items], any(changed for _, changed in items)
    if isinstance(value, dict) and depth < 8:
        members, changed = {}, False
        for key, item in value.items():
            clean_key, key_note = clean_text(key) if isinstance(key, str) else (key, "")
            members[clean_key], item_changed = clean_value(item, depth=depth + 1)
            changed = changed or item_changed or bool(key_note)
        return members, changed
    return value, False


def clean_record(raw, repair):
    """A raw record with its unsafe characters cleaned, each field noted."""
    if not isinstance(raw, dict):
        return clean_value(raw)[0]
    record = {}
    for key, value in raw.items():
        name = clean_text(key)[0] if isinstance(key, str) else key
        if isinstance(value, str):
            value, note = clean_text(value)
            if note:
                repair(str(name)[:60], f"{name}: {note}")
        else:
            value, changed = clean_value(value)
            if changed:
                repair(str(name)[:60], f"{name}: control characters or lone surrogates cleaned")
        record[name] = value
    return record


def text_of(value, *, field_name: str, repair, required: bool = False) -> str:
    """A text field's value: strings stripped, numbers as written; a list,
    object or boolean is ignored with a note (rejected when required)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value or value in (float("inf"), float("-inf")):
            problem = f"{field_name} {value!r} is not a value"
        else:
            return str(value)
    else:
        problem = f"{field_name} is {_kind(value)}, not text"
    if required:
        raise RecordRejected(field_name, problem)
    repair(field_name, f"{problem}; ignored")
    return ""


def _kind(value) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean"}.get(type(value), f"a {type(value).__name__}")


def limit_text(text: str, *, field_name: str, limit: int, repair) -> str:
    """Text at most `limit` characters; longer is shortened with a note."""
    if len(text) <= limit:
        return text
    repair(field_name, f"{field_name} is {len(text):,} characters; shortened to {limit:,}")
    return text[:limit].rstrip()


def read_notes(value, *, field_name: str, repair, limit: int) -> str:
    """A notes field: plain text (HTML removed with a note), at most `limit`
    characters (`notes_limit()`, read once per feed)."""
    # Cut before the HTML pass so a 5 MB field costs no more than a short one.
    text = limit_text(text_of(value, field_name=field_name, repair=repair), field_name=field_name, limit=limit,
                      repair=repair)
    text, had_html = read_text(text)
    if had_html:
        repair(field_name, f"HTML removed from {field_name}")
    return text


class RecordFields:
    """One raw record's fields read as text, with its repair notes: strings
    stripped, numbers as written, anything else ignored with a note."""

    def __init__(self, raw: dict, repair, *, notes_limit: int) -> None:
        self.raw = raw
        self.repair = repair
        self.notes_limit = notes_limit

    def text(self, *names: str, limit: int = 0, required: bool = False) -> str:
        """The first of `names` that holds text, at most `limit` characters when given."""
        for name in names:
            text = text_of(self.raw.get(name), field_name=name, repair=self.repair, required=required)
            if text:
                return limit_text(text, field_name=name, limit=limit, repair=self.repair) if limit else text
        return ""

    def notes(self, name: str) -> str:
        return read_notes(self.raw.get(name), field_name=name, repair=self.repair, limit=self.notes_limit)

    def link(self, *names: str) -> str:
        """An http(s) link of at most 500 characters; anything else dropped."""
        url = self.text(*names, limit=100_000)
        if not url:
            return ""
        field_name = next(n for n in names if self.raw.get(n))
        if problem := link_problem(url):
            self.repair(field_name, f"{field_name} {problem}; dropped")
            return ""
        return url


def storable_text(text: str) -> str:
    """Text a database column accepts (PostgreSQL refuses NUL, UTF-8 lone
    surrogates): those become U+FFFD. For keeping a held feed's body."""
    if "\x00" not in text and not SURROGATE_RE.search(text):
        return text
    return SURROGATE_RE.sub("\ufffd", text.replace("\x00", "\ufffd"))


DAY_NAMES = {
    name: index
    for index, names in enumerate([
        ("sunday", "sun"), ("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"),
        ("thursday", "thu", "thur", "thurs"), ("friday", "fri"), ("saturday", "sat"),
    ])
    for name in names
}
DIGITS_RE = re.compile(r"[0-9]{1,3}")
TIME_RE = re.compile(r"^(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*([ap])?\.?\s*(m\.?)?$", re.IGNORECASE)


def read_day(value, *, field_name: str = "day") -> int:
    """Meeting Guide's 0..6 (Sunday = 0) from an int, numeric string or
    English day name. 7, negative numbers and junk are errors, never a guess."""
    if isinstance(value, bool) or value is None:
        raise RecordRejected(field_name, f"day {value!r} is not a weekday")
    text = value.strip() if isinstance(value, str) and len(value) <= 20 else ""
    if isinstance(value, int):
        number = value
    elif DIGITS_RE.fullmatch(text):
        number = int(text)
    elif text.lower().rstrip(".") in DAY_NAMES:
        return DAY_NAMES[text.lower().rstrip(".")]
    else:
        raise RecordRejected(field_name, f"day {shown(value)} is not a weekday")
    if not 0 <= number <= 6:
        raise RecordRejected(field_name, f"day {number} is outside 0-6 (Sunday = 0)")
    return number


def read_time(value, *, field_name: str = "time") -> tuple[dt.time, str]:
    """A wall-clock time from `HH:MM`, `H:MM`, `HH:MM:SS`, `6:30 PM` or a bare
    hour `19`; returns the time and a repair note ("" when none was needed).
    Junk is an error, never midnight."""
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    match = TIME_RE.match(text) if len(text) <= 20 else None
    if not match:
        raise RecordRejected(field_name, f"{field_name} {shown(value)} is not a time")
    hour, minute, second = int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0)
    meridiem = (match.group(4) or "").lower()
    note = ""
    if meridiem:
        if not 1 <= hour <= 12:
            raise RecordRejected(field_name, f"{field_name} {shown(value)} is not a 12-hour time")
        hour = hour % 12 + (12 if meridiem == "p" else 0)
        note = f"{field_name} {text!r} read as {hour:02d}:{minute:02d}"
    elif match.group(2) is None:
        note = f"{field_name} {text!r} read as {hour:02d}:00"
    if hour == 24 and minute == 0 and second == 0:
        raise RecordRejected(field_name, f"{field_name} {shown(value)} is not a time of day")
    if hour > 23 or minute > 59 or second > 59:
        raise RecordRejected(field_name, f"{field_name} {shown(value)} is not a time")
    if second:
        # Cut, not refused: every reader shows HH:MM (schedule.is_whole_minute).
        note = f"{field_name} {text!r} read as {hour:02d}:{minute:02d} (meeting times are whole minutes)"
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


IANA_NAMES = zoneinfo.available_timezones()
IANA_BY_LOWER = {name.lower(): name for name in IANA_NAMES}


def read_timezone(value, *, field_name: str = "timezone") -> tuple[str, str]:
    """An IANA zone name, and a note when a word like "Eastern" was mapped.
    Empty input gives ("", ""); an unknown word is an error."""
    text = (value if isinstance(value, str) else "" if value is None else str(value)[:100]).strip()
    if not text:
        return "", ""
    if text in IANA_NAMES:
        return text, ""
    if text.lower() in IANA_BY_LOWER:
        return IANA_BY_LOWER[text.lower()], ""
    mapped = ZONE_ALIASES.get(text.lower())
    if mapped:
        return mapped, f"time zone {text!r} mapped to {mapped}"
    raise RecordRejected(field_name, f"time zone {shown(text)} is not an IANA name and has no known mapping")


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
# A link is one token: a space or line break in it is no link (and a line
# break would end a line of a calendar file).
SPACE_RE = re.compile(r"\s")


def link_problem(url: str) -> str | None:
    """Why a feed's link is not kept (dropped, never cut: a shortened link
    leads somewhere else), or None for an http(s) link of one token and at
    most LIMITS["url"] characters."""
    if not re.match(r"^https?://", url, re.IGNORECASE):
        return f"{shown(url, 80)} is not an http(s) link"
    if SPACE_RE.search(url):
        return f"{shown(url, 80)} has a space or line break in it"
    if len(url) > LIMITS["url"]:
        return f"is {len(url):,} characters, more than {LIMITS['url']}"
    return None


def conference_link_in(text: str) -> str:
    """The first recognised conference link in free text (BMLT's old virtual
    meetings put their Zoom link in `comments`)."""
    links = (link.rstrip(".,);") for link in URL_RE.findall(text or ""))
    return next((link for link in links if conference_provider(link)), "")


def _coordinate(value, *, low: float, high: float) -> tuple[float | None, str]:
    """(the coordinate, "") or (None, why it is none; "" when not given)."""
    if value is None or value == "":
        return None, ""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)) or (
            isinstance(value, str) and len(value) > 40):
        return None, "is not a number"
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None, "is not a number"
    if number != number:  # NaN
        return None, "is not a number"
    if not low <= number <= high:  # 1e400 is infinity: out of range too
        return None, f"is out of range ({low:g} to {high:g})"
    return round(number, 6), ""


def read_coordinate(value, *, low: float, high: float) -> float | None:
    return _coordinate(value, low=low, high=high)[0]


def coordinate_problem(value, *, field_name: str, low: float, high: float) -> str:
    """Why a coordinate the feed gave is none ("latitude '95' is out of range
    (-90 to 90)"); "" when it is one, or when none was given."""
    problem = _coordinate(value, low=low, high=high)[1]
    return f"{field_name} {shown(value, 30)} {problem}" if problem else ""


def add_minutes(start: dt.time, minutes: int) -> dt.time:
    total = (start.hour * 60 + start.minute + minutes) % (24 * 60)
    return dt.time(total // 60, total % 60)
