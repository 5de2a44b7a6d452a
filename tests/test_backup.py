"""``eva backup`` copies a live database (SQLite: the online backup API; PostgreSQL: pg_dump of
the snapshot its manifest was read from) and ``eva restore`` puts it into a fresh database only,
then checks schema, row counts, chain and checkpoints. Copied while writers commit, the restored
database verifies and holds every event committed before the backup began."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, text

from eva_engine.cli import cli
from eva_engine.config import default_workflows_dir
from eva_engine.db.engine import make_engine
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database
from eva_engine.services.history import trail
from eva_engine.services.installation import backup as backups
from eva_engine.services.runtime import Eva
from eva_engine.services.steps import transitions
from tests.audit_support import chain_id
from tests.builders import ORG, as_, build_world, proposal_in
from tests.conftest import FreshDatabase, publish_workflows

# PostgreSQL too: pg_dump and pg_restore of an exported snapshot
pytestmark = pytest.mark.postgres

KEY = hashlib.sha256(b"eva test audit key").hexdigest()
OLDER_REVISION = "9d4b2f6e8a13"  # 0005_external_ref


def run(url: str, *args: str, key: str | None = KEY, code: int = 0) -> Result:
    env = {"EVA_DATABASE_URL": url, "EVA_AUDIT_KEY": key or ""}
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == code, (args, result.output, result.stderr, result.exception)
    assert "Traceback" not in result.output + result.stderr
    return result


@pytest.fixture
def source(fresh_databases: FreshDatabase) -> Iterator[Eva]:
    """A committed database of its own, with a few proposals along the way."""
    eva = Eva(Database.connect(fresh_databases.new_url()), default_workflows_dir())
    upgrade(eva.database.engine)
    publish_workflows(eva)
    build_world(eva)
    proposal_in(eva, "decided")
    proposal_in(eva, "review")
    yield eva
    eva.database.dispose()


def url_of(eva: Eva) -> str:
    return eva.database.engine.url.render_as_string(hide_password=False)


def rows(engine: Engine, statement: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(statement))]


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            names = [n for n in engine.dialect.get_table_names(conn) if n != "alembic_version"]
            return {
                n: int(conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one())
                for n in names
            }
    finally:
        engine.dispose()


def test_a_backup_restores_into_a_fresh_database_and_checks_out(
    source: Eva, fresh_databases: FreshDatabase, tmp_path: Path
) -> None:
    url, folder, target = url_of(source), tmp_path / "backup", fresh_databases.new_url()
    made = run(url, "backup", "--out", str(folder))
    assert f"Backup written to {folder}" in made.stdout
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"] == counts(url)
    assert manifest["head_seq"] == trail.verify(source).verified
    assert (folder / "checkpoint.json").is_file()
    password = source.database.engine.url.password
    assert password is None or str(password) not in (folder / "manifest.json").read_text()

    restored = json.loads(run(url, "--json", "restore", str(folder), "--database", target).stdout)
    assert restored["ok"] is True
    assert {c["name"]: c["ok"] for c in restored["checks"]} == {
        "schema": True,
        "counts": True,
        "chain": True,
        "attachments": True,
        "checkpoint": True,
    }
    assert restored["upgrade_needed"] is False
    assert counts(target) == counts(url)
    verified = run(target, "audit", "verify", "--checkpoint", str(folder / "checkpoint.json"))
    assert verified.stdout.startswith(f"OK: {manifest['head_seq']} events verified")
    # The restored database is a working eva database: it takes new events on the same chain.
    restored_eva = Eva(Database.connect(target), default_workflows_dir())
    try:
        proposal_in(restored_eva, "screening")
        assert trail.verify(restored_eva).ok
    finally:
        restored_eva.database.dispose()


def _keep_writing(eva: Eva, pid: int, stop: threading.Event, errors: list[str]) -> None:
    try:
        while not stop.is_set():
            transitions.fire(eva, as_("sec"), pid, "return_for_revision", reason="Korjattava.")
            transitions.fire(eva, as_("prep"), pid, "submit_for_review")
    except Exception as exc:  # reported by the test
        errors.append(f"{type(exc).__name__}: {exc}")


@pytest.mark.slow
def test_a_backup_taken_while_writers_commit_holds_every_event_committed_before_it(
    source: Eva, fresh_databases: FreshDatabase, tmp_path: Path
) -> None:
    url = url_of(source)
    pids = [proposal_in(source, "review") for _ in range(2)]
    stop, errors = threading.Event(), list[str]()
    writers = [threading.Thread(target=_keep_writing, args=(source, p, stop, errors)) for p in pids]
    for writer in writers:
        writer.start()
    reports: list[tuple[int, backups.RestoreReport, int]] = []
    try:
        for n in range(3):
            before = trail.verify(source).verified  # committed before the backup begins
            report = backups.backup(url, tmp_path / f"backup-{n}", KEY)
            target = fresh_databases.new_url()
            reports.append(
                (
                    before,
                    backups.restore(tmp_path / f"backup-{n}", target, KEY),
                    report.manifest.head_seq,
                )
            )
            target_engine = make_engine(target)
            every = "SELECT chain_id, seq, hash FROM audit_events ORDER BY chain_id, seq"
            in_target = rows(target_engine, every)
            ends: dict[object, int] = {}
            for chain, seq, _ in in_target:
                ends[chain] = int(str(seq))
            source_hashes = [
                r
                for r in rows(source.database.engine, every)
                if int(str(r[1])) <= ends.get(r[0], 0)
            ]
            assert in_target == source_hashes  # each chain restored up to where it was
            assert len(in_target) == report.manifest.head_seq
            target_engine.dispose()
    finally:
        stop.set()
        for writer in writers:
            writer.join(60)
    assert errors == []
    after = trail.verify(source).verified
    for before, restored, head_seq in reports:
        assert restored.ok, restored.checks
        assert before <= head_seq
    assert after > reports[-1][2]  # the writers went on committing after the last backup
    assert reports[0][2] < reports[-1][2]  # ... and between the backups


def test_a_restore_into_a_database_that_is_not_empty_is_refused(
    source: Eva, tmp_path: Path
) -> None:
    url, folder = url_of(source), tmp_path / "backup"
    run(url, "backup", "--out", str(folder))
    proposal_in(source, "draft")
    before = counts(url)
    refused = run(url, "restore", str(folder), "--database", url, code=7)
    assert "is not empty" in refused.stderr
    assert "Nothing was restored" in refused.stderr
    assert counts(url) == before


def test_a_backup_is_never_written_over_anything(source: Eva, tmp_path: Path) -> None:
    url, folder = url_of(source), tmp_path / "backup"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine", encoding="utf-8")
    refused = run(url, "backup", "--out", str(folder), code=7)
    assert "is not an empty folder" in refused.stderr
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]


def test_a_damaged_backup_is_refused_before_anything_is_restored(
    source: Eva, fresh_databases: FreshDatabase, tmp_path: Path
) -> None:
    url, folder, target = url_of(source), tmp_path / "backup", fresh_databases.new_url()
    run(url, "backup", "--out", str(folder))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    data = folder / manifest["file"]
    content = bytearray(data.read_bytes())
    content[len(content) // 2] ^= 0xFF
    data.write_bytes(bytes(content))
    refused = run(url, "restore", str(folder), "--database", target, code=7)
    assert "does not match its manifest" in refused.stderr
    assert counts(target) == {}
    not_a_backup = tmp_path / "empty"
    not_a_backup.mkdir()
    assert "is not an eva backup" in run(url, "restore", str(not_a_backup), code=7).stderr


def test_a_backup_restores_only_into_its_own_kind_of_database(source: Eva, tmp_path: Path) -> None:
    url, folder = url_of(source), tmp_path / "backup"
    run(url, "backup", "--out", str(folder))
    other = (
        f"sqlite:///{tmp_path / 'other.sqlite3'}"
        if url.startswith("postgresql")
        else "postgresql://nobody@127.0.0.1:1/none"
    )
    refused = run(url, "restore", str(folder), "--database", other, code=7)
    assert "is restored into a" in refused.stderr
    assert not (tmp_path / "other.sqlite3").exists()


def test_a_checkpoint_newer_than_the_backup_tells_what_was_lost(
    source: Eva, fresh_databases: FreshDatabase, tmp_path: Path
) -> None:
    url, folder, target = url_of(source), tmp_path / "backup", fresh_databases.new_url()
    run(url, "backup", "--out", str(folder))
    org = str(chain_id(source, ORG))
    inside = json.loads((folder / "checkpoint.json").read_text(encoding="utf-8"))
    backed_up = inside["chains"][org]["seq"]
    proposal_in(source, "screening")  # after the backup
    later = tmp_path / "later.json"
    run(url, "audit", "checkpoint", "--out", str(later))
    newest = json.loads(later.read_text(encoding="utf-8"))["chains"][org]["seq"]
    restored = run(
        url, "restore", str(folder), "--database", target, "--checkpoint", str(later), code=8
    )
    assert f"the chain ends at {backed_up}, before the checkpoint at {newest}" in restored.stderr
    assert "chain: FAILED" in restored.stderr


def test_without_the_key_the_backups_checkpoint_is_reported_unchecked(
    source: Eva, fresh_databases: FreshDatabase, tmp_path: Path
) -> None:
    url, folder, target = url_of(source), tmp_path / "backup", fresh_databases.new_url()
    run(url, "backup", "--out", str(folder))
    restored = run(url, "restore", str(folder), "--database", target, key=None)
    assert "checkpoint: NOT CHECKED: checkpoint.json in the backup not checked" in restored.stdout
    bare = tmp_path / "bare"
    written = run(url, "backup", "--out", str(bare), key=None)
    assert "no checkpoint in the backup: EVA_AUDIT_KEY is not set" in written.stdout
    assert not (bare / "checkpoint.json").exists()


def test_a_backup_of_an_older_schema_restores_and_is_then_upgraded(
    fresh_databases: FreshDatabase, tmp_path: Path
) -> None:
    old, folder, target = fresh_databases.new_url(), tmp_path / "backup", fresh_databases.new_url()
    engine = make_engine(old)
    upgrade(engine, OLDER_REVISION)
    engine.dispose()
    run(old, "backup", "--out", str(folder))
    restored = json.loads(run(old, "--json", "restore", str(folder), "--database", target).stdout)
    schema = next(c for c in restored["checks"] if c["name"] == "schema")
    assert schema["ok"] is True
    assert f"at revision {OLDER_REVISION}, older than" in schema["detail"]
    assert restored["upgrade_needed"] is True
    upgraded = run(target, "db", "upgrade")
    assert OLDER_REVISION not in upgraded.stdout
    assert run(target, "audit", "verify").stdout.startswith("OK: ")


def test_a_broken_chain_is_still_backed_up_but_said_so_and_not_anchored(
    source: Eva, fresh_databases: FreshDatabase, tmp_path: Path
) -> None:
    url, folder, target = url_of(source), tmp_path / "backup", fresh_databases.new_url()
    with source.database.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        conn.exec_driver_sql("UPDATE audit_events SET reason = 'forged' WHERE seq = 7")
    made = run(url, "backup", "--out", str(folder), code=8)
    assert "The backed-up chain does not verify: the chain of testila: event 7 was altered" in (
        made.stderr
    )
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["chain_ok"] is False
    assert (
        manifest["head_seq"]
        == rows(source.database.engine, "SELECT count(*) FROM audit_events")[0][0]
    )
    assert not (folder / "checkpoint.json").exists()
    restored = run(url, "restore", str(folder), "--database", target, code=8)
    assert "chain: FAILED: broken at event 7" in restored.stderr
    assert "counts: OK" in restored.stdout
