from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from fellowships.api.views import FellowshipViewSet, MeetingTypeViewSet, ServiceBodyViewSet
from meetings import views as page_views
from meetings.api.views import MeetingViewSet, RegionViewSet
from meetings.throttles import budgeted_routes

router = DefaultRouter()
router.register("meetings", MeetingViewSet, basename="meeting")
router.register("fellowships", FellowshipViewSet, basename="fellowship")
router.register("types", MeetingTypeViewSet, basename="type")
router.register("regions", RegionViewSet, basename="region")
router.register("service-bodies", ServiceBodyViewSet, basename="service-body")

# What anyone may ask, each route on the client's computing budget (meetings/throttles.py).
public_routes = [
    # The pages' language switch (English, Spanish): a POST form, works without JavaScript.
    path("i18n/", include("django.conf.urls.i18n")),
    path("favicon.ico", page_views.favicon, name="favicon"),
    # Before the router, whose format-suffix routes would swallow meetings/calendar.ics.
    re_path(r"^api/(?P<version>v1)/", include("meetings.api.publish_urls")),
    re_path(r"^api/(?P<version>v1)/", include("meetings.api.change_urls")),
    re_path(r"^api/(?P<version>v1)/", include(router.urls)),
    # Generated afresh for each request (~30 ms).
    path("api/schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    # Swagger UI with its start-up script served as a file (?script), not inline:
    # the Content-Security-Policy allows no inline script. Unlike the plain view,
    # this one keeps the site's Cross-Origin-Opener-Policy (same-origin). GET
    # alone: its template is named by its GET, so OPTIONS had none to render (500).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema", http_method_names=["get", "head"]),
         name="docs"),
    # BMLT's client interface, for NA's clients (crouton) that take this site as their root server.
    path("", include("meetings.bmlt_server.urls")),
    path("", include("meetings.urls")),
]

# The admin (curators, signed in) is not on the budget; every public route is, one added later too.
urlpatterns = [path("admin/", admin.site.urls), *budgeted_routes(public_routes)]
