"""The step indicator's steps come from the workflow definition: the longest way forward from
the initial state to a final one, whatever the states are called; a state off that line (a
withdrawal, a rejection) ends it after the phases before its own."""

from __future__ import annotations

from typing import Any

from eva_engine.workflow.steps import main_line, steps
from tests.unit.flows import bundle

STATES: list[dict[str, Any]] = [
    {"id": "alpha"},
    {"id": "beta", "editable": True},
    {"id": "gamma", "phase": "ready"},
    {"id": "delta", "phase": "decided"},
    {"id": "omega", "phase": "decided", "final": True},
    {"id": "gone", "final": True},
    {"id": "refused", "phase": "decided", "final": True},
]
TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "go", "source": "alpha", "dest": "beta", "roles": ["preparer"]},
    {"trigger": "shortcut", "source": "alpha", "dest": "gamma", "roles": ["preparer"]},
    {"trigger": "ready", "source": "beta", "dest": "gamma", "roles": ["preparer"]},
    {"trigger": "back", "source": "gamma", "dest": "beta", "roles": ["preparer"]},
    {"trigger": "decide", "source": "gamma", "dest": "delta", "roles": ["secretary"]},
    {"trigger": "refuse", "source": "gamma", "dest": "refused", "roles": ["secretary"]},
    {"trigger": "finish", "source": "delta", "dest": "omega", "roles": ["preparer"]},
    {
        "trigger": "drop",
        "source": ["alpha", "beta", "gamma"],
        "dest": "gone",
        "roles": ["preparer"],
    },
]
WORKFLOW = bundle(STATES, TRANSITIONS).workflow


def test_the_main_line_is_the_longest_way_forward_to_a_final_state() -> None:
    assert [s.id for s in main_line(WORKFLOW)] == ["alpha", "beta", "gamma", "delta", "omega"]


def test_the_steps_before_the_current_one_are_done_and_those_after_it_still_to_do() -> None:
    found = [(s.state.id, s.status) for s in steps(WORKFLOW, "gamma")]
    assert found == [
        ("alpha", "done"),
        ("beta", "done"),
        ("gamma", "current"),
        ("delta", "todo"),
        ("omega", "todo"),
    ]


def test_a_state_off_the_main_line_ends_it_after_the_phases_before_its_own() -> None:
    refused = [(s.state.id, s.status) for s in steps(WORKFLOW, "refused")]
    assert refused == [
        ("alpha", "done"),
        ("beta", "done"),
        ("gamma", "done"),
        ("refused", "current"),
    ]
    assert [(s.state.id, s.status) for s in steps(WORKFLOW, "gone")] == [("gone", "current")]


def test_renamed_states_are_the_steps_under_their_new_names() -> None:
    renamed = bundle(
        [s | {"id": s["id"] + "_x"} for s in STATES],
        [
            t
            | {
                "source": [f"{s}_x" for s in t["source"]]
                if isinstance(t["source"], list)
                else t["source"] + "_x",
                "dest": t["dest"] + "_x",
            }
            for t in TRANSITIONS
        ],
    ).workflow
    assert [s.id for s in main_line(renamed)] == [
        "alpha_x",
        "beta_x",
        "gamma_x",
        "delta_x",
        "omega_x",
    ]
