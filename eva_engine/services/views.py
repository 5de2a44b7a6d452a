"""What services hand back to the CLI, the web UI and the API: plain pydantic data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from eva_engine.errors import Problem, Text
from eva_engine.vocabulary import AssignmentState, MeetingOutcome, Publicity, ScreeningOutcome


class TextView(BaseModel):
    """A translatable message: its English template and the values of its placeholders."""

    template: str
    params: dict[str, str | int] = Field(default_factory=dict)


class ProblemView(BaseModel):
    location: str
    message: str
    where: TextView | None = None
    what: TextView | None = None

    @classmethod
    def of(cls, problem: Problem) -> ProblemView:
        def text(t: Text | None) -> TextView | None:
            return TextView(template=t.template, params=dict(t.params)) if t else None

        return cls(
            location=problem.location,
            message=problem.message,
            where=text(problem.where),
            what=text(problem.what),
        )


class ActionView(BaseModel):
    trigger: str
    title_fi: str
    title_sv: str
    title_en: str
    allowed: bool
    role_ok: bool
    reason_required: bool
    missing: list[ProblemView] = Field(default_factory=list)


class AreaProgressView(BaseModel):
    area: str
    title_fi: str
    title_sv: str
    title_en: str
    required: int
    complete: int


class AssignmentView(BaseModel):
    id: int
    proposal_id: int
    kind: str
    assignee: str | None
    roles: list[str]
    due: date | None
    state: AssignmentState
    reason: str | None
    # The assignee's full name, for the people who read it (the JSON keeps ``assignee``).
    assignee_name: str | None = Field(default=None, exclude=True)


class ScreeningView(BaseModel):
    outcome: ScreeningOutcome
    criteria: list[str]
    exemption: str | None
    reason: str | None
    participation_plan: str | None
    recorded_by: str
    recorded_at: datetime


class ProposalCapabilities(BaseModel):
    """What the caller can do on this proposal now, by the rules the services check
    (``access``) and the state the workflow declares: the pages show a form exactly where the
    service would take it, a read-only view everywhere else."""

    edit_assessment: bool = False  # screening, alternatives, the impact matrix, follow-up


class WorkflowStep(BaseModel):
    """One step of the workflow's main line (its states in order), for the step indicator."""

    state: str
    title_fi: str
    title_sv: str
    title_en: str
    status: str  # "done", "current" or "todo"


class ProposalView(BaseModel):
    id: int
    organisation: str
    case_number: str
    title_fi: str
    title_sv: str | None
    body: str
    meeting_id: int | None
    meeting_starts_at: datetime | None
    section: str | None
    agenda_position: int | None
    publicity: Publicity
    confidentiality_ground: str | None
    contains_personal_data: bool
    preparer: str
    presenter: str
    state: str
    state_title_fi: str
    state_title_sv: str
    state_title_en: str
    outcome: MeetingOutcome | None
    workflow: str
    workflow_version: int
    revision: int
    row_version: int
    screening: ScreeningView | None = None
    alternatives: int = 0
    answers: int = 0
    progress: list[AreaProgressView] = Field(default_factory=list)
    missing: list[ProblemView] = Field(default_factory=list)
    assignments: list[AssignmentView] = Field(default_factory=list)
    actions: list[ActionView] = Field(default_factory=list)
    can: ProposalCapabilities = Field(default_factory=ProposalCapabilities)
    steps: list[WorkflowStep] = Field(default_factory=list)
    phase: str = "preparation"  # the state's phase: preparation, ready or decided
    final: bool = False
    # Their full names, for the people who read them (the JSON keeps the usernames).
    preparer_name: str = Field(default="", exclude=True)
    presenter_name: str = Field(default="", exclude=True)


class ProposalSummary(BaseModel):
    id: int
    case_number: str
    title_fi: str
    body: str
    state: str
    preparer: str
    revision: int
    preparer_name: str = Field(default="", exclude=True)  # as ``ProposalView``'s


class ProposalPage(BaseModel):
    items: list[ProposalSummary]
    total: int
    limit: int
    offset: int


class HistoryEventView(BaseModel):
    seq: int
    occurred_at: datetime
    actor: str
    actor_id: int | None = None  # the acting user (none: the operator or the system)
    role: str | None
    client: str
    action: str
    entity: str
    proposal_id: int | None = None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    hash: str


class TransitionResult(BaseModel):
    proposal_id: int
    trigger: str
    from_state: str
    to_state: str
    row_version: int
    revision: int
