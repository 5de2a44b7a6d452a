"""What a report holds: figures for one period and scope, ready for any output format.

In a public report every count from 1 to 4 is ``None`` (shown as "< 5"), and so is every
share or median computed from fewer than five; nothing of a non-public proposal is listed and
no person is named. The internal report holds the exact figures."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from eva_engine.vocabulary import (
    Direction,
    FollowUpSource,
    MeetingOutcome,
    ScreeningOutcome,
)

# A count; None: suppressed in a public report (1-4).
Figure = int | None


class Texts(BaseModel):
    """A text of the definitions (or a record) in Finnish, Swedish and English."""

    fi: str
    sv: str
    en: str

    def get(self, language: str) -> str:
        return str(getattr(self, language, self.fi))


class OutcomeCount(BaseModel):
    outcome: MeetingOutcome
    count: Figure


class Outcomes(BaseModel):
    """Handlings at the period's meetings, each counted as what it was."""

    handled: list[OutcomeCount]
    withdrawn: Figure  # withdrawn during the period, whatever their state then
    handled_again: Figure  # returned earlier, re-prepared and handled again in the period


class Ground(BaseModel):
    id: str
    text: Texts
    count: Figure


class ScreeningFigures(BaseModel):
    decisions: Figure  # approved, amended or rejected in the period
    screened: Figure
    not_screened: Figure
    depth: dict[ScreeningOutcome, Figure]
    exemptions: list[Ground]


class AgendaRow(BaseModel):
    body: str  # code
    name: Texts
    items: Figure
    complete: Figure
    share: float | None  # complete / items, 0..1; None: no items or suppressed


class ImpactRow(BaseModel):
    area: str
    title: Texts
    positive: Figure
    negative: Figure
    none: Figure
    unknown: Figure


class GroupRow(BaseModel):
    group: str  # AffectedGroup value
    decisions: Figure  # adopted decisions whose chosen alternative affects it negatively
    mitigated: Figure  # of those, with a mitigation named for such an impact


class BodyRow(BaseModel):
    body: str
    name: Texts
    proposals: Figure  # in preparation or decided at some time in the period
    completed: Figure  # of those, signed off by the period's end
    completion: float | None
    signed_off: Figure  # signed off (for the first time) in the period
    median_days: float | None  # median days from the draft to that sign-off


class DecisionRow(BaseModel):
    """One handling of the period (the internal report lists them all, the public one only
    public proposals, without names)."""

    case_number: str
    title: Texts
    body: str
    meeting: date
    outcome: MeetingOutcome
    screening: ScreeningOutcome | None
    preparer: str | None  # internal only


class ResultCount(BaseModel):
    result: str  # a FollowUpOutcome value, or "waived"
    count: Figure


class FollowUpResultRow(BaseModel):
    """A follow-up whose result was measured (or that was waived) in the period: the
    internal report lists them all, the public one those of public proposals."""

    case_number: str
    title: Texts
    body: str
    indicator: str
    predicted: Direction | None  # the chosen alternative's direction for its question
    value: str | None
    measured_on: date | None
    source: FollowUpSource | None
    reference: str | None
    result: str  # a FollowUpOutcome value, or "waived"


class OverdueBodyRow(BaseModel):
    body: str  # code; "" for the total
    name: Texts
    open: Figure  # follow-ups open on the reference day
    overdue: Figure  # of those, past their due date


class OverdueRow(BaseModel):
    case_number: str
    title: Texts
    body: str
    indicator: str
    due: date
    days: int  # days past due on the reference day
    responsible: str | None  # internal only


class ReportView(BaseModel):
    organisation: str
    organisation_name: Texts
    body: str | None
    body_name: Texts | None
    start: date
    end: date  # inclusive
    public: bool
    generated_at: datetime
    outcomes: Outcomes
    screening: ScreeningFigures
    agenda: list[AgendaRow]
    agenda_total: AgendaRow
    impacts: list[ImpactRow]
    groups: list[GroupRow]
    bodies: list[BodyRow]
    decisions: list[DecisionRow]
    follow_up_results: list[ResultCount]
    follow_ups: list[FollowUpResultRow]
    overdue_on: date  # the reference day: the period's last day, or today while it runs
    overdue_bodies: list[OverdueBodyRow]
    overdue_total: OverdueBodyRow
    overdue: list[OverdueRow]
