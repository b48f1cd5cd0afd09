from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from meetings import clock, geo, schedule
from meetings.api.listing import utc_text
from meetings.models import Meeting, Region


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
    next_end = serializers.SerializerMethodField()
    in_progress = serializers.SerializerMethodField()
    day_local = serializers.SerializerMethodField()
    time_local = serializers.SerializerMethodField()
    next_start_local = serializers.SerializerMethodField()
    distance = serializers.SerializerMethodField()

    class Meta:
        model = Meeting
        fields = [
            "slug", "name", "fellowship", "service_body", "day", "time", "end_time", "timezone", "types",
            "open_closed", "attendance_option", "location", "location_notes", "formatted_address", "address",
            "city", "state", "postal_code", "country", "latitude", "longitude", "approximate", "region",
            "notes", "conference_url", "conference_url_notes", "conference_provider", "conference_phone",
            "conference_phone_notes", "group", "url", "updated", "next_start", "next_end", "in_progress",
            "day_local", "time_local", "next_start_local", "distance",
        ]

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
        found = self._next_occurrence(meeting)
        return utc_text(found[0]) if found else None

    def _now(self):
        return self.context.get("now") or clock.now()

    def _next_occurrence(self, meeting):
        return schedule.next_occurrence(day=meeting.day, time=meeting.time, end_time=meeting.end_time,
                                        timezone=meeting.timezone, now=self._now())

    def _viewer_next_start(self, meeting):
        """The next start in the viewer's zone (the `tz` parameter), or None."""
        request = self.context.get("request")
        name = request.query_params.get("tz") if request is not None else None
        viewer_zone = schedule.viewer_zone(name) if name else None
        found = self._next_occurrence(meeting) if viewer_zone else None
        return found[0].astimezone(viewer_zone) if found else None

    @extend_schema_field({"type": "string", "format": "date-time", "nullable": True,
                          "description": "End of the occurrence starting at next_start, UTC."})
    def get_next_end(self, meeting) -> str | None:
        found = self._next_occurrence(meeting)
        return utc_text(found[1]) if found else None

    @extend_schema_field({"type": "boolean", "description": "Under way now: false for by-appointment and "
                                                            "zone-less meetings."})
    def get_in_progress(self, meeting) -> bool:
        return schedule.in_progress(day=meeting.day, time=meeting.time, end_time=meeting.end_time,
                                    timezone=meeting.timezone, now=self._now())

    @extend_schema_field({"type": "integer", "nullable": True,
                          "description": "Weekday of the next start in the viewer's zone (tz), Sunday = 0."})
    def get_day_local(self, meeting) -> int | None:
        local = self._viewer_next_start(meeting)
        return schedule.sunday_zero_weekday(local.date()) if local else None

    @extend_schema_field({"type": "string", "nullable": True,
                          "description": "HH:MM of the next start in the viewer's zone (tz)."})
    def get_time_local(self, meeting) -> str | None:
        local = self._viewer_next_start(meeting)
        return local.strftime("%H:%M") if local else None

    @extend_schema_field({"type": "string", "format": "date-time", "nullable": True,
                          "description": "The next start with the viewer's offset (tz)."})
    def get_next_start_local(self, meeting) -> str | None:
        local = self._viewer_next_start(meeting)
        return local.isoformat() if local else None

    @extend_schema_field({"type": "number", "nullable": True,
                          "description": "Distance from the searched place in the requested units (geo searches)."})
    def get_distance(self, meeting) -> float | None:
        metres = getattr(meeting, "distance_m", None)
        if metres is None:
            return None
        return round(geo.from_metres(metres, self.context.get("units", "mi")), 2)
