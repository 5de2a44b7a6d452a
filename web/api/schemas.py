"""Request bodies and query parameters of the API that are not already service commands.
Responses are the services' views (``eva_engine.services.views`` and the services' own)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from eva_engine.services.api_assessment import QuestionView
from eva_engine.services.assessment import (
    FORMAT,
    AlternativeIn,
    AnswerIn,
    IndicatorIn,
    MitigationIn,
)
from eva_engine.services.organisations import BodyView, MeetingView, OrganisationView
from eva_engine.services.views import AssignmentView, HistoryEventView
from eva_engine.vocabulary import ScreeningOutcome

Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ScreeningBody(Body):
    """The screening (tarveharkinta): exempt with an exemption and a reason, or light or full."""

    outcome: ScreeningOutcome
    criteria: list[str] = Field(default_factory=list, max_length=50)
    exemption: str | None = Field(default=None, max_length=80)
    reason: str | None = Field(default=None, max_length=10000)
    participation_plan: str | None = Field(default=None, max_length=10000)


class AlternativesBody(Body):
    """Every alternative (0 is the status quo); answers and mitigations of a removed one go."""

    alternatives: list[AlternativeIn] = Field(min_length=1, max_length=21)


class Cell(Body):
    question: str = Field(min_length=1, max_length=160)
    alternative: int = Field(ge=0, le=20)


class AnswersBody(Body):
    """Cells of the impact matrix to store (insert or replace) and cells to empty."""

    answers: list[AnswerIn] = Field(default_factory=list, max_length=2000)
    cleared: list[Cell] = Field(default_factory=list, max_length=2000)


class ScheduleBody(Body):
    """Put the proposal on a meeting of its body."""

    meeting_id: Id
    agenda_position: int | None = Field(default=None, ge=1, le=10000)
    section_number: int | None = Field(default=None, ge=1, le=100000, description="§")


class TransitionBody(Body):
    reason: str | None = Field(
        default=None, max_length=10000, description="Required by some steps (e.g. returning)"
    )


class ReassignBody(Body):
    assignee: str = Field(min_length=1, max_length=80, description="The new assignee's username")
    reason: str | None = Field(default=None, max_length=2000)


class ProposalQuery(Body):
    organisation: str = Field(min_length=1, max_length=40, description="Organisation code")
    state: str | None = Field(default=None, max_length=40)
    body: str | None = Field(default=None, max_length=40, description="Body code, e.g. HYVLTK")
    meeting: Id | None = Field(default=None, description="Meeting id")
    area: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]{0,79}$",
        description="Checklist area with answers, e.g. children",
    )
    assignee: str | None = Field(
        default=None, max_length=80, description="Username with an open assignment on it"
    )
    overdue: bool | None = Field(default=None, description="Has an open assignment past due")
    cursor: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_-]{1,200}$", description="next_cursor of a page"
    )
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000, description="Ignored with a cursor")


class MeetingQuery(Body):
    body: str | None = Field(default=None, max_length=40, description="Only this body's")


class MitigationKey(Body):
    question: str = Field(min_length=1, max_length=160)
    alternative: int | None = Field(default=None, ge=0, le=20)


class IndicatorKey(Body):
    name: str = Field(min_length=1, max_length=500)


class AssessmentView(BaseModel):
    """The current revision's assessment as an eva.assessment/1 document (a new revision may
    have no alternatives yet; a document sent back needs at least one)."""

    format: Literal["eva.assessment/1"] = FORMAT
    summary: str | None
    alternatives: list[AlternativeIn]
    answers: list[AnswerIn]
    mitigations: list[MitigationIn]
    follow_up_indicators: list[IndicatorIn]


# Lists are objects with ``items``, so that every response body is a model (and can grow).
class OrganisationList(BaseModel):
    items: list[OrganisationView]


class BodyList(BaseModel):
    items: list[BodyView]


class MeetingList(BaseModel):
    items: list[MeetingView]


class HistoryList(BaseModel):
    items: list[HistoryEventView]


class AssignmentList(BaseModel):
    items: list[AssignmentView]


class QuestionList(BaseModel):
    items: list[QuestionView]
