"""The meeting search's query parameters, parsed and validated in one place.

`search_parse(query)` turns query parameters into a frozen `MeetingSearch`
(meetings/selectors.py) or raises `SearchInvalid` with messages keyed by
parameter name, which the API answers as a 400. The API's list, the search
page, the search calendar and the feed all parse their query here, and the
OpenAPI schema's parameters are generated from `PARAMETERS` (api/views.py).

Why not a django-filter FilterSet or a Django form: both deep-copy every
field for each request (~0.5 ms for these twenty parameters, a quarter of a
whole search at 100,000 meetings, bench/README.md), and the search is one
function over `MeetingFilters`, not one filter per parameter. Types,
fellowships and the other lookups are Fellowship, MeetingType and ServiceBody
rows, so what a FilterSet would add is only its per-request copies.

Every request's work is bounded: a list parameter takes at most
MEETINGS_MAX_VALUES_PER_PARAMETER distinct values (repeats are dropped), and
the query string at most MEETINGS_MAX_QUERY_LENGTH characters.

Messages are translated when they are given, in the request's language: the
search page speaks its reader's, and the API's 400 its sender's (never kept,
meetings/public_answers.py). Their English is what API clients have read.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections, router
from django.db.models import Count, F, QuerySet
from django.utils.translation import gettext as _, gettext_lazy, ngettext, pgettext

from fellowships.models import Fellowship, MeetingType, ServiceBody
from meetings import clock, geo, schedule
from meetings.keywords import MAX_KEYWORD_WORDS, fold, keyword_words
from meetings.geocoding import GeocodingError, geocode, trailing_states
from meetings.models import Location, Meeting, Region
from meetings.querysets import PUBLISHED
from meetings.directory_version import kept_per_version
from meetings.selectors import (ATTENDANCE_MATCHES, TIMES_OF_DAY, WEEK_MINUTES, MeetingFilters, MeetingSearch,
                               tree_children, tree_ids)

MAX_STARTING_WITHIN = WEEK_MINUTES
# order: nearest first (the default near a place) or by next start from now.
ORDERS = ("distance", "soonest")
# starts_on: the viewer's today, tomorrow, or the coming Sunday (0) ... Saturday (6).
STARTS_ON = ("today", "tomorrow", "0", "1", "2", "3", "4", "5", "6")


class SearchInvalid(Exception):
    """Bad query parameters: messages by parameter name. `suggested_near`: for
    a place not known, the city of the directory spelt like it ("Irvine, CA"
    for "Irvin"), which its messages name and the search page offers."""

    def __init__(self, errors: dict[str, list[str]], *, suggested_near: str = ""):
        super().__init__(errors)
        self.errors = errors
        self.suggested_near = suggested_near


class ParameterError(ValueError):
    """One parameter's value is not acceptable; the message says why."""


@dataclass(frozen=True)
class Parameter:
    name: str
    # The OpenAPI schema of one value.
    schema: dict
    description: str
    # Several values, comma-separated or repeated.
    many: bool = False
    # Read in lower case (slugs and words: fellowship=AA is aa).
    lowered: bool = False
    # Reads one value (the last given) or, with `many`, the list of distinct values.
    parse: Callable[[Any], Any] | None = None


# A decimal number as people write it, in ASCII digits: float() also takes
# "1_0" (as 10), "١٢" (as 12), "inf" and "nan".
DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")


def _number(low: float | None = None, high: float | None = None) -> Callable[[str], float]:
    def parse(text: str) -> float:
        if not DECIMAL_RE.fullmatch(text.strip()):
            raise ParameterError(_("A valid number is required."))
        value = float(text)
        if not math.isfinite(value):
            raise ParameterError(_("A valid number is required."))
        if low is not None and value < low:
            raise ParameterError(_("Ensure this value is greater than or equal to %(low)s.") % {"low": f"{low:g}"})
        if high is not None and value > high:
            raise ParameterError(_("Ensure this value is less than or equal to %(high)s.") % {"high": f"{high:g}"})
        return value
    return parse


# ASCII digits only: str.isdigit() takes "²", which int() refuses, and "١", which it reads as 1.
WHOLE_NUMBER_RE = re.compile(r"-?[0-9]{1,12}")


def whole_number(text: str | None) -> int | None:
    """The whole number `text` writes in ASCII digits (at most 12), else None:
    every query parameter, page number and id read from a URL is read so."""
    return int(text) if text is not None and WHOLE_NUMBER_RE.fullmatch(text.strip()) else None


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = whole_number(text)
        if value is None:
            # Django's forms say the same words to the admin ("usted"): the search's own.
            raise ParameterError(pgettext("search", "Enter a whole number."))
        if not low <= value <= high:
            raise ParameterError(_("Use a whole number from %(low)d to %(high)d.") % {"low": low, "high": high})
        return value
    return parse


def choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    """A parser of one of `choices`, else a ParameterError naming them."""
    def parse(text: str) -> str:
        if text not in choices:
            raise ParameterError(_("Use one of: %(choices)s.") % {"choices": ", ".join(choices)})
        return text
    return parse


def _text(max_length: int) -> Callable[[str], str]:
    def parse(text: str) -> str:
        text = text.strip()
        if len(text) > max_length:
            raise ParameterError(ngettext("Use at most %(count)d character.", "Use at most %(count)d characters.",
                                          max_length) % {"count": max_length})
        return text
    return parse


def _type_codes(text: str) -> tuple[str, ...]:
    """A `type` value: one code, or codes joined by `|` of which a meeting
    needs one (`D|DISC`: the search page's box for Discussion, which AA and
    Al-Anon write D and NA DISC), sorted so that both orders are one value."""
    codes = sorted({_text(10)(code) for code in text.split("|")} - {""})
    if not codes:
        raise ParameterError(_("Give type codes, such as D, or D|DISC for either."))
    return tuple(codes)


def search_keywords(text: str) -> str:
    """Keywords as the search takes them (`q`, and the BMLT interface's
    SearchString): at most 200 characters and MAX_KEYWORD_WORDS words, each
    one more condition on every row; else a ParameterError saying so."""
    text = _text(200)(text)
    if len(keyword_words(text)) > MAX_KEYWORD_WORDS:
        raise ParameterError(ngettext("Use at most %(count)d word.", "Use at most %(count)d words.",
                                      MAX_KEYWORD_WORDS) % {"count": MAX_KEYWORD_WORDS})
    return text


def _time(text: str) -> dt.time:
    with suppress(ValueError):
        if len(text) in (5, 8) and text[2] == ":":
            return dt.time.fromisoformat(text)
    raise ParameterError(_("Use HH:MM, e.g. 18:30."))


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ParameterError(_("Use true or false."))


def _zone_name(text: str) -> str:
    if not schedule.is_valid_zone(text):
        raise ParameterError(_("Unknown time zone: use an IANA name such as America/New_York."))
    return text


STRING = {"type": "string"}
PARAMETERS: tuple[Parameter, ...] = (
    Parameter("lat", {"type": "number", "minimum": -90, "maximum": 90},
              "Latitude of the place to search around.", parse=_number(-90, 90)),
    Parameter("lng", {"type": "number", "minimum": -180, "maximum": 180},
              "Longitude of the place to search around.", parse=_number(-180, 180)),
    Parameter("near", {"type": "string", "maxLength": 200},
              "A US ZIP code, 'City, ST' or a bare city name to search around, instead of lat and lng; a bare "
              "name found in several states is the one where the directory has meetings.", parse=_text(200)),
    Parameter("radius", {"type": "number", "minimum": 0.01},
              "Only meetings within this distance of the place.", parse=_number(0.01)),
    Parameter("units", {"type": "string", "enum": ["mi", "km"]},
              "Unit of radius and distance: mi (default) or km.", parse=choice(("mi", "km"))),
    Parameter("fellowship", STRING, "Fellowship slugs (aa, na, al-anon), comma-separated or repeated.",
              many=True, lowered=True, parse=str),
    Parameter("day", {"type": "integer", "minimum": 0, "maximum": 6},
              "Weekdays, 0 = Sunday ... 6 = Saturday; several allowed.", many=True, parse=_integer(0, 6)),
    Parameter("starts_on", {"type": "string", "enum": list(STARTS_ON)},
              "Dates in the viewer's time zone `tz` (required with it): today, tomorrow, or a weekday number "
              "(0 = Sunday ... 6 = Saturday) for the coming such date, today included. Meetings whose next "
              "start from now falls on one of them; unlike `day`, which is the weekday in each meeting's own "
              "zone, a meeting at 21:00 in Los Angeles is on the next date for a viewer in New York. Several "
              "allowed.", many=True, lowered=True, parse=choice(STARTS_ON)),
    Parameter("time_after", {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$", "example": "18:30"},
              "Starting at or after this local time (HH:MM).", parse=_time),
    Parameter("time_before", {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$", "example": "21:00"},
              "Starting before this local time (HH:MM); earlier than time_after means across midnight.",
              parse=_time),
    Parameter("time_of_day", {"type": "string", "enum": list(TIMES_OF_DAY)},
              "Parts of the day by local start time: morning 04:00-12:00, midday 11:00-17:00, evening "
              "17:00-21:00, night 21:00-04:00; several allowed.", many=True, parse=choice(tuple(TIMES_OF_DAY))),
    Parameter("open", {"type": "string", "enum": ["open", "closed"]}, "open or closed.",
              parse=choice(("open", "closed"))),
    Parameter("attendance", {"type": "string", "enum": list(ATTENDANCE_MATCHES)},
              "in_person (includes hybrid), online (includes hybrid), hybrid, inactive.", many=True,
              parse=choice(tuple(ATTENDANCE_MATCHES))),
    Parameter("type", STRING, "Type codes of the meeting's fellowship; all are required. Codes joined by | "
                              "(D|DISC): any one of them.", many=True, parse=_type_codes),
    Parameter("language", STRING, "ISO 639-1 language codes (en, es...); meetings naming none are in their "
                                  "service body's language.", many=True, lowered=True, parse=str),
    Parameter("region", STRING, "Region slugs; sub-regions included.", many=True, lowered=True, parse=str),
    Parameter("service_body", STRING, "Service body slugs; bodies below them included.", many=True,
              lowered=True, parse=str),
    Parameter("q", {"type": "string", "maxLength": 200},
              "Keywords, all required, over name, group, notes, venue, address, city and type names; "
              "case and accents do not matter (Rendicion finds Rendición); a word with no letter or digit "
              f"(a dash, an ampersand) is left out; at most {MAX_KEYWORD_WORDS} words.", parse=search_keywords),
    Parameter("starting_within", {"type": "integer", "minimum": 1, "maximum": MAX_STARTING_WITHIN},
              "Meetings starting in the next N minutes, each in its own time zone.",
              parse=_integer(1, MAX_STARTING_WITHIN)),
    Parameter("in_progress", {"type": "boolean"},
              "true: only meetings under way now (started, not ended), each in its own time zone.",
              parse=_boolean),
    Parameter("order", {"type": "string", "enum": list(ORDERS)},
              "distance: nearest first, the default with a place (and only with one). soonest: by each "
              "meeting's next start from now, soonest first (nearer first at the same time; meetings with "
              "no next start, by appointment, last), the default with starting_within or starts_on and no "
              "place.", lowered=True, parse=choice(ORDERS)),
    Parameter("tz", {"type": "string", "maxLength": 64},
              "The viewer's IANA time zone: each meeting's next start is also given in it "
              "(day_local, time_local, next_start_local).", parse=_zone_name),
)
BY_NAME = {p.name: p for p in PARAMETERS}


def _values(query, name: str) -> list[str]:
    """Every value of a parameter: repeated, comma-separated, or both."""
    given = query.getlist(name) if hasattr(query, "getlist") else [query[name]] if name in query else []
    return [item.strip() for value in given for item in str(value).split(",") if item.strip()]


def _too_many_values(limit: int) -> list[str]:
    return [ngettext("Give at most %(count)d different value.", "Give at most %(count)d different values.",
                     limit) % {"count": limit}]


def _read(query, parameter: Parameter, errors: dict[str, list[str]]) -> Any:
    if parameter.name not in query:  # most are absent: a QueryDict's getlist of one raises and catches a KeyError
        return [] if parameter.many else None
    if not parameter.many:
        given = query.getlist(parameter.name) if hasattr(query, "getlist") else [query.get(parameter.name)]
        text = str(given[-1]).strip() if given and given[-1] is not None else ""
        if not text:
            return None
        try:
            return parameter.parse(text.lower() if parameter.lowered else text)
        except ParameterError as error:
            errors[parameter.name] = [str(error)]
            return None
    distinct: list = []
    for text in _values(query, parameter.name):
        try:
            value = parameter.parse(text.lower() if parameter.lowered else text)
        except ParameterError as error:
            errors[parameter.name] = [str(error)]
            return []
        if value not in distinct:
            distinct.append(value)
    limit = settings.MEETINGS_MAX_VALUES_PER_PARAMETER
    if len(distinct) > limit:
        errors[parameter.name] = _too_many_values(limit)
        return []
    return distinct


def read_parameter(query, name: str) -> Any:
    """One parameter read as the search reads it, None (or [] for one that
    may be repeated) when absent or refused."""
    ignored: dict[str, list[str]] = {}
    return _read(query, BY_NAME[name], ignored)


def clock_parameters(query) -> tuple[int | None, str | None]:
    """`starting_within` and `tz` read as the search reads them (None when
    absent or refused): besides the meetings' own times, what moves a search's
    answer with the clock (meetings/public_answers.py keys answers by it)."""
    return read_parameter(query, "starting_within"), read_parameter(query, "tz")


def _query_length(query) -> int:
    if hasattr(query, "lists"):
        return sum(len(key) + len(value) + 2 for key, values in query.lists() for value in values)
    return sum(len(str(key)) + len(str(value)) + 2 for key, value in query.items())


# What the rules between parameters say. Their messages name the API's
# parameters (a contract); the search page names its fields (`words`).
WORDS = {
    "together": gettext_lazy("%(missing)s is required together with %(other)s."),
    "either": gettext_lazy("Give either near or lat and lng, not both."),
    "same_times": gettext_lazy("time_before must differ from time_after."),
    "radius_limit": gettext_lazy("radius may be at most %(limit)d %(unit)s."),
}


def search_parse(query, *, now: dt.datetime | None = None, words: dict | None = None) -> MeetingSearch:
    """A validated search from query parameters (a QueryDict or a plain dict);
    SearchInvalid names each bad parameter. Parameters it does not know are
    left to the caller (limit and offset belong to the paginator). `words`
    replaces some of WORDS (the search page's)."""
    words = {**WORDS, **(words or {})}
    limit = settings.MEETINGS_MAX_QUERY_LENGTH
    if _query_length(query) > limit:
        raise SearchInvalid({"query": [ngettext("The query is longer than %(count)d character.",
                                                "The query is longer than %(count)d characters.", limit)
                                       % {"count": limit}]})
    errors: dict[str, list[str]] = {}
    data = {p.name: _read(query, p, errors) for p in PARAMETERS}
    point, place, suggested_near = _point(data, errors, words)
    radius_m = _radius_m(data, point, errors, words)
    fellowships = _by_slug(data, "fellowship", Fellowship, errors)
    _check_type_codes(data, fellowships, errors)
    _check_languages(data, errors)
    region_ids = _tree_ids(data, "region", Region, errors)
    service_body_ids = _tree_ids(data, "service_body", ServiceBody, errors)
    after, before = data["time_after"], data["time_before"]
    if after and before and after == before:
        errors["time_before"] = [str(words["same_times"])]
    if data["starts_on"] and not data["tz"] and "tz" not in errors:
        errors["starts_on"] = [_("starts_on needs tz: the viewer's IANA time zone, e.g. America/New_York.")]
    if data["order"] == "distance" and point is None and not errors.keys() & {"near", "lat", "lng"}:
        errors["order"] = [_("order=distance needs a place: near, or lat and lng.")]
    if errors:
        raise SearchInvalid(errors, suggested_near=suggested_near)
    now = now or clock.now()
    viewer_zone = schedule.zone(data["tz"]) if data["tz"] else None
    filters = MeetingFilters(
        fellowships=fellowships, days=tuple(sorted(data["day"])), time_after=after, time_before=before,
        open_closed=data["open"], attendance=tuple(data["attendance"]), type_codes=tuple(data["type"]),
        languages=tuple(data["language"]), region_ids=region_ids, service_body_ids=service_body_ids,
        keyword=data["q"] or "", starting_within=data["starting_within"], in_progress=bool(data["in_progress"]),
        times_of_day=tuple(data["time_of_day"]), soonest_first=data["order"] == "soonest", now=now,
        start_windows=_viewer_date_windows(data["starts_on"], viewer_zone=viewer_zone, now=now))
    return MeetingSearch(point=point, radius_m=radius_m, filters=filters, unit=data["units"] or "mi",
                         viewer_zone=viewer_zone, now=now, place=place)


def _starts_on_date(value: str, *, today: dt.date) -> dt.date:
    """The viewer's date a `starts_on` value names, from the viewer's `today`."""
    if value == "today":
        return today
    if value == "tomorrow":
        return today + dt.timedelta(days=1)
    return schedule.first_date_on_or_after(day=int(value), date=today)


def _viewer_date_windows(values: list[str], *, viewer_zone: ZoneInfo | None,
                         now: dt.datetime) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    """UTC [start, stop) of each viewer's date asked for, in date order."""
    if not values:
        return ()
    today = now.astimezone(viewer_zone).date()
    dates = sorted({_starts_on_date(value, today=today) for value in values})
    return tuple(schedule.local_date_window(date=date, tz=viewer_zone) for date in dates)


def _point(data: dict, errors: dict, words: dict) -> tuple[geo.Point | None, str, str]:
    """The searched point, the place `near` was taken to be and, for a place
    not known, the directory's city spelt like it (or "")."""
    lat, lng, near = data["lat"], data["lng"], data["near"]
    if (lat is None) != (lng is None) and "lat" not in errors and "lng" not in errors:
        missing, other = ("lng", "lat") if lng is None else ("lat", "lng")
        errors[missing] = [str(words["together"]) % {"missing": missing, "other": other}]
    if near and (lat is not None or lng is not None):
        errors["near"] = [str(words["either"])]
    elif near:
        # A bare name is first read as the city of that name where the
        # directory has meetings: a geocoder that answers bare names itself
        # (Nominatim) would take whichever "Irvine" or "Santa Ana" it ranks first.
        for query in (*_states_of_bare_city(near), near):
            try:
                place = geocode(query)
            except GeocodingError:
                continue
            return geo.Point(place.latitude, place.longitude), place.label, ""
        errors["near"] = [_("No place is known by %(near)s: try a ZIP code or 'City, ST'.") % {"near": repr(near)}]
        suggested = _city_spelt_like(near)
        if suggested:
            errors["near"].append(_("Did you mean %(place)s?") % {"place": suggested})
        return None, "", suggested
    elif lat is not None and lng is not None:
        return geo.Point(lat, lng), "", ""
    return None, "", ""


def _states_of_bare_city(near: str) -> list[str]:
    """'Irvine' -> ['Irvine, CA']: a city name without a state, completed with
    the states where the directory has meetings in a city of that name, the
    state with the most first."""
    if "," in near or any(c.isdigit() for c in near):
        return []
    return [f"{near}, {row['state']}" for row in bare_city_states(near)[:3]]


def _public_meetings(meetings: QuerySet) -> QuerySet:
    """Of `meetings`, those the public sees (`querysets.PUBLISHED`: a meeting
    kept unpublished names no town) at a place with a city and a state."""
    return meetings.filter(PUBLISHED, location__isnull=False).exclude(location__city="").exclude(location__state="")


def bare_city_states(city: str) -> QuerySet:
    """The states where the directory has meetings in a city named `city`
    (any case), the one with the most meetings first: rows of `state` and
    `meetings`; the places read through their index of upper-cased city
    names (Location.Meta)."""
    return (_public_meetings(Meeting.objects.filter(location__city__iexact=city))
            .values(state=F("location__state")).annotate(meetings=Count("id")).order_by("-meetings", "state"))


# How alike a place not known and a city's name must be (difflib's ratio):
# "Irvin" and "Irvine" are 0.91, "Santa Anna" and "Santa Ana" 0.95, "Irvien"
# 0.83; "Laguna" is 0.67 from each of Laguna Beach, Hills and Niguel: none is offered.
SPELT_LIKE_CUTOFF = 0.8


def _city_spelt_like(near: str) -> str:
    """The city where the directory has public meetings whose name is spelt
    most like `near`, as "City, ST", or "" (a ZIP code, or a name like none).
    Compared are the names beginning with its first letter, failing that its
    second ("Rivine"), then a key beside the first ("Urvine"): every city
    with public meetings cost 1.0-1.4 s at 1,000,000 (bench/README.md, round 33)."""
    words = fold(near).replace(",", " ").split()
    if not words or any(c.isdigit() for c in near):
        return ""
    # Whole first: the two letters ending "Sante Fe" are no state. Then without the state typed after
    # the city, as the geocoder reads it ("Irvien, CA", "Irvien California"): in that state, then in any.
    stripped = [(" ".join(city), state) for city, state in trailing_states(words)]
    readings = dict.fromkeys([(" ".join(words), ""), *stripped, *((spelt, "") for spelt, state in stripped)])
    first = words[0]
    # A key beside the first with the second as typed: "Urvine" reads the few names beginning IR, YR, HR, JR.
    slips = [key + first[1:2] for key in KEYS_BESIDE.get(first[:1], "")] if first[1:2].isalpha() else []
    for prefix in dict.fromkeys([letter for letter in first[:2] if letter.isalpha()] + slips):
        names = _city_names_beginning(prefix)
        for spelt, state in readings:
            for name in difflib.get_close_matches(spelt, names, n=3, cutoff=SPELT_LIKE_CUTOFF):
                place = _public_place(names[name], state=state)
                if place:
                    return place
    return ""


# The letters beside each on a QWERTY keyboard, a phone's too, its rows
# offset by a quarter and three quarters of a key: where a thumb lands instead.
_KEYS = {key: (row_at + i, y) for y, (row_at, row) in enumerate([(0, "qwertyuiop"), (0.25, "asdfghjkl"),
                                                                  (0.75, "zxcvbnm")])
         for i, key in enumerate(row)}
KEYS_BESIDE = {key: "".join(other for other, (ox, oy) in _KEYS.items()
                            if other != key and abs(ox - x) <= 1 and abs(oy - y) <= 1)
               for key, (x, y) in _KEYS.items()}


# The city names of a range of their index (Location.Meta), one probe of it
# per name, rather than every place of each name (PostgreSQL 15 has no skip
# scan): at 1,000,000 meetings the 1,405 names of S, those of 51,231 places,
# in 13 ms against 60-65 for SELECT DISTINCT (bench/README.md, round 33).
CITY_NAMES_SQL = """
WITH RECURSIVE names (upper_city) AS (
    SELECT MIN(UPPER(city)) FROM meetings_location WHERE UPPER(city) >= %s AND UPPER(city) < %s
    UNION ALL
    SELECT (SELECT MIN(UPPER(city)) FROM meetings_location WHERE UPPER(city) > upper_city AND UPPER(city) < %s)
    FROM names WHERE upper_city IS NOT NULL
) SELECT upper_city FROM names WHERE upper_city IS NOT NULL"""


def _city_names_beginning(prefix: str) -> dict[str, str]:
    """The city names of the places beginning with `prefix` (a letter or
    two), folded ("santa ana") -> upper-cased ("SANTA ANA")."""
    first = prefix.upper()
    after = first[:-1] + chr(ord(first[-1]) + 1)
    with connections[router.db_for_read(Location)].cursor() as cursor:
        cursor.execute(CITY_NAMES_SQL, [first, after, after])
        return {fold(name): name for (name,) in cursor.fetchall()}


def _public_place(name: str, *, state: str) -> str:
    """"City, ST" of the city named `name` (any case) where the public has
    meetings: in `state` if given, else in the state with the most of its
    places; or "". Its places are counted, not their meetings, then one
    public meeting looked for: Los Angeles, 11,165 places and 27,042
    meetings at 1,000,000, in 13-21 ms against 124-141 (`bare_city_states`)."""
    places = Location.objects.filter(city__iexact=name, **({"state": state} if state else {}))
    for place in places.values("city", "state").annotate(places=Count("id")).order_by("-places", "state"):
        if _public_meetings(Meeting.objects.filter(location__city__iexact=name, location__state=place["state"])).exists():
            return f"{place['city']}, {place['state']}"
    return ""


def _radius_m(data: dict, point: geo.Point | None, errors: dict, words: dict) -> float | None:
    radius = data["radius"]
    if radius is None:
        return None
    unit = data["units"] or "mi"
    if point is None:
        if not errors.keys() & {"lat", "lng", "near"}:
            errors["radius"] = [_("radius needs a place: give near, or lat and lng.")]
        return None
    metres = geo.to_metres(radius, unit)
    # Compared in whole units as shown, so "at most 311 mi" accepts 311.
    limit = geo.from_metres(settings.MEETINGS_MAX_RADIUS_KM * 1000, unit)
    if radius > math.floor(limit):
        errors["radius"] = [str(words["radius_limit"]) % {"limit": math.floor(limit), "unit": unit}]
        return None
    return min(metres, settings.MEETINGS_MAX_RADIUS_KM * 1000)


# What each parameter looked up by slug says of slugs it does not know.
UNKNOWN_SLUGS = {
    "fellowship": gettext_lazy("Unknown fellowship: %(slugs)s."),
    "region": gettext_lazy("Unknown region: %(slugs)s."),
    "service_body": gettext_lazy("Unknown service body: %(slugs)s."),
}


def _kept(name: str, read: Callable[[str], Any], wanted) -> Any:
    """`read(using)`, what a search may name, kept per directory version of the
    database searches read (a write to these tables makes a new one): each
    name was a query or more on every search that gave it. Read again when
    one of `wanted` is not in it: a name written where no signal told is not
    refused for what was kept before it."""
    using = router.db_for_read(Meeting)
    kept = kept_per_version(f"search_names:{name}", using=using, read=lambda: read(using))
    if any(value not in kept for value in wanted):
        kept = kept_per_version(f"search_names:{name}", using=using, read=lambda: read(using),
                                still_good=lambda _: False)
    return kept


def _by_slug(data: dict, name: str, model, errors: dict) -> tuple:
    """The rows of `model` whose slugs parameter `name` lists; unknown slugs are an error."""
    wanted = set(data[name])
    if not wanted:
        return ()
    rows = _kept(name, lambda using: {x.slug: x for x in model.objects.using(using)}, wanted)
    unknown = sorted(wanted - rows.keys())
    if unknown:
        errors[name] = [str(UNKNOWN_SLUGS[name]) % {"slugs": ", ".join(unknown)}]
    return tuple(x for slug, x in rows.items() if slug in wanted)


def _type_fellowships(using: str) -> dict[str, set[int]]:
    """{type code: ids of the fellowships that have it}."""
    found: dict[str, set[int]] = {}
    for code, fellowship_id in MeetingType.objects.using(using).values_list("code", "fellowship_id"):
        found.setdefault(code, set()).add(fellowship_id)
    return found


def _check_type_codes(data: dict, fellowships: tuple[Fellowship, ...], errors: dict) -> None:
    codes = {code for alternatives in data["type"] for code in alternatives}
    if not codes:
        return
    # Each code is one more condition on every row, whichever value it is in.
    limit = settings.MEETINGS_MAX_VALUES_PER_PARAMETER
    if len(codes) > limit:
        errors["type"] = _too_many_values(limit)
        return
    # A code no fellowship has is a mistake wherever it is; one of another
    # fellowship than those asked for, only where no code beside it is theirs
    # (D|DISC with fellowship=na: NA's DISC).
    known = _kept("type", _type_fellowships, codes)
    asked = {f.pk for f in fellowships}
    theirs = {code for code in codes if code in known and (not fellowships or known[code] & asked)}
    missing = sorted({code for alternatives in data["type"] for code in alternatives
                      if code not in known or not theirs.intersection(alternatives)})
    if missing:
        said = {"codes": ", ".join(missing), "fellowships": ", ".join(f.slug for f in fellowships)}
        if fellowships:
            message = ngettext("Unknown type code in %(fellowships)s: %(codes)s.",
                               "Unknown type codes in %(fellowships)s: %(codes)s.", len(missing))
        else:
            message = ngettext("Unknown type code: %(codes)s.", "Unknown type codes: %(codes)s.", len(missing))
        errors["type"] = [message % said]


def _spoken(using: str) -> set[str]:
    """The languages of the language types and the service bodies' defaults."""
    return {*MeetingType.objects.using(using).filter(kind="language").values_list("language", flat=True),
            *ServiceBody.objects.using(using).values_list("default_language", flat=True)}


def _check_languages(data: dict, errors: dict) -> None:
    languages = data["language"]
    if not languages:
        return
    missing = sorted(set(languages) - _kept("language", _spoken, languages))
    if missing:
        errors["language"] = [_("Unknown language: %(codes)s (use ISO 639-1 codes such as en, es).")
                              % {"codes": ", ".join(missing)}]


def _tree_ids(data: dict, name: str, model, errors: dict) -> tuple[int, ...]:
    found = _by_slug(data, name, model, errors)
    if not found:
        return ()
    children = _kept(f"{name} tree", lambda using: tree_children(model, using=using), ())
    return tree_ids(model, root_ids=[x.pk for x in found], children=children)
