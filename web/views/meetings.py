"""The secretary's meetings: the agenda (its order, each item's completeness and who holds it),
the proposals ready to be placed on it, and the assessment summaries printed as appendices."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from eva_engine.errors import NotFound, PermissionDenied
from eva_engine.rendering.summary import summary_fragment
from eva_engine.services.access import no_meeting
from eva_engine.services.exchange import summaries as summary_queries
from eva_engine.services.fields import parse_int
from eva_engine.services.meetings import agendas
from eva_engine.services.meetings import commands as agenda_commands
from eva_engine.services.meetings.agendas import CandidatePage
from web.i18n import current_language
from web.refusals import attempt, flash_problems
from web.runtime import caller, eva

bp = Blueprint("meetings", __name__, url_prefix="/meetings")


@bp.get("/")
@login_required
def index() -> str:
    return render_template("meetings.html", meetings=agendas.my_meetings(eva(), caller()))


@bp.get("/<int:meeting_id>")
@login_required
def agenda(meeting_id: int) -> str:
    view = agendas.agenda(eva(), caller(), meeting_id)
    picked: CandidatePage | None
    try:
        picked = agendas.candidates(
            eva(),
            caller(),
            meeting_id,
            text=request.args.get("q", ""),
            after=request.args.get("after") or None,
        )
    except PermissionDenied:  # a presenter or an auditor reads the agenda, never changes it
        picked = None
    return render_template("agenda.html", agenda=view, picked=picked)


def _back(meeting_id: int) -> Response:
    return redirect(url_for("meetings.agenda", meeting_id=meeting_id))


def _change(meeting_id: int, command: Callable[[], object], missing: str, done: str) -> Response:
    """Change the agenda and go back to it, saying what happened: ``done``, what the service
    refused, or ``missing`` for a proposal that is not there (a meeting that is not found, or
    another organisation's, is 404)."""
    try:
        found = attempt(command)[1]
    except NotFound as exc:
        if exc.text is not None and exc.text.template == no_meeting(meeting_id).template:
            raise  # another organisation's meeting, or none: not found
        flash(missing, "error")
    else:
        if found:
            flash_problems(found)
        else:
            flash(done, "success")
    return _back(meeting_id)


@bp.post("/<int:meeting_id>/items")
@login_required
def add_item(meeting_id: int) -> Response:
    """Place the proposal whose "Add to agenda" button was pressed last on the agenda."""
    number = parse_int(request.form.get("proposal_id", "").strip())  # ASCII digits only
    if number is None or number < 1:
        flash(_("Choose a proposal from the list of proposals ready for the agenda."), "error")
        return _back(meeting_id)
    return _change(
        meeting_id,
        lambda: agenda_commands.place(
            eva(),
            caller(),
            agenda_commands.PlaceOnAgenda(meeting_id=meeting_id, proposal_id=number),
        ),
        _("That proposal cannot be added: choose one from the list."),
        _("The proposal was added to the agenda."),
    )


@bp.post("/<int:meeting_id>/items/<int:proposal_id>/move")
@login_required
def move_item(meeting_id: int, proposal_id: int) -> Response:
    """Move an item one place up or down (buttons: no script needed)."""
    direction = request.form.get("direction", "")
    if direction not in ("up", "down"):
        flash(_("Choose whether to move the item up or down."), "error")
        return _back(meeting_id)
    return _change(
        meeting_id,
        lambda: agenda_commands.move(
            eva(),
            caller(),
            agenda_commands.MoveAgendaItem(
                meeting_id=meeting_id,
                proposal_id=proposal_id,
                direction="up" if direction == "up" else "down",
            ),
        ),
        _("That proposal is not on this agenda."),
        _("The agenda's order was changed."),
    )


@bp.get("/<int:meeting_id>/summaries")
@login_required
def summaries(meeting_id: int) -> str:
    """The agenda's assessment summaries as numbered appendices (Liite 1, 2, …) in agenda
    order, on one page to print."""
    view = agendas.agenda(eva(), caller(), meeting_id)
    appendices = summary_queries.summaries_of(
        eva(), caller(), [item.proposal_id for item in view.items]
    )
    language = current_language()
    articles = [summary_fragment(s, language) for s in appendices]
    return render_template(
        "summaries.html", agenda=view, appendices=list(zip(view.items, articles, strict=True))
    )
