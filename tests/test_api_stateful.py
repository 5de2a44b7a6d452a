"""Stateful testing of the whole API over its OpenAPI links (schemathesis): the fuzzer creates a
proposal, a meeting, a user or a token and follows the links of the answer (the new record's
id into the operations that read and change it), through WSGI with a real token. No request
may fail with a 5xx, and every answer must conform to the document (status codes, media
types, headers and schemas as documented).

Bounded in time for ``make test`` (a few tens of seconds); ``EVA_STATEFUL_EXAMPLES`` runs more
scenarios (CI), e.g. ``EVA_STATEFUL_EXAMPLES=200``."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error, positive_data_acceptance
from schemathesis.specs.openapi.checks import ignored_auth

from tests.api_support import api_app
from tests.test_api_openapi import Known, known

__all__ = ["api_app", "known"]  # fixtures

EXAMPLES = int(os.environ.get("EVA_STATEFUL_EXAMPLES") or 12)
# Every other request names testila's records where it names an organisation, a body, a case
# number, a presenter or the publicity, so that creations succeed and their links are followed.
KNOWN = {
    "organisation": "testila",
    "body": "HYVLTK",
    "case_number": "257/05.00.00/2026",
    "presenter": "pres",
    "publicity": "public",
}


def test_the_document_links_operations_for_a_client(api_app: Flask) -> None:
    doc = api_app.test_client().get("/api/v1/openapi.json").get_json()
    by_id = {op["operationId"]: op for methods in doc["paths"].values() for op in methods.values()}
    links = {
        (source, link["operationId"])
        for source, op in by_id.items()
        for response in op["responses"].values()
        for link in response.get("links", {}).values()
    }
    for wanted in [
        ("create_proposal", "get_proposal"),
        ("create_meeting", "get_meeting"),
        ("create_meeting", "add_agenda_item"),
        ("add_agenda_item", "remove_agenda_item"),
        ("create_user", "grant_role"),
        ("create_my_token", "revoke_my_token"),
    ]:
        assert wanted in links, wanted
    assert all(target in by_id for _, target in links)  # every link names a real operation


@pytest.mark.slow
def test_the_api_survives_stateful_fuzzing(api_app: Flask, known: Known) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    headers = {"Authorization": f"Bearer {known.token}"}
    servers: list[str] = []
    seen: list[str] = []
    calls: list[str] = []

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            case.headers = {**(case.headers or {}), **headers}
            calls.append(case.operation.label)
            if len(calls) % 2:
                return
            for where in (case.path_parameters, case.body):
                if isinstance(where, dict):
                    where.update({k: v for k, v in KNOWN.items() if k in where})

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            seen.append(f"{case.operation.label} {response.status_code}")
            if response.status_code >= 500:
                servers.append(f"{case.method} {case.formatted_path}: {response.status_code}")
            # Valid requests may still be refused on their meaning (a step that does not
            # exist in the state, a taken username): 4xx then is right. The token is set on
            # every request, so the check of generated (wrong) credentials does not apply:
            # tests/test_api_tokens.py and the fuzzer of tests/test_api_openapi.py test those.
            case.validate_response(
                response,
                additional_checks=[not_a_server_error],
                excluded_checks=[positive_data_acceptance, ignored_auth],
                transport_kwargs=kwargs or None,
            )

    Machine.run(
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
    )
    assert servers == []
    assert any(s.endswith((" 200", " 201")) for s in seen), seen
