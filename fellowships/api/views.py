import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets

from fellowships.api.serializers import FellowshipSerializer, MeetingTypeSerializer, ServiceBodySerializer
from fellowships.models import Fellowship, MeetingType, ServiceBody
from meetingfinder.public_messages import PublicForm


class FellowshipViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = FellowshipSerializer
    queryset = Fellowship.objects.order_by("name", "id")
    lookup_field = "slug"


class MeetingTypeFilterSet(django_filters.FilterSet):
    fellowship = django_filters.ModelChoiceFilter(
        queryset=Fellowship.objects.all(), to_field_name="slug", help_text="Only this fellowship's vocabulary."
    )
    kind = django_filters.ChoiceFilter(choices=MeetingType.Kind.choices)

    class Meta:
        model = MeetingType
        fields = ["fellowship", "kind"]
        form = PublicForm  # a bad value is told in the public's words


# The id stays documented as an integer (lookup_value_regex would make it a string with a pattern).
@extend_schema_view(retrieve=extend_schema(parameters=[OpenApiParameter(
    "id", OpenApiTypes.INT, OpenApiParameter.PATH,
    description="A unique integer value identifying this meeting type.")]))
class MeetingTypeViewSet(viewsets.ReadOnlyModelViewSet):
    """Type codes per fellowship: a code only means something with its fellowship."""

    serializer_class = MeetingTypeSerializer
    queryset = MeetingType.objects.select_related("fellowship").order_by("fellowship__slug", "code", "id")
    filter_backends = [DjangoFilterBackend]
    filterset_class = MeetingTypeFilterSet
    # ASCII digits: int() also reads "١٢", "+12", " 12" and "1_2" as 12, each another address of one type.
    lookup_value_regex = "[0-9]+"


class ServiceBodyFilterSet(django_filters.FilterSet):
    fellowship = django_filters.ModelChoiceFilter(queryset=Fellowship.objects.all(), to_field_name="slug")

    class Meta:
        model = ServiceBody
        fields = ["fellowship"]
        form = PublicForm


class ServiceBodyViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ServiceBodySerializer
    queryset = ServiceBody.objects.select_related("fellowship", "parent").order_by("name", "id")
    filter_backends = [DjangoFilterBackend]
    filterset_class = ServiceBodyFilterSet
    lookup_field = "slug"
