"""The auditor's view of the whole year's history, with filters."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from eva_engine.services.fields import parse_int
from eva_engine.services.history import trail
from web import labels
from web.runtime import caller, eva

bp = Blueprint("audit", __name__, url_prefix="/audit")
for helper in (labels.action_choices, labels.history_words, labels.when):
    bp.add_app_template_global(helper)


@bp.get("/")
@login_required
def events() -> str:
    year_text = request.args.get("year", "")
    after_text = request.args.get("after", "")
    page = trail.audit_events(
        eva(),
        caller(),
        year=parse_int(year_text, high=9999) or datetime.now(UTC).year,
        action=request.args.get("action") or None,
        after_seq=parse_int(after_text, high=2**63 - 1) or 0,
    )
    return render_template(
        "audit.html",
        page=page,
        names=trail.page_names(eva(), caller(), page.events),
        chain=trail.last_chain_check(eva(), caller()),
        verify_form=FlaskForm(),
    )


@bp.post("/verify")
@login_required
def verify() -> Response:
    """Walk the whole chain now; the result is itself recorded in the history."""
    if not FlaskForm().validate_on_submit():
        flash(_("The form had expired; please try again."), "error")
        return redirect(url_for("audit.events"))
    check = trail.verify_and_record(eva(), caller())
    if check.ok:
        flash(
            _("The audit chain verifies: %(num)d events, none altered.", num=check.verified),
            "success",
        )
    elif check.first_bad_seq is None:  # e.g. a proposal with no history at all
        flash(_("The audit history is broken."), "error")
    else:
        flash(_("The audit chain is broken at event %(seq)s.", seq=check.first_bad_seq), "error")
    return redirect(url_for("audit.events"))
