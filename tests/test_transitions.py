"""Behaviour of every transition, guard and permission of the standard EVA workflow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eva_engine.errors import (
    Conflict,
    GuardFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
)
from eva_engine.services.assessment import documents
from eva_engine.services.history import trail
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.runtime import Eva
from eva_engine.services.steps import transitions
from eva_engine.vocabulary import AssignmentState, MeetingOutcome, Publicity, ScreeningOutcome
from tests.builders import (
    OPERATOR,
    as_,
    document,
    meeting_id,
    new_proposal,
    proposal_in,
    required_questions,
    screen,
    settle_follow_ups,
    state_of,
)
from tests.conftest import World


def fire(eva: Eva, pid: int, trigger: str, user: str, reason: str | None = None) -> str:
    return transitions.fire(eva, as_(user), pid, trigger, reason=reason).to_state


def open_assignments(eva: Eva, pid: int) -> list[tuple[str, str | None, list[str]]]:
    view = proposal_queries.show(eva, OPERATOR, pid)
    return [(a.kind, a.assignee, a.roles) for a in view.assignments]


# draft and screening -------------------------------------------------------------------------
def test_a_new_proposal_is_a_draft_pinned_to_the_published_workflow_with_a_prepare_task(
    eva: Eva, world: World
) -> None:
    view = proposal_queries.show(eva, OPERATOR, new_proposal(eva))
    assert (view.state, view.workflow, view.workflow_version, view.revision) == (
        "draft",
        "eva-standard",
        4,
        1,
    )
    assert open_assignments(eva, view.id) == [("prepare", "prep", [])]


def test_the_preparer_starts_screening_but_a_secretary_cannot(eva: Eva, world: World) -> None:
    pid = new_proposal(eva)
    with pytest.raises(PermissionDenied, match="needs one of the roles preparer"):
        fire(eva, pid, "start_screening", "sec")
    assert fire(eva, pid, "start_screening", "prep") == "screening"


def test_a_trigger_that_does_not_exist_in_the_state_names_the_possible_ones(
    eva: Eva, world: World
) -> None:
    pid = new_proposal(eva)
    with pytest.raises(TransitionNotAllowed, match="possible here: start_screening, withdraw"):
        fire(eva, pid, "sign_off", "pres")


def test_the_assessment_cannot_begin_before_the_screening_is_recorded(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "screening")
    with pytest.raises(GuardFailed) as caught:
        fire(eva, pid, "begin_assessment", "prep")
    assert [p.location for p in caught.value.problems] == ["screening"]
    screen(eva, pid)
    assert fire(eva, pid, "begin_assessment", "prep") == "assessment"


def test_an_exempt_screening_goes_straight_to_review_and_never_to_assessment(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "screening")
    screen(eva, pid, ScreeningOutcome.EXEMPT)
    with pytest.raises(GuardFailed, match="1 item"):
        fire(eva, pid, "begin_assessment", "prep")
    assert fire(eva, pid, "submit_for_review", "prep") == "review"


def test_a_screening_that_needs_an_assessment_cannot_skip_it(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "screening")
    screen(eva, pid, ScreeningOutcome.LIGHT)
    with pytest.raises(GuardFailed) as caught:
        fire(eva, pid, "submit_for_review", "prep")
    assert "begin it first" in caught.value.problems[0].message


# submitting for review: the completeness guards -------------------------------------------------
def test_submitting_an_incomplete_assessment_names_every_missing_area_question_and_alternative(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "assessment")
    documents.import_assessment(eva, as_("prep"), pid, document(eva, skip=3))
    with pytest.raises(GuardFailed) as caught:
        fire(eva, pid, "submit_for_review", "prep")
    missing = [p for p in caught.value.problems if p.message == "not answered"]
    assert len(missing) == 3
    area, question = required_questions(eva, ScreeningOutcome.LIGHT)[-1]
    assert f"area {area}, question {question}, alternative 1 (Esitys)" in [
        p.location for p in missing
    ]
    assert state_of(eva, pid) == "assessment"


def test_an_empty_assessment_lists_the_missing_chosen_alternative(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "assessment")
    with pytest.raises(GuardFailed) as caught:
        fire(eva, pid, "submit_for_review", "prep")
    assert "alternatives" in [p.location for p in caught.value.problems]


def test_a_positive_or_negative_answer_needs_magnitude_and_justification(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "assessment")
    doc = document(eva)
    first = doc.answers[0].model_copy(update={"magnitude": None, "justification": None})
    doc = doc.model_copy(update={"answers": [first, *doc.answers[1:]]})
    documents.import_assessment(eva, as_("prep"), pid, doc)
    with pytest.raises(GuardFailed) as caught:
        fire(eva, pid, "submit_for_review", "prep")
    assert sorted(p.message for p in caught.value.problems) == [
        "justification missing",
        "magnitude missing",
    ]


def test_a_significant_negative_impact_needs_a_mitigation(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "assessment")
    _, question = required_questions(eva, ScreeningOutcome.LIGHT)[0]
    documents.import_assessment(
        eva, as_("prep"), pid, document(eva, negative=question, mitigate=False)
    )
    with pytest.raises(GuardFailed) as caught:
        fire(eva, pid, "submit_for_review", "prep")
    assert [str(p) for p in caught.value.problems] == [
        f"question {question}, alternative 1 (Esitys): significant negative impact has no "
        "mitigation"
    ]
    documents.import_assessment(eva, as_("prep"), pid, document(eva, negative=question))
    assert fire(eva, pid, "submit_for_review", "prep") == "review"


def test_a_full_assessment_needs_a_participation_plan_more_answers_and_indicators(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "assessment")
    from eva_engine.services.assessment import screening  # noqa: PLC0415

    screening.record_screening(
        eva,
        as_("prep"),
        screening.RecordScreening(
            proposal_id=pid, outcome=ScreeningOutcome.FULL, criteria=["many_residents"]
        ),
    )
    documents.import_assessment(
        eva, as_("prep"), pid, document(eva, ScreeningOutcome.LIGHT, indicators=False)
    )
    with pytest.raises(GuardFailed) as caught:
        fire(eva, pid, "submit_for_review", "prep")
    locations = {p.location for p in caught.value.problems}
    assert {"screening.participation_plan", "follow_up_indicators"} <= locations
    light = len(required_questions(eva, ScreeningOutcome.LIGHT))
    full = len(required_questions(eva, ScreeningOutcome.FULL))
    assert sum(p.message == "not answered" for p in caught.value.problems) == 2 * (full - light)
    screen(eva, pid, ScreeningOutcome.FULL)
    documents.import_assessment(eva, as_("prep"), pid, document(eva, ScreeningOutcome.FULL))
    assert fire(eva, pid, "submit_for_review", "prep") == "review"


def test_submitting_closes_the_preparation_task_and_opens_a_review_queue(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "review")
    assert open_assignments(eva, pid) == [("review", None, ["secretary", "expert"])]


# review, four eyes, sign-off ------------------------------------------------------------------
def test_the_preparer_cannot_review_their_own_proposal_even_holding_the_expert_role(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "review", preparer="prep_expert")
    with pytest.raises(GuardFailed, match="1 item") as caught:
        fire(eva, pid, "pass_review", "prep_expert")
    assert "four eyes" in caught.value.problems[0].message
    assert fire(eva, pid, "pass_review", "expert") == "reviewed"


@pytest.mark.parametrize("reviewer", ["sec", "expert"])
def test_a_secretary_or_the_wellbeing_coordinator_passes_the_review(
    eva: Eva, world: World, reviewer: str
) -> None:
    pid = proposal_in(eva, "review")
    assert fire(eva, pid, "pass_review", reviewer) == "reviewed"
    assert open_assignments(eva, pid) == [("sign_off", "pres", [])]


def test_a_presenter_cannot_review(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "review")
    with pytest.raises(PermissionDenied):
        fire(eva, pid, "pass_review", "pres")


def test_returning_for_revision_needs_a_reason_and_goes_back_to_the_preparer(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "review")
    with pytest.raises(GuardFailed, match="needs a reason"):
        fire(eva, pid, "return_for_revision", "sec")
    assert fire(eva, pid, "return_for_revision", "sec", "Lapsivaikutukset puuttuvat.") == (
        "assessment"
    )
    assert open_assignments(eva, pid) == [("revise", "prep", [])]
    last = trail.proposal_history(eva, OPERATOR, pid)
    transition = [e for e in last if e.action == "proposal.transition"][-1]
    assert (transition.reason, transition.role) == ("Lapsivaikutukset puuttuvat.", "secretary")


def test_an_exempt_proposal_returned_for_revision_goes_back_to_screening(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "screening")
    screen(eva, pid, ScreeningOutcome.EXEMPT)
    fire(eva, pid, "submit_for_review", "prep")
    assert fire(eva, pid, "return_for_revision", "expert", "Perustelu puuttuu.") == "screening"


def test_only_the_proposals_own_presenter_signs_off(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "reviewed")
    with pytest.raises(GuardFailed, match="1 item"):
        fire(eva, pid, "sign_off", "director")
    assert fire(eva, pid, "sign_off", "pres") == "signed_off"
    assert open_assignments(eva, pid) == [("agenda", None, ["secretary"])]


def test_a_presenter_who_prepared_the_proposal_signs_it_off_after_someone_else_reviewed_it(
    eva: Eva, world: World
) -> None:
    # Seed 001: the welfare director both prepared and presented.
    pid = proposal_in(eva, "reviewed", preparer="director", presenter="director")
    assert fire(eva, pid, "sign_off", "director") == "signed_off"


def test_the_presenter_may_send_it_back_instead_of_signing(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "reviewed")
    assert fire(eva, pid, "return_for_revision", "pres", "Tarkenna.") == "assessment"


# agenda and meeting outcomes ------------------------------------------------------------------
def test_a_proposal_goes_on_an_agenda_only_when_signed_off_and_scheduled(
    eva: Eva, world: World
) -> None:
    reviewed = proposal_in(eva, "reviewed")
    with pytest.raises(TransitionNotAllowed):
        fire(eva, reviewed, "place_on_agenda", "sec")
    pid = proposal_in(eva, "signed_off")
    with pytest.raises(GuardFailed, match="1 item"):
        fire(eva, pid, "place_on_agenda", "sec")
    proposal_commands.schedule(
        eva,
        as_("sec"),
        proposal_commands.ScheduleProposal(proposal_id=pid, meeting_id=meeting_id(eva)),
    )
    assert fire(eva, pid, "place_on_agenda", "sec") == "on_agenda"
    assert proposal_queries.show(eva, OPERATOR, pid).section == "§ 1/2026"


def test_sections_run_per_body_per_year(eva: Eva, world: World) -> None:
    first = proposal_in(eva, "on_agenda")
    second = proposal_in(eva, "on_agenda")
    other_body = proposal_in(eva, "on_agenda", body="KH")
    sections = [
        proposal_queries.show(eva, OPERATOR, p).section for p in (first, second, other_body)
    ]
    assert sections == ["§ 1/2026", "§ 2/2026", "§ 1/2026"]


@pytest.mark.parametrize(
    ("trigger", "reason", "state", "outcome"),
    [
        ("approve", None, "decided", MeetingOutcome.APPROVED),
        ("approve_amended", "Muutettu 2. kohtaa.", "decided", MeetingOutcome.AMENDED),
        ("reject", None, "rejected", MeetingOutcome.REJECTED),
        ("remove", "Lisäselvitys.", "removed", MeetingOutcome.REMOVED),
        ("table", None, "signed_off", MeetingOutcome.TABLED),
    ],
)
def test_the_secretary_records_each_meeting_outcome(
    eva: Eva,
    world: World,
    trigger: str,
    reason: str | None,
    state: str,
    outcome: MeetingOutcome,
) -> None:
    pid = proposal_in(eva, "on_agenda")
    assert fire(eva, pid, trigger, "sec", reason) == state
    view = proposal_queries.show(eva, OPERATOR, pid)
    assert view.outcome == outcome
    if trigger == "table":
        assert (view.meeting_id, view.section) == (None, None)
        assert open_assignments(eva, pid) == [("agenda", None, ["secretary"])]


def test_an_amended_approval_and_a_removal_need_a_reason(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "on_agenda")
    for trigger in ("approve_amended", "remove"):
        with pytest.raises(GuardFailed, match="needs a reason"):
            fire(eva, pid, trigger, "sec")


def test_returned_for_new_preparation_starts_a_new_revision_and_keeps_the_old_one(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "on_agenda")
    assert fire(eva, pid, "return_for_new_preparation", "sec", "Selvitä lapsivaikutukset.") == (
        "draft"
    )
    view = proposal_queries.show(eva, OPERATOR, pid)
    assert (view.revision, view.outcome, view.meeting_id) == (2, MeetingOutcome.RETURNED, None)
    assert view.screening is not None
    assert view.answers > 0
    with eva.uow() as uow:
        old = uow.repos.assessment(pid, 1)
        new = uow.repos.assessment(pid, 2)
        assert old is not None
        assert new is not None
        assert len(uow.repos.snapshot(old.id).answers) == len(uow.repos.snapshot(new.id).answers)
    assert open_assignments(eva, pid) == [("prepare", "prep", [])]


def test_the_new_revision_can_be_walked_again_to_a_decision(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "on_agenda")
    fire(eva, pid, "return_for_new_preparation", "sec", "Uusi valmistelu.")
    for trigger, user in [
        ("start_screening", "prep"),
        ("begin_assessment", "prep"),
        ("submit_for_review", "prep"),
        ("pass_review", "sec"),
        ("sign_off", "pres"),
    ]:
        fire(eva, pid, trigger, user)
    proposal_commands.schedule(
        eva,
        as_("sec"),
        proposal_commands.ScheduleProposal(proposal_id=pid, meeting_id=meeting_id(eva)),
    )
    fire(eva, pid, "place_on_agenda", "sec")
    assert fire(eva, pid, "approve", "sec") == "decided"


def test_outcomes_are_recorded_only_by_a_secretary(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "on_agenda")
    with pytest.raises(PermissionDenied):
        fire(eva, pid, "approve", "pres")


# follow-up, closing, withdrawal -------------------------------------------------------------
def test_follow_up_needs_indicators_and_closing_ends_every_task(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "decided")
    assert open_assignments(eva, pid) == []  # the follow-ups are tasks of their own
    assert fire(eva, pid, "start_follow_up", "prep") == "follow_up"
    settle_follow_ups(eva, pid)
    assert fire(eva, pid, "close", "prep") == "closed"
    assert open_assignments(eva, pid) == []
    with eva.uow() as uow:
        states = [a.state for a in uow.repos.assignments_for_proposal(pid)]
    assert states.count(AssignmentState.OPEN) == 0


def test_a_decision_without_indicators_cannot_enter_follow_up_but_can_close(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "assessment")
    documents.import_assessment(eva, as_("prep"), pid, document(eva, indicators=False))
    for trigger, user in [
        ("submit_for_review", "prep"),
        ("pass_review", "sec"),
        ("sign_off", "pres"),
    ]:
        fire(eva, pid, trigger, user)
    proposal_commands.schedule(
        eva,
        as_("sec"),
        proposal_commands.ScheduleProposal(proposal_id=pid, meeting_id=meeting_id(eva)),
    )
    fire(eva, pid, "place_on_agenda", "sec")
    fire(eva, pid, "approve", "sec")
    with pytest.raises(GuardFailed, match="1 item"):
        fire(eva, pid, "start_follow_up", "prep")
    assert fire(eva, pid, "close", "pres") == "closed"


@pytest.mark.parametrize(
    "state", ["draft", "screening", "assessment", "review", "reviewed", "signed_off", "on_agenda"]
)
def test_a_proposal_can_be_withdrawn_from_any_open_state_with_a_reason(
    eva: Eva, world: World, state: str
) -> None:
    pid = proposal_in(eva, state)
    with pytest.raises(GuardFailed, match="needs a reason"):
        fire(eva, pid, "withdraw", "prep")
    assert fire(eva, pid, "withdraw", "prep", "Asia raukesi.") == "withdrawn"
    assert open_assignments(eva, pid) == []


@pytest.mark.parametrize("state", ["decided", "closed"])
def test_a_decided_or_closed_proposal_cannot_be_withdrawn(
    eva: Eva, world: World, state: str
) -> None:
    pid = proposal_in(eva, state)
    with pytest.raises(TransitionNotAllowed):
        fire(eva, pid, "withdraw", "prep", "Myöhäistä.")


def test_nothing_leaves_a_final_state(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "closed")
    with pytest.raises(TransitionNotAllowed, match="none: the proposal is closed"):
        fire(eva, pid, "start_follow_up", "prep")


# scope, confidentiality, conflicts ----------------------------------------------------------
def test_a_grant_for_one_body_does_not_reach_another(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "review")
    with pytest.raises(PermissionDenied):
        fire(eva, pid, "pass_review", "sec_tek")
    tek_pid = proposal_in(eva, "review", preparer="tek", body="TEKLTK")
    assert fire(eva, tek_pid, "pass_review", "sec_tek") == "reviewed"


def test_another_organisations_proposal_is_not_found_rather_than_forbidden(
    eva: Eva, world: World
) -> None:
    pid = new_proposal(eva)
    with pytest.raises(NotFound):
        fire(eva, pid, "start_screening", "outsider")
    with pytest.raises(NotFound):
        proposal_queries.show(eva, as_("outsider"), pid)


def test_a_confidential_proposal_is_hidden_from_grants_that_do_not_cover_its_body(
    eva: Eva, world: World
) -> None:
    pid = new_proposal(eva, publicity=Publicity.CONFIDENTIAL, ground="JulkL 24 § 1 mom. 25 k")
    with pytest.raises(NotFound):
        proposal_queries.show(eva, as_("sec_tek"), pid)
    assert proposal_queries.show(eva, as_("aud"), pid).publicity == Publicity.CONFIDENTIAL
    public = new_proposal(eva)
    assert proposal_queries.show(eva, as_("sec_tek"), public).id == public


def test_reading_a_confidential_proposal_is_logged_as_a_disclosure(eva: Eva, world: World) -> None:
    pid = new_proposal(eva, publicity=Publicity.CONFIDENTIAL, ground="JulkL 24 § 1 mom. 32 k")
    proposal_queries.show(eva, as_("aud"), pid)
    reads = [e for e in trail.proposal_history(eva, as_("aud"), pid) if e.action == "proposal.read"]
    assert [(e.actor, e.action) for e in reads] == [("aud", "proposal.read")]


def test_a_non_public_proposal_needs_its_legal_ground(eva: Eva, world: World) -> None:
    with pytest.raises(ValueError, match="legal ground"):
        new_proposal(eva, publicity=Publicity.PARTLY_CONFIDENTIAL)


def test_a_case_number_in_the_wrong_format_is_refused(eva: Eva, world: World) -> None:
    with pytest.raises(InvalidInput) as caught:
        proposal_commands.create_proposal(
            eva,
            as_("prep"),
            proposal_commands.CreateProposal(
                organisation="testila",
                case_number="HEL 2024-009117",
                title_fi="X",
                body="HYVLTK",
                presenter="pres",
            ),
        )
    assert caught.value.problems[0].location == "case_number"


@pytest.mark.postgres  # the version check, and the stored time
def test_a_stale_version_is_a_conflict_naming_who_changed_the_proposal(
    eva: Eva, world: World
) -> None:
    pid = new_proposal(eva)
    read = proposal_queries.show(eva, OPERATOR, pid).row_version
    fire(eva, pid, "start_screening", "prep")
    with pytest.raises(Conflict, match=r"changed by prep at .* UTC.*you had version 1"):
        transitions.fire(eva, as_("prep"), pid, "withdraw", reason="x", expected_version=read)
    assert state_of(eva, pid) == "screening"


def test_a_transition_is_one_audit_event_with_actor_role_reason_and_states(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "review")
    fire(eva, pid, "return_for_revision", "expert", "Korjaa.")
    event = [
        e for e in trail.proposal_history(eva, OPERATOR, pid) if e.action == "proposal.transition"
    ][-1]
    assert (event.actor, event.role, event.reason) == ("expert", "expert", "Korjaa.")
    assert event.before == {"state": "review"}
    assert event.after == {"state": "assessment", "trigger": "return_for_revision"}


def test_the_available_actions_say_why_one_is_not_possible(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "assessment")
    view = proposal_queries.show(eva, as_("prep"), pid)
    submit = next(a for a in view.actions if a.trigger == "submit_for_review")
    assert not submit.allowed
    assert submit.role_ok
    assert submit.missing
    view = proposal_queries.show(eva, as_("sec"), pid)
    submit = next(a for a in view.actions if a.trigger == "submit_for_review")
    assert not submit.role_ok


def test_publishing_a_new_version_never_changes_a_running_proposal(
    eva: Eva, world: World, tmp_path: object
) -> None:
    import shutil  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from eva_engine.services import definitions  # noqa: PLC0415
    from eva_engine.services.runtime import Eva as Runtime  # noqa: PLC0415

    pid = proposal_in(eva, "assessment")
    folder = Path(str(tmp_path)) / "workflows"
    shutil.copytree(eva.workflows_dir, folder)
    source = folder / "eva-standard.yaml"
    text = source.read_text(encoding="utf-8").replace("version: 4\ntitle:", "version: 5\ntitle:")
    source.write_text(text.replace("due_days: 14}", "due_days: 10}"), encoding="utf-8")
    report = definitions.publish(Runtime(eva.database, folder), OPERATOR)
    assert report.published == ["eva-standard v5"]
    assert proposal_queries.show(eva, OPERATOR, pid).workflow_version == 4
    assert proposal_queries.show(eva, OPERATOR, new_proposal(eva)).workflow_version == 5
    documents.import_assessment(eva, as_("prep"), pid, document(eva))
    fire(eva, pid, "submit_for_review", "prep")
    # Still on the running version's 14 days, not the new version's 10.
    review = proposal_queries.show(eva, OPERATOR, pid).assignments[0]
    assert review.due == (datetime.now(UTC) + timedelta(days=14)).date()
    assert state_of(eva, pid) == "review"


def test_republishing_a_changed_file_under_the_same_version_is_refused(
    eva: Eva, world: World, tmp_path: object
) -> None:
    import shutil  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from eva_engine.services import definitions  # noqa: PLC0415
    from eva_engine.services.runtime import Eva as Runtime  # noqa: PLC0415

    folder = Path(str(tmp_path)) / "workflows"
    shutil.copytree(eva.workflows_dir, folder)
    source = folder / "eva-standard.yaml"
    source.write_text(
        source.read_text(encoding="utf-8").replace("due_days: 14}", "due_days: 10}"),
        encoding="utf-8",
    )
    with pytest.raises(Conflict, match="raise its version"):
        definitions.publish(Runtime(eva.database, folder), OPERATOR)


def test_the_proposal_list_neither_shows_nor_counts_what_the_user_may_not_see(
    eva: Eva, world: World
) -> None:
    public = new_proposal(eva)
    hidden = new_proposal(eva, publicity=Publicity.CONFIDENTIAL, ground="JulkL 24 § 1 mom. 25 k")
    tek = new_proposal(
        eva,
        preparer="tek",
        body="TEKLTK",
        publicity=Publicity.CONFIDENTIAL,
        ground="JulkL 24 § 1 mom. 25 k",
    )
    narrow = proposal_queries.list_proposals(eva, as_("sec_tek"), "testila")
    assert ({p.id for p in narrow.items}, narrow.total) == ({public, tek}, 2)
    wide = proposal_queries.list_proposals(eva, as_("aud"), "testila")
    assert ({p.id for p in wide.items}, wide.total) == ({public, hidden, tek}, 3)
    with pytest.raises(NotFound):
        proposal_queries.list_proposals(eva, as_("outsider"), "testila")
