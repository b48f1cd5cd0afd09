"""Routes of what the directory publishes, under /api/v1/. Included before the
router: its format-suffix routes would read meetings/calendar.ics as a meeting
called "calendar" asked for in the "ics" format."""

from django.urls import path

from meetings.api.publish_views import MeetingCalendarView, MeetingGuideFeedView, SearchCalendarView

urlpatterns = [
    path("feeds/meeting-guide.json", MeetingGuideFeedView.as_view(), name="feed-meeting-guide"),
    path("meetings/calendar.ics", SearchCalendarView.as_view(), name="meeting-search-calendar"),
    path("meetings/<slug:slug>/calendar.ics", MeetingCalendarView.as_view(), name="meeting-calendar"),
]
