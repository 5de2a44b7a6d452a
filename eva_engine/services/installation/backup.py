"""Backing up a live database and restoring it into a fresh one (docs/backup.md).

A backup is a folder: the database (SQLite: a copy made with SQLite's online backup API;
PostgreSQL: a ``pg_dump --format=custom`` archive), ``manifest.json`` (format, schema revision,
row counts, chain head, SHA-256 of the database file) read from the very snapshot that was
copied, and, when ``EVA_AUDIT_KEY`` is set, ``checkpoint.json`` of that snapshot's chain head.
A restore goes into an empty database only and then checks the result: schema revision, row
counts against the manifest, the whole chain, and the checkpoints."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine, func, inspect, select, table, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from eva_engine.db.audit import (
    Anchor,
    VerifyResult,
    heads_digest,
    read_heads,
    snapshot,
    verify_chain,
)
from eva_engine.db.engine import make_engine
from eva_engine.db.migrate import alembic_config
from eva_engine.errors import N_, InvalidInput, Problem, Text, Unavailable
from eva_engine.models import GENESIS_HASH
from eva_engine.services.history import checkpoints
from eva_engine.services.views import ProblemView, TextView

FORMAT = "eva-backup/1"
MANIFEST = "manifest.json"
CHECKPOINT = "checkpoint.json"
DATA_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.dump"}
ATTACHMENTS = "attachments"  # the attachments' files, as the store keeps them (by SHA-256)
Backend = Literal["sqlite", "postgresql"]


class Manifest(BaseModel):
    """What the backup holds, read from the same snapshot as the copy."""

    model_config = ConfigDict(extra="forbid")

    format: str
    backend: Backend
    database: str  # for people: where it was taken (no user, no password)
    file: str
    sha256: str  # of ``file``
    schema_revision: str | None
    counts: dict[str, int]  # rows per table
    head_seq: int  # events in all the chains
    head_hash: str  # SHA-256 of every chain's head (VerifyResult.heads_digest)
    chain_ok: bool | None  # None: not verified (the single chain of an older eva)
    chain_problem: str | None
    created_at: datetime
    attachments: list[str] = []  # the SHA-256 of every attachment file in ``ATTACHMENTS/``


def _view(message: Text | None) -> TextView | None:
    return (
        None
        if message is None
        else TextView(template=message.template, params=dict(message.params))
    )


def _issue(chain: VerifyResult) -> ProblemView | None:
    return ProblemView.of(chain.issue) if chain.issue is not None else None


class BackupReport(BaseModel):
    path: str
    manifest: Manifest
    checkpoint: str | None  # the checkpoint file written into the backup, if any
    note: str | None
    # for people: the note and the chain's problem as message ids (``%(problem)s`` in the note
    # is the chain's problem); not in the JSON, which stays English
    note_text: TextView | None = Field(default=None, exclude=True)
    chain_issue: ProblemView | None = Field(default=None, exclude=True)


class Check(BaseModel):
    """One check of a restored database: ``ok`` None means it could not be made (why: detail).
    ``name`` says which check (stable: schema, counts, chain, attachments, checkpoint);
    ``detail`` is in English, ``text`` the same as a message id (its ``%(problem)s`` is
    ``issue``, the chain's problem), for people in their language."""

    name: str
    ok: bool | None
    detail: str
    text: TextView | None = Field(default=None, exclude=True)
    issue: ProblemView | None = Field(default=None, exclude=True)


def _check(name: str, ok: bool | None, message: Text, chain: VerifyResult | None = None) -> Check:
    """A check whose detail is ``message`` (and, with ``chain``, its problem as %(problem)s)."""
    problem = {"problem": str(chain.problem)} if chain is not None else {}
    detail = message.template % (dict(message.params) | problem)
    issue = _issue(chain) if chain is not None else None
    return Check(name=name, ok=ok, detail=detail, text=_view(message), issue=issue)


class RestoreReport(BaseModel):
    database: str
    manifest: Manifest
    checks: list[Check]
    upgrade_needed: bool

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks)


# what a snapshot holds ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Contents:
    revision: str | None
    counts: dict[str, int]
    head_seq: int
    head_hash: str
    chain: VerifyResult


def _contents(session: Session, anchors: Sequence[Anchor] = ()) -> _Contents:
    """Schema revision, rows per table and the verified chain, all in the session's snapshot."""
    connection = session.connection()
    revision = MigrationContext.configure(connection).get_current_revision()
    names = sorted(n for n in inspect(connection).get_table_names() if n != "alembic_version")
    counts = {
        name: int(session.execute(select(func.count()).select_from(table(name))).scalar_one())
        for name in names
    }
    if not _chained(revision):
        # A backup from before one chain per organisation: the upgrade verifies and moves it.
        return _Contents(revision, counts, 0, GENESIS_HASH, _OLD_CHAIN)
    heads = read_heads(session)
    chain = verify_chain(session, anchors=anchors)
    return _Contents(revision, counts, sum(h[1] for h in heads), heads_digest(heads), chain)


CHAINS_REVISION = "c3a9e5f1d7b2"  # migration 0007: one chain per organisation


def _chained(revision: str | None) -> bool:
    """Whether a database at ``revision`` keeps one chain per organisation (which this eva
    verifies); an older one's single chain is verified by the upgrade (migration 0007)."""
    if revision is None:
        return False
    script = ScriptDirectory.from_config(alembic_config())
    try:
        below = {r.revision for r in script.walk_revisions(base="base", head=revision)}
    except CommandError:  # a revision this eva does not know: newer, so chained
        return True
    return CHAINS_REVISION in below


_OLD_TEXT = Text(
    N_(
        "the backup holds the single audit chain of an older eva: 'eva db upgrade' verifies it "
        "and moves it into one chain per organisation"
    )
)
_OLD_CHAIN = VerifyResult(
    0, None, str(_OLD_TEXT), issue=Problem("", str(_OLD_TEXT), what=_OLD_TEXT), code="old_chain"
)


def _backend(url: URL) -> Backend:
    name = url.get_backend_name()
    if name == "sqlite":
        return "sqlite"
    if name == "postgresql":
        return "postgresql"
    kind = Text(N_("eva backs up SQLite and PostgreSQL databases, not %(kind)s."), {"kind": name})
    raise InvalidInput(kind, [Problem.of("EVA_DATABASE_URL", kind)])


def _sqlite_path(url: URL, variable: str) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        file = Text(
            N_(
                "A SQLite database is backed up and restored as a file: give "
                "sqlite:///path/to/file.sqlite3."
            )
        )
        raise InvalidInput(file, [Problem.of(variable, file)])
    return Path(url.database)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# PostgreSQL client programs ------------------------------------------------------------------
def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment carrying it: a
    password never appears on a command line (where ``ps`` shows it) or in a message."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _run(program: str, arguments: list[str], url: URL) -> None:
    binary = shutil.which(program)
    if binary is None:
        raise Unavailable(
            Text(
                N_(
                    "%(program)s is not installed (or not on PATH): install the PostgreSQL "
                    "client programs of the server's major version."
                ),
                {"program": program},
            )
        )
    uri, env = _libpq(url)
    done = subprocess.run(  # noqa: S603 - a fixed program, arguments as a list, no shell
        [binary, "--no-password", *arguments, f"--dbname={uri}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise Unavailable(
            Text(
                N_("%(program)s failed (exit %(code)s): %(output)s"),
                {
                    "program": program,
                    "code": done.returncode,
                    "output": (lines[0] if lines else "-")
                    + ("" if len(lines) < 2 else f" (+{len(lines) - 1})"),
                },
            )
        )


# backup ---------------------------------------------------------------------------------------
def _new_folder(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        exists = Text(
            N_(
                "%(folder)s exists and is not an empty folder, and a backup is never written "
                "over anything: give a new folder, e.g. with the date."
            ),
            {"folder": str(out)},
        )
        raise InvalidInput(exists, [Problem.of("--out", exists)])
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        cannot = Text(
            N_("The folder %(folder)s cannot be made (%(error)s): choose another place."),
            {"folder": str(out), "error": exc.strerror or ""},
        )
        raise InvalidInput(cannot, [Problem.of("--out", cannot)]) from None


@contextmanager
def _engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _copy_sqlite(source: Path, target: Path) -> None:
    """SQLite's online backup API, all pages in one step: one read transaction on the source,
    so the copy is one committed state however busy the writers are (a plain copy of a live
    file misses what is still in the write-ahead log)."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.execute("PRAGMA busy_timeout = 30000")
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _backup_sqlite(url: URL, out: Path) -> _Contents:
    source = _sqlite_path(url, "EVA_DATABASE_URL")
    if not source.is_file():
        missing = Text(
            N_("There is no database at %(file)s: check EVA_DATABASE_URL."), {"file": str(source)}
        )
        raise InvalidInput(missing, [Problem.of("EVA_DATABASE_URL", missing)])
    copy = out / DATA_FILES["sqlite"]
    _copy_sqlite(source, copy)
    # The manifest describes the copy itself, so it is exactly what was copied.
    with _engine(f"sqlite:///{copy}") as engine, snapshot(engine) as session:
        return _contents(session)


def _backup_postgresql(url: URL, out: Path) -> _Contents:
    """``pg_dump`` reads the snapshot exported by a transaction that stays open while it runs,
    and that transaction reads the manifest: both see the same committed state."""
    with _engine(url.render_as_string(hide_password=False)) as engine, snapshot(engine) as session:
        exported = str(session.execute(text("SELECT pg_export_snapshot()")).scalar_one())
        contents = _contents(session)
        _run(
            "pg_dump",
            [
                "--format=custom",
                f"--snapshot={exported}",
                f"--file={out / DATA_FILES['postgresql']}",
            ],
            url,
        )
        return contents


def _unreachable(database_url: str, exc: OperationalError) -> Unavailable:
    reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
    return Unavailable(
        Text(
            N_("The database %(database)s cannot be used (%(error)s)."),
            {"database": checkpoints.database_label(database_url), "error": reason},
        )
    )


def backup(
    database_url: str, out: Path, raw_key: str | None, attachments_dir: Path | None = None
) -> BackupReport:
    """``eva backup --out FOLDER``: copy the database while it runs, describe the copy in a
    manifest and, with a key, anchor its chain head in a checkpoint. A backup that fails
    half-way leaves nothing behind."""
    url = make_url(database_url)
    backend = _backend(url)
    key = checkpoints.audit_key(raw_key) if raw_key else None
    created = not out.exists()
    _new_folder(out)
    try:
        return _backup(database_url, url, backend, out, key, attachments_dir)
    except BaseException as exc:
        for name in (*DATA_FILES.values(), MANIFEST, CHECKPOINT):
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / ATTACHMENTS, ignore_errors=True)
        if created:
            with suppress(OSError):
                out.rmdir()
        if isinstance(exc, OperationalError):
            raise _unreachable(database_url, exc) from exc
        raise


def _blobs(folder: Path) -> Iterator[tuple[str, Path]]:
    """The files of an attachments' store: ``<2 hex>/<64 hex>``, by their SHA-256."""
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("??/*")):
        if path.is_file() and len(path.name) == 64 and path.parent.name == path.name[:2]:
            yield path.name, path


def _copy_blobs(source: Path, target: Path) -> list[str]:
    """Copy every file of the store. After the database's copy: a file is kept before its
    row commits and never deleted, so every attachment of the copy has its file here."""
    copied = []
    for sha, path in _blobs(source):
        (target / sha[:2]).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / sha[:2] / sha)
        copied.append(sha)
    return copied


def _backup(
    database_url: str,
    url: URL,
    backend: Backend,
    out: Path,
    key: bytes | None,
    attachments_dir: Path | None,
) -> BackupReport:
    contents = _backup_sqlite(url, out) if backend == "sqlite" else _backup_postgresql(url, out)
    blobs = _copy_blobs(attachments_dir, out / ATTACHMENTS) if attachments_dir else []
    file = DATA_FILES[backend]
    now = datetime.now(UTC)
    label = checkpoints.database_label(database_url)
    manifest = Manifest(
        format=FORMAT,
        backend=backend,
        database=label,
        file=file,
        sha256=_sha256(out / file),
        schema_revision=contents.revision,
        counts=contents.counts,
        head_seq=contents.head_seq,
        head_hash=contents.head_hash,
        chain_ok=None if contents.chain is _OLD_CHAIN else contents.chain.ok,
        chain_problem=contents.chain.problem,
        created_at=now,
        attachments=blobs,
    )
    (out / MANIFEST).write_text(
        json.dumps(manifest.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    written, note = None, None
    if key is None:
        note = Text(
            N_("no checkpoint in the backup: %(variable)s is not set"),
            {"variable": checkpoints.KEY_VARIABLE},
        )
    elif not contents.chain.ok:
        note = Text(N_("no checkpoint in the backup: the chain does not verify (%(problem)s)"))
    else:
        checkpoint = checkpoints.sign(key, database=label, chain=contents.chain, at=now)
        checkpoints.save(checkpoint, out / CHECKPOINT)
        written = str(out / CHECKPOINT)
    return BackupReport(
        path=str(out),
        manifest=manifest,
        checkpoint=written,
        note=None
        if note is None
        else note.template % (dict(note.params) | {"problem": str(contents.chain.problem)}),
        note_text=_view(note),
        chain_issue=_issue(contents.chain),
    )


# restore --------------------------------------------------------------------------------------
def read_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        manifest = Manifest.model_validate(data)
    except OSError:
        raise _not_a_backup(folder) from None
    except (ValueError, ValidationError):
        raise _not_a_backup(folder) from None
    if manifest.format != FORMAT or manifest.file != DATA_FILES[manifest.backend]:
        other = Text(
            N_("%(folder)s is a backup of another format (%(given)s); this eva reads %(format)s."),
            {"folder": str(folder), "given": manifest.format, "format": FORMAT},
        )
        raise InvalidInput(other, [Problem.of("PATH", other)])
    data_file = folder / manifest.file
    if not data_file.is_file() or _sha256(data_file) != manifest.sha256:
        damaged = Text(
            N_(
                "The backup's database file %(file)s is missing or does not match its manifest "
                "(damaged, or altered): nothing was restored."
            ),
            {"file": str(data_file)},
        )
        raise InvalidInput(damaged, [Problem.of("PATH", damaged)])
    return manifest


def _not_a_backup(folder: Path) -> InvalidInput:
    wrong = Text(
        N_("%(folder)s is not an eva backup: its %(manifest)s cannot be read as one."),
        {"folder": str(folder), "manifest": MANIFEST},
    )
    return InvalidInput(wrong, [Problem.of("PATH", wrong)])


def _refuse_non_empty(engine: Engine, where: str) -> None:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            found = connection.execute(
                text(
                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
                    " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                    " AND n.nspname NOT LIKE 'pg_toast%'"
                )
            ).scalar_one()
        else:
            found = connection.execute(
                text("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
            ).scalar_one()
    if found:
        full = Text(
            N_(
                "The database %(database)s is not empty (it holds %(count)s tables or other "
                "objects): a backup is restored into a new, empty database only. Nothing was "
                "restored."
            ),
            {"database": where, "count": found},
        )
        raise InvalidInput(full, [Problem.of("--database", full)])


def _revision_check(revision: str | None) -> tuple[Check, bool]:
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    known = {r.revision for r in script.walk_revisions()}
    at = {"revision": str(revision), "head": str(head)}
    if revision == head:
        return _check("schema", True, Text(N_("at revision %(revision)s, the newest"), at)), False
    if revision in known:
        older = Text(
            N_(
                "at revision %(revision)s, older than this eva's %(head)s: run 'eva db upgrade' "
                "on it before use"
            ),
            at,
        )
        return _check("schema", True, older), True
    unknown = Text(
        N_(
            "at revision %(revision)s, which this eva does not know (newest: %(head)s): restore "
            "it with the eva version that made it"
        ),
        at,
    )
    return _check("schema", False, unknown), False


def _count_check(manifest: Manifest, counts: dict[str, int]) -> Check:
    differences = [
        f"{name}: {manifest.counts.get(name, 0)} / {counts.get(name, 0)}"
        for name in sorted(set(manifest.counts) | set(counts))
        if manifest.counts.get(name, 0) != counts.get(name, 0)
    ]
    if differences:
        differ = Text(
            N_("rows per table, in the backup / restored: %(tables)s"),
            {"tables": "; ".join(differences)},
        )
        return _check("counts", False, differ)
    total = sum(counts.values())
    same = Text(
        N_("%(rows)s rows in %(tables)s tables, as backed up"),
        {"rows": total, "tables": len(counts)},
    )
    return _check("counts", True, same)


def _chain_check(manifest: Manifest, chain: VerifyResult) -> Check:
    if chain is _OLD_CHAIN:
        return _check("chain", None, _OLD_TEXT)
    if not chain.ok:
        if chain.first_bad_seq:
            at = Text(N_("broken at event %(seq)s: %(problem)s"), {"seq": chain.first_bad_seq})
            return _check("chain", False, at, chain)
        return _check("chain", False, Text(N_("broken: %(problem)s")), chain)
    if (chain.verified, chain.heads_digest) != (manifest.head_seq, manifest.head_hash):
        short = Text(
            N_("verifies, but ends at event %(seq)s, not at the backup's head %(head)s"),
            {"seq": chain.verified, "head": manifest.head_seq},
        )
        return _check("chain", False, short)
    whole = Text(N_("%(count)s events verified, up to the head"), {"count": chain.verified})
    return _check("chain", True, whole)


def _anchors(
    folder: Path, raw_key: str | None, given: Sequence[Path]
) -> tuple[list[Anchor], list[Check]]:
    """The checkpoints to check: those given and the one in the backup. A given one needs the
    key; the backup's own one is only skipped (and said so) when there is none."""
    paths = list(given)
    inside = folder / CHECKPOINT
    checks: list[Check] = []
    if inside.is_file():
        if raw_key or given:
            paths.insert(0, inside)
        else:
            unchecked = Text(
                N_("%(file)s in the backup not checked: %(variable)s is not set"),
                {"file": CHECKPOINT, "variable": checkpoints.KEY_VARIABLE},
            )
            checks.append(_check("checkpoint", None, unchecked))
    if not paths:
        return [], checks
    key = checkpoints.audit_key(raw_key)
    anchors: list[Anchor] = []
    for path in paths:
        loaded = checkpoints.load(path, key)
        if loaded.anchors is None:
            checks.append(
                Check(
                    name="checkpoint",
                    ok=False,
                    detail=str(loaded.problem),
                    text=_view(loaded.text),
                )
            )
        else:
            anchors.extend(loaded.anchors)
    return anchors, checks


def restore(
    folder: Path,
    database_url: str,
    raw_key: str | None,
    given: Sequence[Path] = (),
    attachments_dir: Path | None = None,
) -> RestoreReport:
    """``eva restore FOLDER --database URL``: into an empty database of the backup's kind, then
    check schema, counts, chain and checkpoints. Refuses (restoring nothing) a damaged backup,
    another kind of database, or one that is not empty."""
    try:
        return _restore(folder, database_url, raw_key, given, attachments_dir)
    except OperationalError as exc:
        raise _unreachable(database_url, exc) from exc


def _attachments_check(manifest: Manifest, folder: Path, target: Path | None) -> Check:
    """Copy the backup's attachment files into the store, each checked against its name."""
    if target is None:
        nowhere = Text(N_("no attachments' folder to restore into"))
        return _check("attachments", None, nowhere)
    source = folder / ATTACHMENTS
    bad = []
    for sha in manifest.attachments:
        path = source / sha[:2] / sha
        if not path.is_file() or _sha256(path) != sha:
            bad.append(sha)
            continue
        (target / sha[:2]).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / sha[:2] / sha)
    if bad:
        damaged = Text(
            N_("%(bad)s of %(count)s files missing or damaged"),
            {"bad": len(bad), "count": len(manifest.attachments)},
        )
        return _check("attachments", False, damaged)
    copied = Text(
        N_("%(count)s files into %(folder)s"),
        {"count": len(manifest.attachments), "folder": str(target)},
    )
    return _check("attachments", True, copied)


def _restore(
    folder: Path,
    database_url: str,
    raw_key: str | None,
    given: Sequence[Path],
    attachments_dir: Path | None,
) -> RestoreReport:
    manifest = read_manifest(folder)
    url = make_url(database_url)
    target = checkpoints.database_label(database_url)
    if _backend(url) != manifest.backend:
        kind = Text(
            N_("A %(kind)s backup is restored into a %(kind)s database, not into %(other)s."),
            {"kind": manifest.backend, "other": url.get_backend_name()},
        )
        raise InvalidInput(kind, [Problem.of("--database", kind)])
    anchors, checkpoint_checks = _anchors(folder, raw_key, given)  # a bad key: refused first
    data_file = folder / manifest.file
    if manifest.backend == "sqlite":
        path = _sqlite_path(url, "--database")
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with _engine(database_url) as engine:
                _refuse_non_empty(engine, target)
        _copy_sqlite(data_file, path)
    else:
        with _engine(database_url) as engine:
            _refuse_non_empty(engine, target)
        _run(
            "pg_restore",
            ["--exit-on-error", "--single-transaction", "--no-owner", str(data_file)],
            url,
        )
    with _engine(database_url) as engine, snapshot(engine) as session:
        contents = _contents(session, anchors)
    schema, upgrade_needed = _revision_check(contents.revision)
    checks = [
        schema,
        _count_check(manifest, contents.counts),
        _chain_check(manifest, contents.chain),
        _attachments_check(manifest, folder, attachments_dir),
    ]
    if anchors and contents.chain.ok:
        names = ", ".join(a.name for a in anchors)
        extends = Text(N_("the chain extends %(checkpoints)s"), {"checkpoints": names})
        checkpoint_checks.append(_check("checkpoint", True, extends))
    return RestoreReport(
        database=target,
        manifest=manifest,
        checks=checks + checkpoint_checks,
        upgrade_needed=upgrade_needed,
    )
