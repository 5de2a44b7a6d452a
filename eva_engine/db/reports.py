"""The report's queries: set-based, read-only, a fixed number whatever the period's size.

Each returns plain rows for one organisation (and optionally one body); the service folds
them. Nothing here takes a lock or writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from eva_engine.models import (
    Alternative,
    Answer,
    Assessment,
    AuditEvent,
    Body,
    FollowUp,
    FollowUpIndicator,
    Meeting,
    Mitigation,
    Proposal,
    Screening,
    User,
)
from eva_engine.vocabulary import (
    Direction,
    FollowUpOutcome,
    FollowUpSource,
    FollowUpState,
    Publicity,
    ScreeningOutcome,
)


@dataclass(frozen=True)
class ProposalRow:
    id: int
    body_id: int
    case_number: str
    title_fi: str
    title_sv: str | None
    publicity: Publicity
    preparer: str  # the preparer's full name
    workflow_name: str
    workflow_version: int


@dataclass(frozen=True)
class ChangeRow:
    """One recorded change of a proposal row (its create or update event)."""

    proposal_id: int
    occurred_at: datetime
    before: str | None  # canonical JSON of the changed columns
    after: str | None


@dataclass(frozen=True)
class ScreeningRow:
    proposal_id: int
    revision: int
    outcome: ScreeningOutcome
    exemption: str | None


@dataclass(frozen=True)
class AnswerRow:
    """An answer for the alternative chosen in its revision."""

    proposal_id: int
    revision: int
    alternative_id: int
    question_id: str
    direction: Direction
    affected_groups: list[str]


@dataclass(frozen=True)
class MitigationRow:
    proposal_id: int
    revision: int
    question_id: str
    alternative_id: int | None  # None: every alternative


@dataclass(frozen=True)
class FollowUpRow:
    """A follow-up of the scope with its indicator, as it stands now (its latest result)."""

    id: int
    proposal_id: int
    revision: int  # of the assessment it follows
    indicator: str
    question_id: str | None
    responsible: str  # the responsible person's full name
    due: date
    state: FollowUpState
    value: str | None
    measured_on: date | None
    source_kind: FollowUpSource | None
    source_reference: str | None
    outcome: FollowUpOutcome | None
    settled_at: datetime | None
    created_at: datetime


class ReportQueries:
    """The queries of one report, scoped to an organisation and optionally one body."""

    def __init__(self, session: Session, organisation_id: int, body_id: int | None) -> None:
        self.session = session
        self.organisation_id = organisation_id
        self.body_id = body_id

    def _scope(self) -> list[ColumnElement[bool]]:
        found = [Proposal.organisation_id == self.organisation_id]
        if self.body_id is not None:
            found.append(Proposal.body_id == self.body_id)
        return found

    def bodies(self) -> Sequence[Body]:
        stmt = select(Body).where(Body.organisation_id == self.organisation_id)
        if self.body_id is not None:
            stmt = stmt.where(Body.id == self.body_id)
        return self.session.scalars(stmt.order_by(Body.code)).all()

    def meetings(self, since: datetime, until: datetime) -> Sequence[Meeting]:
        """Meetings that started in [since, until)."""
        stmt = select(Meeting).where(
            Meeting.organisation_id == self.organisation_id,
            Meeting.starts_at >= since,
            Meeting.starts_at < until,
        )
        if self.body_id is not None:
            stmt = stmt.where(Meeting.body_id == self.body_id)
        return self.session.scalars(stmt.order_by(Meeting.starts_at, Meeting.id)).all()

    def all_meetings(self) -> dict[int, Meeting]:
        """Every meeting of the scope (a handling is dated by its meeting)."""
        stmt = select(Meeting).where(Meeting.organisation_id == self.organisation_id)
        if self.body_id is not None:
            stmt = stmt.where(Meeting.body_id == self.body_id)
        return {m.id: m for m in self.session.scalars(stmt)}

    def proposals(self) -> list[ProposalRow]:
        stmt = (
            select(
                Proposal.id,
                Proposal.body_id,
                Proposal.case_number,
                Proposal.title_fi,
                Proposal.title_sv,
                Proposal.publicity,
                User.full_name,
                Proposal.workflow_name,
                Proposal.workflow_version,
            )
            .join(User, User.id == Proposal.preparer_id)
            .where(*self._scope())
        )
        return [ProposalRow(*row) for row in self.session.execute(stmt.order_by(Proposal.id))]

    def changes(self, until: datetime) -> list[ChangeRow]:
        """Every recorded change of the scope's proposal rows before ``until``, per proposal in
        the order of the chain (reads such as disclosures carry no change and are left out)."""
        stmt = (
            select(
                AuditEvent.proposal_id,
                AuditEvent.occurred_at,
                AuditEvent.before,
                AuditEvent.after,
            )
            .join(Proposal, Proposal.id == AuditEvent.proposal_id)
            .where(
                AuditEvent.entity_type == "proposal",
                AuditEvent.organisation_id == self.organisation_id,
                AuditEvent.after.is_not(None),
                AuditEvent.occurred_at < until,
            )
            .where(*self._scope())
        )
        rows = self.session.execute(stmt.order_by(AuditEvent.proposal_id, AuditEvent.seq))
        return [ChangeRow(p or 0, at, before, after) for p, at, before, after in rows]

    def screenings(self) -> list[ScreeningRow]:
        stmt = (
            select(
                Screening.proposal_id, Assessment.revision, Screening.outcome, Screening.exemption
            )
            .join(Assessment, Assessment.id == Screening.assessment_id)
            .join(Proposal, Proposal.id == Screening.proposal_id)
            .where(*self._scope())
        )
        return [ScreeningRow(*row) for row in self.session.execute(stmt)]

    def chosen_answers(self) -> list[AnswerRow]:
        stmt = (
            select(
                Answer.proposal_id,
                Assessment.revision,
                Answer.alternative_id,
                Answer.question_id,
                Answer.direction,
                Answer.affected_groups,
            )
            .join(Alternative, Alternative.id == Answer.alternative_id)
            .join(Assessment, Assessment.id == Answer.assessment_id)
            .join(Proposal, Proposal.id == Answer.proposal_id)
            .where(Alternative.chosen.is_(True))
            .where(*self._scope())
        )
        return [
            AnswerRow(p, r, a, q, d, list(g or []))
            for p, r, a, q, d, g in self.session.execute(stmt)
        ]

    def mitigations(self) -> list[MitigationRow]:
        stmt = (
            select(
                Mitigation.proposal_id,
                Assessment.revision,
                Mitigation.question_id,
                Mitigation.alternative_id,
            )
            .join(Assessment, Assessment.id == Mitigation.assessment_id)
            .join(Proposal, Proposal.id == Mitigation.proposal_id)
            .where(*self._scope())
        )
        return [MitigationRow(*row) for row in self.session.execute(stmt)]

    def follow_ups(self) -> list[FollowUpRow]:
        """Every follow-up of the scope's proposals, in one query."""
        stmt = (
            select(
                FollowUp.id,
                FollowUp.proposal_id,
                Assessment.revision,
                FollowUpIndicator.name,
                FollowUpIndicator.question_id,
                User.full_name,
                FollowUp.due,
                FollowUp.state,
                FollowUp.value,
                FollowUp.measured_on,
                FollowUp.source_kind,
                FollowUp.source_reference,
                FollowUp.outcome,
                FollowUp.settled_at,
                FollowUp.created_at,
            )
            .join(FollowUpIndicator, FollowUpIndicator.id == FollowUp.indicator_id)
            .join(Assessment, Assessment.id == FollowUp.assessment_id)
            .join(User, User.id == FollowUp.responsible_id)
            .join(Proposal, Proposal.id == FollowUp.proposal_id)
            .where(*self._scope())
        )
        rows = self.session.execute(stmt.order_by(FollowUp.id))
        return [FollowUpRow(*tuple(row)) for row in rows]
