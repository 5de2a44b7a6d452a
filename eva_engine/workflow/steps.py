"""The workflow's steps as people see them: its main line (the longest way forward from the
initial state to a final one, through the states in the order the definition declares them)
and where a proposal stands on it. Nothing here names a state: it is all read from the
definition, so a renamed or reordered workflow shows its own steps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from eva_engine.workflow.definition import State, Workflow

Status = Literal["done", "current", "todo"]
PHASE_ORDER = {"preparation": 0, "ready": 1, "decided": 2}


@dataclass(frozen=True)
class Step:
    state: State
    status: Status


def main_line(workflow: Workflow) -> list[State]:
    """The longest path forward (each transition to a state declared later) from the initial
    state to a final one; of paths as long, the one reaching the earliest declared state."""
    order = {s.id: i for i, s in enumerate(workflow.states)}
    forward: dict[str, list[str]] = {s.id: [] for s in workflow.states}
    for transition in workflow.transitions:
        for source in transition.sources(workflow.states):
            if order[transition.dest] > order[source]:
                forward[source].append(transition.dest)
    length = {workflow.initial: 0}
    previous: dict[str, str] = {}
    for state in workflow.states:  # declaration order is an order of the forward edges
        if state.id not in length:
            continue
        for dest in sorted(set(forward[state.id]), key=order.__getitem__):
            if length[state.id] + 1 > length.get(dest, -1):
                length[dest] = length[state.id] + 1
                previous[dest] = state.id
    finals = [s.id for s in workflow.states if s.final and s.id in length]
    end = max(finals, key=lambda s: (length[s], -order[s])) if finals else workflow.initial
    path = [end]
    while path[-1] in previous:
        path.append(previous[path[-1]])
    return [workflow.state(s) for s in reversed(path)]


def steps(workflow: Workflow, current: str) -> list[Step]:
    """The main line with each step done, current or still to do. A state off the main line
    (withdrawn, rejected…) ends the line: the steps of the phases before its own are done, and
    it is the current step."""
    line = main_line(workflow)
    ids = [s.id for s in line]
    if current in ids:
        at = ids.index(current)
        return [
            Step(s, "done" if i < at else "current" if i == at else "todo")
            for i, s in enumerate(line)
        ]
    state = workflow.state(current)
    rank = PHASE_ORDER[state.phase]
    return [Step(s, "done") for s in line if PHASE_ORDER[s.phase] < rank] + [Step(state, "current")]
