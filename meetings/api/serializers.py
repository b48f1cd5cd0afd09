from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from meetings import clock, geo, schedule
from meetings.models import Location, Meeting, Region


class RegionSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Region
        fields = ["slug", "name", "parent"]


def _hh_mm(value) -> str | None:
    return value.strftime("%H:%M") if value else None


class MeetingSerializer(serializers.ModelSerializer):
    """Field names are Meeting Guide's wherever it has one."""

    fellowship = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    service_body = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    time = serializers.SerializerMethodField()
    end_time = serializers.SerializerMethodField()
    types = serializers.SerializerMethodField()
    open_closed = serializers.SerializerMethodField()
    attendance_option = serializers.CharField(source="attendance", read_only=True)
    location = serializers.SerializerMethodField()
    location_notes = serializers.SerializerMethodField()
    formatted_address = serializers.SerializerMethodField()
    address = serializers.SerializerMethodField()
    city = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()
    postal_code = serializers.SerializerMethodField()
    country = serializers.SerializerMethodField()
    approximate = serializers.SerializerMethodField()
    region = serializers.SerializerMethodField()
    next_start = serializers.SerializerMethodField()
    distance = serializers.SerializerMethodField()

    class Meta:
        model = Meeting
        fields = [
            "slug", "name", "fellowship", "service_body", "day", "time", "end_time", "timezone", "types",
            "open_closed", "attendance_option", "location", "location_notes", "formatted_address", "address",
            "city", "state", "postal_code", "country", "latitude", "longitude", "approximate", "region",
            "notes", "conference_url", "conference_url_notes", "conference_provider", "conference_phone",
            "conference_phone_notes", "group", "url", "updated", "next_start", "distance",
        ]

    def _location(self, meeting: Meeting) -> Location | None:
        return meeting.location

    def _location_value(self, meeting: Meeting, attribute: str) -> str:
        location = meeting.location
        return getattr(location, attribute) if location else ""

    def get_time(self, meeting) -> str | None:
        return _hh_mm(meeting.time)

    def get_end_time(self, meeting) -> str | None:
        return _hh_mm(meeting.end_time)

    def get_types(self, meeting) -> list[str]:
        return sorted(t.code for t in meeting.types.all())

    @extend_schema_field({"type": "string", "enum": ["open", "closed"], "nullable": True})
    def get_open_closed(self, meeting) -> str | None:
        return meeting.open_closed or None

    def get_location(self, meeting) -> str:
        return self._location_value(meeting, "name")

    def get_location_notes(self, meeting) -> str:
        return self._location_value(meeting, "notes")

    def get_formatted_address(self, meeting) -> str:
        return self._location_value(meeting, "formatted_address")

    def get_address(self, meeting) -> str:
        return self._location_value(meeting, "address")

    def get_city(self, meeting) -> str:
        return self._location_value(meeting, "city")

    def get_state(self, meeting) -> str:
        return self._location_value(meeting, "state")

    def get_postal_code(self, meeting) -> str:
        return self._location_value(meeting, "postal_code")

    def get_country(self, meeting) -> str:
        return self._location_value(meeting, "country")

    def get_approximate(self, meeting) -> bool:
        return meeting.location is None or meeting.location.approximate

    def get_region(self, meeting) -> str | None:
        region = meeting.location.region if meeting.location else None
        return region.slug if region else None

    @extend_schema_field({"type": "string", "format": "date-time", "nullable": True})
    def get_next_start(self, meeting) -> str | None:
        """The next start as a UTC instant (null for by-appointment meetings)."""
        now = self.context.get("now") or clock.now()
        start = schedule.next_start(day=meeting.day, time=meeting.time, timezone=meeting.timezone, now=now)
        return start.isoformat().replace("+00:00", "Z") if start else None

    @extend_schema_field({"type": "number", "nullable": True,
                          "description": "Distance from the searched place in the requested units (geo searches)."})
    def get_distance(self, meeting) -> float | None:
        metres = getattr(meeting, "distance_m", None)
        if metres is None:
            return None
        return round(geo.from_metres(metres, self.context.get("units", "mi")), 2)
