"""What guards and routing conditions see: the proposal and its current assessment revision."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from eva_engine.models import (
    Alternative,
    Answer,
    FollowUp,
    FollowUpIndicator,
    Meeting,
    Mitigation,
    Proposal,
    Screening,
)
from eva_engine.vocabulary import Role
from eva_engine.workflow.definition import Effect, WorkflowBundle


@dataclass
class AssessmentSnapshot:
    screening: Screening | None = None
    alternatives: list[Alternative] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    mitigations: list[Mitigation] = field(default_factory=list)
    indicators: list[FollowUpIndicator] = field(default_factory=list)


@dataclass
class FlowContext:
    """``assessment`` is read from ``load_assessment`` the first time a guard or a route needs
    it: most steps (starting screening, passing review, signing off) never do."""

    proposal: Proposal
    actor_id: int
    actor_roles: frozenset[Role]
    bundle: WorkflowBundle
    load_assessment: Callable[[], AssessmentSnapshot]
    meeting: Meeting | None = None
    reason: str | None = None
    # The proposal's follow-ups (read only by the guards that need them).
    load_follow_ups: Callable[[], list[FollowUp]] = list

    @cached_property
    def assessment(self) -> AssessmentSnapshot:
        return self.load_assessment()

    @cached_property
    def follow_ups(self) -> list[FollowUp]:
        return self.load_follow_ups()


@dataclass
class ProposalFlow:
    """The small object the shared state machine drives: it wraps one stored proposal, so
    ``state`` reads and writes ``Proposal.state``. Effects of the transition taken are collected
    here for the service layer to apply inside the same unit of work."""

    context: FlowContext
    effects: list[Effect] = field(default_factory=list)

    @property
    def state(self) -> str:
        return self.context.proposal.state

    @state.setter
    def state(self, value: str) -> None:
        self.context.proposal.state = value
