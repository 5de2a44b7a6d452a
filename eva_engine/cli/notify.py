"""``eva outbox``, ``eva worker``, ``eva notifications`` and ``eva webhooks``: the outbox, its
delivery (``eva_engine.delivery``) and the webhook receivers."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from datetime import date
from types import FrameType
from typing import Any

import click

from eva_engine.cli.commands import cli
from eva_engine.cli.context import engine, settings
from eva_engine.cli.output import Unit, reported, to_jsonable
from eva_engine.cli.params import DATE, ID, WholeNumber
from eva_engine.cli.words import Words
from eva_engine.delivery.worker import WORKER, PassReport, deliver_pass, run_worker
from eva_engine.errors import N_
from eva_engine.rendering.labels import NOTIFICATION_KINDS
from eva_engine.services.notifications import notices, outbox
from eva_engine.services.runtime import Caller
from eva_engine.vocabulary import DeliveryState, NotificationKind

as_user = click.option("--as", "username", metavar="USER", help="The user who acts.")
json_flag = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")

KINDS: dict[str, str] = {str(k): v for k, v in NOTIFICATION_KINDS.items()}  # as on the page
DELIVERY_STATES = {
    "pending": N_("waiting"),
    "dead": N_("dead letter"),
    "delivered": N_("delivered"),
}


def _show(value: Any, human: Callable[[], None], as_json: bool) -> None:
    """JSON with ``eva --json ...`` or the command's own ``--json``; else text."""
    if as_json or click.get_current_context().find_root().params.get("as_json"):
        click.echo(json.dumps(to_jsonable(value), ensure_ascii=False, indent=2, default=str))
    else:
        human()


ATTEMPT_RESULTS = {
    "delivered": N_("delivered"),
    "retry": N_("to be retried"),
    "dead": N_("dead letter"),
    "released": N_("released"),
    "lost_claim": N_("claimed by another worker"),
}


def _summary(w: Words, report: PassReport) -> str:
    """What one delivery pass did, in the reader's language."""
    text = w._(
        "scan: %(due_soon)s due soon, %(overdue)s overdue; claimed %(claimed)s: "
        "%(delivered)s delivered, %(retrying)s to retry, %(dead)s dead",
        due_soon=report.due_soon,
        overdue=report.overdue,
        claimed=report.claimed,
        delivered=report.delivered,
        retrying=report.retrying,
        dead=report.dead,
    )
    if report.email_waiting:
        text += " " + w._("(email waits: EVA_SMTP_HOST is not set)")
    return text


def _print_pass(w: Words, report: PassReport) -> None:
    for a in report.attempts:
        kind, result = w.enum(KINDS, a.kind), w.enum(ATTEMPT_RESULTS, a.result)
        line = f"#{a.id} {kind} {a.channel.value} → {a.recipient}: {result}"
        if a.error:
            line += " " + w._("(attempt %(number)s: %(error)s)", number=a.attempts, error=a.error)
        click.echo(line)
    click.echo(_summary(w, report))


# outbox --------------------------------------------------------------------------------------
@cli.group("outbox")
def outbox_group() -> None:
    """Notifications waiting for delivery, delivered, or dead."""


@outbox_group.command("deliver", unit=Unit.OWN)
@click.option("--no-scan", is_flag=True, help="Do not look for due and overdue tasks first.")
@json_flag
def outbox_deliver(no_scan: bool, as_json: bool) -> None:
    """One pass: scan for due/overdue tasks, then try every message that is due."""
    with reported():
        report = deliver_pass(engine(), settings().notify, scan=not no_scan)
        w = Words.here()
        _show(report, lambda: _print_pass(w, report), as_json)


@outbox_group.command("list", unit=Unit.READ)
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice([s.value for s in DeliveryState]),
    help="Only messages in this state (repeatable). Default: every state.",
)
@click.option("--org", "organisation", help="Only this organisation's messages.")
@click.option("--limit", type=WholeNumber(1, 10_000), default=200, show_default=True)
@as_user
@json_flag
def outbox_list(
    states: tuple[str, ...],
    organisation: str | None,
    limit: int,
    username: str | None,
    as_json: bool,
) -> None:
    """Messages, newest first, with their attempts and last error."""
    with reported():
        rows = outbox.list_messages(
            engine(),
            Caller(username, "cli"),
            organisation=organisation,
            states=tuple(DeliveryState(s) for s in states),
            limit=limit,
        )

        w = Words.here()

        def human() -> None:
            if not rows:
                click.echo(w._("no messages"))
                return
            table = [
                [
                    f"#{m.id}",
                    w.enum(KINDS, m.kind),
                    f"{m.channel.value}: {m.recipient or '–'}",
                    m.proposal_id,
                    w.enum(DELIVERY_STATES, m.state),
                    m.attempts,
                    m.last_error,
                ]
                for m in rows
            ]
            headers = [
                N_("Message"),
                N_("Kind"),
                N_("Receiver"),
                N_("Proposal"),
                N_("State"),
                N_("Attempts"),
                N_("Last error"),
            ]
            for line in w.table(headers, table):
                click.echo(line)

        _show(rows, human, as_json)


@outbox_group.command("retry")
@click.argument("message_id", type=ID)
@as_user
@json_flag
def outbox_retry(message_id: int, username: str | None, as_json: bool) -> None:
    """Give a dead message a fresh set of attempts."""
    with reported():
        view = outbox.retry(engine(), Caller(username, "cli"), message_id)
        w = Words.here()
        _show(view, lambda: click.echo(w._("#%(id)s is pending again", id=view.id)), as_json)


# worker --------------------------------------------------------------------------------------
@cli.command("worker", unit=Unit.OWN)
@click.option("--interval", type=float, help="Seconds between passes (EVA_WORKER_INTERVAL).")
def worker(interval: float | None) -> None:
    """Deliver notifications until stopped (SIGTERM or Ctrl-C end it after the current send)."""
    stop = threading.Event()
    w = Words.here()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        click.echo(
            w._("eva worker: %(signal)s received, stopping", signal=signal.Signals(signum).name)
        )
        stop.set()

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
    notify = settings().notify
    try:
        with reported():
            every = notify.worker_interval if interval is None else interval
            click.echo(
                w._(
                    "eva worker: delivering every %(every)s s at most, leases of %(lease)s s "
                    "renewed while it lives",
                    every=f"{every:g}",
                    lease=f"{notify.lease_seconds:g}",
                )
            )
            passes = run_worker(
                engine(),
                notify,
                stop,
                interval=interval,
                report=lambda r: (
                    click.echo(_summary(w, r)) if r.claimed or r.due_soon + r.overdue else None
                ),
                on_error=lambda exc: click.echo(
                    w._("eva worker: pass failed: %(error)s", error=exc), err=True
                ),
            )
            click.echo(w._("eva worker: stopped after %(passes)s passes", passes=passes))
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


# notifications -------------------------------------------------------------------------------
@cli.group("notifications")
def notifications_group() -> None:
    """Notification events."""


@notifications_group.command("scan")
@click.option("--today", type=DATE, help="Scan as if today were this date (e.g. 13.6.2027).")
@json_flag
def notifications_scan(today: date | None, as_json: bool) -> None:
    """Write 'due soon' and 'overdue' events (each once per assignment)."""
    with reported():
        day: date | None = today
        found = notices.scan(
            engine(), WORKER, today=day, due_soon_days=settings().notify.due_soon_days
        )
        w = Words.here()
        _show(
            found,
            lambda: click.echo(
                w._(
                    "%(due_soon)s due soon, %(overdue)s overdue",
                    due_soon=found.due_soon,
                    overdue=found.overdue,
                )
            ),
            as_json,
        )


# webhooks ------------------------------------------------------------------------------------
@cli.group("webhooks")
def webhooks_group() -> None:
    """An organisation's webhook receivers."""


@webhooks_group.command("create")
@click.option("--org", "organisation", required=True)
@click.option("--url", required=True, help="Where events are POSTed (https in production).")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice([k.value for k in NotificationKind]),
    help="Only these kinds (repeatable). Default: every kind.",
)
@as_user
@json_flag
def webhooks_create(
    organisation: str, url: str, kinds: tuple[str, ...], username: str | None, as_json: bool
) -> None:
    """Register a receiver. Prints its signing secret once: store it with the receiver."""
    with reported():
        created = outbox.create_webhook(
            engine(),
            Caller(username, "cli"),
            outbox.CreateWebhook.model_validate(
                {"organisation": organisation, "url": url, "kinds": list(kinds)}
            ),
        )

        w = Words.here()

        def human() -> None:
            click.echo(w._("webhook %(id)s → %(url)s", id=created.id, url=created.url))
            click.echo(w._("secret (shown only now): %(secret)s", secret=created.secret))

        _show(created, human, as_json)


@webhooks_group.command("list", unit=Unit.READ)
@click.option("--org", "organisation")
@as_user
@json_flag
def webhooks_list(organisation: str | None, username: str | None, as_json: bool) -> None:
    """Receivers (never their secrets)."""
    with reported():
        hooks = outbox.list_webhooks(engine(), Caller(username, "cli"), organisation)

        w = Words.here()

        def human() -> None:
            if not hooks:
                click.echo(w._("no webhooks"))
            for h in hooks:
                state = w._("active") if h.active else w._("disabled")
                kinds = ", ".join(w.enum(KINDS, k) for k in h.kinds) or w._("every kind")
                click.echo(f"{h.id} {h.organisation} {h.url} ({state}; {kinds})")

        _show(hooks, human, as_json)


@webhooks_group.command("disable")
@click.argument("webhook_id", type=ID)
@as_user
@json_flag
def webhooks_disable(webhook_id: int, username: str | None, as_json: bool) -> None:
    """Stop sending to a receiver (its waiting messages become dead letters)."""
    with reported():
        hook = outbox.disable_webhook(engine(), Caller(username, "cli"), webhook_id)
        w = Words.here()
        _show(hook, lambda: click.echo(w._("webhook %(id)s disabled", id=hook.id)), as_json)
