""" "My work": the assignments and the follow-ups waiting for the user, overdue first, filtered
by the proposal's state, the task's kind and whether it is overdue."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import login_required

from eva_engine.services.comments import queries as comments
from eva_engine.services.follow_up import queries as follow_ups
from eva_engine.services.steps import work
from web import labels
from web.runtime import caller, eva

bp = Blueprint("work", __name__)
bp.add_app_template_global(labels.when)

FILTERS = ("state", "kind", "overdue")


@bp.get("/")
@login_required
def index() -> str:
    """A page of tasks; ``?after=`` (the previous page's next page link) continues, with the
    same filters (``?state=``, ``?kind=``, ``?overdue=yes``)."""
    args = request.args
    after = args.get("after") or None
    filters = {name: args.get(name, "").strip() for name in FILTERS}
    return render_template(
        "work.html",
        work=work.my_work(
            eva(),
            caller(),
            after=after,
            state=filters["state"] or None,
            kind=filters["kind"] or None,
            overdue=filters["overdue"] == "yes",
        ),
        follow_ups=follow_ups.my_follow_ups(eva(), caller()),
        open_comments=comments.my_open_comments(eva(), caller()),
        filters=filters,
        active={k: v for k, v in filters.items() if v},
    )


@bp.app_template_global()
def latest_return(proposal_id: int) -> work.Returned | None:
    """The proposal's latest return for revision, for the block its page includes
    (``_return_reason.html``)."""
    return work.latest_return(eva(), caller(), proposal_id)
