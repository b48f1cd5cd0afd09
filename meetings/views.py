"""The pages for people: the search page (`/`) and a meeting's page.

The search page is the API's search: its URL parameters are the API's
(meetings/filters.py PARAMETERS, plus `offset`), parsed by `search_parse` and
read by `search_page`. What the page adds is only how it asks when a person
gave nothing: soonest first from now in the viewer's zone, temporarily closed
meetings left out unless asked for, and the radius only with a place."""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.http import FileResponse, Http404, QueryDict
from django.shortcuts import render
from django.template.defaultfilters import stringformat
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import Truncator
from django.utils.translation import get_language, gettext as _, gettext_lazy, ngettext, pgettext_lazy
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.http import require_http_methods, require_safe
from django_permissions_policy.decorators import permissions_policy_override

from fellowships.models import Fellowship, MeetingType, ServiceBody
from fellowships.vocabularies import meeting_guide_equivalents
from meetings import calendars, clock, display, schedule
from meetings.attendance import conference_provider, consumer_url, has_door, phone_is_usable, tel_uri
from meetings.change_requests import ChangeRequestInvalid, change_request_submit
from meetings.filters import PARAMETERS, STARTS_ON, SearchInvalid, read_parameter, search_parse, whole_number
from meetings.forms import CorrectionForm
from meetings.directory_version import at_one_version, kept_per_version
from meetings.keywords import fold
from meetings.models import Meeting, Region
from meetings.querysets import PUBLISHED
from meetings.selectors import search_page
from meetings.throttles import (QUESTIONS, ChangeRequestThrottle, ComputeBudget, counts_its_own_compute,
                                 within_compute_budget)

SEARCH_PAGE_SIZE = 50
# The page's URL parameters: the API's, and `offset` for the next pages.
PAGE_PARAMETERS = frozenset(p.name for p in PARAMETERS) | {"offset"}
# Given alone, these do not make a search: the page still opens on now.
SETTINGS_ONLY = frozenset({"tz", "units", "radius", "offset"})
PLACE_PARAMETERS = ("near", "lat", "lng")
# Their errors are shown under the place and distance, in this order; the others' under the filters.
WHERE_ERRORS = ("near", "order", "radius")
# Each parameter as the page's messages name it: its field's label, or for a
# link's own (under "Only meetings") the words of its box. Those shown under
# their field (WHERE_ERRORS) need none: the API's names are shown nowhere.
FIELD_LABELS = {
    "lat": gettext_lazy("Near me"), "lng": gettext_lazy("Near me"), "units": gettext_lazy("Unit of distance"),
    "fellowship": gettext_lazy("Fellowship"), "starts_on": gettext_lazy("Day"),
    "time_of_day": gettext_lazy("Time of day"), "attendance": gettext_lazy("Attendance"),
    "open": gettext_lazy("Open or closed"), "q": gettext_lazy("Keyword"), "language": gettext_lazy("Language"),
    "region": gettext_lazy("Region"), "type": gettext_lazy("Type"), "in_progress": gettext_lazy("In progress"),
    "query": gettext_lazy("Search"), "day": pgettext_lazy("public", "Weekday"),
    "time_after": pgettext_lazy("public", "Starting at or after"),
    "time_before": pgettext_lazy("public", "Starting before"),
    "starting_within": pgettext_lazy("public", "Starting within (minutes)"),
    "service_body": pgettext_lazy("public", "Listed by"), "tz": pgettext_lazy("public", "Time zone"),
}
# The rules between parameters in the page's words (filters.WORDS: the API's).
PAGE_WORDS = {
    "together": pgettext_lazy("public", "your position came without its latitude or longitude: press Near me "
                                        "again, or type a place."),
    "either": pgettext_lazy("public", "Type a place or use Near me, not both."),
    "same_times": pgettext_lazy("public", "use a time other than Starting at or after."),
    "radius_limit": pgettext_lazy("public", "Choose at most %(limit)d %(unit)s."),
}
# What the page's "Filters" section holds (it opens when one is chosen).
FILTERS = frozenset({"fellowship", "day", "starts_on", "time_of_day", "attendance", "open", "type", "language",
                     "region", "q", "service_body", "time_after", "time_before", "starting_within", "in_progress"})
STARTS_ON_WORDS = {"today": gettext_lazy("today"), "tomorrow": gettext_lazy("tomorrow")}
RADIUS_CHOICES = (1, 2, 5, 10, 25, 50)
DEFAULT_RADIUS = 10
FAVICON = Path(__file__).resolve().parent / "static" / "meetings" / "favicon.ico"


# Read by the search in lower case (fellowship=AA is aa): the form shows them so.
LOWERED = frozenset(p.name for p in PARAMETERS if p.lowered)


def _asked(request) -> QueryDict:
    """The request's search parameters, blank values dropped, slugs in the
    case the form's choices have (a link in capitals keeps its filters chosen)."""
    asked = QueryDict(mutable=True)
    for key, values in request.GET.lists():
        if key in PAGE_PARAMETERS:
            kept = [value.lower() if key in LOWERED else value for value in values if value.strip()]
            if kept:
                asked.setlist(key, kept)
    return asked


def _viewer_zone_name(asked: QueryDict) -> str:
    name = asked.get("tz", "")
    return name if schedule.is_valid_zone(name) else settings.MEETINGS_PAGE_TIME_ZONE


def _offset(asked: QueryDict) -> int:
    offset = whole_number(asked.get("offset", "0"))
    return offset if offset is not None and 0 <= offset <= settings.MEETINGS_MAX_OFFSET else 0


def _busy(request, budget: ComputeBudget):
    """A page for people (search, a meeting) past the client's computing
    budget: it says to wait, in the person's language (throttles.ComputeBudget)."""
    response = render(request, "meetings/busy.html", status=429)
    response["Retry-After"] = str(budget.retry_after)
    response["Cache-Control"] = "no-store"
    return response


@counts_its_own_compute  # its refusal is the wait page
@require_safe
# "Near me" asks the browser's position (only when pressed): this page alone
# lifts the site's geolocation=() (the library's per-view override).
@permissions_policy_override({**settings.PERMISSIONS_POLICY, "geolocation": ["self"]})
def home(request):
    """The search page: opens on now (in progress, starting soon, later today,
    then other days); every filter of the API, combinable, kept in the URL.
    Each is a new question (nothing is kept): counted against the client's
    computing budget, as the API's are."""
    return within_compute_budget(request, lambda: _home(request), refused=lambda budget: _busy(request, budget))


@at_one_version()
def _home(request):
    asked = _asked(request)
    zone_name = _viewer_zone_name(asked)
    has_place = any(asked.get(name) for name in PLACE_PARAMETERS)
    searched = bool(set(asked) - SETTINGS_ONLY)

    query = asked.copy()
    query.pop("offset", None)
    query["tz"] = zone_name
    if not has_place:
        # Shown in the form, applied only with a place.
        query.pop("radius", None)
        query.pop("order", None)
    elif not query.get("radius"):
        # A link with a place and no distance (shared, bookmarked) searches
        # the distance the form shows, not the widest the API allows.
        query["radius"] = str(DEFAULT_RADIUS)
    if not query.get("attendance"):
        # Temporarily closed meetings only when asked for (attendance=inactive).
        query.setlist("attendance", ["in_person", "online"])
    # The page lists what starts soonest, near a place too, unless nearest
    # first is asked for, or only what starts within some minutes or is under way.
    soonest_first = (not query.get("starting_within") and not query.get("in_progress")
                     and query.get("order") != "distance")
    if soonest_first:
        query["order"] = "soonest"

    offset = _offset(asked)
    errors: dict[str, str] = {}
    results: list[dict] = []
    in_progress: list[dict] = []
    more = False
    place_label = suggested_near = ""
    now = clock.now()
    unit = query.get("units") or "mi"
    try:
        search = search_parse(query, now=now, words=PAGE_WORDS)
    except SearchInvalid as invalid:
        errors = {field: " ".join(messages) for field, messages in invalid.errors.items()}
        suggested_near = invalid.suggested_near
    else:
        place_label = search.place
        rows = search_page(search, window=slice(offset, offset + SEARCH_PAGE_SIZE + 1))
        more = len(rows) > SEARCH_PAGE_SIZE
        rows = rows[:SEARCH_PAGE_SIZE]
        if soonest_first:
            # Under way now: listed first (on the first page), not again as
            # next week's; it is today's, so not when only other dates are asked.
            rows = [row for row in rows if not row["in_progress"]]
            if offset == 0 and _asks_today_or_any_date(search, now=now):
                now_query = query.copy()
                now_query.pop("order")  # nearest first near a place, else by weekday and time
                now_query.pop("starts_on", None)
                now_query["in_progress"] = "true"
                in_progress = search_page(search_parse(now_query, now=now), window=slice(0, SEARCH_PAGE_SIZE))
        viewer_zone, shown = schedule.zone(zone_name), display.words()
        types = _types_by_code({(row["fellowship"], code) for row in [*rows, *in_progress] for code in row["types"]})
        in_progress = [_result(row, viewer_zone=viewer_zone, now=now, unit=unit, types=types, shown=shown)
                       for row in in_progress]
        results = [_result(row, viewer_zone=viewer_zone, now=now, unit=unit, types=types, shown=shown) for row in rows]
    groups = _grouped(results) if soonest_first else [("", results)] if results else []
    # A link's distance is shown chosen, one of the choices or not, so the
    # next search asks it again; one the search refuses is not kept.
    radius = read_parameter(asked, "radius") if "radius" not in errors else None
    radius = f"{radius:g}" if radius else str(DEFAULT_RADIUS)
    if in_progress:
        groups.insert(0, (_("In progress"), in_progress))

    return render(request, "meetings/home.html", {
        "asked": asked,
        "searched": searched,
        "has_place": has_place,
        "place_label": place_label,
        "zone_name": zone_name,
        "unit": unit,
        "errors": errors,
        "other_errors": {key: f"{FIELD_LABELS[key]}: {message}" for key, message in errors.items()
                         if key not in WHERE_ERRORS},
        "first_error": next((key for key in (*WHERE_ERRORS, *errors) if key in errors), ""),
        "groups": groups,
        "result_count": len(results) + len(in_progress),
        "offset": offset,
        "online_elsewhere_url": _online_elsewhere_url(asked) if has_place else "",
        "suggested_near": suggested_near,
        "suggested_near_url": _elsewhere_url(asked, near=[suggested_near]) if suggested_near else "",
        # No page past the deepest one read (`_offset`): it would open on the first again.
        "next_url": (_page_url(asked, offset + SEARCH_PAGE_SIZE)
                     if more and offset + SEARCH_PAGE_SIZE <= settings.MEETINGS_MAX_OFFSET else ""),
        "previous_url": _page_url(asked, max(offset - SEARCH_PAGE_SIZE, 0)) if offset else "",
        "title": _search_title(asked, place_label),
        "soonest_first": soonest_first,
        "filter_count": len(set(asked) & FILTERS),
        "kept": _kept_without_a_field(asked),
        "radius_choices": sorted({*map(str, RADIUS_CHOICES), radius}, key=float),
        "radius": radius,
        "tile_url": settings.MAP_TILE_URL,
        "tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        **_form_choices(asked, zone_name=zone_name, now=now),
    }, status=400 if errors else 200)


def _kept_without_a_field(asked: QueryDict) -> list[tuple[str, str, str]]:
    """What a link asked that the form has no field of its own for, as
    (name, value, words): ticked boxes, so the next Search keeps asking it
    until the person unticks it. A value the search refuses is not kept:
    its error is shown, and the next Search goes without it."""
    kept = []
    minutes = read_parameter(asked, "starting_within")
    if minutes is not None:
        kept.append(("starting_within", str(minutes),
                     ngettext("starting within %(minutes)d minute", "starting within %(minutes)d minutes", minutes)
                     % {"minutes": minutes}))
    if read_parameter(asked, "in_progress"):
        kept.append(("in_progress", "true", _("in progress now")))
    # The API's weekdays in each meeting's own zone, hours and service bodies
    # (the page asks dates, parts of the day and regions instead).
    for day in sorted(read_parameter(asked, "day")):
        kept.append(("day", str(day), _("on %(day)s") % {"day": display.DAY_NAMES[day]}))
    for name, words in (("time_after", _("starting at %(time)s or later")),
                        ("time_before", _("starting before %(time)s"))):
        time = read_parameter(asked, name)
        if time is not None:
            kept.append((name, schedule.hh_mm(time), words % {"time": display.clock_time(time)}))
    slugs = read_parameter(asked, "service_body")
    if slugs:
        for slug, body in ServiceBody.objects.filter(slug__in=slugs).order_by("name").values_list("slug", "name"):
            kept.append(("service_body", slug, _("listed by %(body)s") % {"body": body}))
    return kept


def _asks_today_or_any_date(search, *, now: dt.datetime) -> bool:
    """No `starts_on`, or one of its dates is the viewer's today."""
    windows = search.filters.start_windows
    return not windows or any(start <= now < stop for start, stop in windows)


def _online_elsewhere_url(asked: QueryDict) -> str:
    """Near a place the search lists places to go: online-only meetings are
    left out (their pin is at best a city). When online meetings may be
    wanted, the same search without the place, online (the distance and
    unit the form shows kept for the next search with one)."""
    attendance = asked.getlist("attendance")
    if attendance and "online" not in attendance:
        return ""
    return _elsewhere_url(asked, attendance=["online"])


def _elsewhere_url(asked: QueryDict, **values: list[str]) -> str:
    """The same search from its first page, without its place, with `values`
    (online meetings; near a city spelt like the one not known)."""
    elsewhere = asked.copy()
    for name in (*PLACE_PARAMETERS, "offset"):
        elsewhere.pop(name, None)
    for name, listed in values.items():
        elsewhere.setlist(name, listed)
    return _search_link(elsewhere)


def _search_link(query: QueryDict) -> str:
    """A link of the page to another search (the next 50, online meetings,
    a city meant): without JavaScript it opens at the results, as the form's
    searches do (its action's #results-heading), not above the form."""
    return "?" + query.urlencode() + "#results-heading"


def _search_before(request) -> str:
    """The search a meeting's page was opened from (its Referer, when that is
    this site's search page), at its results, for "Find another meeting";
    else "". Read here, not by the page's script, so it works without one."""
    referer = request.headers.get("Referer", "")
    if not url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        return ""
    before = urlsplit(referer)
    if before.path != reverse("home"):
        return ""
    query = QueryDict(before.query)
    return reverse("home") + (_search_link(query) if query else "")


def _page_url(asked: QueryDict, offset: int) -> str:
    page = asked.copy()
    page.pop("offset", None)
    if offset:
        page["offset"] = str(offset)
    return _search_link(page)


def _type_names() -> tuple[str, dict[str, str]]:
    """The page's language, and the types' names in it by English name
    (`display.names_by_english`), read once per directory version."""
    language = (get_language() or "en").split("-")[0]
    if language == "en":
        return language, {}
    using = MeetingType.objects.all().db
    return language, kept_per_version(f"names_by_english:{language}", using=using, read=lambda: (
        display.names_by_english(MeetingType.objects.using(using).exclude(translations={}), language)))


def _types_by_code(wanted: set[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
    """(fellowship slug, code) -> the type's name in the page's language (None:
    open and closed, which have words of their own), for every type: read once
    per directory version; `wanted`, the pairs of the rows read since the
    version was, each of which must be there (else read again)."""
    language, english = _type_names()
    using = MeetingType.objects.all().db

    def read() -> dict[tuple[str, str], str | None]:
        return {(t.fellowship.slug, t.code): display.type_name(t, language=language, names_by_english=english)
                if t.meaning not in display.OPEN_OR_CLOSED else None
                for t in MeetingType.objects.using(using).select_related("fellowship")}

    return kept_per_version(f"types_by_code:{language}", using=using, read=read,
                            still_good=lambda names: wanted <= names.keys())


def _result(row: dict, *, viewer_zone, now: dt.datetime, unit: str, types: dict, shown: display.Words) -> dict:
    open_closed, open_closed_means = display.open_closed_text(row, shown)
    return {
        "row": row,
        # Its fields as a dict: the template reads a dict's keys without the
        # exception each of a dataclass's attributes costs (five a row).
        "when": vars(display.when(row, viewer_zone=viewer_zone, now=now, shown=shown)),
        "attendance": display.attendance_text(row, shown),
        "open_closed": open_closed,
        "open_closed_means": open_closed_means,
        "distance": display.distance_text(row, unit),
        "place": row["city"] or row["formatted_address"],
        "types": [name for name in (types.get((row["fellowship"], code), code) for code in row["types"]) if name],
        "fellowship": row["fellowship"].upper(),
        # A pin only where there is a door to go to, at its position as the
        # page's script reads it (Django's stringformat:"f", called here: a
        # filter in the template costs more than the rest of the field).
        "pin": {"lat": stringformat(row["latitude"], "f"), "lng": stringformat(row["longitude"], "f")} if has_door(
            attendance=row["attendance_option"], latitude=row["latitude"], approximate=row["approximate"]) else None,
    }


def _grouped(results: list[dict]) -> list[tuple[str, list[dict]]]:
    """Runs of results under the same heading (in progress, starting soon, ...), in order."""
    return [(heading, list(run)) for heading, run in groupby(results, key=lambda result: result["when"]["heading"])]


# A title names the search: the first words of a long keyword are enough.
TITLE_KEYWORD_CHARACTERS = 60


def _search_title(asked: QueryDict, place_label: str) -> str:
    parts = []
    if asked.get("q"):
        parts.append(f"“{Truncator(asked['q']).chars(TITLE_KEYWORD_CHARACTERS)}”")
    if asked.get("fellowship"):
        parts.append(", ".join(slug.upper() for slug in asked.getlist("fellowship")))
    if asked.get("near"):
        parts.append(_("near %(place)s") % {"place": place_label or asked["near"]})
    elif asked.get("lat"):
        parts.append(_("near you"))
    dates = [value.lower() for value in asked.getlist("starts_on") if value.lower() in STARTS_ON]
    if dates:
        parts.append(", ".join(str(STARTS_ON_WORDS[value]) if value in STARTS_ON_WORDS
                               else str(display.DAY_NAMES[int(value)]) for value in dates))
    if asked.get("day"):
        days = [whole_number(d) for d in asked.getlist("day")]
        parts.append(", ".join(str(display.DAY_NAMES[d]) for d in days if d is not None and 0 <= d < 7))
    if not parts:
        return _("Meetings starting soon")
    return _("Meetings: %(what)s") % {"what": " · ".join(parts)}


def _form_choices(asked: QueryDict, *, zone_name: str, now: dt.datetime) -> dict:
    """What the filters offer: only what the directory has."""
    language, english = _type_names()
    # The viewer's dates (starts_on): today, tomorrow, then the coming weekdays.
    today = schedule.sunday_zero_weekday(now.astimezone(schedule.zone(zone_name)).date())
    days = [("today", _("Today (%(day)s)") % {"day": display.DAY_NAMES[today]}),
            ("tomorrow", _("Tomorrow (%(day)s)") % {"day": display.DAY_NAMES[(today + 1) % 7]})]
    days += [(str((today + n) % 7), str(display.DAY_NAMES[(today + n) % 7])) for n in range(2, 7)]
    chosen_fellowships = asked.getlist("fellowship")
    used_types, spoken, fellowships, regions = _in_the_directory()
    if chosen_fellowships:
        used_types = [t for t in used_types if t.fellowship.slug in chosen_fellowships]
    # One box per code: a code is read in each meeting's own fellowship, so
    # "W" is Women in all three; a code with different meanings says both.
    names_by_code: dict[str, list[str]] = {}
    for t in used_types:
        name = display.type_name(t, language=language, names_by_english=english)
        if name not in names_by_code.setdefault(t.code, []):
            names_by_code[t.code].append(name)
    # Codes two fellowships write differently for one type are one box, any
    # of them (`type=D|DISC`): those of the same words (Discussion: AA's and
    # Al-Anon's D, NA's DISC), and those the vocabularies bridge as the feeds
    # do (NA's Wheelchair, WCHR, is AA's Wheelchair Access, X). A code that
    # means two things (B: AA's Big Book, Al-Anon's Beginners) keeps a box of
    # its own: joined to another, the box would find both. Ticked when a
    # value asked for is one of its codes or all of them.
    label_of = {code: " / ".join(names) for code, names in names_by_code.items()}
    box_of = dict(label_of)
    for t in used_types:
        bridged = meeting_guide_equivalents(fellowship=t.fellowship.slug, code=t.code)
        if (len(bridged) == 1 and bridged[0] != t.code and bridged[0] in label_of
                and len(names_by_code[t.code]) == 1 and len(names_by_code[bridged[0]]) == 1):
            box_of[t.code] = label_of[bridged[0]]
    codes_by_label: dict[str, list[str]] = {}
    for code, label in box_of.items():
        codes_by_label.setdefault(label, []).append(code)
    asked_codes = read_parameter(asked, "type")  # each value's codes, as the search reads them
    types = sorted((("|".join(sorted(codes)), label, any(set(wanted) <= set(codes) for wanted in asked_codes))
                    for label, codes in codes_by_label.items()), key=lambda box: box[1].lower())
    languages = sorted(((code, display.language_name(code)) for code in spoken if code), key=lambda pair: pair[1])
    closed_lines = [display.closed_means(f.slug) for f in fellowships
                    if not chosen_fellowships or f.slug in chosen_fellowships]
    return {
        "fellowships": sorted(((f.slug, display.fellowship_name(f)) for f in fellowships),
                              key=lambda pair: fold(pair[1])),
        "days": days,
        "times_of_day": display.times_of_day(),
        "types": types,
        "languages": languages,
        "regions": regions,
        "open_means": display.OPEN_MEANS,
        "closed_means": closed_lines,
        "chosen": {key: asked.getlist(key) for key in asked},
    }


def _in_the_directory() -> tuple[list[MeetingType], frozenset[str], list[Fellowship], list[tuple[str, str]]]:
    """What the filters offer that the directory decides (the types and
    languages of published meetings, the fellowships, the regions), read once
    per directory version: at a million meetings a page would otherwise join
    every meeting's types."""
    using = MeetingType.objects.all().db  # where public reads go

    def read() -> tuple[list[MeetingType], frozenset[str], list[Fellowship], list[tuple[str, str]]]:
        published = Meeting.objects.using(using).filter(PUBLISHED, types=OuterRef("pk"))
        in_use = MeetingType.objects.using(using).filter(Exists(published))
        used = list(in_use.filter(kind__in=("format", "feature")).exclude(meaning__in=display.OPEN_OR_CLOSED)
                    .select_related("fellowship").order_by("code", "fellowship__slug"))
        spoken = set(in_use.filter(kind="language").values_list("language", flat=True))
        spoken |= set(ServiceBody.objects.using(using).values_list("default_language", flat=True))
        regions = [(r.slug, r.name if r.parent_id is None else f"{r.parent.name} › {r.name}")
                   for r in Region.objects.using(using).select_related("parent").order_by("name")]
        return (used, frozenset(spoken), list(Fellowship.objects.using(using).all()),
                sorted(regions, key=lambda pair: pair[1]))

    return kept_per_version("page_choices", using=using, read=read)


@counts_its_own_compute  # its refusal is the wait page
@require_http_methods(["GET", "HEAD", "POST"])
def meeting_page(request, slug: str):
    """A published meeting, with the correction form (same rules and throttle
    as the API). On the client's computing budget, as the search page is; a
    correction sent (POST) is turned away by the budget only once its own
    throttle refuses it, so what a person wrote within its limit is never lost."""
    return within_compute_budget(request, lambda: _meeting_page(request, slug),
                                 refused=lambda budget: _busy(request, budget),
                                 refuses=request.method in QUESTIONS)


def csrf_failure(request, reason: str = ""):
    """CSRF_FAILURE_VIEW. A correction sent from a meeting page without a
    valid security cookie (the page left open, cookies cleared or refused)
    comes back as it was typed, not sent, with a fresh cookie and a note to
    send it again: nothing typed is lost. A post forged by another site is
    only shown, sent if the person presses the button. Any other refusal is
    Django's own page."""
    match = request.resolver_match  # the view the refused request was for
    if request.method != "POST" or match is None or match.url_name != "meeting-page":
        return django_csrf_failure(request, reason=reason)
    not_sent = _("Not sent yet: this page's security cookie was missing or out of date (the page was open a long "
                 "time, or cookies are blocked). Your correction is below as you wrote it: send it again.")
    return within_compute_budget(request, lambda: _meeting_page(request, match.kwargs["slug"], not_sent=not_sent),
                                 refused=lambda budget: _busy(request, budget))


def _meeting_page(request, slug: str, *, not_sent: str = ""):
    """The page; `not_sent`: why the correction posted was refused before
    the view (csrf_failure): it is shown again as typed, and nothing is done."""
    meeting = (Meeting.objects.published().select_related("fellowship", "service_body", "location")
               .prefetch_related("types").filter(slug=slug).first())
    if meeting is None:
        raise Http404("No published meeting has this address.")
    sent = False
    form = CorrectionForm(request.POST if request.method == "POST" else None)  # an empty one is sent too
    if not_sent:
        form.full_clean()
        form.add_error(None, not_sent)
    elif request.method == "POST":
        if not ChangeRequestThrottle().allow_request(request, None):
            budget = ComputeBudget(request)
            if budget.spent():  # past both limits: no page made again for each refusal
                return _busy(request, budget)
            form.add_error(None, _("Too many corrections from your connection; please try again later."))
        elif form.is_valid():
            try:
                change_request_submit(meeting=meeting, description=form.cleaned_data["description"],
                                      proposed=form.proposed(),
                                      contact_email=form.cleaned_data.get("contact_email") or "",
                                      language=get_language() or "",
                                      # A bot filled the hidden field: answered as usual, nothing kept.
                                      keep=not form.cleaned_data.get("website"))
                sent = True
            except ChangeRequestInvalid as error:
                for key, messages in error.errors.items():
                    field = key.removeprefix("proposed.")
                    form.add_error(field if field in form.fields else None, messages)
        if sent:
            form = CorrectionForm()
    location = meeting.location
    door = location is not None and has_door(attendance=meeting.attendance, latitude=location.latitude,
                                             approximate=location.approximate)
    now = clock.now()
    viewer_zone = schedule.viewer_zone(request.GET.get("tz", ""))
    upcoming = schedule.next_occurrence(day=meeting.day, time=meeting.time, end_time=meeting.end_time,
                                        timezone=meeting.timezone, now=now)
    own_when = viewer_when = ""
    if upcoming:
        own = upcoming[0].astimezone(schedule.zone(meeting.timezone))
        own_when = f"{display.DAY_NAMES[meeting.day]} {display.clock_time(own)}"
        if meeting.end_time:
            # An end equal to the start says nothing: the default length (schedule.wall_end).
            own_when += f"–{display.clock_time(schedule.wall_end(time=meeting.time, end_time=meeting.end_time)[1])}"
        own_when += f" {own.tzname()}"
        if viewer_zone is not None and upcoming[0].astimezone(viewer_zone).utcoffset() != own.utcoffset():
            local = upcoming[0].astimezone(viewer_zone)
            viewer_when = f"{display.DAY_NAMES[schedule.sunday_zero_weekday(local.date())]} " \
                          f"{display.clock_time(local)} {local.tzname()}"
    # What the search's list says of it now: "In progress", "Starts in 25 min" (display.when).
    under_way = schedule.in_progress(day=meeting.day, time=meeting.time, end_time=meeting.end_time,
                                     timezone=meeting.timezone, now=now)
    soon = display.when({"next_start": schedule.utc_text(upcoming[0]) if upcoming else "", "day": meeting.day,
                         "timezone": meeting.timezone, "in_progress": under_way},
                        viewer_zone=viewer_zone or schedule.zone(meeting.timezone), now=now) if upcoming else None
    language, english = _type_names()
    types = [display.type_name(t, language=language, names_by_english=english) for t in meeting.types.all()
             if t.kind != "attendance" and t.meaning not in display.OPEN_OR_CLOSED]
    row_like = {"open_closed": meeting.open_closed or None, "fellowship": meeting.fellowship.slug,
                "attendance_option": meeting.attendance, "conference_provider": meeting.conference_provider,
                "conference_phone": meeting.conference_phone if phone_is_usable(meeting.conference_phone) else ""}
    open_closed, open_closed_means = display.open_closed_text(row_like)
    page_url = request.build_absolute_uri(request.path)
    return render(request, "meetings/meeting.html", {
        "meeting": meeting,
        "fellowship_name": display.fellowship_name(meeting.fellowship),
        "timezone": schedule.published_zone(meeting.timezone),
        "own_when": own_when or _("By appointment"),
        "viewer_when": viewer_when,
        "soon_label": soon.soon_label if soon else "",
        "under_way": under_way,
        "next_start": schedule.utc_text(upcoming[0]) if upcoming else "",
        # The meeting's own UTC offset then, in minutes: the browser adds its own time only when it differs.
        "own_offset": int(upcoming[0].astimezone(schedule.zone(meeting.timezone)).utcoffset().total_seconds() // 60)
                      if upcoming else "",
        "types": types,
        "location": location,
        "has_door": door,
        "directions_url": (
            f"https://www.google.com/maps/dir/?api=1&destination={location.latitude},{location.longitude}"
            if door else ""),
        "osm_url": (f"https://www.openstreetmap.org/?mlat={location.latitude}&mlon={location.longitude}#map=17/"
                    f"{location.latitude}/{location.longitude}" if door else ""),
        "calendarable": calendars.is_calendarable({"day": meeting.day, "time": meeting.time,
                                                   "timezone": meeting.timezone}),
        # The file's words in the page's language (English needs no `lang`).
        "calendar_url": reverse("meeting-calendar", kwargs={"version": "v1", "slug": meeting.slug}) + (
            f"?lang={language}" if language != "en" else ""),
        "join_url": consumer_url(meeting.conference_url) if conference_provider(meeting.conference_url) else "",
        "dial_in": display.dial_in(row_like["conference_phone"]) if row_like["conference_phone"] else None,
        "tel_href": tel_uri(meeting.conference_phone),
        "attendance": display.attendance_text(row_like),
        "open_closed": open_closed,
        "open_closed_means": open_closed_means,
        "search_before": _search_before(request),
        "share_url": page_url,
        "share_mail": "mailto:?" + urlencode({"subject": meeting.name, "body": page_url}, quote_via=quote),
        "form": form,
        "sent": sent,
        "tile_url": settings.MAP_TILE_URL,
        "tile_attribution": settings.MAP_TILE_ATTRIBUTION,
    }, status=403 if not_sent else 400 if request.method == "POST" and not sent and form.errors else 200)


@require_safe
def favicon(request):
    return FileResponse(FAVICON.open("rb"), content_type="image/x-icon")
