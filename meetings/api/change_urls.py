"""Routes of the curation API under /api/v1/ (included before the router)."""

from django.urls import path, re_path

from meetings.api.change_views import ChangeRequestCreateView, ChangesView

urlpatterns = [
    # The slash optional: APPEND_SLASH would answer a POST without it with a 301 (its
    # body lost when a client follows it), or a 500 under DEBUG.
    re_path(r"^change-requests/?$", ChangeRequestCreateView.as_view(), name="change-request-create"),
    # Read afresh for every request (nothing is kept).
    path("changes/", ChangesView.as_view(), name="changes"),
]
