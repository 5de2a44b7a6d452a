"""Who writes a proposal's texts of the minutes is declared in the workflow, state by state
(``texts``): the loader names the file and the field of every mistake in it, the access rule
reads it, and a bundle stored before states declared it is read with the rule the code had
then (``TEXTS_BEFORE_DECLARED``). No database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from eva_engine.errors import Problem
from eva_engine.services.access import writable_texts
from eva_engine.vocabulary import Role, TextKind
from eva_engine.workflow.definition import Workflow, WorkflowBundle
from eva_engine.workflow.loader import bundle_from_json, pydantic_problems, workflow_problems
from tests.unit.flows import checklist, question, workflow_data

WHERE = "workflows/tiny.yaml"
TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "decide", "source": "preparing", "dest": "decided", "roles": ["secretary"]},
]


def states(preparing: dict[str, Any], decided: dict[str, Any] | None = None) -> list[Any]:
    return [
        {"id": "preparing", "editable": True, **preparing},
        {"id": "decided", "phase": "decided", "final": True, **(decided or {})},
    ]


def problems(preparing_texts: dict[str, Any]) -> list[str]:
    data = workflow_data(states({"texts": preparing_texts}), TRANSITIONS)
    return [str(p) for p in workflow_problems(WHERE, Workflow.model_validate(data))]


def test_a_state_says_which_texts_are_written_in_it_and_by_whom() -> None:
    flow = Workflow.model_validate(
        workflow_data(
            states(
                {"texts": {"grounds": ["preparer", "expert"], "decision_proposal": ["preparer"]}},
                {"texts": {"decision": ["secretary"]}},
            ),
            TRANSITIONS,
        )
    )
    assert workflow_problems(WHERE, flow) == []
    assert writable_texts(flow, "preparing", frozenset({Role.EXPERT})) == [TextKind.GROUNDS]
    assert writable_texts(flow, "preparing", frozenset({Role.PREPARER})) == [
        TextKind.GROUNDS,
        TextKind.DECISION_PROPOSAL,
    ]
    assert writable_texts(flow, "preparing", frozenset({Role.SECRETARY})) == []
    assert writable_texts(flow, "decided", None) == [TextKind.DECISION]  # the shell operator
    assert [s.id for s in flow.text_states(TextKind.DECISION)] == ["decided"]
    assert flow.state("decided").text_writers(TextKind.GROUNDS) is None


def test_an_unknown_text_kind_is_named_with_the_file_and_the_field() -> None:
    assert problems({"minutes": ["preparer"]}) == [
        f"{WHERE}: states[0].texts.minutes: unknown text kind 'minutes'; known text kinds: "
        "grounds, decision_proposal, decision"
    ]


def test_a_text_no_role_writes_is_reported() -> None:
    assert problems({"grounds": []}) == [
        f"{WHERE}: states[0].texts.grounds: no role writes it: name the roles that write it "
        "here, or leave the text out of this state"
    ]


def test_a_role_named_twice_is_reported() -> None:
    assert problems({"grounds": ["preparer", "expert", "preparer"]}) == [
        f"{WHERE}: states[0].texts.grounds: role 'preparer' is named 2 times"
    ]


def test_an_auditor_never_writes_a_text() -> None:
    assert problems({"decision_proposal": ["preparer", "auditor"]}) == [
        f"{WHERE}: states[0].texts.decision_proposal[1]: an auditor reads everything and "
        "changes nothing: name the roles that write the text"
    ]


def test_an_unknown_role_is_named_with_the_file_and_the_field() -> None:
    data = workflow_data(states({"texts": {"grounds": ["writer"]}}), TRANSITIONS)
    with pytest.raises(ValidationError) as invalid:
        Workflow.model_validate(data)
    found = pydantic_problems(WHERE, invalid.value)
    assert [p.location for p in found] == [f"{WHERE}: states[0].texts.grounds[0]"]
    assert "'preparer'" in found[0].message
    assert "'secretary'" in found[0].message


def test_texts_that_are_not_a_mapping_are_reported_at_the_field() -> None:
    data = workflow_data(states({"texts": ["grounds"]}), TRANSITIONS)
    with pytest.raises(ValidationError) as invalid:
        Workflow.model_validate(data)
    found: list[Problem] = pydantic_problems(WHERE, invalid.value)
    assert [p.location for p in found] == [f"{WHERE}: states[0].texts"]


def stored(*state_list: dict[str, Any]) -> str:
    """A bundle as stored by a version before ``texts``: no state says it."""
    flow = Workflow.model_validate(workflow_data(list(state_list), TRANSITIONS))
    bundle = WorkflowBundle(
        workflow=flow, checklists=[checklist({"area": [question("area.topic.q", "light")]})]
    )
    data = bundle.model_dump(mode="json")
    for state in data["workflow"]["states"]:
        state.pop("texts")
    return json.dumps(data)


def test_a_stored_state_without_texts_is_read_with_the_rule_of_its_flags_not_its_name() -> None:
    flow = bundle_from_json(
        stored(
            {"id": "preparing", "editable": True},
            {"id": "waiting"},
            {"id": "decided", "phase": "decided", "final": True},
        )
    ).workflow
    assert flow.state("preparing").texts == {
        "grounds": [Role.PREPARER],
        "decision_proposal": [Role.PREPARER],
    }
    assert flow.state("waiting").texts == {}
    assert flow.state("decided").texts == {"decision": [Role.SECRETARY]}


def test_a_stored_state_that_declares_its_texts_keeps_them_even_when_it_declares_none() -> None:
    data = json.loads(stored({"id": "preparing", "editable": True}, {"id": "decided"}))
    data["workflow"]["states"][0]["texts"] = {}
    data["workflow"]["states"][1]["texts"] = {"decision": ["presenter"]}
    flow = bundle_from_json(json.dumps(data)).workflow
    assert flow.state("preparing").texts == {}
    assert flow.state("decided").texts == {"decision": [Role.PRESENTER]}
