"""What other apps and calendars read: the Meeting Guide feed and .ics files.
Thin: parse the query as the meeting search does (meetings/filters.py), read
with the search (meetings/selectors.py), call meetings.publish or
meetings.calendars, shape the HTTP response."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, ngettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from meetings import calendars, clock
from meetings.public_answers import public_answer
from meetings.api.views import SEARCH_PARAMETERS, parsed_search
from meetings.filters import ParameterError, SearchInvalid, choice, search_parse
from meetings.models import Meeting
from meetings.publish.meeting_guide import meeting_guide_json
from meetings.rows import meeting_rows
from meetings.selectors import meeting_search, search_page

# The feed's narrowing: the search's own parameters, so they mean the same thing.
FEED_PARAMETERS = ("fellowship", "service_body", "region")
# A search calendar this big is a mistake (or a scraper); the feed serves bulk.
CALENDAR_MAX_EVENTS = 1000
ICS_TYPE = "text/calendar; charset=utf-8"


class FirstRendererNegotiation(BaseContentNegotiation):
    """Feed readers and calendar apps send all kinds of Accept headers; errors
    are JSON whatever they ask for, successes are the file itself."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class PublishView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = FirstRendererNegotiation
    filter_backends: list = []
    pagination_class = None
    # Calendars carry the time they were made (DTSTAMP) and start from today.
    answer_depends_on_clock = True
    answer_max_age: int | None = None
    answer_headers: dict[str, str] = {}
    answer_params: tuple[str, ...] | None = None  # None: every parameter is part of the answer's key
    answer_max_bytes_setting = "CACHE_ANSWER_MAX_BYTES"

    @classmethod
    def as_view(cls, **initkwargs):
        return public_answer(clock_dependent=cls.answer_depends_on_clock, max_age=cls.answer_max_age,
                             extra_headers=cls.answer_headers, params=cls.answer_params,
                             max_bytes_setting=cls.answer_max_bytes_setting)(super().as_view(**initkwargs))

    def page_url(self, row: dict) -> str:
        """The publisher's page for the meeting (when it is one clean link),
        else ours: the page people read, not the API's JSON."""
        return row["url"] if calendars.clean_uri(row["url"]) else self.request.build_absolute_uri(
            reverse("meeting-page", kwargs={"slug": row["slug"]}))


# The words of a calendar file (its labels and name) in one of the site's
# languages: a page links the file in its own (`?lang=es`); English without.
CALENDAR_LANGUAGES = tuple(code for code, _ in settings.LANGUAGES)
CALENDAR_LANGUAGE = OpenApiParameter(
    "lang", OpenApiTypes.STR, enum=list(CALENDAR_LANGUAGES),
    description="The language of the file's words (Join online, Details...): en (default) or es.")


def calendar_language(request) -> str:
    """The `lang` a calendar is asked in; a 400 naming `lang` for one the site has not."""
    try:
        return choice(CALENDAR_LANGUAGES)(request.query_params.get("lang", "").strip().lower() or "en")
    except ParameterError as error:
        raise ValidationError({"lang": [str(error)]}) from None


# tsml-ui and other sites fetch the feed from visitors' browsers.
OPEN_TO_ALL_ORIGINS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "ETag, Last-Modified"}


def _open_to_all_origins(response):
    for name, value in OPEN_TO_ALL_ORIGINS.items():
        response[name] = value
    return response


# Read by the search (`search_parse`): declared as the search declares them.
_NARROWING_PARAMETERS = [parameter for parameter in SEARCH_PARAMETERS if parameter.name in FEED_PARAMETERS]


# The feed is a bare array of Meeting Guide records (its specification's, not ours to restate).
MEETING_GUIDE_FEED = {"type": "array", "items": {"type": "object", "additionalProperties": True}}


class MeetingGuideFeedView(PublishView):
    answer_depends_on_clock = False
    answer_max_age = 300
    answer_headers = OPEN_TO_ALL_ORIGINS
    # The whole feed is what apps ask for most, and far larger than a search:
    # kept like any answer, up to its own size limit, whatever else the URL says.
    answer_params = FEED_PARAMETERS
    answer_max_bytes_setting = "CACHE_FEED_MAX_BYTES"

    @extend_schema(
        summary="Meeting Guide feed",
        operation_id="feed_meeting_guide",
        description=(
            "Every published meeting as a bare JSON array in the Meeting Guide format, readable unchanged by "
            "tsml-ui and the Meeting Guide app; optionally narrowed by fellowship, service body or region. "
            "CORS is open; send If-None-Match or If-Modified-Since to get 304 when nothing changed. "
            "By-appointment meetings carry no day, time or end_time; meetings without a valid time zone "
            "no timezone; online-only meetings the principal city of their zone, approximate."
        ),
        parameters=_NARROWING_PARAMETERS,
        responses={200: OpenApiResponse(MEETING_GUIDE_FEED, description="A JSON array of meetings."),
                   304: OpenApiResponse(description="Not modified."), 400: OpenApiTypes.OBJECT},
    )
    def get(self, request, version: str):
        query = request.GET.copy()
        for key in set(query) - set(FEED_PARAMETERS):
            del query[key]
        try:
            search = search_parse(query)
        except SearchInvalid as invalid:
            return _open_to_all_origins(Response(invalid.errors, status=400))
        meetings = meeting_search(point=None, radius_m=None, filters=search.filters).meetings
        response = StreamingHttpResponse(meeting_guide_json(meetings=meetings), content_type="application/json")
        return _open_to_all_origins(response)


class MeetingCalendarView(PublishView):
    @extend_schema(
        summary="One meeting as a calendar file",
        operation_id="meeting_calendar",
        description="An iCalendar file with the meeting as a weekly event in its own time zone. By-appointment "
                    "meetings and meetings without a time zone have none (404).",
        parameters=[CALENDAR_LANGUAGE],
        responses={(200, "text/calendar"): OpenApiTypes.STR, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )
    def get(self, request, version: str, slug: str):
        language = calendar_language(request)
        now = clock.now()
        rows = meeting_rows(Meeting.objects.published().filter(slug=slug), now=now)
        if not rows:
            return Response({"detail": gettext("No published meeting has this slug.")}, status=404)
        if not calendars.is_calendarable(rows[0]):
            return Response({"detail": gettext("This meeting has no weekly time in a known time zone (by "
                                               "appointment, or no time zone): there is nothing to put in a "
                                               "calendar.")}, status=404)
        with translation.override(language):
            body = calendars.meetings_calendar(rows=rows, name=rows[0]["name"], page_url_for=self.page_url,
                                               uid_domain=request.get_host(), now=now)
        return HttpResponse(body, content_type=ICS_TYPE,
                            headers={"Content-Disposition": f'inline; filename="{rows[0]["slug"]}.ics"'})


class SearchCalendarView(PublishView):
    @extend_schema(
        summary="A meeting search as a calendar file",
        operation_id="meeting_search_calendar",
        parameters=[*SEARCH_PARAMETERS, CALENDAR_LANGUAGE],
        description=(
            "The meetings a search with the same parameters as /api/v1/meetings/ finds, as weekly events in "
            f"their own time zones. At most {CALENDAR_MAX_EVENTS} meetings: a larger search is a 400 asking to "
            "narrow it. By-appointment meetings and meetings without a time zone are left out."
        ),
        responses={(200, "text/calendar"): OpenApiTypes.STR, 400: OpenApiTypes.OBJECT},
    )
    def get(self, request, version: str):
        language = calendar_language(request)
        search = parsed_search(request.query_params)
        rows = search_page(search, window=slice(0, CALENDAR_MAX_EVENTS + 1))
        if len(rows) > CALENDAR_MAX_EVENTS:
            return Response({"detail": ngettext(
                "More than %(count)d meeting matches: narrow the search (for everything, read the Meeting Guide "
                "feed).", "More than %(count)d meetings match: narrow the search (for everything, read the "
                "Meeting Guide feed).", CALENDAR_MAX_EVENTS) % {"count": CALENDAR_MAX_EVENTS}}, status=400)
        with translation.override(language):
            body = calendars.meetings_calendar(rows=rows, name=gettext("Meetings"), page_url_for=self.page_url,
                                               uid_domain=request.get_host(), now=search.now)
        return HttpResponse(body, content_type=ICS_TYPE,
                            headers={"Content-Disposition": 'inline; filename="meetings.ics"'})
