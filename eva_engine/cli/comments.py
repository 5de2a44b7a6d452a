"""``eva comments``: the review comments of a proposal (docs/review.md): list them, comment
on a question, an area or the whole assessment, reply, resolve."""

from __future__ import annotations

import click

from eva_engine.cli.commands import cli
from eva_engine.cli.context import AS_HELP, engine
from eva_engine.cli.context import caller as caller_of
from eva_engine.cli.output import Unit, emit, reported
from eva_engine.cli.params import ID, choices
from eva_engine.rendering.language import format_time
from eva_engine.services.comments import commands, queries
from eva_engine.vocabulary import CommentTarget


@cli.group("comments")
def comments_group() -> None:
    """Review comments: a reviewer comments, the preparer answers or resolves."""


def _title(group_or_comment: queries.CommentGroup | queries.CommentView) -> str:
    title = group_or_comment.target_title
    if group_or_comment.target_kind == CommentTarget.ASSESSMENT or title is None:
        return "Koko arviointi" if title is None else title.fi
    return title.fi


def _show(view: queries.CommentView) -> None:
    resolved = ""
    if view.resolved_at is not None:
        resolved = f" (ratkaistu {format_time(view.resolved_at, 'fi')}, {view.resolved_by})"
    click.echo(
        f"{view.id:>5}  {view.status.value:<8} {format_time(view.created_at, 'fi')}  "
        f"{view.author}: {view.text}{resolved}"
    )
    for r in view.replies:
        click.echo(f"         ↳ {format_time(r.created_at, 'fi')}  {r.author}: {r.text}")


@comments_group.command("list", unit=Unit.READ)
@click.argument("proposal_id", type=ID, required=False)
@click.option("--as", "username", metavar="USER", required=True, help=AS_HELP)
def comments_list(proposal_id: int | None, username: str) -> None:
    """The review comments of PROPOSAL_ID grouped by target; without it, the open comments on
    the proposals USER prepares."""
    with reported():
        caller = caller_of(username)
        if proposal_id is None:
            mine = queries.my_open_comments(engine(), caller)

            def human_mine() -> None:
                if not mine.items:
                    click.echo("No open comments.")
                for item in mine.items:
                    click.echo(
                        f"{item.comment_id:>5}  {item.case_number}  "
                        f"{format_time(item.created_at, 'fi')}  {item.author}: {item.text}"
                    )

            emit(mine, human_mine)
            return
        view = queries.proposal_comments(engine(), caller, proposal_id)

        def human() -> None:
            click.echo(f"{view.case_number} {view.title_fi}: {view.open} open, {view.total} in all")
            if not view.groups:
                click.echo("No comments.")
            for group in view.groups:
                click.echo(f"[{group.target_kind.value}] {_title(group)}")
                for comment in group.comments:
                    _show(comment)

        emit(view, human)


@comments_group.command("add")
@click.argument("proposal_id", type=ID)
@click.option(
    "--on",
    "target_kind",
    type=choices(CommentTarget),
    default="assessment",
    show_default=True,
    help="What the comment is about.",
)
@click.option("--target", "target_key", help="The question's or the area's id.")
@click.option("--text", required=True, help="The comment.")
@click.option("--as", "username", metavar="USER", required=True, help=AS_HELP)
def comments_add(
    proposal_id: int, target_kind: str, target_key: str | None, text: str, username: str
) -> None:
    """Comment on PROPOSAL_ID as its reviewer (never as its preparer)."""
    with reported():
        cmd = commands.AddComment(
            proposal_id=proposal_id,
            target_kind=CommentTarget(target_kind),
            target_key=target_key,
            text=text,
        )
        view = commands.add_comment(engine(), caller_of(username), cmd)
        emit(view, lambda: _show(view))


@comments_group.command("reply")
@click.argument("comment_id", type=ID)
@click.option("--text", required=True, help="The reply.")
@click.option("--as", "username", metavar="USER", required=True, help=AS_HELP)
def comments_reply(comment_id: int, text: str, username: str) -> None:
    """Reply to COMMENT_ID (the preparer or a reviewer)."""
    with reported():
        cmd = commands.ReplyToComment(comment_id=comment_id, text=text)
        view = commands.reply(engine(), caller_of(username), cmd)
        emit(view, lambda: _show(view))


@comments_group.command("resolve")
@click.argument("comment_id", type=ID)
@click.option("--as", "username", metavar="USER", required=True, help=AS_HELP)
def comments_resolve(comment_id: int, username: str) -> None:
    """Mark COMMENT_ID resolved (the preparer or a reviewer)."""
    with reported():
        cmd = commands.ResolveComment(comment_id=comment_id)
        view = commands.resolve(engine(), caller_of(username), cmd)
        emit(view, lambda: _show(view))
