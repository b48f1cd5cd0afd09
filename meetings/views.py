import datetime as dt
import re
from urllib.parse import quote

from django.http import Http404
from django.shortcuts import render

from fellowships.models import Fellowship, MeetingType, OpenClosed
from meetings import schedule
from meetings.attendance import conference_provider, phone_is_usable
from meetings.change_requests import ChangeRequestInvalid, change_request_submit
from meetings.filters import SearchInvalid, search_parse
from meetings.forms import CorrectionForm
from meetings.models import Attendance, Meeting
from meetings.schedule import DAY_NAMES
from meetings.throttles import ChangeRequestThrottle
from meetings.selectors import search_page


SEARCH_PAGE_SIZE = 50
# What the search page's form sends; anything else in the query is left alone.
SEARCH_PARAMETERS = ("near", "radius", "fellowship", "day", "attendance", "open", "q", "starting_within",
                     "language")


def home(request):
    """The front page and the search page for people: the API's search
    (same parameters, same validation, same order), rendered as a list."""
    asked = {key: value for key, value in request.GET.items() if key in SEARCH_PARAMETERS and value.strip()}
    results, errors, more = None, {}, False
    if asked:
        try:
            search = search_parse({**asked, "units": "mi"})
        except SearchInvalid as invalid:
            errors = {field: " ".join(messages) for field, messages in invalid.errors.items()}
        else:
            rows = search_page(search, window=slice(0, SEARCH_PAGE_SIZE + 1))
            more = len(rows) > SEARCH_PAGE_SIZE
            results = _search_results(rows[:SEARCH_PAGE_SIZE], now=search.now)
    return render(request, "meetings/home.html", {
        "fellowships": Fellowship.objects.order_by("name"),
        "days": list(enumerate(DAY_NAMES)),
        "asked": asked,
        "results": results,
        "errors": errors,
        # Shown under the form; near and radius have their own places beside their fields.
        "other_errors": {field: message for field, message in errors.items() if field not in ("near", "radius")},
        "more": more,
    }, status=400 if errors else 200)


def _search_results(rows: list[dict], *, now) -> list[dict]:
    """The page's rows with what a person reads: the weekday and the zone's
    abbreviation at the next start (PST or PDT), minutes to go, type names."""
    names = dict(((slug, code), name) for slug, code, name in MeetingType.objects.filter(
        code__in={code for row in rows for code in row["types"]}).values_list("fellowship__slug", "code", "name"))
    results = []
    for row in rows:
        upcoming = dt.datetime.fromisoformat(row["next_start"]) if row["next_start"] else None
        zone_name = upcoming.astimezone(schedule.zone(row["timezone"])).tzname() if upcoming else ""
        results.append({
            "row": row,
            "when": (f"{DAY_NAMES[row['day']]} {row['time']} {zone_name}".strip()
                     if row["day"] is not None and row["time"] else "By appointment"),
            "starts_in_minutes": round((upcoming - now).total_seconds() / 60) if upcoming else None,
            "attendance": Attendance(row["attendance_option"]).label,
            "open_closed": OpenClosed(row["open_closed"]).label if row["open_closed"] else "",
            "place": row["city"] or row["formatted_address"],
            "types": [names.get((row["fellowship"], code), code) for code in row["types"]],
        })
    return results


def meeting_page(request, slug: str):
    """A published meeting: details, directions, join link, phone, calendar,
    and the correction form (same rules and throttle as the API)."""
    meeting = (Meeting.objects.published().select_related("fellowship", "service_body", "location")
               .prefetch_related("types").filter(slug=slug).first())
    if meeting is None:
        raise Http404("No published meeting has this address.")
    sent = False
    form = CorrectionForm(request.POST or None)
    if request.method == "POST":
        if not ChangeRequestThrottle().allow_request(request, None):
            form.add_error(None, "Too many corrections from your connection; please try again later.")
        elif form.is_valid():
            if form.cleaned_data.get("website"):
                sent = True  # a bot: thank it, keep nothing
            else:
                try:
                    change_request_submit(meeting=meeting, description=form.cleaned_data["description"],
                                          proposed=form.proposed(),
                                          contact_email=form.cleaned_data.get("contact_email") or "")
                    sent = True
                except ChangeRequestInvalid as error:
                    for key, messages in error.errors.items():
                        field = key.removeprefix("proposed.")
                        form.add_error(field if field in form.fields else None, messages)
        if sent:
            form = CorrectionForm()
    location = meeting.location
    has_door = location is not None and location.latitude is not None and not location.approximate
    return render(request, "meetings/meeting.html", {
        "meeting": meeting,
        "day_name": DAY_NAMES[meeting.day] if meeting.day is not None else "By appointment",
        "types": list(meeting.types.all()),
        "location": location,
        "directions_url": (
            f"https://www.google.com/maps/dir/?api=1&destination={location.latitude},{location.longitude}"
            if has_door else ""),
        "join_url": meeting.conference_url if conference_provider(meeting.conference_url) else "",
        "phone": meeting.conference_phone if phone_is_usable(meeting.conference_phone) else "",
        # Dialable characters only; "#" escaped, or the browser reads it as a fragment.
        "tel_href": "tel:" + quote(re.sub(r"[^0-9+,#*]", "", meeting.conference_phone), safe="+,*"),
        "form": form,
        "sent": sent,
    }, status=400 if request.method == "POST" and not sent and form.errors else 200)
