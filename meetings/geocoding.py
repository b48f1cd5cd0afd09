"""Turning places into coordinates through geopy.

The default geocoder works offline from a US gazetteer (the `zipcodes`
package: every ZIP code with its centre and time zone), so the embedded
default and the tests never touch the network. `GEOCODER=nominatim` switches
to OpenStreetMap's Nominatim, rate limited, with answers kept in a cache table.
"""

from __future__ import annotations

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

ZIP_RE = re.compile(r"\b(\d{5})(?:-\d{4})?\b")


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
    index = {}
    for key, records in members.items():
        index[key] = (
            round(fmean(float(r["lat"]) for r in records), 5),
            round(fmean(float(r["long"]) for r in records), 5),
            records[0]["timezone"] or "",
            records[0]["city"],
        )
    return index


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
            records = [r for r in zipcodes.matching(zip_match.group(1)) if r["lat"] and r["long"]]
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
        # "Irvine, CA", "Irvine CA", "1 Main St, Irvine, CA 92618, USA"
        parts = [p.strip() for p in query.split(",") if p.strip()]
        candidates = []
        for i in range(len(parts) - 1):
            state = parts[i + 1].split()[0] if parts[i + 1].split() else ""
            if len(state) == 2 and state.isalpha():
                candidates.append((_normalise_city(parts[i]), state.upper()))
        words = query.replace(",", " ").split()
        if len(words) >= 2 and len(words[-1]) == 2 and words[-1].isalpha():
            candidates.append((_normalise_city(" ".join(words[:-1])), words[-1].upper()))
        return candidates


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


def _cache_key(query: str) -> str:
    return re.sub(r"\s+", " ", query.strip().lower())[:300]


def geocode(query: str, *, geocoder=None) -> Place:
    """Find a place. `geocoder` (a callable like geopy's `geocode`) overrides
    the configured one, for tests and callers with their own."""
    from meetings.models import GeocodeCacheEntry

    provider = settings.GEOCODER
    key = _cache_key(query)
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
