"""A workflow as a Mermaid state diagram, for documentation and review of definitions."""

from __future__ import annotations

from eva_engine.workflow.definition import Workflow


def mermaid(workflow: Workflow, language: str = "en") -> str:
    lines = ["stateDiagram-v2", f"    %% {workflow.name} v{workflow.version}"]
    for state in workflow.states:
        lines.append(f"    {state.id}: {state.title.get(language)}")
    lines.append(f"    [*] --> {workflow.initial}")
    for transition in workflow.transitions:
        label = transition.trigger
        if transition.when:
            label += f" [{' and '.join(transition.when)}]"
        roles = ", ".join(r.value for r in transition.roles)
        for source in transition.sources(workflow.states):
            lines.append(f"    {source} --> {transition.dest}: {label} ({roles})")
    lines.extend(f"    {state.id} --> [*]" for state in workflow.states if state.final)
    return "\n".join(lines) + "\n"
