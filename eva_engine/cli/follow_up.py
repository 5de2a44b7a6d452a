"""``eva follow-up``: the follow-ups of decided proposals (docs/follow-up.md): list them,
record a result, waive one with a reason."""

from __future__ import annotations

from datetime import date

import click

from eva_engine.cli.commands import cli
from eva_engine.cli.context import AS_HELP, engine
from eva_engine.cli.context import caller as caller_of
from eva_engine.cli.output import Unit, emit, reported
from eva_engine.cli.params import DATE, ID, choices
from eva_engine.cli.words import Words
from eva_engine.errors import N_
from eva_engine.services.follow_up import commands, queries
from eva_engine.vocabulary import FollowUpOutcome, FollowUpSource


@cli.group("follow-up")
def follow_up_group() -> None:
    """Follow-ups (seuranta): one per follow-up indicator of a decided proposal."""


def _line(w: Words, view: queries.FollowUpView) -> str:
    """One follow-up: its number (what ``record`` and ``waive`` take), state, due date,
    indicator, who records it, and its result or why it was waived."""
    late = " " + w._("overdue") if view.overdue else ""
    result = ""
    if view.value is not None:
        measured = f", {w.date(view.measured_on)}" if view.measured_on else ""
        outcome = w.follow_up_result(view.outcome) if view.outcome else "–"
        result = f"; {view.value}{measured} ({outcome})"
    if view.waive_reason:
        result = "; " + w.labelled(N_("Waived"), view.waive_reason)
    due = w.labelled(N_("Due"), w.date(view.due))
    return (
        f"{view.id:>5}  {w.follow_up_state(view.state)}  {due}{late}  "
        f"{view.indicator} [{view.responsible_name or view.responsible}]{result}"
    )


def _work(w: Words, work: queries.FollowUpWork, empty: str) -> None:
    if not work.items:
        click.echo(w._(empty))
        return
    rows = [
        [
            item.follow_up_id,
            w.date(item.due) + (" (" + w._("overdue") + ")" if item.overdue else ""),
            item.case_number,
            w.proposal_title(item.title_fi, item.title_sv),
            item.indicator,
        ]
        for item in work.items
    ]
    headers = [N_("No."), N_("Due"), N_("Case number"), N_("Title"), N_("Indicator")]
    for line in w.table(headers, rows):
        click.echo(line)


@follow_up_group.command("list", unit=Unit.READ)
@click.argument("proposal_id", type=ID, required=False)
@click.option("--overdue", is_flag=True, help="Every overdue follow-up you may see.")
@click.option("--as", "username", metavar="USER", required=True, help=AS_HELP)
def follow_up_list(proposal_id: int | None, overdue: bool, username: str) -> None:
    """The follow-ups of PROPOSAL_ID; without it, USER's open follow-ups (overdue first);
    with --overdue, every overdue follow-up USER may see."""
    with reported():
        caller = caller_of(username)
        w = Words.here()
        if proposal_id is not None:
            view = queries.proposal_follow_ups(engine(), caller, proposal_id)

            def human() -> None:
                click.echo(
                    w._(
                        "%(case)s %(title)s (%(state)s): %(open)s open, %(overdue)s overdue",
                        case=view.case_number,
                        title=w.proposal_title(view.title_fi, view.title_sv),
                        state=w.state(view.state),
                        open=view.open,
                        overdue=view.overdue,
                    )
                )
                if not view.follow_ups:
                    click.echo(w._("No follow-ups."))
                for f in view.follow_ups:
                    click.echo(_line(w, f))

            emit(view, human)
            return
        work = (
            queries.overdue_follow_ups(engine(), caller)
            if overdue
            else queries.my_follow_ups(engine(), caller)
        )
        emit(work, lambda: _work(w, work, N_("No follow-ups waiting.")))


@follow_up_group.command("record")
@click.argument("follow_up_id", type=ID)
@click.option("--value", required=True, help='The value as measured, e.g. "23,4 %".')
@click.option(
    "--measured-on",
    required=True,
    type=DATE,
    help="When it was measured or published, e.g. 13.6.2027 (or 2027-06-13).",
)
@click.option("--source", "source_kind", required=True, type=choices(FollowUpSource))
@click.option("--reference", help="e.g. the Sotkanet indicator id, or the report's name.")
@click.option("--note", help="What else the reader should know.")
@click.option(
    "--outcome",
    required=True,
    type=choices(FollowUpOutcome),
    help="How the impact went compared with the prediction (cannot_tell_yet keeps it open).",
)
@click.option("--if-version", "expected_version", type=ID, help="The proposal's version.")
@click.option("--as", "username", metavar="USER", required=True, help=AS_HELP)
def follow_up_record(
    follow_up_id: int,
    value: str,
    measured_on: date,
    source_kind: str,
    reference: str | None,
    note: str | None,
    outcome: str,
    expected_version: int | None,
    username: str,
) -> None:
    """Record the result of FOLLOW_UP_ID."""
    with reported():
        cmd = commands.RecordResult(
            follow_up_id=follow_up_id,
            value=value,
            measured_on=measured_on,
            source_kind=FollowUpSource(source_kind),
            source_reference=reference,
            note=note,
            outcome=FollowUpOutcome(outcome),
            expected_version=expected_version,
        )
        view = commands.record_result(engine(), caller_of(username), cmd)
        w = Words.here()
        emit(view, lambda: click.echo(_line(w, view)))


@follow_up_group.command("waive")
@click.argument("follow_up_id", type=ID)
@click.option("--reason", required=True, help="Why the follow-up is not done.")
@click.option("--if-version", "expected_version", type=ID, help="The proposal's version.")
@click.option("--as", "username", metavar="USER", required=True, help=AS_HELP)
def follow_up_waive(
    follow_up_id: int, reason: str, expected_version: int | None, username: str
) -> None:
    """Waive FOLLOW_UP_ID, with the reason why."""
    with reported():
        cmd = commands.WaiveFollowUp(
            follow_up_id=follow_up_id, reason=reason, expected_version=expected_version
        )
        view = commands.waive(engine(), caller_of(username), cmd)
        w = Words.here()
        emit(view, lambda: click.echo(_line(w, view)))
