"""How a meeting is attended: the rules consumers of Meeting Guide feeds apply
(meeting-guide.md), as plain functions."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

# Hosts whose links consumers accept as a meeting's join link, with the label
# they show. Matched on a dot boundary: myzoom.us is not Zoom.
CONFERENCE_PROVIDERS = {
    "bluejeans.com": "Bluejeans",
    "discord.gg": "Discord",
    "freeconference.com": "Free Conference",
    "freeconferencecall.com": "FreeConferenceCall",
    "goto.com": "GoTo",
    "gotomeet.me": "GoTo",
    "gotomeeting.com": "GoTo",
    "horizon.meta.com": "Virtual Reality",
    "maps.secondlife.com": "Virtual Reality",
    "slurl.com": "Virtual Reality",
    "vrchat.com": "Virtual Reality",
    "meet.google.com": "Google Meet",
    "meet.jit.si": "Jitsi",
    "meetings.dialpad.com": "Dialpad",
    "signal.group": "Signal",
    "skype.com": "Skype",
    "teams.live.com": "Teams",
    "teams.microsoft.com": "Teams",
    "webex.com": "WebEx",
    "zoho.com": "Zoho",
    "zoom.us": "Zoom",
}
PHONE_KEEP_RE = re.compile(r"[^0-9,+#]")
DEFAULT_PORTS = {"http": 80, "https": 443}


def conference_provider(url: str) -> str:
    """The provider label of a recognised conference link, else ""."""
    try:
        parts = urlsplit((url or "").strip())
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https"):
        return ""
    host = (parts.hostname or "").lower().rstrip(".")
    for domain, label in CONFERENCE_PROVIDERS.items():
        if host == domain or host.endswith("." + domain):
            return label
    return ""


def consumer_url(url: str) -> str:
    """A conference link as consumers match it, the form every published
    link takes (the feed, calendars): tsml-ui compares hosts case-sensitively
    and with any port, so `https://US02WEB.ZOOM.US:443/j/1` is written
    `https://us02web.zoom.us/j/1`."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port
    except ValueError:  # "zoom.us:abc": no port a browser could use
        port = None
    if port == DEFAULT_PORTS.get(parts.scheme.lower()):
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


def phone_is_usable(phone: str) -> bool:
    """tsml-ui's rule: at least 10 characters once all but digits , + # are gone."""
    return len(PHONE_KEEP_RE.sub("", phone or "")) >= 10


# An extension as people write it ("x 123", "ext. 123"): dialled after a pause.
_EXTENSION_RE = re.compile(r"\s*(?<![a-z])(?:extension|ext\.?|x)\s*(?=\d)", re.IGNORECASE)


def dialled_phone(phone: str) -> str:
    """What dials `phone`: its dialable characters (digits, +, the pause ","
    and the keys * and #), an extension after a pause. Meeting Guide's
    `conference_phone` is written so."""
    return re.sub(r"[^0-9+,#*]", "", _EXTENSION_RE.sub(",", phone or ""))


# Where the number ends and the keys pressed once the call connects begin:
# the first pause or extension.
_AFTER_NUMBER_RE = re.compile(r",|" + _EXTENSION_RE.pattern, re.IGNORECASE)


def number_and_keys(phone: str) -> tuple[str, str]:
    """`phone` split where the call connects: the number as the listing
    writes it, and the keys dialled after it (`dialled_phone`'s, the pauses
    between them as ","). "+1-669-555-0131,,89416378139#" is
    ("+1-669-555-0131", "89416378139#")."""
    after = _AFTER_NUMBER_RE.search(phone or "")
    if after is None:
        return (phone or "").strip(), ""
    number = phone[:after.start()].strip()
    keys = dialled_phone(phone[after.start():]).lstrip(",")
    if not number:  # nothing before the first pause: no number to show apart from the keys
        return dialled_phone(phone), ""
    return number, keys


def tel_uri(phone: str) -> str:
    """The tel: URI that dials `phone` (`dialled_phone`), "#" escaped as a
    URI needs ("%23"; a browser would read it as a fragment)."""
    return "tel:" + quote(dialled_phone(phone), safe="+,*")


def is_online(*, conference_url: str, conference_phone: str) -> bool:
    return bool(conference_provider(conference_url)) or phone_is_usable(conference_phone)


def derive_attendance(*, temporarily_closed: bool, online: bool, approximate: bool) -> str:
    """TSML's table: TC and online decide, then whether the place is only an area."""
    if temporarily_closed:
        return "online" if online else "inactive"
    if online:
        return "online" if approximate else "hybrid"
    return "inactive" if approximate else "in_person"


# The attendances with a door to go to (`derive_attendance`).
AT_A_DOOR = ("in_person", "hybrid")


def has_door(*, attendance: str, latitude: float | None, approximate: bool) -> bool:
    """Whether there is a door to go to (a map, directions, a calendar's
    place): attended in person at a pinned place, not an area. A temporarily
    closed building is none, even pinned: its meeting is online or inactive."""
    return attendance in AT_A_DOOR and latitude is not None and not approximate
