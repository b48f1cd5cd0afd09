"""A deterministic generator of realistic meeting directories, and its bulk loader.

Meetings cluster around real population centres: a dense core around each
metro's centre, suburbs on the real ZIP codes around US metros (so city, ZIP
and time zone come from the `zipcodes` package), and rural meetings on US ZIP
codes far from any metro. The mix follows what real directories hold: AA ~65%,
NA ~25%, Al-Anon ~10%; starts peaking at 7:00, noon and 19:00-20:00; attendance
in person ~75%, hybrid ~10%, online ~10%, inactive ~5%.

The loader writes rows straight into `meetings_location`, `meetings_meeting`
and `meetings_meeting_types` (COPY on PostgreSQL, executemany on SQLite) with
the derived columns (open/closed, attendance, provider, copied coordinates,
time zone) computed by the same rules `meeting_refresh_derived` applies;
`tests/test_bench_generator.py` checks that on a sample.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

# Bump when the generated rows change: a loaded benchmark database is reused
# only when it was loaded by the same version, size and seed.
GENERATOR_VERSION = 4
DEFAULT_SEED = 20240601
SOURCE = "bench"

FELLOWSHIP_SHARES = (("aa", 0.65), ("na", 0.25), ("al-anon", 0.10))
# A meeting's place: the dense core of a metro, its suburbs, or the countryside.
PLACE_SHARES = (("city", 0.40), ("suburb", 0.40), ("rural", 0.20))
CITY_SIGMA_KM = 4.0
SUBURB_RADIUS_KM = 50.0
RURAL_MIN_KM_FROM_METRO = 80.0
# Share of online-only meetings; the rest meet at a venue (in person, hybrid,
# or inactive when the building is temporarily closed).
ONLINE_SHARE = 0.10
# Meetings per venue: most host one to three, busy ones a meeting most days.
VENUE_MEETINGS = (1, 1, 1, 2, 2, 3, 3, 4, 5, 7)
_MEAN_VENUE_MEETINGS = sum(VENUE_MEETINGS) / len(VENUE_MEETINGS)
# How often a new place gets an online-only meeting rather than a venue, so
# that ONLINE_SHARE of the meetings are online.
_ONLINE_PLACE_SHARE = ONLINE_SHARE * _MEAN_VENUE_MEETINGS / (1 - ONLINE_SHARE + ONLINE_SHARE * _MEAN_VENUE_MEETINGS)
VENUE_ATTENDANCE = (("in_person", 0.75 / 0.90), ("hybrid", 0.10 / 0.90), ("inactive", 0.05 / 0.90))
UNPUBLISHED_SHARE = 0.01


@dataclass(frozen=True)
class Metro:
    city: str
    state: str
    country: str
    latitude: float
    longitude: float
    population_k: int
    timezone: str


# Metro areas with their centres and populations (thousands, rounded). US
# metros first; meetings per head are higher where AA/NA/Al-Anon are older
# and denser (COUNTRY_MEETING_RATE).
METROS = (
    Metro("New York", "NY", "US", 40.7128, -74.0060, 19500, "America/New_York"),
    Metro("Los Angeles", "CA", "US", 34.0522, -118.2437, 12900, "America/Los_Angeles"),
    Metro("Chicago", "IL", "US", 41.8781, -87.6298, 9400, "America/Chicago"),
    Metro("Dallas", "TX", "US", 32.7767, -96.7970, 7600, "America/Chicago"),
    Metro("Houston", "TX", "US", 29.7604, -95.3698, 7100, "America/Chicago"),
    Metro("Washington", "DC", "US", 38.9072, -77.0369, 6300, "America/New_York"),
    Metro("Philadelphia", "PA", "US", 39.9526, -75.1652, 6200, "America/New_York"),
    Metro("Miami", "FL", "US", 25.7617, -80.1918, 6100, "America/New_York"),
    Metro("Atlanta", "GA", "US", 33.7490, -84.3880, 6100, "America/New_York"),
    Metro("Boston", "MA", "US", 42.3601, -71.0589, 4900, "America/New_York"),
    Metro("Phoenix", "AZ", "US", 33.4484, -112.0740, 4900, "America/Phoenix"),
    Metro("San Francisco", "CA", "US", 37.7749, -122.4194, 4700, "America/Los_Angeles"),
    Metro("Riverside", "CA", "US", 33.9806, -117.3755, 4600, "America/Los_Angeles"),
    Metro("Detroit", "MI", "US", 42.3314, -83.0458, 4300, "America/Detroit"),
    Metro("Seattle", "WA", "US", 47.6062, -122.3321, 4000, "America/Los_Angeles"),
    Metro("Minneapolis", "MN", "US", 44.9778, -93.2650, 3700, "America/Chicago"),
    Metro("San Diego", "CA", "US", 32.7157, -117.1611, 3300, "America/Los_Angeles"),
    Metro("Tampa", "FL", "US", 27.9506, -82.4572, 3200, "America/New_York"),
    Metro("Denver", "CO", "US", 39.7392, -104.9903, 3000, "America/Denver"),
    Metro("St. Louis", "MO", "US", 38.6270, -90.1994, 2800, "America/Chicago"),
    Metro("Baltimore", "MD", "US", 39.2904, -76.6122, 2800, "America/New_York"),
    Metro("Orlando", "FL", "US", 28.5383, -81.3792, 2700, "America/New_York"),
    Metro("Charlotte", "NC", "US", 35.2271, -80.8431, 2700, "America/New_York"),
    Metro("San Antonio", "TX", "US", 29.4241, -98.4936, 2600, "America/Chicago"),
    Metro("Portland", "OR", "US", 45.5152, -122.6784, 2500, "America/Los_Angeles"),
    Metro("Sacramento", "CA", "US", 38.5816, -121.4944, 2400, "America/Los_Angeles"),
    Metro("Pittsburgh", "PA", "US", 40.4406, -79.9959, 2400, "America/New_York"),
    Metro("Austin", "TX", "US", 30.2672, -97.7431, 2400, "America/Chicago"),
    Metro("Las Vegas", "NV", "US", 36.1699, -115.1398, 2300, "America/Los_Angeles"),
    Metro("Cincinnati", "OH", "US", 39.1031, -84.5120, 2300, "America/New_York"),
    Metro("Kansas City", "MO", "US", 39.0997, -94.5786, 2200, "America/Chicago"),
    Metro("Columbus", "OH", "US", 39.9612, -82.9988, 2100, "America/New_York"),
    Metro("Indianapolis", "IN", "US", 39.7684, -86.1581, 2100, "America/Indiana/Indianapolis"),
    Metro("Cleveland", "OH", "US", 41.4993, -81.6944, 2100, "America/New_York"),
    Metro("Nashville", "TN", "US", 36.1627, -86.7816, 2000, "America/Chicago"),
    Metro("Salt Lake City", "UT", "US", 40.7608, -111.8910, 1300, "America/Denver"),
    Metro("Albuquerque", "NM", "US", 35.0844, -106.6504, 900, "America/Denver"),
    Metro("Honolulu", "HI", "US", 21.3069, -157.8583, 1000, "Pacific/Honolulu"),
    Metro("Anchorage", "AK", "US", 61.2181, -149.9003, 400, "America/Anchorage"),
    Metro("Toronto", "ON", "CA", 43.6532, -79.3832, 6400, "America/Toronto"),
    Metro("Montreal", "QC", "CA", 45.5017, -73.5673, 4300, "America/Toronto"),
    Metro("Vancouver", "BC", "CA", 49.2827, -123.1207, 2600, "America/Vancouver"),
    Metro("Mexico City", "CDMX", "MX", 19.4326, -99.1332, 21800, "America/Mexico_City"),
    Metro("Guadalajara", "JAL", "MX", 20.6597, -103.3496, 5300, "America/Mexico_City"),
    Metro("São Paulo", "SP", "BR", -23.5505, -46.6333, 22400, "America/Sao_Paulo"),
    Metro("Buenos Aires", "", "AR", -34.6037, -58.3816, 15400, "America/Argentina/Buenos_Aires"),
    Metro("Bogotá", "", "CO", 4.7110, -74.0721, 11300, "America/Bogota"),
    Metro("Lima", "", "PE", -12.0464, -77.0428, 11000, "America/Lima"),
    Metro("London", "", "GB", 51.5074, -0.1278, 14300, "Europe/London"),
    Metro("Dublin", "", "IE", 53.3498, -6.2603, 1400, "Europe/Dublin"),
    Metro("Paris", "", "FR", 48.8566, 2.3522, 11100, "Europe/Paris"),
    Metro("Berlin", "", "DE", 52.5200, 13.4050, 6100, "Europe/Berlin"),
    Metro("Madrid", "", "ES", 40.4168, -3.7038, 6700, "Europe/Madrid"),
    Metro("Warsaw", "", "PL", 52.2297, 21.0122, 3100, "Europe/Warsaw"),
    Metro("Stockholm", "", "SE", 59.3293, 18.0686, 2400, "Europe/Stockholm"),
    Metro("Moscow", "", "RU", 55.7558, 37.6173, 12600, "Europe/Moscow"),
    Metro("Tokyo", "", "JP", 35.6762, 139.6503, 37400, "Asia/Tokyo"),
    Metro("Seoul", "", "KR", 37.5665, 126.9780, 25500, "Asia/Seoul"),
    Metro("Manila", "", "PH", 14.5995, 120.9842, 13900, "Asia/Manila"),
    Metro("Mumbai", "", "IN", 19.0760, 72.8777, 20700, "Asia/Kolkata"),
    Metro("Sydney", "NSW", "AU", -33.8688, 151.2093, 5300, "Australia/Sydney"),
    Metro("Melbourne", "VIC", "AU", -37.8136, 144.9631, 5100, "Australia/Melbourne"),
    Metro("Auckland", "", "NZ", -36.8485, 174.7633, 1700, "Pacific/Auckland"),
    Metro("Johannesburg", "GP", "ZA", -26.2041, 28.0473, 10000, "Africa/Johannesburg"),
)
COUNTRY_MEETING_RATE = {
    "US": 1.0, "CA": 0.8, "GB": 0.6, "IE": 0.8, "AU": 0.6, "NZ": 0.6, "MX": 0.5, "BR": 0.25, "AR": 0.25,
    "CO": 0.2, "PE": 0.15, "FR": 0.1, "DE": 0.15, "ES": 0.15, "PL": 0.3, "SE": 0.2, "RU": 0.05, "JP": 0.02,
    "KR": 0.03, "PH": 0.03, "IN": 0.02, "ZA": 0.1,
}
COUNTRY_NAMES = {"US": "USA", "CA": "Canada", "GB": "UK", "AU": "Australia", "MX": "Mexico", "BR": "Brazil"}


@dataclass(frozen=True)
class Place:
    latitude: float
    longitude: float
    city: str
    state: str
    postal_code: str
    country: str
    timezone: str
    kind: str  # city, suburb, rural
    metro: str  # the metro it belongs to, "" for rural


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Equirectangular distance: plenty for placing synthetic meetings."""
    x = math.radians(lng2 - lng1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6371.0 * math.hypot(x, y)


@dataclass(frozen=True)
class ZipPlace:
    postal_code: str
    city: str
    state: str
    latitude: float
    longitude: float
    timezone: str


@lru_cache(maxsize=1)
def us_zip_places() -> tuple[ZipPlace, ...]:
    """Active delivery ZIP codes with a position and a time zone, in ZIP order."""
    import zipcodes

    places = []
    for z in zipcodes.list_all():
        if z["zip_code_type"] != "STANDARD" or not z["active"] or not z["timezone"] or not z["lat"]:
            continue
        places.append(ZipPlace(z["zip_code"], z["city"], z["state"], float(z["lat"]), float(z["long"]), z["timezone"]))
    places.sort(key=lambda p: p.postal_code)
    return tuple(places)


@lru_cache(maxsize=1)
def suburbs_and_countryside() -> tuple[dict[str, tuple[ZipPlace, ...]], tuple[ZipPlace, ...]]:
    """ZIP codes within SUBURB_RADIUS_KM of each US metro, and those far from all of them."""
    us_metros = [m for m in METROS if m.country == "US"]
    suburbs: dict[str, list[ZipPlace]] = {m.city: [] for m in us_metros}
    rural = []
    for z in us_zip_places():
        nearest = min(us_metros, key=lambda m: distance_km(m.latitude, m.longitude, z.latitude, z.longitude))
        d = distance_km(nearest.latitude, nearest.longitude, z.latitude, z.longitude)
        if d <= SUBURB_RADIUS_KM:
            suburbs[nearest.city].append(z)
        elif d >= RURAL_MIN_KM_FROM_METRO:
            rural.append(z)
    return {k: tuple(v) for k, v in suburbs.items()}, tuple(rural)


def _weighted(rng: random.Random, pairs) -> str:
    roll = rng.random()
    total = 0.0
    for value, share in pairs:
        total += share
        if roll < total:
            return value
    return pairs[-1][0]


def _offset(lat: float, lng: float, north_km: float, east_km: float) -> tuple[float, float]:
    lat2 = lat + north_km / 111.32
    lng2 = lng + east_km / (111.32 * max(0.05, math.cos(math.radians(lat))))
    return max(-89.9, min(89.9, lat2)), ((lng2 + 180.0) % 360.0) - 180.0


def metro_weights() -> list[tuple[Metro, float]]:
    total = sum(m.population_k * COUNTRY_MEETING_RATE[m.country] for m in METROS)
    return [(m, m.population_k * COUNTRY_MEETING_RATE[m.country] / total) for m in METROS]


def dense_metros(count: int = 5) -> list[Metro]:
    """The metros with the most meetings: where 'dense city centre' searches go."""
    return [m for m, _ in sorted(metro_weights(), key=lambda mw: -mw[1])[:count]]


def pick_place(rng: random.Random) -> Place:
    kind = _weighted(rng, PLACE_SHARES)
    suburbs, rural = suburbs_and_countryside()
    if kind == "rural":
        z = rural[rng.randrange(len(rural))]
        lat, lng = _offset(z.latitude, z.longitude, rng.gauss(0, 2.0), rng.gauss(0, 2.0))
        return Place(lat, lng, z.city, z.state, z.postal_code, "US", z.timezone, kind, "")
    metro = _weighted(rng, metro_weights())
    if kind == "suburb" and suburbs.get(metro.city):
        zips = suburbs[metro.city]
        z = zips[rng.randrange(len(zips))]
        lat, lng = _offset(z.latitude, z.longitude, rng.gauss(0, 1.5), rng.gauss(0, 1.5))
        return Place(lat, lng, z.city, z.state, z.postal_code, "US", z.timezone, kind, metro.city)
    sigma = CITY_SIGMA_KM if kind == "city" else 20.0
    lat, lng = _offset(metro.latitude, metro.longitude, rng.gauss(0, sigma), rng.gauss(0, sigma))
    return Place(lat, lng, metro.city, metro.state, "", metro.country, metro.timezone, kind, metro.city)


def dense_points(rng: random.Random, count: int) -> list[tuple[float, float]]:
    """Random points within ~3 km of the centres of the busiest metros."""
    metros = dense_metros()
    points = []
    for _ in range(count):
        m = metros[rng.randrange(len(metros))]
        points.append(_offset(m.latitude, m.longitude, rng.uniform(-3, 3), rng.uniform(-3, 3)))
    return points


def rural_points(rng: random.Random, count: int) -> list[tuple[float, float]]:
    """Random rural US ZIP code centres (far from every metro)."""
    rural = suburbs_and_countryside()[1]
    return [(z.latitude, z.longitude) for z in (rural[rng.randrange(len(rural))] for _ in range(count))]


def populated_points(rng: random.Random, count: int) -> list[tuple[float, float]]:
    """Random points in populated areas, in the mix meetings are placed with."""
    return [(p.latitude, p.longitude) for p in (pick_place(rng) for _ in range(count))]


# Each fellowship's codes (all in fellowships/vocabularies.py) and how often
# meetings carry them.
@dataclass(frozen=True)
class FellowshipMix:
    open_code: str
    closed_code: str
    open_share: float
    closed_share: float  # the rest state neither
    formats: tuple[str, ...]
    features: tuple[tuple[str, float], ...]
    spanish_code: str
    spanish_share: float
    temporarily_closed_code: str
    hybrid_code: str = ""
    online_code: str = ""
    names: tuple[str, ...] = ()


MIXES = {
    "aa": FellowshipMix(
        "O", "C", 0.45, 0.45, ("D", "B", "ST", "SP", "BE", "LIT", "MED", "12x12", "TR", "GR"),
        (("X", 0.30), ("W", 0.04), ("M", 0.04), ("Y", 0.03), ("LGBTQ", 0.02), ("ASL", 0.005)),
        "S", 0.06, "TC",
        names=("Serenity", "Happy Hour", "Big Book Study", "Early Birds", "Nooners", "Primary Purpose",
               "Keep It Simple", "Came to Believe", "Sunrise", "Back to Basics", "Step Study", "Freedom",
               "New Beginnings", "Language of the Heart", "Grapevine", "As Bill Sees It"),
    ),
    "na": FellowshipMix(
        "OPEN", "CLOSED", 0.40, 0.55, ("DISC", "BT", "JFT", "SPK", "STEP", "TOP", "BEG", "LIT", "IW", "SPAD"),
        (("WCHR", 0.25), ("NS", 0.20), ("W", 0.03), ("M", 0.03), ("Y", 0.02)),
        "es", 0.05, "TC", hybrid_code="HYBR", online_code="VM",
        names=("Clean and Serene", "Just For Today", "Miracles Happen", "Recovery in Action", "Never Alone",
               "Freedom Group", "Hope Without Dope", "Surrender", "Living Clean"),
    ),
    "al-anon": FellowshipMix(
        "O", "C", 0.30, 0.40, ("D", "ST", "SP", "CAL", "B", "DF", "TR", "LIT"),
        (("Y", 0.05), ("AC", 0.04), ("X", 0.25), ("W", 0.03), ("P", 0.02)),
        "S", 0.04, "TC",
        names=("Courage to Change", "Serenity Seekers", "One Day at a Time", "Hope for Today",
               "Keep Coming Back", "Living with Sobriety", "Triangle of Service"),
    ),
}
VENUES = ("St. Mark's Church", "Community Center", "Alano Club", "Fellowship Hall", "First Lutheran Church",
          "Public Library", "Recovery House", "Senior Center", "Hospital Conference Room",
          "United Methodist Church", "Unitarian Fellowship", "YMCA", "Grace Episcopal Church", "Club House")
STREETS = ("Main St", "Oak Ave", "Church St", "Park Blvd", "2nd St", "Elm St", "Broadway", "Lincoln Ave",
           "Washington St", "Maple Dr", "Center St", "Lake Rd", "Hill St", "River Rd")
NOTES = ("", "", "", "Enter through the side door.", "Parking behind the building.", "Upstairs, room 2.",
         "Newcomers welcome.", "Bring your own book.")
# Start times: peaks at 7:00, noon and 19:00-20:00, the rest through the day.
TIME_SLOTS = (
    ((6, 0), 0.02), ((6, 30), 0.03), ((7, 0), 0.08), ((7, 30), 0.02), ((8, 0), 0.03), ((9, 0), 0.03),
    ((10, 0), 0.04), ((10, 30), 0.02), ((11, 0), 0.02), ((12, 0), 0.10), ((12, 10), 0.02), ((12, 15), 0.02),
    ((13, 0), 0.02), ((15, 0), 0.01), ((16, 0), 0.01), ((17, 0), 0.02), ((17, 30), 0.03), ((18, 0), 0.05),
    ((18, 30), 0.05), ((19, 0), 0.14), ((19, 30), 0.09), ((20, 0), 0.10), ((20, 30), 0.03), ((21, 0), 0.02),
    ((22, 0), 0.01), ((23, 0), 0.01),
)
CREATED = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Catalog:
    """Ids the generated rows point at: fellowships, their type codes, service bodies."""

    fellowship_ids: dict[str, int]
    type_ids: dict[tuple[str, str], int]
    service_body_ids: dict[tuple[str, str], int]  # (fellowship slug, area) -> id


@dataclass
class Directory:
    """Generated rows: dicts keyed by model attribute name, plus (meeting_id, type_id) pairs."""

    locations: list[dict]
    meetings: list[dict]
    meeting_types: list[tuple[int, int]]


def service_body_areas() -> list[tuple[str, str, str]]:
    """(area key, display name, time zone) for every service body the generator uses."""
    areas = [(m.city, m.city, m.timezone) for m in METROS]
    states = {}
    for z in suburbs_and_countryside()[1]:
        states.setdefault(z.state, z.timezone)
    areas += [(f"rural-{s}", f"Rural {s}", tz) for s, tz in sorted(states.items())]
    return areas


def _meeting_time(rng: random.Random) -> tuple[dt.time, dt.time]:
    hour, minute = _weighted(rng, TIME_SLOTS)
    start = dt.datetime(2000, 1, 1, hour, minute)
    end = start + dt.timedelta(minutes=60 if rng.random() < 0.7 else 90)
    return start.time(), end.time()


def _types_for(rng: random.Random, mix: FellowshipMix, attendance: str) -> list[str]:
    codes = []
    roll = rng.random()
    if roll < mix.open_share:
        codes.append(mix.open_code)
    elif roll < mix.open_share + mix.closed_share:
        codes.append(mix.closed_code)
    codes += rng.sample(mix.formats, 1 if rng.random() < 0.6 else 2)
    codes += [code for code, share in mix.features if rng.random() < share]
    if rng.random() < mix.spanish_share:
        codes.append(mix.spanish_code)
    if attendance == "inactive":
        codes.append(mix.temporarily_closed_code)
    elif attendance == "hybrid" and mix.hybrid_code:
        codes.append(mix.hybrid_code)
    elif attendance == "online" and mix.online_code:
        codes.append(mix.online_code)
    return sorted(set(codes))


def _open_closed(codes: list[str], mix: FellowshipMix, fellowship: str) -> str:
    # The fellowship's rule (fellowships.services.open_closed_for): closed wins.
    if mix.closed_code in codes:
        return "closed"
    if mix.open_code in codes:
        return "open"
    return "closed" if fellowship == "al-anon" else ""


def generate(*, size: int, seed: int, catalog: Catalog, first_location_id: int = 1,
             first_meeting_id: int = 1) -> Directory:
    """`size` meetings, the same ones for the same seed and catalog."""
    rng = random.Random(f"{seed}:{GENERATOR_VERSION}")
    locations, meetings, meeting_types = [], [], []
    location_id, meeting_id = first_location_id, first_meeting_id

    def add_location(place: Place, *, approximate: bool) -> dict:
        nonlocal location_id
        if approximate:
            # Online-only meetings are placed at their city only.
            row = dict(name="", address="", latitude=round(place.latitude, 2), longitude=round(place.longitude, 2))
        else:
            row = dict(name=rng.choice(VENUES), address=f"{rng.randint(1, 9999)} {rng.choice(STREETS)}",
                       latitude=round(place.latitude, 6), longitude=round(place.longitude, 6))
        country = COUNTRY_NAMES.get(place.country, place.country)
        region_part = " ".join(p for p in (place.state, place.postal_code) if p)
        formatted = ", ".join(p for p in (row["address"], place.city, region_part, country) if p)
        row.update(id=location_id, city=place.city, state=place.state, postal_code=place.postal_code,
                   country=place.country, formatted_address=formatted, approximate=approximate,
                   timezone=place.timezone, region_id=None, notes="", geocode_status="", geocode_error="")
        location_id += 1
        locations.append(row)
        return row

    def add_meeting(place: Place, location: dict, attendance: str) -> None:
        nonlocal meeting_id
        fellowship = _weighted(rng, FELLOWSHIP_SHARES)
        mix = MIXES[fellowship]
        codes = _types_for(rng, mix, attendance)
        conference_url = f"https://zoom.us/j/{rng.randrange(10**9, 10**10)}" if attendance in ("hybrid", "online") else ""
        start, end = _meeting_time(rng)
        name = f"{rng.choice(mix.names)} {place.city}".strip()
        area = place.metro or f"rural-{place.state}"
        meetings.append(dict(
            id=meeting_id, fellowship_id=catalog.fellowship_ids[fellowship],
            service_body_id=catalog.service_body_ids[(fellowship, area)], location_id=location["id"],
            slug=f"bench-{meeting_id}", name=name,
            day=None if rng.random() < 0.003 else rng.randrange(7), time=start, end_time=end,
            timezone=location["timezone"], open_closed=_open_closed(codes, mix, fellowship), attendance=attendance,
            conference_url=conference_url, conference_url_notes="", conference_provider="Zoom" if conference_url else "",
            conference_phone="", conference_phone_notes="", notes=rng.choice(NOTES), group=name, group_notes="",
            url="", published=rng.random() >= UNPUBLISHED_SHARE, needs_review=False, review_reason="",
            latitude=location["latitude"], longitude=location["longitude"], source=SOURCE, source_key="",
            created=CREATED, updated=CREATED + dt.timedelta(minutes=rng.randrange(500_000)),
        ))
        meeting_types.extend((meeting_id, catalog.type_ids[(fellowship, code)]) for code in codes)
        meeting_id += 1

    while len(meetings) < size:
        place = pick_place(rng)
        if rng.random() < _ONLINE_PLACE_SHARE:
            add_meeting(place, add_location(place, approximate=True), "online")
            continue
        venue = add_location(place, approximate=False)
        hosted = min(size - len(meetings), rng.choice(VENUE_MEETINGS))
        for _ in range(hosted):
            add_meeting(place, venue, _weighted(rng, VENUE_ATTENDANCE))
    return Directory(locations, meetings, meeting_types)


# --- loading -----------------------------------------------------------------

def catalog_prepare() -> Catalog:
    """Fellowships, vocabularies and the generator's service bodies, created if missing (ORM: a few hundred rows)."""
    from fellowships.models import Fellowship, MeetingType, ServiceBody
    from fellowships.services import vocabularies_sync

    fellowships = vocabularies_sync()
    type_ids = {(t.fellowship.slug, t.code): t.pk for t in MeetingType.objects.select_related("fellowship")}
    wanted = {}
    for slug, fellowship in fellowships.items():
        for key, name, tz in service_body_areas():
            wanted[f"bench-{slug}-{key}".lower().replace(" ", "-").replace(".", "")[:80]] = (slug, key, name, tz)
    existing = set(ServiceBody.objects.filter(slug__in=list(wanted)).values_list("slug", flat=True))
    ServiceBody.objects.bulk_create([
        ServiceBody(slug=s, name=f"{name} {fellowships[slug].name} (bench)", fellowship=fellowships[slug], timezone=tz)
        for s, (slug, key, name, tz) in wanted.items() if s not in existing
    ])
    by_slug = dict(ServiceBody.objects.filter(slug__in=list(wanted)).values_list("slug", "pk"))
    service_body_ids = {(wanted[s][0], wanted[s][1]): pk for s, pk in by_slug.items()}
    return Catalog({slug: f.pk for slug, f in fellowships.items()}, type_ids, service_body_ids)


def _table_columns(connection, model) -> list:
    """The model's concrete fields that exist in the database table (other
    work may have added model fields whose migration is not applied here)."""
    with connection.cursor() as cursor:
        present = {c.name for c in connection.introspection.get_table_description(cursor, model._meta.db_table)}
    return [f for f in model._meta.concrete_fields if f.column in present]


def _rows(connection, fields, dict_rows) -> Iterator[tuple]:
    """Rows in `fields` order, adapted for the database. The generator's own
    values are plain (str, int, float, bool, time, datetime) and go as they
    are; columns it does not know (added by other features) get the model's
    default, prepared by the field."""
    defaults = {f.attname: f.get_db_prep_save(f.get_default(), connection) for f in fields}
    names = [f.attname for f in fields]
    for row in dict_rows:
        yield tuple(row[n] if n in row else defaults[n] for n in names)


@dataclass
class LoadReport:
    size: int
    locations: int
    meetings: int
    meeting_types: int
    generate_seconds: float
    load_seconds: float


def _next_id(connection, model) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {connection.ops.quote_name(model._meta.db_table)}")
        return cursor.fetchone()[0]


def directory_load(*, size: int, seed: int = DEFAULT_SEED, using: str = "default",
                   rebuild_indexes: bool | None = None) -> tuple[Directory, LoadReport]:
    """Generate a directory and bulk-load it into the database `using`; then ANALYZE (PostgreSQL).

    Ids continue after the rows already there, and the id sequences follow."""
    from django.db import connections, transaction

    from meetings.models import Location, Meeting

    connection = connections[using]
    started = time.perf_counter()
    with transaction.atomic(using=using):
        catalog = catalog_prepare()
        directory = generate(size=size, seed=seed, catalog=catalog, first_location_id=_next_id(connection, Location),
                             first_meeting_id=_next_id(connection, Meeting))
        generated = time.perf_counter()
        through = Meeting.types.through
        tables = [
            (Location, _table_columns(connection, Location), directory.locations),
            (Meeting, _table_columns(connection, Meeting), directory.meetings),
        ]
        if connection.vendor == "postgresql":
            _load_postgresql(connection, tables, through, directory,
                             rebuild_indexes=size >= 200_000 if rebuild_indexes is None else rebuild_indexes)
        else:
            _load_generic(connection, tables, through, directory)
    loaded = time.perf_counter()
    return directory, LoadReport(size, len(directory.locations), len(directory.meetings),
                                 len(directory.meeting_types), generated - started, loaded - generated)


def _load_generic(connection, tables, through, directory: Directory) -> None:
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model, fields, dict_rows in tables:
            columns = ", ".join(qn(f.column) for f in fields)
            marks = ", ".join(["%s"] * len(fields))
            # SQLite stores times and datetimes as text: adapt the generator's values.
            known = [f.attname in dict_rows[0] if dict_rows else False for f in fields]
            rows = [tuple(f.get_db_prep_save(v, connection) if k else v for f, k, v in zip(fields, known, row))
                    for row in _rows(connection, fields, dict_rows)]
            cursor.executemany(f"INSERT INTO {qn(model._meta.db_table)} ({columns}) VALUES ({marks})", rows)
        cursor.executemany(f"INSERT INTO {qn(through._meta.db_table)} (meeting_id, meetingtype_id) VALUES (%s, %s)",
                           directory.meeting_types)


def _droppable_indexes(cursor, tables: list[str]) -> list[tuple[str, str]]:
    """(name, definition) of the plain indexes on `tables`: not the ones behind constraints."""
    cursor.execute(
        """SELECT i.indexname, i.indexdef FROM pg_indexes i
           WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass)""",
        [tables],
    )
    return cursor.fetchall()


def _load_postgresql(connection, tables, through, directory: Directory, *, rebuild_indexes: bool) -> None:
    qn = connection.ops.quote_name
    table_names = [m._meta.db_table for m, _, _ in tables] + [through._meta.db_table]
    with connection.cursor() as cursor:
        # The rows are consistent by construction: skip the per-row foreign key triggers (superuser only).
        cursor.execute("SET session_replication_role = replica")
        try:
            dropped = _droppable_indexes(cursor, table_names) if rebuild_indexes else []
            for name, _ in dropped:
                cursor.execute(f"DROP INDEX {qn(name)}")
            for model, fields, dict_rows in tables:
                columns = ", ".join(qn(f.column) for f in fields)
                with cursor.copy(f"COPY {qn(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
                    for row in _rows(connection, fields, dict_rows):
                        copy.write_row(row)
            with cursor.copy(f"COPY {qn(through._meta.db_table)} (meeting_id, meetingtype_id) FROM STDIN") as copy:
                for pair in directory.meeting_types:
                    copy.write_row(pair)
            for _, definition in dropped:
                cursor.execute(definition)
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
        for table in table_names:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT COALESCE(MAX(id), 1) FROM {qn(table)}))",
                           [table])
            cursor.execute(f"ANALYZE {qn(table)}")
        # And the small tables the page joins (fellowships, service bodies, types): without
        # statistics the planner guesses their sizes, as autovacuum would fix within minutes.
        cursor.execute("ANALYZE")


# --- command line: load one benchmark database ---------------------------------

META_TABLE = "bench_directory_meta"


def main(argv: list[str] | None = None) -> None:
    """`DATABASE_URL=... python bench/directory.py --size N [--seed S]`: bulk-load a
    migrated, empty database and record what was loaded in META_TABLE."""
    import argparse
    import json
    import os
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meetingfinder.settings")
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.db import connection

    _, report = directory_load(size=args.size, seed=args.seed, rebuild_indexes=True)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (generator_version int, size int, seed int, "
                       "loaded_at timestamptz DEFAULT now(), report jsonb)")
        cursor.execute(f"INSERT INTO {META_TABLE} (generator_version, size, seed, report) VALUES (%s, %s, %s, %s)",
                       [GENERATOR_VERSION, args.size, args.seed, json.dumps(report.__dict__)])
    print(json.dumps(report.__dict__))


if __name__ == "__main__":
    main()
