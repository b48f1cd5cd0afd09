"""The admin's dates and times (when an import ran, when a change was asked
or made) in the zone of the curator reading them (curation.curator_time_zone)
rather than the server's UTC, named at the top of every admin page
(templates/admin/base_site.html). A meeting's own day and time are wall times
where it meets, in no zone: they are shown as they are."""

from __future__ import annotations

from functools import cache

from django.urls import reverse
from django.utils import timezone

from meetings.curation import curator_time_zone


@cache
def _admin_root() -> str:
    return reverse("admin:index")


class AdminTimeZoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(_admin_root()) or not request.user.is_authenticated:
            return self.get_response(request)
        with timezone.override(curator_time_zone(user=request.user)):
            return self.get_response(request)
