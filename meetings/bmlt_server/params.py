"""The query parameters of BMLT's client interface, read as a root server
reads them, validated in one place.

Well-formed input that names nothing we have (an unknown service body, a
weekday 9, a format id we never issued) finds nothing, as on a root server;
malformed input (a weekday "monday", a latitude "north", a width with no
place) is `Malformed`, which the view answers with a 400 naming the parameter,
its message in the reader's language (English or Spanish).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from meetings import geo
from meetings.filters import DECIMAL_RE, ParameterError, search_keywords

KM_PER_MILE = geo.METRES_PER_UNIT["mi"] / 1000
CALLBACK_RE = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$")


class Malformed(Exception):
    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True)
class Included:
    """A BMLT id list: positive ids include, negative ones exclude."""

    include: tuple[int, ...] = ()
    exclude: tuple[int, ...] = ()


@dataclass(frozen=True)
class SearchRequest:
    services: Included
    recursive: bool
    weekdays: Included  # 1 = Sunday
    formats: Included
    formats_any: bool  # formats_comparison_operator=OR
    venue_types: Included
    point: geo.Point | None
    radius_km: float | None  # with a point: a radius
    nearest: int | None  # with a point: about this many nearest meetings
    search_string: str
    sort_keys: tuple[str, ...]
    data_field_keys: tuple[str, ...]
    get_used_formats: bool
    page_size: int | None
    page_num: int
    # StartsAfterH/M, StartsBeforeH/M: local start strictly after, strictly before.
    starts_after: dt.time | None = None
    starts_before: dt.time | None = None


# Every query parameter the interface reads (a list is read as `name` and
# `name[]` both): its kept answers are keyed on these alone, so a parameter
# it ignores (a cache-buster, `?x=1`) gets the kept answer rather than an
# unfiltered search of up to BMLT_SERVER_MAX_RESULTS meetings made again.
# tests/test_bmlt_server.py checks that the views read no other.
LISTS = ("services", "weekdays", "formats", "venue_types", "sort_keys", "sort_key", "data_field_key", "key_strings")
PARAMETERS = (
    *LISTS, *(f"{name}[]" for name in LISTS),
    "switcher", "callback", "lang_enum", "meeting_key", "recursive", "formats_comparison_operator",
    "lat_val", "long_val", "geo_width", "geo_width_km", "SearchString", "get_used_formats", "page_size", "page_num",
    "StartsAfterH", "StartsAfterM", "StartsBeforeH", "StartsBeforeM",
)


def values(query, name: str) -> list[str]:
    """`name[]=1&name[]=2`, `name=1,2` and mixes of both, as servers accept them."""
    raw = [*query.getlist(f"{name}[]"), *query.getlist(name)]
    return [item.strip() for value in raw for item in value.split(",") if item.strip()]


def integers(query, name: str) -> list[int]:
    found = []
    for item in values(query, name):
        if not re.fullmatch(r"-?[0-9]{1,9}", item):
            raise Malformed(name, _("%(name)s: %(value)s is not a whole number") % {"name": name, "value": repr(item)})
        found.append(int(item))
    return found


def included(query, name: str, *, cap: int | None = None) -> Included:
    """Repeats count once. With `cap`, more different ids than that (to
    include and exclude together) is `Malformed`: each format id costs the
    search a clause of its own (views._has_format)."""
    numbers = list(dict.fromkeys(integers(query, name)))
    if cap is not None and len(numbers) > cap:
        raise Malformed(name, _("%(name)s: give at most %(count)d different ids") % {"name": name, "count": cap})
    return Included(tuple(n for n in numbers if n > 0), tuple(-n for n in numbers if n < 0))


def number(query, name: str, *, low: float, high: float) -> float | None:
    text = query.get(name, "").strip()
    if not text:
        return None
    if not DECIMAL_RE.fullmatch(text):
        raise Malformed(name, _("%(name)s: %(value)s is not a number") % {"name": name, "value": repr(text)})
    value = float(text)
    if not low <= value <= high:
        raise Malformed(name, _("%(name)s: %(value)s is outside %(low)s..%(high)s") % {
            "name": name, "value": repr(text), "low": f"{low:g}", "high": f"{high:g}"})
    return value


def flag(query, name: str) -> bool:
    """Present is true, as root servers read it (crouton sends a bare `&get_used_formats`)."""
    if name not in query:
        return False
    text = query.get(name, "").strip().lower()
    if text in ("", "1", "true"):
        return True
    if text in ("0", "false"):
        return False
    raise Malformed(name, _("%(name)s: %(value)s is not 1 or 0") % {"name": name, "value": repr(text)})


def whole(query, name: str, *, low: int) -> int | None:
    text = query.get(name, "").strip()
    if not text:
        return None
    if not re.fullmatch(r"-?[0-9]{1,9}", text) or int(text) < low:
        raise Malformed(name, _("%(name)s: %(value)s is not a whole number of at least %(low)d") % {
            "name": name, "value": repr(text), "low": low})
    return int(text)


def clock(query, name: str) -> dt.time | None:
    """`{name}H` and `{name}M` (hour, minute; the minute alone says nothing)."""
    hour, minute = query.get(f"{name}H", "").strip(), query.get(f"{name}M", "").strip()
    if not hour:
        return None
    if not re.fullmatch(r"[0-9]{1,2}", hour) or int(hour) > 23:
        raise Malformed(f"{name}H", _("%(name)s: %(value)s is not an hour from 0 to 23") % {
            "name": f"{name}H", "value": repr(hour)})
    if minute and (not re.fullmatch(r"[0-9]{1,2}", minute) or int(minute) > 59):
        raise Malformed(f"{name}M", _("%(name)s: %(value)s is not a minute from 0 to 59") % {
            "name": f"{name}M", "value": repr(minute)})
    return dt.time(int(hour), int(minute or 0))


def keywords(query) -> str:
    """SearchString, its first 200 characters (a root server takes any), in
    at most as many words as the API's `q` (filters.search_keywords)."""
    try:
        return search_keywords(query.get("SearchString", "").strip()[:200])
    except ParameterError as error:
        raise Malformed("SearchString", str(error)) from error


def search_request(query) -> SearchRequest:
    latitude = number(query, "lat_val", low=-90, high=90)
    longitude = number(query, "long_val", low=-180, high=180)
    max_km, max_results = settings.MEETINGS_MAX_RADIUS_KM, settings.BMLT_SERVER_MAX_RESULTS
    width_km = number(query, "geo_width_km", low=-max_results, high=max_km)
    width_mi = number(query, "geo_width", low=-max_results, high=max_km / KM_PER_MILE)
    width_name, width = ("geo_width_km", width_km) if width_km is not None else ("geo_width", width_mi)
    if (latitude is None) != (longitude is None):
        raise Malformed("lat_val" if latitude is None else "long_val", _("lat_val and long_val go together"))
    if width is not None and latitude is None:
        raise Malformed(width_name, _("%(name)s needs lat_val and long_val") % {"name": width_name})
    point, radius_km, nearest = None, None, None
    if latitude is not None:
        if not width:
            raise Malformed("geo_width", _("a place needs geo_width (miles) or geo_width_km; negative: the nearest N"))
        point = geo.Point(latitude, longitude)
        if width < 0:
            nearest = round(-width)  # a count, whatever the unit
            if nearest < 1:
                raise Malformed(width_name, _("%(name)s: a negative width asks for the nearest N meetings; "
                                              "N is at least 1") % {"name": width_name})
        else:
            radius_km = width if width_name == "geo_width_km" else width * KM_PER_MILE
    # Repeats count once: every sort key is read for every record of the answer.
    sort_keys = tuple(dict.fromkeys(values(query, "sort_keys") or values(query, "sort_key")))
    # Read in this order: the first malformed parameter is the one named.
    return SearchRequest(
        services=included(query, "services"), recursive=flag(query, "recursive"),
        weekdays=included(query, "weekdays"),
        formats=included(query, "formats", cap=settings.MEETINGS_MAX_VALUES_PER_PARAMETER),
        formats_any=query.get("formats_comparison_operator", "AND").strip().upper() == "OR",
        venue_types=included(query, "venue_types"), point=point, radius_km=radius_km, nearest=nearest,
        search_string=keywords(query), sort_keys=sort_keys,
        data_field_keys=tuple(dict.fromkeys(values(query, "data_field_key"))),
        get_used_formats=flag(query, "get_used_formats"), page_size=whole(query, "page_size", low=1),
        page_num=whole(query, "page_num", low=1) or 1, starts_after=clock(query, "StartsAfter"),
        starts_before=clock(query, "StartsBefore"),
    )


def callback(query) -> str:
    name = query.get("callback", "").strip()
    if not CALLBACK_RE.fullmatch(name) or len(name) > 100:
        raise Malformed("callback", _("callback must be a JavaScript function name"))
    return name
