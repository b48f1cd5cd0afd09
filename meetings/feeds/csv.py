"""Reading CSV feeds with the columns of TSML's import template (Time, End
Time, Day, Name, Location, Address, City, State, Postal Code, Country, Types,
Notes, Location Notes, Region, Sub Region, Group, Conference URL, ...).

Each row is turned into a Meeting Guide record and read by that parser, so
CSV feeds get exactly the same quirk handling."""

from __future__ import annotations

import csv
import io

from meetings.feeds.meeting_guide import parse_meeting_guide
from meetings.feeds.records import FeedUnreadable, ParsedFeed

# Header words to Meeting Guide field names, beyond "Postal Code" -> postal_code.
HEADER_ALIASES = {
    "zip": "postal_code",
    "zip_code": "postal_code",
    "location_name": "location",
    "start_time": "time",
    "start": "time",
    "end": "end_time",
    "meeting_name": "name",
    "meeting": "name",
    "time_zone": "timezone",
    "lat": "latitude",
    "lng": "longitude",
    "lon": "longitude",
}


def header_field(header: str) -> str:
    key = "_".join(header.strip().lower().replace("-", " ").split())
    return HEADER_ALIASES.get(key, key)


def csv_records(text: str) -> list[dict]:
    """Rows as Meeting Guide records; empty cells left out."""
    stripped = text.lstrip("\ufeff")
    if stripped.lstrip()[:1] == "<":
        raise FeedUnreadable("the feed returned an HTML page, not CSV")
    try:
        sample = stripped[:4096]
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(stripped), dialect)
    rows = list(reader)
    if not rows:
        return []
    headers = [header_field(h) for h in rows[0]]
    if "name" not in headers:
        raise FeedUnreadable("the CSV has no Name column (is the first row the header?)")
    records = []
    for row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        record = {}
        for header, cell in zip(headers, row):
            if header and cell.strip():
                record[header] = cell.strip()
        records.append(record)
    return records


def parse_csv(text: str) -> ParsedFeed:
    return parse_meeting_guide(csv_records(text))
