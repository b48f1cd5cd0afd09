"""Reading NA's BMLT servers (bmlt.md): `GetSearchResults` records with
`GetFormats` to interpret formats by world id, weekdays 1..7 with 1 = Sunday,
empty `venue_type`, links hidden in `comments`, placeholder coordinates on
virtual meetings, legacy `Prompt#@-@#value` strings, durations in several
shapes."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

from meetings.feeds.records import (
    FeedMeeting,
    FeedUnreadable,
    ParsedFeed,
    RecordRejected,
    add_minutes,
    conference_link_in,
    read_coordinate,
    read_text,
    read_time,
    read_timezone,
)

LEGACY_SEPARATOR = "#@-@#"
DURATION_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
VENUE_IN_PERSON, VENUE_VIRTUAL, VENUE_HYBRID = "1", "2", "3"


def search_url(*, root: str, service_body_ids: list[str]) -> str:
    """The `GetSearchResults` query for a root server's chosen service bodies
    (the `services[]=` array form: comma lists are not honoured everywhere)."""
    params = [("switcher", "GetSearchResults"), ("get_used_formats", "1")]
    params += [("services[]", sid) for sid in service_body_ids]
    if service_body_ids:
        params.append(("recursive", "1"))
    return f"{root.rstrip('/')}/client_interface/json/?{urlencode(params)}"


def formats_url(*, root: str) -> str:
    return f"{root.rstrip('/')}/client_interface/json/?switcher=GetFormats"


def server_info_url(*, root: str) -> str:
    return f"{root.rstrip('/')}/client_interface/json/?switcher=GetServerInfo"


def load_json_text(text: str, *, what: str):
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] == "<":
        raise FeedUnreadable(f"{what} returned an HTML page, not JSON")
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as error:
        raise FeedUnreadable(f"{what} is not valid JSON (truncated body?): {error.msg}") from error


def split_search_results(data) -> tuple[list, list]:
    """(meetings, formats) from a bare array or `{"meetings", "formats"}`."""
    if isinstance(data, dict) and isinstance(data.get("meetings"), list):
        return data["meetings"], data.get("formats") or []
    if isinstance(data, list):
        return data, []
    raise FeedUnreadable("GetSearchResults returned neither an array nor {meetings, formats}")


def legacy_value(value) -> str:
    """Old 2.x servers stored `"Prompt#@-@#value"`: keep what follows the last separator."""
    text = "" if value is None else str(value)
    if LEGACY_SEPARATOR in text:
        text = text.rsplit(LEGACY_SEPARATOR, 1)[1]
    return text.strip()


def read_duration(value) -> int | None:
    """Minutes from "HH:MM:SS", "01:00", "1:00:00" or "24:00:00"; None for junk."""
    match = DURATION_RE.match(str(value or "").strip())
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes


def read_weekday(value) -> int:
    """BMLT's "1".."7" (1 = Sunday) as Meeting Guide's 0..6."""
    text = str(value or "").strip()
    if not text.isdigit() or not 1 <= int(text) <= 7:
        raise RecordRejected("weekday_tinyint", f"weekday {value!r} is not 1-7 (1 = Sunday)")
    return int(text) - 1


class FormatTable:
    """A server's formats: by server id and by key string, to world ids."""

    def __init__(self, formats: list[dict]) -> None:
        self.by_id = {str(f.get("id")): f for f in formats if isinstance(f, dict)}
        self.by_key = {str(f.get("key_string")): f for f in formats if isinstance(f, dict)}

    def __bool__(self) -> bool:
        return bool(self.by_id or self.by_key)

    def tokens(self, *, shared_ids: str, keys: str) -> list[str]:
        """World ids of a meeting's formats; formats with none become "key:X",
        which no vocabulary knows, so they land in the report."""
        tokens: list[str] = []
        ids = [i.strip() for i in shared_ids.split(",") if i.strip()]
        if ids and self.by_id:
            entries = [(self.by_id.get(i), f"id:{i}") for i in ids]
        else:
            entries = [(self.by_key.get(k.strip()), f"key:{k.strip()}") for k in keys.split(",") if k.strip()]
        for entry, fallback in entries:
            world_id = legacy_value(entry.get("world_id")) if entry else ""
            if world_id == "LANG":
                # An alternate-language format says which language by its key (ES = Spanish).
                world_id = language_of_key(legacy_value(entry.get("key_string"))) or world_id
            token = world_id or (f"key:{entry.get('key_string')}" if entry else fallback)
            if token not in tokens:
                tokens.append(token)
        return tokens


def language_of_key(key: str) -> str:
    """The ISO 639-1 code of a language format's key ("ES" -> "es"); "" when
    the key is no such code."""
    key = key.strip()
    return key.lower() if len(key) == 2 and key.isascii() and key.isalpha() else ""


def formatted_address(raw: dict) -> str:
    """One address line from BMLT's parts: street, city, "state postcode", nation."""
    city = raw.get("location_municipality", "") or raw.get("location_city_subsection", "")
    state_postcode = " ".join(p for p in (raw.get("location_province", ""), raw.get("location_postal_code_1", "")) if p)
    parts = (raw.get("location_street", ""), city, state_postcode, raw.get("location_nation", ""))
    if not (raw.get("location_street") or city):
        return ""
    return ", ".join(p for p in parts if p)[:300]


def _regions(raw: dict) -> list[str]:
    """BMLT has no region: the county (sub-province) and the city file the meeting."""
    city = raw.get("location_municipality", "") or raw.get("location_city_subsection", "")
    regions: list[str] = []
    for name in (raw.get("location_sub_province", ""), city):
        if name and name not in regions:
            regions.append(name[:100])
    return regions


def _venue(raw: dict, tokens: list[str]) -> str:
    venue = raw.get("venue_type", "")
    if venue in (VENUE_IN_PERSON, VENUE_VIRTUAL, VENUE_HYBRID):
        return venue
    # Old data has no venue_type: the formats say it (VM, HYBR; VM + TC is
    # virtual while the building is closed, which the TC type carries).
    if "HYBR" in tokens:
        return VENUE_HYBRID
    if "VM" in tokens:
        return VENUE_VIRTUAL
    return VENUE_IN_PERSON


def bmlt_meeting(raw: dict, *, root: str, formats: FormatTable, default_closed: bool | None, repair) -> FeedMeeting:
    if not isinstance(raw, dict):
        raise RecordRejected("", f"record is a {type(raw).__name__}, not an object")
    raw = {k: legacy_value(v) if isinstance(v, str) else v for k, v in raw.items()}
    meeting_id = raw.get("id_bigint", "")
    if not meeting_id:
        raise RecordRejected("id_bigint", "record has no id_bigint")
    root = raw.get("root_server_uri") or root
    name = raw.get("meeting_name", "")
    if not name:
        raise RecordRejected("meeting_name", "the meeting has no name")
    day = read_weekday(raw.get("weekday_tinyint"))
    start, note = read_time(raw.get("start_time"), field_name="start_time")
    if note:
        repair("start_time", note)
    end = None
    if raw.get("duration_time"):
        minutes = read_duration(raw["duration_time"])
        if minutes is None:
            repair("duration_time", f"duration {raw['duration_time']!r} is not a duration; no end time")
        else:
            end = add_minutes(start, minutes)
    zone, note = read_timezone(raw.get("time_zone"))
    if note:
        repair("time_zone", note)

    tokens = formats.tokens(shared_ids=raw.get("format_shared_id_list", ""), keys=raw.get("formats", ""))
    if not formats and raw.get("formats"):
        repair("formats", "no GetFormats table: format keys cannot be mapped to world ids")
    if "CLOSED" not in tokens and "OPEN" not in tokens and default_closed is not None:
        tokens.append("CLOSED" if default_closed else "OPEN")
    # The language spoken: an alternate-language format, else the record's
    # lang_enum (bmlt.md); as an ISO code each vocabulary reads as its own.
    if not any(language_of_key(token) == token for token in tokens):
        language = language_of_key(raw.get("lang_enum") or "")
        if language:
            tokens.append(language)
    venue = _venue(raw, tokens)

    comments, _ = read_text(raw.get("comments"))
    conference_url = raw.get("virtual_meeting_link", "")
    if not conference_url:
        for field_name in ("comments", "location_info", "location_text"):
            conference_url = conference_link_in(raw.get(field_name, ""))
            if conference_url:
                repair(field_name, f"conference link found in {field_name}")
                break
    street = raw.get("location_street", "")
    latitude = read_coordinate(raw.get("latitude"), low=-90, high=90)
    longitude = read_coordinate(raw.get("longitude"), low=-180, high=180)
    approximate = False
    if latitude == 0 and longitude == 0:
        latitude = longitude = None
        repair("latitude", "coordinates 0,0 are a placeholder; dropped")
    if venue == VENUE_VIRTUAL:
        approximate = True
        if not street and latitude is not None:
            # Virtual meetings carry placeholder coordinates far from anything.
            latitude = longitude = None
            repair("latitude", "placeholder coordinates of a virtual meeting dropped")
    slug_hint = f"{name[:40]}-{str(meeting_id)[:12]}"
    return FeedMeeting(
        key=f"{root}#{meeting_id}"[:200],
        slug_hint=slug_hint,
        name=name[:255],
        day=day,
        time=start,
        end_time=end,
        timezone=zone,
        type_tokens=tokens,
        notes=comments,
        conference_url=conference_url[:500] if re.match(r"^https?://", conference_url, re.I) else "",
        conference_url_notes=raw.get("virtual_meeting_additional_info", ""),
        conference_phone=raw.get("phone_meeting_number", "")[:64],
        group=raw.get("worldid_mixed", "")[:200],
        published=raw.get("published", "1") != "0",
        location_name=raw.get("location_text", "")[:200],
        address=street[:200],
        city=(raw.get("location_municipality", "") or raw.get("location_city_subsection", ""))[:100],
        state=raw.get("location_province", "")[:50],
        postal_code=raw.get("location_postal_code_1", "")[:20],
        country=raw.get("location_nation", "")[:50],
        formatted_address=formatted_address(raw),
        regions=_regions(raw),
        latitude=latitude,
        longitude=longitude,
        approximate=approximate,
        location_notes=raw.get("location_info", ""),
    )


def parse_bmlt(
    meetings: list, *, formats: list[dict], root: str, default_closed: bool | None = None
) -> ParsedFeed:
    """Every `GetSearchResults` record of a server, formats joined by id."""
    table = FormatTable(formats)
    parsed = ParsedFeed(records=len(meetings))
    for index, raw in enumerate(meetings):
        meeting_id = raw.get("id_bigint") if isinstance(raw, dict) else None
        label = f"id {meeting_id}" if meeting_id else f"record {index + 1}"
        if meeting_id:
            parsed.seen_keys.add(f"{(raw.get('root_server_uri') or root)}#{meeting_id}"[:200])

        def repair(field_name: str, reason: str, label=label) -> None:
            parsed.repair(label, field_name, reason)

        try:
            parsed.meetings.append(
                bmlt_meeting(raw, root=root, formats=table, default_closed=default_closed, repair=repair)
            )
        except RecordRejected as error:
            parsed.reject(label, error)
    return parsed


def default_closed_status(server_info) -> bool | None:
    """GetServerInfo's `default_closed_status` (a list of one object)."""
    info = server_info[0] if isinstance(server_info, list) and server_info else server_info
    if not isinstance(info, dict) or "default_closed_status" not in info:
        return None
    value = info["default_closed_status"]
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true")
