"""``eva comments``: the review comments of a proposal (docs/review.md): list them, comment
on a question, an area or the whole assessment, reply, resolve."""

from __future__ import annotations

import click

from eva_engine.cli.commands import cli
from eva_engine.cli.context import AS_HELP, engine
from eva_engine.cli.context import caller as caller_of
from eva_engine.cli.output import Unit, emit, reported
from eva_engine.cli.params import ID, choices
from eva_engine.cli.words import Words
from eva_engine.services.comments import commands, queries
from eva_engine.vocabulary import CommentTarget


@cli.group("comments")
def comments_group() -> None:
    """Review comments: a reviewer comments, the preparer answers or resolves."""


def _title(w: Words, group_or_comment: queries.CommentGroup | queries.CommentView) -> str:
    title = group_or_comment.target_title
    if title is None:
        return w._("The whole assessment")
    return w.text(title)


def _show(w: Words, view: queries.CommentView) -> None:
    """One comment (its number: what ``reply`` and ``resolve`` take) and its replies."""
    resolved = ""
    if view.resolved_at is not None:
        resolved = " " + w._(
            "(resolved %(time)s, %(name)s)", time=w.time(view.resolved_at), name=view.resolved_by
        )
    click.echo(
        f"{view.id:>5}  {w.comment_status(view.status)}  {w.time(view.created_at)}  "
        f"{view.author}: {view.text}{resolved}"
    )
    for r in view.replies:
        click.echo(f"         ↳ {w.time(r.created_at)}  {r.author}: {r.text}")


@comments_group.command("list", unit=Unit.READ)
@click.argument("proposal_id", type=ID, required=False)
@click.option("--as", "username", metavar="USER", required=True, help=AS_HELP)
def comments_list(proposal_id: int | None, username: str) -> None:
    """The review comments of PROPOSAL_ID grouped by target; without it, the open comments on
    the proposals USER prepares."""
    with reported():
        caller = caller_of(username)
        w = Words.here()
        if proposal_id is None:
            mine = queries.my_open_comments(engine(), caller)

            def human_mine() -> None:
                if not mine.items:
                    click.echo(w._("No open comments."))
                for item in mine.items:
                    click.echo(
                        f"{item.comment_id:>5}  {item.case_number}  "
                        f"{w.time(item.created_at)}  {item.author}: {item.text}"
                    )

            emit(mine, human_mine)
            return
        view = queries.proposal_comments(engine(), caller, proposal_id)

        def human() -> None:
            click.echo(
                w._(
                    "%(case)s %(title)s: %(open)s open, %(total)s in all",
                    case=view.case_number,
                    title=w.proposal_title(view.title_fi, view.title_sv),
                    open=view.open,
                    total=view.total,
                )
            )
            if not view.groups:
                click.echo(w._("No comments."))
            for group in view.groups:
                if group.target_kind == CommentTarget.ASSESSMENT:
                    click.echo(f"[{_title(w, group)}]")
                else:
                    click.echo(f"[{w.comment_target(group.target_kind)}: {_title(w, group)}]")
                for comment in group.comments:
                    _show(w, comment)

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
        w = Words.here()
        emit(view, lambda: _show(w, view))


@comments_group.command("reply")
@click.argument("comment_id", type=ID)
@click.option("--text", required=True, help="The reply.")
@click.option("--as", "username", metavar="USER", required=True, help=AS_HELP)
def comments_reply(comment_id: int, text: str, username: str) -> None:
    """Reply to COMMENT_ID (the preparer or a reviewer)."""
    with reported():
        cmd = commands.ReplyToComment(comment_id=comment_id, text=text)
        view = commands.reply(engine(), caller_of(username), cmd)
        w = Words.here()
        emit(view, lambda: _show(w, view))


@comments_group.command("resolve")
@click.argument("comment_id", type=ID)
@click.option("--as", "username", metavar="USER", required=True, help=AS_HELP)
def comments_resolve(comment_id: int, username: str) -> None:
    """Mark COMMENT_ID resolved (the preparer or a reviewer)."""
    with reported():
        cmd = commands.ResolveComment(comment_id=comment_id)
        view = commands.resolve(engine(), caller_of(username), cmd)
        w = Words.here()
        emit(view, lambda: _show(w, view))
