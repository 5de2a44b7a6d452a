"""One ``transitions`` machine per published workflow version, built once and cached. A machine
drives any number of proposals: each firing wraps the stored proposal in a ProposalFlow."""

from __future__ import annotations

import threading
from typing import Any, cast

from transitions import EventData, Machine

from eva_engine.workflow.context import ProposalFlow
from eva_engine.workflow.definition import Transition, Workflow
from eva_engine.workflow.guards import CONDITIONS


def _condition(name: str) -> Any:
    condition = CONDITIONS[name]

    def check(event: EventData) -> bool:
        flow = cast(ProposalFlow, event.model)
        return condition(flow.context)

    check.__name__ = name
    return check


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
    for transition in workflow.transitions:
        machine.add_transition(
            transition.trigger,
            cast("list[Any]", transition.sources(workflow.states)),
            transition.dest,
            conditions=[_condition(c) for c in transition.when],
            unless=[_condition(c) for c in transition.unless],
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
