"""Workflow knowledge lives in the workflow files only: a copy of the standard workflow whose
every state, trigger and task kind is renamed still makes the whole journey work, with the
agenda check, the notifications, My work, reassignment, re-authentication and who writes the
texts of the minutes read from the workflow (``phase``, ``notify``, ``reauthenticate``,
``task_kinds``, ``texts``), never from names the code knows."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from eva_engine.config import default_workflows_dir
from eva_engine.errors import GuardFailed, InvalidInput, PermissionDenied
from eva_engine.services import definitions
from eva_engine.services.assessment import documents
from eva_engine.services.follow_up import queries as follow_up_queries
from eva_engine.services.meetings import agendas
from eva_engine.services.people import organisations, users
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.proposals import texts as proposal_texts
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.steps import assignments, transitions, work
from eva_engine.vocabulary import NotificationKind, Role, ScreeningOutcome, TextKind
from eva_engine.workflow.loader import load_catalogue
from tests.builders import OPERATOR, PATTERN, as_, document, screen, settle_follow_ups
from tests.conftest import World
from tests.notify_support import messages

ORG = "nimetty"
NAME = "eva-renamed"
PEOPLE: dict[str, list[Role]] = {
    "x_prep": [Role.PREPARER, Role.EXPERT],  # an expert too: four eyes must keep them out
    "x_prep2": [Role.PREPARER],
    "x_pres": [Role.PRESENTER],
    "x_sec": [Role.SECRETARY],
}


def x(name: str) -> str:
    return f"x_{name}"


def renamed(data: dict[str, Any]) -> dict[str, Any]:
    """Every state, trigger and task kind prefixed with ``x_``."""
    wf = dict(data)
    wf["name"], wf["version"] = NAME, 1
    wf["initial"] = x(wf["initial"])
    wf["states"] = [{**s, "id": x(s["id"])} for s in wf["states"]]
    wf["task_kinds"] = [{**k, "id": x(k["id"])} for k in wf["task_kinds"]]
    wf["initial_task"] = {**wf["initial_task"], "kind": x(wf["initial_task"]["kind"])}
    for tr in wf["transitions"]:
        tr["trigger"], tr["dest"] = x(tr["trigger"]), x(tr["dest"])
        source = tr["source"]
        tr["source"] = [x(s) for s in source] if isinstance(source, list) else x(source)
        for effect in tr.get("effects", []):
            if "kind" in effect:
                effect["kind"] = x(effect["kind"])
            if "kinds" in effect:
                effect["kinds"] = [k if k == "*" else x(k) for k in effect["kinds"]]
    return wf


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "workflows"
    shutil.copytree(default_workflows_dir(), target)
    source = target / "eva-standard.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    source.unlink()
    (target / "eva-renamed.yaml").write_text(
        yaml.safe_dump(renamed(data), allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return target


@pytest.fixture
def renamed_eva(eva: Eva, world: World, folder: Path) -> Eva:
    """The test database with the renamed workflow published and an organisation using it."""
    runtime = Eva(eva.database, folder)
    assert definitions.publish(runtime, OPERATOR).published == [f"{NAME} v1"]
    organisations.create_organisation(
        runtime,
        OPERATOR,
        organisations.CreateOrganisation(
            code=ORG,
            name_fi="Nimetty",
            case_number_pattern=PATTERN,
            case_number_example="257/05.00.00/2023",
            workflow_name=NAME,
        ),
    )
    organisations.create_body(
        runtime, OPERATOR, organisations.CreateBody(organisation=ORG, code="KH", name_fi="KH")
    )
    organisations.create_meeting(
        runtime,
        OPERATOR,
        organisations.CreateMeeting(
            organisation=ORG, body="KH", starts_at=datetime(2026, 12, 15, 16, tzinfo=UTC)
        ),
    )
    for username, roles in PEOPLE.items():
        users.create_user(
            runtime,
            OPERATOR,
            users.CreateUser(
                username=username, full_name=username.title(), email=f"{username}@example.fi"
            ),
            organisation=ORG,
        )
        for role in roles:
            users.grant_role(
                runtime, OPERATOR, users.GrantRole(username=username, organisation=ORG, role=role)
            )
    return runtime


def create(eva: Eva, case: int) -> int:
    return proposal_commands.create_proposal(
        eva,
        as_("x_prep"),
        proposal_commands.CreateProposal(
            organisation=ORG,
            case_number=f"{case}/05.00.00/2026",
            title_fi=f"Nimetty {case}",
            body="KH",
            presenter="x_pres",
        ),
    ).id


def fire(eva: Eva, pid: int, trigger: str, who: str, reason: str | None = None) -> str:
    return transitions.fire(eva, as_(who), pid, x(trigger), reason=reason).to_state


def kinds_of(eva: Eva, who: str) -> list[str]:
    return [i.kind for i in work.my_work(eva, as_(who)).items]


def sent(eva: Eva, kind: NotificationKind, pid: int) -> list[str]:
    return sorted(m.recipient or "" for m in messages(eva, kind=kind, proposal_id=pid))


def open_task(eva: Eva, pid: int, kind: str) -> int:
    view = proposal_queries.show(eva, OPERATOR, pid)
    return next(a.id for a in view.assignments if a.kind == x(kind))


def meeting(eva: Eva) -> int:
    found = agendas.my_meetings(eva, as_("x_sec"))
    assert len(found) == 1
    return found[0].id


def to_signed_off(eva: Eva, pid: int) -> None:
    fire(eva, pid, "start_screening", "x_prep")
    screen(eva, pid, ScreeningOutcome.LIGHT, "x_prep")
    fire(eva, pid, "begin_assessment", "x_prep")
    documents.import_assessment(eva, as_("x_prep"), pid, document(eva))
    fire(eva, pid, "submit_for_review", "x_prep")
    fire(eva, pid, "pass_review", "x_sec")
    fire(eva, pid, "sign_off", "x_pres")


def test_the_renamed_copy_of_the_standard_workflow_is_valid(folder: Path) -> None:
    wf = load_catalogue(folder).bundle(NAME).workflow
    assert all(s.id.startswith("x_") for s in wf.states)
    assert all(t.trigger.startswith("x_") for t in wf.transitions)
    assert wf.reauthenticated_triggers() == {"x_sign_off"}


def test_the_whole_journey_works_on_a_workflow_with_every_name_changed(
    renamed_eva: Eva,
) -> None:
    eva = renamed_eva
    pid = create(eva, 1)
    assert proposal_queries.show(eva, OPERATOR, pid).state == "x_draft"
    # The texts of the minutes the state names (``texts``): the preparer's while preparing.
    assert proposal_texts.texts(eva, as_("x_prep"), pid).writable == [
        TextKind.GROUNDS,
        TextKind.DECISION_PROPOSAL,
    ]
    # The initial task is the workflow's, in My work.
    assert kinds_of(eva, "x_prep") == ["x_prepare"]
    fire(eva, pid, "start_screening", "x_prep")
    screen(eva, pid, ScreeningOutcome.LIGHT, "x_prep")
    # The route is chosen once, by the engine: not exempt, so on to the assessment.
    assert fire(eva, pid, "begin_assessment", "x_prep") == "x_assessment"
    documents.import_assessment(eva, as_("x_prep"), pid, document(eva))
    assert fire(eva, pid, "submit_for_review", "x_prep") == "x_review"

    # Four eyes (``four_eyes`` of the review task kind): the preparer, an expert too, does not
    # see the review queue, and the review cannot be handed to them.
    assert "x_review" not in kinds_of(eva, "x_prep")
    assert "x_review" in kinds_of(eva, "x_sec")
    with pytest.raises(InvalidInput, match="four eyes"):
        assignments.reassign(
            eva,
            as_("x_sec"),
            assignments.Reassign(assignment_id=open_task(eva, pid, "review"), assignee="x_prep"),
        )

    # Returned for revision: the preparer is told (``notify: [returned]``).
    assert fire(eva, pid, "return_for_revision", "x_sec", "Korjaa.") == "x_assessment"
    assert sent(eva, NotificationKind.RETURNED, pid) == ["x_prep"]
    assert kinds_of(eva, "x_prep") == ["x_revise"]
    fire(eva, pid, "submit_for_review", "x_prep")
    assert fire(eva, pid, "pass_review", "x_sec") == "x_reviewed"

    # The sign-off task may only be handed to a presenter (the task kind's ``roles``).
    assert kinds_of(eva, "x_pres") == ["x_sign_off"]
    with pytest.raises(InvalidInput, match="cannot take this task"):
        assignments.reassign(
            eva,
            as_("x_sec"),
            assignments.Reassign(assignment_id=open_task(eva, pid, "sign_off"), assignee="x_prep2"),
        )
    # Signing off needs re-authentication (``reauthenticate: true``), whatever its name.
    with pytest.raises(PermissionDenied, match="re-authentication"):
        transitions.fire(eva, Caller("x_pres", "tests"), pid, "x_sign_off")
    assert fire(eva, pid, "sign_off", "x_pres") == "x_signed_off"
    assert sent(eva, NotificationKind.SIGNED_OFF, pid) == ["x_prep"]

    # Scheduled: the agenda counts it as ready (``phase: ready``).
    mid = meeting(eva)
    proposal_commands.schedule(
        eva, as_("x_sec"), proposal_commands.ScheduleProposal(proposal_id=pid, meeting_id=mid)
    )
    item = agendas.agenda(eva, as_("x_sec"), mid).items[0]
    assert (item.state, item.complete, item.blocking) == ("x_signed_off", True, [])
    assert agendas.my_meetings(eva, as_("x_sec"))[0].incomplete == 0
    assert fire(eva, pid, "place_on_agenda", "x_sec") == "x_on_agenda"
    assert kinds_of(eva, "x_sec") == ["x_record_outcome"]
    assert fire(eva, pid, "approve", "x_sec") == "x_decided"
    assert sent(eva, NotificationKind.OUTCOME_RECORDED, pid) == ["x_prep", "x_pres"]
    assert agendas.agenda(eva, as_("x_sec"), mid).items[0].complete
    # After the meeting the secretary writes the decision (``texts`` of the decided state).
    assert proposal_texts.texts(eva, as_("x_sec"), pid).writable == [TextKind.DECISION]
    assert proposal_texts.texts(eva, as_("x_prep"), pid).writable == []

    # Decided (``phase: decided``): it cannot be scheduled again.
    with pytest.raises(InvalidInput, match=r"cannot be put on a meeting.s agenda"):
        proposal_commands.schedule(
            eva, as_("x_sec"), proposal_commands.ScheduleProposal(proposal_id=pid, meeting_id=mid)
        )
    # One follow-up per indicator (``open_follow_ups``), of the renamed task kind; the
    # proposal closes only when each is settled (``follow_ups_settled``).
    mine = follow_up_queries.my_follow_ups(eva, as_("x_prep")).items
    assert [i.kind for i in mine] == ["x_follow_up"]
    assert fire(eva, pid, "start_follow_up", "x_prep") == "x_follow_up"
    with pytest.raises(GuardFailed, match="Mittari"):
        fire(eva, pid, "close", "x_prep")
    settle_follow_ups(eva, pid, "x_prep")
    assert fire(eva, pid, "close", "x_prep") == "x_closed"
    assert kinds_of(eva, "x_prep") == []


def test_a_rejected_or_removed_item_counts_on_the_agenda_as_decided_not_incomplete(
    renamed_eva: Eva,
) -> None:
    eva = renamed_eva
    mid = meeting(eva)
    ended = {}
    for case, (trigger, reason) in enumerate([("reject", None), ("remove", "Lisäselvitys.")]):
        pid = create(eva, 10 + case)
        to_signed_off(eva, pid)
        proposal_commands.schedule(
            eva, as_("x_sec"), proposal_commands.ScheduleProposal(proposal_id=pid, meeting_id=mid)
        )
        fire(eva, pid, "place_on_agenda", "x_sec")
        ended[pid] = fire(eva, pid, trigger, "x_sec", reason)
        assert sent(eva, NotificationKind.OUTCOME_RECORDED, pid) == ["x_prep", "x_pres"]
    waiting = create(eva, 20)  # a draft on the agenda is what is incomplete
    proposal_commands.schedule(
        eva, as_("x_sec"), proposal_commands.ScheduleProposal(proposal_id=waiting, meeting_id=mid)
    )
    view = agendas.agenda(eva, as_("x_sec"), mid)
    complete = {i.proposal_id: i.complete for i in view.items}
    assert sorted(ended.values()) == ["x_rejected", "x_removed"]
    assert complete == {**dict.fromkeys(ended, True), waiting: False}
    assert view.meeting.incomplete == 1
    assert agendas.my_meetings(eva, as_("x_sec"))[0].incomplete == 1


def test_the_task_titles_come_from_the_workflow_file(renamed_eva: Eva) -> None:
    titles = definitions.task_titles(renamed_eva.catalogue)
    assert titles["x_prepare"].fi == "Valmistele arviointi"
    assert titles["x_sign_off"].en == "Sign off as presenter"
