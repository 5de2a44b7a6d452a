"""The secretary's meetings: every agenda item's completeness, and the summaries to print."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from eva_engine.errors import InvalidInput, NotFound
from eva_engine.services.fields import parse_int
from eva_engine.services.meetings import agendas
from eva_engine.services.proposals import commands as proposal_commands
from web.i18n import error_message, problem_text
from web.runtime import caller, eva

bp = Blueprint("meetings", __name__, url_prefix="/meetings")


@bp.get("/")
@login_required
def index() -> str:
    return render_template("meetings.html", meetings=agendas.my_meetings(eva(), caller()))


@bp.get("/<int:meeting_id>")
@login_required
def agenda(meeting_id: int) -> str:
    return render_template("agenda.html", agenda=agendas.agenda(eva(), caller(), meeting_id))


@bp.post("/<int:meeting_id>/items")
@login_required
def add_item(meeting_id: int) -> Response:
    """Schedule a proposal (by its id) for this meeting."""
    agendas.agenda(eva(), caller(), meeting_id)  # the meeting exists and is the caller's
    proposal_id = request.form.get("proposal_id", "").strip()
    position = request.form.get("position", "").strip()
    number, place = parse_int(proposal_id), parse_int(position)  # ASCII digits only
    if number is None or (position and place is None):
        flash(_("Give the proposal's number (and a position as a whole number)."), "error")
        return redirect(url_for("meetings.agenda", meeting_id=meeting_id))
    try:
        proposal_commands.schedule(
            eva(),
            caller(),
            proposal_commands.ScheduleProposal(
                proposal_id=number, meeting_id=meeting_id, agenda_position=place
            ),
        )
    except NotFound:
        flash(_("There is no proposal %(id)s that you could add.", id=proposal_id), "error")
    except InvalidInput as exc:
        flash(" ".join(problem_text(p) for p in exc.problems) or error_message(exc), "error")
    else:
        flash(_("The proposal was added to the agenda."), "success")
    return redirect(url_for("meetings.agenda", meeting_id=meeting_id))


@bp.get("/<int:meeting_id>/summaries")
@login_required
def summaries(meeting_id: int) -> str:
    return render_template("summaries.html", agenda=agendas.agenda(eva(), caller(), meeting_id))
