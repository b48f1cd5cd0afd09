"""The meeting search's query parameters, validated in one place: bad input
becomes a 400 naming the parameter, never a 500."""

from __future__ import annotations

import django_filters
from django import forms
from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from fellowships.models import Fellowship, ServiceBody
from meetings import clock, geo, schedule
from meetings.geocoding import GeocodingError, geocode
from meetings.models import Meeting, Region
from meetings.selectors import (
    ATTENDANCE_MATCHES,
    MeetingFilters,
    descendant_ids,
    known_languages,
    known_type_codes,
    meeting_search,
)

MAX_STARTING_WITHIN = 7 * 24 * 60


class ListWidget(forms.TextInput):
    """Reads `day=1,2`, `day=1&day=2` and mixes of both as one list."""

    def value_from_datadict(self, data, files, name):
        values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
        items = [item.strip() for value in values if value for item in str(value).split(",")]
        return [item for item in items if item]


class ListField(forms.Field):
    widget = ListWidget

    def __init__(self, *, item_field: forms.Field | None = None, **kwargs):
        self.item_field = item_field or forms.CharField()
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, value):
        value = value or []
        return [self.item_field.clean(item) for item in value]


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class ListFilter(django_filters.Filter):
    field_class = ListField

    def filter(self, qs, value):  # the whole search happens in MeetingFilterSet.filter_queryset
        return qs


class SearchFilter(django_filters.Filter):
    def filter(self, qs, value):
        return qs


@extend_schema_field(OpenApiTypes.STR)
class CharSearchFilter(SearchFilter):
    field_class = forms.CharField


@extend_schema_field(OpenApiTypes.DOUBLE)
class NumberSearchFilter(SearchFilter):
    field_class = forms.FloatField


@extend_schema_field(OpenApiTypes.INT)
class IntegerSearchFilter(SearchFilter):
    field_class = forms.IntegerField


@extend_schema_field(OpenApiTypes.STR)
class ChoiceSearchFilter(SearchFilter):
    field_class = forms.ChoiceField


@extend_schema_field({"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$", "example": "18:30"})
class TimeSearchFilter(SearchFilter):
    field_class = forms.TimeField


class StrictBooleanField(forms.Field):
    """true/false (or 1/0); anything else is an error rather than quietly false."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError("Use true or false.")


@extend_schema_field(OpenApiTypes.BOOL)
class BooleanSearchFilter(SearchFilter):
    field_class = StrictBooleanField


class SharedFields(dict):
    """A form class's fields, shared by its instances: Django deep-copies
    base_fields into every form it makes (~0.5 ms for the search's nineteen
    fields), so a form may change its own; the search form never does, so
    the copy is this same dict."""

    def __deepcopy__(self, memo):
        return self


class MeetingSearchForm(forms.Form):
    def _clean_fields(self):
        """Django's field cleaning without a BoundField per field and request
        (a third of the form's time): every field here is an enabled plain
        field, whose bound value is its widget's value from the data."""
        for name, field in self.fields.items():
            try:
                self.cleaned_data[name] = field.clean(
                    field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name)))
                if hasattr(self, f"clean_{name}"):
                    self.cleaned_data[name] = getattr(self, f"clean_{name}")()
            except forms.ValidationError as error:
                self.add_error(name, error)

    def clean(self):
        data = super().clean()
        self._clean_point(data)
        self._clean_names(data)
        after, before = data.get("time_after"), data.get("time_before")
        if after and before and after == before:
            self.add_error("time_before", "time_before must differ from time_after.")
        viewer_zone = data.get("tz")
        if viewer_zone and not schedule.is_valid_zone(viewer_zone):
            self.add_error("tz", f"Unknown time zone {viewer_zone!r}: use an IANA name such as America/New_York.")
        return data

    def _clean_point(self, data) -> None:
        lat, lng, near = data.get("lat"), data.get("lng"), data.get("near")
        data["point"] = None
        if (lat is None) != (lng is None) and "lat" not in self.errors and "lng" not in self.errors:
            missing = "lng" if lng is None else "lat"
            self.add_error(missing, f"{missing} is required together with {'lat' if missing == 'lng' else 'lng'}.")
        if near and lat is not None:
            self.add_error("near", "Give either near or lat and lng, not both.")
        elif near:
            try:
                place = geocode(near)
            except GeocodingError:
                self.add_error("near", f"No place is known by {near!r}: try a ZIP code or 'City, ST'.")
            else:
                data["point"] = geo.Point(place.latitude, place.longitude)
        elif lat is not None and lng is not None:
            data["point"] = geo.Point(lat, lng)
        radius = data.get("radius")
        if radius is not None:
            unit = data.get("units") or "mi"
            if not any(k in self.errors for k in ("lat", "lng", "near")) and data["point"] is None:
                self.add_error("radius", "radius needs a place: give near, or lat and lng.")
            elif geo.to_metres(radius, unit) > settings.MEETINGS_MAX_RADIUS_KM * 1000:
                limit = geo.from_metres(settings.MEETINGS_MAX_RADIUS_KM * 1000, unit)
                self.add_error("radius", f"radius may be at most {limit:.0f} {unit}.")

    def _clean_names(self, data) -> None:
        slugs = data.get("fellowship") or []
        fellowships = list(Fellowship.objects.filter(slug__in=slugs)) if slugs else []
        unknown = sorted(set(slugs) - {f.slug for f in fellowships})
        if unknown:
            self.add_error("fellowship", f"Unknown fellowship: {', '.join(unknown)}.")
        data["fellowship_objects"] = tuple(fellowships)
        codes = data.get("type") or []
        if codes:
            missing = sorted(set(codes) - known_type_codes(data["fellowship_objects"]))
            if missing:
                scope = f" in {', '.join(slugs)}" if slugs else ""
                self.add_error("type", f"Unknown type code{'s' if len(missing) > 1 else ''}{scope}: {', '.join(missing)}.")
        languages = [code.lower() for code in data.get("language") or []]
        if languages:
            missing = sorted(set(languages) - known_languages())
            if missing:
                self.add_error("language", f"Unknown language: {', '.join(missing)} (use ISO 639-1 codes such as en, es).")
        data["language"] = languages
        for name, model in (("region", Region), ("service_body", ServiceBody)):
            wanted = data.get(name) or []
            found = list(model.objects.filter(slug__in=wanted)) if wanted else []
            unknown = sorted(set(wanted) - {x.slug for x in found})
            if unknown:
                self.add_error(name, f"Unknown {name.replace('_', ' ')}: {', '.join(unknown)}.")
            data[f"{name}_ids"] = descendant_ids(model, found) if found else ()


class MeetingFilterSet(django_filters.FilterSet):
    lat = NumberSearchFilter(min_value=-90, max_value=90, help_text="Latitude of the place to search around.")
    lng = NumberSearchFilter(min_value=-180, max_value=180, help_text="Longitude of the place to search around.")
    near = CharSearchFilter(max_length=200,
                        help_text="A US ZIP code or 'City, ST' to search around, instead of lat and lng.")
    radius = NumberSearchFilter(min_value=0.01,
                          help_text="Only meetings within this distance of the place.")
    units = ChoiceSearchFilter(choices=[("mi", "miles"), ("km", "kilometres")],
                         help_text="Unit of radius and distance: mi (default) or km.")
    fellowship = ListFilter(help_text="Fellowship slugs (aa, na, al-anon), comma-separated or repeated.")
    day = ListFilter(item_field=forms.IntegerField(min_value=0, max_value=6),
                     help_text="Weekdays, 0 = Sunday ... 6 = Saturday; several allowed.")
    time_after = TimeSearchFilter(help_text="Starting at or after this local time (HH:MM).")
    time_before = TimeSearchFilter(
        help_text="Starting before this local time (HH:MM); earlier than time_after means across midnight.")
    open = ChoiceSearchFilter(choices=[("open", "open"), ("closed", "closed")],
                        help_text="open or closed.")
    attendance = ListFilter(item_field=forms.ChoiceField(choices=[(k, k) for k in ATTENDANCE_MATCHES]),
                            help_text="in_person (includes hybrid), online (includes hybrid), hybrid, inactive.")
    type = ListFilter(help_text="Type codes of the meeting's fellowship; all are required.")
    language = ListFilter(help_text="ISO 639-1 language codes (en, es...); meetings naming none are in their "
                                    "service body's language.")
    region = ListFilter(help_text="Region slugs; sub-regions included.")
    service_body = ListFilter(help_text="Service body slugs; bodies below them included.")
    q = CharSearchFilter(max_length=200,
                     help_text="Keywords, all required, over name, group, notes, location and address.")
    starting_within = IntegerSearchFilter(min_value=1, max_value=MAX_STARTING_WITHIN,
                                   help_text="Meetings starting in the next N minutes, each in its own time zone.")
    in_progress = BooleanSearchFilter(help_text="true: only meetings under way now (started, not ended), each in "
                                                "its own time zone.")
    tz = CharSearchFilter(max_length=64, help_text="The viewer's IANA time zone: each meeting's next start is "
                                                   "also given in it (day_local, time_local, next_start_local).")

    class Meta:
        model = Meeting
        fields: list[str] = []
        form = MeetingSearchForm

    @classmethod
    def form_class(cls) -> type[forms.Form]:
        """The validation form, built once per FilterSet class. django-filter
        deep-copies every filter and builds a new form class with new fields for
        each instance (~1 ms a search); the fields keep no per-request state, so
        its forms share them too (SharedFields)."""
        built = cls.__dict__.get("_built_form_class")
        if built is None:
            built = super(MeetingFilterSet, cls(queryset=Meeting.objects.none())).get_form_class()
            built.base_fields = SharedFields(built.base_fields)
            for name, field in built.base_fields.items():
                if field.disabled or isinstance(field, forms.FileField):
                    raise TypeError(f"{name}: MeetingSearchForm._clean_fields cleans enabled, non-file fields only")
            cls._built_form_class = built
        return built

    def get_form_class(self):
        return self.form_class()

    @classmethod
    def search_form(cls, data) -> forms.Form:
        """A bound validation form for query parameters, without a FilterSet
        instance: the search list's fast path (meetings/api/views.py)."""
        return cls.form_class()(data)

    def filter_queryset(self, queryset):
        return self.search(self.form.cleaned_data)

    @classmethod
    def search(cls, data: dict) -> QuerySet[Meeting]:
        """The search a valid form's cleaned_data asks for."""
        point, radius_m, filters = cls.search_arguments(data)
        return meeting_search(point=point, radius_m=radius_m, filters=filters)

    @classmethod
    def search_arguments(cls, data: dict) -> tuple[geo.Point | None, float | None, MeetingFilters]:
        """(point, radius_m, filters) for meeting_search from a valid form's cleaned_data."""
        filters = MeetingFilters(
            fellowships=data["fellowship_objects"],
            days=tuple(sorted(set(data.get("day") or []))),
            time_after=data.get("time_after"),
            time_before=data.get("time_before"),
            open_closed=data.get("open") or None,
            attendance=tuple(data.get("attendance") or ()),
            type_codes=tuple(data.get("type") or ()),
            languages=tuple(data.get("language") or ()),
            region_ids=data["region_ids"],
            service_body_ids=data["service_body_ids"],
            keyword=(data.get("q") or "").strip(),
            starting_within=data.get("starting_within"),
            in_progress=bool(data.get("in_progress")),
            now=clock.now(),
        )
        radius = data.get("radius")
        radius_m = geo.to_metres(radius, data.get("units") or "mi") if radius is not None else None
        return data["point"], radius_m, filters
