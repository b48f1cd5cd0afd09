"""The feed formats the importer reads, as a registry `{format: parser}`: a
parser fetches its format, turns the feed into a `ParsedFeed` and says which
locations look like its feeds (`import_feed` without `--format`). The importer
and the command only look a parser up here, so adding a format is one module
with its parser and one line in `PARSERS` (and its value in `FeedFormat`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from meetings.feeds import bmlt, fetch
from meetings.feeds.csv import parse_csv
from meetings.feeds.meeting_guide import load_feed_text, parse_meeting_guide
from meetings.feeds.records import FeedUnreadable, ParsedFeed
from meetings.models import FeedFormat


@dataclass(frozen=True)
class FeedDocument:
    """A feed as obtained: its raw text, or records already decoded (read
    instead of the text, which a held run then keeps), and what its format
    fetched beside it (`options`, e.g. BMLT's format table), or the importer
    adds (`fellowship`: the source's slug; `held`: the text is a held run's)."""

    text: str = ""
    records: list | None = None
    options: dict[str, Any] = field(default_factory=dict)
    # Conditional GET: a 304 (nothing downloaded), and the validators to send
    # next time, or None when the document is not one URL's answer.
    not_modified: bool = False
    validators: tuple[str, str] | None = None


class FeedParser:
    """One format. Subclasses override `parse_text` and `parse_records`, and
    `fetch` or `claims` when the format needs it."""

    def fetch(self, *, url: str, bmlt_service_body_ids: str = "", etag: str = "",  # noqa: ARG002
              last_modified: str = "") -> FeedDocument:
        """GET the feed, conditionally when the last import's validators are given."""
        fetched = fetch.fetch_url(url, etag=etag, last_modified=last_modified)
        return FeedDocument(text=fetched.text, not_modified=fetched.not_modified,
                            validators=(fetched.etag, fetched.last_modified))

    def parse(self, *, document: FeedDocument, root: str = "") -> ParsedFeed:
        """Raises `FeedUnreadable` for a feed that cannot be read as a whole."""
        if document.records is not None:
            return self.parse_records(records=document.records, root=root, options=document.options)
        return self.parse_text(text=document.text, root=root, options=document.options)

    def parse_text(self, *, text: str, root: str, options: dict) -> ParsedFeed:
        raise NotImplementedError

    def parse_records(self, *, records: list, root: str, options: dict) -> ParsedFeed:
        raise NotImplementedError

    def claims(self, location: str) -> bool:  # noqa: ARG002
        """Does a URL or file name look like a feed of this format?"""
        return False


class MeetingGuideParser(FeedParser):
    def parse_text(self, *, text: str, root: str, options: dict) -> ParsedFeed:  # noqa: ARG002
        return parse_meeting_guide(load_feed_text(text), fellowship=options.get("fellowship") or "")

    def parse_records(self, *, records: list, root: str, options: dict) -> ParsedFeed:  # noqa: ARG002
        return parse_meeting_guide(records, fellowship=options.get("fellowship") or "")


class CsvParser(MeetingGuideParser):
    # Rows become Meeting Guide records, so decoded records read as Meeting Guide's.
    def parse_text(self, *, text: str, root: str, options: dict) -> ParsedFeed:  # noqa: ARG002
        return parse_csv(text, fellowship=options.get("fellowship") or "")

    def claims(self, location: str) -> bool:
        return location.lower().endswith(".csv")


class BmltParser(FeedParser):
    def fetch(self, *, url: str, bmlt_service_body_ids: str = "", etag: str = "",
              last_modified: str = "") -> FeedDocument:
        if "/client_interface/" in url:
            # A full GetSearchResults query was given: take it as it is.
            return super().fetch(url=url, etag=etag, last_modified=last_modified)
        # A root server is asked three questions, each in full; the feed is
        # the three answers as one text (bmlt.search_results_with_answers).
        ids = [i.strip() for i in bmlt_service_body_ids.split(",") if i.strip()]
        results = fetch.fetch_url(bmlt.search_url(root=url, service_body_ids=ids)).text
        formats = fetch.fetch_url(bmlt.formats_url(root=url)).text
        try:
            info = fetch.fetch_url(bmlt.server_info_url(root=url)).text
        except (fetch.FetchError, FeedUnreadable):
            info = None  # older servers: open/closed then comes from formats only
        text, data = bmlt.search_results_with_answers(results=results, formats=formats, server_info=info)
        # Read once: the records are parsed as they are; the text is what a held run keeps.
        meetings, formats_read, default_closed = bmlt.search_results_read(data)
        return FeedDocument(text=text, records=meetings,
                            options={"bmlt_formats": formats_read, "default_closed": default_closed})

    def parse_text(self, *, text: str, root: str, options: dict) -> ParsedFeed:
        # A held run's text of a root server's answers is a little longer than what was fetched.
        margin = bmlt.ANSWERS_JOIN_MARGIN if options.get("held") else 0
        meetings, formats, fetched_default = bmlt.search_results_read(
            bmlt.load_json_text(text, what="GetSearchResults", margin=margin))
        default_closed = options.get("default_closed")
        return bmlt.parse_bmlt(meetings, formats=(options.get("bmlt_formats") or []) + formats,
                               root=root, default_closed=fetched_default if default_closed is None else default_closed)

    def parse_records(self, *, records: list, root: str, options: dict) -> ParsedFeed:
        return bmlt.parse_bmlt(records, formats=options.get("bmlt_formats") or [], root=root,
                               default_closed=options.get("default_closed"))

    def claims(self, location: str) -> bool:
        lowered = location.lower()
        return "client_interface" in lowered or "main_server" in lowered


PARSERS: dict[str, FeedParser] = {
    FeedFormat.MEETING_GUIDE: MeetingGuideParser(),
    FeedFormat.BMLT: BmltParser(),
    FeedFormat.CSV: CsvParser(),
}
DEFAULT_FORMAT = FeedFormat.MEETING_GUIDE


class UnknownFormat(ValueError):
    pass


def parser_for(format: str) -> FeedParser:
    try:
        return PARSERS[format]
    except KeyError:
        raise UnknownFormat(f"unknown feed format {format!r}; known: {', '.join(PARSERS)}") from None


def guess_format(location: str) -> str:
    """The format a URL or file name looks like; Meeting Guide JSON when none claims it."""
    return next((name for name, parser in PARSERS.items() if parser.claims(location)), DEFAULT_FORMAT)
