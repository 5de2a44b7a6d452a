"""Checkpoints anchor the audit chain outside the database: whoever owns the database can cut
the chain back and move its head, or rewrite it with eva's own hash function, and the chain
alone still verifies; against a checkpoint (HMAC-SHA256 under EVA_AUDIT_KEY) neither does. A
proposal's state rewritten without an audit event is found without any checkpoint."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import text

from eva_engine.cli import cli
from eva_engine.config import default_workflows_dir
from eva_engine.db.audit import VerifyResult, event_hash
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database
from eva_engine.errors import InvalidInput
from eva_engine.models import GENESIS_HASH, AuditEvent
from eva_engine.services.history import checkpoints, trail
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.runtime import Eva
from tests.audit_support import chain_id, connection, triggers_bypassed
from tests.builders import OPERATOR, ORG, OTHER_ORG, as_, build_world, proposal_in
from tests.conftest import FreshDatabase, World, publish_workflows
from tests.test_web import app, csrf, login

# PostgreSQL too: the history is rewritten past each backend's own triggers
pytestmark = pytest.mark.postgres

__all__ = ["app"]

KEY = hashlib.sha256(b"eva test audit key").hexdigest()  # 32 bytes, as hex
OTHER_KEY = hashlib.sha256(b"somebody else's key").hexdigest()
YEAR = 2026


def head(eva: Eva) -> int:
    """The head of testila's chain, where the proposals are."""
    sql = text("SELECT last_seq FROM audit_chain_head WHERE chain_id = :c")
    return int(connection(eva).execute(sql, {"c": chain_id(eva, ORG)}).scalar_one())


def chain_events(result: VerifyResult, eva: Eva) -> int:
    return next(c.verified for c in result.chains if c.chain_id == chain_id(eva, ORG))


def reads(eva: Eva, times: int) -> None:
    """Events that change no proposal's state: the auditor browsing the history."""
    for _ in range(times):
        trail.audit_events(eva, as_("aud"), year=YEAR)


def checkpoint_file(eva: Eva, path: Path, key: str = KEY) -> checkpoints.Checkpoint:
    made = checkpoints.make_checkpoint(eva, key, "test")
    assert made.chain.ok
    assert made.checkpoint is not None
    checkpoints.save(made.checkpoint, path)
    return made.checkpoint


@pytest.fixture
def anchored(eva: Eva, world: World, tmp_path: Path) -> tuple[Path, int]:
    """Two proposals moved along, some reading, then a checkpoint at event ``seq`` of
    testila's chain."""
    proposal_in(eva, "decided")
    proposal_in(eva, "review")
    reads(eva, 6)
    path = tmp_path / "checkpoint.json"
    seq = checkpoint_file(eva, path).chains[str(chain_id(eva, ORG))].seq
    assert seq == head(eva) > 50
    return path, seq


def test_a_checkpoint_names_the_head_and_is_authenticated(
    eva: Eva, anchored: tuple[Path, int]
) -> None:
    path, seq = anchored
    data = json.loads(path.read_text(encoding="utf-8"))
    org = str(chain_id(eva, ORG))
    assert (data["format"], data["database"]) == (checkpoints.FORMAT, "test")
    assert data["chains"][org]["seq"] == seq
    assert data["chains"][org]["name"] == f"the chain of {ORG}"
    heads = connection(eva).execute(
        text("SELECT chain_id, last_seq, last_hash FROM audit_chain_head")
    )
    assert {str(c): (s, h) for c, s, h in heads} == {
        c: (p["seq"], p["hash"]) for c, p in data["chains"].items()
    }
    assert len(data["mac"]) == 64
    assert KEY not in path.read_text(encoding="utf-8")
    assert checkpoints.verify(eva, KEY, [path]).ok


def test_an_honest_chain_that_grew_after_the_checkpoint_still_extends_it(
    eva: Eva, anchored: tuple[Path, int]
) -> None:
    path, seq = anchored
    proposal_in(eva, "signed_off")
    reads(eva, 2)
    result = checkpoints.verify(eva, KEY, [path])
    assert result.ok
    assert chain_events(result, eva) == head(eva) > seq + 10


def test_a_tail_deleted_with_the_head_moved_back_is_found_by_the_checkpoint(
    eva: Eva, anchored: tuple[Path, int]
) -> None:
    path, seq = anchored
    reads(eva, 2)  # the chain grew honestly after the checkpoint
    cut = seq - 3  # the last events before the checkpoint were reads: no state is lost with them
    org = chain_id(eva, ORG)
    with triggers_bypassed(eva) as conn:
        conn.execute(
            text("DELETE FROM audit_events WHERE chain_id = :c AND seq > :n"), {"n": cut, "c": org}
        )
        conn.execute(
            text(
                "UPDATE audit_chain_head SET last_seq = :n, last_hash ="
                " (SELECT hash FROM audit_events WHERE chain_id = :c AND seq = :n)"
                " WHERE chain_id = :c"
            ),
            {"n": cut, "c": org},
        )
    assert trail.verify(eva).ok  # the chain alone cannot tell
    result = checkpoints.verify(eva, KEY, [path])
    assert (result.ok, result.chain_id, result.first_bad_seq) == (False, org, cut + 1)
    assert f"the chain ends at {cut}, before the checkpoint at {seq}" in str(result.problem)
    assert checkpoints.verify(eva, KEY, [path], chain_id=chain_id(eva, OTHER_ORG)).ok


def test_a_whole_chain_deleted_with_its_head_is_found_by_the_checkpoint(
    eva: Eva, anchored: tuple[Path, int]
) -> None:
    path, _ = anchored
    other = chain_id(eva, OTHER_ORG)
    with triggers_bypassed(eva) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE chain_id = :c"), {"c": other})
        conn.execute(text("DELETE FROM audit_chain_head WHERE chain_id = :c"), {"c": other})
    assert trail.verify(eva).ok  # nothing inside the database remembers that chain
    result = checkpoints.verify(eva, KEY, [path])
    assert (result.ok, result.chain_id, result.first_bad_seq) == (False, other, 1)
    assert f"the chain of {OTHER_ORG}: the chain ends at 0" in str(result.problem)


def test_an_organisations_checkpoint_holds_its_chain_only(
    eva: Eva, anchored: tuple[Path, int], tmp_path: Path
) -> None:
    _, seq = anchored
    org = chain_id(eva, ORG)
    made = checkpoints.make_checkpoint(eva, KEY, "test", chain_id=org)
    assert made.checkpoint is not None
    assert {c: p.seq for c, p in made.checkpoint.chains.items()} == {str(org): seq}
    checkpoints.save(made.checkpoint, tmp_path / "testila.json")
    assert checkpoints.verify(eva, KEY, [tmp_path / "testila.json"], chain_id=org).ok


def test_a_checkpoint_of_the_old_single_chain_is_refused_with_what_to_do(
    eva: Eva, world: World, tmp_path: Path
) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"format": "eva-audit-checkpoint/1", "seq": 5, "mac": "00"}))
    with pytest.raises(InvalidInput, match="single audit chain") as raised:
        checkpoints.verify(eva, KEY, [old])
    assert "audit.chain_migrated" in raised.value.problems[0].message


def rewrite_from(eva: Eva, seq: int) -> None:
    """Edit event ``seq`` of testila's chain and recompute every later hash and the head with
    eva's own function."""
    org = chain_id(eva, ORG)
    with eva.reading() as uow:
        events = list(
            uow.session.scalars(
                text("SELECT seq FROM audit_events WHERE chain_id = :c AND seq >= :s ORDER BY seq"),
                {"s": seq, "c": org},
            )
        )
        loaded = [uow.session.get(AuditEvent, (org, n)) for n in events]
        previous = uow.session.get(AuditEvent, (org, seq - 1))
        uow.session.expunge_all()
    prev = previous.hash if previous is not None else GENESIS_HASH
    with triggers_bypassed(eva) as conn:
        for ev in loaded:
            assert ev is not None
            if ev.seq == seq:
                ev.actor_name = "someone else"
            ev.prev_hash = prev
            ev.hash = event_hash(ev)
            prev = ev.hash
            conn.execute(
                text(
                    "UPDATE audit_events SET actor_name = :a, prev_hash = :p, hash = :h"
                    " WHERE chain_id = :c AND seq = :s"
                ),
                {"a": ev.actor_name, "p": ev.prev_hash, "h": ev.hash, "s": ev.seq, "c": org},
            )
        conn.execute(
            text("UPDATE audit_chain_head SET last_hash = :h WHERE chain_id = :c"),
            {"h": prev, "c": org},
        )


@pytest.mark.parametrize("edited", [1, 20, 0], ids=["first", "middle", "at-checkpoint"])
def test_an_edit_with_every_later_hash_recomputed_is_found_by_the_checkpoint(
    eva: Eva, anchored: tuple[Path, int], edited: int
) -> None:
    path, seq = anchored
    reads(eva, 2)
    rewrite_from(eva, edited or seq)
    assert trail.verify(eva).ok  # the chain alone cannot tell
    result = checkpoints.verify(eva, KEY, [path])
    assert not result.ok
    if edited == 1:
        assert result.first_bad_seq == 1
        assert "event 1's hash differs from the checkpoint" in str(result.problem)
    else:
        assert result.first_bad_seq == seq
        assert f"event {seq}'s hash differs from the checkpoint" in str(result.problem)


def case_number(eva: Eva, pid: int) -> str:
    return proposal_queries.show(eva, OPERATOR, pid).case_number


def test_a_state_rewritten_without_an_audit_event_is_found_naming_the_case(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "review")
    proposal_in(eva, "decided")
    assert trail.verify(eva).ok
    connection(eva).execute(
        text("UPDATE proposals SET state = 'decided' WHERE id = :p"), {"p": pid}
    )
    result = trail.verify(eva)
    assert not result.ok
    assert f"proposal {case_number(eva, pid)} is in state 'decided'" in str(result.problem)
    assert "its history says 'review'" in str(result.problem)
    last = connection(eva).execute(
        text(
            "SELECT max(seq) FROM audit_events WHERE entity_type = 'proposal'"
            " AND entity_id = :p AND action = 'proposal.transition'"
        ),
        {"p": str(pid)},
    )
    assert result.first_bad_seq == last.scalar_one()


def test_a_state_set_back_to_its_previous_value_is_found_too(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "reviewed")
    connection(eva).execute(text("UPDATE proposals SET state = 'review' WHERE id = :p"), {"p": pid})
    result = trail.verify(eva)
    assert not result.ok
    assert f"proposal {case_number(eva, pid)} is in state 'review'" in str(result.problem)


def test_a_proposal_written_into_the_table_without_history_is_found(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "draft")
    listed = (
        "organisation_id, title_fi, body_id, publicity, contains_personal_data, preparer_id, "
        "presenter_id, state, workflow_name, workflow_version, workflow_hash, revision, "
        "created_at, updated_at, row_version"
    )
    connection(eva).execute(
        text(
            f"INSERT INTO proposals (case_number, {listed}) SELECT '999/00.00.00/2026', {listed}"
            " FROM proposals WHERE id = :p"
        ),
        {"p": pid},
    )
    result = trail.verify(eva)
    assert not result.ok
    assert "proposal 999/00.00.00/2026 has no history" in str(result.problem)


def test_the_auditors_walk_on_the_web_finds_and_records_a_rewritten_state(
    app: Flask, eva: Eva
) -> None:
    pid = proposal_in(eva, "review")
    client = app.test_client()
    login(client, "aud")
    connection(eva).execute(text("UPDATE proposals SET state = 'closed' WHERE id = :p"), {"p": pid})
    client.post("/audit/verify", data={"csrf_token": csrf(client.get("/audit/").get_data(True))})
    page = client.get("/audit/").get_data(as_text=True)
    assert "Lokiketju on katkennut tapahtuman" in page  # the flash
    assert "Lokiketju todettiin katkenneeksi" in page  # the recorded check
    # in Finnish, the states by their titles
    assert f"asia {case_number(eva, pid)} on tilassa &#39;Päättynyt&#39;" in page
    assert "historian mukaan tila on &#39;Tarkastettavana&#39;" in page
    assert "without an audit event" not in page
    connection(eva).execute(text("UPDATE proposals SET state = 'review' WHERE id = :p"), {"p": pid})
    test_a_proposal_written_into_the_table_without_history_is_found(eva, World())
    client.post("/audit/verify", data={"csrf_token": csrf(client.get("/audit/").get_data(True))})
    page = client.get("/audit/").get_data(as_text=True)
    assert "Lokihistoria on rikkoutunut." in page
    assert "Lokihistoria todettiin rikkoutuneeksi" in page
    assert "None" not in page


def test_an_altered_checkpoint_file_is_not_authentic(eva: Eva, anchored: tuple[Path, int]) -> None:
    path, seq = anchored
    data = json.loads(path.read_text(encoding="utf-8"))
    forged = path.with_name("forged.json")
    forged.write_text(json.dumps(data | {"seq": seq - 10}), encoding="utf-8")
    result = checkpoints.verify(eva, KEY, [forged])
    assert not result.ok
    assert "the checkpoint forged.json is not authentic" in str(result.problem)


def test_a_checkpoint_made_with_another_key_is_refused(
    eva: Eva, world: World, tmp_path: Path
) -> None:
    proposal_in(eva, "review")
    forged = tmp_path / "other-key.json"
    checkpoint_file(eva, forged, key=OTHER_KEY)  # a forger's own key
    result = checkpoints.verify(eva, KEY, [forged])
    assert not result.ok
    assert "not made with this EVA_AUDIT_KEY" in str(result.problem)


def test_verifying_with_the_wrong_key_fails_and_says_so(
    eva: Eva, anchored: tuple[Path, int]
) -> None:
    path, _ = anchored
    result = checkpoints.verify(eva, OTHER_KEY, [path])
    assert not result.ok
    assert "not made with this EVA_AUDIT_KEY" in str(result.problem)


@pytest.mark.parametrize(
    ("key", "why"),
    [
        (None, "not set"),
        ("", "not set"),
        ("00ff" * 8, "16 bytes, fewer than 32"),
        ("ab" * 32, "repeat too much"),
        ("correct horse battery staple!", "neither hex nor base64"),
    ],
)
def test_a_checkpoint_is_never_made_without_a_strong_key(
    eva: Eva, world: World, tmp_path: Path, key: str | None, why: str
) -> None:
    with pytest.raises(InvalidInput, match="EVA_AUDIT_KEY") as raised:
        checkpoints.make_checkpoint(eva, key, "test")
    assert why in str(raised.value)
    assert raised.value.problems[0].location == "EVA_AUDIT_KEY"


def test_a_base64_key_serves_as_well_as_hex(eva: Eva, world: World) -> None:
    raw = bytes.fromhex(KEY)
    import base64  # noqa: PLC0415

    for written in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        assert checkpoints.audit_key(written) == raw
        assert checkpoints.audit_key(written.rstrip("=")) == raw


def test_a_broken_chain_gets_no_checkpoint(eva: Eva, world: World) -> None:
    proposal_in(eva, "review")
    with triggers_bypassed(eva) as conn:
        conn.exec_driver_sql("UPDATE audit_events SET reason = 'forged' WHERE seq = 5")
    made = checkpoints.make_checkpoint(eva, KEY, "test")
    assert made.checkpoint is None
    assert made.chain.first_bad_seq == 5


def test_an_existing_checkpoint_file_is_never_overwritten(
    eva: Eva, anchored: tuple[Path, int]
) -> None:
    path, _ = anchored
    before = path.read_bytes()
    made = checkpoints.make_checkpoint(eva, KEY, "test")
    assert made.checkpoint is not None
    with pytest.raises(InvalidInput, match="exists already"):
        checkpoints.save(made.checkpoint, path)
    assert path.read_bytes() == before


# the command line --------------------------------------------------------------------------------
@pytest.fixture
def committed_url(fresh_databases: FreshDatabase) -> str:
    url = fresh_databases.new_url()
    eva = Eva(Database.connect(url), default_workflows_dir())
    upgrade(eva.database.engine)
    publish_workflows(eva)
    build_world(eva)
    proposal_in(eva, "review")
    eva.database.dispose()
    return url


def run(url: str, *args: str, key: str | None = KEY, code: int = 0) -> Result:
    env = {"EVA_DATABASE_URL": url, "EVA_AUDIT_KEY": key or ""}
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == code, (args, result.output, result.stderr, result.exception)
    assert "Traceback" not in result.output + result.stderr
    return result


def test_the_commands_write_a_checkpoint_and_verify_against_it(
    committed_url: str, tmp_path: Path
) -> None:
    url, path = committed_url, tmp_path / "2026-05-01.json"
    written = run(url, "audit", "checkpoint", "--out", str(path))
    assert written.stdout.startswith(f"Checkpoint written to {path}: the heads of 3 chain(s) (")
    assert run(url, "audit", "checkpoint", "--out", "-").stdout.startswith("{")
    ok = run(url, "audit", "verify", "--checkpoint", str(path))
    assert "in 3 chain(s); the chains are intact. They extend 1 checkpoint(s)." in ok.stdout
    mine = run(url, "audit", "verify", "--org", ORG, "--checkpoint", str(path))
    assert "in 1 chain(s)" in mine.stdout
    nowhere = run(url, "audit", "verify", "--org", "nowhere", code=7)
    assert "There is no organisation nowhere" in nowhere.stderr
    eva = Eva(Database.connect(url), default_workflows_dir())
    org = chain_id(eva, ORG)
    eva.database.dispose()
    seq = json.loads(path.read_text(encoding="utf-8"))["chains"][str(org)]["seq"]

    again = run(url, "audit", "checkpoint", "--out", str(path), code=7)
    assert "exists already" in again.stderr
    no_key = run(url, "audit", "checkpoint", "--out", str(tmp_path / "x.json"), key=None, code=7)
    assert "EVA_AUDIT_KEY" in no_key.stderr
    assert not (tmp_path / "x.json").exists()
    wrong = run(url, "audit", "verify", "--checkpoint", str(path), key=OTHER_KEY, code=8)
    assert "not made with this EVA_AUDIT_KEY" in wrong.stderr
    not_one = tmp_path / "notes.txt"
    not_one.write_text("hello", encoding="utf-8")
    bad = run(url, "audit", "verify", "--checkpoint", str(not_one), code=7)
    assert "is not an eva audit checkpoint" in bad.stderr

    eva = Eva(Database.connect(url), default_workflows_dir())
    try:
        bind = eva.database.engine
        with bind.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
            else:
                conn.exec_driver_sql("DROP TRIGGER audit_events_no_delete")
            conn.execute(
                text("DELETE FROM audit_events WHERE chain_id = :c AND seq > :n"),
                {"n": seq - 2, "c": org},
            )
            conn.execute(
                text(
                    "UPDATE audit_chain_head SET last_seq = :n, last_hash ="
                    " (SELECT hash FROM audit_events WHERE chain_id = :c AND seq = :n)"
                    " WHERE chain_id = :c"
                ),
                {"n": seq - 2, "c": org},
            )
    finally:
        eva.database.dispose()
    broken = run(url, "audit", "verify", "--checkpoint", str(path), code=8)
    assert f"the chain ends at {seq - 2}, before the checkpoint at {seq}" in broken.stderr
    payload = json.loads(
        run(url, "--json", "audit", "verify", "--checkpoint", str(path), code=8).stdout
    )
    assert (payload["ok"], payload["first_bad_seq"]) == (False, seq - 1)
