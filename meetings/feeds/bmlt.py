"""Reading NA's BMLT servers (bmlt.md): `GetSearchResults` records with
`GetFormats` to interpret formats by world id, weekdays 1..7 with 1 = Sunday,
empty `venue_type`, links hidden in `comments`, placeholder coordinates on
virtual meetings, legacy `Prompt#@-@#value` strings, durations in several
shapes."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

from meetings.feeds.body import JsonRecords, feed_text, max_bytes, read_json, size_text
from meetings.feeds.records import (
    LIMITS,
    FeedMeeting,
    FeedUnreadable,
    KeyClaims,
    ParsedFeed,
    RecordFields,
    RecordRejected,
    add_minutes,
    conference_link_in,
    coordinate_problem,
    limit_text,
    link_problem,
    notes_limit as records_notes_limit,
    opened_record,
    read_coordinate,
    read_time,
    read_timezone,
    shown,
)
from meetings.models import address_as_read

LEGACY_SEPARATOR = "#@-@#"
DURATION_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
WEEKDAY_RE = re.compile(r"[1-7]")
VENUE_IN_PERSON, VENUE_VIRTUAL, VENUE_HYBRID = "1", "2", "3"
MAX_FORMATS = 100


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


def load_json_text(text: str | bytes, *, what: str, margin: int = 0):
    """A `GetSearchResults` answer as JSON values (`body.read_json`: its
    meeting records, a bare array or `meetings` in an object, as `JsonRecords`);
    `margin`: `ANSWERS_JOIN_MARGIN` for a held run's joined answers."""
    return read_json(text, what=what, lazy=("meetings",), margin=margin)


def _objects(value) -> list[dict]:
    """The objects of a JSON array (a list of formats); [] for anything else."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def split_search_results(data) -> tuple[list | JsonRecords, list]:
    """(meetings, formats) from a bare array or `{"meetings", "formats"}`."""
    if isinstance(data, dict) and isinstance(data.get("meetings"), (list, JsonRecords)):
        return data["meetings"], _objects(data.get("formats"))
    if isinstance(data, (list, JsonRecords)):
        return data, []
    raise FeedUnreadable("GetSearchResults returned neither an array nor {meetings, formats}")


# A root server's feed is three answers. They are kept as one JSON text, the
# search results with `GetFormats` and `GetServerInfo` beside the records,
# so that a held run, which stores only its feed's text, is applied later
# with the formats and the default open/closed it was fetched with. The most
# that joining adds to the answers' text (braces, names, separators): the
# size limit is on what was fetched, so a held run's text may exceed it by this.
ANSWERS_JOIN_MARGIN = len('{"meetings": , "GetFormats": , "GetServerInfo": }')
WHITESPACE = " \t\r\n"


def search_results_with_answers(*, results: str, formats: str, server_info: str | None) -> tuple[str, dict]:
    """A root server's three answers as one feed: `GetSearchResults` as one
    object with `GetFormats` and `GetServerInfo` as members (`GetServerInfo`
    None or not JSON: left out, as older servers have none), each read once
    and joined as the text it was fetched as. Returns the joined text (a held
    run's payload) and its values, as `load_json_text` reads that text."""
    answers = {"GetFormats": feed_text(formats, what="GetFormats")}
    values = {"GetFormats": read_json(answers["GetFormats"], what="GetFormats")}
    if server_info is not None:
        try:
            answers["GetServerInfo"] = feed_text(server_info, what="GetServerInfo")
            values["GetServerInfo"] = read_json(answers["GetServerInfo"], what="GetServerInfo")
        except FeedUnreadable:
            answers.pop("GetServerInfo", None)  # open/closed then comes from formats only
    text = feed_text(results, what="GetSearchResults")
    fetched, limit = len(text) + sum(map(len, answers.values())), max_bytes()
    if fetched > limit:
        raise FeedUnreadable(f"the root server's answers ({', '.join(['GetSearchResults', *answers])}) are "
                             f"{fetched:,} characters together; the limit is {size_text(limit)} "
                             "(FEEDS_PARSE_MAX_BYTES)")
    text = text.strip(WHITESPACE)
    data = load_json_text(text, what="GetSearchResults")
    split_search_results(data)
    members = ", ".join(f"{json.dumps(name)}: {answer.strip(WHITESPACE)}" for name, answer in answers.items())
    if text.startswith("["):
        return f'{{"meetings": {text}, {members}}}', {"meetings": data, **values}
    # An object with its "meetings": the answers go before its closing brace.
    return f"{text[:-1].rstrip()}, {members}}}", {**data, **values}


def search_results_read(data) -> tuple[list | JsonRecords, list, bool | None]:
    """(meetings, formats, default closed status) of search results as
    `load_json_text` reads them, with the `GetFormats` and `GetServerInfo`
    kept beside them (`search_results_with_answers`)."""
    meetings, used_formats = split_search_results(data)
    if not isinstance(data, dict):
        return meetings, used_formats, None
    return meetings, _objects(data.get("GetFormats")) + used_formats, default_closed_status(data.get("GetServerInfo"))


def legacy_value(value) -> str:
    """Old 2.x servers stored `"Prompt#@-@#value"`: keep what follows the last separator."""
    text = "" if value is None else str(value)
    if LEGACY_SEPARATOR in text:
        text = text.rsplit(LEGACY_SEPARATOR, 1)[1]
    return text.strip()


def read_duration(value) -> int | None:
    """Minutes from "HH:MM:SS", "01:00", "1:00:00" or "24:00:00"; None for junk."""
    match = DURATION_RE.match(value.strip()) if isinstance(value, str) and len(value) <= 20 else None
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes


def read_weekday(value) -> int:
    """BMLT's "1".."7" (1 = Sunday) as Meeting Guide's 0..6."""
    text = value.strip() if isinstance(value, str) else str(value) if type(value) is int else ""
    if not WEEKDAY_RE.fullmatch(text):
        raise RecordRejected("weekday_tinyint", f"weekday {shown(value)} is not 1-7 (1 = Sunday)")
    return int(text) - 1


class FormatTable:
    """A server's formats: by server id and by key string, to world ids."""

    def __init__(self, formats: list[dict]) -> None:
        formats = _objects(formats)
        self.by_id = {_scalar(f.get("id")): f for f in formats if _scalar(f.get("id"))}
        self.by_key = {_scalar(f.get("key_string")): f for f in formats if _scalar(f.get("key_string"))}

    def __bool__(self) -> bool:
        return bool(self.by_id or self.by_key)

    def tokens(self, *, shared_ids: str, keys: str) -> list[str]:
        """World ids of a meeting's formats; formats with none become "key:X",
        which no vocabulary knows, so they land in the report."""
        tokens: list[str] = []
        ids = [i.strip() for i in shared_ids.split(",", MAX_FORMATS)[:MAX_FORMATS] if i.strip()]
        if ids and self.by_id:
            entries = [(self.by_id.get(i), f"id:{i[:20]}") for i in ids]
        else:
            entries = [(self.by_key.get(k.strip()), f"key:{k.strip()[:20]}")
                       for k in keys.split(",", MAX_FORMATS)[:MAX_FORMATS] if k.strip()]
        for entry, fallback in entries:
            world_id = legacy_value(_scalar(entry.get("world_id")))[:LIMITS["type"]] if entry else ""
            if world_id == "LANG":
                # An alternate-language format says which language by its key (ES = Spanish).
                world_id = language_of_key(legacy_value(_scalar(entry.get("key_string")))) or world_id
            token = world_id or (f"key:{_scalar(entry.get('key_string'))[:20]}" if entry else fallback)
            if token not in tokens:
                tokens.append(token)
        return tokens


def _scalar(value) -> str:
    """A format table's id, key or world id as text; "" for anything else."""
    if isinstance(value, str):
        return value
    return str(value) if type(value) is int else ""


def language_of_key(key: str) -> str:
    """The ISO 639-1 code of a language format's key ("ES" -> "es"); "" when
    the key is no such code."""
    key = key.strip()
    return key.lower() if len(key) == 2 and key.isascii() and key.isalpha() else ""


def formatted_address(*, street: str, city: str, state: str, postal_code: str, nation: str) -> str:
    """One address line from BMLT's parts (already read as text), joined as
    every reader joins a place's parts (`models.address_as_read`); none
    without a street or a city."""
    if not (street or city):
        return ""
    return address_as_read(formatted_address="", address=street, city=city, state=state, postal_code=postal_code,
                           country=nation)[:LIMITS["formatted_address"]]


def _regions(*, county: str, city: str) -> list[str]:
    """BMLT has no region: the county (sub-province) and the city file the meeting."""
    regions: list[str] = []
    for name in (county, city):
        if name and name not in regions:
            regions.append(name[:LIMITS["region"]])
    return regions


def _venue(venue: str, tokens: list[str]) -> str:
    if venue in (VENUE_IN_PERSON, VENUE_VIRTUAL, VENUE_HYBRID):
        return venue
    # Old data has no venue_type: the formats say it (VM, HYBR; VM + TC is
    # virtual while the building is closed, which the TC type carries).
    if "HYBR" in tokens:
        return VENUE_HYBRID
    if "VM" in tokens:
        return VENUE_VIRTUAL
    return VENUE_IN_PERSON


COORDINATE_RANGES = (("latitude", -90, 90), ("longitude", -180, 180))


def _coordinates(raw: dict, repair) -> tuple[float | None, float | None]:
    """(latitude, longitude), or (None, None) with a note saying why when
    the record gives a coordinate that is none, or only one of the two."""
    latitude, longitude = (read_coordinate(raw.get(name), low=low, high=high) for name, low, high in COORDINATE_RANGES)
    if latitude is not None and longitude is not None:
        return latitude, longitude
    for name, low, high in COORDINATE_RANGES:
        if problem := coordinate_problem(raw.get(name), field_name=name, low=low, high=high):
            repair(name, f"{problem}; both dropped")
            return None, None
    if latitude is not None or longitude is not None:
        repair("latitude", "only one of latitude and longitude is given; both dropped")
    return None, None


def record_key(raw, *, root: str) -> tuple[str, str]:
    """(our key, the record's id) for a record; ("", "") without a usable id.
    Ids are unique only within one server: the key is (root server, id)."""
    if not isinstance(raw, dict):
        return "", ""
    meeting_id = raw.get("id_bigint")
    meeting_id = legacy_value(meeting_id) if isinstance(meeting_id, str) else str(meeting_id) if type(
        meeting_id) is int else ""
    if not meeting_id or len(meeting_id) > 40:
        return "", ""
    server = raw.get("root_server_uri")
    server = legacy_value(server) if isinstance(server, str) and server.strip() else root
    return f"{server}#{meeting_id}"[:200], meeting_id


def bmlt_meeting(raw: dict, *, root: str, formats: FormatTable, default_closed: bool | None, repair,
                 notes_limit: int, key: str) -> FeedMeeting:
    """One `GetSearchResults` record, as the meeting keyed `key` (its
    `record_key`, or one `records.KeyClaims` keyed apart). Strings must
    already be clean (`records.clean_record`). Raises `RecordRejected`."""
    if not isinstance(raw, dict):
        raise RecordRejected("", f"record is a {type(raw).__name__}, not an object")
    raw = {k: legacy_value(v) if isinstance(v, str) else v for k, v in raw.items()}
    own_key, meeting_id = record_key(raw, root=root)
    if not own_key:
        value = raw.get("id_bigint")
        raise RecordRejected("id_bigint", "record has no id_bigint" if value in (None, "") else
                             f"id_bigint {shown(value, 40)} is not an id")
    fields = RecordFields(raw, repair, notes_limit=notes_limit)
    name = fields.text("meeting_name", limit=LIMITS["name"], required=True)
    if not name:
        raise RecordRejected("meeting_name", "the meeting has no name")
    day = read_weekday(raw.get("weekday_tinyint"))
    start, note = read_time(raw.get("start_time"), field_name="start_time")
    if note:
        repair("start_time", note)
    end = None
    duration = fields.text("duration_time")
    if duration:
        minutes = read_duration(duration)
        if minutes is None:
            repair("duration_time", f"duration {shown(duration)} is not a duration; no end time")
        else:
            end = add_minutes(start, minutes)
    zone, note = read_timezone(fields.text("time_zone", limit=100), field_name="time_zone")
    if note:
        repair("time_zone", note)

    format_keys = fields.text("formats")
    tokens = formats.tokens(shared_ids=fields.text("format_shared_id_list"), keys=format_keys)
    if not formats and format_keys:
        repair("formats", "no GetFormats table: format keys cannot be mapped to world ids")
    if "CLOSED" not in tokens and "OPEN" not in tokens and default_closed is not None:
        tokens.append("CLOSED" if default_closed else "OPEN")
    # The language spoken: an alternate-language format, else the record's
    # lang_enum (bmlt.md); as an ISO code each vocabulary reads as its own.
    if not any(language_of_key(token) == token for token in tokens):
        language = language_of_key(fields.text("lang_enum")[:20])
        if language:
            tokens.append(language)
    venue = _venue(fields.text("venue_type"), tokens)

    comments = fields.notes("comments")
    conference_url = fields.text("virtual_meeting_link")
    if not conference_url:
        for field_name in ("comments", "location_info", "location_text"):
            conference_url = conference_link_in(fields.text(field_name)[:notes_limit])
            if conference_url:
                repair(field_name, f"conference link found in {field_name}")
                break
    if conference_url and (problem := link_problem(conference_url)):
        repair("virtual_meeting_link", f"link {problem}; dropped")
        conference_url = ""
    street = fields.text("location_street", limit=LIMITS["address"])
    latitude, longitude = _coordinates(raw, repair)
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
    published = raw.get("published", "1")
    city = limit_text(fields.text("location_municipality") or fields.text("location_city_subsection"),
                      field_name="location_municipality", limit=LIMITS["city"], repair=repair)
    state = fields.text("location_province", limit=LIMITS["state"])
    postal_code = fields.text("location_postal_code_1", limit=LIMITS["postal_code"])
    nation = fields.text("location_nation", limit=LIMITS["country"])
    return FeedMeeting(
        key=key,
        slug_hint=f"{name[:40]}-{meeting_id[:12]}",
        name=name,
        day=day,
        time=start,
        end_time=end,
        timezone=zone,
        type_tokens=tokens,
        notes=comments,
        conference_url=conference_url,
        conference_url_notes=fields.notes("virtual_meeting_additional_info"),
        conference_phone=fields.text("phone_meeting_number", limit=LIMITS["conference_phone"]),
        group=fields.text("worldid_mixed", limit=LIMITS["group"]),
        published=published is not False and str(published).strip() not in ("0", "false", "False"),
        location_name=fields.text("location_text", limit=LIMITS["location"]),
        address=street,
        city=city,
        state=state,
        postal_code=postal_code,
        country=nation,
        formatted_address=formatted_address(street=street, city=city, state=state, postal_code=postal_code,
                                            nation=nation),
        regions=_regions(county=fields.text("location_sub_province"), city=city),
        latitude=latitude,
        longitude=longitude,
        approximate=approximate,
        location_notes=fields.notes("location_info"),
    )


def parse_bmlt(meetings: list, *, formats: list[dict], root: str, default_closed: bool | None = None) -> ParsedFeed:
    """Every `GetSearchResults` record of a server, formats joined by id; an
    id given to two records is told apart as Meeting Guide's repeated slugs
    (`records.KeyClaims`)."""
    reading = {"root": root, "formats": FormatTable(formats), "default_closed": default_closed,
               "notes_limit": records_notes_limit()}
    parsed = ParsedFeed(records=len(meetings))
    needs_cleaning = getattr(meetings, "needs_cleaning", True)
    claims = KeyClaims()

    def read_key(raw, repair) -> tuple[str, str]:
        key, meeting_id = record_key(raw, root=root)
        return key, meeting_id and f"id {meeting_id}"

    for index, raw in enumerate(meetings):
        raw, key, label = opened_record(raw, index, clean=needs_cleaning, parsed=parsed, read_key=read_key)
        parsed.meetings.extend(claims.read(key, lambda k, repair: [bmlt_meeting(raw, key=k, repair=repair, **reading)],
                                           raw, parsed=parsed, label=label, field_name="id_bigint", what="id") or [])
    return parsed


def default_closed_status(server_info) -> bool | None:
    """GetServerInfo's `default_closed_status` (a list of one object)."""
    info = server_info[0] if isinstance(server_info, list) and server_info else server_info
    if not isinstance(info, dict) or "default_closed_status" not in info:
        return None
    value = info["default_closed_status"]
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true")
