"""One ``transitions`` machine per published workflow version, built once and cached. A machine
drives any number of proposals: each firing wraps the stored proposal in a ProposalFlow.

The engine chooses the route (``engine.select_route`` evaluates the ``when``/``unless``
conditions once); the machine has one event per route, named by ``route_event``, without
conditions, and fires exactly the route chosen."""

from __future__ import annotations

import threading
from typing import Any, cast

from transitions import EventData, Machine

from eva_engine.workflow.context import ProposalFlow
from eva_engine.workflow.definition import Transition, Workflow


def route_event(index: int) -> str:
    """The machine's event of the workflow's ``transitions[index]``: one event per route."""
    return f"route_{index}"


def _collect_effects(transition: Transition) -> Any:
    def collect(event: EventData) -> None:
        flow = cast(ProposalFlow, event.model)
        flow.effects.extend(transition.effects)

    return collect


def build_machine(workflow: Workflow) -> Machine:
    machine = Machine(
        model=None,
        states=[{"name": s.id, "final": s.final} for s in workflow.states],
        initial=workflow.initial,
        send_event=True,
        auto_transitions=False,
        model_attribute="state",
        name=f"{workflow.name}@{workflow.version}",
    )
    for index, transition in enumerate(workflow.transitions):
        machine.add_transition(
            route_event(index),
            cast("list[Any]", transition.sources(workflow.states)),
            transition.dest,
            after=_collect_effects(transition),
        )
    return machine


class MachineCache:
    """Machines by bundle content hash. Thread-safe; a machine holds no per-proposal state."""

    def __init__(self) -> None:
        self._machines: dict[str, Machine] = {}
        self._lock = threading.Lock()
        self.builds = 0

    def get(self, key: str, workflow: Workflow) -> Machine:
        machine = self._machines.get(key)
        if machine is None:
            with self._lock:
                machine = self._machines.get(key)
                if machine is None:
                    machine = build_machine(workflow)
                    self._machines[key] = machine
                    self.builds += 1
        return machine


MACHINES = MachineCache()
