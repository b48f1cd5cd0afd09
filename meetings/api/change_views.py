"""Public curation endpoints: change requests in, changes out. Thin: the
rules live in meetings/change_requests.py and meetings/history.py."""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from django.db.models import BooleanField, CharField, Q, QuerySet, Value
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import get_language, gettext, gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.utils import html
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from fellowships.models import ServiceBody
from meetingfinder.public_messages import PublicMessages
from meetings import history
from meetings.api.pagination import CappedCountPagination
from meetings.change_requests import PROPOSABLE, ChangeRequestInvalid, change_request_submit, unstorable_text
from meetings.models import Location, Meeting
from meetings.throttles import ChangeRequestThrottle

# Curators' working notes and geocoder errors are not the public's business.
PRIVATE_FIELDS = {"needs_review", "review_reason", "geocode_error", "geocode_status"}


class _OnlyText:
    """DRF's text fields take 12 for "12"; the schema says a string, so a
    number or true is a 400 like any other value of the wrong kind. Text the
    database cannot hold is refused as in a proposed value, in the reader's
    language (DRF's refusal of a lone surrogate has no Spanish)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if problem := unstorable_text(data):
            raise serializers.ValidationError(problem, code="unstorable")
        return super().to_internal_value(data)


# Each refuses in the public's words (meetingfinder/public_messages.py).
class _Slug(PublicMessages, _OnlyText, serializers.SlugField):
    pass


class _Text(PublicMessages, _OnlyText, serializers.CharField):
    pass


class _Values(PublicMessages, serializers.DictField):
    def get_value(self, dictionary):
        # A form's plain `proposed=abc` is no values: refused by the field, where
        # DRF reads only its nested fields (`proposed.time`) and dropped it.
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            return dictionary[self.field_name]
        return super().get_value(dictionary)


@extend_schema_field(OpenApiTypes.EMAIL)
class _Email(PublicMessages, _OnlyText, serializers.CharField):
    """An address, checked by the one rule for it (change_requests.change_request_submit),
    whose message is the project's own in the reader's language."""


class ChangeRequestInSerializer(PublicMessages, serializers.Serializer):
    meeting = _Slug(required=False, help_text="Slug of the meeting to correct.")
    service_body = _Slug(required=False, help_text="For a new meeting: its service body's slug.")
    description = _Text(help_text="What is wrong, or what the new meeting is.")
    proposed = _Values(required=False, help_text=f"Proposed values; fields: {', '.join(PROPOSABLE)}.")
    contact_email = _Email(required=False, allow_blank=True,
                           help_text="Optional: to hear what became of the request.")
    website = _Text(required=False, allow_blank=True, help_text="Leave empty (a trap for bots).")


class ReceivedSerializer(serializers.Serializer):
    status = serializers.CharField()
    detail = serializers.CharField()


class ChangeRequestCreateView(APIView):
    permission_classes = [AllowAny]
    # No session: a public form needs no login and no CSRF cookie.
    authentication_classes: list = []
    throttle_classes = [ChangeRequestThrottle]

    @extend_schema(
        summary="Send a correction or a new meeting",
        operation_id="change_request_create",
        description="Queues a correction of a published meeting (`meeting`), or a new meeting (`service_body`) "
                    "for the curators of its service body. Proposed values are validated like any input; unknown "
                    "fields are refused. Throttled per client (429). No login.",
        request=ChangeRequestInSerializer,
        responses={202: ReceivedSerializer, 400: OpenApiTypes.OBJECT, 429: OpenApiTypes.OBJECT},
    )
    def post(self, request, version: str):
        incoming = ChangeRequestInSerializer(data=request.data)
        if not incoming.is_valid():
            return Response(incoming.errors, status=status.HTTP_400_BAD_REQUEST)
        data = incoming.validated_data
        meeting = service_body = None
        if data.get("meeting"):
            meeting = Meeting.objects.published().select_related("fellowship", "service_body").filter(
                slug=data["meeting"]).first()
            if meeting is None:
                return Response({"meeting": [gettext("No published meeting has this slug.")]}, status=400)
        elif data.get("service_body"):
            service_body = ServiceBody.objects.select_related("fellowship").filter(slug=data["service_body"]).first()
            if service_body is None:
                return Response({"service_body": [gettext("No service body has this slug.")]}, status=400)
        try:
            change_request_submit(meeting=meeting, service_body=service_body, description=data["description"],
                                  proposed=data.get("proposed"), contact_email=data.get("contact_email", ""),
                                  language=get_language() or "",
                                  # A bot filled the hidden field: answered as usual, nothing kept.
                                  keep=not data.get("website"))
        except ChangeRequestInvalid as error:
            return Response(error.errors, status=status.HTTP_400_BAD_REQUEST)
        # A bot's request too, kept nowhere: in the reader's language.
        return Response({"status": "received",
                         "detail": gettext("Thank you: the listing's curators will review your correction.")},
                        status=status.HTTP_202_ACCEPTED)


# A page reads at most this many times its size (and its offset, which counts
# public changes) of each kind's changes from where it starts, public or not:
# past a longer stretch of changes the public may not see it comes back short,
# or empty, with `next` leading on from where it stopped reading (sealed: it
# names no change the public may not see) and `count_capped` true.
READ_PER_RESULT = 10


class ChangePagination(CappedCountPagination):
    """Pages of 100, at most 500, counted as the meeting search counts (at
    most MEETINGS_COUNT_CAP, with `count_capped`). `next` leads on from the
    page's last change (`after`), not by offset: a page deep in the history
    costs what the first does, where an offset is read and skipped row by
    row. Each page reads a bounded stretch: READ_PER_RESULT."""

    default_limit = 100
    max_limit = 500
    # An offset counts public changes, so a page reads ten times its offset too:
    # offsets stop where the search's do (MEETINGS_MAX_OFFSET); `next` reaches any depth.
    too_deep = gettext_lazy("Deeper pages: follow the page's `next` link (after=), which reaches any depth.")

    def paginate_queryset(self, queryset: PublicChanges, request, view=None):
        self.read_to = queryset.read_to(size=(self.get_offset(request) + self.get_limit(request)) * READ_PER_RESULT)
        self.page = super().paginate_queryset(queryset.rows(up_to=self.read_to), request, view)
        if self.read_to is not None:
            self.count_capped = True
        return self.page

    def get_next_link(self) -> str | None:
        if self.page and self.offset + len(self.page) < self.count:
            after = change_position(*self.page[-1])
        elif self.read_to is not None:
            # The page stopped reading there, at a change the public may not
            # see (no public change lies before it): sealed.
            after = sealed_position(*self.read_to[:3])
        else:
            return None
        url = remove_query_param(self.request.build_absolute_uri(), self.offset_query_param)
        return replace_query_param(url, AFTER, after)


class ChangeLocationSerializer(serializers.Serializer):
    object_id = serializers.IntegerField(help_text="The location's id.")
    values = serializers.DictField(help_text="field: value, every field a location change gives.")


class ChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text=(
        "The change's own id (per kind). A place withdrawn (kind location, action deleted) has the id of the "
        "meeting change it follows, negated."))
    kind = serializers.ChoiceField(choices=["meeting", "location"])
    object_id = serializers.IntegerField()
    slug = serializers.CharField(allow_null=True, help_text="The meeting's slug; null for locations.")
    action = serializers.ChoiceField(choices=["created", "changed", "deleted"], help_text=(
        "created: new to the public (made, published, or shown again), every field given; deleted: gone from "
        "it (deleted, unpublished, removed from its feed, or a second source's copy), nothing given; a location "
        "is deleted when no public meeting is there any more, right after the meeting change that left it so."))
    at = serializers.DateTimeField()
    made_by = serializers.ChoiceField(choices=["curator", "import", "change_request", "system"])
    import_run = serializers.IntegerField(allow_null=True)
    change_request = serializers.IntegerField(allow_null=True)
    changes = serializers.DictField(help_text="field: {old, new}; every field, old null, for a creation.")
    location = ChangeLocationSerializer(allow_null=True, help_text=(
        "A meeting new to the public or moved: its location, whole, as it stood then (a location's own "
        "changes show only while a public meeting is there). Null otherwise."))


ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}
MADE_BY = {"user": "curator", "import": "import", "change_request": "change_request", "system": "system"}


# The change a page starts after: its time, kind and id, as `next` writes them.
AFTER = "after"
KINDS = ("location", "meeting")  # in the feed's order at one instant
# A position in the feed's order: time, kind, history id, and whether it is a
# meeting change's place withdrawn (which comes right after that change).
Position = tuple[dt.datetime, str, int, bool]


def change_position(at: dt.datetime, kind: str, history_id: int, withdrawal: bool) -> str:
    if withdrawal:
        kind, history_id = "location", -history_id
    return f"{at.astimezone(dt.timezone.utc).isoformat()},{kind},{history_id}"


# Where a page stopped reading among changes the public may not see: its
# time would tell when someone's home meeting changed. `next` leads on from
# there sealed, encrypted and signed with a key drawn from the site's (AES-SIV:
# one position seals alike, so a kept answer's link stays the same): only
# this server reads it.
SEALED = struct.Struct(">qBq")  # microseconds since 1970, kind, id
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _sealer() -> AESSIV:
    return AESSIV(salted_hmac("meetings.changes.position", b"", algorithm="sha512").digest())


def sealed_position(at: dt.datetime, kind: str, history_id: int) -> str:
    plain = SEALED.pack((at - EPOCH) // dt.timedelta(microseconds=1), KINDS.index(kind), history_id)
    return urlsafe_base64_encode(_sealer().encrypt(plain, None))


def _unsealed(value: str) -> Position:
    try:
        plain = _sealer().decrypt(urlsafe_base64_decode(value), None)
    except InvalidTag as error:
        raise ValueError from error
    if len(plain) != SEALED.size:
        raise ValueError
    micros, kind, history_id = SEALED.unpack(plain)
    # Where a page stopped reading: past the change and any place it withdrew.
    return EPOCH + dt.timedelta(microseconds=micros), KINDS[kind], history_id, True


def parse_after(value: str) -> Position:
    """`change_position`'s text read back, or a sealed position; a 400
    naming `after` otherwise. A place's withdrawal (kind location, its id
    negative) comes right after the meeting change it follows: after that
    change, it is still to come."""
    try:
        if "," not in value:
            return _unsealed(value.strip())
        text, kind, number = value.strip().rsplit(",", 2)
        withdrawal = kind == "location" and number.startswith("-")
        number = number[1:] if withdrawal else number
        moment = parse_datetime(text)
        if (moment is None or timezone.is_naive(moment) or kind not in KINDS
                or not (number.isascii() and number.isdigit() and len(number) <= 18)):
            raise ValueError
        return moment.astimezone(dt.timezone.utc), "meeting" if withdrawal else kind, int(number), withdrawal
    except (ValueError, OverflowError) as error:
        raise serializers.ValidationError(
            {AFTER: [gettext("Give the position a page's next link gives: time,kind,id.")]}) from error


def _read_to(rows: QuerySet, *, kind: str, size: int) -> Position | None:
    """The position of the `size`-th of `rows` (one kind's changes, from
    where a page starts) when more follow it; None when all fit. It skips
    `size` rows of the history's time index, a page's own bound, never its
    depth."""
    last = list(rows.order_by("history_date", "history_id").values_list("history_date", "history_id")
                [size - 1 : size + 1])
    if len(last) < 2:
        return None
    at, history_id = last[0]
    return at, kind, history_id, True


@dataclass
class PublicChanges:
    """The changes after where a page starts, for the paginator: the public's
    rows, up to where the page stops reading. `withdrawals` are the meeting
    rows whose withdrawn place, if any, comes after where the page starts."""
    meetings: QuerySet
    locations: QuerySet
    withdrawals: QuerySet

    def read_to(self, *, size: int) -> Position | None:
        """Where a page that reads at most `size` of each kind's changes stops (None: at the end)."""
        ends = [end for end in (_read_to(self.meetings, kind="meeting", size=size),
                                _read_to(self.locations, kind="location", size=size)) if end is not None]
        return min(ends, default=None)

    def rows(self, *, up_to: Position | None) -> QuerySet:
        """One ordered list of both kinds' public changes and the places
        withdrawn: (when, kind, id, withdrawal) rows, paged in SQL."""
        meetings = history.meeting_rows_seen(self.meetings)
        locations = history.location_rows_seen(self.locations)
        withdrawals = history.meeting_rows_withdrawing(self.withdrawals)
        if up_to is not None:
            # Those not after where it stops (PostgreSQL reads the negation as ranges of the time index).
            meetings = meetings.filter(~_after(up_to, "meeting"))
            locations = locations.filter(~_after(up_to, "location"))
            withdrawals = withdrawals.filter(~_after(up_to, "meeting", withdrawal=True))
        branches = [rows.order_by().annotate(kind=Value(kind, output_field=CharField()),
                                             withdrawal=Value(withdrawal, output_field=BooleanField()))
                    .values_list("history_date", "kind", "history_id", "withdrawal")
                    for rows, kind, withdrawal in ((meetings, "meeting", False), (locations, "location", False),
                                                   (withdrawals, "meeting", True))]
        return branches[0].union(*branches[1:], all=True).order_by("history_date", "kind", "history_id",
                                                                   "withdrawal")


def _after(position: Position, kind: str, *, withdrawal: bool = False) -> Q:
    """The changes of one kind (places withdrawn, with `withdrawal`) that
    come after `position` in the feed's order (time, kind, id, a place
    withdrawn after its meeting's change): a condition each history table's
    index on its time answers."""
    at, after_kind, history_id, after_withdrawal = position
    if kind > after_kind:
        return Q(history_date__gte=at)
    if kind < after_kind:
        return Q(history_date__gt=at)
    # At one instant, a meeting change's withdrawn place comes after the change.
    later = Q(history_id__gte=history_id) if withdrawal > after_withdrawal else Q(history_id__gt=history_id)
    return Q(history_date__gt=at) | (Q(history_date=at) & later)


def parse_since(value: str) -> dt.datetime:
    """ISO 8601 date or date-time, as UTC; a naive one is UTC. In UTC because
    PostgreSQL refuses offsets past 15:59 (+19:00 is valid ISO 8601), and a
    moment that has no UTC equivalent (year 1 at +01:00) is no moment."""
    try:
        moment = parse_datetime(value.strip())
        if moment is None:
            day = parse_date(value.strip())
            if day is None:
                raise ValueError
            moment = dt.datetime.combine(day, dt.time())
        if timezone.is_naive(moment):
            return moment.replace(tzinfo=dt.timezone.utc)
        return moment.astimezone(dt.timezone.utc)
    except (ValueError, OverflowError) as error:
        raise serializers.ValidationError(
            {"since": [gettext("Give an ISO 8601 date or date-time, e.g. 2025-01-31 or 2025-01-31T12:00:00Z.")]}
        ) from error


def _change(record, previous, kind: str, places: dict, *, withdrawal: bool) -> dict | None:
    """A change as the feed gives it, or (`withdrawal`) the place it took
    from the public; none when the public may learn nothing of it."""
    public = history.public_change(record=record, previous=previous)
    if public is None:
        return None
    attribution = history.record_attribution(record)
    place = places.get(record.place_row) if public.place_id is not None else None
    change = {
        "id": record.history_id, "kind": kind, "object_id": record.id, "slug": public.slug,
        "action": ACTIONS[public.history_type], "at": record.history_date,
        "made_by": MADE_BY[attribution.kind], "import_run": attribution.import_run_id,
        "change_request": attribution.change_request_id,
        "changes": {name: values for name, values in public.changes.items() if name not in PRIVATE_FIELDS},
        "location": None if place is None else {
            "object_id": place.id,
            "values": {name: value for name, value in history.record_values(place).items()
                       if name not in PRIVATE_FIELDS},
        },
    }
    if not withdrawal:
        return change
    # The place went with it, as a meeting goes: its id and nothing else,
    # numbered by the meeting change it follows, negated (no location change has it).
    return {**change, "id": -record.history_id, "kind": "location", "object_id": public.place_left,
            "slug": None, "action": "deleted", "changes": {}, "location": None}


@extend_schema_view(get=extend_schema(
    summary="Changes since a moment, for mirrors",
    operation_id="changes_list",
    description="Every change the public could see to a meeting or a location at or after `since` (all "
                "when absent), oldest first: what changed, old and new values, and what made it (a curator, "
                "an import run, an approved change request). Like BMLT's GetChanges.\n\n"
                "The feed withholds what search withholds. A meeting that is not public (never published, "
                "unpublished, removed from its feed, a second source's copy of a meeting listed once) shows "
                "nothing, nor do its changes while so. A meeting that becomes public shows as `created`, "
                "every field new, with its location whole (`location`); one that stops being public shows "
                "as `deleted`, with its slug and nothing else: a mirror removes it. A location's own "
                "changes show only while a public meeting is there (at the time of the change): a place "
                "that serves only meetings the public cannot see is never shown, nor its values from "
                "before a public meeting came, and one its last public meeting leaves (gone, or moved) "
                "shows as `deleted`, with its id and nothing else, right after that meeting's change: a "
                "mirror removes it. Curators' notes and geocoding status are never shown.",
    parameters=[OpenApiParameter("since", OpenApiTypes.DATETIME, description="ISO 8601 date or date-time."),
                OpenApiParameter(AFTER, OpenApiTypes.STR, description=(
                    "The changes after this one (time,kind,id), as `next` links give it: a page deep in the "
                    "history costs what the first does; after a meeting change, the place it withdrew comes "
                    "first. `count` is then of the changes after it. A page "
                    f"reads at most {READ_PER_RESULT} times its size and offset of each kind's changes, public or "
                    "not: past a longer stretch the public may not see, it comes back short or empty, with "
                    "`count_capped` true and `next` leading on from where it stopped, sealed (a position only "
                    "this server reads, naming no change the public may not see)."))],
    responses={200: ChangeSerializer(many=True), 400: OpenApiResponse(OpenApiTypes.OBJECT)},
))
class ChangesView(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = ChangeSerializer
    pagination_class = ChangePagination
    filter_backends: list = []

    def get_queryset(self) -> PublicChanges:
        since = self.request.query_params.get("since")
        meetings = withdrawals = Meeting.history.all()
        locations = Location.history.all()
        if since is not None:
            moment = parse_since(since)
            meetings = withdrawals = meetings.filter(history_date__gte=moment)
            locations = locations.filter(history_date__gte=moment)
        after = self.request.query_params.get(AFTER)
        if after is not None:
            position = parse_after(after)
            withdrawals = withdrawals.filter(_after(position, "meeting", withdrawal=True))
            meetings = meetings.filter(_after(position, "meeting"))
            locations = locations.filter(_after(position, "location"))
        return PublicChanges(meetings=meetings, locations=locations, withdrawals=withdrawals)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        ids = {kind: [history_id for _, of, history_id, _ in page if of == kind] for kind in KINDS}
        meetings = history.meeting_rows_as_public(Meeting.history.all()).in_bulk(ids["meeting"],
                                                                                  field_name="history_id")
        # The page's location rows and the places its meetings bring whole, in one read.
        place_rows = [record.place_row for record in meetings.values() if record.place_row is not None]
        locations = history.location_rows_as_public(Location.history.all()).in_bulk(
            [*ids["location"], *place_rows], field_name="history_id")
        records = {"meeting": meetings,
                   "location": {history_id: locations[history_id] for history_id in ids["location"]}}
        previous = {kind: history.previous_records(list(found.values())) for kind, found in records.items()}
        results = [change for _, kind, history_id, withdrawal in page
                   if (change := _change(records[kind][history_id], previous[kind].get(history_id), kind, locations,
                                         withdrawal=withdrawal)) is not None]
        return self.get_paginated_response(ChangeSerializer(results, many=True).data)
