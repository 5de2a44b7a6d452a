"""The history is append-only in the database and tamper-evident by its hash chains, one per
organisation and one for the installation: every edit, deletion, insertion or reordering, and
every event moved from one chain into another, is found, and the first bad event is named."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from eva_engine.config import default_workflows_dir
from eva_engine.db.audit import VerifyResult, event_hash
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database
from eva_engine.models import INSTALLATION_CHAIN, AuditEvent
from eva_engine.services.history import trail
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.runtime import Eva
from eva_engine.services.steps import transitions
from tests.audit_support import chain_id, connection, triggers_bypassed
from tests.builders import ORG, OTHER_ORG, as_, build_world, proposal_in
from tests.conftest import FreshDatabase, World, publish_workflows

# PostgreSQL too: its append-only triggers and the snapshot verify reads differ
pytestmark = pytest.mark.postgres


def verify(eva: Eva, chain: int | None = None) -> VerifyResult:
    return trail.verify(eva, chain_id=chain)


def count(eva: Eva, chain: int | None = None) -> int:
    where = "" if chain is None else f" WHERE chain_id = {chain}"
    sql = f"SELECT count(*) FROM audit_events{where}"
    return int(connection(eva).execute(text(sql)).scalar_one())


@pytest.fixture
def org(eva: Eva, world: World) -> int:
    """The chain of the organisation the proposals are in; it has more than 50 events."""
    proposal_in(eva, "decided")
    return chain_id(eva, ORG)


def tampered(eva: Eva, org: int, statement: str) -> VerifyResult:
    """Run ``statement`` (about ``:c``, the organisation's chain) with the triggers off."""
    with triggers_bypassed(eva) as conn:
        conn.execute(text(statement), {"c": org})
    return verify(eva)


def test_an_untouched_history_verifies_every_chain_and_counts_every_event(
    eva: Eva, org: int
) -> None:
    result = verify(eva)
    assert result.ok
    assert result.verified == count(eva) > count(eva, org) > 50
    chains = {c.chain_id: c.verified for c in result.chains}
    assert chains[org] == count(eva, org)
    assert chains[chain_id(eva, OTHER_ORG)] == count(eva, chain_id(eva, OTHER_ORG)) > 0
    assert chains[INSTALLATION_CHAIN] == count(eva, INSTALLATION_CHAIN) > 0
    assert sum(chains.values()) == result.verified


def test_each_event_is_in_its_organisations_chain_numbered_from_one(eva: Eva, org: int) -> None:
    """Its own organisation's, else its proposal's (an answer, a task), else the installation's."""
    rows = connection(eva).execute(
        text(
            "SELECT e.chain_id, count(*), min(e.seq), max(e.seq), sum(CASE WHEN"
            " e.chain_id = coalesce(e.organisation_id, p.organisation_id, e.chain_id)"
            " THEN 0 ELSE 1 END) FROM audit_events e"
            " LEFT JOIN proposals p ON p.id = e.proposal_id GROUP BY e.chain_id"
        )
    )
    for chain, events, first, last, elsewhere in rows:
        assert (first, last, elsewhere) == (1, events, 0), chain
    answers = connection(eva).execute(
        text("SELECT DISTINCT chain_id FROM audit_events WHERE entity_type = 'answer'")
    )
    assert [c for (c,) in answers] == [org]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET reason = 'forged' WHERE seq = 5",
        "DELETE FROM audit_events WHERE seq = 5",
        "UPDATE audit_events SET chain_id = 999 WHERE seq = 5",
    ],
)
def test_the_database_refuses_to_change_or_delete_an_event(
    eva: Eva, org: int, statement: str
) -> None:
    conn = connection(eva)
    with pytest.raises(DBAPIError, match="append-only"), conn.begin_nested():
        conn.exec_driver_sql(statement)
    assert verify(eva).ok


def test_a_chain_head_cannot_be_deleted(eva: Eva, org: int) -> None:
    conn = connection(eva)
    with pytest.raises(DBAPIError), conn.begin_nested():
        conn.exec_driver_sql(f"DELETE FROM audit_chain_head WHERE chain_id = {org}")


def test_an_edited_event_is_found_in_its_chain(eva: Eva, org: int) -> None:
    before = verify(eva, org).verified
    result = tampered(
        eva, org, "UPDATE audit_events SET actor_name = 'someone' WHERE chain_id = :c AND seq = 40"
    )
    assert (result.ok, result.chain_id, result.first_bad_seq) == (False, org, 40)
    assert "altered" in str(result.problem)
    assert f"the chain of {ORG}" in str(result.problem)
    assert verify(eva, org).verified == 39 < before


def test_an_edit_that_also_recomputes_the_hash_breaks_the_next_link(eva: Eva, org: int) -> None:
    with eva.uow() as uow:
        event = uow.session.get(AuditEvent, (org, 40))
        assert event is not None
        event.reason = "forged"
        new_hash = event_hash(event)  # the attacker knows the algorithm
        uow.session.expunge(event)
    result = tampered(
        eva,
        org,
        f"UPDATE audit_events SET reason = 'forged', hash = '{new_hash}'"
        " WHERE chain_id = :c AND seq = 40",
    )
    assert (result.ok, result.chain_id, result.first_bad_seq) == (False, org, 41)
    assert "does not link" in str(result.problem)


def test_a_deleted_event_is_found(eva: Eva, org: int) -> None:
    result = tampered(eva, org, "DELETE FROM audit_events WHERE chain_id = :c AND seq = 25")
    assert (result.ok, result.chain_id, result.first_bad_seq) == (False, org, 25)
    assert "missing" in str(result.problem)


def test_deleting_and_renumbering_is_found_by_the_broken_link(eva: Eva, org: int) -> None:
    with triggers_bypassed(eva) as conn:
        for statement in (
            "DELETE FROM audit_events WHERE chain_id = :c AND seq = 25",
            "UPDATE audit_events SET seq = -seq WHERE chain_id = :c AND seq > 25",
            "UPDATE audit_events SET seq = -seq - 1 WHERE chain_id = :c AND seq < 0",
        ):
            conn.execute(text(statement), {"c": org})
    result = verify(eva)
    assert (result.ok, result.chain_id, result.first_bad_seq) == (False, org, 25)


COLUMNS = (
    "occurred_at, actor_id, actor_name, actor_role, client, action, entity_type, entity_id,"
    " organisation_id, proposal_id, before, after, reason"
)


def test_an_inserted_event_is_found(eva: Eva, org: int) -> None:
    with triggers_bypassed(eva) as conn:
        for statement in (
            "UPDATE audit_events SET seq = -seq WHERE chain_id = :c AND seq > 30",
            "UPDATE audit_events SET seq = -seq + 1 WHERE chain_id = :c AND seq < 0",
            f"INSERT INTO audit_events (chain_id, seq, {COLUMNS}, prev_hash, hash)"
            f" SELECT chain_id, 31, {COLUMNS}, hash, 'f00d' FROM audit_events"
            " WHERE chain_id = :c AND seq = 30",
        ):
            conn.execute(text(statement), {"c": org})
    result = verify(eva)
    assert (result.ok, result.chain_id, result.first_bad_seq) == (False, org, 31)


def test_reordered_events_are_found(eva: Eva, org: int) -> None:
    with triggers_bypassed(eva) as conn:
        for statement in (
            "UPDATE audit_events SET seq = -1 WHERE chain_id = :c AND seq = 50",
            "UPDATE audit_events SET seq = 50 WHERE chain_id = :c AND seq = 51",
            "UPDATE audit_events SET seq = 51 WHERE chain_id = :c AND seq = -1",
        ):
            conn.execute(text(statement), {"c": org})
    result = verify(eva)
    assert (result.ok, result.chain_id, result.first_bad_seq) == (False, org, 50)


def test_a_cut_off_tail_is_found_by_the_chain_head(eva: Eva, org: int) -> None:
    last = count(eva, org)
    result = tampered(
        eva, org, f"DELETE FROM audit_events WHERE chain_id = :c AND seq > {last - 3}"
    )
    assert (result.ok, result.chain_id, result.first_bad_seq) == (False, org, last - 2)
    assert "removed" in str(result.problem)


def test_an_event_appended_behind_the_heads_back_is_found(eva: Eva, org: int) -> None:
    last = count(eva, org)
    result = tampered(
        eva,
        org,
        f"INSERT INTO audit_events (chain_id, seq, {COLUMNS}, prev_hash, hash)"
        f" SELECT chain_id, {last + 1}, {COLUMNS}, hash, 'beef' FROM audit_events"
        f" WHERE chain_id = :c AND seq = {last}",
    )
    assert (result.ok, result.chain_id, result.first_bad_seq) == (False, org, last + 1)


def test_an_event_moved_into_another_chain_is_found_in_both(eva: Eva, org: int) -> None:
    """Moved to the end of the other organisation's chain, linked to its last event and with
    that chain's head moved on: the hash seals the chain and place it was written for."""
    other = chain_id(eva, OTHER_ORG)
    last = count(eva, other)
    with triggers_bypassed(eva) as conn:
        conn.execute(
            text(
                "UPDATE audit_events SET chain_id = :o, seq = :s, organisation_id = :o,"
                " prev_hash = (SELECT last_hash FROM audit_chain_head WHERE chain_id = :o)"
                " WHERE chain_id = :c AND seq = 30"
            ),
            {"o": other, "s": last + 1, "c": org},
        )
        conn.execute(
            text(
                "UPDATE audit_chain_head SET last_seq = :s, last_hash ="
                " (SELECT hash FROM audit_events WHERE chain_id = :o AND seq = :s)"
                " WHERE chain_id = :o"
            ),
            {"o": other, "s": last + 1},
        )
    mine, theirs = verify(eva, org), verify(eva, other)
    assert (mine.ok, mine.chain_id, mine.first_bad_seq) == (False, org, 30)
    assert "missing" in str(mine.problem)
    assert (theirs.ok, theirs.chain_id, theirs.first_bad_seq) == (False, other, last + 1)
    assert "moved from another chain" in str(theirs.problem)
    assert not verify(eva).ok


def test_a_break_in_one_organisations_chain_leaves_the_others_verifiable(
    eva: Eva, org: int
) -> None:
    other = chain_id(eva, OTHER_ORG)
    with triggers_bypassed(eva) as conn:
        conn.execute(
            text("UPDATE audit_events SET reason = 'forged' WHERE chain_id = :o AND seq = 2"),
            {"o": other},
        )
    assert (verify(eva, other).first_bad_seq, verify(eva).chain_id) == (2, other)
    assert verify(eva, org).ok
    events = count(eva, org)
    check = trail.verify_and_record(eva, as_("aud"))  # testila's auditor: testila's chain
    assert (check.ok, check.verified) == (True, events)
    assert count(eva, org) == events + 1  # the check, recorded in testila's chain


def test_a_proposal_moved_to_another_organisation_by_hand_is_found(eva: Eva, org: int) -> None:
    pid = proposal_in(eva, "review")
    other = chain_id(eva, OTHER_ORG)
    connection(eva).execute(
        text("UPDATE proposals SET organisation_id = :o WHERE id = :p"), {"o": other, "p": pid}
    )
    result = verify(eva)
    assert not result.ok
    assert "another organisation" in str(result.problem)


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
    result = trail.verify_proposal(eva, as_("aud"), one_proposal)
    assert result.ok
    assert result.verified == len(proposal_events(eva, one_proposal)) > 5


def test_an_edit_of_a_proposals_event_is_found_on_its_page(eva: Eva, one_proposal: int) -> None:
    seq = proposal_events(eva, one_proposal)[2]
    with triggers_bypassed(eva) as conn:
        conn.execute(
            text("UPDATE audit_events SET reason = 'forged' WHERE proposal_id = :p AND seq = :s"),
            {"s": seq, "p": one_proposal},
        )
    result = trail.verify_proposal(eva, as_("aud"), one_proposal)
    assert (result.ok, result.first_bad_seq) == (False, seq)
    assert "altered" in str(result.problem)


def test_a_deletion_just_before_a_proposals_event_is_found(eva: Eva, one_proposal: int) -> None:
    seq = proposal_events(eva, one_proposal)[3]
    with triggers_bypassed(eva) as conn:
        conn.execute(
            text("DELETE FROM audit_events WHERE chain_id = :c AND seq = :s"),
            {"s": seq - 1, "c": chain_id(eva, ORG)},
        )
    result = trail.verify_proposal(eva, as_("aud"), one_proposal)
    assert not result.ok
    assert result.first_bad_seq in (seq - 1, seq)


def test_a_proposal_from_another_organisation_is_not_verified_for_you(
    eva: Eva, one_proposal: int
) -> None:
    from eva_engine.errors import NotFound  # noqa: PLC0415

    with pytest.raises(NotFound):
        trail.verify_proposal(eva, as_("outsider"), one_proposal)


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
    start = trail.verify(eva).verified
    for writer in writers:
        writer.start()
    false_results: list[str] = []
    rounds = 0
    try:
        deadline = time.monotonic() + 6
        while rounds < 30 or time.monotonic() < deadline:
            rounds += 1
            if rounds % 3:
                result = trail.verify(eva)
                if not result.ok:
                    false_results.append(f"verify: {result.problem}")
            else:  # the auditor's walk from the web page records what it found
                check = trail.verify_and_record(eva, as_("aud"))
                if not check.ok:
                    false_results.append(f"recorded: {check.problem}")
    finally:
        stop.set()
        for writer in writers:
            writer.join(60)
    assert errors == []
    grown = trail.verify(eva)
    assert grown.ok
    assert grown.verified > start + 2 * rounds  # the writers kept committing throughout
    assert false_results == [], f"{len(false_results)} of {rounds} rounds: {false_results[:3]}"
    recorded = trail.audit_events(
        eva, as_("aud"), year=datetime.now(UTC).year, action=trail.CHAIN_CHECK, limit=500
    )
    assert recorded.events
    assert all((e.after or {}).get("ok") for e in recorded.events)


def test_writers_of_two_organisations_never_wait_on_each_others_chain_head(
    busy: tuple[Eva, list[int]],
) -> None:
    """PostgreSQL: while a transaction holds the lock of one organisation's chain head, the
    other organisation commits; the same organisation's writer waits for it."""
    eva, pids = busy
    if eva.database.dialect != "postgresql":
        pytest.skip("SQLite has one writer for the whole database")
    mine, theirs = chain_id(eva, ORG), chain_id(eva, OTHER_ORG)
    with eva.database.engine.connect() as holder:
        holder.execute(
            text("SELECT last_seq FROM audit_chain_head WHERE chain_id = :c FOR UPDATE"),
            {"c": mine},
        )
        started = time.monotonic()
        proposal_commands.create_proposal(  # a proposal of the other organisation
            eva,
            as_("outsider"),
            proposal_commands.CreateProposal(
                organisation=OTHER_ORG,
                case_number="900/05.00.00/2026",
                title_fi="Muun kunnan esitys",
                body="KH",
                presenter="outsider",
            ),
        )
        assert time.monotonic() - started < 10
        done = threading.Event()

        def same_organisation() -> None:
            transitions.fire(eva, as_("sec"), pids[0], "return_for_revision", reason="x")
            done.set()

        blocked = threading.Thread(target=same_organisation)
        blocked.start()
        time.sleep(0.5)
        assert not done.is_set()  # waits for the head of its own organisation's chain
        holder.rollback()
    blocked.join(30)
    assert done.is_set()
    assert count_committed(eva, theirs) > 0
    assert trail.verify(eva).ok


def count_committed(eva: Eva, chain: int) -> int:
    with eva.database.engine.connect() as conn:
        sql = "SELECT count(*) FROM audit_events WHERE chain_id = :c"
        return int(conn.execute(text(sql), {"c": chain}).scalar_one())
