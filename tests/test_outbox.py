"""Delivery of the outbox by email to a real SMTP server on loopback (aiosmtpd): each
recipient's language, a server that is down and comes back, backoff, dead letters, claims that
keep workers apart, the administrators' page with its retry, and the commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from eva_engine.config import Settings
from eva_engine.delivery.worker import deliver_pass
from eva_engine.errors import Conflict, NotFound, PermissionDenied
from eva_engine.models import utcnow
from eva_engine.services.notifications import outbox
from eva_engine.services.people import accounts
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import Channel, DeliveryState, NotificationKind
from tests.builders import OPERATOR, ORG, as_, new_proposal, proposal_in
from tests.conftest import FreshDatabase, World
from tests.notify_support import (
    BASE_URL,
    add_people,
    free_port,
    make_due,
    messages,
    settings,
    smtp_server,
)
from web import create_app

# PostgreSQL too: claims with FOR UPDATE SKIP LOCKED, leases and their times
pytestmark = pytest.mark.postgres

PASSWORD = "testi-salasana-123"  # noqa: S105 - a test password


@pytest.fixture
def people(eva: Eva, world: World) -> World:
    add_people(eva)
    return world


def email_rows(eva: Eva, state: DeliveryState | None = None) -> list[outbox.MessageView]:
    rows = messages(eva, channel=Channel.EMAIL)
    return [m for m in rows if state is None or m.state == state]


def test_each_recipient_gets_the_email_in_their_own_language(eva: Eva, people: World) -> None:
    pid = proposal_in(eva, "review", preparer="anna", presenter="emma")
    with smtp_server() as (inbox, port):
        report = deliver_pass(eva, settings(port), scan=False)
    assert report.delivered == len(inbox.mails) > 0
    [fi] = inbox.to("anna@example.fi")  # the prepare task
    assert fi["Subject"].startswith("Uusi tehtävä eva-järjestelmässä: ")
    assert "Hei Anna Esimerkki," in fi.get_content()
    assert "Sinulla on uusi tehtävä: Valmistele arviointi." in fi.get_content()
    assert f"{BASE_URL}/proposals/{pid}" in fi.get_content()
    assert fi["Content-Language"] == "fi"
    assert fi["From"] == "eva@example.fi"

    [sv] = inbox.to("sven@example.fi")  # the review queue, as a secretary
    assert sv["Subject"].startswith("Ny uppgift i eva: ")
    assert "Hej Sven Esimerkki," in sv.get_content()
    assert "En ny uppgift väntar på alla med rollerna" in sv.get_content()
    assert sv["Content-Language"] == "sv"

    [en] = inbox.to("emma@example.fi")  # the review queue, as an expert
    assert (
        en["Subject"] == "New task in eva: Review the assessment, " + en["Subject"].split(", ")[-1]
    )
    assert "Hello Emma Esimerkki," in en.get_content()
    assert "A new task waits for anyone in the roles secretary, expert: " in en.get_content()
    assert en["X-Eva-Event-Id"] == messages(eva, recipient="emma")[0].event_id
    # Users without an address were dead letters from the start; nothing else is waiting.
    assert email_rows(eva, DeliveryState.PENDING) == []


def test_every_kind_has_a_subject_and_body_in_every_language(eva: Eva, people: World) -> None:
    pid = proposal_in(eva, "reviewed", preparer="anna", presenter="emma")
    from eva_engine.services.notifications import notices  # noqa: PLC0415
    from eva_engine.services.steps import transitions  # noqa: PLC0415

    transitions.fire(eva, as_("emma"), pid, "return_for_revision", reason="Korjaa.")
    proposal_in(eva, "decided", preparer="sven", presenter="emma")
    notices.scan(eva, OPERATOR, today=utcnow().date() + timedelta(days=40))
    notices.scan(eva, OPERATOR, today=utcnow().date() + timedelta(days=6))
    with smtp_server() as (inbox, port):
        deliver_pass(eva, settings(port), scan=False)
    subjects = {str(m["Subject"]).split(":")[0] for m in inbox.mails}
    assert {
        "Uusi tehtävä eva-järjestelmässä",
        "Palautettu korjattavaksi",
        "Tehtävän määräaika on lähellä",
        "Tehtävä on myöhässä",
        "Ny uppgift i eva",
        "Godkänt av föredraganden",
        "Sammanträdets beslut har registrerats",
        "New task in eva",
        "Meeting outcome recorded",
    } <= subjects
    returned = [m for m in inbox.to("anna@example.fi") if "Palautettu" in str(m["Subject"])]
    assert "Syy: Korjaa." in returned[0].get_content()
    outcome = [m for m in inbox.to("emma@example.fi") if "outcome" in str(m["Subject"])]
    assert "The meeting's outcome was recorded: approved as proposed." in outcome[0].get_content()


def test_a_server_that_is_down_loses_nothing_and_duplicates_nothing(
    eva: Eva, people: World
) -> None:
    new_proposal(eva, preparer="anna", presenter="emma")
    new_proposal(eva, preparer="sven", presenter="emma")
    port = free_port()  # nothing listens here yet
    down = deliver_pass(eva, settings(port), scan=False)
    assert (down.claimed, down.delivered, down.retrying) == (2, 0, 2)
    waiting = email_rows(eva, DeliveryState.PENDING)
    assert len(waiting) == 2
    for m in waiting:
        assert m.attempts == 1
        assert "ConnectionRefusedError" in (m.last_error or "")
        assert m.next_attempt_at > utcnow()  # backoff: not due again at once

    # Not due yet: the next pass leaves them alone.
    assert deliver_pass(eva, settings(port), scan=False).claimed == 0

    with smtp_server(port) as (inbox, _):
        make_due(eva)
        back = deliver_pass(eva, settings(port), scan=False)
        assert back.delivered == 2
        make_due(eva)
        assert deliver_pass(eva, settings(port), scan=False).claimed == 0
    assert sorted(str(m["To"]) for m in inbox.mails) == [
        "Anna Esimerkki <anna@example.fi>",
        "Sven Esimerkki <sven@example.fi>",
    ]
    delivered = email_rows(eva, DeliveryState.DELIVERED)
    assert len(delivered) == 2
    assert all(m.attempts == 2 and m.delivered_at for m in delivered)


def test_backoff_grows_and_the_last_failure_is_a_dead_letter(eva: Eva, people: World) -> None:
    policy = outbox.RetryPolicy(max_attempts=4, base_seconds=10, cap_seconds=35)
    assert policy.delay(1, 1.0) == timedelta(seconds=10)
    assert policy.delay(2, 1.0) == timedelta(seconds=20)
    assert policy.delay(3, 1.0) == timedelta(seconds=35)  # capped
    assert timedelta(seconds=8) <= policy.delay(1) <= timedelta(seconds=12)  # jitter ±20 %

    new_proposal(eva, preparer="anna", presenter="emma")
    port = free_port()
    config = settings(port, max_attempts=3, backoff_seconds=60)
    waits = []
    for attempt in (1, 2, 3):
        started = utcnow()
        report = deliver_pass(eva, config, scan=False)
        assert report.claimed == 1
        [row] = [m for m in email_rows(eva) if m.recipient == "anna"]
        assert row.attempts == attempt
        if attempt < 3:
            assert row.state == DeliveryState.PENDING
            waits.append((row.next_attempt_at - started).total_seconds())
        make_due(eva)
    assert row.state == DeliveryState.DEAD
    assert "ConnectionRefusedError" in (row.last_error or "")
    assert 48 <= waits[0] <= 73  # 60 s ±20 %
    assert 96 <= waits[1] <= 145  # then 120 s
    assert deliver_pass(eva, config, scan=False).claimed == 0  # dead is not retried by itself

    assert [m.id for m in outbox.list_messages(eva, as_("admin"), states=(DeliveryState.DEAD,))]
    outbox.retry(eva, as_("admin"), row.id)
    with smtp_server(port) as (inbox, _):
        assert deliver_pass(eva, config, scan=False).delivered == 1
    assert len(inbox.to("anna@example.fi")) == 1
    with pytest.raises(Conflict):
        outbox.retry(eva, as_("admin"), row.id)  # delivered now, not dead


def test_claims_keep_concurrent_workers_apart(eva: Eva, people: World) -> None:
    new_proposal(eva, preparer="anna", presenter="emma")
    first = outbox.claim_due(eva, limit=10)
    second = outbox.claim_due(eva, limit=10)
    assert [d.username for d in first] == ["anna"]
    assert second == []  # claimed: not due again until the lease ends
    # A worker whose lease ran out and whose message was claimed again cannot settle it.
    make_due(eva)
    [again] = outbox.claim_due(eva, limit=10)
    assert outbox.settle_delivered(eva, first[0]) is False
    assert outbox.settle_delivered(eva, again) is True


def test_a_lease_is_short_and_renewed_by_its_holder_only(eva: Eva, people: World) -> None:
    new_proposal(eva, preparer="anna", presenter="emma")
    [held] = outbox.claim_due(eva, limit=10)
    left = held.token - utcnow()
    assert timedelta(seconds=25) < left <= timedelta(seconds=30)  # the default lease: 30 s
    assert outbox.next_due(eva) == held.token  # a worker sleeps until then at most
    renewed = outbox.renew(eva, [held], timedelta(seconds=30))
    assert list(renewed) == [held.id]
    assert renewed[held.id] > held.token
    old_token, held.token = held.token, renewed[held.id]
    assert outbox.next_due(eva) == held.token
    # The renewed lease is the claim now: the old token settles nothing.
    stale = held.model_copy(update={"token": old_token})
    assert outbox.settle_delivered(eva, stale) is False
    # A lease that ran out and was claimed by another worker is not renewed any more.
    make_due(eva)
    [taken] = outbox.claim_due(eva, limit=10)
    assert outbox.renew(eva, [held]) == {}
    assert outbox.settle_delivered(eva, held) is False
    assert outbox.settle_delivered(eva, taken) is True
    assert outbox.next_due(eva) is None  # nothing pending


def test_a_worker_waits_for_the_next_lease_end_not_a_whole_interval(
    eva: Eva, people: World
) -> None:
    from eva_engine.delivery.worker import _until_next_due  # noqa: PLC0415

    config = settings(free_port())
    assert _until_next_due(eva, config, 30.0) == 30.0  # nothing pending
    new_proposal(eva, preparer="anna", presenter="emma")
    outbox.claim_due(eva, limit=10, lease=timedelta(seconds=5))  # a worker that died
    assert 4.0 < _until_next_due(eva, config, 30.0) <= 5.1
    make_due(eva)
    assert _until_next_due(eva, config, 30.0) == 0.2  # due now: at once (no busy loop)
    # Without an SMTP server email is not claimed, so it does not wake the worker.
    assert _until_next_due(eva, settings(None), 30.0) == 30.0


def test_email_waits_while_no_smtp_server_is_configured(eva: Eva, people: World) -> None:
    new_proposal(eva, preparer="anna", presenter="emma")
    report = deliver_pass(eva, settings(None), scan=False)
    assert report.claimed == 0
    assert report.email_waiting
    assert [m.attempts for m in email_rows(eva, DeliveryState.PENDING)] == [0]


def test_only_administrators_see_the_outbox(eva: Eva, people: World) -> None:
    new_proposal(eva)  # prep has no address: a dead letter
    with pytest.raises(PermissionDenied):
        outbox.list_messages(eva, as_("anna"))
    [dead] = outbox.list_messages(eva, as_("admin"), states=(DeliveryState.DEAD,))
    with pytest.raises(NotFound):
        outbox.retry(eva, as_("outsider"), dead.id)  # another organisation's administrator? no
    with pytest.raises(NotFound):
        outbox.list_messages(eva, as_("admin"), organisation="muualla")


# the administrators' page --------------------------------------------------------------------
@pytest.fixture
def app(eva: Eva, people: World) -> Flask:
    for user in ("admin", "anna"):
        accounts.set_password(eva, OPERATOR, user, PASSWORD)
    config = Settings.from_env({"EVA_DATABASE_URL": "sqlite://", "EVA_ENV": "test"})
    return create_app(config, engine=eva, TESTING=True)


def test_the_admin_page_shows_dead_letters_and_retries_one(app: Flask, eva: Eva) -> None:
    from tests.test_web import csrf, login  # noqa: PLC0415

    pid = new_proposal(eva)  # prep has no email: a dead letter
    [dead] = messages(eva, state=DeliveryState.DEAD, proposal_id=pid)
    client = app.test_client()
    login(client, "admin")
    page = client.get("/admin/outbox/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "user prep has no email address" in html
    assert f"/admin/outbox/{dead.id}/retry" in html
    assert "Kuollut viesti" in html or "kuollut" in html.lower()

    # No CSRF token, no retry; GET is not allowed at all.
    assert client.post(f"/admin/outbox/{dead.id}/retry").status_code == 400
    assert client.get(f"/admin/outbox/{dead.id}/retry").status_code == 405
    response = client.post(f"/admin/outbox/{dead.id}/retry", data={"csrf_token": csrf(html)})
    assert response.status_code == 302
    [again] = [m for m in messages(eva) if m.id == dead.id]
    assert (again.state, again.attempts) == (DeliveryState.PENDING, 0)
    assert "Viesti" in client.get("/admin/outbox/").get_data(as_text=True)

    other = app.test_client()
    login(other, "anna")
    assert other.get("/admin/outbox/").status_code == 403
    assert other.post(
        f"/admin/outbox/{dead.id}/retry", data={"csrf_token": csrf(html)}
    ).status_code in (400, 403, 404)


# the commands --------------------------------------------------------------------------------
def test_the_commands_deliver_and_list(fresh_databases: FreshDatabase) -> None:
    from eva_engine.cli import cli  # noqa: PLC0415

    url = fresh_databases.new_url()
    runner = CliRunner()
    with smtp_server() as (inbox, port):
        env = {
            "EVA_DATABASE_URL": url,
            "EVA_SMTP_HOST": "127.0.0.1",
            "EVA_SMTP_PORT": str(port),
            "EVA_SMTP_FROM": "eva@example.fi",
        }

        def eva(*args: str) -> str:
            result = runner.invoke(cli, list(args), env=env)
            assert result.exit_code == 0, (args, result.output, result.exception)
            return result.stdout

        eva("db", "upgrade")
        eva("workflows", "publish")
        eva(
            "orgs", "create", ORG, "--name-fi", "Testilä",
            "--case-pattern", r"\d+/\d{2}\.\d{2}\.\d{2}/\d{4}",
            "--case-example", "1/05.00.00/2026",
        )  # fmt: skip
        eva("bodies", "create", ORG, "HYVLTK", "--name-fi", "Hyvinvointilautakunta")
        eva("users", "create", "anna", "--name", "Anna", "--email", "anna@example.fi", "--org", ORG)
        eva("users", "create", "emma", "--name", "Emma", "--language", "en", "--org", ORG)
        eva("users", "grant", "anna", "preparer", "--org", ORG)
        eva("users", "grant", "emma", "presenter", "--org", ORG)
        eva(
            "proposals", "create", "--org", ORG, "--case", "1/05.00.00/2026",
            "--title-fi", "Koulukuljetukset", "--body", "HYVLTK", "--presenter", "emma",
            "--as", "anna",
        )  # fmt: skip
        report = json.loads(eva("outbox", "deliver", "--json"))
        assert report["delivered"] == 1
        assert "claimed 0: 0 delivered" in eva("outbox", "deliver")
        assert len(inbox.mails) == 1
        listed = json.loads(eva("--json", "outbox", "list", "--state", "delivered"))
        assert [m["recipient"] for m in listed] == ["anna"]
        assert "no messages" in eva("outbox", "list", "--state", "dead")


def test_the_worker_stops_cleanly_on_sigterm(fresh_databases: FreshDatabase) -> None:
    url = fresh_databases.new_url()
    env = {**os.environ, "EVA_DATABASE_URL": url, "EVA_WORKER_INTERVAL": "0.2"}
    env.pop("EVA_SMTP_HOST", None)
    eva = [sys.executable, "-c", "from web.cli import main; main()"]
    root = Path(__file__).resolve().parent.parent
    subprocess.run([*eva, "db", "upgrade"], env=env, cwd=root, check=True, capture_output=True)
    worker = subprocess.Popen(
        [*eva, "--language", "en", "worker"],
        env=env,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert worker.stdout is not None
        first = worker.stdout.readline().decode()
        assert "eva worker: delivering every 0.2 s" in first
        time.sleep(1.0)
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err.decode()
    text = out.decode()
    assert "SIGTERM received, stopping" in text
    assert "stopped after" in text
    assert "Traceback" not in err.decode()


def test_the_kinds_are_all_named(eva: Eva) -> None:
    from web.views.outbox import kind_name  # noqa: PLC0415

    app = create_app(
        Settings.from_env({"EVA_DATABASE_URL": "sqlite://", "EVA_ENV": "test"}), engine=eva
    )
    with app.test_request_context():
        assert all(kind_name(k.value) != k.value for k in NotificationKind)


def test_a_stopping_worker_gives_back_what_it_did_not_try(eva: Eva, people: World) -> None:
    import threading  # noqa: PLC0415

    new_proposal(eva, preparer="anna", presenter="emma")
    stop = threading.Event()
    stop.set()
    report = deliver_pass(eva, settings(free_port()), scan=False, stop=stop)
    assert [a.result for a in report.attempts] == ["released"]
    [row] = email_rows(eva, DeliveryState.PENDING)
    assert row.attempts == 0
    assert row.next_attempt_at <= utcnow()  # due again at once, for the next worker


def test_concurrent_workers_never_claim_the_same_message(fresh_databases: FreshDatabase) -> None:
    """Four workers on their own connections to one committed database, claiming at once."""
    import threading  # noqa: PLC0415

    from eva_engine.config import default_workflows_dir  # noqa: PLC0415
    from eva_engine.db.engine import make_engine  # noqa: PLC0415
    from eva_engine.db.migrate import upgrade  # noqa: PLC0415
    from eva_engine.db.unit_of_work import Database  # noqa: PLC0415
    from eva_engine.models import OutboxMessage  # noqa: PLC0415

    url = fresh_databases.new_url()
    engine = make_engine(url)
    upgrade(engine)
    setup = Eva(Database(engine), default_workflows_dir())
    with setup.uow() as uow:
        for n in range(60):
            uow.repos.add(
                OutboxMessage(
                    event_id=f"00000000-0000-0000-0000-{n:012d}",
                    kind=NotificationKind.OVERDUE,
                    channel=Channel.WEBHOOK,
                    payload={},
                )
            )
        uow.commit()
    claimed: list[list[int]] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def work(slot: int) -> None:
        eva = Eva(Database(make_engine(url)), default_workflows_dir())
        try:
            start.wait()
            while batch := outbox.claim_due(eva, limit=4):
                claimed[slot].extend(d.id for d in batch)
        finally:
            eva.database.dispose()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    engine.dispose()
    every = [i for ids in claimed for i in ids]
    assert len(every) == 60
    assert len(set(every)) == 60  # nobody claimed a message another worker held
