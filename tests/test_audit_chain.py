"""The history is append-only in the database and tamper-evident by its hash chain: every
edit, deletion, insertion or reordering is found, and the first bad event is named."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from eva_engine.config import default_workflows_dir
from eva_engine.db.audit import VerifyResult
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database
from eva_engine.services import history, transitions
from eva_engine.services.runtime import Eva
from tests.audit_support import connection, triggers_bypassed
from tests.builders import as_, build_world, proposal_in
from tests.conftest import FreshDatabase, World, publish_workflows

# PostgreSQL too: its append-only triggers and the snapshot verify reads differ
pytestmark = pytest.mark.postgres


def verify(eva: Eva) -> VerifyResult:
    return history.verify(eva)


def count(eva: Eva) -> int:
    return int(connection(eva).execute(text("SELECT count(*) FROM audit_events")).scalar_one())


@pytest.fixture
def walked(eva: Eva, world: World) -> int:
    proposal_in(eva, "decided")
    return count(eva)


def test_an_untouched_history_verifies_and_counts_every_event(eva: Eva, walked: int) -> None:
    result = verify(eva)
    assert result.ok
    assert result.verified == walked > 50


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET reason = 'forged' WHERE seq = 5",
        "DELETE FROM audit_events WHERE seq = 5",
    ],
)
def test_the_database_refuses_to_change_or_delete_an_event(
    eva: Eva, walked: int, statement: str
) -> None:
    conn = connection(eva)
    with pytest.raises(DBAPIError, match="append-only"), conn.begin_nested():
        conn.exec_driver_sql(statement)
    assert verify(eva).ok


def test_the_chain_head_cannot_be_deleted(eva: Eva, walked: int) -> None:
    conn = connection(eva)
    with pytest.raises(DBAPIError), conn.begin_nested():
        conn.exec_driver_sql("DELETE FROM audit_chain_head")


def test_an_edited_event_is_found(eva: Eva, walked: int) -> None:
    with triggers_bypassed(eva) as conn:
        conn.exec_driver_sql("UPDATE audit_events SET actor_name = 'someone' WHERE seq = 40")
    result = verify(eva)
    assert (result.ok, result.first_bad_seq, result.verified) == (False, 40, 39)
    assert "altered" in str(result.problem)


def test_an_edit_that_also_recomputes_the_hash_breaks_the_next_link(eva: Eva, walked: int) -> None:
    from eva_engine.db.audit import event_hash  # noqa: PLC0415
    from eva_engine.models import AuditEvent  # noqa: PLC0415

    with eva.uow() as uow:
        event = uow.session.get(AuditEvent, 40)
        assert event is not None
        event.reason = "forged"
        new_hash = event_hash(event)  # the attacker knows the algorithm
    with triggers_bypassed(eva) as conn:
        conn.execute(
            text("UPDATE audit_events SET reason = 'forged', hash = :h WHERE seq = 40"),
            {"h": new_hash},
        )
    result = verify(eva)
    assert (result.ok, result.first_bad_seq) == (False, 41)
    assert "does not link" in str(result.problem)


def test_a_deleted_event_is_found(eva: Eva, walked: int) -> None:
    with triggers_bypassed(eva) as conn:
        conn.exec_driver_sql("DELETE FROM audit_events WHERE seq = 25")
    result = verify(eva)
    assert (result.ok, result.first_bad_seq) == (False, 25)
    assert "missing" in str(result.problem)


def test_deleting_and_renumbering_is_found_by_the_broken_link(eva: Eva, walked: int) -> None:
    with triggers_bypassed(eva) as conn:
        conn.exec_driver_sql("DELETE FROM audit_events WHERE seq = 25")
        conn.exec_driver_sql("UPDATE audit_events SET seq = -seq WHERE seq > 25")
        conn.exec_driver_sql("UPDATE audit_events SET seq = -seq - 1 WHERE seq < 0")
    result = verify(eva)
    assert (result.ok, result.first_bad_seq) == (False, 25)


def test_an_inserted_event_is_found(eva: Eva, walked: int) -> None:
    with triggers_bypassed(eva) as conn:
        conn.exec_driver_sql("UPDATE audit_events SET seq = -seq WHERE seq > 30")
        conn.exec_driver_sql("UPDATE audit_events SET seq = -seq + 1 WHERE seq < 0")
        conn.exec_driver_sql(
            "INSERT INTO audit_events (seq, occurred_at, actor_id, actor_name, actor_role, client,"
            " action, entity_type, entity_id, organisation_id, proposal_id, before, after, reason,"
            " prev_hash, hash) SELECT 31, occurred_at, actor_id, 'forger', actor_role, client,"
            " action, entity_type, entity_id, organisation_id, proposal_id, before, after,"
            " 'inserted', hash, 'f00d' FROM audit_events WHERE seq = 30"
        )
    result = verify(eva)
    assert (result.ok, result.first_bad_seq) == (False, 31)


def test_reordered_events_are_found(eva: Eva, walked: int) -> None:
    with triggers_bypassed(eva) as conn:
        conn.exec_driver_sql("UPDATE audit_events SET seq = -1 WHERE seq = 50")
        conn.exec_driver_sql("UPDATE audit_events SET seq = 50 WHERE seq = 51")
        conn.exec_driver_sql("UPDATE audit_events SET seq = 51 WHERE seq = -1")
    result = verify(eva)
    assert (result.ok, result.first_bad_seq) == (False, 50)


def test_a_cut_off_tail_is_found_by_the_chain_head(eva: Eva, walked: int) -> None:
    with triggers_bypassed(eva) as conn:
        conn.exec_driver_sql(f"DELETE FROM audit_events WHERE seq > {walked - 3}")
    result = verify(eva)
    assert (result.ok, result.verified, result.first_bad_seq) == (False, walked - 3, walked - 2)
    assert "removed" in str(result.problem)


def test_an_event_appended_behind_the_heads_back_is_found(eva: Eva, walked: int) -> None:
    with triggers_bypassed(eva) as conn:
        conn.exec_driver_sql(
            "INSERT INTO audit_events (seq, occurred_at, actor_id, actor_name, actor_role, client,"
            " action, entity_type, entity_id, organisation_id, proposal_id, before, after, reason,"
            f" prev_hash, hash) SELECT {walked + 1}, occurred_at, actor_id, actor_name,"
            " actor_role, client, action, entity_type, entity_id, organisation_id, proposal_id,"
            " before, after, reason, hash, 'beef' FROM audit_events"
            f" WHERE seq = {walked}"
        )
    result = verify(eva)
    assert not result.ok
    assert result.first_bad_seq == walked + 1


def proposal_events(eva: Eva, pid: int) -> list[int]:
    rows = connection(eva).execute(
        text("SELECT seq FROM audit_events WHERE proposal_id = :p ORDER BY seq"), {"p": pid}
    )
    return [int(seq) for (seq,) in rows]


@pytest.fixture
def one_proposal(eva: Eva, world: World) -> int:
    proposal_in(eva, "review")
    return proposal_in(eva, "review")


def test_a_proposals_own_events_verify_without_walking_the_chain(
    eva: Eva, one_proposal: int
) -> None:
    result = history.verify_proposal(eva, as_("aud"), one_proposal)
    assert result.ok
    assert result.verified == len(proposal_events(eva, one_proposal)) > 5


def test_an_edit_of_a_proposals_event_is_found_on_its_page(eva: Eva, one_proposal: int) -> None:
    seq = proposal_events(eva, one_proposal)[2]
    with triggers_bypassed(eva) as conn:
        conn.execute(text("UPDATE audit_events SET reason = 'forged' WHERE seq = :s"), {"s": seq})
    result = history.verify_proposal(eva, as_("aud"), one_proposal)
    assert (result.ok, result.first_bad_seq) == (False, seq)
    assert "altered" in str(result.problem)


def test_a_deletion_just_before_a_proposals_event_is_found(eva: Eva, one_proposal: int) -> None:
    seq = proposal_events(eva, one_proposal)[3]
    with triggers_bypassed(eva) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": seq - 1})
    result = history.verify_proposal(eva, as_("aud"), one_proposal)
    assert not result.ok
    assert result.first_bad_seq in (seq - 1, seq)


def test_a_proposal_from_another_organisation_is_not_verified_for_you(
    eva: Eva, one_proposal: int
) -> None:
    from eva_engine.errors import NotFound  # noqa: PLC0415

    with pytest.raises(NotFound):
        history.verify_proposal(eva, as_("outsider"), one_proposal)


# verifying while others write -------------------------------------------------------------------
@pytest.fixture
def busy(fresh_databases: FreshDatabase) -> Iterator[tuple[Eva, list[int]]]:
    """A committed database of its own (a snapshot needs real transactions) with proposals in
    review, which writers move back and forth."""
    eva = Eva(Database.connect(fresh_databases.new_url()), default_workflows_dir())
    upgrade(eva.database.engine)
    publish_workflows(eva)
    build_world(eva)
    pids = [proposal_in(eva, "review") for _ in range(3)]
    yield eva, pids
    eva.database.dispose()


def _keep_writing(eva: Eva, pid: int, stop: threading.Event, errors: list[str]) -> None:
    """Commit transitions (a state change and its events in one transaction) until stopped."""
    try:
        while not stop.is_set():
            transitions.fire(eva, as_("sec"), pid, "return_for_revision", reason="Korjattava.")
            transitions.fire(eva, as_("prep"), pid, "submit_for_review")
    except Exception as exc:  # reported by the test
        errors.append(f"{type(exc).__name__}: {exc}")


@pytest.mark.slow
def test_verifying_while_others_commit_never_reports_a_false_break(
    busy: tuple[Eva, list[int]],
) -> None:
    eva, pids = busy
    stop, errors = threading.Event(), list[str]()
    writers = [threading.Thread(target=_keep_writing, args=(eva, p, stop, errors)) for p in pids]
    start = history.verify(eva).verified
    for writer in writers:
        writer.start()
    false_results: list[str] = []
    rounds = 0
    try:
        deadline = time.monotonic() + 6
        while rounds < 30 or time.monotonic() < deadline:
            rounds += 1
            if rounds % 3:
                result = history.verify(eva)
                if not result.ok:
                    false_results.append(f"verify: {result.problem}")
            else:  # the auditor's walk from the web page records what it found
                check = history.verify_and_record(eva, as_("aud"))
                if not check.ok:
                    false_results.append(f"recorded: {check.problem}")
    finally:
        stop.set()
        for writer in writers:
            writer.join(60)
    assert errors == []
    grown = history.verify(eva)
    assert grown.ok
    assert grown.verified > start + 2 * rounds  # the writers kept committing throughout
    assert false_results == [], f"{len(false_results)} of {rounds} rounds: {false_results[:3]}"
    recorded = history.audit_events(
        eva, as_("aud"), year=datetime.now(UTC).year, action=history.CHAIN_CHECK, limit=500
    )
    assert recorded.events
    assert all((e.after or {}).get("ok") for e in recorded.events)
