import json

from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, MultiPartParser


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, but a body nested deeper than Python's parser goes
    (`"[" * 100000`) is a 400 like any other malformed JSON, not a 500; and
    what is wrong with a body is said in the sender's language (DRF says it
    in English alone), its English as DRF's."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(gettext("JSON parse error - nested too deeply.")) from None
        except ParseError as error:
            if not isinstance(error.__context__, ValueError):
                raise
            raise ParseError(unreadable_body(error.__context__)) from None


def unreadable_body(error: ValueError) -> str:
    """What is wrong with a body, from the error Python's JSON reader raised
    (DRF's parser raises its ParseError while handling it): where, in the
    reader's language; what, in Python's words."""
    if isinstance(error, json.JSONDecodeError):
        return gettext("JSON parse error - %(problem)s: line %(line)d column %(column)d (char %(position)d)") % {
            "problem": error.msg, "line": error.lineno, "column": error.colno, "position": error.pos}
    # Not UTF-8, or NaN (not JSON): rare, said as Python says it.
    return gettext("JSON parse error - %(problem)s") % {"problem": error}


class ReadableMultiPartParser(MultiPartParser):
    """DRF's multipart parser, saying what is wrong with a body in the
    sender's language (DRF says it in English alone), its English as DRF's."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except ParseError as error:
            if not isinstance(error.__context__, MultiPartParserError):
                raise
            raise ParseError(gettext("Multipart form parse error - %(problem)s") % {
                "problem": error.__context__}) from None
