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
from eva_engine.cli.words import Words
from eva_engine.config import Settings, attachments_path
from eva_engine.errors import N_, Text
from eva_engine.rendering.messages import problem_text, render
from eva_engine.services.history import checkpoints, trail
from eva_engine.services.installation import backup as backups

BROKEN = 8  # the chain, a checkpoint or a restored database does not verify
CHECKED = {True: N_("OK"), False: N_("FAILED"), None: N_("NOT CHECKED")}  # a restore's checks
CHECKS = {  # a restore's checks by their names
    "schema": N_("schema"),
    "counts": N_("row counts"),
    "chain": N_("audit chain"),
    "attachments": N_("attachments"),
    "checkpoint": N_("checkpoint"),
}


def _chain_payload(result: Any) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "verified": result.verified,
        "first_bad_seq": result.first_bad_seq,
        "problem": result.problem,
        "code": result.code,
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


def _problem(w: Words, result: Any) -> str:
    """The verifier's problem in the command's language (its English if it has no message)."""
    issue = getattr(result, "issue", None)
    return problem_text(issue, w.language) if issue is not None else str(result.problem)


def _said(w: Words, text: Any, issue: Any, english: str | None) -> str:
    """A backup's or a restore's message in the command's language: ``text`` (a message id,
    its ``%(problem)s`` the chain's problem ``issue``), else its English."""
    if text is None:
        return english or ""
    params = dict(text.params)
    if "%(problem)s" in text.template:
        params["problem"] = problem_text(issue, w.language) if issue is not None else ""
    return render(Text(text.template, params), w.language)


def _broken(w: Words, result: Any) -> str:
    """What is broken, where (the event's sequence number) and how far the chain held."""
    if result.first_bad_seq is not None:
        return w._(
            "BROKEN at event %(seq)s: %(problem)s (%(verified)s events before it verified).",
            seq=result.first_bad_seq,
            problem=_problem(w, result),
            verified=result.verified,
        )
    return w._(
        "BROKEN: %(problem)s (%(verified)s events before it verified).",
        problem=_problem(w, result),
        verified=result.verified,
    )


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
        w = Words.here()
        if result.ok:
            extends = (
                " " + w._("They extend %(count)s checkpoint(s).", count=len(checkpoint_files))
                if checkpoint_files
                else ""
            )
            emit(
                payload,
                lambda: click.echo(
                    w._(
                        "OK: %(verified)s events verified in %(chains)s chain(s); "
                        "the chains are intact.",
                        verified=result.verified,
                        chains=len(result.chains),
                    )
                    + extends
                ),
            )
            return
        emit(payload, lambda: click.secho(_broken(w, result), fg="red", err=True))
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
        w = Words.here()
        if checkpoint is None:
            emit(
                _chain_payload(made.chain) | {"written": None},
                lambda: click.secho(
                    w._("No checkpoint written: the chain does not verify.")
                    + " "
                    + _broken(w, made.chain),
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
                w._(
                    "Checkpoint written to %(file)s: the heads of %(chains)s chain(s) "
                    "(%(events)s events), %(time)s.",
                    file=out,
                    chains=len(checkpoint.chains),
                    events=sum(p.seq for p in checkpoint.chains.values()),
                    time=w.time(checkpoint.created_at),
                )
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
        w = Words.here()

        def human() -> None:
            click.echo(
                w._(
                    "Backup written to %(path)s: %(rows)s rows in %(tables)s tables, schema "
                    "%(revision)s, %(events)s audit events.",
                    path=report.path,
                    rows=sum(manifest.counts.values()),
                    tables=len(manifest.counts),
                    revision=manifest.schema_revision,
                    events=manifest.head_seq,
                )
            )
            if report.checkpoint:
                click.echo(w._("Checkpoint of the backup's head: %(file)s", file=report.checkpoint))
            chain_problem = (
                problem_text(report.chain_issue, w.language)
                if report.chain_issue is not None
                else manifest.chain_problem
            )
            if report.note:
                note = _said(w, report.note_text, report.chain_issue, report.note)
                click.echo(w.labelled(N_("Note"), note))
            if manifest.chain_ok is None:
                click.echo(w.labelled(N_("Note"), chain_problem))
            elif not manifest.chain_ok:
                click.secho(
                    w._(
                        "The backed-up chain does not verify: %(problem)s",
                        problem=chain_problem,
                    ),
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

        w = Words.here()

        def human() -> None:
            click.echo(
                w._("Restored %(path)s into %(database)s.", path=path, database=report.database)
            )
            for check in report.checks:
                mark = w._(CHECKED[check.ok])
                name = w.label(CHECKS, check.name)
                line = f"  {name}: {mark}: {_said(w, check.text, check.issue, check.detail)}"
                if check.ok is False:
                    click.secho(line, fg="red", err=True)
                else:
                    click.echo(line)
            if report.upgrade_needed:
                click.echo(w._("Next: run 'eva db upgrade' on the restored database."))

        emit(report.model_dump(mode="json") | {"ok": report.ok}, human)
        if not report.ok:
            raise SystemExit(BROKEN)
