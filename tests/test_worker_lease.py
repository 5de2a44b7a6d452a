"""A worker killed with SIGKILL in the middle of a batch: its claimed messages are taken over by
another worker within one lease, because a living worker renews its short lease (a heartbeat)
and a worker that died does not. Real ``eva worker`` processes, a real database (SQLite file or
PostgreSQL) and a real SMTP server on loopback (aiosmtpd) that can be made slow."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from eva_engine.config import default_workflows_dir
from eva_engine.db.engine import make_engine
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database
from eva_engine.models import OutboxMessage, User, utcnow
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import Channel, DeliveryState, Language, NotificationKind
from tests.conftest import FreshDatabase
from tests.notify_support import free_port

ROOT = Path(__file__).resolve().parent.parent
EVA = [sys.executable, "-c", "from web.cli import main; main()"]

# PostgreSQL too: a killed worker's locks and claims
pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@dataclass
class SlowInbox:
    """Records each mail's event id when its DATA arrives, then waits ``delay`` seconds before
    accepting it (a slow SMTP server; a client killed meanwhile never learns the answer)."""

    delay: float = 0.0
    received: list[tuple[str, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        mail = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        with self.lock:
            self.received.append((str(mail["X-Eva-Event-Id"]), time.monotonic()))
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"

    def events(self) -> list[str]:
        with self.lock:
            return [event for event, _ in self.received]

    def wait_for(self, count: int, timeout: float) -> float:
        """Wait until ``count`` mails (distinct events) arrived; when the last one did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                seen: dict[str, float] = {}
                for event, at in self.received:
                    seen.setdefault(event, at)
                if len(seen) >= count:
                    return max(seen.values())
            time.sleep(0.05)
        raise AssertionError(f"only {len(set(self.events()))} of {count} mails in {timeout} s")


@contextmanager
def slow_smtp() -> Iterator[tuple[SlowInbox, int]]:
    inbox = SlowInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def overdue_payload(n: int, event_id: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "kind": "overdue",
        "occurred_at": utcnow().isoformat(),
        "organisation": None,
        "actor": None,
        "proposal": {
            "id": n + 1,
            "case_number": f"{n + 1}/05.00.00/2026",
            "title": "Koulukuljetukset",
            "title_sv": None,
            "publicity": "public",
            "state": "draft",
            "revision": 1,
        },
        "assignment": {
            "id": n + 1,
            "kind": "prepare",
            "assignee": "anna",
            "roles": [],
            "due": "2026-12-01",
        },
    }


def prepared_database(fresh_databases: FreshDatabase, messages: int) -> str:
    """A migrated database with one user and ``messages`` due emails to them, committed."""
    url = fresh_databases.new_url()
    engine = make_engine(url)
    upgrade(engine)
    eva = Eva(Database(engine), default_workflows_dir())
    with eva.uow() as uow:
        user = User(
            username="anna", full_name="Anna Esimerkki", email="anna@example.fi",
            language=Language.FI, active=True,
        )  # fmt: skip
        uow.repos.add(user)
        uow.repos.session.flush()
        for n in range(messages):
            event_id = f"00000000-0000-0000-0000-{n:012d}"
            uow.repos.add(
                OutboxMessage(
                    event_id=event_id,
                    kind=NotificationKind.OVERDUE,
                    channel=Channel.EMAIL,
                    recipient_id=user.id,
                    payload=overdue_payload(n, event_id),
                    state=DeliveryState.PENDING,
                    attempts=0,
                    next_attempt_at=utcnow(),
                    created_at=utcnow(),
                )
            )
        uow.commit()
    engine.dispose()
    return url


def states(url: str) -> Counter[str]:
    engine = make_engine(url)
    eva = Eva(Database(engine), default_workflows_dir())
    with eva.reading() as uow:
        rows = uow.repos.session.scalars(select(OutboxMessage)).all()
        found = Counter(m.state.value for m in rows)
    engine.dispose()
    return found


def worker(url: str, smtp_port: int, *args: str, **env: str) -> subprocess.Popen[bytes]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("EVA_")}
    environment |= {
        "EVA_DATABASE_URL": url,
        "EVA_SMTP_HOST": "127.0.0.1",
        "EVA_SMTP_PORT": str(smtp_port),
        "EVA_SMTP_FROM": "eva@example.fi",
        "EVA_SMTP_TIMEOUT": "20",
        **env,
    }
    return subprocess.Popen(
        [*EVA, "worker", *args],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def stop(process: subprocess.Popen[bytes]) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return err.decode()


def test_a_killed_worker_is_taken_over_within_the_default_lease(
    fresh_databases: FreshDatabase,
) -> None:
    """The defaults (30 s lease, 30 s interval): worker 1 is killed while the SMTP server
    holds its second mail; worker 2, started at once, delivers the rest within ~35 s."""
    total = 6
    url = prepared_database(fresh_databases, total)
    with slow_smtp() as (inbox, port):
        inbox.delay = 4.0
        first = worker(url, port)
        second: subprocess.Popen[bytes] | None = None
        try:
            inbox.wait_for(2, timeout=60)  # the second mail is in flight (its answer waits)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            killed = time.monotonic()
            inbox.delay = 0.0
            second = worker(url, port)
            done = inbox.wait_for(total, timeout=60)
        finally:
            first.kill()
            first.communicate()
            errors = stop(second) if second is not None else ""
    takeover = done - killed
    print(f"default lease: the last mail {takeover:.1f} s after kill -9")
    assert takeover <= 35, takeover
    counts = Counter(inbox.events())
    assert len(counts) == total  # every message at least once
    assert sum(counts.values()) - total <= 1  # at most the one in flight is sent twice
    assert states(url) == {"delivered": total}
    assert "Traceback" not in errors, errors


def test_a_living_worker_keeps_its_lease_and_a_dead_one_loses_it(
    fresh_databases: FreshDatabase,
) -> None:
    """A 3 s lease and an SMTP server that takes 4 s per mail: while worker 1 lives, worker 2
    (polling twice a second) takes nothing, not even the mail in flight longer than a lease;
    after kill -9 it takes over within the lease."""
    total = 5
    url = prepared_database(fresh_databases, total)
    lease = {"EVA_OUTBOX_LEASE_SECONDS": "3"}
    with slow_smtp() as (inbox, port):
        inbox.delay = 4.0
        first = worker(url, port, "--interval", "0.5", **lease)
        second: subprocess.Popen[bytes] | None = None
        try:
            inbox.wait_for(1, timeout=60)  # worker 1 holds the whole batch now
            second = worker(url, port, "--interval", "0.5", **lease)
            inbox.wait_for(3, timeout=60)  # 8 s later: more than two leases
            assert len(inbox.events()) == len(set(inbox.events())) == 3  # no takeover
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            killed = time.monotonic()
            inbox.delay = 0.0
            done = inbox.wait_for(total, timeout=30)
        finally:
            first.kill()
            first.communicate()
            errors = stop(second) if second is not None else ""
    takeover = done - killed
    print(f"3 s lease: the last mail {takeover:.1f} s after kill -9")
    assert takeover <= 3 + 3, takeover
    counts = Counter(inbox.events())
    assert len(counts) == total
    assert sum(counts.values()) - total <= 1
    assert states(url) == {"delivered": total}
    assert "Traceback" not in errors, errors
