import re
from urllib.parse import quote

from django.http import Http404
from django.shortcuts import render

from fellowships.models import Fellowship
from meetings.api.change_views import ChangeRequestThrottle
from meetings.attendance import conference_provider, phone_is_usable
from meetings.change_requests import ChangeRequestInvalid, change_request_submit
from meetings.forms import CorrectionForm
from meetings.models import Meeting
from meetings.schedule import DAY_NAMES


def home(request):
    """The front page: a search form over the API, and where to go next."""
    return render(request, "meetings/home.html", {
        "fellowships": Fellowship.objects.order_by("name"),
        "days": list(enumerate(DAY_NAMES)),
    })


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
