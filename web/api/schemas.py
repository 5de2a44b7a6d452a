"""Request bodies and query parameters of the API that are not already service commands.
Responses are the services' views (``eva_engine.services.views`` and the services' own)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from eva_engine.services.assessment.documents import (
    AlternativeIn,
    AnswerIn,
    IndicatorIn,
    MitigationIn,
)
from eva_engine.services.assessment.questions import QuestionView
from eva_engine.services.assessment.screening import RecordScreening
from eva_engine.services.fields import (
    MAX_ALTERNATIVES,
    MAX_ANSWERS,
    MAX_CRITERIA,
    AgendaPosition,
    ChoiceId,
    Code,
    Id,
    LongText,
    Position,
    QuestionId,
    Reason,
    SectionNumber,
    Title,
    Username,
    WholeNumber,
)
from eva_engine.services.people.organisations import BodyView, MeetingView, OrganisationView
from eva_engine.services.proposals.commands import ScheduleProposal
from eva_engine.services.proposals.texts import MAX_TEXTS, TextIn, WriteTexts
from eva_engine.services.reports.queries import Output, ReportRequest
from eva_engine.services.reports.queries import Period_ as ReportPeriod
from eva_engine.services.steps.assignments import Reassign
from eva_engine.services.steps.transitions import FireTrigger
from eva_engine.services.views import AssignmentView, HistoryEventView
from eva_engine.vocabulary import ScreeningOutcome


class Body(BaseModel):
    """A request body or query: the fields a service command takes from the request, with that
    command's types and limits (``command``; tests/test_input_limits.py compares them)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    command: ClassVar[type[BaseModel] | None] = None


class ScreeningBody(Body):
    """The screening (tarveharkinta): exempt with an exemption and a reason, or light or full."""

    command = RecordScreening
    outcome: ScreeningOutcome
    criteria: list[ChoiceId] = Field(default_factory=list, max_length=MAX_CRITERIA)
    exemption: ChoiceId | None = None
    reason: Reason | None = Field(default=None, description="Required when exempt")
    participation_plan: LongText | None = None


class AlternativesBody(Body):
    """Every alternative (0 is the status quo); answers and mitigations of a removed one go."""

    alternatives: list[AlternativeIn] = Field(min_length=1, max_length=MAX_ALTERNATIVES)


class Cell(Body):
    command = AnswerIn
    question: QuestionId = Field(min_length=1)
    alternative: Position


class AnswersBody(Body):
    """Cells of the impact matrix to store (insert or replace) and cells to empty."""

    answers: list[AnswerIn] = Field(default_factory=list, max_length=MAX_ANSWERS)
    cleared: list[Cell] = Field(default_factory=list, max_length=MAX_ANSWERS)


class ScheduleBody(Body):
    """Put the proposal on a meeting of its body."""

    command = ScheduleProposal
    meeting_id: Id
    agenda_position: AgendaPosition | None = None
    section_number: SectionNumber | None = Field(default=None, description="§")


class TransitionBody(Body):
    command = FireTrigger
    reason: Reason | None = Field(
        default=None, description="Required by some steps (e.g. returning)"
    )


class ReassignBody(Body):
    command = Reassign
    assignee: Username = Field(min_length=1, description="The new assignee's username")
    reason: Reason | None = None


class ProposalQuery(Body):
    organisation: Code = Field(min_length=1, description="Organisation code")
    state: ChoiceId | None = None
    body: Code | None = Field(default=None, description="Body code, e.g. HYVLTK")
    meeting: Id | None = Field(default=None, description="Meeting id")
    area: str | None = Field(
        default=None,
        max_length=80,
        pattern=r"^[a-z][a-z0-9_]{0,79}$",
        description="Checklist area with answers, e.g. children",
    )
    assignee: Username | None = Field(
        default=None, description="Username with an open assignment on it"
    )
    overdue: bool | None = Field(default=None, description="Has an open assignment past due")
    q: str | None = Field(
        default=None,
        max_length=200,
        description=(
            "Free text over case numbers, titles, texts and assessments; every word must"
            " match (as a prefix, Finnish inflections too); best match first"
        ),
    )
    cursor: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^[A-Za-z0-9_-]{1,200}$",
        description="next_cursor of a page",
    )
    limit: WholeNumber = Field(default=50, ge=1, le=500)
    offset: WholeNumber = Field(default=0, ge=0, le=1_000_000, description="Ignored with a cursor")


class AfterQuery(Body):
    after: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^[A-Za-z0-9_-]{1,200}$",
        description="next_cursor of the previous page",
    )


class MeetingQuery(Body):
    body: Code | None = Field(default=None, description="Only this body's")


class ReportQuery(Body):
    command = ReportRequest
    period: ReportPeriod
    body: Code | None = Field(default=None, description="Only this body's, e.g. HYVLTK")
    format: Output = "html"
    language: Literal["fi", "sv", "en"] = "fi"
    public: bool = Field(
        default=True, description="false: the internal version (auditors, administrators)"
    )


class ReportFile(BaseModel):
    """The report as a file (HTML, CSV, XLSX or PDF)."""


class MitigationKey(Body):
    command = MitigationIn
    question: QuestionId = Field(min_length=1)
    alternative: Position | None = None


class IndicatorKey(Body):
    command = IndicatorIn
    name: Title = Field(min_length=1)


# Lists are objects with ``items``, so that every response body is a model (and can grow).
class OrganisationList(BaseModel):
    items: list[OrganisationView]


class BodyList(BaseModel):
    items: list[BodyView]


class MeetingList(BaseModel):
    items: list[MeetingView]


class HistoryList(BaseModel):
    items: list[HistoryEventView]
    next_cursor: str | None = None  # the next page's ``after`` (None: the last page)


class AssignmentList(BaseModel):
    items: list[AssignmentView]


class QuestionList(BaseModel):
    items: list[QuestionView]


class TextsBody(Body):
    """Some of the proposal's texts (grounds, decision proposal, decision; fi, sv): the ones
    sent are written, an empty content removes one, the ones not sent stay as they are."""

    command = WriteTexts
    texts: list[TextIn] = Field(min_length=1, max_length=MAX_TEXTS)
