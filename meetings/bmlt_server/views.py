"""BMLT's client interface, read only: `/client_interface/json/` and
`/client_interface/jsonp/?callback=NAME`, so NA's own clients (crouton, BMLT
widgets, other root servers' importers) can use the directory as their root
server. The switchers parse their parameters (params.py), search through
the directory's one search (`meeting_search`), and write rows (rows.py)."""

from __future__ import annotations

import json
import operator
from functools import reduce

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from fellowships.models import MeetingType, ServiceBody
from meetings import geo
from meetings.bmlt_server import params, rows
from meetings.bmlt_server.formats import FormatTable, ServerFormat, format_record, format_table
from meetings.keywords import has_word, is_published_language
from meetings.models import Meeting
from meetings.selectors import MeetingFilters, meeting_search, nearest_first_values, tree_ids

NUMERIC_SORT_KEYS = {"id_bigint", "service_body_bigint", "weekday_tinyint", "venue_type", "latitude", "longitude",
                     "distance_in_km", "distance_in_miles"}
# venue_type to the attendances written as it (rows.VENUE_TYPES read backwards).
ATTENDANCES = {1: ("in_person", "inactive"), 2: ("online",), 3: ("hybrid",)}
# GetFieldValues of plain columns, read without building records.
FIELD_COLUMNS = {
    "id_bigint": "id", "worldid_mixed": "group", "service_body_bigint": "service_body_id", "time_zone": "timezone",
    "meeting_name": "name", "comments": "notes", "location_text": "location__name",
    "location_info": "location__notes", "location_street": "location__address",
    "location_municipality": "location__city", "location_province": "location__state",
    "location_postal_code_1": "location__postal_code", "location_nation": "location__country",
    "virtual_meeting_link": "conference_url", "phone_meeting_number": "conference_phone",
    "virtual_meeting_additional_info": "conference_url_notes",
}


def _root(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _has_format(server_format: ServerFormat) -> Q:
    """Meetings with one of the format's types, or closed (open) by their
    fellowship's rule when the format says closed (open), or held in its
    language by their service body's when it names one, as their records show."""
    through = Meeting.types.through.objects.filter(meeting_id=OuterRef("pk"), meetingtype_id__in=server_format.type_ids)
    q = Q(Exists(through))
    for meaning in ("closed", "open"):
        fellowships = MeetingType.objects.filter(pk__in=server_format.type_ids, meaning=meaning).values("fellowship")
        if fellowships.exists():
            q |= Q(open_closed=meaning, fellowship__in=fellowships)
    if is_published_language(server_format.language):
        fellowships = MeetingType.objects.filter(pk__in=server_format.type_ids).values("fellowship")
        q |= has_word("language_text", server_format.language) & Q(fellowship__in=fellowships)
    return q


def _body_ids(ids: tuple[int, ...], recursive: bool) -> tuple[int, ...]:
    if not recursive:
        return ids
    return tree_ids(ServiceBody, root_ids=ServiceBody.objects.filter(pk__in=ids).values_list("pk", flat=True))


def _search_ids(search: params.SearchRequest, table: FormatTable) -> tuple[list[int], dict[int, float]]:
    """Ids of the matching meetings in the search's order, and distances."""
    days = tuple(d - 1 for d in search.weekdays.include if 1 <= d <= 7)
    formats = table.by_id()
    if (search.weekdays.include and not days) or any(f not in formats for f in search.formats.include):
        return [], {}  # only weekdays or formats no meeting has: nothing, as on a root server
    bodies = _body_ids(search.services.include, search.recursive)
    if search.services.include and not bodies:
        return [], {}
    # StartsAfter is strictly after (the search's time_after is from): a
    # microsecond past it. Both, after later than before, wrap past midnight
    # as the API's time range does.
    after = search.starts_after.replace(microsecond=1) if search.starts_after else None
    filters = MeetingFilters(days=days, service_body_ids=bodies, keyword=search.search_string,
                             time_after=after, time_before=search.starts_before)
    radius_m = search.radius_km * 1000 if search.radius_km is not None else None
    found = meeting_search(point=search.point, radius_m=radius_m, filters=filters)
    qs = found.meetings
    # What MeetingFilters cannot say in BMLT's words narrows the search's own result.
    if search.weekdays.exclude:
        qs = qs.exclude(day__in=[d - 1 for d in search.weekdays.exclude])
    if search.services.exclude:
        qs = qs.exclude(service_body__in=_body_ids(search.services.exclude, search.recursive))
    if search.venue_types.include:
        qs = qs.filter(attendance__in=[a for v in search.venue_types.include for a in ATTENDANCES.get(v, ())])
    if search.venue_types.exclude:
        qs = qs.exclude(attendance__in=[a for v in search.venue_types.exclude for a in ATTENDANCES.get(v, ())])
    if wanted := [_has_format(formats[f]) for f in search.formats.include]:
        qs = qs.filter(reduce(operator.or_ if search.formats_any else operator.and_, wanted))
    for f in search.formats.exclude:
        if f in formats:
            qs = qs.exclude(_has_format(formats[f]))
    limit = min(search.nearest or settings.BMLT_SERVER_MAX_RESULTS, settings.BMLT_SERVER_MAX_RESULTS)
    if search.point is None:
        return list(qs.values_list("id", flat=True)[:limit]), {}
    # Nearest first as selectors.search_page reads it: the ids under the KNN
    # plan, distances with earthdistance's arithmetic (meetings/geo.py).
    if found.nearest is None:
        nearest = list(qs.values_list("id", "latitude", "longitude")[:limit])
    else:
        nearest = nearest_first_values(found, window=slice(0, limit), meetings=None if qs is found.meetings else qs,
                                       columns='"id", "latitude", "longitude"')
    centre = geo.earth_point(search.point.latitude, search.point.longitude)
    return [pk for pk, _, _ in nearest], {
        pk: geo.earth_distance_m(geo.earth_point(latitude, longitude), centre) for pk, latitude, longitude in nearest}


def _sort_value(record: dict, key: str):
    value = record.get(key, "")
    if key in NUMERIC_SORT_KEYS:
        try:
            return (0, float(value), "")
        except ValueError:
            return (1, 0.0, value)
    return (0, 0.0, value.lower())


def get_search_results(request: HttpRequest):
    search = params.search_request(request.GET)
    table = format_table()
    root = _root(request)
    ids, distances = _search_ids(search, table)
    page_start = (search.page_num - 1) * search.page_size if search.page_size else 0
    page_end = page_start + search.page_size if search.page_size else None
    sort_keys = [key for key in search.sort_keys if key in rows.MEETING_KEYS]
    if not sort_keys:
        ids = ids[page_start:page_end]
    records = rows.meeting_records(ids=ids, distances=distances, table=table, root=root)
    if sort_keys:
        records.sort(key=lambda r: tuple(_sort_value(r, key) for key in sort_keys))
        records = records[page_start:page_end]
    used_ids = {int(i) for r in records for i in r["format_shared_id_list"].split(",") if i}
    keys = list(dict.fromkeys(key for key in search.data_field_keys if key in rows.MEETING_KEYS))
    if keys:
        records = [{key: r[key] for key in keys} for r in records]
    if not search.get_used_formats:
        return records
    return {"meetings": records,
            "formats": [format_record(f, lang="en", root=root) for f in table.formats if f.id in used_ids]}


def get_formats(request: HttpRequest):
    lang = request.GET.get("lang_enum", "en").strip().lower() or "en"
    if not lang.isascii() or not lang.isalpha() or not 2 <= len(lang) <= 3:
        raise params.Malformed("lang_enum", _("lang_enum is a language code such as en or es"))
    table = format_table()
    if lang not in table.languages():
        return []
    keys = set(params.values(request.GET, "key_strings"))
    return [format_record(f, lang=lang, root=_root(request)) for f in table.formats
            if not keys or f.key_string in keys]


def get_field_values(request: HttpRequest):
    key = request.GET.get("meeting_key", "").strip()
    if not key:
        raise params.Malformed("meeting_key", _("meeting_key names a field (GetFieldKeys lists them)"))
    if key not in rows.AVAILABLE_KEYS:
        return []
    meetings = Meeting.objects.published()
    ids_by_value: dict[str, list[int]] = {}
    if key in FIELD_COLUMNS:
        shown = rows.world_id if key == "worldid_mixed" else (lambda value: str(value if value is not None else ""))
        pairs = ((shown(value), pk) for pk, value in meetings.order_by("id").values_list("id", FIELD_COLUMNS[key]))
    else:
        # Fields made from several columns are read from records, at most BMLT_SERVER_MAX_RESULTS of them.
        ids = list(meetings.order_by("id").values_list("id", flat=True)[:settings.BMLT_SERVER_MAX_RESULTS])
        records = rows.meeting_records(ids=ids, distances={}, table=format_table(), root=_root(request))
        pairs = ((r[key], int(r["id_bigint"])) for r in records)
    for value, pk in pairs:
        ids_by_value.setdefault(value, []).append(pk)
    return [{key: value, "ids": ",".join(str(pk) for pk in ids)} for value, ids in sorted(ids_by_value.items())]


SWITCHERS = {
    "GetSearchResults": get_search_results,
    "GetFormats": get_formats,
    "GetServiceBodies": lambda request: rows.service_body_records(),
    "GetFieldKeys": lambda request: [{"key": key, "description": rows.FIELD_DESCRIPTIONS[key]}
                                     for key in rows.AVAILABLE_KEYS],
    "GetFieldValues": get_field_values,
    "GetServerInfo": lambda request: rows.server_info(languages=format_table().languages()),
}


def _answer(request: HttpRequest, *, jsonp: bool) -> HttpResponse:
    try:
        callback = params.callback(request.GET) if jsonp else ""
        switcher = request.GET.get("switcher", "").strip()
        if not switcher:
            raise params.Malformed("switcher", _("switcher names what to read, e.g. GetSearchResults"))
        answer = SWITCHERS[switcher](request) if switcher in SWITCHERS else []
    except params.Malformed as error:
        response = HttpResponse(json.dumps({error.parameter: [error.message]}), status=400,
                                content_type="application/json")
    else:
        body = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
        if jsonp:
            response = HttpResponse(f"/**/{callback}({body});", content_type="application/javascript; charset=utf-8")
        else:
            response = HttpResponse(body, content_type="application/json")
    # Public, read-only data that browsers fetch from other sites' pages.
    response["Access-Control-Allow-Origin"] = "*"
    return response


# Read-only, no session: a write is the 405 require_safe gives, not a CSRF refusal (403) first.
@csrf_exempt
@require_safe
def client_interface_json(request: HttpRequest) -> HttpResponse:
    return _answer(request, jsonp=False)


@csrf_exempt
@require_safe
def client_interface_jsonp(request: HttpRequest) -> HttpResponse:
    return _answer(request, jsonp=True)
