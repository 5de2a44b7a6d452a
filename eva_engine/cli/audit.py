"""``eva audit`` (verify the chain, write checkpoints), ``eva backup`` and ``eva restore``
(docs/audit.md, docs/backup.md). Exit codes as elsewhere (``cli.output``), and 8 when the chain
(or a restored database) does not verify."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from eva_engine.cli.commands import cli
from eva_engine.cli.context import engine
from eva_engine.cli.output import Unit, emit, reported
from eva_engine.config import Settings, attachments_path
from eva_engine.services.history import checkpoints, trail
from eva_engine.services.installation import backup as backups

BROKEN = 8  # the chain, a checkpoint or a restored database does not verify


def _chain_payload(result: Any) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "verified": result.verified,
        "first_bad_seq": result.first_bad_seq,
        "problem": result.problem,
        "chains": [
            {"chain": c.chain_id, "name": c.name, "events": c.verified, "head": c.last_hash}
            for c in result.chains
        ],
    }


_ORG_OPTION = click.option(
    "--org",
    "org_code",
    metavar="CODE",
    help="Only the chain of this organisation (its code); default: every chain.",
)


def _chain_of(org_code: str | None) -> int | None:
    return None if org_code is None else trail.organisation_chain(engine(), org_code)


def _broken(result: Any) -> str:
    where = f" at event {result.first_bad_seq}" if result.first_bad_seq is not None else ""
    return f"BROKEN{where}: {result.problem} ({result.verified} events before it verified)."


@cli.group()
def audit() -> None:
    """The tamper-evident audit history."""


@audit.command("verify", unit=Unit.READ)
@click.option(
    "--checkpoint",
    "checkpoint_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A checkpoint file (eva audit checkpoint) the chains must still extend; repeatable. "
    "Needs EVA_AUDIT_KEY.",
)
@_ORG_OPTION
def audit_verify(checkpoint_files: tuple[Path, ...], org_code: str | None) -> None:
    """Verify the whole audit history in one snapshot: every organisation's hash chain and the
    installation's (or, with --org, one organisation's), every proposal's state against its
    history, and the checkpoints given; non-zero exit (8) if broken."""
    with reported():
        settings = Settings.from_env()
        result = checkpoints.verify(
            engine(), settings.audit_key, list(checkpoint_files), chain_id=_chain_of(org_code)
        )
        payload = _chain_payload(result) | {"checkpoints": [str(p) for p in checkpoint_files]}
        if result.ok:
            extends = (
                f" They extend {len(checkpoint_files)} checkpoint(s)." if checkpoint_files else ""
            )
            emit(
                payload,
                lambda: click.echo(
                    f"OK: {result.verified} events verified in {len(result.chains)} chain(s); "
                    f"the chains are intact.{extends}"
                ),
            )
            return
        emit(payload, lambda: click.secho(_broken(result), fg="red", err=True))
        raise SystemExit(BROKEN)


@audit.command("checkpoint", unit=Unit.READ)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="The checkpoint file to write (never over an existing one); '-' prints it.",
)
@_ORG_OPTION
def audit_checkpoint(out: Path, org_code: str | None) -> None:
    """Verify the chains and write a checkpoint of their heads (sequence, hash, time),
    authenticated with EVA_AUDIT_KEY, to keep outside the database: send it to the auditors.
    With --org, of that organisation's chain only (for its auditors)."""
    with reported():
        settings = Settings.from_env()
        made = checkpoints.make_checkpoint(
            engine(),
            settings.audit_key,
            checkpoints.database_label(settings.database_url),
            chain_id=_chain_of(org_code),
        )
        checkpoint = made.checkpoint
        if checkpoint is None:
            emit(
                _chain_payload(made.chain) | {"written": None},
                lambda: click.secho(
                    "No checkpoint written: the chain does not verify. " + _broken(made.chain),
                    fg="red",
                    err=True,
                ),
            )
            raise SystemExit(BROKEN)
        if str(out) == "-":
            click.echo(checkpoint.to_json(), nl=False)
            return
        checkpoints.save(checkpoint, out)
        emit(
            checkpoint.model_dump(mode="json") | {"written": str(out)},
            lambda: click.echo(
                f"Checkpoint written to {out}: the heads of {len(checkpoint.chains)} chain(s) "
                f"({sum(p.seq for p in checkpoint.chains.values())} events), "
                f"{checkpoint.created_at:%Y-%m-%d %H:%M:%S} UTC."
            ),
        )


@cli.command("backup", unit=Unit.OWN)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A new (or empty) folder for the backup.",
)
def backup_cmd(out: Path) -> None:
    """Back up the running database (EVA_DATABASE_URL) into a folder: the database, its
    manifest and, with EVA_AUDIT_KEY, a checkpoint. SQLite: the online backup API;
    PostgreSQL: pg_dump. See docs/backup.md."""
    with reported():
        settings = Settings.from_env()
        report = backups.backup(
            settings.database_url, out, settings.audit_key, settings.attachments_path
        )
        manifest = report.manifest

        def human() -> None:
            click.echo(
                f"Backup written to {report.path}: {sum(manifest.counts.values())} rows in "
                f"{len(manifest.counts)} tables, schema {manifest.schema_revision}, "
                f"{manifest.head_seq} audit events."
            )
            if report.checkpoint:
                click.echo(f"Checkpoint of the backup's head: {report.checkpoint}")
            if report.note:
                click.echo(f"Note: {report.note}")
            if manifest.chain_ok is None:
                click.echo(f"Note: {manifest.chain_problem}")
            elif not manifest.chain_ok:
                click.secho(
                    f"The backed-up chain does not verify: {manifest.chain_problem}",
                    fg="red",
                    err=True,
                )

        emit(report, human)
        if manifest.chain_ok is False:
            raise SystemExit(BROKEN)


@cli.command("restore", unit=Unit.OWN)
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--database",
    "database_url",
    help="The fresh, empty database to restore into (default: EVA_DATABASE_URL).",
)
@click.option(
    "--checkpoint",
    "checkpoint_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A checkpoint the restored chain must extend (besides the backup's own); repeatable.",
)
def restore_cmd(path: Path, database_url: str | None, checkpoint_files: tuple[Path, ...]) -> None:
    """Restore a backup folder into a fresh, empty database, then check the schema revision,
    the row counts against the manifest, the chain and the checkpoints (exit 8 if any fails)."""
    with reported():
        settings = Settings.from_env()
        target_url = database_url or settings.database_url
        report = backups.restore(
            path,
            target_url,
            settings.audit_key,
            checkpoint_files,
            attachments_path(target_url, settings.attachments_dir),
        )

        def human() -> None:
            click.echo(f"Restored {path} into {report.database}.")
            for check in report.checks:
                mark = {True: "OK", False: "FAILED", None: "NOT CHECKED"}[check.ok]
                line = f"  {check.name}: {mark}: {check.detail}"
                if check.ok is False:
                    click.secho(line, fg="red", err=True)
                else:
                    click.echo(line)
            if report.upgrade_needed:
                click.echo("Next: run 'eva db upgrade' on the restored database.")

        emit(report.model_dump(mode="json") | {"ok": report.ok}, human)
        if not report.ok:
            raise SystemExit(BROKEN)
