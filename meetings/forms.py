"""Forms curators fill in the admin: they check what a person can get wrong
(a misspelt time zone, another fellowship's type codes, half a coordinate)
and leave deriving and saving to `meetings.services`."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _, ngettext

from fellowships.models import MeetingType, ServiceBody, service_body_fellowship_problem
from meetingfinder.public_messages import PublicForm
from meetings.display import language_name
from meetings.keywords import UNSTATED_LANGUAGE
from meetings.curation import feed_source_listings
from meetings.feeds.locks import PIN
from meetings.models import ADDRESS_PARTS, FeedSource, Location, Meeting, Region
from meetings.schedule import is_schedule, is_valid_zone, is_whole_minute
from meetings.services import feed_source_move_problem


def clean_zone_name(name: str) -> str:
    """Blank, or an IANA zone name; anything else is a form error."""
    name = (name or "").strip()
    if name and not is_valid_zone(name):
        raise ValidationError(
            _("%(name)s is not an IANA time zone name; use one such as America/Los_Angeles."),
            code="invalid_timezone",
            params={"name": repr(name)},
        )
    return name


def clean_whole_minute(value):
    """A meeting's time as the field read it, if it has no seconds
    (`schedule.is_whole_minute`); 19:00:30 is a form error."""
    if not is_whole_minute(value):
        raise ValidationError(_("Give the time as HH:MM: meeting times are whole minutes."), code="seconds")
    return value


class MeetingTypeChoiceField(forms.ModelMultipleChoiceField):
    # The list mixes fellowships (AA's `Y` is not Al-Anon's `Y`), so each
    # choice names its fellowship.
    def label_from_instance(self, obj: MeetingType) -> str:
        return f"{obj.fellowship.slug.upper()} {obj.code}: {obj.name}"


class MeetingAdminForm(forms.ModelForm):
    types = MeetingTypeChoiceField(
        queryset=MeetingType.objects.select_related("fellowship").order_by("fellowship__slug", "code"),
        required=False, label=_("Types"),
        help_text=_("Only types of the meeting's fellowship. Open/closed and attendance follow from them on save."),
    )

    class Meta:
        model = Meeting
        fields = "__all__"
        # The wall clock where the meeting is held, not an instant: the browser's
        # own time input (a phone's picker, HH:MM), not the admin's widget, whose
        # "Now" and "You are 8 hours behind server time" are the server's UTC.
        widgets = {name: forms.TimeInput(attrs={"type": "time"}, format="%H:%M") for name in ("time", "end_time")}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        types_field = self.fields.get("types")
        # Offer only the saved fellowship's types when showing a meeting. A
        # submitted form keeps every type so that a code of another fellowship
        # gets the clear message from `clean` rather than "not a valid choice".
        if types_field is not None and not self.is_bound and self.instance.fellowship_id:
            types_field.queryset = types_field.queryset.filter(fellowship_id=self.instance.fellowship_id)

    def clean_timezone(self) -> str:
        return clean_zone_name(self.cleaned_data.get("timezone", ""))

    def clean_time(self):
        return clean_whole_minute(self.cleaned_data.get("time"))

    def clean_end_time(self):
        return clean_whole_minute(self.cleaned_data.get("end_time"))

    def clean(self) -> dict:
        cleaned = super().clean()
        if not {"day", "time"} & self.errors.keys() and not is_schedule(day=cleaned.get("day"),
                                                                        time=cleaned.get("time")):
            self.add_error("time" if cleaned.get("time") is None else "day", ValidationError(
                _("Give both a day and a start time, or neither for a meeting by appointment."),
                code="day_without_time"))
        fellowship = cleaned.get("fellowship")
        if fellowship is None:
            return cleaned
        foreign = [t for t in cleaned.get("types") or [] if t.fellowship_id != fellowship.pk]
        if foreign:
            codes = ", ".join(sorted(f"{t.fellowship.slug.upper()} {t.code}" for t in foreign))
            self.add_error("types", ValidationError(
                _("These types belong to another fellowship than %(fellowship)s: %(codes)s."),
                code="foreign_types", params={"fellowship": fellowship.name, "codes": codes}))
        service_body = cleaned.get("service_body")
        if service_body is not None and (problem := service_body_fellowship_problem(service_body=service_body,
                                                                                   fellowship=fellowship)):
            self.add_error("service_body", problem)
        return cleaned


class FeedSourceAdminForm(forms.ModelForm):
    """Says before a save what giving the source to another service body
    does (its meetings go with it, `services.feed_source_save`), and refuses
    what that save would."""

    class Meta:
        model = FeedSource
        fields = "__all__"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        service_body = self.fields.get("service_body")
        if service_body is not None and self.instance.pk:
            count = feed_source_listings(source=self.instance).count()
            if count:
                service_body.help_text = ngettext(
                    "Given to another service body, its %(count)d meeting moves with it.",
                    "Given to another service body, its %(count)d meetings move with it.", count) % {"count": count}

    def clean(self) -> dict:
        cleaned = super().clean()
        service_body, fellowship = cleaned.get("service_body"), cleaned.get("fellowship")
        if service_body is None or fellowship is None or service_body_fellowship_problem(
                service_body=service_body, fellowship=fellowship):
            return cleaned  # a missing field, or the model's own check, says why
        if problem := feed_source_move_problem(source=self.instance, service_body=service_body):
            # The form's, not the field's: a field in error leaves the model's
            # own check the stored body beside the new fellowship, a second, wrong error.
            self.add_error(None, problem)
        return cleaned


class TreeAdminForm(forms.ModelForm):
    """A row of a tree (service bodies, regions), whose parent may not be
    itself or below it: every walk down a tree (`selectors.tree_ids`, the
    regions' API) trusts there is no loop."""

    parent_loop_message = ""

    def clean_parent(self):
        """The parent, unless walking up from it reaches this row."""
        parent = self.cleaned_data.get("parent")
        ancestor, seen = parent, set()
        while ancestor is not None and self.instance.pk and ancestor.pk not in seen:
            if ancestor.pk == self.instance.pk:
                raise forms.ValidationError(self.parent_loop_message, code="parent_loop")
            seen.add(ancestor.pk)
            ancestor = ancestor.parent
        return parent


class ServiceBodyAdminForm(TreeAdminForm):
    parent_loop_message = _("A service body cannot sit under itself or one of its own children.")

    class Meta:
        model = ServiceBody
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The default language chosen by name among those the vocabularies'
        # language types name (and the body's own), not typed as a code.
        if "default_language" in self.fields:
            typed = self.fields["default_language"]
            codes = set(MeetingType.objects.filter(kind=MeetingType.Kind.LANGUAGE).exclude(language="")
                        .values_list("language", flat=True))
            codes |= {UNSTATED_LANGUAGE, self.initial.get("default_language") or UNSTATED_LANGUAGE}
            self.fields["default_language"] = forms.ChoiceField(
                label=typed.label, help_text=typed.help_text,
                choices=sorted(((code, language_name(code)) for code in codes), key=lambda pair: pair[1]))

    def clean_timezone(self) -> str:
        name = clean_zone_name(self.cleaned_data.get("timezone", ""))
        if not name:
            raise forms.ValidationError(_("A service body needs a default time zone for its meetings."),
                                        code="required")
        return name


class RegionAdminForm(TreeAdminForm):
    parent_loop_message = _("A region cannot sit under itself or one of its own subregions.")

    class Meta:
        model = Region
        fields = "__all__"


# Fields whose change means the location must be looked up again.
LOCATION_ADDRESS_FIELDS = (*ADDRESS_PARTS, "formatted_address")


class LocationAdminForm(forms.ModelForm):
    class Meta:
        model = Location
        fields = "__all__"

    def clean_timezone(self) -> str:
        return clean_zone_name(self.cleaned_data.get("timezone", ""))

    def clean_latitude(self) -> float | None:
        latitude = self.cleaned_data.get("latitude")
        if latitude is not None and not -90 <= latitude <= 90:
            raise ValidationError(_("Latitude must be between -90 and 90."), code="latitude_range")
        return latitude

    def clean_longitude(self) -> float | None:
        longitude = self.cleaned_data.get("longitude")
        if longitude is not None and not -180 <= longitude <= 180:
            raise ValidationError(_("Longitude must be between -180 and 180."), code="longitude_range")
        return longitude

    def clean(self) -> dict:
        cleaned = super().clean()
        given = [cleaned.get(name) is not None for name in PIN]
        # Both fields passed their own checks but only one was filled in.
        if any(given) and not all(given) and not self.errors.keys() & set(PIN):
            raise ValidationError(
                _("Give both latitude and longitude to place the location by hand, or clear both to geocode its "
                  "address."),
                code="half_coordinate",
            )
        return cleaned

    @property
    def address_changed(self) -> bool:
        return any(name in self.changed_data for name in LOCATION_ADDRESS_FIELDS)

    @property
    def coordinates_changed(self) -> bool:
        return any(name in self.changed_data for name in PIN)


class CorrectionForm(PublicForm):
    """The correction form on a meeting's page: what is wrong, the values
    that should be listed (left empty: unchanged), a contact address. The
    proposed values are then checked like the API's
    (meetings/change_requests.py). Its refusals are in the public's words."""

    description = forms.CharField(label=_("What is wrong?"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    name = forms.CharField(label=_("Meeting name"), required=False, max_length=255)
    day = forms.TypedChoiceField(label=_("Day"), required=False, coerce=int, empty_value=None, choices=[
        ("", _("(unchanged)")), *[(str(number), name) for number, name in Meeting._meta.get_field("day").choices]])
    # type="time": a phone offers its time picker, and every browser sends
    # HH:MM. What else comes is told by the one rule for a proposed time
    # (change_requests), not by a length of Django's, in its "usted" Spanish.
    time = forms.CharField(label=_("Start time (HH:MM)"), required=False,
                           widget=forms.TimeInput(attrs={"type": "time"}))
    end_time = forms.CharField(label=_("End time (HH:MM)"), required=False,
                               widget=forms.TimeInput(attrs={"type": "time"}))
    address = forms.CharField(label=_("Street address"), required=False, max_length=200)
    city = forms.CharField(label=_("City"), required=False, max_length=100)
    conference_url = forms.CharField(label=_("Online meeting link"), required=False, max_length=500)
    conference_phone = forms.CharField(label=_("Dial-in phone"), required=False, max_length=64)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    # Checked by the one rule for it (change_requests.change_request_submit), whose
    # message is the project's own; type="email" gives phones their address keyboard.
    contact_email = forms.CharField(label=_("Your email (optional, to hear back)"), required=False,
                                    widget=forms.EmailInput)
    # Hidden from people by the page's CSS; bots fill it in.
    website = forms.CharField(required=False, label=_("Leave this empty"),
                              widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}))

    PROPOSED = ("name", "day", "time", "end_time", "address", "city", "conference_url", "conference_phone", "notes")

    def proposed(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.PROPOSED
                if self.cleaned_data.get(name) not in (None, "")}
