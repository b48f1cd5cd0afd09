"""Reading CSV feeds with the columns of TSML's import template (Time, End
Time, Day, Name, Location, Address, City, State, Postal Code, Country, Types,
Notes, Location Notes, Region, Sub Region, Group, Conference URL, ...).

Each row is turned into a Meeting Guide record and read by that parser, so
CSV feeds get exactly the same quirk handling."""

from __future__ import annotations

import csv
import io

from django.conf import settings

from meetings.feeds.body import feed_text
from meetings.feeds.meeting_guide import parse_meeting_guide
from meetings.feeds.records import EXTRA_CELLS, FeedUnreadable, ParsedFeed

MAX_COLUMNS = 200

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


class CsvRecords:
    """The rows of a CSV feed as Meeting Guide records, read one at a time.
    The whole body is checked first (quoting, cell sizes, row count), so a
    broken file is unreadable before anything is applied."""

    def __init__(self, text: str, dialect, headers: list[str]) -> None:
        self.text, self.dialect, self.headers = text, dialect, headers
        self.needs_cleaning = True
        self.count = sum(1 for _ in self._rows())

    def _rows(self):
        reader = csv.reader(io.StringIO(self.text), self.dialect, strict=True)
        limit = settings.FEEDS_PARSE_MAX_RECORDS
        count = 0
        try:
            next(reader, None)  # the header
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                count += 1
                if count > limit:
                    raise FeedUnreadable(f"the CSV has more than {limit:,} rows, the limit")
                yield row
        except csv.Error as error:
            raise FeedUnreadable(f"the CSV cannot be read at line {reader.line_num:,}: {error} "
                                 "(an unbalanced quote?)") from error

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        width = len(self.headers)
        for row in self._rows():
            record = {}
            for header, cell in zip(self.headers, row):
                if header and cell.strip():
                    record[header] = cell.strip()
            if len(row) > width and any(cell.strip() for cell in row[width:]):
                # Cells past the header have no name; the record says so in its report.
                record[EXTRA_CELLS] = len(row) - width
            yield record


def csv_rows(text: str | bytes) -> CsvRecords:
    """Rows as Meeting Guide records, read as they are used. An HTML page, a
    file without a Name column, broken quoting, a cell longer than 131,072
    characters or a body past the limits is `FeedUnreadable`."""
    stripped = feed_text(text, what="the CSV")
    if not stripped.strip():
        raise FeedUnreadable("the CSV is empty")
    if stripped.lstrip()[:1] == "<":
        raise FeedUnreadable("the feed returned an HTML page, not CSV")
    try:
        sample = stripped[:4096]
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(stripped), dialect, strict=True)
    try:
        header_row = next(reader, [])
    except csv.Error as error:
        raise FeedUnreadable(f"the CSV's header cannot be read: {error} (an unbalanced quote?)") from error
    if len(header_row) > MAX_COLUMNS:
        raise FeedUnreadable(f"the CSV has {len(header_row):,} columns; the limit is {MAX_COLUMNS}")
    headers = [header_field(h) if len(h) <= 100 else "" for h in header_row]
    if "name" not in headers:
        raise FeedUnreadable("the CSV has no Name column (is the first row the header?)")
    return CsvRecords(stripped, dialect, headers)


def parse_csv(text: str | bytes, *, fellowship: str = "") -> ParsedFeed:
    return parse_meeting_guide(csv_rows(text), fellowship=fellowship)
