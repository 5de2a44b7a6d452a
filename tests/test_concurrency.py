"""Races on PostgreSQL: several processes fire the same transition on the same proposal at the
same moment. Exactly one succeeds, the others get a conflict, and the history holds exactly one
event for it, in an unbroken chain.

Contention (here: a lock held by another transaction beyond PostgreSQL's ``lock_timeout``) is
run again by every entry point — the API, the web UI, the command line — and, if it persists,
reported as a conflict (409, the conflict exit code 5), never as "database unavailable"."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from werkzeug.test import TestResponse

from eva_engine.cli import cli
from eva_engine.config import Settings, default_workflows_dir
from eva_engine.db.unit_of_work import ATTEMPTS, Database
from eva_engine.errors import Conflict, EvaError, InvalidInput, TransitionNotAllowed
from eva_engine.models import Organisation
from eva_engine.services.history import trail
from eva_engine.services.people import accounts
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.runtime import RETRY_STATS, Caller, Eva
from eva_engine.services.steps import transitions
from eva_engine.vocabulary import OrganisationKind
from tests.api_support import make_token
from tests.builders import as_, new_proposal, proposal_in, screen, state_of
from tests.conftest import (
    World,
    committed_postgres_world,
)
from tests.test_web import PASSWORD, csrf, login
from web import create_app

# PostgreSQL too: row locks, savepoints and retries of lock failures
pytestmark = pytest.mark.postgres

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
    yield from committed_postgres_world(tmp_path)


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
        for e in trail.proposal_history(eva, Caller(None, "tests"), pid)
        if e.action == "proposal.transition" and (e.after or {}).get("trigger") == "pass_review"
    )


@pytest.mark.postgres
def test_of_several_simultaneous_reviewers_with_the_same_version_exactly_one_wins(
    committed: tuple[Eva, str],
) -> None:
    eva, url = committed
    pid = proposal_in(eva, "review")
    version = proposal_queries.show(eva, Caller(None, "tests"), pid).row_version
    results = _run(url, pid, version)
    assert results == ["conflict"] * (WORKERS - 1) + ["ok"]
    assert _transition_events(eva, pid) == 1
    assert proposal_queries.show(eva, Caller(None, "tests"), pid).state == "reviewed"
    assert trail.verify(eva).ok


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
    assert trail.verify(eva).ok


# contention at the entry points -----------------------------------------------------------------
LOCK_WAIT_MS = 300


class HeldLock:
    """Another transaction that holds a proposal's row lock (as a long writer would)."""

    def __init__(self, eva: Eva, pid: int) -> None:
        self.connection = eva.database.engine.connect()
        self.transaction = self.connection.begin()
        self.connection.execute(
            text("SELECT id FROM proposals WHERE id = :id FOR UPDATE"), {"id": pid}
        )

    def release(self) -> None:
        if self.transaction.is_active:
            self.transaction.rollback()
        self.connection.close()


@pytest.fixture
def impatient(committed: tuple[Eva, str]) -> Iterator[tuple[Eva, Eva, str]]:
    """The race database, and the engine as an entry point sees it with a short lock wait
    (PostgreSQL's ``lock_timeout``): a lock held elsewhere is "lock not available"."""
    eva, url = committed
    short = f"{url}?options=-c%20lock_timeout%3D{LOCK_WAIT_MS}"
    entry = Eva(Database.connect(short), default_workflows_dir())
    yield eva, entry, short
    entry.database.dispose()


def _api(entry: Eva, token: str) -> Callable[[int], TestResponse]:
    settings = Settings.from_env({"EVA_DATABASE_URL": "sqlite://", "EVA_ENV": "test"})
    client = create_app(settings, engine=entry, TESTING=True).test_client()

    def start_screening(pid: int) -> TestResponse:
        return client.post(
            f"/api/v1/proposals/{pid}/transitions/start_screening",
            json={},
            headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
        )

    return start_screening


@pytest.mark.postgres
def test_contention_is_retried_then_a_409_in_the_api(impatient: tuple[Eva, Eva, str]) -> None:
    eva, entry, _ = impatient
    pid = new_proposal(eva)
    start_screening = _api(entry, make_token(eva, "prep"))
    retries = RETRY_STATS.retries
    lock = HeldLock(eva, pid)
    try:
        response = start_screening(pid)
    finally:
        lock.release()
    assert response.status_code == 409, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == "conflict"
    assert body["detail"].startswith("Someone else was saving at the same moment")
    assert RETRY_STATS.retries - retries == ATTEMPTS - 1  # run again before giving up
    assert proposal_queries.show(eva, Caller(None, "tests"), pid).state == "draft"
    assert start_screening(pid).status_code == 200  # the lock is gone: the same request works


@pytest.mark.postgres
def test_a_lock_released_meanwhile_is_retried_into_success(
    impatient: tuple[Eva, Eva, str],
) -> None:
    eva, entry, _ = impatient
    pid = new_proposal(eva)
    start_screening = _api(entry, make_token(eva, "prep"))
    retries = RETRY_STATS.retries
    lock = HeldLock(eva, pid)
    timer = threading.Timer(LOCK_WAIT_MS / 1000 * 1.5, lock.release)
    timer.start()
    try:
        response = start_screening(pid)
    finally:
        timer.join()
    assert response.status_code == 200, response.get_data(as_text=True)
    assert RETRY_STATS.retries - retries >= 1
    assert proposal_queries.show(eva, Caller(None, "tests"), pid).state == "screening"
    assert _transition_events_of(eva, pid, "start_screening") == 1


@pytest.mark.postgres
def test_contention_is_a_409_page_in_the_web_ui(impatient: tuple[Eva, Eva, str]) -> None:
    eva, entry, _ = impatient
    pid = new_proposal(eva)
    accounts.set_password(eva, Caller(None, "tests"), "prep", PASSWORD)
    settings = Settings.from_env({"EVA_DATABASE_URL": "sqlite://", "EVA_ENV": "test"})
    client = create_app(settings, engine=entry, TESTING=True).test_client()
    login(client, "prep")
    html = client.get(f"/proposals/{pid}").get_data(as_text=True)
    retries = RETRY_STATS.retries
    lock = HeldLock(eva, pid)
    try:
        response = client.post(
            f"/proposals/{pid}/transitions/start_screening",
            data={"csrf_token": csrf(html), "reason": "", "version": "1"},
        )
    finally:
        lock.release()
    assert response.status_code == 409
    assert "Joku muu tallensi samalla hetkellä; yritä uudelleen." in response.get_data(as_text=True)
    assert RETRY_STATS.retries - retries == ATTEMPTS - 1
    assert proposal_queries.show(eva, Caller(None, "tests"), pid).state == "draft"


@pytest.mark.postgres
def test_contention_is_the_conflict_exit_code_on_the_command_line(
    impatient: tuple[Eva, Eva, str],
) -> None:
    eva, _, short = impatient
    pid = new_proposal(eva)
    retries = RETRY_STATS.retries
    lock = HeldLock(eva, pid)
    try:
        result = CliRunner().invoke(
            cli,
            ["proposals", "fire", str(pid), "start_screening", "--as", "prep"],
            env={"EVA_DATABASE_URL": short},
        )
    finally:
        lock.release()
    assert result.exit_code == 5, (result.output, result.stderr)
    assert "Someone else was saving at the same moment" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert RETRY_STATS.retries - retries == ATTEMPTS - 1
    assert proposal_queries.show(eva, Caller(None, "tests"), pid).state == "draft"


def _transition_events_of(eva: Eva, pid: int, trigger: str) -> int:
    return sum(
        1
        for e in trail.proposal_history(eva, Caller(None, "tests"), pid)
        if e.action == "proposal.transition" and (e.after or {}).get("trigger") == trigger
    )


# one transaction at the entry point ------------------------------------------------------------
def _actions(eva: Eva, pid: int) -> list[tuple[str, str]]:
    return [(e.action, e.actor) for e in trail.proposal_history(eva, Caller(None, "tests"), pid)]


def test_services_inside_an_entry_points_transaction_join_it(eva: Eva, world: World) -> None:
    """Every unit of work opened inside ``Eva.transaction()`` joins it: nothing is committed
    until the transaction commits, leaving it without a commit undoes every service's part, and
    the events keep each service's actor, sealed into the chain at the one commit."""
    pid = new_proposal(eva)
    before = _actions(eva, pid)
    with eva.transaction():
        transitions.fire(eva, as_("prep"), pid, "start_screening")
        screen(eva, pid)
        assert state_of(eva, pid) == "screening"  # seen inside the transaction
    assert state_of(eva, pid) == "draft"  # left without a commit: all of it undone
    assert _actions(eva, pid) == before
    with eva.transaction() as uow:
        transitions.fire(eva, as_("prep"), pid, "start_screening")
        transitions.fire(eva, as_("prep2"), pid, "withdraw", reason="Ei tarvita.")
        uow.commit()
    assert state_of(eva, pid) == "withdrawn"
    made = _actions(eva, pid)[len(before) :]
    assert [a for a in made if a[0] == "proposal.transition"] == [
        ("proposal.transition", "prep"),
        ("proposal.transition", "prep2"),
    ]
    assert {actor for _, actor in made} == {"prep", "prep2"}
    assert trail.verify(eva).ok


def _add_organisation(eva: Eva, code: str) -> None:
    with eva.uow() as uow:
        uow.repos.add(
            Organisation(
                code=code,
                name_fi="Kaksoiskappale",
                kind=OrganisationKind.MUNICIPALITY,
                case_number_pattern=".*",
                case_number_example="1",
            )
        )
        uow.commit()  # the unique code: an IntegrityError, reported as a conflict


def _withdraw_then_refuse(eva: Eva, pid: int) -> None:
    with eva.uow():
        transitions.fire(eva, as_("prep"), pid, "withdraw", reason="Ei tarvita.")
        assert state_of(eva, pid) == "withdrawn"
        raise InvalidInput("changed my mind")


def test_a_refused_service_inside_a_transaction_undoes_only_its_own_part(
    eva: Eva, world: World
) -> None:
    """A joined unit of work runs in a savepoint: its failure (a duplicate refused by the
    database at its commit; a refusal after a service it called had done its part) undoes what
    it wrote and the events of what it undid, and the entry point may still commit the rest."""
    pid = new_proposal(eva)
    with eva.transaction() as uow:
        transitions.fire(eva, as_("prep"), pid, "start_screening")
        with pytest.raises(Conflict):
            _add_organisation(eva, world.org)  # its code is taken: refused at the commit
        with pytest.raises(InvalidInput):
            _withdraw_then_refuse(eva, pid)  # a part that called a service, then failed
        uow.commit()
    assert state_of(eva, pid) == "screening"
    steps = [a for a in _actions(eva, pid) if a[0] == "proposal.transition"]
    assert steps == [("proposal.transition", "prep")]  # no event of the undone withdrawal
    with eva.reading() as uow:
        assert uow.repos.organisation_by_code(world.org) is not None
        assert len(uow.repos.organisations()) == 2
    assert trail.verify(eva).ok
