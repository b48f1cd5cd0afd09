"""The meeting search and a meeting, over the API: parse the query
(meetings/filters.py), read rows (meetings/selectors.py, meetings/rows.py),
page them. Nothing here decides what matches or what a row holds."""

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from meetings import clock
from meetings.public_answers import public_answer
from meetings.api.serializers import MeetingSerializer, RegionSerializer
from meetings.filters import BY_NAME, PARAMETERS, SearchInvalid, search_parse
from meetings.models import Meeting, Region
from meetings.rows import meeting_rows
from meetings.selectors import SearchResults

SEARCH_PARAMETERS = [
    OpenApiParameter(p.name, {"type": "array", "items": p.schema} if p.many else p.schema,
                     description=p.description, explode=False if p.many else None)
    for p in PARAMETERS
]


def parsed_search(query):
    """The validated search of a request's query, or the 400 naming each bad parameter."""
    try:
        return search_parse(query)
    except SearchInvalid as invalid:
        raise ValidationError(invalid.errors) from None


@extend_schema_view(
    list=extend_schema(summary="Search meetings", parameters=SEARCH_PARAMETERS, description=(
        "Published meetings matching every filter given. With order=soonest they come by next start; else "
        "with a place (lat+lng or near) nearest first with `distance`; with starting_within or starts_on, "
        "soonest first; otherwise by weekday and time. "
        "Bad parameters give 400 with the parameter's name as the key.")),
    retrieve=extend_schema(
        summary="One meeting by slug",
        parameters=[OpenApiParameter("tz", {"type": "string"}, description=BY_NAME["tz"].description),
                    OpenApiParameter("units", {"type": "string", "enum": ["mi", "km"]})],
        responses={200: MeetingSerializer, 404: OpenApiResponse(description="No published meeting has this slug.")}),
)
class MeetingViewSet(viewsets.GenericViewSet):
    serializer_class = MeetingSerializer
    queryset = Meeting.objects.none()
    lookup_field = "slug"
    filter_backends: list = []
    # The same answer for everyone (so it can be shared): no session is read.
    authentication_classes: list = []

    @classmethod
    def as_view(cls, actions=None, **initkwargs):
        # Every row shows the clock (next_start, in_progress): kept for the span it holds for.
        return public_answer(clock_dependent=True, negotiates=True)(super().as_view(actions, **initkwargs))

    def list(self, request, *args, **kwargs):
        rows = self.paginate_queryset(SearchResults(parsed_search(request.query_params)))
        return self.get_paginated_response(rows)

    def retrieve(self, request, *args, slug: str, **kwargs):
        shown = {key: request.query_params[key] for key in ("tz", "units") if key in request.query_params}
        search = parsed_search(shown)
        rows = meeting_rows(Meeting.objects.published().filter(slug=slug), now=clock.now(), unit=search.unit,
                            viewer_zone=search.viewer_zone)
        if not rows:
            # Never kept (public_answers keeps only a 200): it can speak the sender's language.
            raise NotFound(gettext("No published meeting has this slug."))
        return Response(rows[0])


class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = RegionSerializer
    queryset = Region.objects.select_related("parent").order_by("name", "id")
    lookup_field = "slug"
