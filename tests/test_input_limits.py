"""Limits on input, one rule per field on every channel (issue 8, item 7).

* Every text field of every service command has a maximum length, every number bounds, every
  list a maximum size (``eva_engine.services.fields``); docs/limits.md lists them and is
  checked against the commands here.
* The web forms, the API's request models and the OpenAPI document state exactly the limits
  of the command field they feed.
* A value one character over a field's limit is refused on every channel (form, API, command
  line) with a 4xx (exit code 7) that names the field, and nothing is stored; a value exactly
  at the limit is accepted on every channel.
* API bodies are strict JSON: repeated keys, NaN, integers of thousands of digits, deep
  nesting, non-UTF-8 and oversized bodies are problem+json naming what and where; any error
  below /api/ is problem+json, never an HTML page.
* Ids take the ASCII digits 0-9 only: full-width (１２) and Arabic-Indic (١٢) digits reach no
  record through a URL, a form field, a JSON string or a command-line argument.

Run ``.venv/bin/python -m tests.test_input_limits`` to write docs/limits.md again after a
limit changed."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from pydantic import BaseModel
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import AnyOf, Length

import eva_engine.services
import web.cli  # noqa: F401 - adds the web layer's one command (serve) to cli
from eva_engine.cli import cli
from eva_engine.cli.params import WholeNumber
from eva_engine.config import Settings
from eva_engine.errors import InvalidInput
from eva_engine.services.assessment import documents, screening
from eva_engine.services.attachments import commands as attachments
from eva_engine.services.command import Command
from eva_engine.services.exchange import importing
from eva_engine.services.fields import text_limits
from eva_engine.services.history import trail
from eva_engine.services.notifications import outbox
from eva_engine.services.people import accounts
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.steps import transitions
from tests.api_support import Api, make_token, problem
from tests.builders import OPERATOR, ORG, bundle, meeting_id, new_proposal, proposal_in
from tests.conftest import World
from web import create_app
from web.api import schemas
from web.api.framework import ROUTES
from web.api.openapi import document
from web.forms import CommandLength
from web.forms import WholeNumber as FormWholeNumber

ROOT = Path(__file__).resolve().parent.parent
LIMITS_DOC = ROOT / "docs" / "limits.md"
PASSWORD = "testi-salasana-123"  # noqa: S105 - a test password
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FOREIGN_DIGITS = {"full-width": FULL_WIDTH, "Arabic-Indic": ARABIC_INDIC}


# the models ---------------------------------------------------------------------------------
def command_models() -> list[type[BaseModel]]:
    """Every service command (a ``Command`` of a module of eva_engine.services)."""
    for module in pkgutil.walk_packages(eva_engine.services.__path__, "eva_engine.services."):
        importlib.import_module(module.name)
    found: dict[str, type[BaseModel]] = {}
    todo: list[type[BaseModel]] = [Command]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("eva_engine.services."):
                found[f"{sub.__module__}.{sub.__qualname__}"] = sub
    return [found[name] for name in sorted(found)]


def request_models() -> list[type[BaseModel]]:
    """The API's own request bodies and queries (``web.api.schemas.Body``)."""
    return sorted(
        {m for m in _subclasses(schemas.Body) if m.__module__ == schemas.__name__},
        key=lambda m: m.__name__,
    )


def _subclasses(base: type[BaseModel]) -> Iterator[type[BaseModel]]:
    for sub in base.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _properties(model: type[BaseModel]) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
    schema = model.model_json_schema(mode="validation")
    return schema.get("properties", {}), schema.get("$defs", {}), set(schema.get("required", []))


def _unbounded(schema: dict[str, Any], defs: dict[str, Any], where: str) -> Iterator[str]:
    """What in a field's JSON schema has no limit: a text without maxLength, a number without
    minimum and maximum, a list without maxItems."""
    if "$ref" in schema:
        target = defs.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
        if "enum" in target or "properties" in target:
            return  # a vocabulary, or a model checked as a command of its own
    for option in schema.get("anyOf", []):
        yield from _unbounded(option, defs, where)
    kind = schema.get("type")
    if kind == "string" and not ({"enum", "const", "format"} & set(schema)):
        if "maxLength" not in schema:
            yield f"{where}: text without maxLength"
    elif kind == "integer" and not ({"minimum", "maximum"} <= set(schema)):
        yield f"{where}: whole number without minimum and maximum"
    elif kind == "array":
        if "maxItems" not in schema:
            yield f"{where}: list without maxItems"
        yield from _unbounded(schema.get("items", {}), defs, f"{where}[]")


def test_every_field_of_every_command_and_request_is_bounded() -> None:
    models = [*command_models(), *request_models()]
    names = {m.__name__ for m in models}
    assert {"CreateProposal", "RecordScreening", "FireTrigger", "AnswerIn", "CaseRow"} <= names
    assert len(models) >= 25, names
    unbounded = [
        problem
        for model in models
        for name, schema in _properties(model)[0].items()
        for problem in _unbounded(schema, _properties(model)[1], f"{model.__name__}.{name}")
    ]
    assert unbounded == []


# docs/limits.md -----------------------------------------------------------------------------
def _kind(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        target = defs.get(name, {})
        return f"one of {', '.join(map(str, target['enum']))}" if "enum" in target else name
    if "anyOf" in schema:
        return " or ".join(_kind(s, defs) for s in schema["anyOf"] if s.get("type") != "null")
    if "const" in schema:
        return f"`{schema['const']}`"
    kind = schema.get("type")
    if kind == "array":
        return f"list of {_kind(schema.get('items', {}), defs)}"
    if kind == "string" and "format" in schema:
        return {"date": "date", "date-time": "date and time"}.get(schema["format"], "text")
    return {"string": "text", "integer": "whole number", "boolean": "yes or no"}.get(
        str(kind), str(kind)
    )


def _limit(schema: dict[str, Any]) -> str:
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return _limit(option)
    low = schema.get("minLength", schema.get("minimum", schema.get("minItems")))
    high = schema.get("maxLength", schema.get("maximum", schema.get("maxItems")))
    kind = str(schema.get("type"))
    unit = {"string": " characters", "array": " items"}.get(kind, "")
    if high is None:
        return ""
    if low is None or (low == 0 and kind != "integer"):
        return f"at most {high}{unit}"
    return f"{low}–{high}{unit}"


def _table(model: type[BaseModel]) -> list[str]:
    properties, defs, required = _properties(model)
    if not properties:
        return []  # a base class
    doc = (inspect.getdoc(model) or "").split("\n\n")[0].replace("\n", " ")
    lines = [f"#### {model.__name__}", ""]
    if doc and model.__doc__:
        lines += [doc, ""]
    lines += ["| field | type | required | limit |", "|---|---|---|---|"]
    for name, schema in properties.items():
        need = "yes" if name in required else "no"
        lines.append(f"| `{name}` | {_kind(schema, defs)} | {need} | {_limit(schema)} |")
    return [*lines, ""]


def limits_markdown() -> str:
    out = [
        "# Input limits",
        "",
        "<!-- Generated from the service commands by tests/test_input_limits.py: run",
        "     .venv/bin/python -m tests.test_input_limits after changing a limit. -->",
        "",
        "Each field's limits are declared once, on the service command that takes it",
        "(`eva_engine/services/fields.py` names the shared ones). The web forms, the API",
        "(its request models and the OpenAPI document) and the command line read them from",
        "there, so a value is accepted or refused alike on every channel, and a refusal names",
        "the field (web: 422 with the field marked; API: 422 problem+json with a JSON pointer;",
        "command line: exit code 7 and the field's name).",
        "",
        "## Rules for every field",
        "",
        "- A text is counted in characters after the spaces around it are removed; a Windows",
        "  line end (CRLF) counts as one character, as browsers count it. A NUL character or a",
        "  lone surrogate is refused (no database stores them).",
        "- A whole number written as text (a URL, a query, a form field, a JSON string, a",
        "  command-line argument) takes the ASCII digits 0-9 only: full-width `１２` and",
        "  Arabic-Indic `١٢` digits, signs, `_` separators, `true` and fractions are refused.",
        "  An id is 1 to 2147483647; a larger one, or other digits, in a URL is 404.",
        "- API bodies are strict JSON: UTF-8, at most 5 MiB (413), nested at most 32 levels; a",
        "  key repeated in an object, `NaN` and `Infinity` are 400; an integer of more than 18",
        "  digits is 422. Any error below `/api/` is `application/problem+json`.",
        "- A case import (`eva import proposals`) checks every row against `CreateProposal` and",
        "  `CaseRow` and names each problem by its line and field.",
        "- An attachment (`AddAttachment`) is a file of at most 20 MiB (`content` counts bytes;",
        "  the API's multipart upload takes that much plus its form), of a type read from its",
        "  content: PDF, PNG, JPEG, Word, Excel, OpenDocument, CSV or UTF-8 text; at most 100",
        "  per proposal; the virus scan (`EVA_ATTACHMENT_SCAN_COMMAND`), if set, must pass.",
        "",
        "## Service commands",
        "",
    ]
    by_module: dict[str, list[type[BaseModel]]] = {}
    for model in command_models():
        by_module.setdefault(model.__module__, []).append(model)
    for module, models in by_module.items():
        out += [f"### `{module}`", ""]
        for model in models:
            out += _table(model)
    out += [
        "## API requests",
        "",
        "Bodies and queries of `/api/v1` that are not service commands themselves; the fields",
        "they pass on to a command have that command's limits.",
        "",
    ]
    for model in request_models():
        out += _table(model)
    return "\n".join(out).rstrip() + "\n"


def test_docs_limits_lists_the_limits_of_every_command() -> None:
    assert LIMITS_DOC.read_text(encoding="utf-8") == limits_markdown(), (
        "docs/limits.md is out of date: run .venv/bin/python -m tests.test_input_limits"
    )


# the same limits on every channel --------------------------------------------------------------
def _significant(schema: Any) -> Any:
    """A field's schema without what only describes it (a ``$ref`` by the name it points to)."""
    if isinstance(schema, dict):
        return {
            k: str(v).rsplit("/", 1)[-1] if k == "$ref" else _significant(v)
            for k, v in schema.items()
            if k not in ("title", "description", "default")
        }
    if isinstance(schema, list):
        return [_significant(v) for v in schema]
    return schema


def _forms() -> list[type[FlaskForm]]:
    """Every form of the web layer (the app imports every view module)."""
    found: set[type[FlaskForm]] = set()
    todo: list[type[FlaskForm]] = [FlaskForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("web."):
                found.add(sub)
    return sorted(found, key=lambda f: f.__qualname__)


def test_every_text_field_of_every_form_has_the_limits_of_its_command() -> None:
    app = create_app(Settings.from_env({"EVA_DATABASE_URL": "sqlite://", "EVA_ENV": "test"}))
    forms = _forms()
    assert len(forms) >= 10
    unbounded, differing, derived = [], [], 0
    with app.test_request_context():
        for form_class in forms:
            form = form_class(meta={"csrf": False})
            for field in form:
                if not isinstance(field, StringField | TextAreaField | HiddenField):
                    continue
                checks = [
                    v
                    for v in field.validators
                    if isinstance(v, AnyOf | FormWholeNumber)
                    or (isinstance(v, Length) and v.max != -1)
                ]
                where = f"{form_class.__name__}.{field.name}"
                if not checks:
                    unbounded.append(where)
                for check in checks:
                    if not isinstance(check, CommandLength):
                        continue
                    derived += 1
                    low, high = text_limits(check.command, check.name)
                    html = str(field())
                    if (check.min if check.min != -1 else None, check.max) != (low, high) or (
                        f'maxlength="{high}"' not in html
                    ):
                        differing.append(f"{where} != {check.command.__name__}.{check.name}")
    assert unbounded == []
    assert differing == []
    assert derived >= 15


def _route_models() -> list[type[BaseModel]]:
    return list(dict.fromkeys(m for r in ROUTES for m in (r.body, r.query) if m is not None))


def test_every_request_model_and_the_openapi_document_have_the_commands_limits() -> None:
    components = document()["components"]["schemas"]
    compared, differing = 0, []
    for model in _route_models():
        properties, _, _ = _properties(model)
        command = getattr(model, "command", None) or model
        command_properties, _, _ = _properties(command)
        published = components.get(model.__name__, {}).get("properties", {})
        for name, schema in properties.items():
            if name not in command_properties:
                continue
            compared += 1
            wanted = _significant(command_properties[name])
            if _significant(schema) != wanted:
                differing.append(f"{model.__name__}.{name} (request model)")
            if model in {r.body for r in ROUTES} and _significant(published.get(name)) != wanted:
                differing.append(f"{model.__name__}.{name} (OpenAPI)")
    # Query parameters are inline in the document: each as its model states it.
    for route in ROUTES:
        if route.query is None or route.public:
            continue
        op = document()["paths"][route.path][route.method.lower()]
        params = {p["name"]: p["schema"] for p in op["parameters"] if p["in"] == "query"}
        properties, _, _ = _properties(route.query)
        for name, schema in properties.items():
            compared += 1
            if _significant(params[name]) != _significant(schema):
                differing.append(f"{route.query.__name__}.{name} (OpenAPI query)")
    assert differing == []
    assert compared >= 40


@dataclass(frozen=True)
class Limited:
    """A representative field, and how to set it through each channel."""

    command: type[BaseModel]
    name: str
    form: Callable[[Eva, str], tuple[str, dict[str, str]]]  # (address, fields)
    api: Callable[[Eva, str], tuple[str, str, dict[str, Any]]]  # (method, path, body)
    cli: Callable[[Eva, str], list[str]]
    error_id: str  # the id of the form's error element (the field is marked)
    fresh: Callable[[Eva], int]  # a proposal the change is made to

    @property
    def limit(self) -> int:
        high = text_limits(self.command, self.name)[1]
        assert high is not None, f"{self.command.__name__}.{self.name} has no limit"
        return high


_cases = {"n": 0}


def _case() -> str:
    _cases["n"] += 1
    return f"{700 + _cases['n']}/05.00.00/2026"


def _exemption(eva: Eva) -> str:
    return bundle(eva).workflow.screening.exemptions[0].id


LIMITED = {
    "ground": Limited(
        proposal_commands.CreateProposal,
        "confidentiality_ground",
        form=lambda _e, text: (
            "/proposals/new",
            {
                "case_number": _case(),
                "title_fi": "Rajatesti",
                "body": "HYVLTK",
                "presenter": "pres",
                "publicity": "confidential",
                "ground": text,
            },
        ),
        api=lambda _e, text: (
            "POST",
            "/proposals",
            {
                "organisation": ORG,
                "case_number": _case(),
                "title_fi": "Rajatesti",
                "body": "HYVLTK",
                "presenter": "pres",
                "publicity": "confidential",
                "confidentiality_ground": text,
            },
        ),
        cli=lambda _e, text: [
            "proposals",
            "create",
            "--org",
            ORG,
            "--case",
            _case(),
            "--title-fi",
            "Rajatesti",
            "--body",
            "HYVLTK",
            "--presenter",
            "pres",
            "--publicity",
            "confidential",
            "--ground",
            text,
            "--as",
            "prep",
        ],
        error_id="ground-error",
        fresh=lambda _eva: 0,
    ),
    "screening reason": Limited(
        screening.RecordScreening,
        "reason",
        form=lambda eva, text: (
            "/proposals/{pid}/screening",
            {"outcome": "exempt", "exemption": _exemption(eva), "reason": text},
        ),
        api=lambda eva, text: (
            "PUT",
            "/proposals/{pid}/screening",
            {"outcome": "exempt", "exemption": _exemption(eva), "reason": text},
        ),
        cli=lambda eva, text: [
            "screening",
            "record",
            "{pid}",
            "--outcome",
            "exempt",
            "--exemption",
            _exemption(eva),
            "--reason",
            text,
            "--as",
            "prep",
        ],
        error_id="reason-error",
        fresh=lambda eva: proposal_in(eva, "screening"),
    ),
    "step reason": Limited(
        transitions.FireTrigger,
        "reason",
        form=lambda _e, text: ("/proposals/{pid}/transitions/start_screening", {"reason": text}),
        api=lambda _e, text: (
            "POST",
            "/proposals/{pid}/transitions/start_screening",
            {"reason": text},
        ),
        cli=lambda _e, text: [
            "proposals",
            "fire",
            "{pid}",
            "start_screening",
            "--reason",
            text,
            "--as",
            "prep",
        ],
        error_id="",  # the proposal page lists the step's problems by the field's label
        fresh=new_proposal,
    ),
}


@pytest.fixture
def app(eva: Eva, world: World) -> Flask:
    for user in ("prep", "sec", "admin"):
        accounts.set_password(eva, OPERATOR, user, PASSWORD)
    settings = Settings.from_env({"EVA_DATABASE_URL": "sqlite://", "EVA_ENV": "test"})
    return create_app(settings, engine=eva, TESTING=True)


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html) or re.search(
        r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html
    )
    assert found is not None, html
    return found.group(1)


def _browser(app: Flask, username: str) -> FlaskClient:
    """A logged-in client that reads English."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": _token(page), "next": ""},
    )
    page = client.get("/").get_data(as_text=True)
    client.post("/language", data={"lang": "en", "next": "/", "csrf_token": _token(page)})
    return client


def _events(eva: Eva) -> int:
    return trail.verify(eva).verified


def _over_and_at(field: Limited) -> tuple[str, str]:
    # Spaces around and CRLF line ends do not count: the value at the limit has both.
    at = " " + "x" * (field.limit - 2) + "\r\ny "
    return "x" * (field.limit + 1), at


@pytest.mark.postgres  # VARCHAR lengths are enforced there
@pytest.mark.parametrize("kind", LIMITED)
def test_the_web_form_refuses_one_over_the_limit_and_takes_the_limit(
    app: Flask, eva: Eva, kind: str
) -> None:
    field = LIMITED[kind]
    pid = field.fresh(eva)
    client = _browser(app, "prep")
    for text, accepted in zip(_over_and_at(field), (False, True), strict=True):
        address, data = field.form(eva, text)
        address = address.format(pid=pid)
        page_address = address if "transitions" not in address else f"/proposals/{pid}"
        page = client.get(page_address).get_data(as_text=True)
        version = re.search(r'name="version"(?: type="hidden")? value="([0-9]+)"', page)
        before = _events(eva)
        fields = {**data, "csrf_token": _token(page), "version": version[1] if version else ""}
        response = client.post(address, data=fields)
        html = response.get_data(as_text=True)
        if accepted:
            assert response.status_code == 302, html
            assert _events(eva) > before
            continue
        assert response.status_code == 422, html
        assert f"at most {field.limit}. Shorten the text." in html
        if field.error_id:
            assert f'id="{field.error_id}"' in html
        else:
            assert "Reason or comment: Too long:" in html
        assert _events(eva) == before  # nothing was stored


@pytest.mark.postgres  # VARCHAR lengths are enforced there
@pytest.mark.parametrize("kind", LIMITED)
def test_the_api_refuses_one_over_the_limit_and_takes_the_limit(
    app: Flask, eva: Eva, kind: str
) -> None:
    field = LIMITED[kind]
    pid = field.fresh(eva)
    api = Api(app.test_client(), make_token(eva, "prep"))
    for text, accepted in zip(_over_and_at(field), (False, True), strict=True):
        method, path, body = field.api(eva, text)
        before = _events(eva)
        response = api.client.open(
            "/api/v1" + path.format(pid=pid), method=method, json=body, headers=api.headers()
        )
        if accepted:
            assert response.status_code in (200, 201), response.get_data(as_text=True)
            continue
        found = problem(response, 422)
        assert [e["pointer"] for e in found["errors"]] == [f"#/{field.name}"]
        assert str(field.limit) in found["errors"][0]["detail"]
        assert _events(eva) == before


@pytest.mark.postgres  # VARCHAR lengths are enforced there
@pytest.mark.parametrize("kind", LIMITED)
def test_the_command_line_refuses_one_over_the_limit_and_takes_the_limit(
    eva: Eva, world: World, kind: str
) -> None:
    field = LIMITED[kind]
    pid = field.fresh(eva)
    runner = CliRunner()
    for text, accepted in zip(_over_and_at(field), (False, True), strict=True):
        args = [a.format(pid=pid) if a == "{pid}" else a for a in field.cli(eva, text)]
        before = _events(eva)
        result = runner.invoke(cli, args, obj=eva)
        if accepted:
            assert result.exit_code == 0, (result.output, result.stderr)
            continue
        assert result.exit_code == 7, (result.output, result.stderr, result.exception)
        assert field.name in result.stderr
        assert f"at most {field.limit}" in result.stderr
        assert "Traceback" not in result.stderr
        assert _events(eva) == before


@pytest.mark.postgres  # VARCHAR lengths are enforced there
def test_a_case_import_names_the_line_and_field_of_every_over_long_value(
    eva: Eva, world: World
) -> None:
    title = "x" * (text_limits(proposal_commands.CreateProposal, "title_fi")[1] or 0)
    description = "k" * (text_limits(importing.CaseRow, "description")[1] or 0)
    rows = [
        "tunniste;asianumero;otsikko;toimielin;esittelijä;salassapitoperuste;kuvaus",
        f"A-1;{_case()};{title};HYVLTK;pres;;{description}",  # at the limits: fine
        f"A-2;{_case()};{title}y;HYVLTK;pres;;",
        f"A-3;{_case()};Esitys;HYVLTK;pres;{'g' * 501};{description}k",
    ]
    before = _events(eva)
    with pytest.raises(InvalidInput) as refused:
        importing.import_proposals(
            eva,
            Caller("prep", "import:cases.csv"),
            ORG,
            "\n".join(rows).encode(),
            "cases.csv",
            source_system="dynasty",
        )
    assert [p.location for p in refused.value.problems] == [
        'line 3, field "title_fi"',
        'line 4, field "confidentiality_ground"',
        'line 4, field "description"',
    ]
    assert all("at most" in p.message for p in refused.value.problems)
    assert _events(eva) == before


# strict JSON bodies and problem details everywhere below /api/ ---------------------------------
def _body_routes() -> list[Any]:
    return [r for r in ROUTES if r.body is not None]


def _fill(rule: str, values: dict[str, str]) -> str:
    """A Flask rule with its ``<converter:name>`` parts replaced by ``values``."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values[m.group(1)], rule)


def _path(route: Any, pid: int, assignment: int) -> str:
    # No follow-up is needed: the body is refused before the follow-up is looked up.
    values = {
        "proposal_id": str(pid),
        "assignment_id": str(assignment),
        "follow_up_id": "1",
        "comment_id": "1",
        "meeting_id": "1",
        "organisation": ORG,
        "username": "prep",
    }
    return _fill(route.rule, {**values, "trigger": "start_screening"})


BAD_BODIES = {
    "repeated key": (b'{"reason": "a", "reason": "b"}', 400, "duplicate_key", "#/reason"),
    "repeated nested key": (
        b'{"x": [{"k": 1}, {"k": 1, "k": 2}]}',
        400,
        "duplicate_key",
        "#/x/1/k",
    ),
    "huge integer": (b'{"meeting_id": ' + b"9" * 5000 + b"}", 422, "invalid_input", "#/meeting_id"),
    "NaN": (b'{"section_number": NaN}', 400, "malformed_json", "#/section_number"),
    "Infinity": (b'{"a": [1, -Infinity]}', 400, "malformed_json", "#/a/1"),
    "huge float": (b'{"a": 1e999}', 422, "invalid_input", "#/a"),
    "deep nesting": (b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}", 400, "malformed_json", None),
    "not UTF-8": (b'{"reason": "\xff"}', 400, "malformed_json", None),
}


@pytest.mark.parametrize("kind", BAD_BODIES)
def test_every_route_with_a_body_reads_it_strictly(app: Flask, eva: Eva, kind: str) -> None:
    raw, status, code, at = BAD_BODIES[kind]
    pid = new_proposal(eva)
    with eva.uow() as uow:
        assignment = uow.repos.assignments_for_proposal(pid)[0].id
    api = Api(app.test_client(), make_token(eva, "prep"))
    routes = _body_routes()
    assert len(routes) >= 9
    before = _events(eva)
    for route in routes:
        response = api.client.open(
            "/api/v1" + _path(route, pid, assignment),
            method=route.method,
            data=raw,
            headers=api.headers({"Content-Type": "application/json"}),
        )
        found = problem(response, status)
        assert found["code"] == code, (route.endpoint, found)
        if at is not None:
            assert [e.get("pointer") for e in found["errors"]] == [at], (route.endpoint, found)
    assert _events(eva) == before


JSON_FILES = {
    "repeated key": ('{"format": "eva.assessment/1", "format": "x"}', "format"),
    "huge integer": ('[{"tunniste": ' + "7" * 5000 + "}]", "[0].tunniste"),
    "NaN": ('{"cases": [{"tunniste": NaN}]}', "cases[0].tunniste"),
}


@pytest.mark.parametrize("kind", JSON_FILES)
def test_json_files_are_read_as_strictly_as_api_bodies(kind: str) -> None:
    """The command line's imports (an assessment document, a case export) refuse what the
    API refuses, naming where, instead of letting the last key win or failing with a
    traceback."""
    text, where = JSON_FILES[kind]
    for read in (
        lambda: documents.parse_document(text, "doc.json"),
        lambda: importing.read_rows(text.encode(), "cases.json", "json"),
    ):
        with pytest.raises(InvalidInput) as refused:
            read()
        assert [p.location for p in refused.value.problems] == [where]


def test_a_body_over_the_size_limit_is_a_problem_not_a_page(eva: Eva, world: World) -> None:
    settings = Settings.from_env({"EVA_DATABASE_URL": "sqlite://", "EVA_ENV": "test"})
    small = create_app(settings, engine=eva, TESTING=True)
    small.config["MAX_CONTENT_LENGTH"] = 2000
    api = Api(small.test_client(), make_token(eva, "prep"))
    found = problem(api.post("/proposals", {"title_fi": "x" * 3000}), 413)
    assert found["code"] == "request_too_large"
    assert "2000 bytes" in found["detail"]


def test_any_error_below_the_api_is_problem_json(app: Flask, eva: Eva) -> None:
    def broken() -> str:
        raise RuntimeError("an internal detail that must not be shown")

    app.add_url_rule("/api/v1/broken-on-purpose", "broken_on_purpose", broken)
    client = app.test_client()
    failed = problem(client.get("/api/v1/broken-on-purpose"), 500)
    assert failed["code"] == "internal_error"
    assert "internal detail" not in json.dumps(failed)
    assert problem(client.get("/api/elsewhere"), 404)["code"] == "http_error"
    assert problem(client.get("/api/v1/"), 404)["status"] == 404
    # The UI keeps its pages.
    assert client.get("/no-such-page").mimetype == "text/html"


# ASCII digits only ------------------------------------------------------------------------------
def _foreign(number: int, digits: dict[int, int]) -> str:
    return str(number).translate(digits)


@pytest.mark.parametrize("script", FOREIGN_DIGITS)
def test_no_api_route_reads_an_id_in_other_digits(app: Flask, eva: Eva, script: str) -> None:
    pid = new_proposal(eva)
    with eva.uow() as uow:
        assignment = uow.repos.assignments_for_proposal(pid)[0].id
    ids = {
        "proposal_id": pid,
        "assignment_id": assignment,
        "meeting_id": meeting_id(eva),
        "follow_up_id": 1,  # only POSTs name a follow-up: foreign digits are 404 before it
        "comment_id": 1,
        "attachment_id": attachments.add_attachment(
            eva,
            OPERATOR,
            attachments.AddAttachment(proposal_id=pid, file_name="a.txt", content=b"liite\n"),
        ).id,
        "token_id": 1,  # only a DELETE names a token
    }
    api = Api(app.test_client(), make_token(eva, "prep"))
    tried = 0
    for route in ROUTES:
        params = [name for name, conv in route.path_params if conv == "int"]
        if not params:
            continue
        tried += 1
        plain = {"trigger": "start_screening", **{n: str(ids[n]) for n in params}}
        foreign = {**plain, **{n: _foreign(ids[n], FOREIGN_DIGITS[script]) for n in params}}
        response = api.client.open(
            "/api/v1" + _fill(route.rule, foreign),
            method=route.method,
            json={},
            headers=api.headers(),
        )
        assert problem(response, 404)["code"] == "not_found", route.endpoint
        if route.method == "GET":  # the same address in ASCII digits is the record
            assert api.get(_fill(route.rule, plain)).status_code != 404, route.endpoint
    assert tried >= 15
    meeting = _foreign(meeting_id(eva), FOREIGN_DIGITS[script])
    listed = api.get(f"/proposals?organisation={ORG}&meeting={meeting}")
    assert "query.meeting" in {e["location"] for e in problem(listed, 422)["errors"]}


def _ui_user(endpoint: str) -> str:
    return {"meetings": "sec", "outbox": "admin"}.get(endpoint.partition(".")[0], "prep")


@pytest.mark.parametrize("script", FOREIGN_DIGITS)
def test_no_page_of_the_ui_reads_an_id_in_other_digits(app: Flask, eva: Eva, script: str) -> None:
    pid = new_proposal(eva)
    messages = outbox.list_messages(eva, OPERATOR)
    assert messages
    ids = {
        "proposal_id": pid,
        "meeting_id": meeting_id(eva),
        "message_id": messages[0].id,
        "follow_up_id": 1,  # only POSTs name a follow-up: foreign digits are 404 before it
        "comment_id": 1,
        "attachment_id": attachments.add_attachment(
            eva,
            OPERATOR,
            attachments.AddAttachment(proposal_id=pid, file_name="a.txt", content=b"liite\n"),
        ).id,
    }
    others = {"trigger": "start_screening", "area_id": "children"}
    rules = [
        (rule, re.findall(r"<int(?:\([^)]*\))?:([a-z_]+)>", rule.rule))
        for rule in app.url_map.iter_rules()
        if not rule.endpoint.startswith("api.")
    ]
    rules = [(rule, names) for rule, names in rules if names]
    assert len(rules) >= 12
    clients: dict[str, FlaskClient] = {}
    digits = FOREIGN_DIGITS[script]
    for rule, names in rules:
        user = _ui_user(rule.endpoint)
        client = clients.setdefault(user, _browser(app, user))
        token = _token(client.get("/").get_data(as_text=True))
        plain = {**others, **{n: str(ids[n]) for n in names}}
        ascii_address = _fill(rule.rule, plain)
        address = _fill(rule.rule, {**plain, **{n: _foreign(ids[n], digits) for n in names}})
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if method == "GET":
                assert client.get(ascii_address).status_code != 404, rule.endpoint
                assert client.get(address).status_code == 404, rule.endpoint
            else:
                posted = client.post(address, data={"csrf_token": token})
                assert posted.status_code == 404, rule.endpoint
    # A form field that names a proposal: ASCII digits or nothing is scheduled.
    sec = clients.setdefault("sec", _browser(app, "sec"))
    meeting = meeting_id(eva)
    page = sec.get(f"/meetings/{meeting}").get_data(as_text=True)
    sec.post(
        f"/meetings/{meeting}/items",
        data={"csrf_token": _token(page), "proposal_id": _foreign(pid, FOREIGN_DIGITS[script])},
    )
    assert proposal_queries.show(eva, OPERATOR, pid).meeting_id is None


@pytest.mark.parametrize("script", FOREIGN_DIGITS)
def test_json_strings_take_ascii_digits_only(app: Flask, eva: Eva, script: str) -> None:
    pid = proposal_in(eva, "signed_off")
    meeting = meeting_id(eva)
    api = Api(app.test_client(), make_token(eva, "sec"))
    for written in (_foreign(meeting, FOREIGN_DIGITS[script]), f"+{meeting}", f"{meeting}.0"):
        response = api.put(f"/proposals/{pid}/meeting", {"meeting_id": written})
        assert [e["pointer"] for e in problem(response, 422)["errors"]] == ["#/meeting_id"]
    assert proposal_queries.show(eva, OPERATOR, pid).meeting_id is None


def _cli_commands() -> Iterator[tuple[str, click.Command]]:
    def walk(group: click.Group, prefix: str) -> Iterator[tuple[str, click.Command]]:
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                yield from walk(command, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}", command

    yield from walk(cli, "")


def test_every_number_of_the_command_line_takes_ascii_digits_only(eva: Eva, world: World) -> None:
    numbers = {
        f"{name} {param.name}": param.type
        for name, command in _cli_commands()
        for param in command.params
        if isinstance(param.type, click.types.IntParamType | WholeNumber)
    }
    assert len(numbers) >= 12
    assert [name for name, kind in numbers.items() if not isinstance(kind, WholeNumber)] == []
    pid = new_proposal(eva)
    runner = CliRunner()
    shown = runner.invoke(cli, ["proposals", "show", str(pid), "--as", "prep"], obj=eva)
    assert shown.exit_code == 0, shown.stderr
    for digits in FOREIGN_DIGITS.values():
        args = ["proposals", "show", _foreign(pid, digits), "--as", "prep"]
        result = runner.invoke(cli, args, obj=eva)
        assert result.exit_code == 2, result.output
        assert "PROPOSAL_ID" in result.stderr
        assert "digits 0-9" in result.stderr


if __name__ == "__main__":
    LIMITS_DOC.write_text(limits_markdown(), encoding="utf-8")
    print(f"wrote {LIMITS_DOC.relative_to(ROOT)}")


@pytest.mark.parametrize("script", FOREIGN_DIGITS)
def test_an_etag_takes_ascii_digits_only(app: Flask, eva: Eva, script: str) -> None:
    pid = proposal_in(eva, "draft")
    api = Api(app.test_client(), make_token(eva, "prep"))
    version = api.get(f"/proposals/{pid}").headers["ETag"].strip('"')
    foreign = _foreign(int(version), FOREIGN_DIGITS[script])
    response = api.post(
        f"/proposals/{pid}/transitions/start_screening", {}, headers={"If-Match": f'"{foreign}"'}
    )
    assert problem(response, 400)["code"] == "invalid_header"
    assert proposal_queries.show(eva, OPERATOR, pid).state == "draft"


@pytest.mark.parametrize("script", FOREIGN_DIGITS)
def test_a_case_number_takes_ascii_digits_only(eva: Eva, world: World, script: str) -> None:
    case = _foreign(257, FOREIGN_DIGITS[script]) + "/05.00.00/2026"
    command = proposal_commands.CreateProposal(
        organisation=ORG, case_number=case, title_fi="Esitys", body="HYVLTK", presenter="pres"
    )
    with pytest.raises(InvalidInput) as refused:
        proposal_commands.create_proposal(eva, Caller("prep", "tests"), command)
    assert [p.location for p in refused.value.problems] == ["case_number"]
