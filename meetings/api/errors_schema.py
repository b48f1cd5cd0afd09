"""The errors every operation can answer, in the OpenAPI schema: a
drf-spectacular postprocessing hook, so no operation can forget one. The
shapes are what meetingfinder/errors.py and DRF answer: `Error` is
`{"detail": "..."}`; `ValidationError` names each bad parameter or field,
`{"lat": ["..."]}` (a body that is not JSON at all: `{"detail": "..."}`)."""

from __future__ import annotations

ERROR = {
    "type": "object",
    "description": "An error: what went wrong, in words; never a traceback.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR = {
    "type": "object",
    "description": "Bad input: each key names a parameter or field (`proposed.time`), with its messages; "
                   "`detail` when the request as a whole is wrong (a body that is not JSON).",
    "additionalProperties": {
        "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}],
    },
}
RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}},
}
# status: (component, description), for every operation.
EVERY_OPERATION = {
    "400": ("ValidationError", "Bad input."),
    "404": ("Error", "Not found."),
    "406": ("Error", "The Accept header asks for nothing this operation can give."),
    "429": ("Error", "Too many requests from this client."),
    "500": ("Error", "Server error (logged; the body says nothing of the server's insides)."),
    "503": ("Error", "The database cannot be reached or took too long: try again after Retry-After seconds."),
}
WITH_BODY = {
    "413": ("Error", "The request body is larger than the server takes."),
    "415": ("Error", "The body is not in a media type this operation reads."),
}


# Parameters whose blank value is a 400; every other (the search's, django-filter's)
# reads a blank value as not given.
BLANK_REFUSED = {"limit", "offset", "since", "after"}


def _blank_is_not_given(parameter: dict) -> None:
    """Filters read a blank value as not given (`?units=&day=`, what an HTML
    form sends); the search ignores blank items of a comma list (`day=1,,2`)."""
    parameter["allowEmptyValue"] = True
    schema = parameter.get("schema", {})
    if schema.get("type") == "array":
        schema["items"] = {"anyOf": [schema["items"], {"type": "string", "enum": [""]}]}


def document_errors(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR
    schemas["ValidationError"] = VALIDATION_ERROR
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and parameter.get("name") not in BLANK_REFUSED:
                    _blank_is_not_given(parameter)
            responses = operation.setdefault("responses", {})
            errors = dict(EVERY_OPERATION)
            if "requestBody" in operation:
                errors.update(WITH_BODY)
            for code, (component, description) in errors.items():
                documented = responses.setdefault(code, {"description": description})
                # An operation's own words stay; the body is always the shared shape.
                documented["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}}
                if code in ("429", "503"):
                    documented["headers"] = RETRY_AFTER
    return result
