"""The report's queries: set-based, read-only, a fixed number whatever the period's size.

Each returns plain rows for one organisation (and optionally one body); the service folds
them. Nothing here takes a lock or writes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, NamedTuple, TypeVarTuple

from sqlalchemy import (
    JSON,
    ColumnElement,
    Row,
    Select,
    String,
    Text,
    case,
    cast,
    func,
    null,
    select,
    type_coerce,
)
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


class ChangeRow(NamedTuple):
    """One recorded change of a proposal row (its create or update event): the few columns the
    report folds, read out of the event's recorded values (its JSON) by the database."""

    proposal_id: int
    occurred_at: datetime  # UTC
    state: str | None  # the state it moved to (None: the change left the state as it was)
    meeting_named: bool  # the change set the meeting (to ``meeting_id``; None: off it)
    meeting_id: int | None
    outcome: str | None  # the outcome recorded (None: none, or an outcome cleared)
    revision: int | None  # the revision it moved to (None: unchanged)


@dataclass(frozen=True)
class ScreeningRow:
    proposal_id: int
    revision: int
    outcome: ScreeningOutcome
    exemption: str | None


class AnswerCount(NamedTuple):
    """The answers for the alternative chosen in a revision, counted per area (the question
    id's part before its first dot) and direction; a negative answer is a count of its own,
    with its alternative, question and affected groups (the report groups those)."""

    proposal_id: int
    revision: int
    area: str
    direction: Direction
    answers: int  # how many
    alternative_id: int | None  # negative answers only, like the two below
    question_id: str | None
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
    predicted: Direction | None  # the chosen alternative's answer to its indicator's question


DIRECTIONS = {d.value: d for d in Direction}
Columns = TypeVarTuple("Columns")


def moment(value: datetime | str) -> datetime:
    """A stored time as UTC: SQLite's text of a UTC time without its zone (read as text:
    ``datetime.fromisoformat`` of it with the zone added is many times faster than the type's
    own parsing and ``replace``; the changes add the zone in SQL and parse it themselves),
    PostgreSQL's aware datetime."""
    if isinstance(value, str):
        return datetime.fromisoformat(value + "+00:00")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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
        return [ProposalRow(*row) for row in self._rows(stmt.order_by(Proposal.id))]

    def _rows(self, stmt: Select[*Columns]) -> Sequence[Row[*Columns]]:
        """The rows of a query of columns, on the unit of work's connection (its transaction
        and snapshot), fetched at once: Core rows, without the ORM's loading of each row,
        which costs more than the query itself over a large city's history."""
        return self.session.connection().execute(stmt).all()

    def _driver_rows(self, stmt: Select[*Columns]) -> list[tuple[Any, ...]]:
        """The rows of a query as the database driver gives them (tuples, no type processing
        and no row objects: over the year's 360,000 changes those cost more than the query).
        Only for columns whose driver values are what the caller takes: integers, text,
        SQLite's 0/1 for a truth, PostgreSQL's times."""
        result = self.session.connection().execute(stmt)
        try:
            rows = list(result.cursor.fetchall())
        finally:
            result.close()
        return rows

    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def changes(self, until: datetime) -> list[ChangeRow]:
        """Every recorded change of the scope's proposal rows before ``until``, per proposal in
        the order of the chain (reads such as disclosures carry no change and are left out).

        Only the state, meeting, outcome and revision are read, by the database's JSON
        functions (SQLite's ``json_extract``, PostgreSQL's ``->>``), not the whole recorded
        values: a change that does not name the meeting leaves it as it was, one that names it
        as null took the proposal off its meeting, so whether the key is there is read too."""
        postgres = self._postgres()
        recorded: Any
        if postgres:
            recorded = cast(AuditEvent.after, JSON)
            meeting_named = recorded["meeting_id"].is_not(None)  # JSON null is not SQL NULL
            occurred: Any = AuditEvent.occurred_at
        else:
            recorded = type_coerce(AuditEvent.after, JSON)
            meeting_named = func.json_type(AuditEvent.after, "$.meeting_id").is_not(None)
            # SQLite's text of a UTC time, with its zone added, parsed by ``fromisoformat``
            occurred = type_coerce(AuditEvent.occurred_at, String).concat("+00:00")
        stmt = (
            select(
                AuditEvent.proposal_id,
                occurred,
                recorded["state"].as_string(),
                meeting_named,
                recorded["meeting_id"].as_integer(),
                recorded["outcome"].as_string(),
                recorded["revision"].as_integer(),
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
        rows = self._driver_rows(stmt.order_by(AuditEvent.proposal_id, AuditEvent.seq))
        row = ChangeRow
        if postgres:
            return [
                row(p or 0, moment(at), state, bool(named), meeting, outcome, revision)
                for p, at, state, named, meeting, outcome, revision in rows
            ]
        parse = datetime.fromisoformat
        return [
            row(p or 0, parse(at), state, named == 1, meeting, outcome, revision)
            for p, at, state, named, meeting, outcome, revision in rows
        ]

    def screenings(self) -> list[ScreeningRow]:
        stmt = (
            select(
                Screening.proposal_id, Assessment.revision, Screening.outcome, Screening.exemption
            )
            .join(Assessment, Assessment.id == Screening.assessment_id)
            .join(Proposal, Proposal.id == Screening.proposal_id)
            .where(*self._scope())
        )
        return [ScreeningRow(*row) for row in self._rows(stmt)]

    def answer_counts(self) -> list[AnswerCount]:
        """The chosen alternatives' answers counted per proposal, revision, area and direction
        by the database (a large city's 230,000 answers become about a third as many rows);
        the negative ones one by one, with their affected groups (JSON), the only ones the
        report groups."""
        negative = Answer.direction == Direction.NEGATIVE
        alternative = case((negative, Answer.alternative_id), else_=null())
        question = case((negative, Answer.question_id), else_=null())
        groups = case((negative, cast(Answer.affected_groups, Text)), else_=null())
        if self._postgres():
            area: Any = func.split_part(Answer.question_id, ".", 1)
        else:  # the text before the first dot, or all of it
            dot = func.instr(Answer.question_id.concat("."), ".")
            area = func.substr(Answer.question_id, 1, dot - 1)
        direction = type_coerce(Answer.direction, String)  # its member looked up below
        stmt = (
            select(
                Answer.proposal_id,
                Assessment.revision,
                area,
                direction,
                func.count(),
                alternative,
                question,
                groups,
            )
            .join(Alternative, Alternative.id == Answer.alternative_id)
            .join(Assessment, Assessment.id == Answer.assessment_id)
            .join(Proposal, Proposal.id == Answer.proposal_id)
            .where(Alternative.chosen.is_(True))
            .where(*self._scope())
            .group_by(
                Answer.proposal_id,
                Assessment.revision,
                area,
                direction,
                alternative,
                question,
                groups,
            )
        )
        loads = json.loads
        return [
            AnswerCount(p, r, ar, DIRECTIONS[d], n, a, q, (loads(g) or []) if g else [])
            for p, r, ar, d, n, a, q, g in self._driver_rows(stmt)
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
        return [MitigationRow(*row) for row in self._rows(stmt)]

    def follow_ups(self) -> list[FollowUpRow]:
        """Every follow-up of the scope's proposals, in one query, with the direction its
        assessment's chosen alternative predicted for its indicator's question."""
        predicted = (
            select(Answer.direction)
            .join(Alternative, Alternative.id == Answer.alternative_id)
            .where(
                Alternative.assessment_id == FollowUp.assessment_id,
                Alternative.chosen.is_(True),
                Answer.assessment_id == FollowUp.assessment_id,
                Answer.question_id == FollowUpIndicator.question_id,
            )
            .limit(1)
            .scalar_subquery()
        )
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
                predicted,
            )
            .join(FollowUpIndicator, FollowUpIndicator.id == FollowUp.indicator_id)
            .join(Assessment, Assessment.id == FollowUp.assessment_id)
            .join(User, User.id == FollowUp.responsible_id)
            .join(Proposal, Proposal.id == FollowUp.proposal_id)
            .where(*self._scope())
        )
        rows = self._rows(stmt.order_by(FollowUp.id))
        return [FollowUpRow(*tuple(row)) for row in rows]
