"""What the unit tests build without a database: small workflows and checklists made in the test
itself, and the context a guard sees, from model objects that are never stored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eva_engine.checklists.definition import Checklist
from eva_engine.models import (
    Alternative,
    Answer,
    FollowUpIndicator,
    Meeting,
    Mitigation,
    Proposal,
    Screening,
)
from eva_engine.vocabulary import Direction, Magnitude, Role, ScreeningOutcome
from eva_engine.workflow.context import AssessmentSnapshot, FlowContext
from eva_engine.workflow.definition import Workflow, WorkflowBundle

PREPARER_ID = 1
PRESENTER_ID = 2
OTHER_ID = 3


def words(text: str) -> dict[str, str]:
    """The same text in the three languages a definition needs."""
    return {"fi": text, "sv": text, "en": text}


def question(qid: str, required_at: str) -> dict[str, Any]:
    return {"id": qid, "text": words(qid), "required_at": required_at}


def checklist_data(
    areas: dict[str, list[dict[str, Any]]], name: str = "tiny", version: int = 1
) -> dict[str, Any]:
    """A checklist with one topic per area holding the questions given."""
    return {
        "kind": "checklist",
        "name": name,
        "version": version,
        "title": words(name),
        "areas": [
            {
                "id": area,
                "title": words(area),
                "topics": [{"id": "topic", "title": words("topic"), "questions": questions}],
            }
            for area, questions in areas.items()
        ],
    }


def checklist(areas: dict[str, list[dict[str, Any]]]) -> Checklist:
    return Checklist.model_validate(checklist_data(areas))


def workflow_data(
    states: Sequence[dict[str, Any]], transitions: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """A workflow of the states and transitions given (the first state is the initial one)."""
    return {
        "kind": "workflow",
        "name": "tiny-flow",
        "version": 1,
        "title": words("tiny flow"),
        "initial": states[0]["id"],
        "checklists": [{"name": "tiny", "version": 1}],
        "screening": {
            "criteria": [{"id": "criterion", "text": words("criterion")}],
            "exemptions": [{"id": "exemption", "text": words("exemption")}],
        },
        "task_kinds": [{"id": "work", "title": words("work"), "roles": ["preparer"]}],
        "initial_task": {"kind": "work", "due_days": 7},
        "states": [{"title": words(s["id"])} | s for s in states],
        "transitions": [{"title": words(t["trigger"])} | t for t in transitions],
    }


def bundle(
    states: Sequence[dict[str, Any]],
    transitions: Sequence[dict[str, Any]],
    checklists: Sequence[Checklist] = (),
) -> WorkflowBundle:
    return WorkflowBundle(
        workflow=Workflow.model_validate(workflow_data(states, transitions)),
        checklists=list(checklists) or [checklist({"area": [question("area.topic.q", "light")]})],
    )


def screening(outcome: ScreeningOutcome, participation_plan: str | None = None) -> Screening:
    return Screening(outcome=outcome, participation_plan=participation_plan, criteria=[])


def alternatives(count: int, chosen: int | None = 1) -> list[Alternative]:
    """Alternatives with ids and positions 1..count; ``chosen`` is the position chosen."""
    return [
        Alternative(id=n, position=n, title=f"Vaihtoehto {n}", chosen=n == chosen)
        for n in range(1, count + 1)
    ]


def answer(
    alternative_id: int,
    question_id: str,
    direction: Direction = Direction.NONE,
    magnitude: Magnitude | None = None,
    justification: str | None = None,
    **more: Any,
) -> Answer:
    return Answer(
        alternative_id=alternative_id,
        question_id=question_id,
        direction=direction,
        magnitude=magnitude,
        justification=justification,
        duration=more.get("duration"),
        certainty=more.get("certainty"),
    )


def mitigation(question_id: str, alternative_id: int | None) -> Mitigation:
    return Mitigation(question_id=question_id, alternative_id=alternative_id, description="Keino")


def indicator() -> FollowUpIndicator:
    return FollowUpIndicator(name="Osuus", responsible="Hyvinvointikoordinaattori")


def meeting() -> Meeting:
    return Meeting(location="Valtuustosali")


class Loads:
    """A ``load_assessment`` that counts how often the engine read the assessment."""

    def __init__(self, snapshot: AssessmentSnapshot) -> None:
        self.snapshot = snapshot
        self.calls = 0

    def __call__(self) -> AssessmentSnapshot:
        self.calls += 1
        return self.snapshot


def context(
    bundle: WorkflowBundle,
    state: str | None = None,
    *,
    roles: Sequence[Role] = (Role.PREPARER,),
    actor_id: int = PREPARER_ID,
    snapshot: AssessmentSnapshot | None = None,
    meeting: Meeting | None = None,
    reason: str | None = None,
) -> FlowContext:
    """A proposal in ``state`` (default: the workflow's initial state) prepared by PREPARER_ID
    and presented by PRESENTER_ID, as seen by ``actor_id`` holding ``roles``."""
    proposal = Proposal(
        state=state or bundle.workflow.initial,
        preparer_id=PREPARER_ID,
        presenter_id=PRESENTER_ID,
    )
    return FlowContext(
        proposal=proposal,
        actor_id=actor_id,
        actor_roles=frozenset(roles),
        bundle=bundle,
        load_assessment=Loads(snapshot or AssessmentSnapshot()),
        meeting=meeting,
        reason=reason,
    )
