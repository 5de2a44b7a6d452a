""" "My work": the assignments and the follow-ups waiting for the user, overdue first."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import login_required

from eva_engine.services.follow_up import queries as follow_ups
from eva_engine.services.steps import work
from web.runtime import caller, eva

bp = Blueprint("work", __name__)


@bp.get("/")
@login_required
def index() -> str:
    """A page of tasks; ``?after=`` (the previous page's next page link) continues."""
    after = request.args.get("after") or None
    return render_template(
        "work.html",
        work=work.my_work(eva(), caller(), after=after),
        follow_ups=follow_ups.my_follow_ups(eva(), caller()),
    )
