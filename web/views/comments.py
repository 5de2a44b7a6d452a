"""Review comments on the proposal page and the impact area pages: a reviewer comments, the
preparer (or a reviewer) replies and resolves. Each form posts here and returns to the page it
was on; the rules are the service's (``services.comments``). A refused form comes back on that
page (422) with what was typed, its errors at the field and the page's error summary
(``web.refusals``)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, request
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException

from eva_engine.errors import Problem
from eva_engine.services.comments import commands, queries
from eva_engine.services.fields import text_limits
from web.auth import _safe_next
from web.forms import CommentForm, ReplyForm, ResolveForm
from web.refusals import attempt, show_again
from web.runtime import caller, eva
from web.views import editor as area_views
from web.views import proposals as proposal_views

bp = Blueprint("comments", __name__, url_prefix="/proposals")


@bp.app_template_global()
def review_comments(proposal_id: int) -> queries.ProposalComments:
    """The proposal's review comments, for the blocks its pages include (``_comments.html``)."""
    return queries.proposal_comments(eva(), caller(), proposal_id, log=False)


@bp.app_template_global()
def comment_length() -> int:
    """The most characters of a comment or a reply (``AddComment.text``'s, the browser's
    ``maxlength``)."""
    return text_limits(commands.AddComment, "text")[1] or 0


def new_comment_id(kind: str, key: str | None) -> str:
    """The id of a new comment's text field (``comment_form`` in ``_comments.html``)."""
    return f"comment-new-{kind}-{key or 'all'}"


def _back(proposal_id: int) -> Response:
    target = _safe_next(request.form.get("back"))
    if target.rstrip("/") in ("", "/work"):
        target = f"/proposals/{proposal_id}"
    return redirect(target)  # type: ignore[return-value]


def _again(
    proposal_id: int, form: FlaskForm, key: str, found: list[Problem], field: str | None = "text"
) -> tuple[str, int]:
    """The page the form was on again (its impact area's, else the proposal's), 422, with the
    refused form at its place."""
    show_again(form, key, found, field)
    path = _safe_next(request.form.get("back")).split("#", 1)[0].split("?", 1)[0]
    try:
        endpoint, values = current_app.create_url_adapter(request).match(path, method="GET")  # type: ignore[union-attr]
    except HTTPException:
        endpoint, values = "", {}
    if endpoint == "editor.area" and values.get("proposal_id") == proposal_id:
        area = values.get("area_id")
        if isinstance(area, str):
            return area_views.area_page(proposal_id, area), 422
    return proposal_views.proposal_page(proposal_id), 422


@bp.post("/<int:proposal_id>/comments")
@login_required
def add(proposal_id: int) -> Response | tuple[str, int]:
    form = CommentForm()
    kind = request.form.get("target_kind") or "assessment"
    key = request.form.get("target_key") or None
    found: list[Problem] = []
    if form.validate_on_submit():
        found = attempt(
            lambda: commands.add_comment(
                eva(),
                caller(),
                commands.AddComment.model_validate(
                    {
                        "proposal_id": proposal_id,
                        "target_kind": kind,
                        "target_key": key,
                        "text": form.text.data or "",
                    }
                ),
            )
        )[1]
        if not found:
            flash(_("The comment was saved."), "success")
            return _back(proposal_id)
    return _again(proposal_id, form, new_comment_id(kind, key), found)


@bp.post("/<int:proposal_id>/comments/<int:comment_id>/reply")
@login_required
def reply(proposal_id: int, comment_id: int) -> Response | tuple[str, int]:
    form = ReplyForm()
    found: list[Problem] = []
    if form.validate_on_submit():
        found = attempt(
            lambda: commands.reply(
                eva(),
                caller(),
                commands.ReplyToComment(comment_id=comment_id, text=form.text.data or ""),
            )
        )[1]
        if not found:
            flash(_("The reply was saved."), "success")
            return _back(proposal_id)
    return _again(proposal_id, form, f"reply-{comment_id}", found)


@bp.post("/<int:proposal_id>/comments/<int:comment_id>/resolve")
@login_required
def resolve(proposal_id: int, comment_id: int) -> Response | tuple[str, int]:
    form = ResolveForm()
    found = attempt(
        lambda: commands.resolve(eva(), caller(), commands.ResolveComment(comment_id=comment_id))
    )[1]
    if not found:
        flash(_("The comment was marked resolved."), "success")
        return _back(proposal_id)
    return _again(proposal_id, form, f"resolve-{comment_id}", found, field=None)
