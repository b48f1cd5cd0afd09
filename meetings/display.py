"""How a meeting reads to a person on the pages, in the page's language:
when it is in the viewer's time (and its own, when that differs), how soon,
its types in words, attendance with the provider, open/closed explained.

Plain functions over the one row (meetings/rows.py) and the vocabularies;
nothing here queries meetings or knows HTTP."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf.locale import LANG_INFO
from django.utils.text import capfirst
from django.utils.translation import get_language, gettext as _, gettext_lazy, pgettext

from fellowships.models import Fellowship, MeetingType
from meetings import schedule
from meetings.attendance import number_and_keys
from meetings.selectors import TIMES_OF_DAY

# Django's own catalogue translates these (Monday -> lunes).
DAY_NAMES = tuple(gettext_lazy(name) for name in schedule.DAY_NAMES)

TIME_OF_DAY_NAMES = {"morning": gettext_lazy("Morning"), "midday": gettext_lazy("Midday"),
                     "evening": gettext_lazy("Evening"), "night": gettext_lazy("Night")}


def times_of_day() -> list[tuple[str, str, str]]:
    """The search's parts of the day (selectors.TIMES_OF_DAY, the one
    definition) as (value, name, hours) in the page's language and clock."""
    return [(value, str(TIME_OF_DAY_NAMES.get(value, value)), f"{clock_time(start)}–{clock_time(until)}")
            for value, (start, until) in TIMES_OF_DAY.items()]


ATTENDANCE_NAMES = {
    "in_person": gettext_lazy("In person"),
    "hybrid": gettext_lazy("Hybrid: in person and online"),
    "online": gettext_lazy("Online"),
    "inactive": gettext_lazy("Temporarily closed"),
}

# What open and closed mean, per fellowship, in one plain line each.
OPEN_MEANS = gettext_lazy("Open: anyone may attend, including family, friends and the curious.")
CLOSED_MEANS = {
    "aa": gettext_lazy("Closed (AA): only for people who have a drinking problem or think they may have one."),
    "na": gettext_lazy("Closed (NA): only for people who have a drug problem or think they may have one."),
    "al-anon": gettext_lazy("Closed (Al-Anon): only for families and friends of someone with a drinking problem."),
}
CLOSED_MEANS_ANY = gettext_lazy("Closed: only for people who share the problem the fellowship is about.")


def closed_means(fellowship_slug: str, shown: Words | None = None) -> str:
    shown = shown or words()
    return shown.closed_means.get(fellowship_slug, shown.closed_means_any)


@dataclass(frozen=True)
class Words:
    """The words of a row (display.when, open/closed, attendance) and the
    clock's in one language, translated once per process: a page of rows
    read each several times, and a translation costs more than the rest of
    a row's words."""

    twelve_hour: bool
    am: str
    pm: str
    days: tuple[str, ...]
    day_headings: tuple[str, ...]     # "jueves" starts a heading: "Jueves"
    by_appointment: str
    in_progress: str
    starts_in: str
    starting_soon: str
    later_today: str
    tomorrow: str
    open: str
    closed: str
    open_means: str
    closed_means: dict[str, str]
    closed_means_any: str
    attendance: dict[str, str]
    phone: str
    where_it_meets: str


def words() -> Words:
    """The Words of the active language."""
    return _words(get_language())


@lru_cache(maxsize=16)
def _words(language: str | None) -> Words:  # translated in `language`, the active one (words())
    days = tuple(map(str, DAY_NAMES))
    return Words(
        twelve_hour=(language or "en").startswith("en"), am=_("AM"), pm=_("PM"), days=days,
        day_headings=tuple(map(capfirst, days)), by_appointment=_("By appointment"), in_progress=_("In progress"),
        starts_in=_("Starts in %(minutes)d min"), starting_soon=_("Starting soon"), later_today=_("Later today"),
        tomorrow=_("Tomorrow"), open=_("Open"), closed=_("Closed"), open_means=str(OPEN_MEANS),
        closed_means={slug: str(means) for slug, means in CLOSED_MEANS.items()},
        closed_means_any=str(CLOSED_MEANS_ANY),
        attendance={option: str(name) for option, name in ATTENDANCE_NAMES.items()},
        phone=pgettext("join by", "Phone"), where_it_meets=_("%(when)s where it meets"))


def clock_time(value: dt.time | dt.datetime, shown: Words | None = None) -> str:
    """English readers get 7:00 PM; Spanish (and others) 19:00 (Django's
    time formats g:i A and H:i)."""
    shown = shown or words()
    if not shown.twelve_hour:
        return f"{value.hour:02d}:{value.minute:02d}"
    return f"{value.hour % 12 or 12}:{value.minute:02d} {shown.pm if value.hour > 11 else shown.am}"


def fellowship_name(fellowship: Fellowship) -> str:
    """A fellowship's name in the page's language: the names are the
    vocabularies' (code, never edited: fellowships/vocabularies.py), each in
    the catalogue ("Alcohólicos Anónimos"); any other as it is."""
    return _(fellowship.name)


# Open and closed have words of their own (a row's and a meeting page's lead
# line, the search's Open/closed choice): never shown nor offered as types.
OPEN_OR_CLOSED = (MeetingType.Meaning.OPEN, MeetingType.Meaning.CLOSED)


def type_name(meeting_type: MeetingType, *, language: str | None = None,
              names_by_english: dict[str, str] | None = None) -> str:
    """A type's name in the page's language: its own translation, else the
    translation another vocabulary gives the same English name (NA's and
    Al-Anon's "Women" are AA's "Mujeres"), else its name."""
    language = (language or get_language() or "en").split("-")[0]
    if language == "en":
        return meeting_type.name
    own = (meeting_type.translations or {}).get(language)
    if own:
        return own
    return (names_by_english or {}).get(meeting_type.name, meeting_type.name)


def names_by_english(types, language: str) -> dict[str, str]:
    """English name -> name in `language`, from every vocabulary's translations."""
    found: dict[str, str] = {}
    for meeting_type in types:
        translated = (meeting_type.translations or {}).get(language)
        if translated:
            found.setdefault(meeting_type.name, translated)
    return found


@dataclass(frozen=True)
class When:
    """A meeting's next start as a person reads it."""

    text: str                 # "Tuesday 7:00 PM PDT" in the viewer's zone
    own_zone_text: str        # "7:00 PM PST where it meets" when the meeting's clock differs, else ""
    soon_label: str           # "In progress", "Starts in 25 min", ""
    heading: str              # "Starting soon", "Later today", "Tomorrow", "Thursday"
    start_utc: str            # ISO instant, for scripts that rewrite it in the browser's zone


def when(row: dict, *, viewer_zone: ZoneInfo, now: dt.datetime, shown: Words | None = None) -> When:
    """`shown`: the active language's words (words()), when the caller has them (a page of rows)."""
    shown = shown or words()
    if not row["next_start"] or row["day"] is None:
        return When(shown.by_appointment, "", "", shown.by_appointment, "")
    start = dt.datetime.fromisoformat(row["next_start"].replace("Z", "+00:00"))
    local = start.astimezone(viewer_zone)
    local_day = schedule.sunday_zero_weekday(local.date())
    text = f"{shown.days[local_day]} {clock_time(local, shown)} {local.tzname()}"
    own = start.astimezone(schedule.zone(row["timezone"]))
    own_text = ""
    if own.utcoffset() != local.utcoffset():
        own_text = shown.where_it_meets % {
            "when": f"{shown.days[schedule.sunday_zero_weekday(own.date())]} {clock_time(own, shown)} {own.tzname()}"}
    minutes = round((start - now).total_seconds() / 60)
    label = shown.starts_in % {"minutes": max(minutes, 0)} if minutes <= 90 else ""
    today = now.astimezone(viewer_zone).date()
    if row.get("in_progress"):
        label = heading = shown.in_progress
    elif minutes <= 60:
        heading = shown.starting_soon
    elif local.date() == today:
        heading = shown.later_today
    elif local.date() == today + dt.timedelta(days=1):
        heading = shown.tomorrow
    else:
        heading = shown.day_headings[local_day]
    return When(text, own_text, label, heading, row["next_start"])


def attendance_text(row: dict, shown: Words | None = None) -> str:
    """"In person", "Online · Zoom", "Hybrid · Zoom · Phone"."""
    shown = shown or words()
    parts = [shown.attendance.get(row["attendance_option"], row["attendance_option"])]
    if row["attendance_option"] in ("online", "hybrid"):
        if row.get("conference_provider"):
            parts.append(row["conference_provider"])
        if row.get("conference_phone"):
            parts.append(shown.phone)
    return " · ".join(parts)


def _digit_groups(digits: str) -> str:
    """A long run of digits in groups of three and four, the threes first, as
    few as can be: Zoom's "894 1637 8139", "555 0100". Five or fewer stay whole."""
    if len(digits) <= 5:
        return digits
    # Fours but for as many threes as they fall short of the length: 11 digits are 3 4 4.
    threes = 3 * (-len(digits) % 4)
    return " ".join([digits[i:i + 3] for i in range(0, threes, 3)]
                    + [digits[i:i + 4] for i in range(threes, len(digits), 4)])


@dataclass(frozen=True)
class DialIn:
    """A dial-in phone as a person reads it; the tel: link dials all of it
    (`attendance.tel_uri`)."""

    number: str   # "+1-669-555-0131", as the listing writes it
    keys: str     # what to key once connected, readable: "894 1637 8139 #, *123 456 #"; "" for none


def dial_in(phone: str) -> DialIn:
    number, keys = number_and_keys(phone)
    readable = [re.sub(r"\d+", lambda run: _digit_groups(run.group()), group).replace("#", " #").strip()
                for group in keys.split(",") if group]
    return DialIn(number, ", ".join(readable))


def open_closed_text(row: dict, shown: Words | None = None) -> tuple[str, str]:
    """("Open", explanation) or ("Closed", explanation); ("", "") when unstated."""
    shown = shown or words()
    if row["open_closed"] == "open":
        return shown.open, shown.open_means
    if row["open_closed"] == "closed":
        return shown.closed, closed_means(row["fellowship"], shown)
    return "", ""


def distance_text(row: dict, unit: str) -> str:
    if row.get("distance") is None:
        return ""
    return f"{row['distance']:.1f} {unit}"


def language_name(code: str) -> str:
    """A language's name to the reader ("Spanish"; to a Spanish reader
    "Español", each language by its own name), or its code where Django
    knows none."""
    info = LANG_INFO.get(code)
    if not info:
        return code
    return info["name_local"].capitalize() if code == (get_language() or "en")[:2] else _(info["name"])
