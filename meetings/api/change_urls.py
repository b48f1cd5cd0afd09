"""Routes of the curation API under /api/v1/ (included before the router)."""

from django.urls import path

from meetings.api.change_views import ChangeRequestCreateView, ChangesView

urlpatterns = [
    path("change-requests/", ChangeRequestCreateView.as_view(), name="change-request-create"),
    # Read afresh for every request (nothing is kept).
    path("changes/", ChangesView.as_view(), name="changes"),
]
