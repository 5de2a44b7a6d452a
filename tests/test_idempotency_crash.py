"""Idempotent POSTs when a server process dies, and duplicates sent at the same moment, with
real processes on a real database (SQLite and PostgreSQL).

The claim of the ``Idempotency-Key``, the change and the stored response are one transaction:
a process that dies after the change was written but before the commit leaves nothing (the
key is free, nothing changed); one that dies after the commit, before the HTTP response went
out, leaves the stored response, which the client's retry gets. Duplicates sent at the same
moment wait for the first one and get its response: the change is made once."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction

from eva_engine.config import Settings, default_workflows_dir
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database, EvaSession
from eva_engine.models import Proposal
from eva_engine.services.runtime import Eva
from tests.api_support import NEW_PROPOSAL, make_token
from tests.builders import build_world, new_proposal
from tests.conftest import FreshDatabase, publish_workflows
from web import create_app

# PostgreSQL too: a crash before commit, with PostgreSQL's locks
pytestmark = [pytest.mark.slow, pytest.mark.postgres]  # real server processes, started and killed

CRASHED = 17  # the exit status of a process that died on purpose
CHANGED = "eva.test.changed"

Reply = tuple[int, str, dict[str, str]]


def _app(eva: Eva, url: str) -> FlaskClient:
    settings = Settings.from_env({"EVA_DATABASE_URL": url, "EVA_ENV": "test"})
    return create_app(settings, engine=eva, TESTING=True).test_client()


def _die_at(moment: str) -> None:
    """End this process abruptly (no clean-up, no rollback sent) at ``moment`` of the
    transaction that changes a proposal: just before its commit, or just after it."""

    def changed(session: Session, _flush: UOWTransaction) -> None:
        if any(isinstance(o, Proposal) for o in (*session.new, *session.dirty)):
            session.info[CHANGED] = True

    def die(session: Session) -> None:
        # At the transaction's own commit, not at the release of a savepoint inside it.
        if session.info.get(CHANGED) and not session.in_nested_transaction():
            os._exit(CRASHED)

    event.listen(EvaSession, "after_flush", changed)
    event.listen(EvaSession, moment, die)


def _post(
    url: str,
    token: str,
    path: str,
    key: str,
    crash: str | None,
    barrier: Barrier | None,
    replies: Queue[Reply],
) -> None:
    """One API server process that gets one POST with an Idempotency-Key."""
    eva = Eva(Database.connect(url), default_workflows_dir())
    client = _app(eva, url)
    if crash is not None:
        _die_at(crash)
    if barrier is not None:
        barrier.wait(timeout=60)
    response = client.post(
        "/api/v1" + path,
        json=_body(path),
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
    )
    replies.put((response.status_code, response.get_data(as_text=True), dict(response.headers)))
    eva.database.dispose()


def _body(path: str) -> dict[str, Any]:
    return NEW_PROPOSAL if path == "/proposals" else {}


@dataclass
class Server:
    """A database of its own, a token, and the client's own view of the API."""

    eva: Eva
    url: str
    token: str
    client: FlaskClient

    def post(self, path: str, key: str) -> Any:
        return self.client.post(
            "/api/v1" + path,
            json=_body(path),
            headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": key},
        )

    def get(self, path: str) -> Any:
        return self.client.get("/api/v1" + path, headers={"Authorization": f"Bearer {self.token}"})

    def in_processes(
        self, path: str, key: str, crash: str | None = None, count: int = 1
    ) -> tuple[list[Reply], list[int | None]]:
        ctx = multiprocessing.get_context("spawn")
        replies: Queue[Reply] = ctx.Queue()
        barrier = ctx.Barrier(count) if count > 1 else None
        processes = [
            ctx.Process(
                target=_post, args=(self.url, self.token, path, key, crash, barrier, replies)
            )
            for _ in range(count)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=120)
        got = [replies.get(timeout=5) for p in processes if p.exitcode == 0]
        return got, [p.exitcode for p in processes]

    def proposals(self) -> int:
        total: int = self.get("/proposals?organisation=testila").json["total"]
        return total

    def transitions(self, pid: int) -> int:
        items = self.get(f"/proposals/{pid}/history").json["items"]
        return sum(e["action"] == "proposal.transition" for e in items)


@pytest.fixture
def server(fresh_databases: FreshDatabase) -> Iterator[Server]:
    url = fresh_databases.new_url()
    eva = Eva(Database.connect(url), default_workflows_dir())
    upgrade(eva.database.engine)
    publish_workflows(eva)
    build_world(eva)
    yield Server(eva, url, make_token(eva, "prep"), _app(eva, url))
    eva.database.dispose()


@pytest.fixture(params=["create", "transition"])
def change(request: pytest.FixtureRequest, server: Server) -> tuple[str, int | None]:
    """A POST that changes something: a new proposal, or a workflow step of one."""
    if request.param == "create":
        return "/proposals", None
    pid = new_proposal(server.eva)
    return f"/proposals/{pid}/transitions/start_screening", pid


def _changes(server: Server, pid: int | None) -> int:
    """How many times the change was made."""
    return server.proposals() if pid is None else server.transitions(pid)


def test_a_crash_before_the_commit_leaves_the_key_free_and_nothing_changed(
    server: Server, change: tuple[str, int | None]
) -> None:
    path, pid = change
    replies, exits = server.in_processes(path, "crash-before", crash="before_commit")
    assert exits == [CRASHED]
    assert replies == []
    assert _changes(server, pid) == 0
    retry = server.post(path, "crash-before")
    assert 200 <= retry.status_code < 300, retry.get_data(as_text=True)
    assert "Idempotent-Replayed" not in retry.headers  # it ran: nothing was stored
    assert _changes(server, pid) == 1


def test_a_crash_after_the_commit_replays_the_stored_response(
    server: Server, change: tuple[str, int | None]
) -> None:
    path, pid = change
    replies, exits = server.in_processes(path, "crash-after", crash="after_commit")
    assert exits == [CRASHED]
    assert replies == []  # the client never heard the outcome
    assert _changes(server, pid) == 1
    retry = server.post(path, "crash-after")
    assert 200 <= retry.status_code < 300, retry.get_data(as_text=True)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert _changes(server, pid) == 1
    again = server.post(path, "crash-after")
    assert again.get_json() == retry.get_json()
    assert again.headers.get("ETag") == retry.headers.get("ETag")


def test_duplicates_sent_at_the_same_moment_change_once(
    server: Server, change: tuple[str, int | None]
) -> None:
    path, pid = change
    replies, exits = server.in_processes(path, "twins", count=4)
    assert exits == [0, 0, 0, 0]
    statuses = {status for status, _, _ in replies}
    assert len(statuses) == 1, replies
    assert 200 <= statuses.pop() < 300
    assert len({body for _, body, _ in replies}) == 1  # one response, replayed to the others
    assert sorted("Idempotent-Replayed" in headers for _, _, headers in replies) == [
        False,
        True,
        True,
        True,
    ]
    assert _changes(server, pid) == 1
