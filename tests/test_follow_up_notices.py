"""Follow-up notices (docs/follow-up.md): the person responsible for a follow-up is told, once,
when it is due soon and once when it is overdue, by the scan of every outbox pass and worker
pass (``notifications.scan``), and the email reaches them through a real SMTP server, in their
own language, naming the indicator of a public proposal (never of a confidential one)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eva_engine.delivery.worker import deliver_pass
from eva_engine.models import OutboxMessage
from eva_engine.rendering import email
from eva_engine.services.assessment import documents
from eva_engine.services.follow_up import commands
from eva_engine.services.notifications import notices
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import FollowUpOutcome, FollowUpSource, NotificationKind, Publicity
from tests.builders import OPERATOR, as_, document
from tests.conftest import World
from tests.notify_support import BASE_URL, add_people, messages, settings, smtp_server
from tests.test_follow_up import TODAY, decided, ids

KIND = NotificationKind


@pytest.fixture
def people(eva: Eva, world: World) -> World:
    add_people(eva)
    return world


def one_indicator(eva: Eva, name: str, due_in_days: int) -> documents.AssessmentDocument:
    doc = document(eva, indicators=False)
    indicator = documents.IndicatorIn(
        name=name, responsible="hyvinvointikoordinaattori", due=TODAY + timedelta(days=due_in_days)
    )
    return doc.model_copy(update={"follow_up_indicators": [indicator]})


def follow_up_rows(eva: Eva, kind: NotificationKind) -> list[tuple[str, dict[str, object]]]:
    found = []
    for message in messages(eva, kind=kind):
        with eva.reading() as uow:
            row = uow.repos.session.get(OutboxMessage, message.id)
            assert row is not None
            if "indicator_follow_up" in row.payload:
                found.append((message.recipient or "", dict(row.payload["indicator_follow_up"])))
    return found


def test_the_responsible_person_is_told_once_when_due_and_once_when_overdue(
    eva: Eva, people: World
) -> None:
    pid = decided(eva, one_indicator(eva, "Liikuntaa harrastavat", 30), preparer="anna")
    [follow_up] = ids(eva, pid)
    due = TODAY + timedelta(days=30)

    early = notices.scan(
        eva, OPERATOR, today=due - timedelta(days=notices.FOLLOW_UP_NOTICE_DAYS + 1)
    )
    assert (early.follow_ups_due_soon, early.follow_ups_overdue) == (0, 0)
    soon = notices.scan(eva, OPERATOR, today=due - timedelta(days=3))
    assert (soon.follow_ups_due_soon, soon.follow_ups_overdue) == (1, 0)
    again = notices.scan(eva, OPERATOR, today=due)  # still due: not told twice
    assert (again.follow_ups_due_soon, again.follow_ups_overdue) == (0, 0)
    late = notices.scan(eva, OPERATOR, today=due + timedelta(days=1))
    assert (late.follow_ups_due_soon, late.follow_ups_overdue) == (0, 1)
    assert notices.scan(eva, OPERATOR, today=due + timedelta(days=9)).follow_ups_overdue == 0

    payload = {"id": follow_up, "kind": "follow_up", "indicator": "Liikuntaa harrastavat"}
    payload |= {"responsible": "anna", "due": due.isoformat()}
    assert follow_up_rows(eva, KIND.DUE_SOON) == [("anna", payload)]
    assert follow_up_rows(eva, KIND.OVERDUE) == [("anna", payload)]

    with smtp_server() as (inbox, port):
        deliver_pass(eva, settings(port), scan=False)
    mails = [m for m in inbox.to("anna@example.fi") if "Seuran" in str(m["Subject"])]
    subjects = sorted(str(m["Subject"]) for m in mails)
    assert [s.split(":")[0] for s in subjects] == [
        "Seurannan määräaika lähestyy",
        "Seuranta on myöhässä",
    ]
    assert all("Liikuntaa harrastavat" in s for s in subjects)
    text = next(m for m in mails if "lähestyy" in str(m["Subject"])).get_content()
    assert "Hei Anna Esimerkki," in text
    assert "Vastuullasi olevan seurannan määräaika on " in text
    assert f"{BASE_URL}/proposals/{pid}/follow-ups" in text


def test_a_settled_follow_up_is_never_announced(eva: Eva, people: World) -> None:
    pid = decided(eva, one_indicator(eva, "Mittari", 5), preparer="anna")
    [follow_up] = ids(eva, pid)
    commands.record_result(
        eva,
        as_("anna"),
        commands.RecordResult(
            follow_up_id=follow_up,
            value="3",
            measured_on=TODAY,
            source_kind=FollowUpSource.OWN_DATA,
            outcome=FollowUpOutcome.AS_PREDICTED,
        ),
    )
    found = notices.scan(eva, OPERATOR, today=TODAY + timedelta(days=10))
    assert (found.follow_ups_due_soon, found.follow_ups_overdue) == (0, 0)
    assert follow_up_rows(eva, KIND.OVERDUE) == []


def test_the_worker_pass_sends_the_overdue_notice_in_the_persons_language(
    eva: Eva, people: World
) -> None:
    """End to end: a follow-up already past its due date, one worker pass (scan and delivery)
    with a real SMTP server, a Swedish-speaking preparer; a confidential proposal's notice names
    the task, not the indicator."""
    pid = decided(eva, one_indicator(eva, "Besökare", -3), preparer="sven")
    secret = decided(
        eva,
        one_indicator(eva, "Salassa pidettävä mittari", -3),
        preparer="sven",
        publicity=Publicity.CONFIDENTIAL,
    )
    with smtp_server() as (inbox, port):
        report = deliver_pass(eva, settings(port))
        assert report.delivered >= 2
        mails = [m for m in inbox.to("sven@example.fi") if "Uppföljningen" in str(m["Subject"])]
        assert len(mails) == 2
        public = next(m for m in mails if "Besökare" in str(m["Subject"]))
        assert str(public["Subject"]).startswith("Uppföljningen är försenad: Besökare, ")
        assert public["Content-Language"] == "sv"
        assert "Hej Sven Esimerkki," in public.get_content()
        assert f"{BASE_URL}/proposals/{pid}/follow-ups" in public.get_content()
        confidential = next(m for m in mails if m is not public)
        assert "Salassa" not in confidential.as_string()
        assert "Följ upp konsekvenserna" in str(confidential["Subject"])
        assert f"/proposals/{secret}/follow-ups" in confidential.get_content()
        # The next pass finds nothing new to tell.
        before = len(inbox.mails)
        deliver_pass(eva, settings(port))
        assert len(inbox.mails) == before


def test_an_outbox_row_written_with_the_old_follow_up_key_reads_the_same() -> None:
    follow_up = {"id": 1, "kind": "follow_up", "indicator": "Liikuntaa harrastavat"}
    follow_up |= {"responsible": "anna", "due": "2027-01-31"}
    proposal = {"id": 7, "case_number": "12/2026", "title": "Liikuntapaikka", "title_sv": None}
    new = {"proposal": proposal, "indicator_follow_up": follow_up}
    old = {"proposal": proposal, "follow_up": follow_up}
    for kind in (KIND.DUE_SOON, KIND.OVERDUE):
        assert email.subject(kind, old, "fi", {}) == email.subject(kind, new, "fi", {})
        assert "Liikuntaa harrastavat" in email.subject(kind, new, "fi", {})
        made = [email.body(kind, p, "fi", {}, name="Anna", base_url=BASE_URL) for p in (old, new)]
        assert made[0] == made[1]
        assert "/proposals/7/follow-ups" in made[0]
