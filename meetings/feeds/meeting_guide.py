"""Reading Meeting Guide JSON feeds as real feeds send them (meeting-guide.md,
"What real feeds send"): days as names or arrays, times in 12-hour form,
types as strings or full names, zone words, HTML in notes, missing or
duplicate slugs."""

from __future__ import annotations

import datetime as dt
from contextlib import suppress


from meetings.attendance import conference_provider
from meetings.feeds.body import JsonRecords, read_json
from meetings.feeds.records import (
    EXTRA_CELLS,
    LIMITS,
    MAX_REGIONS,
    MAX_TYPES,
    NO_SLUG,
    REPEATED_RECORD,
    FeedMeeting,
    FeedUnreadable,
    KeyClaims,
    ParsedFeed,
    RecordFields,
    RecordRejected,
    limit_text,
    notes_limit as records_notes_limit,
    opened_record,
    read_coordinate,
    read_day,
    read_time,
    read_timezone,
    record_fingerprint,
    shown,
    text_of,
)

DAY_SLUGS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
NOT_A_STREET = {"online", "virtual", "zoom", "online meeting", "virtual meeting", "web", "internet", "phone"}
UPDATED_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S")
MAX_DAY_VALUES = 14  # a week has 7 days; a longer list is junk, not a schedule


def load_feed_text(text: str | bytes) -> JsonRecords:
    """The records of a Meeting Guide feed (a bare array, or one wrapped as
    `{"meetings": [...]}`), as `body.read_json` reads them; anything but an
    array is `FeedUnreadable`."""
    data = read_json(text, what="the feed", lazy=("meetings",))
    if isinstance(data, JsonRecords):
        return data
    if isinstance(data, dict) and isinstance(data.get("meetings"), JsonRecords):
        # Some exporters wrap the array; the meetings are still the meetings.
        return data["meetings"]
    raise FeedUnreadable(f"the feed is a JSON {_json_kind(data)}, not an array of meetings")


def _json_kind(value) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")


def _approximate(value, repair) -> bool:
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else "" if value is None else None
    if text in ("yes", "true", "1", "y"):
        return True
    if text in ("", "no", "false", "0", "n"):
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    repair("approximate", f"approximate {shown(value)} is not yes/no; read as no")
    return False


def _types(value, repair) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        tokens = value.split(",", MAX_TYPES * 4)
    elif isinstance(value, list):
        tokens = value[:MAX_TYPES * 4]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        tokens = [str(value)]
    else:
        repair("types", f"types is {type(value).__name__}, not a list or text; ignored")
        return []
    seen: dict[str, None] = {}
    for token in tokens:
        if isinstance(token, (int, float)) and not isinstance(token, bool):
            token = str(token)
        if not isinstance(token, str):
            if token is not None:
                repair("types", f"type {shown(token)} is not a code; ignored")
            continue
        token = token.strip()
        if len(token) > LIMITS["type"]:
            repair("types", f"type {shown(token)} is longer than {LIMITS['type']} characters; ignored")
            continue
        if token:
            seen[token] = None
    if len(seen) > MAX_TYPES:
        repair("types", f"{len(seen)} types; the first {MAX_TYPES} kept")
    return list(seen)[:MAX_TYPES]


def _type_tokens(raw: dict, repair, *, fellowship: str) -> list[str]:
    """The record's type codes: a directory like ours also sends them in the
    meeting's own fellowship's vocabulary (`fellowship_types`, even when
    empty), read instead of the spec's `types` when that fellowship is the
    source's (`fellowship`, its slug); another fellowship's codes mean other
    things in the source's vocabulary (Al-Anon's Y is Alateen, AA's Young People)."""
    named = raw.get("fellowship")
    own_codes = isinstance(raw.get("fellowship_types"), list)
    if not isinstance(named, str) or not named.strip() or not fellowship:
        return _types(raw.get("types"), repair)
    if named.strip().lower() == fellowship:
        return _types(raw["fellowship_types"] if own_codes else raw.get("types"), repair)
    # Likely a directory's whole feed given to one fellowship's source: said, and read by the spec's codes.
    repair("fellowship", f"fellowship {shown(named)} is not this source's ({fellowship})"
                         + ("; its fellowship_types were ignored and its types read" if own_codes else ""))
    return _types(raw.get("types"), repair)


def _days(raw: dict, fields: RecordFields) -> list[int | None]:
    """The record's weekdays; [None] for a meeting by appointment (no day, no
    time; a day without a time is made one by the caller, with a note)."""
    value = raw.get("day")
    if value is None or value == "":
        if fields.text("time", "start_time", limit=100, required=True):
            raise RecordRejected("day", f"day {shown(value)} is missing but the meeting has a time")
        return [None]
    if isinstance(value, str) and "," in value:
        value = value.split(",", MAX_DAY_VALUES)
    if isinstance(value, list):
        if not value:
            raise RecordRejected("day", "day is an empty list")
        if len(value) > MAX_DAY_VALUES:
            raise RecordRejected("day", f"day lists {len(value):,} values; a week has 7 days")
        return sorted({read_day(v) for v in value})
    return [read_day(value)]


def _updated(value, repair) -> None:
    if value is None or value == "":
        return
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > 40:
        repair("updated", f"updated {shown(value)} is not a date; ignored")
        return
    with suppress(ValueError):
        dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return
    candidate = text.replace("Z", "").replace("T", " ") if "T" in text else text
    for fmt in UPDATED_FORMATS:
        with suppress(ValueError):
            dt.datetime.strptime(candidate, fmt)
            return
    repair("updated", f"updated {shown(text)} is not a date; ignored")


def _regions(raw: dict, fields: RecordFields) -> list[str]:
    regions = raw.get("regions")
    if isinstance(regions, list) and regions:
        names = []
        for region in regions[:MAX_REGIONS]:
            text = text_of(region, field_name="regions", repair=fields.repair)
            if text:
                names.append(limit_text(text, field_name="regions", limit=LIMITS["region"], repair=fields.repair))
        if len(regions) > MAX_REGIONS:
            fields.repair("regions", f"{len(regions):,} regions; the first {MAX_REGIONS} kept")
        return names
    if regions not in (None, "", []):
        fields.repair("regions", f"regions is {type(regions).__name__}, not a list; ignored")
    return [r for r in (fields.text("region", limit=LIMITS["region"]),
                        fields.text("sub_region", limit=LIMITS["region"])) if r]


def _coordinates(raw: dict, repair) -> tuple[float | None, float | None]:
    latitude, longitude = raw.get("latitude"), raw.get("longitude")
    coordinates = raw.get("coordinates")
    if (latitude in (None, "") or longitude in (None, "")) and isinstance(coordinates, str) and len(coordinates) < 80:
        parts = coordinates.split(",")
        if len(parts) == 2:
            latitude, longitude = parts[0].strip(), parts[1].strip()
    if latitude in (None, "") and longitude in (None, ""):
        return None, None
    lat = read_coordinate(latitude, low=-90, high=90)
    lng = read_coordinate(longitude, low=-180, high=180)
    if lat is None or lng is None:
        repair("latitude", f"coordinates {shown(latitude, 30)}, {shown(longitude, 30)} are not a position; "
                           "will geocode")
        return None, None
    if lat == 0 and lng == 0:
        repair("latitude", "coordinates 0,0 are a placeholder; will geocode")
        return None, None
    return lat, lng


def _conference_url(fields: RecordFields) -> str:
    url = fields.link("conference_url", "video_conference_url")
    if url and not conference_provider(url):
        fields.repair("conference_url", "conference_url host is not a recognised provider: kept, not counted as online")
    return url


def meeting_guide_meetings(raw: dict, *, key: str, repair, notes_limit: int, fellowship: str) -> list[FeedMeeting]:
    """One feed record as meetings (one per weekday); `repair(field, reason)`
    collects notes; `fellowship` is the importing source's slug. Raises
    `RecordRejected`. Strings must already be clean (`records.clean_record`)."""
    if not isinstance(raw, dict):
        kind = _json_kind(raw)
        raise RecordRejected("", f"record is {'an' if kind[0] in 'aeiou' else 'a'} {kind}, not an object")
    fields = RecordFields(raw, repair, notes_limit=notes_limit)
    if raw.get(EXTRA_CELLS):
        repair("", f"the row has {raw[EXTRA_CELLS]} cells more than the header names; they were ignored")
    name = fields.text("name", limit=LIMITS["name"], required=True)
    if not name:
        raise RecordRejected("name", "the meeting has no name")
    days = _days(raw, fields)
    time_value = fields.text("time", "start_time", limit=100, required=True)
    if not time_value and days != [None]:
        # A weekly meeting is found by its day and time; with a day alone it
        # would be listed on that day at no hour, so it is by appointment.
        repair("day", f"day {shown(raw.get('day'))} but no time; the day was dropped and the meeting is "
                      "listed by appointment")
        days = [None]
    start, end = None, None
    if time_value:
        start, note = read_time(time_value)
        if note:
            repair("time", note)
    end_value = fields.text("end_time", limit=100)
    if end_value and start is not None:
        try:
            end, note = read_time(end_value, field_name="end_time")
            if note:
                repair("end_time", note)
        except RecordRejected as error:
            repair("end_time", f"{error.reason}; dropped (consumers assume one hour)")
    zone, note = read_timezone(fields.text("timezone", limit=100))
    if note:
        repair("timezone", note)
    _updated(raw.get("updated"), repair)
    latitude, longitude = _coordinates(raw, repair)
    address = fields.text("address", limit=LIMITS["address"])
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
        type_tokens=_type_tokens(raw, repair, fellowship=fellowship),
        notes=fields.notes("notes"),
        conference_url=_conference_url(fields),
        conference_url_notes=fields.notes("conference_url_notes"),
        conference_phone=fields.text("conference_phone", limit=LIMITS["conference_phone"]),
        conference_phone_notes=fields.notes("conference_phone_notes"),
        group=fields.text("group", limit=LIMITS["group"]),
        group_notes=fields.notes("group_notes"),
        url=fields.link("url"),
        location_name=fields.text("location", "location_name", limit=LIMITS["location"]),
        address=address,
        city=fields.text("city", limit=LIMITS["city"]),
        state=fields.text("state", limit=LIMITS["state"]),
        postal_code=fields.text("postal_code", "zip", limit=LIMITS["postal_code"]),
        country=fields.text("country", limit=LIMITS["country"]),
        formatted_address=fields.text("formatted_address", limit=LIMITS["formatted_address"]),
        latitude=latitude,
        longitude=longitude,
        approximate=approximate,
        location_notes=fields.notes("location_notes"),
        regions=_regions(raw, fields),
    )
    # Slugified by the importer, and only for new meetings; a record without
    # a slug of its own is named for the meeting, not for its content key.
    slug_base = (name if key.startswith(NO_SLUG) else key)[:50]
    if len(days) == 1:
        return [FeedMeeting(key=key, slug_hint=slug_base, day=days[0], **common)]
    return [
        FeedMeeting(key=f"{key}@{day}", slug_hint=f"{slug_base}-{DAY_SLUGS[day]}", day=day, **common)
        for day in days
    ]


def _record_key(raw, repair) -> tuple[str, str]:
    """The feed's slug as our key, twice (key and name; "" when it has none usable)."""
    slug = raw.get("slug") if isinstance(raw, dict) else None
    if slug is None or slug == "" or isinstance(slug, bool):
        return "", ""
    if isinstance(slug, float) or not isinstance(slug, (str, int)):
        repair("slug", f"slug {shown(slug)} is not text or a whole number; keyed on the content")
        return "", ""
    key = str(slug).strip()
    if len(key) > LIMITS["key"]:
        repair("slug", f"slug is {len(key):,} characters; its first {LIMITS['key']} are the key")
    return key[:LIMITS["key"]], key[:LIMITS["key"]]


def parse_meeting_guide(records, *, fellowship: str = "") -> ParsedFeed:
    """Every record of a feed (a list, or the `JsonRecords` of a body):
    meetings, and a note for each rejected or repaired record. One bad record
    never stops the others. `fellowship`: the importing source's slug (a
    record's own codes are read only when they are that fellowship's)."""
    parsed = ParsedFeed(records=len(records))
    needs_cleaning = getattr(records, "needs_cleaning", True)
    notes_limit = records_notes_limit()
    # A fingerprint is computed only for a missing slug, a rejected record or a collision.
    claims = KeyClaims()
    # The keys made for a multi-day record's days: key -> (record label, meeting).
    day_keys: dict[str, tuple[str, FeedMeeting]] = {}
    for index, raw in enumerate(records):
        raw, key, label = opened_record(raw, index, clean=needs_cleaning, parsed=parsed, read_key=_record_key)
        if not key:
            # No slug: key on the content, so the same record matches next time.
            key = f"{NO_SLUG}{record_fingerprint(raw)}"
            if key in claims:
                parsed.repair(label, "slug", REPEATED_RECORD)
                continue
            parsed.repair(label, "slug", f"missing slug; keyed as {key}")
        meetings = claims.read(key, lambda k, repair: meeting_guide_meetings(
            raw, key=k, repair=repair, notes_limit=notes_limit, fellowship=fellowship), raw, parsed=parsed,
            label=label, field_name="slug", what="slug")
        if meetings is None:
            continue
        parsed.meetings.extend(meetings)
        parsed.seen_keys.update(m.key for m in meetings)
        if len(meetings) > 1:
            day_keys.update((m.key, (label, m)) for m in meetings)
    _keep_day_keys_apart(parsed, claims, day_keys)
    return parsed


def _keep_day_keys_apart(parsed: ParsedFeed, claims: KeyClaims, day_keys: dict[str, tuple[str, FeedMeeting]]) -> None:
    """A multi-day record's meetings are keyed "slug@day"; where another
    record's own key is that (slug "a@1" beside slug "a" on days 1 and 2,
    in either order), the record's own key stays and the day's meeting takes
    "slug@day~2" (~3 ... when taken too): the same on every run, and a feed
    without such a collision keeps its keys."""
    for key in sorted(day_keys.keys() & claims.said.keys()):
        label, meeting = day_keys[key]
        number = 2
        while f"{key}~{number}" in claims or f"{key}~{number}" in day_keys:
            number += 1
        meeting.key, meeting.hash_cache = f"{key}~{number}", ""
        parsed.seen_keys.add(meeting.key)
        parsed.repair(label, "slug", f"another record's slug is {key}; this record's meeting of that day "
                                     f"keyed as {meeting.key}")
