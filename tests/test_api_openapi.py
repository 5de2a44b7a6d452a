"""The OpenAPI 3.1 document: generated from the route table, complete (a route of the blueprint
missing from it fails here), valid, with a docs page that needs no scripts; and schemathesis
fuzzing every operation through the WSGI app: no 5xx, no response that breaks the schema."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, cast

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance

from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import Publicity
from tests.api_support import api_app, api_as, make_token
from tests.builders import meeting_id, new_proposal, proposal_in

__all__ = ["api_app", "api_as"]  # fixtures

CATCH_ALL = "api.not_found"


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def test_every_route_of_the_blueprint_is_in_the_document(api_app: Flask) -> None:
    doc: Any = api_app.test_client().get("/api/v1/openapi.json").json
    assert doc["openapi"] == "3.1.0"
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = {
        (openapi_path(rule.rule), method)
        for rule in api_app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.endpoint != CATCH_ALL
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    assert served - documented == set()
    assert documented - served == set()
    assert len(served) >= 24


def test_a_route_missing_from_the_table_would_be_noticed(api_app: Flask) -> None:
    """The check above compares the app's URL map with the document; a route registered
    beside the table shows up as a difference."""
    from web.api.framework import ROUTES  # noqa: PLC0415

    doc: Any = api_app.test_client().get("/api/v1/openapi.json").json
    for route in ROUTES:
        assert route.method.lower() in doc["paths"][route.path]
    rules = {r.rule for r in api_app.url_map.iter_rules() if r.endpoint.startswith("api.")}
    assert "/api/v1/openapi.json" in rules


def test_the_document_is_built_from_the_pydantic_models(api_app: Flask) -> None:
    doc: Any = api_app.test_client().get("/api/v1/openapi.json").json
    schemas = doc["components"]["schemas"]
    for name in ("ProposalView", "CreateProposal", "ProblemDetails", "AnswersBody", "TokenView"):
        if name == "TokenView":
            continue  # tokens are made in the UI and the CLI, not through the API
        assert name in schemas, sorted(schemas)
    create = doc["paths"]["/api/v1/proposals"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CreateProposal"
    }
    assert "422" in create["responses"]
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"]]
    fire = doc["paths"]["/api/v1/proposals/{proposal_id}/transitions/{trigger}"]["post"]
    assert "If-Match" in [p["name"] for p in fire["parameters"]]
    assert "412" in fire["responses"]
    problem = doc["components"]["responses"]["Problem422"]["content"]
    assert "application/problem+json" in problem
    assert "$id" not in str(schemas)


def test_the_document_is_valid_openapi(api_app: Flask) -> None:
    doc: Any = api_app.test_client().get("/api/v1/openapi.json").json
    schema = schemathesis.openapi.from_dict(doc)
    operations = list(schema.get_all_operations())
    assert len(operations) >= 24
    assert all(cast(Any, op).ok() for op in operations)


def test_the_docs_page_is_html_without_scripts(api_app: Flask) -> None:
    response = api_app.test_client().get("/api/v1/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<script" not in html
    assert " style=" not in html
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "POST /api/v1/proposals/{proposal_id}/transitions/{trigger}" in html
    assert 'id="problem-precondition-failed"' in html
    assert 'id="schema-ProposalView"' in html
    assert 'lang="en"' in html


# schemathesis ---------------------------------------------------------------------------------
@dataclass
class Known:
    """Records that exist, so that generated requests reach more than 404s."""

    token: str
    values: dict[str, list[Any]]


@pytest.fixture
def known(api_app: Flask, eva: Eva) -> Known:
    """A user with several roles, and proposals in a few states, one of them confidential."""
    pids = [proposal_in(eva, state, preparer="prep_expert") for state in FUZZ_STATES]
    pids.append(
        new_proposal(
            eva, preparer="prep_expert", publicity=Publicity.CONFIDENTIAL, ground="JulkL 24 §"
        )
    )
    with eva.uow() as uow:
        tasks = [a.id for pid in pids for a in uow.repos.assignments_for_proposal(pid)]
    meetings = [meeting_id(eva, body) for body in ("KH", "HYVLTK", "TEKLTK")]
    return Known(
        token=make_token(eva, "prep_expert"),
        values={
            "proposal_id": pids,
            "assignment_id": tasks,
            "meeting_id": meetings,
            "organisation": ["testila", "muualla"],
            "body": ["HYVLTK", "KH"],
        },
    )


FUZZ_STATES = ("draft", "screening", "assessment", "review", "signed_off")


def _use_known(case: Any, known: Known, data: st.DataObject) -> None:
    """Replace some generated values by existing ones (drawn, so hypothesis can shrink)."""
    for where in (case.path_parameters, case.query, case.body):
        if not isinstance(where, dict):
            continue
        for name in list(where):
            if name in known.values and data.draw(st.booleans()):
                where[name] = data.draw(st.sampled_from(known.values[name]))


@pytest.mark.slow
def test_the_api_survives_the_fuzzer(api_app: Flask, known: Known) -> None:
    """Every operation of the published document, 20 generated requests each, through WSGI;
    the default checks: no 5xx, responses and their status codes, media types and headers as
    documented, invalid input rejected."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    headers = {"Authorization": f"Bearer {known.token}"}
    operations = [cast(Any, result).ok() for result in schema.get_all_operations()]
    assert len(operations) >= 23, [o.label for o in operations]
    statuses: Counter[int] = Counter()
    for operation in operations:

        @given(case=operation.as_strategy(), data=st.data())
        @settings(
            max_examples=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any, data: st.DataObject) -> None:
            _use_known(case, known, data)
            # Requests valid by the schema may still be refused on their meaning (an unknown
            # cursor, a workflow step that does not exist): 4xx then is right, not a failure.
            response = case.call_and_validate(
                headers=headers, excluded_checks=[positive_data_acceptance]
            )
            statuses[response.status_code // 100] += 1

        check()
    assert statuses[2] >= 40, statuses  # the fuzzer got past the 404s too


def test_a_new_proposals_assessment_export_conforms_to_the_document(
    api_app: Flask, eva: Eva
) -> None:
    """A new revision has no alternatives yet: the export answers it as the document says
    (found by tests/test_api_stateful.py: the export was documented as the input document,
    which needs an alternative)."""
    pid = new_proposal(eva)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    operation = schema["/api/v1/proposals/{proposal_id}/assessment/export"]["GET"]
    case = operation.Case(
        path_parameters={"proposal_id": pid},
        headers={"Authorization": f"Bearer {make_token(eva, 'prep')}"},
    )
    response = case.call()
    assert response.status_code == 200
    assert response.json()["alternatives"] == []
    case.validate_response(response, excluded_checks=[positive_data_acceptance])


def test_every_operation_that_takes_if_match_documents_its_400(api_app: Flask) -> None:
    """An If-Match that is not an ETag is 400 ``invalid_header`` on every operation that
    takes one, a DELETE without a body too (found by tests/test_api_stateful.py on
    ``DELETE /meetings/{id}/agenda/{proposal_id}``)."""
    doc: Any = api_app.test_client().get("/api/v1/openapi.json").json
    taking = [
        (path, method, op)
        for path, methods in doc["paths"].items()
        for method, op in methods.items()
        if "If-Match" in [p["name"] for p in op.get("parameters", [])]
    ]
    assert len(taking) >= 18
    assert [(path, method) for path, method, op in taking if "400" not in op["responses"]] == []


def test_an_unreadable_if_match_on_a_delete_is_a_documented_400(
    api_as: Any, eva: Eva, api_app: Flask
) -> None:
    pid = proposal_in(eva, "on_agenda")
    meeting = meeting_id(eva)
    response = api_as("sec").delete(
        f"/meetings/{meeting}/agenda/{pid}", headers={"If-Match": "y%l"}
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_header"
    doc: Any = api_app.test_client().get("/api/v1/openapi.json").json
    assert (
        "400"
        in doc["paths"]["/api/v1/meetings/{meeting_id}/agenda/{proposal_id}"]["delete"]["responses"]
    )
