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
