"""Reading a JSON request body, strictly (``eva_engine.services.fields.strict_json``). Python's
``json`` module accepts what a JSON document should not carry, and what would only surprise
later:

* the same key twice in an object (the last one silently wins): 400 ``duplicate_key``;
* ``NaN``, ``Infinity`` and ``-Infinity`` (not JSON at all): 400 ``malformed_json``;
* integers of thousands of digits (Python refuses to convert more than 4300 of them, with a
  ``ValueError`` that became a 500) and numbers no float holds: 422 ``invalid_input``; no
  field takes more than ``MAX_DIGITS`` digits;
* objects and arrays nested deeper than ``MAX_DEPTH``, and text that is not UTF-8: 400;
* a body larger than ``MAX_BODY_BYTES`` (Flask's ``MAX_CONTENT_LENGTH``): 413.

Each is a problem+json that says what is wrong and where: a JSON Pointer into the body (and
the dotted path), or the line and column of a syntax error."""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from eva_engine.errors import N_, Text
from eva_engine.services.fields import MAX_DIGITS, MAX_JSON_DEPTH, JsonRefused, strict_json
from web.api.problems import ApiProblem, FieldError, pointer, say

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_DEPTH = MAX_JSON_DEPTH

__all__ = ["MAX_BODY_BYTES", "MAX_DEPTH", "MAX_DIGITS", "parse", "read_json"]

_STATUS = {
    "malformed": (400, "malformed_json"),
    "duplicate_key": (400, "duplicate_key"),
    "number": (422, "invalid_input"),
}


def parse(data: bytes) -> Any:
    """The JSON document of ``data``, or an ApiProblem naming what is wrong and where."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiProblem(
            400,
            "malformed_json",
            Text(
                N_("The body is not UTF-8 text (byte %(byte)s at offset %(offset)s): send UTF-8."),
                {"byte": f"0x{data[exc.start]:02x}", "offset": exc.start},
            ),
            [FieldError(location="body", detail=say(Text(N_("Send the body as UTF-8 text."))))],
        ) from exc
    try:
        return strict_json(text)
    except JsonRefused as exc:
        status, code = _STATUS[exc.kind]
        if exc.line is not None:
            error = FieldError(location=exc.location, detail=say(exc.text))
        else:
            error = FieldError(
                location=exc.location, pointer=pointer(exc.path), detail=say(exc.text)
            )
        raise ApiProblem(status, code, exc.text, [error]) from exc


def _too_large() -> ApiProblem:
    limit = request.max_content_length or MAX_BODY_BYTES
    return ApiProblem(
        413,
        "request_too_large",
        Text(N_("The body is larger than %(limit)s bytes: send less at a time."), {"limit": limit}),
        [
            FieldError(
                location="body",
                detail=say(Text(N_("Send at most %(limit)s bytes."), {"limit": limit})),
            )
        ],
    )


def read_json(*, optional: bool = False) -> Any:
    """The request's JSON body; an empty one is ``{}`` when ``optional``."""
    limit = request.max_content_length or MAX_BODY_BYTES
    if request.content_length is not None and request.content_length > limit:
        raise _too_large()
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge as exc:  # a body sent without its length
        raise _too_large() from exc
    if len(data) > limit:
        raise _too_large()
    if not data.strip() and optional:
        return {}
    mimetype = request.mimetype
    if mimetype != "application/json" and not (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    ):
        raise ApiProblem(
            415,
            "unsupported_media_type",
            Text(N_("Send the body as JSON (Content-Type: application/json).")),
        )
    return parse(data)
