import pytest
import orjson
from django.utils.translation import gettext_lazy

from meetings.api.renderers import ORJSONRenderer


def test_compact_by_default_and_indented_when_asked():
    data = {"results": [{"name": "Nooner", "distance": 1.25, "types": ["O", "D"]}]}
    compact = ORJSONRenderer().render(data, "application/json", {})
    assert compact == orjson.dumps(data)
    indented = ORJSONRenderer().render(data, "application/json; indent=4", {})
    assert b"\n" in indented and orjson.loads(indented) == data


def test_what_orjson_cannot_encode_takes_the_long_way():
    body = ORJSONRenderer().render({"detail": gettext_lazy("Not found.")}, "application/json", {})
    assert orjson.loads(body) == {"detail": "Not found."}


@pytest.mark.parametrize("path", ["/api/v1/meetings/", "/api/v1/changes/", "/api/v1/fellowships/"])
def test_an_unknown_format_is_a_400_naming_format(db, client, path):
    """Found by the review of 1 December: `?format=xml` was DRF's 404 "Not found." for a list that exists."""
    response = client.get(path, {"format": "xml"}, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400 and response.json() == {"format": ["Usa uno de estos valores: json, api."]}
    assert client.get(path, {"format": "json"}).status_code == 200


def test_an_unknown_format_of_the_schema_is_a_400(db, client):
    # The schema's first renderer is YAML: the error is the generic JSON one (meetingfinder/errors.py).
    response = client.get("/api/schema/", {"format": "xml"})
    assert response.status_code == 400 and response.json() == {"detail": "Bad request."}
    assert client.get("/api/schema/", {"format": "json"}).status_code == 200
