"""Meetings, service bodies and the server as a BMLT root server writes them
(bmlt.md; the recorded answers in ../shared/reference/samples/): every value
a string, missing is "", weekday 1 = Sunday, times `HH:MM:SS`, `venue_type`
1 in person, 2 virtual, 3 hybrid."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from django.conf import settings

from fellowships.models import ServiceBody
from meetings import geo, schedule
from meetings.bmlt_server.formats import FormatTable
from meetings.keywords import published_type_ids
from meetings.models import Meeting
from meetings.publish.meeting_guide import region_paths
from meetings.rows import meeting_type_ids

# The fields of a meeting record, in a root server's order.
MEETING_KEYS = (
    "id_bigint", "worldid_mixed", "shared_group_id_bigint", "service_body_bigint", "weekday_tinyint", "venue_type",
    "start_time", "duration_time", "time_zone", "formats", "lang_enum", "longitude", "latitude", "distance_in_km",
    "distance_in_miles", "email_contact", "contact_phone_2", "contact_email_1", "contact_phone_1",
    "contact_email_2", "contact_name_1", "contact_name_2", "comments", "virtual_meeting_additional_info",
    "location_city_subsection", "virtual_meeting_link", "phone_meeting_number", "location_nation",
    "location_postal_code_1", "location_province", "location_sub_province", "location_municipality",
    "location_neighborhood", "location_street", "location_info", "location_text", "meeting_name", "bus_lines",
    "train_lines", "published", "root_server_uri", "format_shared_id_list",
)
FIELD_DESCRIPTIONS = {
    "id_bigint": "ID", "worldid_mixed": "World ID", "service_body_bigint": "Service Body ID",
    "weekday_tinyint": "Weekday", "venue_type": "Venue Type", "start_time": "Start Time",
    "duration_time": "Duration", "time_zone": "Time Zone", "formats": "Formats", "lang_enum": "Language",
    "longitude": "Longitude", "latitude": "Latitude", "meeting_name": "Meeting Name",
    "location_text": "Location Name", "location_info": "Additional Location Information",
    "location_street": "Street Address", "location_city_subsection": "Borough",
    "location_neighborhood": "Neighborhood", "location_municipality": "Town", "location_sub_province": "County",
    "location_province": "State", "location_postal_code_1": "Zip Code", "location_nation": "Nation",
    "comments": "Comments", "train_lines": "Train Lines", "bus_lines": "Bus Lines",
    "phone_meeting_number": "Phone Meeting Dial-in Number", "virtual_meeting_link": "Virtual Meeting Link",
    "virtual_meeting_additional_info": "Virtual Meeting Additional Information",
    "root_server_uri": "Root Server URI", "format_shared_id_list": "Format Shared ID List",
}
# What GetServerInfo's available_keys, GetFieldKeys and GetFieldValues offer.
AVAILABLE_KEYS = tuple(key for key in MEETING_KEYS if key in FIELD_DESCRIPTIONS)
# NA's world group codes (bmlt.md: G00227317), which a BMLT feed's import
# keeps as the meeting's group; any other group (a Meeting Guide group's name) is none.
WORLD_ID = re.compile(r"G[0-9]{8}", re.IGNORECASE)


def world_id(group: str | None) -> str:
    return group if group and WORLD_ID.fullmatch(group) else ""


VENUE_TYPES = {"in_person": "1", "online": "2", "hybrid": "3", "inactive": "1"}
ROW_FIELDS = (
    "id", "name", "day", "time", "end_time", "timezone", "notes", "attendance", "open_closed", "fellowship_id",
    "conference_url", "conference_url_notes", "conference_phone", "group", "published", "service_body_id",
    "language_text", "latitude", "longitude", "location_id", "location__name", "location__notes",
    "location__address", "location__city", "location__state", "location__postal_code", "location__country",
    "location__region_id",
)
SERVER_VERSION = "4.2.6"  # the BMLT version whose client interface this one follows (the recorded samples)


def duration(*, time: dt.time, end_time: dt.time | None) -> str:
    """`HH:MM:SS` from the start to the end on the wall clock (schedule.wall_duration_minutes)."""
    minutes = schedule.wall_duration_minutes(time=time, end_time=end_time)
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _county(region_id: int | None, paths: dict[int, list[str]]) -> str:
    """The top of a location's region path when it has two levels or more
    (Orange County > Irvine): BMLT's sub-province; a city alone is the city."""
    path = paths.get(region_id, ())
    return path[0] if len(path) >= 2 else ""


def meeting_records(*, ids: list[int], distances: dict[int, float], table: FormatTable, root: str) -> list[dict]:
    """The meetings `ids`, in that order, as `GetSearchResults` records: two
    queries (the rows, their type links) plus what is kept per directory version."""
    rows = {row["id"]: row for row in Meeting.objects.filter(pk__in=ids).values(*ROW_FIELDS)}
    type_ids = meeting_type_ids(ids)
    paths = region_paths()
    return [meeting_record(row=rows[pk], type_ids=type_ids.get(pk, ()), distance_m=distances.get(pk), table=table,
                           root=root, region_paths=paths) for pk in ids if pk in rows]


def meeting_formats(*, row: dict, type_ids: Iterable[int], table: FormatTable) -> list:
    """The meeting's formats, with the fellowship's closed (or open) one when
    its rule decided, as the Meeting Guide feed says `C`, and the language
    it is held in when its service body's says it (`keywords.published_type_ids`)."""
    type_ids = published_type_ids(type_ids=type_ids, language_text=row["language_text"],
                                  language_types=table.language_types.get(row["fellowship_id"], {}))
    by_rule = {"closed": table.closed_type, "open": table.open_type}.get(row["open_closed"], {})
    if row["fellowship_id"] in by_rule:
        type_ids.append(by_rule[row["fellowship_id"]])
    formats = []
    for type_id in type_ids:
        server_format = table.by_type.get(type_id)
        if server_format is not None and server_format not in formats:
            formats.append(server_format)
    return sorted(formats, key=lambda f: f.key_string)


def meeting_record(*, row: dict, type_ids: Iterable[int], distance_m: float | None, table: FormatTable, root: str,
                   region_paths: dict[int, list[str]]) -> dict:
    formats = meeting_formats(row=row, type_ids=type_ids, table=table)
    placed = row["location_id"] is not None
    record = dict.fromkeys(MEETING_KEYS, "")
    record.update(
        id_bigint=str(row["id"]),
        worldid_mixed=world_id(row["group"]),
        service_body_bigint=str(row["service_body_id"]),
        weekday_tinyint=str(row["day"] + 1) if row["day"] is not None else "",
        venue_type=VENUE_TYPES.get(row["attendance"], "1"),
        start_time=row["time"].strftime("%H:%M:%S") if row["time"] else "",
        duration_time=duration(time=row["time"], end_time=row["end_time"]) if row["time"] else "",
        time_zone=schedule.published_zone(row["timezone"]),
        formats=",".join(f.key_string for f in formats),
        lang_enum="en",
        longitude=_number(row["longitude"]),
        latitude=_number(row["latitude"]),
        comments=row["notes"],
        virtual_meeting_additional_info=row["conference_url_notes"],
        virtual_meeting_link=row["conference_url"],
        phone_meeting_number=row["conference_phone"],
        meeting_name=row["name"],
        published="1" if row["published"] else "0",
        root_server_uri=root,
        format_shared_id_list=",".join(str(f.id) for f in formats),
    )
    if placed:
        record.update(
            location_nation=row["location__country"], location_postal_code_1=row["location__postal_code"],
            location_province=row["location__state"], location_municipality=row["location__city"],
            location_sub_province=_county(row["location__region_id"], region_paths),
            location_street=row["location__address"], location_info=row["location__notes"],
            location_text=row["location__name"],
        )
    if distance_m is not None:
        record["distance_in_km"] = repr(geo.from_metres(distance_m, "km"))
        record["distance_in_miles"] = repr(geo.from_metres(distance_m, "mi"))
    return record


def service_body_records() -> list[dict]:
    bodies = list(ServiceBody.objects.order_by("id").values("id", "parent_id", "name", "location", "website",
                                                            "phone"))
    parents = {b["parent_id"] for b in bodies if b["parent_id"]}
    return [{
        "id": str(b["id"]),
        "parent_id": str(b["parent_id"] or 0),
        "name": b["name"],
        "description": b["location"],
        # BMLT's kinds: a region (RS) holds areas (AS).
        "type": "RS" if b["id"] in parents else "AS",
        "url": b["website"],
        "helpline": b["phone"],
        "world_id": "",
    } for b in bodies]


def server_info(*, languages: Iterable[str]) -> list[dict]:
    """`GetServerInfo`: the keys of the recorded answer, with this directory's values."""
    center = settings.BMLT_SERVER_CENTER
    return [{
        "version": SERVER_VERSION,
        "versionInt": "4002006",
        "langs": ",".join(sorted(set(languages) | {"en"})),
        "nativeLang": "en",
        "centerLongitude": repr(float(center[1])),
        "centerLatitude": repr(float(center[0])),
        "centerZoom": "6",
        "defaultDuration": f"{schedule.DEFAULT_DURATION_MINUTES // 60:02d}:{schedule.DEFAULT_DURATION_MINUTES % 60:02d}",
        "regionBias": "us",
        "charSet": "UTF-8",
        "distanceUnits": "mi",
        "semanticAdmin": "0",
        "changesPerMeeting": "0",
        "meeting_states_and_provinces": "",
        "meeting_counties_and_sub_provinces": "",
        "available_keys": ",".join(AVAILABLE_KEYS),
        "google_api_key": "",
        "dbVersion": "meetingfinder",
        "dbPrefix": "",
        "phpVersion": "",
        "auto_geocoding_enabled": False,
        "county_auto_geocoding_enabled": False,
        "zip_auto_geocoding_enabled": False,
        "commit": "",
        # No default_closed_status: BMLT has no "not stated", and either value
        # would tell importers that NA and AA meetings stating neither are open
        # (or closed). Without it they read open/closed from formats only, as
        # from older servers; a meeting closed or open by its fellowship's
        # rule carries the format that says so.
        "aggregator_mode_enabled": False,
    }]
