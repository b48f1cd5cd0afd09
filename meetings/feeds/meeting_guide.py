"""Reading Meeting Guide JSON feeds as real feeds send them (meeting-guide.md,
"What real feeds send"): days as names or arrays, times in 12-hour form,
types as strings or full names, zone words, HTML in notes, missing or
duplicate slugs."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

from meetings.attendance import conference_provider
from meetings.feeds.records import (
    FeedMeeting,
    FeedUnreadable,
    ParsedFeed,
    RecordRejected,
    read_coordinate,
    read_day,
    read_text,
    read_time,
    read_timezone,
)

DAY_SLUGS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
NOT_A_STREET = {"online", "virtual", "zoom", "online meeting", "virtual meeting", "web", "internet", "phone"}
UPDATED_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S")


def load_feed_text(text: str) -> list:
    """The bare array of a Meeting Guide feed; an HTML page, invalid or
    truncated JSON, or anything but an array is `FeedUnreadable`."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] == "<":
        raise FeedUnreadable("the feed returned an HTML page, not JSON")
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as error:
        if error.pos >= len(stripped.rstrip()) - 1:
            raise FeedUnreadable(f"the feed's JSON ends early (truncated body?): {error.msg}") from error
        raise FeedUnreadable(f"the feed is not valid JSON: {error.msg} at line {error.lineno}") from error
    if isinstance(data, dict) and isinstance(data.get("meetings"), list):
        # Some exporters wrap the array; the meetings are still the meetings.
        data = data["meetings"]
    if not isinstance(data, list):
        raise FeedUnreadable(f"the feed is a JSON {type(data).__name__}, not an array of meetings")
    return data


def _text(raw: dict, *names: str) -> str:
    for name in names:
        value = raw.get(name)
        if value is not None and not isinstance(value, (dict, list)) and str(value).strip():
            return str(value).strip()
    return ""


def _approximate(value, repair) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text in ("yes", "true", "1", "y"):
        return True
    if text in ("", "no", "false", "0", "n"):
        return False
    repair("approximate", f"approximate {value!r} is not yes/no; read as no")
    return False


def _types(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        tokens = value.split(",")
    elif isinstance(value, list):
        tokens = [str(token) for token in value if token is not None]
    else:
        tokens = [str(value)]
    seen: list[str] = []
    for token in (t.strip() for t in tokens):
        if token and token not in seen:
            seen.append(token)
    return seen


def _type_tokens(raw: dict) -> list[str]:
    """The record's type codes. A directory like ours also sends them in the
    meeting's own fellowship's vocabulary (`fellowship`, `fellowship_types`,
    even when empty): those say what the spec codes in `types` cannot
    (Al-Anon's Alateen, NA's Basic Text), so they are read instead."""
    if isinstance(raw.get("fellowship"), str) and isinstance(raw.get("fellowship_types"), list):
        return _types(raw["fellowship_types"])
    return _types(raw.get("types"))


def _days(raw: dict) -> list[int | None]:
    """The record's weekdays; [None] for a meeting by appointment (no day, no time)."""
    has_time = _text(raw, "time", "start_time") != ""
    if "day" not in raw or raw["day"] is None or raw["day"] == "":
        if has_time:
            raise RecordRejected("day", f"day {raw.get('day')!r} is missing but the meeting has a time")
        return [None]
    value = raw["day"]
    if isinstance(value, list):
        if not value:
            raise RecordRejected("day", "day is an empty list")
        days = [read_day(v) for v in value]
        return sorted(set(days))
    if isinstance(value, str) and "," in value:
        return sorted({read_day(v) for v in value.split(",")})
    return [read_day(value)]


def _updated(value, repair) -> None:
    text = str(value or "").strip()
    if not text:
        return
    try:
        dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return
    except ValueError:
        pass
    candidate = text.replace("Z", "").replace("T", " ") if "T" in text else text
    for fmt in UPDATED_FORMATS:
        try:
            dt.datetime.strptime(candidate, fmt)
            return
        except ValueError:
            continue
    try:
        dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        repair("updated", f"updated {text!r} is not a date; ignored")


def _regions(raw: dict) -> list[str]:
    regions = raw.get("regions")
    if isinstance(regions, list) and regions:
        return [str(r).strip() for r in regions if str(r).strip()]
    return [r for r in (_text(raw, "region"), _text(raw, "sub_region")) if r]


def _coordinates(raw: dict, repair) -> tuple[float | None, float | None]:
    latitude, longitude = raw.get("latitude"), raw.get("longitude")
    if (latitude in (None, "") or longitude in (None, "")) and isinstance(raw.get("coordinates"), str):
        parts = raw["coordinates"].split(",")
        if len(parts) == 2:
            latitude, longitude = parts[0].strip(), parts[1].strip()
    if latitude in (None, "") and longitude in (None, ""):
        return None, None
    lat = read_coordinate(latitude, low=-90, high=90)
    lng = read_coordinate(longitude, low=-180, high=180)
    if lat is None or lng is None:
        repair("latitude", f"coordinates {latitude!r}, {longitude!r} are not a position; will geocode")
        return None, None
    if lat == 0 and lng == 0:
        repair("latitude", "coordinates 0,0 are a placeholder; will geocode")
        return None, None
    return lat, lng


def _conference_url(raw: dict, repair) -> str:
    url = _text(raw, "conference_url", "video_conference_url")
    if not url:
        return ""
    if not re.match(r"^https?://", url, re.IGNORECASE):
        repair("conference_url", f"conference_url {url[:80]!r} is not an http(s) link; dropped")
        return ""
    if not conference_provider(url):
        repair("conference_url", "conference_url host is not a recognised provider: kept, not counted as online")
    return url[:500]


def meeting_guide_meetings(raw: dict, *, key: str, repair) -> list[FeedMeeting]:
    """One feed record as meetings (one per weekday); `repair(field, reason)`
    collects notes. Raises `RecordRejected`."""
    if not isinstance(raw, dict):
        raise RecordRejected("", f"record is a {type(raw).__name__}, not an object")
    name = _text(raw, "name")
    if not name:
        raise RecordRejected("name", "the meeting has no name")
    if len(name) > 255:
        repair("name", "name longer than 255 characters; shortened")
        name = name[:255]
    days = _days(raw)
    time_value = _text(raw, "time", "start_time")
    start, end = None, None
    if time_value:
        start, note = read_time(time_value)
        if note:
            repair("time", note)
    end_value = _text(raw, "end_time")
    if end_value and start is not None:
        try:
            end, note = read_time(end_value, field_name="end_time")
            if note:
                repair("end_time", note)
        except RecordRejected as error:
            repair("end_time", f"{error.reason}; dropped (consumers assume one hour)")
    zone, note = read_timezone(raw.get("timezone"))
    if note:
        repair("timezone", note)
    notes, had_html = read_text(raw.get("notes"))
    if had_html:
        repair("notes", "HTML removed from notes")
    location_notes, had_html = read_text(raw.get("location_notes"))
    if had_html:
        repair("location_notes", "HTML removed from location_notes")
    _updated(raw.get("updated"), repair)
    latitude, longitude = _coordinates(raw, repair)
    address = _text(raw, "address")[:200]
    approximate = _approximate(raw.get("approximate"), repair)
    if address.lower() in NOT_A_STREET:
        # "Online" in the street field: the place is only the city around it.
        repair("address", f"address {address!r} is not a street; the place is approximate")
        address, approximate = "", True
    common = dict(
        name=name,
        time=start,
        end_time=end,
        timezone=zone,
        type_tokens=_type_tokens(raw),
        notes=notes,
        conference_url=_conference_url(raw, repair),
        conference_url_notes=read_text(raw.get("conference_url_notes"))[0],
        conference_phone=_text(raw, "conference_phone")[:64],
        conference_phone_notes=read_text(raw.get("conference_phone_notes"))[0],
        group=_text(raw, "group")[:200],
        group_notes=read_text(raw.get("group_notes"))[0],
        url=_text(raw, "url")[:500] if re.match(r"^https?://", _text(raw, "url"), re.IGNORECASE) else "",
        location_name=_text(raw, "location", "location_name")[:200],
        address=address,
        city=_text(raw, "city")[:100],
        state=_text(raw, "state")[:50],
        postal_code=_text(raw, "postal_code", "zip")[:20],
        country=_text(raw, "country")[:50],
        formatted_address=_text(raw, "formatted_address")[:300],
        latitude=latitude,
        longitude=longitude,
        approximate=approximate,
        location_notes=location_notes,
        regions=_regions(raw),
    )
    # Slugified by the importer, and only for new meetings.
    slug_base = key[:50]
    if len(days) == 1:
        return [FeedMeeting(key=key, slug_hint=slug_base, day=days[0], **common)]
    return [
        FeedMeeting(key=f"{key}@{day}", slug_hint=f"{slug_base}-{DAY_SLUGS[day]}", day=day, **common)
        for day in days
    ]


def _record_fingerprint(raw) -> str:
    encoded = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(encoded.encode("utf-8")).hexdigest()[:10]


def parse_meeting_guide(records: list) -> ParsedFeed:
    """Every record of a feed: meetings, and a note for each rejected or
    repaired record. One bad record never stops the others."""
    parsed = ParsedFeed(records=len(records))
    # key -> the record that claimed it; fingerprints are only computed on a
    # collision or a missing slug (hashing every record would slow re-imports).
    claimed: dict[str, object] = {}
    for index, raw in enumerate(records):
        slug = raw.get("slug") if isinstance(raw, dict) else None
        key = str(slug).strip()[:180] if slug not in (None, "") and not isinstance(slug, (dict, list, bool)) else ""
        label = key or f"record {index + 1}"
        if not key:
            # No slug: key on the content, so the same record matches next time.
            key = f"noslug-{_record_fingerprint(raw)}"
            if key in claimed:
                parsed.repair(label, "slug", "record repeated in the feed; imported once")
                continue
            parsed.repair(label, "slug", f"missing slug; keyed as {key}")
        elif key in claimed:
            fingerprint = _record_fingerprint(raw)
            derived = f"{key}~{fingerprint}"
            if _record_fingerprint(claimed[key]) == fingerprint or derived in claimed:
                parsed.repair(label, "slug", "record repeated in the feed; imported once")
                continue
            key = derived
            parsed.repair(label, "slug", f"duplicate slug; this record keyed as {key}")
        claimed[key] = raw
        parsed.seen_keys.add(key)

        def repair(field_name: str, reason: str, label=label) -> None:
            parsed.repair(label, field_name, reason)

        try:
            meetings = meeting_guide_meetings(raw, key=key, repair=repair)
        except RecordRejected as error:
            parsed.reject(label, error)
            continue
        parsed.meetings.extend(meetings)
        parsed.seen_keys.update(m.key for m in meetings)
    return parsed
