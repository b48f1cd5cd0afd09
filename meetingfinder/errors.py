"""Errors as data. On API paths (`/api/`, `/client_interface/`) every error
is JSON, whatever DEBUG is: DRF views shape their own (`api_exception_handler`),
and `ErrorsMiddleware` shapes what Django answers around them (unknown URLs,
413, uncaught exceptions). When the database cannot be reached or cancels a
statement (`statement_timeout`), any request is a 503 with Retry-After: JSON
on API paths, a short page elsewhere.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent, TooManyFilesSent
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotFound, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _, gettext_lazy, ngettext
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

API_PREFIXES = ("/api/", "/client_interface/")
# The generic messages: nothing of the server's insides (no traceback, no SQL).
MESSAGES = {
    400: gettext_lazy("Bad request."),
    404: gettext_lazy("Not found."),
    405: gettext_lazy("Method not allowed."),
    406: gettext_lazy("Could not satisfy the request's Accept header."),
    413: gettext_lazy("The request body is too large."),
    415: gettext_lazy("Unsupported media type."),
    429: gettext_lazy("Too many requests: try again later."),
    500: gettext_lazy("Server error: it has been logged."),
    503: gettext_lazy("The service is briefly unavailable: try again in a moment."),
}
# The page people get when the database cannot answer: no template, no
# database, in the language their browser or the site's switch asks for.
UNAVAILABLE_PAGE = (
    '<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>'
    "<body><h1>{title}</h1><p>{text}</p></body></html>"
)
# The request's uncaught exception, noted by the signal Django sends for it.
_UNCAUGHT = "_meetingfinder_uncaught_exception"


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def is_database_unavailable(error: BaseException | None) -> bool:
    """The database is down, unreachable, or cancelled the statement (timeout):
    Django wraps all of these as OperationalError or InterfaceError."""
    return isinstance(error, (OperationalError, InterfaceError))


def _retry_after() -> str:
    return str(settings.DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS)


def in_request_language(request, make):
    """`make()`'s answer in the language the request asks for, read from its
    cookie and header alone: the errors made here are answered before the
    language middleware is reached, or when the database it may need is down."""
    language = translation.get_language_from_request(request)
    with translation.override(language):
        response = make(language)
    response["Content-Language"] = language
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    return response


def unavailable_response(request, *, api: bool) -> HttpResponse:
    """The 503: JSON on API paths, a short page elsewhere, in the request's language."""

    def make(language: str) -> HttpResponse:
        if api:
            return JsonResponse({"detail": str(MESSAGES[503])}, status=503)
        page = UNAVAILABLE_PAGE.format(language=language, title=_("Briefly unavailable"), text=_(
            "The meeting directory cannot answer right now. Please try again in a minute."))
        return HttpResponse(page, status=503, content_type="text/html; charset=utf-8")

    response = in_request_language(request, make)
    response["Retry-After"] = _retry_after()
    response["Cache-Control"] = "no-store"
    return response


def api_exception_handler(exc, context):
    """DRF's handler, plus: an unreachable database is a 503 with Retry-After,
    and a form of too many fields a 400 naming the form."""
    if is_database_unavailable(exc):
        logger.warning("database unavailable: %s", exc)
        return Response({"detail": MESSAGES[503]}, status=status.HTTP_503_SERVICE_UNAVAILABLE,
                        headers={"Retry-After": _retry_after(), "Cache-Control": "no-store"})
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):  # the form DRF's parsers read
        return too_many_parameters(in_form=True, api=True, files=isinstance(exc, TooManyFilesSent))
    return drf_exception_handler(exc, context)


@receiver(got_request_exception)
def _note_uncaught_exception(sender, request=None, **kwargs):
    # Sent from inside Django's `except` for any exception a view or a
    # middleware let through, before the 500 page is built.
    if request is not None:
        setattr(request, _UNCAUGHT, sys.exc_info()[1])


def _is_json(response) -> bool:
    return response.get("Content-Type", "").split(";")[0].strip().endswith("json")


def _bad_parameter(key: str, message: str, *, api: bool) -> HttpResponse:
    """A 400 naming the parameter: JSON on API paths, a line of text on pages."""
    return JsonResponse({key: [message]}, status=400) if api else HttpResponseBadRequest(
        f"{key}: {message}", content_type="text/plain; charset=utf-8")


def too_many_parameters(*, in_form: bool, api: bool, files: bool = False) -> HttpResponse:
    """The 400 for a query, or a posted form, of more parameters than
    DATA_UPLOAD_MAX_NUMBER_FIELDS (Django's TooManyFieldsSent), or a form of
    more files than DATA_UPLOAD_MAX_NUMBER_FILES (TooManyFilesSent), naming which."""
    if files:
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return _bad_parameter("form", ngettext("The form has more than %(count)d file.",
                                               "The form has more than %(count)d files.", limit) % {"count": limit},
                              api=api)
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    if in_form:
        return _bad_parameter("form", ngettext("The form has more than %(count)d field.",
                                               "The form has more than %(count)d fields.", limit) % {"count": limit},
                              api=api)
    return _bad_parameter("query", ngettext("The query has more than %(count)d parameter.",
                                            "The query has more than %(count)d parameters.", limit) % {"count": limit},
                          api=api)


class ErrorsMiddleware:
    """Outside every middleware that can reach the database, so it sees every
    answer whichever layer failed; inside the security headers' middlewares,
    so its answers carry them too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api = is_api_path(request.path_info)
        refusal = self._refusal(request, api=api)
        if refusal is not None:  # rare: made in the request's language
            return in_request_language(request, lambda language: refusal())
        response = self.get_response(request)
        if is_database_unavailable(getattr(request, _UNCAUGHT, None)):
            return unavailable_response(request, api=api)
        if api and response.status_code >= 400 and not _is_json(response):
            return in_request_language(request, lambda language: self._as_json(response))
        if response.status_code == 405 and not response.content and response.has_header("Allow"):  # a page's bare one
            return in_request_language(request, lambda language: self._saying_allow(response))
        return response

    def _refusal(self, request, *, api: bool) -> Callable[[], HttpResponse] | None:
        """What is wrong with the request before any view sees it, as the maker
        of its answer (a multipart form cannot be read twice), or None."""
        return ((self._body_too_large(request) if api else None) or self._unreadable_parameters(request, api=api)
                or self._nul_characters(request, api=api))

    @staticmethod
    def _body_too_large(request) -> Callable[[], HttpResponse] | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return lambda: JsonResponse({"detail": _("Content-Length is not a number.")}, status=400)
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return lambda: JsonResponse({"detail": f"{MESSAGES[413]} " + _("At most %(count)d bytes.") % {
                "count": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}}, status=413)
        return None

    @staticmethod
    def _nul_characters(request, *, api: bool) -> Callable[[], HttpResponse] | None:
        """No slug or parameter holds a NUL, and PostgreSQL refuses it in any
        text: answered here, for every view and page, instead of as a
        DataError (or, on a page, echoed back into its title and form)."""
        if "\x00" in request.path_info:
            return lambda: JsonResponse({"detail": str(MESSAGES[404])}, status=404) if api else HttpResponseNotFound(
                str(MESSAGES[404]), content_type="text/plain; charset=utf-8")
        for name, values in request.GET.lists():
            if "\x00" in name or "\x00" in "".join(values):
                return lambda: _bad_parameter(name.replace("\x00", "") or "query",
                                              _("Parameters cannot contain NUL characters."), api=api)
        return None

    @staticmethod
    def _unreadable_parameters(request, *, api: bool) -> Callable[[], HttpResponse] | None:
        """A query, or a form posted to a page or the admin, of more parameters
        than DATA_UPLOAD_MAX_NUMBER_FIELDS, or a multipart form that cannot be
        read, which Django refuses with its bare HTML page, naming nothing. An
        API view's form is read by DRF's parsers, which say what else is wrong
        with it (api_exception_handler)."""
        try:
            request.GET
        except TooManyFieldsSent:
            return lambda: too_many_parameters(in_form=False, api=api)
        if not api:
            try:
                request.POST  # parsed for a POST of a form (urlencoded or multipart) alone
            except TooManyFieldsSent:
                return lambda: too_many_parameters(in_form=True, api=False)
            except TooManyFilesSent:
                return lambda: too_many_parameters(in_form=True, api=False, files=True)
            except MultiPartParserError:  # no boundary to split it by, a part that does not decode...
                return lambda: _bad_parameter("form", _(
                    "The form cannot be read as multipart: its boundary, its length or one of its parts is broken."),
                    api=False)
            except UnreadablePostError:  # the client left mid-body: the CSRF check's 403, as before
                pass
        return None

    @staticmethod
    def _saying_allow(response) -> HttpResponse:
        """A page's bare 405, saying which methods the address answers (its Allow header, kept)."""
        answer = HttpResponse(f"{MESSAGES[405]} " + _("This address answers %(methods)s.") % {
            "methods": response["Allow"]}, status=405, content_type="text/plain; charset=utf-8")
        answer["Allow"] = response["Allow"]
        return answer

    @staticmethod
    def _as_json(response) -> HttpResponse:
        """The same status and headers (Allow, Retry-After...), a JSON body:
        never an HTML page, a debug page or a traceback."""
        code = response.status_code
        answer = JsonResponse({"detail": str(MESSAGES.get(code, _("Error.")))}, status=code)
        for header, value in response.items():
            if header.lower() not in ("content-type", "content-length"):
                answer[header] = value
        return answer
