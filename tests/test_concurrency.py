"""Races on PostgreSQL: several processes fire the same transition on the same proposal at the
same moment. Exactly one succeeds, the others get a conflict, and the history holds exactly one
event for it, in an unbroken chain."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from eva_engine.config import default_workflows_dir
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database
from eva_engine.errors import Conflict, EvaError, TransitionNotAllowed
from eva_engine.services import history, proposals, transitions
from eva_engine.services.runtime import Caller, Eva
from tests.builders import build_world, proposal_in
from tests.conftest import FreshDatabase, publish_workflows, skip_without_postgres

WORKERS = 6


def _race(
    url: str, pid: int, user: str, version: int | None, barrier: Barrier, results: Queue[str]
) -> None:
    """One competitor, in its own process with its own connection."""
    eva = Eva(Database.connect(url), default_workflows_dir())
    outcome = "ok"
    try:
        barrier.wait(timeout=60)
        transitions.fire(eva, Caller(user, "race"), pid, "pass_review", expected_version=version)
    except Conflict:
        outcome = "conflict"
    except TransitionNotAllowed:
        outcome = "too late"
    except EvaError as exc:  # pragma: no cover - reported in the assertion
        outcome = f"unexpected {type(exc).__name__}: {exc}"
    finally:
        eva.database.dispose()
        results.put(outcome)


@pytest.fixture
def committed(tmp_path: Path) -> Iterator[tuple[Eva, str]]:
    """A committed PostgreSQL database of its own (races need real transactions)."""
    skip_without_postgres()
    databases = FreshDatabase("postgresql", tmp_path)
    url = databases.new_url()
    eva = Eva(Database.connect(url), default_workflows_dir())
    upgrade(eva.database.engine)
    publish_workflows(eva)
    build_world(eva)
    yield eva, url
    eva.database.dispose()
    databases.drop_all()


def _run(url: str, pid: int, version: int | None) -> list[str]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    queue: Queue[str] = ctx.Queue()
    workers = [
        ctx.Process(target=_race, args=(url, pid, user, version, barrier, queue))
        for user in ["sec", "expert"] * (WORKERS // 2)
    ]
    for worker in workers:
        worker.start()
    results = sorted(queue.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    return results


def _transition_events(eva: Eva, pid: int) -> int:
    return sum(
        1
        for e in history.proposal_history(eva, Caller(None, "tests"), pid)
        if e.action == "proposal.transition" and (e.after or {}).get("trigger") == "pass_review"
    )


@pytest.mark.postgres
def test_of_several_simultaneous_reviewers_with_the_same_version_exactly_one_wins(
    committed: tuple[Eva, str],
) -> None:
    eva, url = committed
    pid = proposal_in(eva, "review")
    version = proposals.show(eva, Caller(None, "tests"), pid).row_version
    results = _run(url, pid, version)
    assert results == ["conflict"] * (WORKERS - 1) + ["ok"]
    assert _transition_events(eva, pid) == 1
    assert proposals.show(eva, Caller(None, "tests"), pid).state == "reviewed"
    assert history.verify(eva).ok


@pytest.mark.postgres
def test_without_a_version_the_optimistic_lock_still_lets_exactly_one_through(
    committed: tuple[Eva, str],
) -> None:
    eva, url = committed
    pid = proposal_in(eva, "review")
    results = _run(url, pid, None)
    assert results.count("ok") == 1
    assert set(results) - {"ok"} <= {"conflict", "too late"}
    assert _transition_events(eva, pid) == 1
    assert history.verify(eva).ok
