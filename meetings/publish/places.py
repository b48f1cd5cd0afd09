"""An approximate, city-level place for meetings that have no place of their
own (online only): the principal city of their time zone, from tzdata's
zone table, so the place is in the meeting's zone by construction."""

from __future__ import annotations

import datetime as dt
import importlib.resources
import re
import zoneinfo
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TABLE_NAMES = ("zone1970.tab", "zone.tab")  # later ones win
COORDINATE_RE = re.compile(r"^([+-]\d{4,6})([+-]\d{5,7})$")


@dataclass(frozen=True)
class ZonePlace:
    city: str
    country: str
    latitude: float
    longitude: float

    @property
    def formatted_address(self) -> str:
        return f"{self.city}, {self.country}" if self.country else self.city


def _degrees(text: str, degree_digits: int) -> float:
    """tzdata's ISO 6709 ±DDMM[SS] / ±DDDMM[SS] to decimal degrees."""
    sign = -1 if text[0] == "-" else 1
    digits = text[1:]
    degrees, minutes, seconds = digits[:degree_digits], digits[degree_digits:degree_digits + 2], digits[degree_digits + 2:]
    return round(sign * (int(degrees) + int(minutes) / 60 + (int(seconds) / 3600 if seconds else 0)), 5)


@lru_cache(maxsize=1)
def _zone_table() -> dict[str, ZonePlace]:
    # zone1970.tab leaves out zones merged since 1970 (Europe/Oslo); zone.tab still lists them.
    places: dict[str, ZonePlace] = {}
    for directory in _table_directories():
        for name in TABLE_NAMES:
            path = directory / name
            if path.is_file():
                places.update(_parse(path.read_text(encoding="utf-8")))
        if places:
            break
    return places


def _table_directories() -> list[Path]:
    """The system's zone data first, then the `tzdata` package's (slim
    containers have no /usr/share/zoneinfo; zoneinfo falls back the same way)."""
    directories = [Path(directory) for directory in zoneinfo.TZPATH]
    with suppress(ModuleNotFoundError):
        directories.append(Path(str(importlib.resources.files("tzdata").joinpath("zoneinfo"))))
    return directories


def _parse(text: str) -> dict[str, ZonePlace]:
    places = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        columns = line.split("\t")
        if len(columns) < 3:
            continue
        match = COORDINATE_RE.match(columns[1])
        if not match:
            continue
        # zone1970.tab lists every country sharing a zone; the first is the zone's own.
        country = columns[0].split(",")[0]
        zone_name = columns[2]
        city = zone_name.rsplit("/", 1)[-1].replace("_", " ")
        places[zone_name] = ZonePlace(city, country, _degrees(match.group(1), 2), _degrees(match.group(2), 3))
    return places


# For a zone tzdata gives no place (UTC, Etc/GMT+5, EST): a zone that keeps
# the same offset from UTC all year, by that offset in hours. None at -12,
# where nobody lives.
FIXED_OFFSET_STAND_INS = {
    -11: "Pacific/Pago_Pago", -10: "Pacific/Honolulu", -9: "Pacific/Gambier", -8: "Pacific/Pitcairn",
    -7: "America/Phoenix", -6: "America/Guatemala", -5: "America/Bogota", -4: "America/La_Paz",
    -3: "America/Argentina/Buenos_Aires", -2: "America/Noronha", -1: "Atlantic/Cape_Verde",
    0: "Atlantic/Reykjavik", 1: "Africa/Lagos", 2: "Africa/Johannesburg", 3: "Africa/Nairobi", 4: "Asia/Dubai",
    5: "Asia/Tashkent", 6: "Asia/Dhaka", 7: "Asia/Bangkok", 8: "Asia/Singapore", 9: "Asia/Tokyo",
    10: "Australia/Brisbane", 11: "Pacific/Guadalcanal", 12: "Pacific/Tarawa", 13: "Pacific/Tongatapu",
    14: "Pacific/Kiritimati",
}


def fixed_offset_hours(timezone: str) -> int | None:
    """The zone's offset from UTC in whole hours when it is the same all year
    (UTC, Etc/GMT-9); None for a zone with summer time, or an unknown name."""
    try:
        zone = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
    winter, summer = (dt.datetime(2026, month, 1, tzinfo=zone).utcoffset() for month in (1, 7))
    if winter != summer or winter is None or winter % dt.timedelta(hours=1):
        return None
    return int(winter / dt.timedelta(hours=1))


def zone_place(timezone: str) -> ZonePlace | None:
    """The principal city of an IANA zone. A zone tzdata gives no place but
    one offset all year (UTC, Etc/GMT+5) is shown at a city that keeps that
    offset all year (Reykjavík, Bogotá), since a consumer drops a meeting
    with no place at all. None otherwise, or when the zone table is not
    installed."""
    table = _zone_table()
    if timezone in table:
        return table[timezone]
    hours = fixed_offset_hours(timezone)
    return table.get(FIXED_OFFSET_STAND_INS.get(hours, "")) if hours is not None else None
