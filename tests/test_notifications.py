"""Notification events are written to the outbox in the transaction of the change that causes
them (and not at all when the change fails): one row per receiver, one event id per event."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from eva_engine.db import unit_of_work
from eva_engine.errors import GuardFailed
from eva_engine.models import Assignment, OutboxMessage
from eva_engine.services.notifications import notices, outbox
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.runtime import Eva
from eva_engine.services.steps import transitions
from eva_engine.vocabulary import Channel, DeliveryState, NotificationKind
from tests.builders import OPERATOR, ORG, as_, new_proposal, proposal_in
from tests.conftest import World
from tests.notify_support import add_people, messages

KIND = NotificationKind


@pytest.fixture
def people(eva: Eva, world: World) -> World:
    add_people(eva)
    return world


def receivers(eva: Eva, kind: NotificationKind, proposal_id: int) -> list[str]:
    return sorted(m.recipient or "" for m in messages(eva, kind=kind, proposal_id=proposal_id))


def test_a_new_proposal_tells_its_preparer_of_the_task(eva: Eva, people: World) -> None:
    pid = new_proposal(eva, preparer="anna", presenter="emma")
    [made] = messages(eva, kind=KIND.ASSIGNMENT_MADE, proposal_id=pid)
    assert (made.recipient, made.channel, made.state) == ("anna", Channel.EMAIL, "pending")
    with eva.uow() as uow:
        row = uow.repos.session.get(OutboxMessage, made.id)
        assert row is not None
        payload = row.payload
    assert payload["event_id"] == made.event_id
    assert payload["kind"] == "assignment_made"
    assert payload["organisation"] == ORG
    assert payload["actor"] == "anna"
    assert payload["proposal"]["id"] == pid
    assert payload["assignment"]["kind"] == "prepare"
    assert payload["assignment"]["assignee"] == "anna"


def test_a_queue_task_goes_to_everyone_in_its_roles_for_the_body(eva: Eva, people: World) -> None:
    pid = proposal_in(eva, "review", preparer="anna", presenter="emma")
    # review queue: secretaries and experts of the whole organisation or of HYVLTK;
    # sec_tek is a secretary of TEKLTK only.
    assert receivers(eva, KIND.ASSIGNMENT_MADE, pid) == [
        "anna",  # the "prepare" task of the new proposal
        "emma",
        "expert",
        "prep_expert",
        "sec",
        "sven",
    ]
    review = [
        m
        for m in messages(eva, kind=KIND.ASSIGNMENT_MADE, proposal_id=pid)
        if m.recipient != "anna"
    ]
    assert len({m.event_id for m in review}) == 1  # one event, one row per receiver


def test_a_user_without_an_email_address_is_a_dead_letter_at_once(eva: Eva, world: World) -> None:
    pid = new_proposal(eva)  # prep has no email address
    [made] = messages(eva, kind=KIND.ASSIGNMENT_MADE, proposal_id=pid)
    assert made.state == DeliveryState.DEAD
    assert made.last_error == "user prep has no email address"


def test_returned_signed_off_and_outcome_events(eva: Eva, people: World) -> None:
    pid = proposal_in(eva, "reviewed", preparer="anna", presenter="emma")
    transitions.fire(eva, as_("emma"), pid, "return_for_revision", reason="Lisää lähteet.")
    assert receivers(eva, KIND.RETURNED, pid) == ["anna"]
    [returned] = messages(eva, kind=KIND.RETURNED, proposal_id=pid)
    with eva.uow() as uow:
        row = uow.repos.session.get(OutboxMessage, returned.id)
        assert row is not None
        assert row.payload["transition"]["reason"] == "Lisää lähteet."
        assert row.payload["transition"]["to_state"] == "assessment"

    pid = proposal_in(eva, "reviewed", preparer="anna", presenter="emma")
    transitions.fire(eva, as_("emma"), pid, "sign_off")
    assert receivers(eva, KIND.SIGNED_OFF, pid) == ["anna"]

    pid = proposal_in(eva, "decided", preparer="anna", presenter="emma")
    assert receivers(eva, KIND.OUTCOME_RECORDED, pid) == ["anna", "emma"]
    [outcome] = messages(eva, kind=KIND.OUTCOME_RECORDED, proposal_id=pid)[:1]
    with eva.uow() as uow:
        row = uow.repos.session.get(OutboxMessage, outcome.id)
        assert row is not None
        assert row.payload["outcome"] == "approved"


def test_a_confidential_proposal_keeps_its_title_and_reason_out(eva: Eva, people: World) -> None:
    from eva_engine.vocabulary import Publicity  # noqa: PLC0415

    pid = proposal_in(
        eva,
        "reviewed",
        preparer="anna",
        presenter="emma",
        publicity=Publicity.CONFIDENTIAL,
        ground="JulkL 24 § 1 mom. 25 k",
    )
    transitions.fire(eva, as_("emma"), pid, "return_for_revision", reason="Salainen syy.")
    [returned] = messages(eva, kind=KIND.RETURNED, proposal_id=pid)
    with eva.uow() as uow:
        row = uow.repos.session.get(OutboxMessage, returned.id)
        assert row is not None
        assert row.payload["proposal"]["title"] is None
        assert row.payload["transition"]["reason"] is None


def test_a_failed_step_writes_no_message(eva: Eva, people: World) -> None:
    pid = proposal_in(eva, "assessment", preparer="anna", presenter="emma")
    before = len(messages(eva))
    with pytest.raises(GuardFailed):  # nothing assessed yet
        transitions.fire(eva, as_("anna"), pid, "submit_for_review")
    assert len(messages(eva)) == before


@pytest.mark.postgres  # a rollback at commit
def test_a_change_rolled_back_at_commit_leaves_no_message(
    eva: Eva, people: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = proposal_in(eva, "reviewed", preparer="anna", presenter="emma")
    before = len(messages(eva))
    seen: list[int] = []

    def failing_seal(session: object) -> int:
        from sqlalchemy import func, select  # noqa: PLC0415

        # The messages were flushed in this transaction, just before it fails.
        seen.append(session.scalar(select(func.count(OutboxMessage.id))))  # type: ignore[attr-defined]
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(unit_of_work, "seal", failing_seal)
    with pytest.raises(RuntimeError):
        transitions.fire(eva, as_("emma"), pid, "sign_off")
    monkeypatch.undo()
    assert seen
    assert seen[0] > before  # signed_off and the agenda task were written...
    assert len(messages(eva)) == before  # ...and rolled back with the step
    assert proposal_queries.show(eva, OPERATOR, pid).state == "reviewed"


def test_a_reassignment_is_seen_by_the_session_hook(eva: Eva, people: World) -> None:
    pid = new_proposal(eva, preparer="anna", presenter="emma")
    with eva.uow() as uow:
        [task] = uow.repos.open_assignments(pid)
        sven = uow.repos.user_by_username("sven")
        assert sven is not None
        task.assignee_id = sven.id
        uow.commit()
    assert receivers(eva, KIND.ASSIGNMENT_MADE, pid) == ["anna", "sven"]


def test_due_soon_and_overdue_are_made_once_per_assignment(eva: Eva, people: World) -> None:
    pid = new_proposal(eva, preparer="anna", presenter="emma")
    with eva.uow() as uow:
        [task] = uow.repos.open_assignments(pid)
        due: date = task.due  # type: ignore[assignment]
        assignment_id = task.id

    early = notices.scan(eva, OPERATOR, today=due - timedelta(days=10))
    assert (early.due_soon, early.overdue) == (0, 0)

    first = notices.scan(eva, OPERATOR, today=due - timedelta(days=1))
    assert first.due_soon == 1
    again = notices.scan(eva, OPERATOR, today=due)
    assert again.due_soon == 0
    [soon] = messages(eva, kind=KIND.DUE_SOON, proposal_id=pid)
    assert soon.recipient == "anna"

    late = notices.scan(eva, OPERATOR, today=due + timedelta(days=1))
    assert late.overdue == 1
    assert notices.scan(eva, OPERATOR, today=due + timedelta(days=5)).overdue == 0
    [overdue] = messages(eva, kind=KIND.OVERDUE, proposal_id=pid)
    with eva.uow() as uow:
        row = uow.repos.session.get(OutboxMessage, overdue.id)
        assert row is not None
        assert row.dedup_key == f"overdue:assignment:{assignment_id}:user:{row.recipient_id}"
        assert row.payload["assignment"]["id"] == assignment_id


def test_a_closed_task_is_never_due(eva: Eva, people: World) -> None:
    pid = proposal_in(eva, "screening", preparer="anna", presenter="emma")
    transitions.fire(eva, as_("anna"), pid, "withdraw", reason="Ei tarpeen.")
    with eva.uow() as uow:
        tasks = [a for a in uow.repos.assignments_for_proposal(pid) if isinstance(a, Assignment)]
        last_due = max(a.due for a in tasks if a.due)
    found = notices.scan(eva, OPERATOR, today=last_due + timedelta(days=3))
    assert messages(eva, kind=KIND.OVERDUE, proposal_id=pid) == []
    assert found.overdue == 0


def test_only_an_administrator_scans(eva: Eva, people: World) -> None:
    from eva_engine.errors import PermissionDenied  # noqa: PLC0415

    with pytest.raises(PermissionDenied):
        notices.scan(eva, as_("anna"))
    assert notices.scan(eva, as_("admin")).overdue == 0


def test_webhooks_get_every_event_they_take(eva: Eva, people: World) -> None:
    every = outbox.create_webhook(
        eva,
        OPERATOR,
        outbox.CreateWebhook.model_validate(
            {"organisation": ORG, "url": "https://hooks.example.fi/eva"}
        ),
    )
    outcomes_only = outbox.create_webhook(
        eva,
        as_("admin"),
        outbox.CreateWebhook.model_validate(
            {
                "organisation": ORG,
                "url": "https://asianhallinta.example.fi/in",
                "kinds": ["outcome_recorded"],
            }
        ),
    )
    pid = proposal_in(eva, "decided", preparer="anna", presenter="emma")
    hooks = messages(eva, channel=Channel.WEBHOOK, proposal_id=pid)
    assert {m.recipient for m in hooks if m.kind == KIND.OUTCOME_RECORDED} == {
        every.url,
        outcomes_only.url,
    }
    assert {m.recipient for m in hooks if m.kind != KIND.OUTCOME_RECORDED} == {every.url}
    [email_row] = [
        m
        for m in messages(eva, kind=KIND.OUTCOME_RECORDED, proposal_id=pid)
        if m.recipient == "anna"
    ]
    assert {m.event_id for m in hooks if m.kind == KIND.OUTCOME_RECORDED} == {email_row.event_id}
