import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import viewsets

from fellowships.api.serializers import FellowshipSerializer, MeetingTypeSerializer, ServiceBodySerializer
from fellowships.models import Fellowship, MeetingType, ServiceBody


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


class MeetingTypeViewSet(viewsets.ReadOnlyModelViewSet):
    """Type codes per fellowship: a code only means something with its fellowship."""

    serializer_class = MeetingTypeSerializer
    queryset = MeetingType.objects.select_related("fellowship").order_by("fellowship__slug", "code", "id")
    filter_backends = [DjangoFilterBackend]
    filterset_class = MeetingTypeFilterSet


class ServiceBodyFilterSet(django_filters.FilterSet):
    fellowship = django_filters.ModelChoiceFilter(queryset=Fellowship.objects.all(), to_field_name="slug")

    class Meta:
        model = ServiceBody
        fields = ["fellowship"]


class ServiceBodyViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ServiceBodySerializer
    queryset = ServiceBody.objects.select_related("fellowship", "parent").order_by("name", "id")
    filter_backends = [DjangoFilterBackend]
    filterset_class = ServiceBodyFilterSet
    lookup_field = "slug"
