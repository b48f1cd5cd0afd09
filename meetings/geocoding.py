"""Turning places into coordinates through geopy.

The default geocoder works offline from a US gazetteer (the `zipcodes`
package: every ZIP code with its centre and time zone), so the embedded
default and the tests never touch the network. `GEOCODER=nominatim` switches
to OpenStreetMap's Nominatim, rate limited, with answers kept in a cache table.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from statistics import fmean

import zipcodes
from django.conf import settings
from geopy.exc import GeopyError
from geopy.geocoders.base import Geocoder
from geopy.location import Location as GeopyLocation
from geopy.point import Point as GeopyPoint

from meetings.models import GeocodeCacheEntry

logger = logging.getLogger(__name__)

ZIP_RE = re.compile(r"\b(\d{5})(?:-\d{4})?\b")

# Each state's, DC's and the territories' two-letter code, its name and the
# abbreviations people write (AP style, "Calif."): what "Irvine, California"
# and "Irvine, Calif." are read with (`state_code`).
US_STATES = {
    "AL": ("Alabama", "Ala."), "AK": ("Alaska",), "AZ": ("Arizona", "Ariz."), "AR": ("Arkansas", "Ark."),
    "CA": ("California", "Calif.", "Cal."), "CO": ("Colorado", "Colo."), "CT": ("Connecticut", "Conn."),
    "DE": ("Delaware", "Del."), "DC": ("District of Columbia", "D.C."), "FL": ("Florida", "Fla."),
    "GA": ("Georgia", "Ga."), "HI": ("Hawaii",), "ID": ("Idaho",), "IL": ("Illinois", "Ill."),
    "IN": ("Indiana", "Ind."), "IA": ("Iowa",), "KS": ("Kansas", "Kan.", "Kans."), "KY": ("Kentucky", "Ky."),
    "LA": ("Louisiana", "La."), "ME": ("Maine",), "MD": ("Maryland", "Md."), "MA": ("Massachusetts", "Mass."),
    "MI": ("Michigan", "Mich."), "MN": ("Minnesota", "Minn."), "MS": ("Mississippi", "Miss."),
    "MO": ("Missouri", "Mo."), "MT": ("Montana", "Mont."), "NE": ("Nebraska", "Neb.", "Nebr."),
    "NV": ("Nevada", "Nev."), "NH": ("New Hampshire", "N.H."), "NJ": ("New Jersey", "N.J."),
    "NM": ("New Mexico", "N.M."), "NY": ("New York", "N.Y."), "NC": ("North Carolina", "N.C."),
    "ND": ("North Dakota", "N.D."), "OH": ("Ohio",), "OK": ("Oklahoma", "Okla."), "OR": ("Oregon", "Ore."),
    "PA": ("Pennsylvania", "Pa.", "Penn."), "RI": ("Rhode Island", "R.I."), "SC": ("South Carolina", "S.C."),
    "SD": ("South Dakota", "S.D."), "TN": ("Tennessee", "Tenn."), "TX": ("Texas", "Tex."), "UT": ("Utah",),
    "VT": ("Vermont", "Vt."), "VA": ("Virginia", "Va."), "WA": ("Washington", "Wash."),
    "WV": ("West Virginia", "W.Va.", "W. Va."), "WI": ("Wisconsin", "Wis.", "Wisc."), "WY": ("Wyoming", "Wyo."),
    "AS": ("American Samoa",), "GU": ("Guam",), "MP": ("Northern Mariana Islands",), "PR": ("Puerto Rico", "P.R."),
    "VI": ("U.S. Virgin Islands", "Virgin Islands"),
}
# The longest name in words ("District of Columbia"): how many of a query's last words may be a state.
_STATE_WORDS = max(len(name.split()) for names in US_STATES.values() for name in names)


def _state_key(text: str) -> str:
    return re.sub(r"[.\s]", "", text.lower())


_STATE_CODES = {_state_key(name): code for code, names in US_STATES.items() for name in names}


def state_code(text: str) -> str:
    """The two-letter code a state is written with: "California", "Calif.",
    "n.y." and "CA" itself; "" for what is no state's name. Any two letters
    are taken as a code (the gazetteer has codes beyond the states: AE, FM)."""
    key = _state_key(text)
    if len(key) == 2 and key.isalpha():
        return key.upper()
    return _STATE_CODES.get(key, "")


def trailing_states(words: list[str]) -> list[tuple[list[str], str]]:
    """Each way `words` end in a state (`state_code`), as (the words before
    it, its code), the longest name first: "Charleston West Virginia" is
    Charleston, WV before "Charleston West", VA."""
    return [(words[:-count], state) for count in range(min(_STATE_WORDS, len(words) - 1), 0, -1)
            if (state := state_code(" ".join(words[-count:])))]


@dataclass(frozen=True)
class Place:
    latitude: float
    longitude: float
    label: str
    timezone: str = ""
    approximate: bool = True


class GeocodingError(Exception):
    """A place could not be found, or the geocoder failed."""


def _normalise_city(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip().lower().replace("saint ", "st ").replace("st. ", "st "))


@lru_cache(maxsize=1)
def _city_index() -> dict[tuple[str, str], tuple[float, float, str, str]]:
    """(city, state) -> centre of its ZIP codes, zone and proper name."""
    members: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in zipcodes.list_all():
        if record["zip_code_type"] == "STANDARD" and record["lat"] and record["long"]:
            members[(_normalise_city(record["city"]), record["state"].upper())].append(record)
    return {key: (round(fmean(float(r["lat"]) for r in records), 5),
                  round(fmean(float(r["long"]) for r in records), 5),
                  records[0]["timezone"] or "", records[0]["city"])
            for key, records in members.items()}


@lru_cache(maxsize=1)
def _zip_index() -> dict[str, list[dict]]:
    """ZIP code -> its records, for `zipcodes.matching` to scan: by itself it
    scans all 42,789 for each code (1.5 M instructions, a sixth of a search
    near a ZIP code: bench/instructions.py zip). The records are the ones the
    library keeps (`list_all` hands out its own list): the index adds ~5 MB."""
    index: dict[str, list[dict]] = defaultdict(list)
    for record in zipcodes.list_all():
        index[record["zip_code"]].append(record)
    return dict(index)


def ready() -> None:
    """Read what the configured geocoder answers from before anyone asks: the
    offline gazetteer's cities and ZIP codes take about a second, which the
    first person to search on each web process would otherwise wait
    (meetingfinder/wsgi.py reads them as a server loads the app: runserver
    before it listens, gunicorn once before forking its workers)."""
    if settings.GEOCODER == "offline":
        started = time.monotonic()
        cities, codes = len(_city_index()), len(_zip_index())
        logger.info("offline gazetteer: %d cities and %d ZIP codes read in %.1f s", cities, codes,
                    time.monotonic() - started)


class OfflineGazetteer(Geocoder):
    """A geopy geocoder over US ZIP codes and cities; answers "92660",
    "Irvine, CA" and full addresses ending in a ZIP code or "City, ST"."""

    def __init__(self) -> None:
        super().__init__(user_agent="meetingfinder-offline")

    def geocode(self, query: str, *, exactly_one: bool = True, **kwargs) -> GeopyLocation | None:  # noqa: ARG002
        query = (query or "").strip()
        if not query:
            return None
        zip_match = ZIP_RE.search(query)
        if zip_match:
            code = zip_match.group(1)
            records = [r for r in zipcodes.matching(code, zips=_zip_index().get(code, [])) if r["lat"] and r["long"]]
            if records:
                r = records[0]
                point = GeopyPoint(float(r["lat"]), float(r["long"]))
                raw = {"timezone": r["timezone"] or "", "city": r["city"], "state": r["state"]}
                return GeopyLocation(f"{r['city']}, {r['state']} {r['zip_code']}", point, raw)
        for candidate in self._city_candidates(query):
            hit = _city_index().get(candidate)
            if hit:
                lat, lng, tz, city = hit
                raw = {"timezone": tz, "city": city, "state": candidate[1]}
                return GeopyLocation(f"{city}, {candidate[1]}", GeopyPoint(lat, lng), raw)
        return None

    @staticmethod
    def _city_candidates(query: str) -> list[tuple[str, str]]:
        # "Irvine, CA", "Irvine CA", "1 Main St, Irvine, CA 92618, USA", "Irvine, California",
        # "Charleston West Virginia": a state by its code, name or abbreviation (`state_code`).
        parts = [p.strip() for p in query.split(",") if p.strip()]
        candidates = []
        for i in range(len(parts) - 1):
            # The state leads the part after the city: "CA 92618", "New York 10001", "CA USA".
            after = ZIP_RE.sub("", parts[i + 1]).split()
            for count in range(min(_STATE_WORDS, len(after)), 0, -1):
                state = state_code(" ".join(after[:count]))
                if state:
                    candidates.append((_normalise_city(parts[i]), state))
                    break
        words = query.replace(",", " ").split()
        return candidates + [(_normalise_city(" ".join(city)), state) for city, state in trailing_states(words)]


class RequestPacer:
    """At most one request per `min_delay_seconds`: across every process
    that shares `redis_url` (one Redis key taken with SET NX PX: whoever sets
    it may send, the others wait until it expires), or, without Redis,
    across the threads of this process."""

    def __init__(self, *, min_delay_seconds: float, redis_url: str = "", key: str = "geocoder:nominatim:pace") -> None:
        self.min_delay_seconds = min_delay_seconds
        self.key = key
        self.redis = None
        if redis_url:
            import redis

            self.redis = redis.Redis.from_url(redis_url)
        self._lock = threading.Lock()
        self._last = float("-inf")

    def wait(self) -> None:
        if self.min_delay_seconds <= 0:
            return
        if self.redis is None:
            with self._lock:
                delay = self._last + self.min_delay_seconds - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self._last = time.monotonic()
            return
        window_ms = max(1, int(self.min_delay_seconds * 1000))
        while not self.redis.set(self.key, "1", nx=True, px=window_ms):
            remaining_ms = self.redis.pttl(self.key)
            time.sleep(max(remaining_ms, 5) / 1000)


def _online_geocoder():
    from geopy.geocoders import Nominatim

    geocoder = Nominatim(user_agent=settings.GEOCODER_USER_AGENT, timeout=settings.GEOCODER_TIMEOUT_SECONDS)
    # Nominatim's usage policy: at most one request a second, for the whole
    # site, so every worker waits its turn through the shared pacer.
    pacer = RequestPacer(min_delay_seconds=settings.GEOCODER_MIN_DELAY_SECONDS,
                         redis_url=settings.GEOCODER_RATE_LIMIT_REDIS_URL)

    def paced_geocode(query: str):
        pacer.wait()
        return geocoder.geocode(query)

    return paced_geocode


@lru_cache(maxsize=4)
def _geocode_function(name: str):
    if name == "offline":
        return OfflineGazetteer().geocode
    if name == "nominatim":
        return _online_geocoder()
    raise GeocodingError(f"unknown GEOCODER setting {name!r}: use 'offline' or 'nominatim'")


def geocode(query: str, *, geocoder=None) -> Place:
    """Find a place. `geocoder` (a callable like geopy's `geocode`) overrides
    the configured one, for tests and callers with their own."""
    provider = settings.GEOCODER
    key = re.sub(r"\s+", " ", query.strip().lower())[:300]
    if not key:
        raise GeocodingError("empty place")
    use_cache = geocoder is None and provider != "offline"
    if use_cache:
        cached = GeocodeCacheEntry.objects.filter(provider=provider, query=key).first()
        if cached:
            if cached.latitude is None:
                raise GeocodingError(f"no place matches {query!r}")
            return Place(cached.latitude, cached.longitude, cached.label, cached.timezone)
    geocode_function = geocoder or _geocode_function(provider)
    try:
        found = geocode_function(query)
    except GeopyError as error:
        raise GeocodingError(f"geocoder failed: {error}") from error
    if use_cache:
        GeocodeCacheEntry.objects.update_or_create(
            provider=provider,
            query=key,
            defaults={
                "latitude": found.latitude if found else None,
                "longitude": found.longitude if found else None,
                "label": found.address if found else "",
                "timezone": (found.raw or {}).get("timezone", "") if found else "",
            },
        )
    if not found:
        raise GeocodingError(f"no place matches {query!r}")
    return Place(found.latitude, found.longitude, found.address, (found.raw or {}).get("timezone", ""))
