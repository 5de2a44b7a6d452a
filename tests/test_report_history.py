"""The report's reading of the history (docs/reports.md, "How it is computed"): the database
reads the state, meeting, outcome and revision out of each recorded change (SQLite's
``json_extract``, PostgreSQL's ``->>``), so these run on both backends.

A change that does not name the meeting leaves the proposal on it; one that names it as null
took the proposal off it. The year of ``tests/test_reports.py`` has no proposal taken off a
meeting before the meeting started, so the agenda test below builds one:

=====  ======  ==========================================================  ============
case   body    path                                                        on M (10.3.)
=====  ======  ==========================================================  ============
X      HYVLTK  prepared and signed off 20.2., put on M 1.3., taken off 5.3.  no
Y      HYVLTK  put on M 2.2. as a draft, screening started 3.2.              yes, not
                                                                           complete
Z      HYVLTK  prepared and signed off 20.2., put on M 1.3., moved to another  yes, complete
               place on its agenda 6.3.
=====  ======  ==========================================================  ============
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from eva_engine.db.reports import ChangeRow
from eva_engine.models import AuditEvent
from eva_engine.services.assessment import documents
from eva_engine.services.people import organisations
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.reports.queries import ReportRequest, report
from eva_engine.services.runtime import Eva
from eva_engine.services.steps import transitions
from eva_engine.vocabulary import ScreeningOutcome
from tests.builders import OPERATOR, ORG, as_, document, new_proposal, screen
from tests.conftest import World
from tests.test_reports import Clock, Year, clock, year

__all__ = ["clock", "year"]

pytestmark = pytest.mark.postgres


def _meeting(eva: Eva, day: int, month: int) -> int:
    return organisations.create_meeting(
        eva,
        OPERATOR,
        organisations.CreateMeeting(
            organisation=ORG, body="HYVLTK", starts_at=datetime(2025, month, day, 16, tzinfo=UTC)
        ),
    ).id


def _schedule(eva: Eva, pid: int, meeting: int, position: int | None = None) -> None:
    proposal_commands.schedule(
        eva,
        as_("sec"),
        proposal_commands.ScheduleProposal(
            proposal_id=pid, meeting_id=meeting, agenda_position=position
        ),
    )


def _unschedule(eva: Eva, pid: int, meeting: int) -> None:
    proposal_commands.unschedule(
        eva,
        as_("sec"),
        proposal_commands.UnscheduleProposal(proposal_id=pid, meeting_id=meeting),
    )


def _signed_off(eva: Eva, pid: int) -> None:
    def fire(who: str, trigger: str) -> None:
        transitions.fire(eva, as_(who), pid, trigger)

    fire("prep", "start_screening")
    screen(eva, pid, ScreeningOutcome.LIGHT, "prep")
    fire("prep", "begin_assessment")
    documents.import_assessment(eva, as_("prep"), pid, document(eva, ScreeningOutcome.LIGHT))
    fire("prep", "submit_for_review")
    fire("sec", "pass_review")
    fire("pres", "sign_off")


def _recorded(eva: Eva) -> tuple[list[ChangeRow], list[ChangeRow]]:
    """The report's reading of the changes, and the same read from the whole recorded JSON."""
    with eva.reading() as uow:
        org = uow.repos.organisation_by_code(ORG)
        assert org is not None
        read = uow.repos.report_queries(org.id, None).changes(datetime(2026, 1, 1, tzinfo=UTC))
        events = uow.repos.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.entity_type == "proposal",
                AuditEvent.organisation_id == org.id,
                AuditEvent.after.is_not(None),
            )
            .order_by(AuditEvent.proposal_id, AuditEvent.seq)
        ).all()
        whole = []
        for event in events:
            after = json.loads(event.after or "{}")
            whole.append(
                ChangeRow(
                    event.proposal_id or 0,
                    event.occurred_at,
                    after.get("state"),
                    "meeting_id" in after,
                    after.get("meeting_id"),
                    after.get("outcome"),
                    after.get("revision"),
                )
            )
    return read, whole


def test_the_database_reads_the_recorded_changes_as_their_json_holds_them(
    eva: Eva, year: Year, clock: Clock
) -> None:
    meeting = _meeting(eva, 10, 12)
    clock.at(2, 12)
    taken_off = new_proposal(eva)
    _schedule(eva, taken_off, meeting)
    clock.at(3, 12)
    _unschedule(eva, taken_off, meeting)

    read, whole = _recorded(eva)

    assert read == whole
    assert all(row.occurred_at.tzinfo is not None for row in read)
    assert {row.outcome for row in read} >= {"approved", "amended", "tabled", "returned"}
    assert any(row.revision == 2 for row in read)  # D, prepared again
    off = [row for row in read if row.proposal_id == taken_off and row.meeting_named]
    assert [row.meeting_id for row in off] == [None, meeting, None]  # created, put on, taken off
    # Transitions that leave the meeting as it was.
    assert any(row.state is not None and not row.meeting_named for row in read)


def test_a_proposal_taken_off_the_agenda_before_the_meeting_is_not_one_of_its_items(
    eva: Eva, world: World, clock: Clock
) -> None:
    assert world is not None
    meeting = _meeting(eva, 10, 3)
    clock.at(1, 2)
    x, y, z = new_proposal(eva), new_proposal(eva), new_proposal(eva)
    clock.at(2, 2)
    _schedule(eva, y, meeting)
    clock.at(3, 2)
    transitions.fire(eva, as_("prep"), y, "start_screening")
    clock.at(20, 2)
    _signed_off(eva, x)
    _signed_off(eva, z)
    clock.at(1, 3)
    _schedule(eva, x, meeting)
    _schedule(eva, z, meeting)
    clock.at(5, 3)
    _unschedule(eva, x, meeting)
    clock.at(6, 3)
    _schedule(eva, z, meeting, position=7)  # a change that names neither state nor meeting
    clock.at(1, 12)

    view = report(eva, as_("aud"), ReportRequest(organisation=ORG, period="2025", public=False))

    agenda = {row.body: (row.items, row.complete, row.share) for row in view.agenda}
    assert agenda["HYVLTK"] == (2, 1, 0.5)  # Y (a draft at the start) and Z; X taken off
    assert (view.agenda_total.items, view.agenda_total.complete) == (2, 1)
