"""The OpenAPI 3.1 document of /api/v1, generated from the route table and the pydantic models
(JSON Schema 2020-12, which OpenAPI 3.1 uses as it is), and its docs page."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from eva_engine.services.fields import MAX_DIGITS, MAX_ID
from web.api.body import MAX_BODY_BYTES, MAX_DEPTH
from web.api.framework import ROUTES, Route
from web.api.problems import TITLES, ProblemDetails

REF = "#/components/schemas/{model}"
VERSION = "1.0.0"

DESCRIPTION = f"""\
The JSON API of eva, the ex-ante impact assessment (ennakkoarviointi) engine.

* Authenticate with a personal API token: `Authorization: Bearer eva_…` (make one on the
  page *API tokens* of the web UI, or with `eva tokens create`). Scope `read` is needed for
  GET, `write` for every change. The token acts with its user's roles, and every change is
  recorded in the audit history with the client `api:token:<id>`.
* Errors are `application/problem+json` (RFC 9457); `errors` names each wrong field.
* Proposal responses carry an `ETag` (the proposal's row version). Send it back in
  `If-Match` to change only what you read: a stale one is refused with 412.
* POST requests accept an `Idempotency-Key`: a retry with the same key and body gets the
  stored response (header `Idempotent-Replayed: true`); the same key with another body is 422.
* Bodies are strict JSON: UTF-8, at most {MAX_BODY_BYTES} bytes (413), nested at most
  {MAX_DEPTH} levels; a key repeated in an object, `NaN` or `Infinity` is 400, an integer of
  more than {MAX_DIGITS} digits 422. Every text field states its `maxLength`: the web UI and
  the command line apply the same limits (docs/limits.md). Ids in paths are the ASCII digits.
"""


ID = "$response.body#/id"
PROPOSAL_ID = {"proposal_id": ID}
MEETING_ID = {"meeting_id": ID}
IN_ORGANISATION = {"organisation": "$request.path.organisation"}
# The operations on one proposal, all reached from a proposal's answer (its id).
ON_A_PROPOSAL = (
    "get_proposal",
    "get_texts",
    "put_texts",
    "record_screening",
    "get_assessment",
    "put_assessment",
    "get_questions",
    "put_alternatives",
    "post_answers",
    "post_mitigation",
    "delete_mitigation",
    "post_indicator",
    "delete_indicator",
    "proposal_assignments",
    "proposal_history",
    "schedule",
    "get_summary",
    "summary_document",
    "export_assessment",
    "proposal_follow_ups",
    "proposal_comments",
    "add_comment",
    "list_attachments",
    "upload_attachment",
)


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: the operation a client can call next, its parameters (and body
    fields) taken from the answer (``$response.body#/…``) or from the request."""

    target: str
    parameters: dict[str, str] = field(default_factory=dict)
    body: dict[str, str] | None = None


def _name(operation_id: str) -> str:
    return "".join(part.title() for part in operation_id.split("_"))


def _to_each(targets: tuple[str, ...], parameters: dict[str, str]) -> dict[str, Link]:
    return {_name(t): Link(t, parameters) for t in targets}


def _next_step(proposal_id: str) -> Link:
    """The first step the workflow offers in the proposal's state (its ``actions``)."""
    return Link(
        "fire", {"proposal_id": proposal_id, "trigger": "$response.body#/actions/0/trigger"}
    )


# What a client (and a stateful fuzzer) can do next with an operation's answer: OpenAPI links
# from the success response, by operationId, with each parameter taken from the response.
# Every operation that needs an id some other answer gives is linked from it, so that the
# fuzzer of tests/test_api_stateful.py reaches it with a real id.
LINKS: dict[str, dict[str, Link]] = {
    "create_proposal": {**_to_each(ON_A_PROPOSAL, PROPOSAL_ID), "Fire": _next_step(ID)},
    "list_proposals": _to_each(ON_A_PROPOSAL, {"proposal_id": "$response.body#/items/0/id"}),
    "get_proposal": {
        **_to_each(ON_A_PROPOSAL[1:], PROPOSAL_ID),
        "Fire": _next_step(ID),
        "Reassign": Link("reassign", {"assignment_id": "$response.body#/assignments/0/id"}),
    },
    "fire": {"GetProposal": Link("get_proposal", {"proposal_id": "$response.body#/proposal_id"})},
    "record_screening": {"Fire": _next_step(ID)},
    "put_assessment": {"Fire": _next_step(ID)},
    "post_answers": {"Fire": _next_step(ID)},
    "put_alternatives": _to_each(
        ("post_answers", "post_mitigation", "post_indicator"), PROPOSAL_ID
    ),
    "get_assessment": {
        "DeleteMitigation": Link(
            "delete_mitigation",
            {
                "proposal_id": "$request.path.proposal_id",
                "question": "$response.body#/mitigations/0/question",
                "alternative": "$response.body#/mitigations/0/alternative",
            },
        ),
        "DeleteIndicator": Link(
            "delete_indicator",
            {
                "proposal_id": "$request.path.proposal_id",
                "name": "$response.body#/follow_up_indicators/0/name",
            },
        ),
    },
    "post_mitigation": {
        "DeleteMitigation": Link(
            "delete_mitigation",
            {
                "proposal_id": ID,
                "question": "$request.body#/question",
                "alternative": "$request.body#/alternative",
            },
        ),
    },
    "post_indicator": {
        "DeleteIndicator": Link(
            "delete_indicator", {"proposal_id": ID, "name": "$request.body#/name"}
        ),
    },
    "schedule": {"Fire": _next_step(ID)},
    "proposal_assignments": {
        "Reassign": Link("reassign", {"assignment_id": "$response.body#/items/0/id"})
    },
    "my_assignments": {
        "Reassign": Link("reassign", {"assignment_id": "$response.body#/items/0/assignment_id"}),
        "GetProposal": Link("get_proposal", {"proposal_id": "$response.body#/items/0/proposal_id"}),
    },
    "proposal_follow_ups": _to_each(
        ("record_follow_up", "waive_follow_up"),
        {"follow_up_id": "$response.body#/follow_ups/0/id"},
    ),
    "my_follow_ups": _to_each(
        ("record_follow_up", "waive_follow_up"),
        {"follow_up_id": "$response.body#/items/0/follow_up_id"},
    ),
    "proposal_comments": _to_each(
        ("reply_to_comment", "resolve_comment"),
        {"comment_id": "$response.body#/groups/0/comments/0/id"},
    ),
    "add_comment": _to_each(("reply_to_comment", "resolve_comment"), {"comment_id": ID}),
    "upload_attachment": _to_each(
        ("download_attachment", "remove_attachment"), {"attachment_id": ID}
    ),
    "list_attachments": _to_each(
        ("download_attachment", "remove_attachment"),
        {"attachment_id": "$response.body#/attachments/0/id"},
    ),
    "list_organisations": _to_each(
        (
            "list_bodies",
            "list_meetings",
            "list_users",
            "create_body",
            "create_meeting",
            "create_user",
            "organisation_report",
            "get_sso",
        ),
        {"organisation": "$response.body#/items/0/code"},
    ),
    "create_body": {
        "ListBodies": Link("list_bodies", {"organisation": "$response.body#/organisation"}),
    },
    "list_bodies": {
        "CreateMeeting": Link(
            "create_meeting", IN_ORGANISATION, body={"body": "$response.body#/items/0/code"}
        ),
    },
    "list_meetings": _to_each(
        ("get_meeting", "meeting_agenda", "list_candidates"),
        {"meeting_id": "$response.body#/items/0/id"},
    ),
    "create_meeting": _to_each(("get_meeting", "meeting_agenda", "add_agenda_item"), MEETING_ID),
    "get_meeting": _to_each(("meeting_agenda", "list_candidates"), MEETING_ID),
    "list_candidates": {
        "AddAgendaItem": Link(
            "add_agenda_item",
            {"meeting_id": "$response.body#/meeting_id"},
            body={"proposal_id": "$response.body#/candidates/0/proposal_id"},
        ),
    },
    "add_agenda_item": {
        "GetProposal": Link("get_proposal", PROPOSAL_ID),
        "MeetingAgenda": Link("meeting_agenda", {"meeting_id": "$response.body#/meeting_id"}),
        **_to_each(
            ("remove_agenda_item", "move_agenda_item"),
            {"proposal_id": ID, "meeting_id": "$response.body#/meeting_id"},
        ),
    },
    "meeting_agenda": _to_each(
        ("remove_agenda_item", "move_agenda_item"),
        {
            "meeting_id": "$response.body#/meeting/id",
            "proposal_id": "$response.body#/items/0/proposal_id",
        },
    ),
    "create_user": {
        "ListUsers": Link("list_users", {"organisation": "$response.body#/organisation"}),
        **_to_each(
            ("grant_role", "disable_user", "enable_user"),
            {
                "organisation": "$response.body#/organisation",
                "username": "$response.body#/username",
            },
        ),
    },
    "grant_role": {
        "RevokeRole": Link(
            "revoke_role",
            {
                "organisation": "$response.body#/organisation",
                "username": "$request.path.username",
                "role": "$response.body#/role",
                "body": "$response.body#/body",
            },
        ),
    },
    "disable_user": {
        "EnableUser": Link(
            "enable_user",
            {"organisation": "$request.path.organisation", "username": "$response.body#/username"},
        ),
    },
    "create_my_token": {
        "RevokeMyToken": Link("revoke_my_token", {"token_id": "$response.body#/details/id"}),
        "ListMyTokens": Link("list_my_tokens"),
    },
    "get_sso": {"PutSso": Link("put_sso", {"organisation": "$response.body#/organisation"})},
    "put_sso": {"GetSso": Link("get_sso", {"organisation": "$response.body#/organisation"})},
    "list_workflows": {"PublishWorkflows": Link("publish_workflows")},
    "verify_audit_chain": {"LastAuditCheck": Link("last_audit_check")},
    "make_audit_checkpoint": {"LastAuditCheck": Link("last_audit_check")},
}


def _links(route: Route) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, link in LINKS.get(route.endpoint, {}).items():
        out[name] = {"operationId": link.target, "parameters": link.parameters}
        if link.body is not None:
            out[name]["requestBody"] = link.body
    return out


def _clean(schema: Any) -> Any:
    """Component schemas must not carry ``$id`` (it would rebase the ``$ref``s inside)."""
    if isinstance(schema, dict):
        return {k: _clean(v) for k, v in schema.items() if k != "$id"}
    if isinstance(schema, list):
        return [_clean(v) for v in schema]
    return schema


def _response_schema(route: Route, refs: dict[Any, Any]) -> dict[str, Any]:
    ref: dict[str, Any] = refs[(route.response, "serialization")]
    return ref


def _parameters(route: Route, refs: dict[Any, Any], defs: dict[str, Any]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for name, converter in route.path_params:
        schema: dict[str, Any] = (
            {"type": "integer", "minimum": 1, "maximum": MAX_ID}
            if converter == "int"
            else {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"^[^/\x00]+$"}
        )
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    if route.query is not None:
        ref = refs[(route.query, "validation")]["$ref"]
        query_schema = defs[ref.rsplit("/", 1)[-1]]
        required = set(query_schema.get("required", []))
        for name, prop in query_schema["properties"].items():
            field = route.query.model_fields[name]
            params.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in required,
                    "schema": {k: v for k, v in prop.items() if k != "description"},
                    **({"description": field.description} if field.description else {}),
                }
            )
    if route.proposal_of is not None:
        params.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "description": 'The proposal\'s ETag as read, e.g. "3": refused with 412 if stale',
                "schema": {"type": "string", "pattern": r'^(\*|(W/)?"\d{1,18}")$'},
            }
        )
    if route.method == "POST" and not route.public and route.replayable:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Retry safely: the same key and body return the stored result",
                "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{1,200}$"},
            }
        )
    return params


def _operation(route: Route, refs: dict[Any, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ok: dict[str, Any] = {
        "description": "OK" if route.status == 200 else "Created",
        "content": (
            {t: {"schema": {"type": "string", "format": "binary"}} for t in route.files}
            if route.files
            else {"application/json": {"schema": _response_schema(route, refs)}}
        ),
    }
    headers: dict[str, Any] = {}
    if route.etag:
        headers["ETag"] = {
            "description": "The proposal's row version",
            "schema": {"type": "string"},
        }
    if route.status == 201 and route.endpoint in ("create_proposal", "create_meeting"):
        headers["Location"] = {"description": "The new record", "schema": {"type": "string"}}
    if headers:
        ok["headers"] = headers
    links = _links(route)
    if links:
        ok["links"] = links
    responses: dict[str, Any] = {str(route.status): ok}
    for code in route.errors:
        responses[str(code)] = {"$ref": f"#/components/responses/Problem{code}"}
    operation: dict[str, Any] = {
        "operationId": route.endpoint,
        "summary": route.summary,
        "tags": [route.tag],
        "responses": responses,
    }
    if route.description:
        operation["description"] = route.description
    params = _parameters(route, refs, defs)
    if params:
        operation["parameters"] = params
    if route.body is not None:
        operation["requestBody"] = {
            "required": not route.body_optional,
            "content": {"application/json": {"schema": refs[(route.body, "validation")]}},
        }
    if route.upload is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": route.upload}},
        }
    if route.public:
        operation["security"] = []
    else:
        operation["x-scope"] = route.scope.value
    return operation


@cache
def document() -> dict[str, Any]:
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ProblemDetails, "serialization")]
    for route in ROUTES:
        if route.public:
            continue
        wanted.append((route.response, "serialization"))
        if route.body is not None:
            wanted.append((route.body, "validation"))
        if route.query is not None:
            wanted.append((route.query, "validation"))
    unique = list(dict.fromkeys(wanted))
    refs, top = models_json_schema(unique, ref_template=REF)
    defs: dict[str, Any] = _clean(top.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        if route.public:
            continue
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, refs, defs)
    paths["/api/v1/openapi.json"] = {
        "get": {
            "operationId": "openapi_json",
            "summary": "This document",
            "tags": ["documentation"],
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI 3.1 document",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "429": {"$ref": "#/components/responses/Problem429"},
            },
        }
    }
    paths["/api/v1/docs"] = {
        "get": {
            "operationId": "docs",
            "summary": "The API reference as a web page",
            "tags": ["documentation"],
            "security": [],
            "responses": {
                "200": {
                    "description": "An HTML page",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                },
                # A request with a wrong token is throttled on every path (the token throttle).
                "429": {"$ref": "#/components/responses/Problem429"},
            },
        }
    }
    problem_ref = refs[(ProblemDetails, "serialization")]
    responses = {
        f"Problem{code}": {
            "description": title,
            "content": {"application/problem+json": {"schema": problem_ref}},
        }
        for code, title in TITLES.items()
    }
    tags = [*sorted({r.tag for r in ROUTES if not r.public}), "documentation"]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "eva API",
            "version": VERSION,
            "description": DESCRIPTION,
            "license": {"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": t} for t in tags],
        "security": [{"token": []}],
        "paths": paths,
        "components": {
            "schemas": defs,
            "responses": responses,
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token (eva_…), scopes read and write",
                }
            },
        },
    }


PROBLEM_CODES: dict[str, str] = {
    "unauthenticated": "401: no token, or an unknown, expired or revoked one, or a disabled user.",
    "insufficient_scope": "403: the token lacks the scope (read for GET, write for changes).",
    "permission_denied": "403: the user's roles here do not allow this.",
    "not_found": "404: no such record, or not visible to the user (another organisation's).",
    "method_not_allowed": "405: the path exists, the method does not.",
    "conflict": "409: someone changed the proposal meanwhile; read it again.",
    "transition_not_allowed": "409: the step does not exist in the proposal's state.",
    "precondition_failed": "412: If-Match names a version that is no longer current.",
    "unsupported_media_type": "415: the body must be JSON.",
    "malformed_json": "400: the body is not JSON (or not UTF-8, nested too deeply, NaN).",
    "duplicate_key": "400: a key appears twice in one object of the body (pointer names it).",
    "request_too_large": "413: the body is larger than the limit.",
    "invalid_header": "400: If-Match or Idempotency-Key cannot be read.",
    "invalid_input": "422: fields are wrong; errors names each one.",
    "guard_failed": "422: the step's conditions are not met; errors names each missing item.",
    "idempotency_key_reused": "422: the Idempotency-Key was used for another request.",
    "unavailable": "503: the database is unavailable; nothing was changed, try again.",
    "http_error": "4xx: another HTTP error (e.g. 429 too many requests).",
    "internal_error": "500: a fault of the server (logged); nothing else is told.",
}


def _type(schema: dict[str, Any]) -> str:  # noqa: PLR0911 - one case each
    """A short readable type of a JSON schema."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_type(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(repr(v) for v in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if "format" in schema:
        return f"{kind} ({schema['format']})"
    return str(kind)


def reference() -> dict[str, Any]:
    """The document arranged for the docs page."""
    doc = document()
    operations = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            operations.append(
                {
                    "id": op["operationId"],
                    "method": method.upper(),
                    "path": path,
                    "summary": op["summary"],
                    "description": op.get("description", ""),
                    "tag": op["tags"][0],
                    "scope": op.get("x-scope"),
                    "parameters": [
                        (p["name"], p["in"], p["required"], _type(p["schema"]))
                        for p in op.get("parameters", [])
                    ],
                    "body": _type(body["schema"]) if body else None,
                    "responses": [
                        (code, _type(next(iter(r["content"].values()))["schema"]))
                        if "content" in r
                        else (code, "problem")
                        for code, r in op["responses"].items()
                    ],
                }
            )
    schemas = []
    for name, schema in doc["components"]["schemas"].items():
        required = set(schema.get("required", []))
        rows = [
            (prop, _type(s), prop in required, s.get("description", ""))
            for prop, s in schema.get("properties", {}).items()
        ]
        if "enum" in schema:
            rows = [("(one of)", _type(schema), True, "")]
        schemas.append({"name": name, "description": schema.get("description", ""), "rows": rows})
    return {
        "title": doc["info"]["title"],
        "version": doc["info"]["version"],
        "description": doc["info"]["description"],
        "tags": [t["name"] for t in doc["tags"]],
        "operations": operations,
        "schemas": schemas,
        "problems": PROBLEM_CODES,
    }
