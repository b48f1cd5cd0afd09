"""A meeting as every reader gets it: the one row.

The API's list and detail, the search page and the calendar files all show a
meeting through `meeting_rows`: one `.values_list()` query for a page of
meetings (with their type ids, in the same query on PostgreSQL), then plain
dicts of JSON types. `ROW_FIELDS` is the row's field list, the only one: the API's
OpenAPI schema is generated from it (meetings/api/serializers.py), and
tests/test_rows.py checks real responses against that schema.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import BooleanField, OuterRef, QuerySet, Value
from django.db.models.expressions import RawSQL
from psycopg import ClientCursor, pq

from fellowships.models import Fellowship, MeetingType, ServiceBody
from meetings import geo, schedule
from meetings.directory_version import kept_per_version
from meetings.models import ADDRESS_PARTS, Meeting, Region, address_as_read


@dataclass(frozen=True)
class RowField:
    """One field of the row: where its value comes from and what it is."""

    name: str
    # The `.values_list()` path it is read from; None for fields computed per request.
    path: str | None
    # OpenAPI type: string, integer, number, boolean, date-time, time, strings.
    kind: str
    nullable: bool = False
    description: str = ""
    # The small table whose slug names the id read at `path` (row_names).
    named_by: type | None = None


ROW_FIELDS: tuple[RowField, ...] = (
    RowField("slug", "slug", "string", description="Stable identifier of the meeting."),
    RowField("name", "name", "string"),
    RowField("fellowship", "fellowship_id", "string", named_by=Fellowship,
             description="Fellowship slug (aa, na, al-anon)."),
    RowField("service_body", "service_body_id", "string", named_by=ServiceBody,
             description="Slug of the service body listing it."),
    RowField("day", "day", "integer", nullable=True,
             description="Weekday in the meeting's zone, Sunday = 0; null: by appointment."),
    RowField("time", "time", "time", nullable=True, description="Local start time, HH:MM."),
    RowField("end_time", "end_time", "time", nullable=True, description="Local end time, HH:MM."),
    RowField("timezone", "timezone", "string",
             description="IANA time zone of day and time; empty when the meeting has none (no next start)."),
    RowField("types", None, "strings", description="Type codes of the meeting's fellowship, sorted."),
    RowField("open_closed", "open_closed", "open_closed", nullable=True,
             description="open, closed, or null when neither the types nor the fellowship say."),
    RowField("attendance_option", "attendance", "string",
             description="in_person, hybrid, online or inactive (temporarily closed)."),
    RowField("location", "location__name", "string", description="Venue name."),
    RowField("location_notes", "location__notes", "string"),
    RowField("formatted_address", "location__formatted_address", "string",
             description="The address as people read it: as given, else its parts joined."),
    RowField("address", "location__address", "string"),
    RowField("city", "location__city", "string"),
    RowField("state", "location__state", "string"),
    RowField("postal_code", "location__postal_code", "string"),
    RowField("country", "location__country", "string"),
    RowField("latitude", "latitude", "number", nullable=True),
    RowField("longitude", "longitude", "number", nullable=True),
    RowField("approximate", "location__approximate", "boolean",
             description="The position is only an area (a city for online meetings), not a door."),
    RowField("region", "location__region_id", "string", nullable=True, named_by=Region),
    RowField("notes", "notes", "string"),
    RowField("conference_url", "conference_url", "string"),
    RowField("conference_url_notes", "conference_url_notes", "string"),
    RowField("conference_provider", "conference_provider", "string",
             description="Zoom, Google Meet... derived from conference_url; empty when not a usable link."),
    RowField("conference_phone", "conference_phone", "string"),
    RowField("conference_phone_notes", "conference_phone_notes", "string"),
    RowField("group", "group", "string"),
    RowField("url", "url", "string", description="The publisher's page for the meeting."),
    RowField("updated", "updated", "date-time", description="Last change, UTC."),
    RowField("next_start", None, "date-time", nullable=True,
             description="The next start as a UTC instant (null for by-appointment meetings)."),
    RowField("next_end", None, "date-time", nullable=True,
             description="End of the occurrence starting at next_start, UTC."),
    RowField("in_progress", None, "boolean",
             description="Under way now: false for by-appointment and zone-less meetings."),
    RowField("day_local", None, "integer", nullable=True,
             description="Weekday of the next start in the viewer's zone (tz), Sunday = 0."),
    RowField("time_local", None, "time", nullable=True, description="HH:MM of the next start in the viewer's zone (tz)."),
    RowField("next_start_local", None, "date-time", nullable=True,
             description="The next start with the viewer's offset (tz)."),
    RowField("distance", None, "number", nullable=True,
             description="Distance from the searched place in the requested units (searches near a place)."),
)

# A row is read as (id, *the paths of these fields, type ids), then made a dict of them by name.
_READ = tuple(f for f in ROW_FIELDS if f.path is not None)
_READ_NAMES = tuple(f.name for f in _READ)
_NAMED = tuple((f.name, f.named_by) for f in ROW_FIELDS if f.named_by is not None)
# Fields of the location that read as "" when a meeting has none.
_NO_LOCATION = {f.name: "" for f in ROW_FIELDS if f.path and f.path.startswith("location__") and f.kind == "string"
                and not f.nullable}


def _row_values(meetings: QuerySet[Meeting]) -> QuerySet:
    """The `.values_list()` query of these meetings' rows; on PostgreSQL each
    row ends with its type ids (an ARRAY subquery evaluated only for the rows
    read), so a page is one query."""
    paths = ["id", *(f.path for f in _READ)]
    if connections[meetings.db].vendor == "postgresql":
        ids = Meeting.types.through.objects.filter(meeting_id=OuterRef("pk")).values("meetingtype_id")
        return meetings.annotate(type_ids=ArraySubquery(ids)).values_list(*paths, "type_ids")
    return meetings.values_list(*paths)


def row_names(*, using: str, again: bool = False) -> dict[str, dict[int | None, str | None]]:
    """What rows name by id, kept per directory version: each type's code
    ("types") and, by the row field naming it, each fellowship's, service
    body's and region's slug (None names none). Every write to these tables
    bumps the version, so a name changed by any process shows at once.
    `again`: a row read since the version was names an id not kept (read
    again). Read in one query, where joining them cost every page's
    statement ~0.4 ms for the types (bench/README.md, round 14) and ~0.1 ms
    for the three others (round 45)."""
    def read() -> dict[str, dict[int | None, str | None]]:
        tables = (("types", MeetingType, "code"), *((name, model, "slug") for name, model in _NAMED))
        names: dict[str, dict[int | None, str | None]] = {name: {None: None} for name, _, _ in tables}
        first, *others = (model.objects.using(using).order_by().annotate(table=Value(name)).values_list(
            "id", field, "table") for name, model, field in tables)
        for pk, text, table in first.union(*others, all=True):
            names[table][pk] = text
        return names

    return kept_per_version("row_names", using=using, read=read, still_good=lambda _: not again)


# A page of a nearest-first search is one statement on PostgreSQL: the page's ids in their order,
# from the search's own query, as the table "page", under the rows of the meetings it names. The
# rows' part is compiled from the ORM's query once per process and database, since building and
# compiling the row's thirty paths is most of a page's time in Python (bench/README.md); it takes
# no parameter, the page's query brings its own. PostgreSQL's driver returns the same Python values
# as the ORM (no converters apply), read in binary by its C loaders, where Django's loader of a
# text timestamp is Python (bench/README.md, round 43).
PAGE_SQL = ('WITH "page" AS MATERIALIZED (SELECT "id", "position" FROM unnest(ARRAY({ids})) '
            'WITH ORDINALITY AS "page"("id", "position")) {rows}')
IN_PAGE_SQL = '"meetings_meeting"."id" IN (SELECT "id" FROM "page")'
# The page's ids as one array, read once (an InitPlan), where a subquery per
# row scanned "page" for each row: 0.22 ms less of a 1.3 ms page at 100,000
# meetings (bench/README.md, round 10).
PAGE_POSITION_SQL = 'array_position((SELECT array_agg("id" ORDER BY "position") FROM "page"), "meetings_meeting"."id")'


@lru_cache(maxsize=8)
def _page_rows_statement(using: str) -> tuple[str, tuple[str, ...]]:
    rows = _row_values(Meeting.objects.using(using).filter(RawSQL(IN_PAGE_SQL, (), output_field=BooleanField()))
                       .order_by(RawSQL(PAGE_POSITION_SQL, ()).asc()))
    sql, params = rows.query.get_compiler(using=using).as_sql()
    if params:
        raise RuntimeError(f"the rows of a page take no parameter, not {params!r}")
    return sql, (*rows.query.values_select, *rows.query.annotation_select)


@dataclass(frozen=True)
class IdsStatement:
    """PostgreSQL: a statement giving meeting ids in an order, one column
    (selectors.ids_statement), for the database `using`."""

    sql: str
    params: tuple
    using: str


def _page_values(ids: QuerySet | IdsStatement, *, run_on: str) -> list[tuple]:
    """The `.values_list()` of the meetings `ids` names (a sliced, ordered
    `values_list("id", flat=True)`, or a statement of them), in its order;
    PostgreSQL's one statement runs on the connection `run_on` (geo.nearest_first_plan)."""
    using = ids.using if isinstance(ids, IdsStatement) else ids.db
    if connections[using].vendor != "postgresql":
        order = {pk: n for n, pk in enumerate(ids)}
        found = _row_values(Meeting.objects.using(using).order_by().filter(pk__in=list(order)))
        return sorted(found, key=lambda value: order[value[0]])
    try:
        sql, params, names = page_statement(ids)
    except EmptyResultSet:  # a condition no meeting can meet (in_progress with none under way)
        return []
    with connections[run_on].cursor() as cursor:
        if not isinstance(cursor.cursor, ClientCursor):  # binding in the client (a pooler's setting) reads text
            cursor.cursor.format = pq.Format.BINARY
        cursor.execute(sql, params)
        return cursor.fetchall()


def page_statement(ids: QuerySet | IdsStatement) -> tuple[str, tuple, tuple[str, ...]]:
    """PostgreSQL: the one statement of a page's rows, its parameters, and its columns' names."""
    if isinstance(ids, IdsStatement):
        ids_sql, ids_params, using = ids.sql, ids.params, ids.using
    else:
        (ids_sql, ids_params), using = ids.query.get_compiler(using=ids.db).as_sql(), ids.db
    rows_sql, names = _page_rows_statement(using)
    return PAGE_SQL.format(ids=ids_sql, rows=rows_sql), tuple(ids_params), names


def meeting_type_ids(meeting_ids: Iterable[int], *, using: str | None = None) -> dict[int, list[int]]:
    """{meeting id: its type ids} of `meeting_ids`, in one query on the
    database `using` (None: the router's); a meeting without types is not in it."""
    found: dict[int, list[int]] = defaultdict(list)
    through = Meeting.types.through.objects.using(using).filter(meeting_id__in=list(meeting_ids))
    for meeting_id, type_id in through.values_list("meeting_id", "meetingtype_id"):
        found[meeting_id].append(type_id)
    return found


def _values(rows: QuerySet | list[tuple], *, using: str) -> list[tuple]:
    """The rows' values, each ending with its type ids (read in a second
    query where the rows' own did not)."""
    values = list(rows)
    if values and len(values[0]) == 1 + len(_READ):
        found = meeting_type_ids([value[0] for value in values], using=using)
        values = [(*value, found.get(value[0], ())) for value in values]
    return values


def _timing(day, time, end_time, zone: str, *, now: dt.datetime, viewer_zone: ZoneInfo | None) -> dict:
    """The fields that depend on the meeting's slot (and the clock)."""
    upcoming = schedule.next_occurrence(day=day, time=time, end_time=end_time, timezone=zone, now=now)
    local = upcoming[0].astimezone(viewer_zone) if upcoming and viewer_zone else None
    return {
        "time": schedule.hh_mm(time),
        "end_time": schedule.hh_mm(end_time),
        "timezone": schedule.published_zone(zone),
        "next_start": schedule.utc_text(upcoming[0]) if upcoming else None,
        "next_end": schedule.utc_text(upcoming[1]) if upcoming else None,
        "in_progress": schedule.in_progress(day=day, time=time, end_time=end_time, timezone=zone, now=now),
        "day_local": schedule.sunday_zero_weekday(local.date()) if local else None,
        "time_local": schedule.hh_mm(local.time()) if local else None,
        "next_start_local": local.isoformat() if local else None,
    }


def meeting_rows(meetings: QuerySet[Meeting], *, now: dt.datetime, unit: geo.Unit = "mi",
                 viewer_zone: ZoneInfo | None = None, centre: geo.Point | None = None) -> list[dict]:
    """The rows of `meetings` (already ordered and sliced), in their order.
    `centre`: the searched place, from which `distance` is measured."""
    return _rows(_row_values(meetings), using=meetings.db, now=now, unit=unit, viewer_zone=viewer_zone,
                 centre=centre)


def meeting_rows_of_page(ids: QuerySet | IdsStatement, *, run_on: str, now: dt.datetime, unit: geo.Unit = "mi",
                         viewer_zone: ZoneInfo | None = None, centre: geo.Point | None = None) -> list[dict]:
    """The rows of the meetings `ids` names (a sliced, ordered
    `values_list("id", flat=True)`, or a statement of them), in its order:
    one statement on PostgreSQL, run on the connection `run_on` (geo.nearest_first_plan)."""
    return _rows(_page_values(ids, run_on=run_on), using=ids.using if isinstance(ids, IdsStatement) else ids.db,
                 now=now, unit=unit, viewer_zone=viewer_zone, centre=centre)


def _rows(rows: QuerySet | list[tuple], *, using: str, now: dt.datetime, unit: geo.Unit,
          viewer_zone: ZoneInfo | None, centre: geo.Point | None) -> list[dict]:
    values = _values(rows, using=using)
    try:
        return _named_rows(values, names=row_names(using=using) if values else {}, now=now, unit=unit,
                           viewer_zone=viewer_zone, centre=centre)
    except KeyError:  # a row written since the version was read names one not kept
        return _named_rows(values, names=row_names(using=using, again=True), now=now, unit=unit,
                           viewer_zone=viewer_zone, centre=centre)


def _named_rows(values: list[tuple], *, names: dict, now: dt.datetime, unit: geo.Unit,
                viewer_zone: ZoneInfo | None, centre: geo.Point | None) -> list[dict]:
    centre_earth = geo.earth_point(centre.latitude, centre.longitude) if centre is not None else None
    # Meetings of a page share a few slots (a weekday, peak hours, one zone).
    timings: dict[tuple, dict] = {}
    rows = []
    for value in values:
        row = dict(zip(_READ_NAMES, value[1:]))
        for name, _ in _NAMED:
            row[name] = names[name][row[name]]
        slot = (row["day"], row["time"], row["end_time"], row["timezone"])
        if row["location"] is None:  # no location (its text is never null)
            row.update(_NO_LOCATION)
        row["approximate"] = row["approximate"] is not False
        # Many feeds send only the parts: every reader of the row reads the address whole
        # (models.address_as_read; one given whole is as given, read without a call per row).
        if not row["formatted_address"]:
            row["formatted_address"] = address_as_read(formatted_address="",
                                                       **{part: row[part] for part in ADDRESS_PARTS})
        # Sorted here, not in SQL: the same order whatever the database's collation.
        row["types"] = sorted([names["types"][type_id] for type_id in value[-1]])
        row["open_closed"] = row["open_closed"] or None
        row["updated"] = schedule.utc_text(row["updated"])
        if slot not in timings:
            timings[slot] = _timing(*slot, now=now, viewer_zone=viewer_zone)
        row.update(timings[slot])
        row["distance"] = None
        if centre_earth is not None and row["latitude"] is not None:
            metres = geo.earth_distance_m(geo.earth_point(row["latitude"], row["longitude"]), centre_earth)
            row["distance"] = round(geo.from_metres(metres, unit), 2)
        rows.append(row)
    return rows
