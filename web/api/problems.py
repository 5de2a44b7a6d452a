"""Errors of the API as ``application/problem+json`` (RFC 9457). Every wrong field is named in
``errors``: by a JSON Pointer into the request body (``pointer``) where it is in the body, and
always by its path (``location``, e.g. ``answers[3].direction`` or ``query.limit``).

Titles and details are in the language the request's ``Accept-Language`` prefers of Finnish,
Swedish and English (Finnish, eva's default language, without the header), rendered from each
error's message id (``eva_engine.rendering.messages``); ``code`` stays the same in every one."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from flask import Flask, Response, current_app, request
from pydantic import BaseModel, Field, ValidationError
from werkzeug.exceptions import HTTPException

from eva_engine.errors import (
    N_,
    Conflict,
    EvaError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Problem,
    Text,
    TransitionNotAllowed,
    Unavailable,
)
from eva_engine.rendering.language import LANGUAGES
from eva_engine.rendering.messages import FALLBACK, render
from eva_engine.services import fields
from eva_engine.services.people.tokens import TokenRejected

PROBLEM_JSON = "application/problem+json"
DOCS = "/api/v1/docs"

TITLES: dict[int, str] = {
    400: N_("Bad request"),
    401: N_("Not authenticated"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    412: N_("Precondition failed"),
    413: N_("Request too large"),
    415: N_("Unsupported media type"),
    422: N_("Invalid input"),
    429: N_("Too many requests"),
    500: N_("Internal error"),
    503: N_("Service unavailable"),
}
API_DEFAULT = "fi"  # without Accept-Language: eva's default language


def api_language() -> str:
    """The reader's language: the best of fi, sv and en by ``Accept-Language``."""
    if not request.headers.get("Accept-Language"):
        return API_DEFAULT
    return request.accept_languages.best_match(LANGUAGES) or API_DEFAULT


def say(text: Text | str) -> str:
    """A message in the request's language (a ``str`` is shown as it is)."""
    return render(text, api_language()) if isinstance(text, Text) else text


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
        detail: str | Text,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(str(detail))
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
        detail=say(problem.what) if problem.what else problem.message,
    )


def validation_errors(exc: ValidationError, where: str = "body") -> list[FieldError]:
    """pydantic's errors, located in the body (pointer) or in ``query``/``path``."""
    out = []
    for item in exc.errors(include_url=False):
        loc = [p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        named = (item.get("ctx") or {}).get("field") if item["type"] == fields.MESSAGE else None
        if named:  # a model validator that names its field
            loc = [*loc, str(named)]
        path = fields.dotted(loc)
        message = say(fields.what(item))
        if where == "body":
            out.append(FieldError(location=path, pointer=pointer(loc), detail=message))
        else:
            out.append(FieldError(location=f"{where}.{path}" if path else where, detail=message))
    return out


def problem_response(
    status: int,
    code: str,
    detail: str | Text,
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
) -> Response:
    title = Text(TITLES.get(status, N_("That did not work; nothing was changed.")))
    body = ProblemDetails(
        type=f"{DOCS}#problem-{code.replace('_', '-')}",
        title=say(title),
        status=status,
        detail=say(detail),
        instance=request.path,
        code=code,
        errors=list(errors),
    )
    response = Response(
        body.model_dump_json(exclude_none=True), status=status, mimetype=PROBLEM_JSON
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = api_language()
    vary = {v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip()}
    response.headers["Vary"] = ", ".join(sorted(vary | {"Accept-Language"}))
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
    return problem_response(status, error.code, error.text or error.message, errors, headers)


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
                Text(
                    N_("The request is larger than %(limit)s bytes: send less at a time."),
                    {"limit": limit or 0},
                ),
            )
        headers = {k: v for k, v in error.get_headers() if k in ("Allow", "Retry-After")}
        return problem_response(
            status, "http_error", Text(TITLES.get(status, FALLBACK.template)), (), headers
        )
    current_app.logger.exception("unexpected error in %s %s", request.method, request.path)
    return problem_response(
        500,
        "internal_error",
        Text(N_("The server could not complete the request; it has been logged. Try again later.")),
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
