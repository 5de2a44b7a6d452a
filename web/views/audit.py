"""The auditor's view of the whole year's history, with filters."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, render_template, request
from flask_login import login_required

from eva_engine.services import history
from web.runtime import caller, eva

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
@login_required
def events() -> str:
    year_text = request.args.get("year", "")
    after_text = request.args.get("after", "")
    page = history.audit_events(
        eva(),
        caller(),
        year=int(year_text) if year_text.isdigit() else datetime.now(UTC).year,
        action=request.args.get("action") or None,
        after_seq=int(after_text) if after_text.isdigit() else 0,
    )
    return render_template("audit.html", page=page, chain=history.verify(eva()))
