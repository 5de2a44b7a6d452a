"""The API's route table and what every route does around its handler: token authentication
and scopes, path, query and body parsing into pydantic models, ``If-Match`` (412), the
``Idempotency-Key`` of POSTs, ETags, and errors as problem details.

``ROUTES`` is the single source of truth: the routes are registered on the blueprint from it
and the OpenAPI document (``web.api.openapi``) is generated from it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from eva_engine.errors import N_, Contended, EvaError, Text
from eva_engine.rendering.messages import FALLBACK
from eva_engine.services import idempotency
from eva_engine.services.people import directory, tokens
from eva_engine.services.people.tokens import TokenPrincipal, TokenRejected
from eva_engine.services.runtime import Caller
from eva_engine.vocabulary import TokenScope
from web.api.body import read_json
from web.api.problems import (
    TITLES,
    ApiProblem,
    FieldError,
    from_error,
    pointer,
    problem_response,
    say,
    validation_errors,
)
from web.runtime import eva

bp = Blueprint("api", __name__, url_prefix="/api/v1", template_folder="templates")

MAX_ID = 2**31 - 1
UNSTORABLE = Text(N_("Remove the character no record can store (e.g. a NUL character)."))
NO_SUCH = Text(N_("There is no such record, or it is not visible to you."))
QUERY_INVALID = Text(N_("The query is not valid: correct the parameters named."))
INPUT_INVALID = Text(N_("The input is not valid: correct the fields named."))
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")
ETAG = re.compile(r'^(?:W/)?"([0-9]{1,18})"$')  # ASCII digits: \d also takes "１"


@dataclass(frozen=True)
class Route:
    """One operation of the API."""

    method: str
    rule: str  # a Flask rule below /api/v1
    endpoint: str
    summary: str
    tag: str
    response: type[BaseModel]
    status: int = 200
    body: type[BaseModel] | None = None
    body_optional: bool = False  # an empty body counts as {}
    query: type[BaseModel] | None = None
    etag: bool = False  # the response carries the proposal's ETag
    proposal_of: Callable[[Caller, dict[str, Any]], int] | None = None  # for If-Match
    description: str = ""
    public: bool = False  # no token needed (the document and its docs page)
    files: tuple[str, ...] = ()  # answers with a file of one of these media types, not JSON
    upload: dict[str, Any] | None = None  # takes multipart/form-data with this schema, not JSON
    replayable: bool = True  # False: no Idempotency-Key (the response holds a secret to keep)

    @property
    def scope(self) -> TokenScope:
        return TokenScope.READ if self.method == "GET" else TokenScope.WRITE

    @property
    def path(self) -> str:
        """The OpenAPI path: /proposals/{proposal_id}."""
        return "/api/v1" + re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", self.rule)

    @property
    def path_params(self) -> list[tuple[str, str]]:
        """(name, converter) of each path parameter."""
        return [
            (name, conv.split("(")[0] if conv else "string")
            for conv, name in re.findall(r"<(?:([^:>]+):)?([^>]+)>", self.rule)
        ]

    @property
    def errors(self) -> list[int]:
        # 429: too many requests with a wrong token from the address (the token throttle).
        codes = [] if self.public else [401, 403, 429]
        if self.path_params or self.query is not None or not self.public:
            codes.append(404)
        if self.body is not None or self.query is not None or self.method == "POST":
            codes += [400, 422]
        if self.body is not None:
            codes.append(415)
        if self.method != "GET":
            # 409: a conflict; 422: what the command's own rules refuse (a decided proposal
            # stays on its agenda, say), even for a write with neither body nor query.
            codes += [409, 422]
        if self.proposal_of is not None:  # If-Match: unreadable (400) or stale (412)
            codes += [400, 412]
        if not self.public:
            codes.append(503)  # the database is unavailable
        return sorted(set(codes))


@dataclass
class Call:
    """What a handler gets: the caller, the parsed body and query, and the If-Match version."""

    caller: Caller
    body: Any = None
    query: Any = None
    expected_version: int | None = None


@dataclass
class Reply:
    value: Any
    status: int | None = None
    version: int | None = None  # the proposal's row version: the ETag
    location: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None  # a file (``Route.files``) instead of ``value``
    media_type: str | None = None


ROUTES: list[Route] = []


def api_route(
    method: str,
    rule: str,
    *,
    summary: str,
    tag: str,
    response: type[BaseModel],
    **options: Any,
) -> Callable[[Callable[..., Reply]], Callable[..., Reply]]:
    def decorate(handler: Callable[..., Reply]) -> Callable[..., Reply]:
        route = Route(
            method=method,
            rule=rule,
            endpoint=handler.__name__,
            summary=summary,
            tag=tag,
            response=response,
            description=(handler.__doc__ or "").strip(),
            **options,
        )
        ROUTES.append(route)
        bp.add_url_rule(
            rule, endpoint=route.endpoint, view_func=_view(route, handler), methods=[method]
        )
        return handler

    return decorate


def _unstorable(path: list[str | int]) -> FieldError:
    return FieldError(location=_dotted(path), pointer=pointer(path), detail=say(UNSTORABLE))


def _bad_strings(value: Any, path: list[str | int]) -> list[FieldError]:
    """Strings no database stores: NUL characters and lone surrogates."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return [_unstorable(path)]
        if "\x00" in value:
            return [_unstorable(path)]
        return []
    if isinstance(value, dict):
        found: list[FieldError] = []
        for key, item in value.items():
            found += _bad_strings(key, [*path, "(key)"]) + _bad_strings(item, [*path, key])
        return found
    if isinstance(value, list):
        return [e for i, item in enumerate(value) for e in _bad_strings(item, [*path, i])]
    return []


def _dotted(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _principal() -> TokenPrincipal:
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise TokenRejected(Text(N_("Send an API token: Authorization: Bearer and the token.")))
    return tokens.authenticate(eva(), raw.strip())


def _path_values(route: Route, values: dict[str, Any]) -> None:
    for name, converter in route.path_params:
        value = values[name]
        if converter == "int" and not 1 <= value <= MAX_ID:
            raise ApiProblem(404, "not_found", NO_SUCH)
        if isinstance(value, str) and (len(value) > 200 or _bad_strings(value, [])):
            raise ApiProblem(404, "not_found", NO_SUCH)


def _query(route: Route) -> Any:
    if route.query is None:
        return None
    raw = request.args.to_dict(flat=True)
    bad = [
        FieldError(location=f"query.{k}", detail=say(UNSTORABLE))
        for k, v in raw.items()
        if _bad_strings(v, []) or _bad_strings(k, [])
    ]
    if bad:
        raise ApiProblem(422, "invalid_input", QUERY_INVALID, bad)
    try:
        return route.query.model_validate(raw)
    except ValidationError as exc:
        raise ApiProblem(
            422, "invalid_input", QUERY_INVALID, validation_errors(exc, "query")
        ) from exc


def _json_body(route: Route) -> Any:
    """Strictly (web.api.body): size, media type, UTF-8, no duplicate keys or huge numbers."""
    return read_json(optional=route.body_optional)


def _body(route: Route, raw: Any) -> Any:
    if route.body is None:
        return None
    bad = _bad_strings(raw, [])
    if bad:
        raise ApiProblem(422, "invalid_input", INPUT_INVALID, bad)
    try:
        return route.body.model_validate(raw)
    except ValidationError as exc:
        raise ApiProblem(422, "invalid_input", INPUT_INVALID, validation_errors(exc)) from exc


def _expected_version(route: Route, caller: Caller, values: dict[str, Any]) -> int | None:
    header = request.headers.get("If-Match")
    if header is None or route.proposal_of is None:
        return None
    header = header.strip()
    if header == "*":
        route.proposal_of(caller, values)  # it must exist
        return None
    tags = [ETAG.match(part.strip()) for part in header.split(",")]
    if not all(tags):
        raise ApiProblem(
            400,
            "invalid_header",
            Text(N_('If-Match takes the ETag of the proposal, e.g. "3".')),
            [FieldError(location="header.If-Match", detail=say(Text(N_("This is not an ETag."))))],
        )
    wanted = {int(t.group(1)) for t in tags if t}
    proposal_id = route.proposal_of(caller, values)
    current = directory.proposal_version(eva(), caller, proposal_id)
    if current not in wanted:
        raise ApiProblem(
            412,
            "precondition_failed",
            Text(
                N_(
                    "The proposal is at version %(current)s, not %(wanted)s: read it again and "
                    "redo the change."
                ),
                {"current": current, "wanted": ", ".join(map(str, sorted(wanted)))},
            ),
            headers={"ETag": f'"{current}"'},
        )
    return current


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise ApiProblem(
            400,
            "invalid_header",
            Text(N_("An Idempotency-Key is 1-200 visible ASCII characters, e.g. a UUID.")),
            [
                FieldError(
                    location="header.Idempotency-Key",
                    detail=say(Text(N_("This is not a valid key."))),
                )
            ],
        )
    return key


def _request_hash(raw_body: Any) -> str:
    canonical = json.dumps(raw_body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = f"{request.method} {request.path}\n{request.query_string.decode('latin-1')}\n{canonical}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _render(route: Route, reply: Reply) -> Response:
    if reply.content is not None and reply.media_type in route.files:
        response = Response(reply.content, status=reply.status or route.status)
        response.headers["Content-Type"] = reply.media_type
        response.headers["Cache-Control"] = "no-store"
        response.headers.update(reply.headers)
        return response
    if not isinstance(reply.value, route.response):  # pragma: no cover - a programming error
        raise TypeError(f"{route.endpoint} returned {type(reply.value).__name__}")
    response = Response(reply.value.model_dump_json(), status=reply.status or route.status)
    response.mimetype = "application/json"
    response.headers["Cache-Control"] = "no-store"
    if reply.version is not None:
        response.headers["ETag"] = f'"{reply.version}"'
    if reply.location:
        response.headers["Location"] = reply.location
    response.headers.update(reply.headers)
    return response


def _replay(stored: idempotency.StoredResponse) -> Response:
    response = Response(stored.body, status=stored.status_code)
    response.mimetype = "application/json"
    for name, value in stored.headers.items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _body_fields(route: Route) -> frozenset[str]:
    return frozenset(route.body.model_fields) if route.body is not None else frozenset()


def _view(route: Route, handler: Callable[..., Reply]) -> Callable[..., Response]:
    def view(**values: Any) -> Response:
        try:
            return _handle(route, handler, values)
        except ApiProblem as problem:
            return problem_response(
                problem.status, problem.code, problem.detail, problem.errors, problem.headers
            )
        except Contended:
            raise  # the entry point runs the request's unit of work again, then a 409
        except EvaError as error:
            return from_error(error, _body_fields(route))
        except ValidationError as exc:  # a service command built from a valid body
            return problem_response(422, "invalid_input", INPUT_INVALID, validation_errors(exc))
        except HTTPException as exc:
            code = exc.code or 400
            return problem_response(code, "http_error", Text(TITLES.get(code, FALLBACK.template)))

    view.__name__ = route.endpoint
    return view


def _handle(route: Route, handler: Callable[..., Reply], values: dict[str, Any]) -> Response:
    if route.public:
        return _render(route, handler(Call(caller=Caller(None, "api")), **values))
    principal = _principal()
    if route.scope not in principal.scopes:
        raise ApiProblem(
            403,
            "insufficient_scope",
            Text(
                N_("This token lacks the %(scope)s scope: make a token that has it."),
                {"scope": route.scope.value},
            ),
            headers={
                "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{route.scope}"'
            },
        )
    caller = principal.caller
    _path_values(route, values)
    query = _query(route)
    raw_body = _json_body(route) if route.body is not None else None
    body = _body(route, raw_body)
    call = Call(caller=caller, body=body, query=query)
    key = _idempotency_key() if route.method == "POST" and route.replayable else None
    request_hash = _request_hash(raw_body) if key else ""
    # The request's unit of work (``web.errors.EvaFlask``) holds all of it: the token check,
    # the work and, for a POST, the idempotency record; contention runs it all again.
    return eva().run(lambda: _work(route, handler, values, call, key, request_hash))


def _work(
    route: Route,
    handler: Callable[..., Reply],
    values: dict[str, Any],
    call: Call,
    key: str | None,
    request_hash: str,
) -> Response:
    caller = call.caller
    if route.method == "GET":
        call.expected_version = _expected_version(route, caller, values)
        return _render(route, handler(call, **values))
    # One transaction for the whole write: the claim of the key, the If-Match check, the
    # change and the stored response commit together, or nothing does.
    with eva().transaction() as uow:
        if key:
            stored = idempotency.claim(
                eva(), caller, key, request.method, request.path, request_hash
            )
            if stored is not None:
                if stored.request_hash != request_hash:
                    raise ApiProblem(
                        422,
                        "idempotency_key_reused",
                        Text(
                            N_("This Idempotency-Key was used for another request: use a new key.")
                        ),
                        [
                            FieldError(
                                location="header.Idempotency-Key",
                                detail=say(Text(N_("This key was used before."))),
                            )
                        ],
                    )
                return _replay(stored)
        call.expected_version = _expected_version(route, caller, values)
        # A Conflict from the service now is a concurrent change (409): a stale If-Match was
        # refused above with 412.
        response = _render(route, handler(call, **values))
        if key and 200 <= response.status_code < 300:
            idempotency.complete(
                eva(),
                caller,
                key,
                idempotency.StoredResponse(
                    method=request.method,
                    path=request.path,
                    request_hash=request_hash,
                    status_code=response.status_code,
                    body=response.get_data(as_text=True),
                    headers={
                        k: v for k, v in response.headers.items() if k in ("ETag", "Location")
                    },
                ),
            )
        elif key:
            idempotency.release(eva(), caller, key)
        uow.commit()
    return response
