"""Errors as data (meetingfinder/errors.py): on API paths every error is JSON,
whatever DEBUG is; an unreachable database is a 503 with Retry-After (JSON on
API paths, a short page elsewhere); the schema documents the errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
import yaml
from django.db import InterfaceError, OperationalError, connection
from django.test import Client

from meetings.api import views as api_views
from tests.factories import make_meeting

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


@pytest.fixture
def quiet_client():
    """A client that answers as a server would, instead of re-raising the view's exception."""
    return Client(raise_request_exception=False)


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body, dict) and body
    text = json.dumps(body)
    assert "Traceback" not in text and "File \"" not in text
    return body


@pytest.mark.parametrize("path", ["/api/v1/nothing-here/", "/api/nothing", "/api/v2/meetings/",
                                  "/api/v1/meetings/a.b/calendar.ics", "/client_interface/xml/"])
def test_unknown_urls_under_the_api_are_json_404s(db, client, debug, path):
    assert_json_error(client.get(path), 404) == {"detail": "Not found."}


def test_the_generic_errors_speak_the_senders_language(db, client, settings, debug):
    """Made outside the language middleware, or after it: read from the request alone."""
    spanish = {"HTTP_ACCEPT_LANGUAGE": "es"}
    missing = client.get("/api/v1/nothing-here/", **spanish)
    assert assert_json_error(missing, 404) == {"detail": "No encontrado."}
    assert missing["Content-Language"] == "es" and "Accept-Language" in missing["Vary"]
    assert assert_json_error(client.get("/client_interface/xml/"), 404) == {"detail": "Not found."}
    assert assert_json_error(client.post("/client_interface/json/?switcher=GetServerInfo", **spanish), 405) == {
        "detail": "Método no permitido."}
    assert assert_json_error(client.get("/api/v1/meetings/?q=a%00b", **spanish), 400) == {
        "q": ["Los parámetros no pueden contener caracteres NUL."]}
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    too_large = client.post("/api/v1/change-requests/", json.dumps({"description": "x" * 2000}),
                            content_type="application/json", **spanish)
    assert assert_json_error(too_large, 413) == {
        "detail": "El cuerpo de la solicitud es demasiado grande. Como mucho 1000 bytes."}


def test_unknown_pages_elsewhere_stay_html(db, client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_a_missing_meetings_calendar_is_a_json_404(db, client, debug):
    body = assert_json_error(client.get("/api/v1/meetings/no-such-meeting/calendar.ics"), 404)
    assert "slug" in body["detail"]


def test_a_method_not_allowed_is_json_with_allow(db, client, debug):
    response = client.post("/client_interface/json/?switcher=GetServerInfo")
    assert_json_error(response, 405)
    assert response["Allow"] == "GET, HEAD"
    response = client.delete("/api/v1/meetings/")
    assert_json_error(response, 405)
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_a_method_a_page_does_not_answer_says_which_it_does(db, client, debug, method):
    """Found by the review of 2 December: a POST (or PUT, DELETE) to the search
    page was a 405 with an empty body, saying nothing."""
    response = getattr(client, method)("/")
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == "Method not allowed. This address answers GET, HEAD."
    spanish = getattr(client, method)("/", HTTP_ACCEPT_LANGUAGE="es")
    assert spanish.status_code == 405 and spanish["Content-Language"] == "es"
    assert spanish.content.decode() == "Método no permitido. Esta dirección responde a GET, HEAD."


def test_an_unsatisfiable_accept_header_is_json_406(db, client, debug):
    assert_json_error(client.get("/api/v1/fellowships/", HTTP_ACCEPT="application/xml"), 406)


def test_a_body_over_the_limit_is_json_413(db, client, settings, debug):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"description": "x" * 2000, "meeting": "m"})
    response = client.post("/api/v1/change-requests/", body, content_type="application/json")
    assert_json_error(response, 413)


@pytest.mark.parametrize("path", ["/api/v1/meetings/", "/api/v1/feeds/meeting-guide.json", "/api/v1/changes/",
                                  "/client_interface/json/?switcher=GetServerInfo&"])
def test_a_query_of_too_many_parameters_is_a_json_400_naming_the_query(db, client, debug, path):
    """Found by the review of 1 December: past DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000
    by default, about 3 kB of `a=&`) every route answered Django's bare HTML page,
    on API paths too, saying nothing of what was wrong."""
    query = "&".join(["a="] * (settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    body = assert_json_error(client.get(path + ("" if path.endswith("&") else "?") + query), 400)
    assert body == {"query": [f"The query has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} parameters."]}
    spanish = client.get(path + ("" if path.endswith("&") else "?") + query, HTTP_ACCEPT_LANGUAGE="es")
    assert assert_json_error(spanish, 400) == {
        "query": [f"La consulta tiene más de {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} parámetros."]}


def test_a_page_of_too_many_parameters_is_a_400_naming_the_query(db, client):
    query = "&".join(["a="] * (settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    for path in ("/", "/meetings/any-meeting/"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400
        assert response.content.decode() == (
            f"query: The query has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} parameters.")


def too_many_fields() -> dict:
    """A form of one field past DATA_UPLOAD_MAX_NUMBER_FIELDS, as the test client sends it (multipart)."""
    return {"a": [""] * (settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}


def too_many_fields_urlencoded() -> str:
    """The same, as a browser's form sends it."""
    return "&".join(["a="] * (settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))


def post_too_many_fields(client, path: str, encoding: str, **headers):
    if encoding == "multipart":
        return client.post(path, too_many_fields(), **headers)
    return client.post(path, too_many_fields_urlencoded(), content_type="application/x-www-form-urlencoded",
                       **headers)


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
@pytest.mark.parametrize("path", ["/meetings/{slug}/", "/i18n/setlang/", "/admin/meetings/meeting/"])
def test_a_form_of_too_many_fields_on_a_page_is_a_400_naming_the_form(vocabularies, client, debug, path, encoding):
    """Found by the review of 1 December: a form posted with more fields than
    DATA_UPLOAD_MAX_NUMBER_FIELDS got Django's bare "Bad Request (400)" page
    (the CSRF check or the view met it), saying nothing of what was wrong."""
    path = path.format(slug=make_meeting(name="Early Birds").slug)
    if path.startswith("/admin/"):  # a curator's bulk action on more meetings than that
        client.force_login(get_user_model().objects.create_superuser("curator", "curator@example.org", "not-real"))
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    response = post_too_many_fields(client, path, encoding)
    assert response.status_code == 400
    assert response.content.decode() == f"form: The form has more than {limit} fields."
    spanish = post_too_many_fields(client, path, encoding, HTTP_ACCEPT_LANGUAGE="es")
    assert spanish.status_code == 400 and spanish["Content-Language"] == "es"
    assert spanish.content.decode() == f"form: El formulario tiene más de {limit} campos."


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_an_api_form_of_too_many_fields_is_a_json_400_naming_the_form(db, client, debug, encoding):
    """Before: {"detail": "Bad request."}, naming nothing."""
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    body = assert_json_error(post_too_many_fields(client, "/api/v1/change-requests/", encoding), 400)
    assert body == {"form": [f"The form has more than {limit} fields."]}
    spanish = post_too_many_fields(client, "/api/v1/change-requests/", encoding, HTTP_ACCEPT_LANGUAGE="es")
    assert assert_json_error(spanish, 400) == {"form": [f"El formulario tiene más de {limit} campos."]}


@pytest.mark.parametrize("path", ["/meetings/{slug}/", "/api/v1/change-requests/"])
def test_a_form_of_too_many_files_is_a_400_naming_the_form(vocabularies, client, debug, path):
    """Past DATA_UPLOAD_MAX_NUMBER_FILES (100) Django refuses a multipart form
    with its bare "Bad Request (400)" page, or DRF's {"detail": "Bad request."}."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    path = path.format(slug=make_meeting(name="Early Birds").slug)
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES

    def said(**headers) -> str:
        files = {"f": [SimpleUploadedFile(f"{n}.txt", b"x") for n in range(limit + 1)]}
        response = client.post(path, files, **headers)
        if path.startswith("/api/"):
            return assert_json_error(response, 400)["form"][0]
        assert response.status_code == 400
        return response.content.decode().removeprefix("form: ")

    assert said() == f"The form has more than {limit} files."
    assert said(HTTP_ACCEPT_LANGUAGE="es") == f"El formulario tiene más de {limit} archivos."


BROKEN_BASE64_PART = (b"--abc\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n"
                      b"Content-Transfer-Encoding: base64\r\n\r\nabc\r\n--abc--\r\n")  # 3 of 4 characters


@pytest.mark.parametrize("content_type, body", [
    ("multipart/form-data", b"--x\r\nnot a form"),
    ("multipart/form-data; boundary=", b"--x\r\nnot a form"),
    ('multipart/form-data; boundary=""', b"--x\r\nnot a form"),
    ("multipart/form-data; boundary=abc", BROKEN_BASE64_PART),
], ids=["no boundary", "empty boundary", "quoted empty boundary", "broken base64 part"])
@pytest.mark.parametrize("path", ["/meetings/{slug}/", "/i18n/setlang/", "/admin/login/"])
def test_a_broken_multipart_form_on_a_page_is_a_400_naming_the_form(vocabularies, client, debug, path,
                                                                    content_type, body):
    """Found by the review of 2 December: a form posted as multipart that
    cannot be split into its parts (no boundary, a part that does not decode)
    got Django's bare "Bad Request (400)" page, naming nothing."""
    path = path.format(slug=make_meeting(name="Early Birds").slug)

    def said(**headers) -> str:
        response = client.generic("POST", path, body, content_type=content_type, **headers)
        assert response.status_code == 400 and response["Content-Type"] == "text/plain; charset=utf-8"
        return response.content.decode()

    assert said() == "form: The form cannot be read as multipart: its boundary, its length or one of its parts is broken."
    assert said(HTTP_ACCEPT_LANGUAGE="es") == ("form: El formulario no se puede leer como multipart: su separador, "
                                               "su longitud o una de sus partes no es válida.")


@pytest.fixture
def broken_search(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("secret internals: /etc/meetingfinder/password")

    monkeypatch.setattr(api_views, "SearchResults", fail)


def test_a_server_error_is_generic_json_without_a_traceback(db, quiet_client, broken_search, debug):
    response = quiet_client.get("/api/v1/meetings/")
    body = assert_json_error(response, 500)
    assert body == {"detail": "Server error: it has been logged."}
    assert b"secret internals" not in response.content


def refuse(error_class):
    def wrapper(execute, sql, params, many, context):
        raise error_class("could not connect to server: Connection refused")

    return wrapper


@pytest.mark.parametrize("error_class", [OperationalError, InterfaceError])
@pytest.mark.parametrize("path", ["/api/v1/meetings/", "/api/v1/meetings/some-meeting/", "/api/v1/fellowships/",
                                  "/api/v1/changes/", "/api/v1/feeds/meeting-guide.json",
                                  "/api/v1/meetings/some-meeting/calendar.ics",
                                  "/client_interface/json/?switcher=GetServiceBodies"])
def test_an_unreachable_database_is_a_json_503_with_retry_after_on_api_paths(
        vocabularies, quiet_client, debug, error_class, path):
    with connection.execute_wrapper(refuse(error_class)):
        response = quiet_client.get(path)
    body = assert_json_error(response, 503)
    assert "try again" in body["detail"]
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize("path", ["/", "/?near=92660", "/meetings/some-meeting/"])
def test_an_unreachable_database_is_a_short_html_503_on_pages(vocabularies, quiet_client, debug, path):
    with connection.execute_wrapper(refuse(OperationalError)):
        response = quiet_client.get(path)
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert int(response["Retry-After"]) > 0
    assert b"try again" in response.content and len(response.content) < 1000


@pytest.mark.parametrize("path", ["/?near=92660", "/api/v1/meetings/"])
def test_an_unreachable_database_is_said_in_the_persons_language(vocabularies, quiet_client, debug, path):
    """The database is down, so the language is read from the request alone
    (its header, or the site's language cookie): a person reading Spanish is
    told to wait in Spanish, a program in the language it asks for."""
    with connection.execute_wrapper(refuse(OperationalError)):
        by_header = quiet_client.get(path, HTTP_ACCEPT_LANGUAGE="es")
        quiet_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
        by_cookie = quiet_client.get(path, HTTP_ACCEPT_LANGUAGE="en")
    for response in (by_header, by_cookie):
        assert response.status_code == 503 and response["Content-Language"] == "es"
        assert "Accept-Language" in response["Vary"] and int(response["Retry-After"]) > 0
        assert "vuelve a intentarlo" in response.content.decode().lower()
    if path == "/?near=92660":
        assert '<html lang="es">' in by_header.content.decode()


def test_a_database_on_a_closed_port_is_a_503_not_a_500():
    """The real thing: settings pointing at a port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "client = Client(raise_request_exception=False)\n"
        "answers = [client.get(p) for p in ('/api/v1/meetings/', '/')]\n"
        "print(json.dumps([[a.status_code, a['Content-Type'], a.get('Retry-After')] for a in answers]))\n"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "meetingfinder.settings", "DJANGO_DEBUG": "false",
                   "DJANGO_SECRET_KEY": "test-only-key-never-used-in-production-5d2f8b1c9e4a7f3b6d0c",
                   "DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/mf_nowhere",
                   "DATABASE_CONN_MAX_AGE": "0"}
    finished = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True,
                              text=True, timeout=60)
    assert finished.returncode == 0, finished.stderr[-2000:]
    (api_status, api_type, api_retry), (page_status, page_type, page_retry) = json.loads(
        finished.stdout.strip().splitlines()[-1])
    assert (api_status, api_type.split(";")[0], page_status, page_type.split(";")[0]) == (
        503, "application/json", 503, "text/html")
    assert int(api_retry) > 0 and int(page_retry) > 0


# --- the schema ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def served_schema(django_db_blocker):
    """Read once for the module (made anew, it cost each test ~0.5 s): its tests only read it."""
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


@pytest.fixture
def schema(served_schema, db):
    return served_schema


def test_every_operation_documents_its_errors_as_json(schema):
    operations = [(path, method, operation) for path, methods in schema["paths"].items()
                  for method, operation in methods.items()]
    assert len(operations) >= 10
    for path, method, operation in operations:
        for code in ("400", "404", "406", "429", "500", "503"):
            content = operation["responses"][code]["content"]
            assert list(content) == ["application/json"], (path, method, code)
        assert operation["responses"]["503"]["headers"]["Retry-After"]
        if "requestBody" in operation:
            assert "413" in operation["responses"]
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail"]


def test_the_meeting_guide_feed_is_documented_as_an_array(schema):
    ok = schema["paths"]["/api/v1/feeds/meeting-guide.json"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["type"] == "array"


def test_a_missing_meeting_is_documented_as_a_json_404(schema):
    missing = schema["paths"]["/api/v1/meetings/{slug}/"]["get"]["responses"]["404"]
    assert missing["description"] == "No published meeting has this slug."
    assert missing["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


# --- what the fuzzer found: the schema said less than the API does ------------------------------------------------

def test_a_service_body_at_the_top_has_a_null_parent_as_documented(schema, vocabularies, client):
    assert schema["components"]["schemas"]["ServiceBody"]["properties"]["parent"].get("nullable") is True
    from fellowships.models import ServiceBody

    ServiceBody.objects.create(slug="top-body", name="Top", fellowship=vocabularies["aa"])
    rows = client.get("/api/v1/service-bodies/").json()["results"]
    assert {"slug": "top-body", "parent": None}.items() <= rows[0].items()


@pytest.mark.parametrize("path", ["/api/v1/fellowships/", "/api/v1/regions/", "/api/v1/meetings/"])
def test_a_limit_past_the_largest_page_is_documented_as_accepted(schema, client, path):
    limit = next(p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] > 200
    assert client.get(path, {"limit": "201"}).status_code == 200


def test_blank_search_parameters_are_documented_as_not_given(schema, client):
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/meetings/"]["get"]["parameters"]}
    assert parameters["units"]["allowEmptyValue"] is True
    assert {"type": "string", "enum": [""]} in parameters["time_of_day"]["schema"]["items"]["anyOf"]
    assert client.get("/api/v1/meetings/", {"units": "", "time_of_day": ","}).status_code == 200


def test_every_parameter_documented_as_blank_is_not_given_takes_a_blank_value(schema, client, directory):
    """Found by the review of 1 December (schemathesis, positive data): the changes feed's `after` was
    documented as taking a blank value (allowEmptyValue) but a blank one was a 400, as `since`'s is."""
    refused = []
    for path, methods in schema["paths"].items():
        operation = methods.get("get")
        if operation is None or "{" in path:
            continue
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and parameter.get("allowEmptyValue"):
                response = client.get(path, {parameter["name"]: ""})
                if response.status_code == 400:
                    refused.append(f"{path}?{parameter['name']}=: {response.content[:100]!r}")
    assert not refused


def test_options_on_the_api_docs_is_a_405_not_a_server_error(db, quiet_client, debug):
    """The docs page is HTML made from a template its GET names: OPTIONS had
    none to render (500). It describes nothing an OPTIONS could ask."""
    response = quiet_client.options("/api/docs/")
    assert_json_error(response, 405)
    assert "OPTIONS" not in response["Allow"]
