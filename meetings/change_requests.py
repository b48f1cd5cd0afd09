"""Corrections and new meetings sent by the public, and a curator's decision:
`change_request_submit` validates (each proposed value as its model field
would, plus the directory's rules; unknown fields refused) and queues;
`change_request_approve` applies through the write services, attributed to
the request, the values becoming curated fields so the next import keeps
them; `change_request_reject` records why. Both mail the sender."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.dateparse import parse_time
from django.utils.text import slugify
from django.utils.translation import gettext as _, gettext_lazy

from fellowships.models import Fellowship, MeetingType, ServiceBody
from meetingfinder.public_messages import model_field_refusal
from meetings.feeds.locks import FEED_FIELDS, PLACE, decode
from meetings.feeds.records import LIMITS, MAX_TYPES, SURROGATE_RE, notes_limit
from meetings.curation import change_request_is_theirs
from meetings.history import attributed, encode_value
from meetings.models import ChangeRequest, Location, Meeting, unused_slug
from meetings.schedule import is_schedule, is_valid_zone, is_whole_minute
from meetings.services import location_save, meeting_lock_fields, meeting_save

logger = logging.getLogger(__name__)

# What the public may propose: the meeting's own listing fields (a feed's, but whether it is published)...
MEETING_FIELDS = tuple(name for name in FEED_FIELDS if name != "published")
# ...and its place, under names of their own (a request's `name` is the meeting's).
LOCATION_FIELDS = {"location_name": "name", "address": "address", "city": "city", "state": "state",
                   "postal_code": "postal_code"}
PROPOSABLE = (*MEETING_FIELDS, *LOCATION_FIELDS)
DESCRIPTION_MAX = 5000
# A refusal of unknown fields names the first few, each cut short: the
# names are the sender's, and a key can be a megabyte long.
UNKNOWN_NAMED = 5
NAME_SHOWN = 40


class ChangeRequestInvalid(Exception):
    """Bad input: `errors` maps a field (or `proposed.<field>`) to messages;
    its text is every message, in that order (what the admin shows)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(" ".join(message for messages in errors.values() for message in messages))
        self.errors = errors


class ChangeRequestDecided(Exception):
    """The request was approved or rejected already."""


class ChangeRequestOutOfScope(Exception):
    """The request's meeting (or a new meeting's body) is not the approver's
    to change now: a superuser may have moved it since the request came in."""


def _clean_field(model, name: str, value, *, label: str):
    """`value` cleaned as `model`'s field `name` would clean it; `label` is
    the proposed field's name, for messages."""
    field = model._meta.get_field(name)
    _check_json_kind(field, value)
    if isinstance(value, str):
        value = value.strip()
        # Its column's length; for notes (no length of their own) what an import
        # keeps of a feed's, so a correction holds no more than a feed can.
        limit = notes_limit() if isinstance(field, models.TextField) else field.max_length
        if limit is not None and len(value) > limit:
            raise ValidationError(_("%(field)s: at most %(max)d characters (this has %(length)d).") % {
                "field": label, "max": limit, "length": len(value)})
    if value is None and field.null is False and field.blank:
        value = ""
    try:
        return field.clean(value, None)
    except ValidationError as error:
        raise model_field_refusal(field, error) from None


# The refusals below speak the reader's language (the page's, or the API's
# Accept-Language): each is translated where it is made.
_JSON_KINDS = {bool: gettext_lazy("true or false"), list: gettext_lazy("a list"), dict: gettext_lazy("an object")}


def _check_json_kind(field, value) -> None:
    """A proposed value is one JSON scalar of the field's kind: text for text
    and times, a whole number (or its digits) for the day. Anything else
    (true, ["07:00"], {}, 2500 for a time) is refused before the model's
    own parsing, which expects text and would fail on it."""
    if value is None:
        return
    if isinstance(field, models.IntegerField):
        # Thousands of digits are no day either, and the model's message would repeat them whole.
        if isinstance(value, bool) or not isinstance(value, (int, str)) or (
                len(value.strip()) > 20 if isinstance(value, str) else abs(value) >= 10 ** 20):
            raise ValidationError(_("Give a whole number."))
        return
    if not isinstance(value, str):
        kind = _JSON_KINDS.get(type(value), gettext_lazy("a number"))
        if isinstance(field, models.TimeField):
            raise ValidationError(_("Give a time as text, HH:MM, not %(kind)s.") % {"kind": kind})
        raise ValidationError(_("Give text, not %(kind)s.") % {"kind": kind})
    if isinstance(field, models.TimeField) and value.strip() and not _reads_as_time(value.strip()):
        # The model's own message ("HH:MM[:ss[.uuuuuu]]") speaks to programmers,
        # and repeats a long value whole. No time is over 20 characters (a
        # feed's reader stops there too).
        raise ValidationError(_("Give a time as HH:MM."))
    if problem := unstorable_text(value):
        raise ValidationError(problem)


def _reads_as_time(text: str) -> bool:
    """Whether the model's TimeField reads `text` as a time of day (what it parses with)."""
    if len(text) > 20:
        return False
    try:
        return parse_time(text) is not None
    except ValueError:  # well formed, no time of day: 25:00
        return False


def unstorable_text(text: str) -> str | None:
    """Why PostgreSQL would refuse `text` (a NUL, or a lone surrogate, which
    JSON may escape but UTF-8 cannot hold), or None: of a proposed value, or
    of any text the API's change requests take (api/change_views.py)."""
    if "\x00" in text:
        return _("Text cannot contain NUL characters.")
    if surrogate := SURROGATE_RE.search(text):
        return _("Text cannot contain lone surrogate characters (U+%(code)s).") % {"code": f"{ord(surrogate[0]):04X}"}
    return None


def _shown(name: str) -> str:
    """A name as a message may repeat it (cut short, a lone surrogate escaped)."""
    if len(name) > NAME_SHOWN:
        name = name[:NAME_SHOWN] + "…"
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _named(names: list[str]) -> str:
    """The first few of `names`, and how many more."""
    named = ", ".join(map(_shown, names[:UNKNOWN_NAMED]))
    if len(names) <= UNKNOWN_NAMED:
        return named
    return _("%(names)s and %(count)d more") % {"names": named, "count": len(names) - UNKNOWN_NAMED}


def proposed_values_clean(*, proposed, fellowship: Fellowship) -> dict:
    """Proposed values validated and encoded for storage (JSON); raises
    `ChangeRequestInvalid` naming every bad field."""
    if not isinstance(proposed, dict):
        raise ChangeRequestInvalid({"proposed": [_("Give the proposed values as an object of field: value.")]})
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(proposed) - set(PROPOSABLE))
    if unknown:
        errors["proposed"] = [_("Unknown field(s): %(unknown)s. Fields you can propose: %(proposable)s.") % {
            "unknown": _named(unknown), "proposable": ", ".join(PROPOSABLE)}]
    cleaned = {}
    for name in [name for name in PROPOSABLE if name in proposed]:
        value = proposed[name]
        try:
            if name == "types":
                cleaned[name] = _clean_type_codes(value, fellowship)
            elif name in LOCATION_FIELDS:
                cleaned[name] = _clean_field(Location, LOCATION_FIELDS[name], value, label=name)
            else:
                value = _clean_field(Meeting, name, value, label=name)
                if name in ("time", "end_time") and not is_whole_minute(value):
                    # Kept as HH:MM (encode_value), the seconds would go without a word.
                    raise ValidationError(_("Give a time as HH:MM: meeting times are whole minutes."))
                cleaned[name] = encode_value(value)
                if name == "timezone" and cleaned[name] and not is_valid_zone(cleaned[name]):
                    raise ValidationError(_("%(name)s is not an IANA time zone name, such as "
                                            "America/Los_Angeles.") % {"name": repr(cleaned[name])})
        except ValidationError as error:
            errors[f"proposed.{name}"] = error.messages
    if errors:
        raise ChangeRequestInvalid(errors)
    return cleaned


def _clean_type_codes(value, fellowship: Fellowship) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise ValidationError(_("Give types as a list of codes, e.g. [\"O\", \"D\"]."))
    if problem := next(filter(None, map(unstorable_text, value)), None):
        raise ValidationError(problem)
    codes = sorted({code.strip() for code in value})
    if len(codes) > MAX_TYPES:
        raise ValidationError(_("Give at most %(max)d different type codes.") % {"max": MAX_TYPES})
    known = set(MeetingType.objects.filter(
        fellowship=fellowship, code__in=[code for code in codes if len(code) <= LIMITS["type"]],
    ).values_list("code", flat=True))
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ValidationError(_("Not %(fellowship)s type codes: %(codes)s.") % {
            "fellowship": fellowship.name, "codes": _named(unknown)})
    return codes


def change_request_submit(*, description: str, proposed: dict | None = None, meeting: Meeting | None = None,
                          service_body: ServiceBody | None = None, contact_email: str = "",
                          language: str = "", keep: bool = True) -> ChangeRequest:
    """Queue a correction of `meeting`, or a new meeting for `service_body`;
    `language` is the sender's (the page's or the request's), for the mail
    that tells them the decision. Not `keep` (a bot filled the honeypot):
    checked all the same, refused as anyone's would be, and not saved."""
    errors: dict[str, list[str]] = {}
    description = (description or "").strip()
    if not description:
        errors["description"] = [_("Say what is wrong (or what the new meeting is).")]
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = [_("At most %(max)d characters.") % {"max": DESCRIPTION_MAX}]
    contact_email = (contact_email or "").strip()
    # An address may be 320 characters (the email check's limit); its column holds 254.
    email_max = ChangeRequest._meta.get_field("contact_email").max_length
    if len(contact_email) > email_max:
        errors["contact_email"] = [_("At most %(max)d characters.") % {"max": email_max}]
    elif contact_email:
        try:
            validate_email(contact_email)
        except ValidationError:
            errors["contact_email"] = [_("Enter a valid email address, or leave it empty.")]
    if meeting is None and service_body is None:
        errors["meeting"] = [_("Name the meeting to correct, or the service body of a new meeting.")]
    proposed = {} if proposed is None else proposed
    fellowship = meeting.fellowship if meeting is not None else getattr(service_body, "fellowship", None)
    cleaned = {}
    if fellowship is not None:
        try:
            cleaned = proposed_values_clean(proposed=proposed, fellowship=fellowship)
        except ChangeRequestInvalid as error:
            errors.update(error.errors)
    # Refused for another value, the proposal comes back uncleaned: its name is as given.
    named = cleaned.get("name") or "proposed.name" in errors or (
        not cleaned and isinstance(proposed, dict) and str(proposed.get("name") or "").strip())
    if meeting is None and service_body is not None and not named:
        errors["proposed.name"] = [_("A new meeting needs a name.")]
    if {"day", "time"} & cleaned.keys() and not errors:
        # What the listing would say once applied: a day without a time is no schedule.
        day = cleaned["day"] if "day" in cleaned else getattr(meeting, "day", None)
        time = cleaned["time"] if "time" in cleaned else getattr(meeting, "time", None)
        if not is_schedule(day=day, time=time or None):
            errors["proposed.time" if not time else "proposed.day"] = [
                _("A weekly meeting needs a day and a start time: give both.")]
    if errors:
        raise ChangeRequestInvalid(errors)
    change_request = ChangeRequest(
        meeting=meeting, service_body=meeting.service_body if meeting is not None else service_body,
        description=description, proposed=cleaned, contact_email=contact_email,
        language=language if language in dict(settings.LANGUAGES) else "",
    )
    if keep:
        change_request.save()
    return change_request


def proposed_beside_current(change_request: ChangeRequest) -> list[tuple[str, object, object]]:
    """(field, current value, proposed value) of each proposed field."""
    meeting = change_request.meeting
    location = meeting.location if meeting is not None else None
    rows = []
    for name, value in change_request.proposed.items():
        if meeting is None:
            current = None
        elif name == "types":
            current = sorted(meeting.types.values_list("code", flat=True))
        elif name in LOCATION_FIELDS:
            current = getattr(location, LOCATION_FIELDS[name]) if location is not None else None
        else:
            current = encode_value(getattr(meeting, name))
        rows.append((name, current, value))
    return rows


def _pending(change_request: ChangeRequest) -> ChangeRequest:
    """The request read again, its row held to the decision's end; refused once decided."""
    change_request = ChangeRequest.objects.select_for_update().get(pk=change_request.pk)
    if change_request.status != ChangeRequest.Status.PENDING:
        raise ChangeRequestDecided(_("Request %(id)s was %(status)s already.") % {
            "id": change_request.pk, "status": change_request.get_status_display().lower()})
    return change_request


@transaction.atomic
def change_request_approve(*, change_request: ChangeRequest, user) -> Meeting:
    """Apply the proposed values; they become curated fields of the meeting."""
    change_request = _pending(change_request)
    if change_request.meeting_id is not None:
        # Hold the meeting's row: a move to another body cannot slip in
        # between the check below and the write.
        list(Meeting.objects.select_for_update().filter(pk=change_request.meeting_id).values_list("pk", flat=True))
    # Checked here, not only by the admin's list: the page may have been
    # opened before a superuser moved the meeting to another body.
    if not change_request_is_theirs(user=user, change_request=change_request):
        raise ChangeRequestOutOfScope(
            _("Request %(id)s is about a meeting of a service body that is not one you curate (it may have been "
              "moved since the request was sent); nothing was changed.") % {"id": change_request.pk})
    body = change_request.service_body
    meeting = change_request.meeting
    proposed = change_request.proposed
    with attributed(change_request=change_request):
        if meeting is None:
            slug = unused_slug(model=Meeting, base=slugify(proposed["name"])[:50].strip("-") or "meeting")
            meeting = Meeting(fellowship=body.fellowship, service_body=body, slug=slug, source="change-request",
                              name=proposed["name"])
        if {"day", "time"} & proposed.keys():
            # Checked when it was sent, against the meeting as it was then.
            day = decode("day", proposed["day"]) if "day" in proposed else meeting.day
            time = decode("time", proposed["time"]) if "time" in proposed else meeting.time
            if not is_schedule(day=day, time=time):
                raise ChangeRequestInvalid({"proposed.time" if time is None else "proposed.day": [_(
                    "Request %(id)s would leave its meeting with a day but no start time, or a start time but no "
                    "day: the meeting changed since the request was sent. Nothing was changed; edit the meeting "
                    "by hand, or reject the request.") % {"id": change_request.pk}]})
        location_values = {LOCATION_FIELDS[n]: v for n, v in proposed.items() if n in LOCATION_FIELDS}
        # A meeting the request gives a place it had none of is at a place of the curator's choosing.
        placed = bool(location_values) and meeting.location is None
        if location_values:
            location = meeting.location or Location(created_by=user)
            # A pin a curator placed by hand stays: the request corrects the
            # address's words, not where the door is.
            hand_placed = location.latitude is not None and (
                location.geocode_status == Location.GeocodeStatus.MANUAL
                or {"latitude", "longitude"} & set(location.locked_fields or ()))
            for name, value in location_values.items():
                setattr(location, name, value)
            location.formatted_address = ""
            if not hand_placed:
                # The address is what people gave; the pin comes from it, so the old one goes.
                location.latitude = location.longitude = None
            location._history_user = user
            meeting.location = location_save(location=location, address_changed=not hand_placed,
                                             coordinates_changed=False)
        for name in MEETING_FIELDS:
            if name in proposed and name != "types":
                setattr(meeting, name, decode(name, proposed[name]))
        types = None
        if "types" in proposed:
            types = list(MeetingType.objects.filter(fellowship_id=meeting.fellowship_id, code__in=proposed["types"]))
        meeting._history_user = user
        meeting = meeting_save(meeting=meeting, types=types)
        curated = [name for name in proposed if name in FEED_FIELDS] + ([PLACE] if placed else [])
        if curated:
            meeting_lock_fields(meeting=meeting, fields=curated)
    change_request.meeting = meeting
    change_request.status = ChangeRequest.Status.APPROVED
    change_request.decided_by = user
    change_request.decided_at = timezone.now()
    change_request.applied = sorted(proposed)
    change_request.save()
    transaction.on_commit(lambda: change_request_notify(change_request=change_request))
    return meeting


@transaction.atomic
def change_request_reject(*, change_request: ChangeRequest, user, reason: str) -> ChangeRequest:
    # Decided first: a decided request's reason is no longer asked (its form shows it read-only).
    change_request = _pending(change_request)
    reason = (reason or "").strip()
    if not reason:
        raise ChangeRequestInvalid({"decision_note": [_("Say why the request is rejected.")]})
    change_request.status = ChangeRequest.Status.REJECTED
    change_request.decision_note = reason
    change_request.decided_by = user
    change_request.decided_at = timezone.now()
    change_request.save()
    transaction.on_commit(lambda: change_request_notify(change_request=change_request))
    return change_request


def change_request_notify(*, change_request: ChangeRequest) -> bool:
    """Tell the sender what became of their request; a mail failure is
    logged, never undoes the decision."""
    if not change_request.contact_email:
        return False
    with translation.override(change_request.language or settings.LANGUAGE_CODE):
        what = change_request.meeting.name if change_request.meeting_id else _("a new meeting")
        if change_request.status == ChangeRequest.Status.APPROVED:
            subject = _("Your correction to %(what)s was applied") % {"what": what}
            body = _("Thank you: the listing now shows what you sent.")
        else:
            subject = _("Your correction to %(what)s was not applied") % {"what": what}
            body = _("The listing's curators did not apply it: %(reason)s") % {"reason": change_request.decision_note}
        if change_request.decision_note and change_request.status == ChangeRequest.Status.APPROVED:
            body += f"\n\n{change_request.decision_note}"
        body += "\n\n" + _("You wrote: %(description)s") % {"description": change_request.description}
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [change_request.contact_email])
    except Exception:  # noqa: BLE001 - any mail backend error
        logger.exception("could not mail change request %s", change_request.pk)
        return False
    return True
