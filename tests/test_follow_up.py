"""Follow-up per indicator: a decision opens one follow-up for each follow-up indicator, each
is recorded or waived with a reason, and the proposal closes only when all are settled."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from eva_engine.errors import GuardFailed, InvalidInput, NotFound, PermissionDenied
from eva_engine.services.assessment import documents
from eva_engine.services.follow_up import commands, queries
from eva_engine.services.history import trail
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.runtime import Eva
from eva_engine.services.steps import transitions
from eva_engine.vocabulary import (
    Direction,
    FollowUpOutcome,
    FollowUpSource,
    FollowUpState,
    Publicity,
)
from tests.builders import OPERATOR, as_, build_foreign, document, meeting_id, proposal_in
from tests.conftest import World
from tests.test_import_statements import counted

TODAY = datetime.now(UTC).date()


def two_indicators(eva: Eva) -> documents.AssessmentDocument:
    doc = document(eva)
    question = doc.answers[0].question
    second = documents.IndicatorIn(
        name="Liikuntapaikkojen käyttäjämäärä",
        source="Kunnan oma kävijälaskenta",
        responsible="liikuntasihteeri",
        due=TODAY + timedelta(days=400),
        question=question,
    )
    return doc.model_copy(update={"follow_up_indicators": [*doc.follow_up_indicators, second]})


def decided(
    eva: Eva,
    doc: documents.AssessmentDocument | None = None,
    *,
    publicity: Publicity = Publicity.PUBLIC,
    preparer: str = "prep",
    presenter: str = "pres",
) -> int:
    """A proposal approved with the assessment ``doc`` (two indicators by default)."""
    ground = None if publicity == Publicity.PUBLIC else "JulkL 24 § 1 mom. 25 k"
    pid = proposal_in(
        eva,
        "assessment",
        publicity=publicity,
        ground=ground,
        preparer=preparer,
        presenter=presenter,
    )
    documents.import_assessment(eva, as_(preparer), pid, doc or two_indicators(eva))
    transitions.fire(eva, as_(preparer), pid, "submit_for_review")
    transitions.fire(eva, as_("sec"), pid, "pass_review")
    transitions.fire(eva, as_(presenter), pid, "sign_off")
    proposal_commands.schedule(
        eva,
        as_("sec"),
        proposal_commands.ScheduleProposal(proposal_id=pid, meeting_id=meeting_id(eva)),
    )
    transitions.fire(eva, as_("sec"), pid, "place_on_agenda")
    transitions.fire(eva, as_("sec"), pid, "approve")
    return pid


def result(
    follow_up_id: int, outcome: FollowUpOutcome = FollowUpOutcome.BETTER
) -> commands.RecordResult:
    return commands.RecordResult(
        follow_up_id=follow_up_id,
        value="23,4 %",
        measured_on=TODAY - timedelta(days=1),
        source_kind=FollowUpSource.SOTKANET,
        source_reference="289",
        note="Kasvoi ennustettua enemmän.",
        outcome=outcome,
    )


def ids(eva: Eva, pid: int) -> list[int]:
    return [f.id for f in queries.proposal_follow_ups(eva, OPERATOR, pid).follow_ups]


def test_a_decision_with_two_indicators_opens_two_follow_ups_for_the_preparer(
    eva: Eva, world: World
) -> None:
    pid = decided(eva)
    view = queries.proposal_follow_ups(eva, as_("prep"), pid)
    assert [(f.indicator, f.responsible, f.state) for f in view.follow_ups] == [
        ("Mittari", "prep", FollowUpState.OPEN),
        ("Liikuntapaikkojen käyttäjämäärä", "prep", FollowUpState.OPEN),
    ]
    assert [f.due for f in view.follow_ups] == [
        TODAY + timedelta(days=300),
        TODAY + timedelta(days=400),
    ]
    # The second follows a question: the chosen alternative predicted a positive impact.
    assert [f.predicted for f in view.follow_ups] == [None, Direction.POSITIVE]
    assert (view.open, view.overdue, view.can_record) == (2, 0, True)
    assert [i.indicator for i in queries.my_follow_ups(eva, as_("prep")).items] == [
        "Mittari",
        "Liikuntapaikkojen käyttäjämäärä",
    ]


def test_the_proposal_cannot_close_while_one_follow_up_is_open(eva: Eva, world: World) -> None:
    pid = decided(eva)
    first, second = ids(eva, pid)
    transitions.fire(eva, as_("prep"), pid, "start_follow_up")
    commands.record_result(eva, as_("prep"), result(first))
    with pytest.raises(GuardFailed) as caught:
        transitions.fire(eva, as_("prep"), pid, "close")
    assert [p.location for p in caught.value.problems] == ["follow_ups[1]"]
    assert "Liikuntapaikkojen käyttäjämäärä" in caught.value.problems[0].message
    commands.waive(
        eva,
        as_("pres"),
        commands.WaiveFollowUp(follow_up_id=second, reason="Laskenta lopetettiin."),
    )
    assert transitions.fire(eva, as_("prep"), pid, "close").to_state == "closed"
    # Closed: the follow-ups no longer change.
    with pytest.raises(InvalidInput, match="can no longer change"):
        commands.record_result(eva, as_("prep"), result(first))


def test_a_decided_proposal_cannot_close_straight_away_with_open_follow_ups(
    eva: Eva, world: World
) -> None:
    pid = decided(eva)
    with pytest.raises(GuardFailed, match="2 item"):
        transitions.fire(eva, as_("prep"), pid, "close")


def test_a_recorded_result_is_kept_with_its_source_and_outcome_and_audited(
    eva: Eva, world: World
) -> None:
    pid = decided(eva)
    first, _ = ids(eva, pid)
    view = commands.record_result(eva, as_("prep"), result(first, FollowUpOutcome.WORSE))
    assert (view.state, view.value, view.source_kind, view.source_reference) == (
        FollowUpState.DONE,
        "23,4 %",
        FollowUpSource.SOTKANET,
        "289",
    )
    assert (view.outcome, view.settled_by, view.measured_on) == (
        FollowUpOutcome.WORSE,
        "prep",
        TODAY - timedelta(days=1),
    )
    events = trail.proposal_history(eva, OPERATOR, pid)
    recorded = [e for e in events if e.action == "indicator_follow_up.record"]
    assert [(e.entity, e.role) for e in recorded] == [(f"indicator_follow_up:{first}", "preparer")]
    assert recorded[0].after is not None
    assert recorded[0].after["outcome"] == "worse"


def test_cannot_tell_yet_records_an_interim_result_but_leaves_the_follow_up_open(
    eva: Eva, world: World
) -> None:
    pid = decided(eva)
    first, _ = ids(eva, pid)
    view = commands.record_result(eva, as_("prep"), result(first, FollowUpOutcome.CANNOT_TELL_YET))
    assert (view.state, view.value, view.settled_by) == (FollowUpState.OPEN, "23,4 %", None)
    assert queries.proposal_follow_ups(eva, OPERATOR, pid).open == 2


def test_waiving_needs_a_reason(eva: Eva, world: World) -> None:
    with pytest.raises(ValueError, match="reason"):
        commands.WaiveFollowUp(follow_up_id=1, reason="   ")


def test_a_result_measured_in_the_future_is_refused_naming_the_field(
    eva: Eva, world: World
) -> None:
    pid = decided(eva)
    first, _ = ids(eva, pid)
    cmd = result(first).model_copy(update={"measured_on": TODAY + timedelta(days=5)})
    with pytest.raises(InvalidInput) as caught:
        commands.record_result(eva, as_("prep"), cmd)
    assert [p.location for p in caught.value.problems] == ["measured_on"]


def test_who_may_record_the_responsible_preparer_presenter_or_an_administrator(
    eva: Eva, world: World
) -> None:
    pid = decided(eva)
    first, second = ids(eva, pid)
    with pytest.raises(PermissionDenied, match="only the person responsible"):
        commands.record_result(eva, as_("sec"), result(first))
    assert not queries.proposal_follow_ups(eva, as_("sec"), pid).can_record
    assert commands.record_result(eva, as_("admin"), result(first)).settled_by == "admin"
    assert commands.record_result(eva, as_("pres"), result(second)).settled_by == "pres"


def test_another_organisations_user_does_not_find_the_follow_ups(eva: Eva, world: World) -> None:
    build_foreign(eva)
    pid = decided(eva)
    first, _ = ids(eva, pid)
    with pytest.raises(NotFound):
        queries.proposal_follow_ups(eva, as_("outsider"), pid)
    with pytest.raises(NotFound, match="no follow-up"):
        commands.record_result(eva, as_("muu_admin"), result(first))
    with pytest.raises(NotFound, match="no follow-up"):
        commands.waive(eva, as_("outsider"), commands.WaiveFollowUp(follow_up_id=first, reason="X"))
    assert queries.overdue_follow_ups(eva, as_("outsider"), today=date(2100, 1, 1)).total == 0


def test_overdue_follow_ups_are_listed_first_for_the_person_and_for_the_reports(
    eva: Eva, world: World
) -> None:
    pid = decided(eva)
    first, second = ids(eva, pid)
    later = TODAY + timedelta(days=350)  # the first is due in 300 days, the second in 400
    mine = queries.my_follow_ups(eva, as_("prep"), today=later)
    assert [(i.follow_up_id, i.overdue) for i in mine.items] == [(first, True), (second, False)]
    assert (mine.total, mine.overdue) == (2, 1)
    report = queries.overdue_follow_ups(eva, as_("aud"), today=later)
    assert [i.follow_up_id for i in report.items] == [first]
    commands.record_result(eva, as_("prep"), result(first))
    assert queries.overdue_follow_ups(eva, as_("aud"), today=later).total == 0
    assert queries.my_follow_ups(eva, as_("prep"), today=later).overdue == 0


def test_a_decision_without_indicators_has_no_follow_ups_and_closes(eva: Eva, world: World) -> None:
    pid = decided(eva, document(eva, indicators=False))
    assert ids(eva, pid) == []
    assert transitions.fire(eva, as_("pres"), pid, "close").to_state == "closed"


def test_the_overdue_follow_ups_take_as_many_statements_for_many_as_for_two(
    eva: Eva, world: World
) -> None:
    later = TODAY + timedelta(days=350)  # each decision's first follow-up is overdue
    public, secret = decided(eva), decided(eva, publicity=Publicity.CONFIDENTIAL)

    def overdue(who: str) -> tuple[list[int], int]:
        with counted(eva) as statements:
            found = queries.overdue_follow_ups(eva, as_(who), today=later)
        assert found.total == found.overdue == len(found.items)
        return [i.proposal_id for i in found.items], len(statements)

    few = {who: overdue(who) for who in ("aud", "tek")}
    # The auditor sees both; a preparer of TEKLTK only the public one of HYVLTK.
    assert few["aud"][0] == [public, secret]
    assert few["tek"][0] == [public]
    more = [decided(eva) for _ in range(4)] + [decided(eva, publicity=Publicity.CONFIDENTIAL)]
    many = {who: overdue(who) for who in ("aud", "tek")}
    assert many["aud"][0] == [public, secret, *more]
    assert many["tek"][0] == [public, *more[:4]]
    assert {who: n for who, (_, n) in many.items()} == {who: n for who, (_, n) in few.items()}
    with counted(eva) as statements:
        everyone = queries.overdue_follow_ups(eva, OPERATOR, today=later)
    assert everyone.total == 7
    assert len(statements) <= few["aud"][1] + 1
