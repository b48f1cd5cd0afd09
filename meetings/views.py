from django.shortcuts import render

from fellowships.models import Fellowship
from meetings.schedule import DAY_NAMES


def home(request):
    """The front page: a search form over the API, and where to go next."""
    return render(request, "meetings/home.html", {
        "fellowships": Fellowship.objects.order_by("name"),
        "days": list(enumerate(DAY_NAMES)),
    })
