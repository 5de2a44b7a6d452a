"""Errors of the API as ``application/problem+json`` (RFC 9457). Every wrong field is named in
``errors``: by a JSON Pointer into the request body (``pointer``) where it is in the body, and
always by its path (``location``, e.g. ``answers[3].direction`` or ``query.limit``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from flask import Flask, Response, current_app, request
from pydantic import BaseModel, Field, ValidationError
from werkzeug.exceptions import HTTPException

from eva_engine.errors import (
    Conflict,
    EvaError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Problem,
    TransitionNotAllowed,
    Unavailable,
)
from eva_engine.services.fields import message as field_message
from eva_engine.services.people.tokens import TokenRejected

PROBLEM_JSON = "application/problem+json"
DOCS = "/api/v1/docs"

TITLES: dict[int, str] = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


class FieldError(BaseModel):
    """One thing wrong with the request."""

    location: str = Field(
        description="Where: a field path such as answers[3].direction, "
        "query.limit or header.If-Match (empty: the request as a whole)"
    )
    pointer: str | None = Field(
        default=None,
        description="A JSON Pointer (RFC 6901) into the request body, e.g. #/answers/3",
    )
    detail: str


class ProblemDetails(BaseModel):
    """An error (RFC 9457 problem details)."""

    type: str = Field(description="A URI naming the kind of problem (documented on the docs page)")
    title: str
    status: int
    detail: str
    instance: str | None = None
    code: str = Field(description="A stable identifier of the kind of problem")
    errors: list[FieldError] = Field(default_factory=list)


class ApiProblem(Exception):
    """An HTTP error of the API layer itself (authentication, scopes, headers, body parsing)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.errors = list(errors)
        self.headers = headers or {}


_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[([0-9]+)\]")


def _segments(location: str) -> list[str] | None:
    """``answers[3].direction`` → ["answers", "3", "direction"]; None if not a field path."""
    parts: list[str] = []
    for dotted in location.split("."):
        pos = 0
        if not dotted:
            return None
        while pos < len(dotted):
            match = _SEGMENT.match(dotted, pos)
            if match is None:
                return None
            parts.append(match.group(1) or match.group(2))
            pos = match.end()
    return parts


def pointer(parts: Iterable[str | int]) -> str:
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def field_error(problem: Problem, body_fields: frozenset[str]) -> FieldError:
    parts = _segments(problem.location) if problem.location else None
    in_body = parts is not None and parts[0] in body_fields
    return FieldError(
        location=problem.location,
        pointer=pointer(parts) if in_body and parts else None,
        detail=problem.message,
    )


def validation_errors(exc: ValidationError, where: str = "body") -> list[FieldError]:
    """pydantic's errors, located in the body (pointer) or in ``query``/``path``."""
    out = []
    for item in exc.errors(include_url=False):
        loc = [p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        path = ""
        for part in loc:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = field_message(item)
        named = re.match(r"([a-z_][a-z0-9_]*): (.+)", message, re.DOTALL)
        if named and where == "body":  # a model validator that names its field
            loc, message = [*loc, named.group(1)], named.group(2)
            path = f"{path}.{named.group(1)}" if path else named.group(1)
        if where == "body":
            out.append(FieldError(location=path, pointer=pointer(loc), detail=message))
        else:
            out.append(FieldError(location=f"{where}.{path}" if path else where, detail=message))
    return out


def problem_response(
    status: int,
    code: str,
    detail: str,
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
) -> Response:
    body = ProblemDetails(
        type=f"{DOCS}#problem-{code.replace('_', '-')}",
        title=TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        instance=request.path,
        code=code,
        errors=list(errors),
    )
    response = Response(
        body.model_dump_json(exclude_none=True), status=status, mimetype=PROBLEM_JSON
    )
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


STATUS: list[tuple[type[EvaError], int]] = [
    (TokenRejected, 401),
    (NotFound, 404),
    (PermissionDenied, 403),
    (Conflict, 409),
    (TransitionNotAllowed, 409),
    (InvalidInput, 422),
    (Unavailable, 503),
]


def status_of(error: EvaError) -> int:
    return next((status for kind, status in STATUS if isinstance(error, kind)), 400)


def from_error(error: EvaError, body_fields: frozenset[str] = frozenset()) -> Response:
    status = status_of(error)
    errors = [field_error(p, body_fields) for p in getattr(error, "problems", [])]
    headers = {"WWW-Authenticate": 'Bearer realm="eva"'} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": "5"}
    return problem_response(status, error.code, error.message, errors, headers)


def problem_schema() -> dict[str, Any]:
    return ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")


# errors outside the API's views ----------------------------------------------------------------
PREFIX = "/api/"


def _in_api() -> bool:
    return request.path.startswith(PREFIX)


def error_response(error: Exception) -> Response:
    """Any error of a request below /api/ as problem details: an engine error by its kind, an
    HTTP error by its status (413: the body is too large), anything else a 500 that tells
    nothing of the inside (it is logged)."""
    if isinstance(error, EvaError):
        return from_error(error)
    if isinstance(error, HTTPException):
        status = error.code or 500
        if status == 413:
            limit = current_app.config.get("MAX_CONTENT_LENGTH")
            return problem_response(
                413,
                "request_too_large",
                f"the request is larger than {limit} bytes"
                if limit
                else "the request is too large",
            )
        headers = {k: v for k, v in error.get_headers() if k in ("Allow", "Retry-After")}
        return problem_response(status, "http_error", error.description or error.name, (), headers)
    current_app.logger.exception("unexpected error in %s %s", request.method, request.path)
    return problem_response(
        500, "internal_error", "the server could not complete the request; it has been logged"
    )


def _api_first(handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def handle(error: Any) -> Any:
        return error_response(error) if _in_api() else handler(error)

    return handle


def _anything(error: Exception) -> Any:
    if _in_api():
        return error_response(error)
    if isinstance(error, HTTPException):
        return error  # the UI's default for HTTP errors it has no page for
    raise error  # the UI's own 500


def init_app(app: Flask) -> None:
    """Below /api/ every error is problem+json, whatever raised it: the UI's error pages (which
    ``web.errors`` registered first) answer only outside the API."""
    for handlers in app.error_handler_spec.get(None, {}).values():
        for kind, handler in list(handlers.items()):
            handlers[kind] = _api_first(handler)
    app.register_error_handler(Exception, _anything)
