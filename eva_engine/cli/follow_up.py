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
from eva_engine.services.follow_up import commands, queries
from eva_engine.vocabulary import FollowUpOutcome, FollowUpSource


@cli.group("follow-up")
def follow_up_group() -> None:
    """Follow-ups (seuranta): one per follow-up indicator of a decided proposal."""


def _line(view: queries.FollowUpView) -> str:
    late = " OVERDUE" if view.overdue else ""
    result = ""
    if view.value is not None:
        result = f"; {view.value} ({view.outcome.value if view.outcome else '-'})"
    if view.waive_reason:
        result = f"; waived: {view.waive_reason}"
    return (
        f"{view.id:>5}  {view.state.value:<7} due {view.due}{late}  {view.indicator} "
        f"[{view.responsible}]{result}"
    )


def _work(work: queries.FollowUpWork, empty: str) -> None:
    if not work.items:
        click.echo(empty)
    for item in work.items:
        late = " OVERDUE" if item.overdue else ""
        click.echo(
            f"{item.follow_up_id:>5}  due {item.due}{late}  {item.case_number}  {item.indicator}"
        )


@follow_up_group.command("list", unit=Unit.READ)
@click.argument("proposal_id", type=ID, required=False)
@click.option("--overdue", is_flag=True, help="Every overdue follow-up you may see.")
@click.option("--as", "username", metavar="USER", required=True, help=AS_HELP)
def follow_up_list(proposal_id: int | None, overdue: bool, username: str) -> None:
    """The follow-ups of PROPOSAL_ID; without it, USER's open follow-ups (overdue first);
    with --overdue, every overdue follow-up USER may see."""
    with reported():
        caller = caller_of(username)
        if proposal_id is not None:
            view = queries.proposal_follow_ups(engine(), caller, proposal_id)

            def human() -> None:
                click.echo(
                    f"{view.case_number} {view.title_fi} ({view.state}): "
                    f"{view.open} open, {view.overdue} overdue"
                )
                if not view.follow_ups:
                    click.echo("No follow-ups.")
                for f in view.follow_ups:
                    click.echo(_line(f))

            emit(view, human)
            return
        work = (
            queries.overdue_follow_ups(engine(), caller)
            if overdue
            else queries.my_follow_ups(engine(), caller)
        )
        emit(work, lambda: _work(work, "No follow-ups waiting."))


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
        emit(view, lambda: click.echo(_line(view)))


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
        emit(view, lambda: click.echo(_line(view)))
