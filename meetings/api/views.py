from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from meetings import clock
from meetings.api.serializers import MeetingSerializer, RegionSerializer
from meetings.filters import MeetingFilterSet
from meetings.models import Meeting, Region


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

    def filter_queryset(self, queryset):
        filtered = super().filter_queryset(queryset)
        if self.action == "list":
            # The search builds its own queryset; keep the listing relations.
            filtered = filtered.with_listing_relations()
        return filtered

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["now"] = clock.now()
        context["units"] = self.request.query_params.get("units") or "mi" if self.request else "mi"
        return context


class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = RegionSerializer
    queryset = Region.objects.select_related("parent").order_by("name", "id")
    lookup_field = "slug"
