from rest_framework import serializers

from fellowships.models import Fellowship, MeetingType, ServiceBody


class FellowshipSerializer(serializers.ModelSerializer):
    default_open_closed = serializers.SerializerMethodField()

    class Meta:
        model = Fellowship
        fields = ["slug", "name", "website", "default_open_closed"]

    def get_default_open_closed(self, fellowship) -> str | None:
        return fellowship.default_open_closed or None


class MeetingTypeSerializer(serializers.ModelSerializer):
    fellowship = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = MeetingType
        fields = ["fellowship", "code", "name", "kind", "language", "translations"]


class ServiceBodySerializer(serializers.ModelSerializer):
    fellowship = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    # null for a body at the top of its tree.
    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = ServiceBody
        fields = ["slug", "name", "fellowship", "parent", "timezone", "default_language", "website", "location"]
