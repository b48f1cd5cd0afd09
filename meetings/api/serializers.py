from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from meetings.models import Region
from meetings.rows import ROW_FIELDS, RowField


class RegionSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = Region
        fields = ["slug", "name", "parent"]


@extend_schema_field({"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$", "example": "19:30"})
class _TimeText(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "enum": ["open", "closed"]})
class _OpenClosed(serializers.CharField):
    pass


_KINDS = {
    "string": lambda **kw: serializers.CharField(allow_blank=True, **kw),
    "time": lambda **kw: _TimeText(**kw),
    "open_closed": lambda **kw: _OpenClosed(**kw),
    "integer": lambda **kw: serializers.IntegerField(**kw),
    "number": lambda **kw: serializers.FloatField(**kw),
    "boolean": lambda **kw: serializers.BooleanField(**kw),
    "date-time": lambda **kw: serializers.DateTimeField(**kw),
    "strings": lambda **kw: serializers.ListField(child=serializers.CharField(), **kw),
}


def _declared(field: RowField) -> serializers.Field:
    return _KINDS[field.kind](read_only=True, allow_null=field.nullable, help_text=field.description or None)


# The row of meetings/rows.py, declared for the OpenAPI schema: generated from
# ROW_FIELDS, so the schema cannot list a field the row lacks, or miss one.
MeetingSerializer = type("MeetingSerializer", (serializers.Serializer,), {
    "__doc__": "A meeting: field names are Meeting Guide's wherever it has one.",
    "__module__": __name__,
    **{field.name: _declared(field) for field in ROW_FIELDS},
})
