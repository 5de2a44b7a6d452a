"""The demo data (eva_engine/demo): two years of the demo municipality's decisions dated as they
would have happened, whose report holds every kind of figure (each checked against the cases
the demo declares), a confidential proposal kept out of the public report, exemptions with the
grounds that fit them, and the Virrat case of the seeds with its real content, closed with its
follow-ups recorded."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from eva_engine import demo
from eva_engine.config import default_workflows_dir
from eva_engine.db.engine import make_engine
from eva_engine.db.migrate import upgrade
from eva_engine.db.repositories import ProposalFilter
from eva_engine.db.unit_of_work import Database
from eva_engine.demo import history, virrat
from eva_engine.reports.render import render
from eva_engine.services.assessment import documents
from eva_engine.services.follow_up import queries as follow_up_queries
from eva_engine.services.history import trail
from eva_engine.services.reports.queries import ReportRequest, report
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.views import HistoryEventView
from eva_engine.vocabulary import FollowUpState, MeetingOutcome, ScreeningOutcome
from tests.conftest import FreshDatabase

OPERATOR = Caller(None, "tests")
AUDITOR = Caller("tarkastaja", "tests")
OUTCOMES = {
    "approve": MeetingOutcome.APPROVED,
    "approve_amended": MeetingOutcome.AMENDED,
    "table": MeetingOutcome.TABLED,
    "return_for_new_preparation": MeetingOutcome.RETURNED,
    "reject": MeetingOutcome.REJECTED,
    "remove": MeetingOutcome.REMOVED,
}


@pytest.fixture(scope="module")
def loaded(fresh_databases: FreshDatabase) -> Iterator[Eva]:
    engine = make_engine(fresh_databases.new_url())
    upgrade(engine)
    eva = Eva(Database(engine), default_workflows_dir())
    found = demo.load_demo_data(eva)
    assert found.loaded
    assert found.proposals == len(demo.SCENARIOS) + len(history.PAST) + 1
    yield eva
    engine.dispose()


def _two_years() -> str:
    today = datetime.now(UTC).date()
    return f"{today - timedelta(days=800)}..{today}"


def _pid(eva: Eva, organisation: str, case_number: str) -> int:
    with eva.reading() as uow:
        org = uow.repos.organisation_by_code(organisation)
        assert org is not None
        rows, _ = uow.repos.proposals(ProposalFilter(organisation_id=org.id, limit=200))
        return next(p.id for p in rows if p.case_number == case_number)


def test_the_virrat_case_holds_its_real_content_and_is_closed_with_its_follow_ups(
    loaded: Eva,
) -> None:
    pid = _pid(loaded, virrat.ORG, virrat.CASE)
    document = documents.export_document(loaded, OPERATOR, pid)
    assert [(a.position, a.title, a.chosen) for a in document.alternatives] == [
        (0, "Virrat pysyy Terve Kunta -verkoston ulkopuolella", False),
        (1, "Virrat hakee Terve Kunta -verkoston jäsenyyttä", True),
    ]
    assert document.summary is not None
    assert "WHO European Healthy Cities" in document.summary
    assert "Päätösehdotus: Hyvinvointilautakunta päättää hakea Terve Kunta" in document.summary
    follow_ups = follow_up_queries.proposal_follow_ups(loaded, OPERATOR, pid)
    assert follow_ups.state == "closed"
    assert [(f.indicator_source, f.state, f.outcome) for f in follow_ups.follow_ups] == [
        ("TEAviisari (THL)", FollowUpState.DONE, "better"),
        ("Laaja hyvinvointikertomus 2021–2025", FollowUpState.DONE, "as_predicted"),
    ]
    assert all(f.note == virrat.DEMO_NOTE for f in follow_ups.follow_ups)
    events = trail.proposal_history(loaded, OPERATOR, pid)
    assert events[0].occurred_at.year == 2023
    approved = [e for e in events if e.action == "proposal.transition" and e.after]
    assert [e.after.get("state") for e in approved if e.after][-1] == "closed"
    assert approved[-1].occurred_at.date().isoformat() == "2025-11-21"


def test_two_years_of_decisions_fill_every_section_of_the_report(loaded: Eva) -> None:
    view = report(
        loaded,
        AUDITOR,
        ReportRequest(organisation=demo.ORG, period=_two_years(), public=False),
    )
    expected = Counter(OUTCOMES[p.outcome] for p in history.PAST)
    expected.update(OUTCOMES[p.before] for p in history.PAST if p.before)
    assert {o.outcome: o.count for o in view.outcomes.handled} == {
        o: expected[o] for o in MeetingOutcome
    }
    grounds = Counter(p.exemption[0] for p in history.PAST if p.exemption)
    assert {g.id: g.count for g in view.screening.exemptions} == dict(grounds)
    assert grounds["rectification_request"] == 1
    assert view.screening.depth[ScreeningOutcome.FULL] == sum(
        1
        for p in history.PAST
        if p.depth == ScreeningOutcome.FULL and p.outcome in ("approve", "approve_amended")
    )
    # Every item was signed off before its meeting.
    assert view.agenda_total.share == 1.0
    assert {r.area for r in view.impacts} >= {"economy"}
    assert [g.group for g in view.groups] == ["all_residents"]  # the mitigated economy
    results = {r.result: r.count for r in view.follow_up_results}
    assert results == {
        "as_predicted": 4 + 1,  # and today's closed scenario's
        "better": 4,
        "worse": 2,
        "cannot_tell_yet": 1,
        "waived": 1,
    }
    overdue = {row.indicator for row in view.overdue}
    assert overdue == {
        "Varhaiskasvatuspaikan saaneiden osuus hakuajassa",
        "Kouluterveydenhoitajan vastaanotolle pääsy viikossa",
        "Lounasruokailuun osallistuvien ikäihmisten määrä",
    }
    assert view.overdue_total.overdue == 3


def test_the_public_report_of_the_demo_holds_nothing_of_its_confidential_proposals(
    loaded: Eva,
) -> None:
    view = report(
        loaded, AUDITOR, ReportRequest(organisation=demo.ORG, period=_two_years(), public=True)
    )
    text = render(view, "csv", "fi").decode("utf-8-sig")
    confidential = [p for p in history.PAST if p.confidential]
    assert len(confidential) == 3
    for past in confidential:
        assert past.title not in text
    assert "Perhehoidossa olevien lasten osuus sijoitetuista" not in text
    assert "Palvelulinjan matkustajamäärä" in text


def test_the_history_is_dated_as_it_would_have_happened_and_verifies(loaded: Eva) -> None:
    first = history.PAST[0]
    pid = _pid(loaded, demo.ORG, "11/00.01.00/" + str(_first_year(first)))
    events = trail.proposal_history(loaded, OPERATOR, pid)
    created, decided = events[0].occurred_at, _decided_at(events)
    assert timedelta(days=39) < decided - created < timedelta(days=41)
    assert created < datetime.now(UTC) - timedelta(days=600)
    assert trail.verify(loaded).ok


def _first_year(past: history.Past) -> int:
    today = datetime.now(UTC).date()
    meeting = history.meeting_times(today)[past.body][past.meeting]
    return (meeting - timedelta(days=40)).year


def _decided_at(events: list[HistoryEventView]) -> datetime:
    return next(
        e.occurred_at
        for e in events
        if e.action == "proposal.transition" and e.after and e.after.get("state") == "decided"
    )
