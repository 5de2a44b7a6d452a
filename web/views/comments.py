"""Review comments on the proposal page and the impact area pages: a reviewer comments, the
preparer (or a reviewer) replies and resolves. Each form posts here and returns to the page it
was on; the rules are the service's (``services.comments``)."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, request
from flask_babel import gettext as _
from flask_login import login_required
from pydantic import ValidationError

from eva_engine.errors import N_, InvalidInput, Problem, Text
from eva_engine.services.comments import commands, queries
from eva_engine.services.fields import problems
from eva_engine.vocabulary import CommentTarget
from web.auth import _safe_next
from web.i18n import problem_text
from web.runtime import caller, eva

bp = Blueprint("comments", __name__, url_prefix="/proposals")


@bp.app_template_global()
def review_comments(proposal_id: int) -> queries.ProposalComments:
    """The proposal's review comments, for the blocks its pages include (``_comments.html``)."""
    return queries.proposal_comments(eva(), caller(), proposal_id, log=False)


def _back(proposal_id: int) -> Response:
    target = _safe_next(request.form.get("back"))
    if target.rstrip("/") in ("", "/work"):
        target = f"/proposals/{proposal_id}"
    return redirect(target)  # type: ignore[return-value]


def _refused(error: InvalidInput | ValidationError) -> None:
    found = problems(error) if isinstance(error, ValidationError) else error.problems
    for problem in found or []:
        flash(problem_text(problem), "error")


@bp.post("/<int:proposal_id>/comments")
@login_required
def add(proposal_id: int) -> Response:
    form = request.form
    try:
        cmd = commands.AddComment(
            proposal_id=proposal_id,
            target_kind=CommentTarget(form.get("target_kind") or "assessment"),
            target_key=form.get("target_key") or None,
            text=form.get("text", ""),
        )
        commands.add_comment(eva(), caller(), cmd)
    except (InvalidInput, ValidationError) as exc:
        _refused(exc)
    except ValueError:
        choice = Problem.of("", Text(N_("A choice on the form is not one of its options.")))
        flash(problem_text(choice), "error")
    else:
        flash(_("The comment was saved."), "success")
    return _back(proposal_id)


@bp.post("/<int:proposal_id>/comments/<int:comment_id>/reply")
@login_required
def reply(proposal_id: int, comment_id: int) -> Response:
    try:
        cmd = commands.ReplyToComment(comment_id=comment_id, text=request.form.get("text", ""))
        commands.reply(eva(), caller(), cmd)
    except (InvalidInput, ValidationError) as exc:
        _refused(exc)
    else:
        flash(_("The reply was saved."), "success")
    return _back(proposal_id)


@bp.post("/<int:proposal_id>/comments/<int:comment_id>/resolve")
@login_required
def resolve(proposal_id: int, comment_id: int) -> Response:
    try:
        commands.resolve(eva(), caller(), commands.ResolveComment(comment_id=comment_id))
    except InvalidInput as exc:
        _refused(exc)
    else:
        flash(_("The comment was marked resolved."), "success")
    return _back(proposal_id)
