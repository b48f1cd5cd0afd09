import re
from urllib.parse import quote

from django.http import Http404
from django.shortcuts import render

from fellowships.models import Fellowship
from meetings import clock, geo, schedule
from meetings.api.change_views import ChangeRequestThrottle
from meetings.attendance import conference_provider, phone_is_usable
from meetings.change_requests import ChangeRequestInvalid, change_request_submit
from meetings.filters import MeetingFilterSet
from meetings.forms import CorrectionForm
from meetings.models import Meeting
from meetings.schedule import DAY_NAMES


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
        search = MeetingFilterSet(data={**asked, "units": "mi"}, queryset=Meeting.objects.none(), request=request)
        if search.is_valid():
            now = clock.now()
            rows = list(search.qs.with_listing_relations()[: SEARCH_PAGE_SIZE + 1])
            more = len(rows) > SEARCH_PAGE_SIZE
            results = [_search_result(meeting, now) for meeting in rows[:SEARCH_PAGE_SIZE]]
        else:
            errors = {field: " ".join(messages) for field, messages in search.errors.items()}
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


def _search_result(meeting: Meeting, now) -> dict:
    upcoming = schedule.next_start(day=meeting.day, time=meeting.time, timezone=meeting.timezone, now=now)
    distance = getattr(meeting, "distance_m", None)
    location = meeting.location
    return {
        "meeting": meeting,
        # The zone's abbreviation at the next start (PST or PDT), as people read it.
        "when": (f"{DAY_NAMES[meeting.day]} {meeting.time:%H:%M}"
                 f"{' ' + upcoming.astimezone(schedule.zone(meeting.timezone)).tzname() if upcoming else ''}"
                 if meeting.day is not None and meeting.time else "By appointment"),
        "starts_in_minutes": round((upcoming - now).total_seconds() / 60) if upcoming else None,
        "distance_mi": round(geo.from_metres(distance, "mi"), 1) if distance is not None else None,
        "place": (location.city or location.formatted_address) if location else "",
        "types": [t.name for t in meeting.types.all()],
    }


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
