"""The workflow file format: states, transitions with roles, guards and effects, and the
screening criteria and exemptions offered to preparers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from eva_engine.checklists.definition import (
    DEFINITION_NAME,
    SNAKE,
    Checklist,
    Strict,
)
from eva_engine.localized import LocalizedText
from eva_engine.vocabulary import MeetingOutcome, NotificationKind, Role

ANY_OPEN_STATE = "*"

# Where a state stands for the meeting: still being prepared (not ready for an agenda), ready
# for one (signed off, on an agenda), or decided (the body has made its decision: approved,
# rejected, removed, in follow-up, closed). A decided proposal cannot be scheduled again.
Phase = Literal["preparation", "ready", "decided"]

# The notifications a transition may send (assignments are notified whenever one is opened).
TRANSITION_NOTICES = (
    NotificationKind.RETURNED,
    NotificationKind.SIGNED_OFF,
    NotificationKind.OUTCOME_RECORDED,
)


class State(Strict):
    id: str = Field(pattern=SNAKE)
    title: LocalizedText
    final: bool = False
    editable: bool = False  # the assessment may be edited in this state
    phase: Phase = "preparation"
    # The texts of the minutes (``TextKind``) that may be written in this state, each with the
    # roles that write it; a text not named is not written here. The loader checks the kinds
    # and roles (``loader._text_problems``).
    texts: dict[str, list[Role]] = Field(default_factory=dict)

    @property
    def decided(self) -> bool:
        """The body has decided the matter (or it left the agenda for good): no scheduling."""
        return self.phase == "decided"

    def text_writers(self, kind: str) -> list[Role] | None:
        """The roles that write the text ``kind`` in this state (None: it is not written here)."""
        return self.texts.get(kind)


class TaskKind(Strict):
    """A kind of task (assignment) the workflow's effects open and close."""

    id: str = Field(pattern=SNAKE)
    title: LocalizedText
    roles: list[Role] = Field(min_length=1)  # who may take the task over when it is named
    four_eyes: bool = False  # the proposal's preparer may never hold it


class InitialTask(Strict):
    """The task opened for the preparer when a proposal is created."""

    kind: str = Field(pattern=SNAKE)
    due_days: int = Field(ge=0, le=365)


class OpenAssignment(Strict):
    do: Literal["open_assignment"]
    kind: str = Field(pattern=SNAKE)
    assignee: Literal["preparer", "presenter", "queue"]
    roles: list[Role] = Field(default_factory=list)  # for a queue: who may take it
    due_days: int = Field(ge=0, le=365)

    @model_validator(mode="after")
    def _queue_has_roles(self) -> OpenAssignment:
        if self.assignee == "queue" and not self.roles:
            raise ValueError("a queue assignment needs the roles that may take it")
        return self


class CloseAssignments(Strict):
    do: Literal["close_assignments"]
    kinds: list[str] = Field(min_length=1)


class SetOutcome(Strict):
    do: Literal["set_outcome"]
    outcome: MeetingOutcome


class OpenFollowUps(Strict):
    """A decision's follow-ups: one task of ``kind`` per follow-up indicator of the decided
    revision, due when the indicator is, for the person ``assignee`` names."""

    do: Literal["open_follow_ups"]
    kind: str = Field(pattern=SNAKE)
    assignee: Literal["preparer", "presenter"]


class SimpleEffect(Strict):
    do: Literal["new_revision", "assign_section", "clear_meeting", "clear_outcome"]


EFFECT_TAGS = frozenset(
    {
        "open_assignment",
        "close_assignments",
        "set_outcome",
        "new_revision",
        "assign_section",
        "clear_meeting",
        "clear_outcome",
        "open_follow_ups",
    }
)

Effect = Annotated[
    OpenAssignment | CloseAssignments | SetOutcome | OpenFollowUps | SimpleEffect,
    Field(discriminator="do"),
]


class Transition(Strict):
    trigger: str = Field(pattern=SNAKE)
    source: list[str] | str
    dest: str
    title: LocalizedText
    roles: list[Role] = Field(min_length=1)
    when: list[str] = Field(default_factory=list)  # route: taken only if these conditions hold
    unless: list[str] = Field(default_factory=list)  # route: taken only if these do not hold
    guards: list[str] = Field(default_factory=list)  # must pass, else every missing item is named
    reason_required: bool = False
    reauthenticate: bool = False  # the actor proves again who they are (``Caller.confirmed``)
    notify: list[NotificationKind] = Field(default_factory=list)
    effects: list[Effect] = Field(default_factory=list)

    def sources(self, states: list[State]) -> list[str]:
        if self.source == ANY_OPEN_STATE:
            return [s.id for s in states if not s.final]
        return [self.source] if isinstance(self.source, str) else list(self.source)


class Choice(Strict):
    id: str = Field(pattern=SNAKE)
    text: LocalizedText


class ScreeningDefinition(Strict):
    criteria: list[Choice] = Field(min_length=1)
    exemptions: list[Choice] = Field(min_length=1)


class ChecklistRef(Strict):
    name: str = Field(pattern=DEFINITION_NAME)
    version: int = Field(ge=1)


class Workflow(Strict):
    kind: Literal["workflow"]
    name: str = Field(pattern=DEFINITION_NAME)
    version: int = Field(ge=1)
    title: LocalizedText
    initial: str
    checklists: list[ChecklistRef] = Field(min_length=1)
    screening: ScreeningDefinition
    task_kinds: list[TaskKind] = Field(min_length=1)
    initial_task: InitialTask
    states: list[State] = Field(min_length=2)
    transitions: list[Transition] = Field(min_length=1)

    def state(self, state_id: str) -> State:
        return next(s for s in self.states if s.id == state_id)

    def text_states(self, kind: str) -> list[State]:
        """The states in which the text ``kind`` may be written (``State.texts``)."""
        return [s for s in self.states if kind in s.texts]

    def task_kind(self, kind: str) -> TaskKind | None:
        return next((k for k in self.task_kinds if k.id == kind), None)

    def reauthenticated_triggers(self) -> frozenset[str]:
        """Triggers whose actor must prove again who they are (every route of a trigger agrees:
        the loader checks it, so a form can ask the password before the route is known)."""
        return frozenset(t.trigger for t in self.transitions if t.reauthenticate)


class WorkflowBundle(BaseModel):
    """A workflow with the exact checklists it pins: the unit that is published and hashed."""

    model_config = Strict.model_config

    workflow: Workflow
    checklists: list[Checklist]
