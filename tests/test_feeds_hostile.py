"""The hostile feed corpus (issue 12): feeds that must not crash the importer.

Every kind is generated here (nothing large is stored). Each one goes through
its parser, where it either raises `FeedUnreadable` or gives a `ParsedFeed`
whose bad records are rejected one by one, and through
`import_feed_text`, where the run ends held, failed or succeeded with its
rejections reported, never left running, and a held or failed run leaves the
source's meetings as they were. Bodies given as bytes are imported as the
text today's fetch hands over for a body without a charset (UTF-8 with
replacement characters): `fetched` says what that text must give when it
differs from the bytes.
"""

from __future__ import annotations

import codecs
import csv as csv_module
import dataclasses
import gzip
import io
import json
import random
import re
import tracemalloc
from dataclasses import dataclass, field

import pytest

from fellowships.models import Fellowship, ServiceBody
from fellowships.services import vocabularies_sync
from meetings.feeds import bmlt
from meetings.feeds.body import decode_body, feed_text, json_depth, read_json
from meetings.feeds.csv import csv_rows, parse_csv
from meetings.feeds.importer import import_feed_text
from meetings.feeds.meeting_guide import load_feed_text, parse_meeting_guide
from meetings.feeds.records import FeedUnreadable, ParsedFeed, clean_text, read_day, read_time, storable_text
from meetings.models import FeedSource, ImportIssue, ImportRun, Meeting

ROOT = "https://bmlt.example.org/main_server"
MB = 1024 * 1024
DEEP = 100_000
HUGE = 5_000_000


# The good records every body carries (already imported before the hostile run) -----

def mg_record(slug: str, **fields) -> dict:
    return {"slug": slug, "name": f"Meeting {slug}", "day": 2, "time": "19:00", "types": ["O", "D"],
            "address": "1 Main St", "city": "Irvine", "state": "CA", "postal_code": "92618",
            "latitude": 33.68, "longitude": -117.82, "timezone": "America/Los_Angeles", **fields}


def bmlt_record(meeting_id: str, **fields) -> dict:
    return {"id_bigint": meeting_id, "meeting_name": f"Meeting {meeting_id}", "weekday_tinyint": "2",
            "start_time": "19:00:00", "duration_time": "01:00:00", "time_zone": "America/New_York",
            "location_street": "1 Main St", "location_municipality": "Auburn", "location_province": "NY",
            "latitude": "42.93", "longitude": "-76.56", "format_shared_id_list": "1", "formats": "O", **fields}


GOOD_MG = [mg_record(f"good-{n}") for n in (1, 2, 3)]
GOOD_BMLT = [bmlt_record(str(n)) for n in (1, 2, 3)]
BMLT_FORMATS = [{"id": "1", "key_string": "O", "world_id": "OPEN"}]
CSV_COLUMNS = ["Slug", "Name", "Day", "Time", "Address", "City", "State", "Notes"]
GOOD_CSV_ROWS = [[f"good-{n}", f"Meeting good-{n}", "Tuesday", "19:00", "1 Main St", "Irvine", "CA", ""]
                 for n in (1, 2, 3)]
GOOD_KEYS = {"meeting-guide": [f"good-{n}" for n in (1, 2, 3)], "csv": [f"good-{n}" for n in (1, 2, 3)],
             "bmlt": [f"{ROOT}#{n}" for n in (1, 2, 3)]}


def mg(*records) -> str:
    return json.dumps([*GOOD_MG, *records])


def bmlt_body(*records, formats=BMLT_FORMATS) -> str:
    return json.dumps({"meetings": [*GOOD_BMLT, *records], "formats": formats})


def csv_body(*rows, columns=CSV_COLUMNS) -> str:
    out = io.StringIO()
    writer = csv_module.writer(out)
    writer.writerow(columns)
    writer.writerows([*GOOD_CSV_ROWS, *rows])
    return out.getvalue()


# The corpus ----------------------------------------------------------------------

@dataclass
class Hostile:
    name: str
    format: str
    body: str | bytes
    outcome: str  # "unreadable", "records" (some rejected or repaired, the rest imported) or "nothing"
    reason: str = ""  # what the unreadable reason says (a regular expression)
    rejected: set = field(default_factory=set)  # (record key, field) of each rejected record
    repaired: set = field(default_factory=set)  # (record key, field) among the repair notes
    fetched: str = ""  # "held" or "succeeded" for the text of a bytes body, when not the same as the bytes
    limits: dict = field(default_factory=dict)  # settings for this kind
    rejected_count: int | None = None  # when more are rejected than `rejected` lists (issues capped)


WRONG_VALUES = {"list": ["x", 1], "object": {"a": "b"}, "boolean": True, "number": 2.5}
MG_FIELDS = ["name", "day", "time", "end_time", "timezone", "types", "notes", "location", "location_notes",
             "address", "city", "state", "postal_code", "country", "formatted_address", "latitude", "longitude",
             "coordinates", "approximate", "region", "sub_region", "regions", "conference_url",
             "conference_url_notes", "conference_phone", "conference_phone_notes", "group", "group_notes", "url",
             "updated"]
BMLT_FIELDS = ["meeting_name", "weekday_tinyint", "start_time", "duration_time", "time_zone", "formats",
               "format_shared_id_list", "lang_enum", "venue_type", "comments", "virtual_meeting_link",
               "virtual_meeting_additional_info", "phone_meeting_number", "worldid_mixed", "published",
               "location_text", "location_info", "location_street", "location_municipality",
               "location_city_subsection", "location_province", "location_postal_code_1", "location_nation",
               "latitude", "longitude", "root_server_uri", "service_body_bigint"]


def _mg_wrong_type_rejects(field_name: str, kind: str) -> bool:
    # A name written as a number is a name ("2.5"), a zone so written is an unknown zone; a day or
    # time of any wrong type is no day or time.
    return field_name in ("day", "time") or (field_name == "name" and kind != "number") or (
        field_name == "timezone" and kind == "number")


def _bmlt_wrong_type_rejects(field_name: str, kind: str) -> bool:
    return field_name in ("weekday_tinyint", "start_time") or (
        field_name == "meeting_name" and kind != "number") or (field_name == "time_zone" and kind == "number")


def mg_wrong_types(kind: str) -> Hostile:
    value = WRONG_VALUES[kind]
    records = [mg_record(f"bad-{name}", **{name: value}) for name in MG_FIELDS]
    rejected = {(f"bad-{name}", name) for name in MG_FIELDS if _mg_wrong_type_rejects(name, kind)}
    # The slug itself of a wrong type: keyed on the content, with a note.
    slug_record = mg_record("x", name="Slug of a wrong type")
    slug_record["slug"] = value if kind != "number" else 2.5
    return Hostile(f"mg-every-field-as-{kind}", "meeting-guide", mg(*records, slug_record), "records",
                   rejected=rejected, repaired={(f"record {len(GOOD_MG) + len(records) + 1}", "slug")})


def bmlt_wrong_types(kind: str) -> Hostile:
    value = WRONG_VALUES[kind]
    records = [bmlt_record(str(100 + n), **{name: value}) for n, name in enumerate(BMLT_FIELDS)]
    rejected = {(f"id {100 + n}", name) for n, name in enumerate(BMLT_FIELDS)
                if _bmlt_wrong_type_rejects(name, kind)}
    id_record = bmlt_record("0", id_bigint=value)
    rejected.add((f"record {len(GOOD_BMLT) + len(records) + 1}", "id_bigint"))
    return Hostile(f"bmlt-every-field-as-{kind}", "bmlt", bmlt_body(*records, id_record), "records",
                   rejected=rejected)


def nested(depth: int, opening: str = "[", closing: str = "]", inner: str = "") -> str:
    return opening * depth + inner + closing * depth


def utf(codec: str, text: str, *, bom: bool) -> bytes:
    boms = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE,
            "utf-32-le": codecs.BOM_UTF32_LE, "utf-32-be": codecs.BOM_UTF32_BE}
    return (boms[codec] if bom else b"") + text.encode(codec)


ASCII_FEED = mg(mg_record("utf-new"))
ACCENTED_FEED = json.dumps([*GOOD_MG, mg_record("utf-new", name="Café Serenidad")], ensure_ascii=False)
EVERY_TEXT_FIELD = ["name", "notes", "location", "location_notes", "address", "city", "state", "postal_code",
                    "country", "formatted_address", "region", "sub_region", "conference_url_notes",
                    "conference_phone", "conference_phone_notes", "group", "group_notes", "timezone", "updated"]
BINARY = bytes(random.Random(12).randrange(256) for _ in range(4096))


def corpus() -> list[Hostile]:
    kinds = [
        # Structure of the JSON body.
        Hostile("mg-nested-100000-arrays", "meeting-guide", nested(DEEP), "unreadable", "levels deep"),
        Hostile("mg-nested-100000-objects", "meeting-guide", nested(DEEP, '{"a":', "}", "1"), "unreadable",
                "levels deep"),
        Hostile("mg-nested-inside-a-record", "meeting-guide",
                mg()[:-1] + ', {"slug": "deep", "name": "Deep", "notes": ' + nested(DEEP) + "}]", "unreadable",
                "levels deep"),
        Hostile("mg-top-level-object", "meeting-guide", json.dumps(mg_record("x")), "unreadable", "not an array"),
        Hostile("mg-top-level-string", "meeting-guide", '"hello"', "unreadable", "JSON string, not an array"),
        Hostile("mg-top-level-number", "meeting-guide", "1" * 5000, "unreadable", "JSON number, not an array"),
        Hostile("mg-top-level-null", "meeting-guide", "null", "unreadable", "JSON null, not an array"),
        Hostile("mg-top-level-boolean", "meeting-guide", "true", "unreadable", "JSON boolean, not an array"),
        Hostile("mg-empty-body", "meeting-guide", "", "unreadable", "empty"),
        Hostile("mg-whitespace-body", "meeting-guide", " \r\n\t ", "unreadable", "empty"),
        Hostile("mg-empty-array", "meeting-guide", "[]", "nothing"),
        Hostile("mg-html-page", "meeting-guide", "<!DOCTYPE html><html><body>502 Bad Gateway</body></html>",
                "unreadable", "HTML page"),
        Hostile("mg-truncated", "meeting-guide", mg()[:-40], "unreadable", "ends early"),
        Hostile("mg-trailing-garbage", "meeting-guide", mg() + " <!-- cached -->", "unreadable",
                "extra data"),
        Hostile("mg-wrapped-in-an-object", "meeting-guide", json.dumps({"meetings": [*GOOD_MG, mg_record("w")]}),
                "records"),
        Hostile("mg-records-of-wrong-types", "meeting-guide", mg(1, "meeting", None, True, [mg_record("in-list")],
                                                                  {}, 1e400),
                "records", rejected={(f"record {n}", "") for n in (4, 5, 6, 7, 8, 10)} | {("record 9", "name")}),
        *(mg_wrong_types(kind) for kind in WRONG_VALUES),
        # Numbers.
        Hostile("mg-huge-integers", "meeting-guide",
                mg()[:-1] + ', {"slug": "huge-day", "name": "Huge", "day": ' + "9" * 5000 + ', "time": "19:00"}'
                ', {"slug": ' + "7" * 5000 + ', "name": "Huge slug"}'
                ', {"slug": "huge-lat", "name": "Huge lat", "day": 1, "time": "19:00", "latitude": ' + "8" * 5000
                + ', "longitude": -117}]',
                "records", rejected={("huge-day", "day")}, repaired={("record 5", "slug"), ("huge-lat", "latitude")}),
        Hostile("mg-huge-floats", "meeting-guide",
                mg()[:-1] + ', {"slug": "big-float", "name": "Big", "day": 1e999, "time": "19:00"}'
                ', {"slug": "big-lat", "name": "Big lat", "day": 1, "time": "19:00", "latitude": 1e999, '
                '"longitude": -1e999}]',
                "records", rejected={("big-float", "day")}, repaired={("big-lat", "latitude")}),
        Hostile("mg-nan-and-infinity", "meeting-guide",
                mg()[:-1] + ', {"slug": "nan-day", "name": "NaN", "day": NaN, "time": "19:00"}'
                ', {"slug": "inf-lat", "name": "Inf", "day": 1, "time": "19:00", "latitude": Infinity, '
                '"longitude": -Infinity}, {"slug": "nan-name", "name": NaN}]',
                "records", rejected={("nan-day", "day"), ("nan-name", "name")}, repaired={("inf-lat", "latitude")}),
        Hostile("mg-duplicate-keys", "meeting-guide",
                mg()[:-1] + ', {"slug": "dup", "name": "First", "name": "Second", "day": 1, "day": 9, '
                '"time": "19:00"}]', "records", rejected={("dup", "day")}),
        # Encodings.
        Hostile("mg-utf8-bom-text", "meeting-guide", "\ufeff" + ACCENTED_FEED, "records"),
        Hostile("mg-utf8-bom-bytes", "meeting-guide", codecs.BOM_UTF8 + ACCENTED_FEED.encode(), "records",
                fetched="succeeded"),
        *(Hostile(f"mg-{codec}-{'bom' if bom else 'no-bom'}-ascii", "meeting-guide", utf(codec, ASCII_FEED, bom=bom),
                  "records", fetched="succeeded")
          for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be") for bom in (True, False)),
        *(Hostile(f"mg-{codec}-bom-accented", "meeting-guide", utf(codec, ACCENTED_FEED, bom=True), "records",
                  fetched="held") for codec in ("utf-16-le", "utf-32-be")),
        Hostile("mg-invalid-utf8", "meeting-guide", ACCENTED_FEED.encode("latin-1"), "unreadable",
                "not valid UTF-8 text: byte e9", fetched="succeeded"),
        Hostile("mg-gzip-body", "meeting-guide", gzip.compress(ACCENTED_FEED.encode()), "records", fetched="held"),
        Hostile("mg-gzip-bomb", "meeting-guide", gzip.compress(b" " * (60 * MB), 9), "unreadable",
                "gzip-compressed and expands to more than 50.0 MB", fetched="held"),
        Hostile("mg-gzip-damaged", "meeting-guide", gzip.compress(ASCII_FEED.encode())[:-30], "unreadable",
                "gzip", fetched="held"),
        Hostile("mg-binary-body", "meeting-guide", BINARY, "unreadable", "not valid UTF-8|binary", fetched="held"),
        Hostile("mg-zip-file", "meeting-guide", b"PK\x03\x04" + BINARY, "unreadable", "ZIP archive",
                fetched="held"),
        # Characters a database or UTF-8 refuses, in one record.
        Hostile("mg-null-byte-escaped", "meeting-guide", mg(mg_record("nul", name="Serenity\u0000 Group",
                                                                     notes="Side\u0000door")),
                "records", repaired={("nul", "name"), ("nul", "notes")}),
        Hostile("mg-null-byte-raw", "meeting-guide", mg(mg_record("raw-nul", city="Irv@ine")).replace("@", "\x00"),
                "records", repaired={("raw-nul", "city")}),
        Hostile("mg-null-byte-in-slug", "meeting-guide", mg(mg_record("nul\u0000slug")), "records",
                repaired={("nulslug", "slug")}),
        Hostile("mg-lone-surrogates-escaped", "meeting-guide",
                mg(mg_record("lone", name="Serenity \ud800", notes="end \udfff"), mg_record("lone-key\udc80")),
                "records", repaired={("lone", "name"), ("lone", "notes"), ("lone-key\ufffd", "slug")}),
        Hostile("mg-lone-surrogate-raw", "meeting-guide", mg(mg_record("raw-lone", group="G@")).replace("@", "\udc9f"),
                "records", repaired={("raw-lone", "group")}),
        Hostile("mg-control-characters", "meeting-guide",
                mg(mg_record("ctl", name="Bell\x07 and \x1b[31mred\x1b[0m", location="Hall\x0b\x0c\x7f")),
                "records", repaired={("ctl", "name"), ("ctl", "location")}),
        # Sizes.
        Hostile("mg-huge-string-in-every-text-field", "meeting-guide",
                mg(mg_record("huge", **{name: "x" * 300_000 for name in EVERY_TEXT_FIELD})), "records",
                rejected={("huge", "timezone")}),
        Hostile("mg-five-million-character-notes", "meeting-guide", mg(mg_record("long-notes", notes="n" * HUGE)),
                "records", repaired={("long-notes", "notes")}),
        Hostile("mg-huge-slug", "meeting-guide", mg(mg_record("s" * 100_000)), "records",
                repaired={("s" * 180, "slug")}),
        Hostile("mg-huge-url", "meeting-guide", mg(mg_record("long-url", url="https://x.org/" + "a" * 100_000,
                                                            conference_url="https://zoom.us/j/" + "1" * 100_000)),
                "records", repaired={("long-url", "url"), ("long-url", "conference_url")}),
        Hostile("mg-huge-day-list", "meeting-guide", mg(mg_record("many-days", day=[1] * 100_000)), "records",
                rejected={("many-days", "day")}),
        Hostile("mg-huge-day-string", "meeting-guide", mg(mg_record("day-string", day="1," * 100_000)), "records",
                rejected={("day-string", "day")}),
        Hostile("mg-huge-types-list", "meeting-guide",
                mg(mg_record("many-types", types=[f"T{n}" for n in range(100_000)])), "records",
                repaired={("many-types", "types")}),
        Hostile("mg-huge-types-string", "meeting-guide", mg(mg_record("type-string", types="O," * 500_000)),
                "records", repaired={("type-string", "types")}),
        Hostile("mg-huge-regions", "meeting-guide", mg(mg_record("regions", regions=["R" * 500] * 10_000)),
                "records", repaired={("regions", "regions")}),
        Hostile("mg-huge-record-object", "meeting-guide",
                mg(mg_record("wide", **{f"extra_{n}": n for n in range(100_000)})), "records"),
        Hostile("mg-body-past-the-size-limit", "meeting-guide", mg(mg_record("big", notes="b" * (2 * MB))),
                "unreadable", "limit is 1.0 MB", limits={"FEEDS_PARSE_MAX_BYTES": MB}),
        Hostile("mg-junk-array-past-the-record-limit", "meeting-guide", "[" + ",".join(["1"] * 5000) + "]",
                "unreadable", "more than 1,000 records", limits={"FEEDS_PARSE_MAX_RECORDS": 1000}),
        Hostile("mg-junk-array-all-rejected", "meeting-guide",
                json.dumps([{"slug": f"junk-{n}", "junk": "x" * 50} for n in range(900)]), "nothing",
                rejected={(f"junk-{n}", "name") for n in range(50)}, rejected_count=900,
                limits={"FEEDS_PARSE_MAX_RECORDS": 1000, "FEEDS_PARSE_MAX_ISSUES": 50}),
        # Bad values.
        Hostile("mg-bad-days-and-times", "meeting-guide",
                mg(mg_record("day-7", day=7), mg_record("day-minus", day=-1), mg_record("time-25", time="25:99"),
                   mg_record("time-junk", time="soon"), mg_record("day-superscript", day="²"),
                   mg_record("time-long", time="1" * 100_000)),
                "records", rejected={("day-7", "day"), ("day-minus", "day"), ("time-25", "time"),
                                     ("time-junk", "time"), ("day-superscript", "day"), ("time-long", "time")}),
        # CSV.
        Hostile("csv-unbalanced-quote", "csv", csv_body() + 'good-4,"Unclosed,Tuesday,19:00\nmore,rows\n',
                "unreadable", "unexpected end of data"),
        Hostile("csv-quote-inside-quoted-cell", "csv", csv_body() + 'good-4,"Bad"x,Tuesday,19:00\n', "unreadable",
                "cannot be read at line 5"),
        Hostile("csv-two-megabyte-cell", "csv",
                csv_body(["big", "Big", "Tuesday", "19:00", "", "", "", "n" * (2 * MB)]),
                "unreadable", "field larger than field limit"),
        Hostile("csv-binary", "csv", BINARY, "unreadable", "not valid UTF-8|binary", fetched="held"),
        Hostile("csv-wrong-delimiter", "csv", csv_body().replace(",", "|"), "unreadable", "no Name column"),
        Hostile("csv-missing-header", "csv", "\n".join(",".join(row) for row in GOOD_CSV_ROWS), "unreadable",
                "no Name column"),
        Hostile("csv-extra-columns", "csv", csv_body(["extra", "Extra", "Tuesday", "19:00", "", "", "", "", "x", "y"]),
                "records", repaired={("extra", "")}),
        Hostile("csv-too-many-columns", "csv", csv_body(columns=CSV_COLUMNS + [f"c{n}" for n in range(1000)]),
                "unreadable", "columns"),
        Hostile("csv-null-byte-in-a-cell", "csv",
                csv_body(["nul", "Nul\x00 Group", "Tuesday", "19:00", "", "", "", ""]), "records",
                repaired={("nul", "name")}),
        Hostile("csv-empty", "csv", "", "unreadable", "empty"),
        Hostile("csv-only-a-header", "csv", ",".join(CSV_COLUMNS) + "\n", "nothing"),
        Hostile("csv-html-page", "csv", "<html><body>Not found</body></html>", "unreadable", "HTML page"),
        Hostile("csv-utf16-bom", "csv", utf("utf-16-le", csv_body(["u", "Café", "Tuesday", "19:00", "", "", "", ""]),
                                              bom=True), "records", fetched="held"),
        Hostile("csv-bad-day-and-time", "csv", csv_body(["bad-time", "Bad", "Tuesday", "25:99", "", "", "", ""],
                                                       ["bad-day", "Bad", "Someday", "19:00", "", "", "", ""]),
                "records", rejected={("bad-time", "time"), ("bad-day", "day")}),
        # BMLT.
        Hostile("bmlt-nested-100000", "bmlt", nested(DEEP), "unreadable", "levels deep"),
        Hostile("bmlt-nested-inside-meetings", "bmlt", '{"meetings": [' + nested(DEEP, '{"a":', "}", "1") + "]}",
                "unreadable", "levels deep"),
        Hostile("bmlt-top-level-string", "bmlt", '"error"', "unreadable", "neither an array"),
        Hostile("bmlt-object-without-meetings", "bmlt", '{"formats": []}', "unreadable", "neither an array"),
        Hostile("bmlt-html-page", "bmlt", "<html>maintenance</html>", "unreadable", "HTML page"),
        Hostile("bmlt-truncated", "bmlt", bmlt_body()[:-25], "unreadable", "ends early"),
        Hostile("bmlt-records-of-wrong-types", "bmlt", bmlt_body(1, "x", None, [], {}), "records",
                rejected={("record 4", ""), ("record 5", ""), ("record 6", ""), ("record 7", ""),
                          ("record 8", "id_bigint")}),
        *(bmlt_wrong_types(kind) for kind in WRONG_VALUES),
        Hostile("bmlt-formats-of-wrong-types", "bmlt",
                bmlt_body(bmlt_record("200"), formats={"id": "1"}), "records"),
        Hostile("bmlt-format-entries-of-wrong-types", "bmlt",
                bmlt_body(bmlt_record("201", format_shared_id_list="1,2,3"),
                          formats=[1, "x", None, {"id": ["1"], "key_string": {"a": 1}, "world_id": ["OPEN"]},
                                   {"id": "2", "world_id": 5}, {"id": "3", "world_id": "W" * 100_000}]),
                "records"),
        Hostile("bmlt-missing-fields", "bmlt",
                bmlt_body({"id_bigint": "300"}, {"meeting_name": "No id"},
                          {"id_bigint": "301", "meeting_name": "No day", "start_time": "19:00:00"},
                          {"id_bigint": "302", "meeting_name": "No time", "weekday_tinyint": "2"},
                          {"id_bigint": "303", "meeting_name": "Only the basics", "weekday_tinyint": "2",
                           "start_time": "19:00:00"}),
                "records", rejected={("id 300", "meeting_name"), ("record 5", "id_bigint"),
                                     ("id 301", "weekday_tinyint"), ("id 302", "start_time")}),
        Hostile("bmlt-weekday-out-of-range", "bmlt",
                bmlt_body(*(bmlt_record(str(400 + n), weekday_tinyint=value)
                            for n, value in enumerate(["0", "8", 8, "-1", "²", "١", "9" * 5000, "1.5"]))),
                "records", rejected={(f"id {400 + n}", "weekday_tinyint") for n in range(8)}),
        Hostile("bmlt-bad-times", "bmlt",
                bmlt_body(bmlt_record("500", start_time="25:99:00"), bmlt_record("501", start_time="24:00:00"),
                          bmlt_record("502", start_time="7 o'clock"), bmlt_record("503", duration_time="99:99:99"),
                          bmlt_record("504", duration_time="9" * 5000)),
                "records", rejected={("id 500", "start_time"), ("id 501", "start_time"), ("id 502", "start_time")},
                repaired={("id 503", "duration_time"), ("id 504", "duration_time")}),
        Hostile("bmlt-huge-strings", "bmlt",
                bmlt_body(bmlt_record("600", **{name: "x" * 300_000 for name in (
                    "meeting_name", "comments", "location_text", "location_info", "location_street",
                    "location_municipality", "location_province", "location_postal_code_1", "location_nation",
                    "phone_meeting_number", "worldid_mixed", "virtual_meeting_additional_info", "formats",
                    "format_shared_id_list", "lang_enum")})),
                "records", repaired={("id 600", "meeting_name"), ("id 600", "comments")}),
        Hostile("bmlt-huge-id", "bmlt", bmlt_body(bmlt_record("9" * 100_000)), "records",
                rejected={("record 4", "id_bigint")}),
        Hostile("bmlt-null-bytes-and-surrogates", "bmlt",
                bmlt_body(bmlt_record("700", meeting_name="NA\u0000 Group", comments="Zoom \ud83d only")), "records",
                repaired={("id 700", "meeting_name"), ("id 700", "comments")}),
        Hostile("bmlt-utf16-body", "bmlt", utf("utf-16-le", bmlt_body(), bom=True), "records", fetched="succeeded"),
        Hostile("bmlt-junk-past-the-record-limit", "bmlt", '{"meetings": [' + ",".join(["0"] * 5000) + "]}",
                "unreadable", "more than 1,000 records", limits={"FEEDS_PARSE_MAX_RECORDS": 1000}),
    ]
    return kinds


CORPUS = corpus()
KINDS = {kind.name: kind for kind in CORPUS}


def test_the_corpus_has_every_kind_the_issue_names_and_more():
    assert len(KINDS) == len(CORPUS) >= 38
    assert {kind.format for kind in CORPUS} == {"meeting-guide", "csv", "bmlt"}


# Through the parser ----------------------------------------------------------------

def parse(kind: Hostile, body=None) -> ParsedFeed:
    body = kind.body if body is None else body
    if kind.format == "meeting-guide":
        return parse_meeting_guide(load_feed_text(body))
    if kind.format == "csv":
        return parse_csv(body)
    meetings, formats = bmlt.split_search_results(bmlt.load_json_text(body, what="GetSearchResults"))
    return bmlt.parse_bmlt(meetings, formats=formats, root=ROOT)


def notes_of(parsed: ParsedFeed, kind: str) -> set:
    return {(n.record_key, n.field) for n in parsed.notes if n.kind == kind}


@pytest.mark.parametrize("name", list(KINDS))
def test_the_parser_reads_or_refuses_each_kind(name, settings):
    kind = KINDS[name]
    for setting, value in kind.limits.items():
        setattr(settings, setting, value)
    if kind.outcome == "unreadable":
        with pytest.raises(FeedUnreadable, match=kind.reason):
            parse(kind)
        return
    parsed = parse(kind)
    assert notes_of(parsed, "rejected") == kind.rejected
    assert kind.repaired <= notes_of(parsed, "repaired")
    assert parsed.rejected_count == (kind.rejected_count or len(kind.rejected))
    good = GOOD_KEYS[kind.format]
    if kind.outcome == "nothing":
        assert parsed.meetings == []
        return
    assert {m.key for m in parsed.meetings} >= set(good)
    # What reaches the database is clean and bounded.
    for meeting in parsed.meetings:
        for name_, value in ((f.name, getattr(meeting, f.name)) for f in dataclasses.fields(meeting)):
            if isinstance(value, str):
                assert clean_text(value)[1] == "", (name_, value[:40])
                assert len(value) <= 10_000, name_
        assert len(meeting.name) <= 255 and len(meeting.key) <= 200 and len(meeting.type_tokens) <= 50


# End to end: import_feed_text ---------------------------------------------------------

def make_source(feed_format: str) -> FeedSource:
    fellowship = Fellowship.objects.get(slug="na" if feed_format == "bmlt" else "aa")
    body = ServiceBody.objects.create(slug=f"hostile-{feed_format}", name="Hostile office", fellowship=fellowship,
                                      timezone="America/Los_Angeles")
    return FeedSource.objects.create(slug=f"hostile-{feed_format}", name="Hostile", fellowship=fellowship,
                                     service_body=body, format=feed_format, url=ROOT)


def good_body(feed_format: str) -> str:
    return {"meeting-guide": mg(), "csv": csv_body(), "bmlt": bmlt_body()}[feed_format]


def directory(source: FeedSource) -> list[tuple]:
    return list(Meeting.objects.filter(feed_source=source).order_by("source_key").values_list(
        "source_key", "name", "day", "time", "removed", "content_hash", "updated"))


def fetched_text(body: str | bytes) -> str:
    # What fetch hands the importer today for bytes without a charset.
    return body if isinstance(body, str) else body.decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def imported_once(shared_rows):
    """A source of each format holding the three good meetings, made once
    for the module (conftest's `shared_rows`)."""
    with shared_rows():
        vocabularies_sync()
        sources = {}
        for feed_format in ("meeting-guide", "csv", "bmlt"):
            source = make_source(feed_format)
            run = import_feed_text(source=source, text=good_body(feed_format), bmlt_formats=BMLT_FORMATS)
            assert (run.status, run.created) == ("succeeded", 3)
            sources[feed_format] = source
        yield sources


@pytest.fixture
def imported(imported_once, read_again):
    return read_again(imported_once)


@pytest.mark.parametrize("name", list(KINDS))
def test_import_holds_fails_or_rejects_each_kind_never_crashes(name, imported, settings):
    kind = KINDS[name]
    for setting, value in kind.limits.items():
        setattr(settings, setting, value)
    source = imported[kind.format]
    before = directory(source)
    run = import_feed_text(source=source, text=fetched_text(kind.body), bmlt_formats=BMLT_FORMATS)
    run.refresh_from_db()
    expected = kind.fetched or {"unreadable": "held", "nothing": "held", "records": "succeeded"}[kind.outcome]
    assert run.status == expected, run.reason
    assert run.finished is not None and not ImportRun.objects.filter(status=ImportRun.Status.RUNNING).exists()
    if run.status in (ImportRun.Status.HELD, ImportRun.Status.FAILED):
        assert run.reason
        if kind.outcome == "unreadable" and not kind.fetched:
            assert re.search(kind.reason, run.reason), run.reason
        assert directory(source) == before
        return
    issues = {(i.record_key, i.field) for i in ImportIssue.objects.filter(run=run, kind="rejected")}
    assert issues == {(key[:200], f) for key, f in kind.rejected}
    assert run.rejected == (kind.rejected_count or len(kind.rejected))
    assert {(key[:200], f) for key, f in kind.repaired} <= {
        (i.record_key, i.field) for i in ImportIssue.objects.filter(run=run, kind="repaired")}
    after = {row[0]: row for row in directory(source)}
    assert all(after[row[0]] == row for row in before), "the good meetings changed"
    for meeting in Meeting.objects.filter(feed_source=source):
        for value in (meeting.name, meeting.notes, meeting.group, meeting.conference_url_notes):
            assert "\x00" not in value and len(value) <= 10_000


# Limits and readers, one by one ---------------------------------------------------------

def test_a_junk_feed_keeps_a_bounded_number_of_issues_with_exact_counts(imported, settings):
    settings.FEEDS_PARSE_MAX_ISSUES = 50
    junk = [{"slug": f"junk-{n}", "name": f"Junk {n}", "day": "someday"} for n in range(400)]
    parsed = parse_meeting_guide(junk)
    assert (parsed.rejected_count, len(parsed.notes)) == (400, 51)
    assert parsed.notes[-1].reason == "350 more rejected, repaired or skipped records not listed"
    run = import_feed_text(source=imported["meeting-guide"], text=mg(*junk))
    assert (run.status, run.rejected, run.created, run.issues.count()) == ("succeeded", 400, 0, 51)


def test_five_million_character_notes_are_stored_shortened_with_a_note(imported):
    run = import_feed_text(source=imported["meeting-guide"], text=mg(mg_record("long", notes="n" * HUGE)))
    meeting = Meeting.objects.get(source_key="long")
    assert (run.status, len(meeting.notes)) == ("succeeded", 10_000)
    assert run.issues.get(record_key="long", field="notes").reason == \
        "notes is 5,000,000 characters; shortened to 10,000"


def test_null_bytes_and_lone_surrogates_are_cleaned_in_that_record_only(imported):
    run = import_feed_text(source=imported["meeting-guide"], text=mg(
        mg_record("nul", name="Serenity\u0000 Group"), mg_record("lone", notes="a \ud800 b")))
    assert (run.status, run.created, run.rejected) == ("succeeded", 2, 0)
    assert Meeting.objects.get(source_key="nul").name == "Serenity Group"
    assert Meeting.objects.get(source_key="lone").notes == "a \ufffd b"
    assert run.issues.get(record_key="nul").reason == "name: 1 control character removed"


def test_a_held_body_with_null_bytes_is_kept_storable(imported):
    run = import_feed_text(source=imported["csv"], text="\x00\x01binary\x00" * 200)
    run.refresh_from_db()
    assert run.status == "held" and "\x00" not in run.payload and run.payload.startswith("\ufffd\x01binary")


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le",
                                   "utf-32-be"])
def test_bodies_in_every_unicode_encoding_decode_to_the_same_text(codec):
    text = '[{"name": "Café ☕ 𝄞"}]'
    assert decode_body(text.encode(codec)) == text


def test_utf16_read_as_utf8_is_recovered_when_nothing_was_lost():
    body = codecs.BOM_UTF16_LE + '[{"name": "A"}]'.encode("utf-16-le")
    assert feed_text(body.decode("utf-8", errors="replace")) == '[{"name": "A"}]'
    with pytest.raises(FeedUnreadable, match="lost characters"):
        feed_text((codecs.BOM_UTF16_LE + '[{"name": "Café"}]'.encode("utf-16-le")).decode("utf-8", "replace"))


def test_gzip_body_is_decompressed_and_a_bomb_stops_at_the_limit(settings):
    assert decode_body(gzip.compress(b"[1]") + gzip.compress(b" ")) == "[1] "
    settings.FEEDS_PARSE_MAX_BYTES = 1000
    with pytest.raises(FeedUnreadable, match="expands to more than 1,000 bytes"):
        decode_body(gzip.compress(b" " * 1001))
    assert decode_body(gzip.compress(b" " * 1000)) == " " * 1000


def test_gzip_body_with_data_after_its_end_is_unreadable_as_a_fetched_one():
    """One rule for a gzip body fetched (Content-Encoding) and given: zero
    padding after its end is allowed, anything else is not silently dropped."""
    assert decode_body(gzip.compress(b"[1]") + b"\0\0") == "[1]"
    with pytest.raises(FeedUnreadable, match="the feed is gzip-compressed and has data after its end"):
        decode_body(gzip.compress(b"[1]") + b"<html>")


def test_json_depth_ignores_brackets_inside_strings():
    assert json_depth('[{"a": "[[[[{{{{", "b": [1, [2]]}]') == 4
    assert json_depth('["\\"[[["]') == 1
    assert json_depth(nested(DEEP)) == DEEP


def test_depth_limit_is_a_setting(settings):
    settings.FEEDS_PARSE_MAX_DEPTH = 3
    assert read_json('[{"a": [1]}]', what="x") == [{"a": [1]}]
    with pytest.raises(FeedUnreadable, match="4 levels deep; the limit is 3"):
        read_json('[{"a": [[1]]}]', what="x")


def test_day_and_time_readers_refuse_oversized_and_non_ascii_digits():
    from meetings.feeds.records import RecordRejected

    for value in ("9" * 5000, "²", "١", 10 ** 30, float("nan")):
        with pytest.raises(RecordRejected):
            read_day(value)
    for value in ("1" * 5000, ["19:00"], {"h": 19}, 19.5, float("inf")):
        with pytest.raises(RecordRejected):
            read_time(value)
    with pytest.raises(RecordRejected) as error:
        read_time("x" * 100_000)
    assert len(error.value.reason) < 100


def test_storable_text_replaces_what_postgresql_refuses():
    assert storable_text("a\x00b\ud800c") == "a\ufffdb\ufffdc"
    assert storable_text("plain") == "plain"


def test_csv_extra_cells_are_reported():
    records = list(csv_rows("Name,Day\nA,Monday,surplus\n"))
    assert records == [{"name": "A", "day": "Monday", "_extra_cells": 1}]
    parsed = parse_csv("Name,Day,Time\nA,Monday,19:00,surplus\n")
    assert parsed.notes[-1].reason == "the row has 1 cells more than the header names; they were ignored"


def test_meeting_guide_records_are_read_one_at_a_time():
    # The raw records are decoded again as they are read, not held as a list.
    records = load_feed_text(mg())
    assert not isinstance(records, list) and len(records) == 3
    assert [r["slug"] for r in records] == [r["slug"] for r in records] == ["good-1", "good-2", "good-3"]


def test_parsing_memory_is_bounded_by_the_meetings_not_the_raw_records():
    """Generous bound: 5,000 records of junk of about 4 kB (all rejected,
    issues capped at 1,000) cost less than half the body while parsed, and
    less than half of what holding the decoded records alone costs. (The
    body is 20 MB as with 20,000 records of 1 kB, which took three times
    the CPU: parsing costs by the record, under tracemalloc most of all.)"""
    body = json.dumps([{"slug": f"junk-{n}", "junk": "x" * 4000, "day": "someday"} for n in range(5_000)])
    tracemalloc.start()
    try:
        held = json.loads(body)
        holding_every_record = tracemalloc.get_traced_memory()[0]
        del held
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        parsed = parse_meeting_guide(load_feed_text(body))
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    assert parsed.rejected_count == 5_000 and len(parsed.notes) == 1001
    assert peak < min(len(body), holding_every_record) / 2, (peak, len(body), holding_every_record)


@pytest.mark.parametrize("link", ["https://zoom.us/j/1\r\nX-INJECTED:1", "https://zoom.us/j/1 and more",
                                  "https://zoom.us/j/\t1"])
def test_a_link_with_a_line_break_or_a_space_is_dropped_with_a_note(link):
    """Found in the issue 12 audit: such a link was stored and made every calendar holding it a 500."""
    parsed = parse_meeting_guide(load_feed_text(mg(mg_record("link", url=link, conference_url=link))))
    [meeting] = [m for m in parsed.meetings if m.key == "link"]
    assert (meeting.url, meeting.conference_url) == ("", "")
    assert {("link", "url"), ("link", "conference_url")} <= notes_of(parsed, "repaired")
    meetings, formats = bmlt.split_search_results(bmlt.load_json_text(
        bmlt_body(bmlt_record("9", virtual_meeting_link=link)), what="GetSearchResults"))
    parsed = bmlt.parse_bmlt(meetings, formats=formats, root=ROOT)
    [meeting] = [m for m in parsed.meetings if m.key == f"{ROOT}#9"]
    assert meeting.conference_url == ""
    assert ("id 9", "virtual_meeting_link") in notes_of(parsed, "repaired")
