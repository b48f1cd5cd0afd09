from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from meetings import clock, schedule
from meetings.api.listing import listing_rows, meeting_listing
from meetings.api.page_statements import NearestFirstPages
from meetings.api.serializers import MeetingSerializer, RegionSerializer
from meetings.filters import MeetingFilterSet
from meetings.models import Meeting, Region
from meetings.selectors import meeting_search


@extend_schema_view(
    list=extend_schema(summary="Search meetings", description=(
        "Published meetings matching every filter given. With a place (lat+lng or near) they come nearest "
        "first with `distance`; with starting_within, soonest first; otherwise by weekday and time. "
        "Bad parameters give 400 with the parameter's name as the key.")),
    retrieve=extend_schema(summary="One meeting by slug"),
)
class MeetingViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = MeetingSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = MeetingFilterSet
    lookup_field = "slug"

    def get_queryset(self):
        return Meeting.objects.published().with_listing_relations()

    def list(self, request, *args, **kwargs):
        """The search's fast path (meetings/api/listing.py): the same fields
        as MeetingSerializer, built from plain rows. MeetingFilterSet validates
        and searches, as DjangoFilterBackend would have it do, minus its
        per-request copies of every filter and form field."""
        form = self.filterset_class.search_form(request.query_params)
        if not form.is_valid():
            raise translate_validation(form.errors)
        point, radius_m, filters = self.filterset_class.search_arguments(form.cleaned_data)
        # Nearest-first pages are read with lookahead, from a statement compiled once per search shape.
        self.count_by_lookahead = point is not None
        if point is not None:
            pages = NearestFirstPages(using=Meeting.objects.db, point=point, radius_m=radius_m, filters=filters)
        else:
            pages = listing_rows(meeting_search(point=None, radius_m=radius_m, filters=filters))
        rows = self.paginate_queryset(pages)
        context = self.get_serializer_context()
        results = meeting_listing(rows=rows, now=context["now"], unit=context["units"],
                                  viewer_zone=schedule.viewer_zone(request.query_params.get("tz", "")))
        return self.get_paginated_response(results)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["now"] = clock.now()
        context["units"] = (self.request.query_params.get("units") if self.request else None) or "mi"
        return context


class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = RegionSerializer
    queryset = Region.objects.select_related("parent").order_by("name", "id")
    lookup_field = "slug"
