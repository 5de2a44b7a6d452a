"""A proposal: its state, what is missing, the actions this user can take; its history."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from pydantic import ValidationError
from werkzeug.wrappers import Response

from eva_engine.errors import (
    N_,
    Conflict,
    Contended,
    GuardFailed,
    InvalidInput,
    NotFound,
    Problem,
    Text,
)
from eva_engine.services import fields, paging
from eva_engine.services.assessment import editor
from eva_engine.services.attachments import commands as attachment_commands
from eva_engine.services.attachments import queries as attachment_queries
from eva_engine.services.fields import parse_int
from eva_engine.services.history import trail
from eva_engine.services.people import accounts, directory
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.proposals import texts as proposal_texts
from eva_engine.services.steps import transitions
from eva_engine.vocabulary import Publicity
from web.api.attachments import content_disposition
from web.forms import (
    TEXT_FIELDS,
    AttachmentForm,
    ProposalTextsForm,
    ReauthForm,
    RemoveAttachmentForm,
    TransitionForm,
    form_problems,
    text_field_name,
)
from web.runtime import caller, eva
from web.views import editor as area_views

bp = Blueprint("proposals", __name__, url_prefix="/proposals")

# The steps the user confirms with their password (``reauthenticate: true`` in the proposal's
# workflow, e.g. the presenter's sign-off); the service refuses them from a caller that is not
# confirmed.


def _page(
    proposal_id: int,
    failure: Exception | None = None,
    texts: dict[str, object] | None = None,
    attachments: dict[str, object] | None = None,
) -> str:
    view = proposal_queries.show(eva(), caller(), proposal_id)
    reauthenticate = transitions.reauthenticated_triggers(eva(), caller(), proposal_id)
    forms = {
        a.trigger: (ReauthForm() if a.trigger in reauthenticate else TransitionForm())
        for a in view.actions
        if a.allowed
    }
    for form in forms.values():
        form.version.data = str(view.row_version)
    extra = texts or _texts_context(proposal_id)  # what _proposal_texts.html shows
    extra = extra | (attachments or _attachments_context(proposal_id))
    return render_template("proposal.html", p=view, forms=forms, failure=failure, **extra)


def proposal_page(proposal_id: int) -> str:
    """The proposal's page as it is now (another view's form refused on it: the review
    comments')."""
    return _page(proposal_id)


@bp.get("/<int:proposal_id>")
@login_required
def show(proposal_id: int) -> str:
    return _page(proposal_id)


@bp.post("/<int:proposal_id>/transitions/<trigger>")
@login_required
def fire(proposal_id: int, trigger: str) -> str | Response | tuple[str, int]:
    reauthenticate = transitions.reauthenticated_triggers(eva(), caller(), proposal_id)
    form = ReauthForm() if trigger in reauthenticate else TransitionForm()
    if not form.validate_on_submit():
        problems = form_problems(form)
        if not problems:
            abort(400)  # the CSRF token
        failure = InvalidInput(
            Text(N_("The step was not taken: correct the items named.")), problems
        )
        return _page(proposal_id, failure=failure), 422
    confirmed = False
    if isinstance(form, ReauthForm):
        # The proposal must be one this user may see before the password is checked (and
        # the check recorded): another organisation's is not found, and nothing is recorded.
        directory.proposal_version(eva(), caller(), proposal_id)
        if accounts.authenticate(eva(), current_user.username, form.password.data or "") is None:
            flash(_("The password was wrong; the proposal was not signed off."), "error")
            return redirect(url_for("proposals.show", proposal_id=proposal_id))
        confirmed = True
    try:
        version = parse_int(form.version.data)
        transitions.fire(
            eva(),
            caller(confirmed=confirmed),
            proposal_id,
            trigger,
            reason=form.reason.data,
            expected_version=version,
        )
    except (GuardFailed, InvalidInput) as exc:
        return _page(proposal_id, failure=exc), 422
    flash(_("Done."), "success")
    return redirect(url_for("proposals.show", proposal_id=proposal_id))


@bp.get("/<int:proposal_id>/history")
@login_required
def timeline(proposal_id: int) -> str:
    """A page of the proposal's history, oldest first; ``?after=`` (the next page link)
    continues."""
    view = proposal_queries.show(eva(), caller(), proposal_id)
    page = trail.history_page(eva(), caller(), proposal_id, after=request.args.get("after"))
    names = trail.referenced_names(eva(), caller(), proposal_id, page.events)
    return render_template(
        "history.html",
        p=view,
        events=page.events,
        chain=page.chain,
        names=names,
        next_cursor=page.next_cursor,
        first=not request.args.get("after"),
    )


PAGE_SIZE = paging.PAGE_SIZE


@bp.get("/")
@login_required
def index() -> str:
    """Proposals of the user's organisation, filtered by state, body, meeting, impact area,
    who holds a task on it and whether a task is overdue, a page at a time: the next page
    link continues after the last one shown (``?after=``), however far into the list."""
    args = request.args
    choices = editor.list_choices(eva(), caller())
    page_text = args.get("page", "1")
    page_number = max(1, parse_int(page_text, high=100_000) or 1)
    filters = {
        name: args.get(name, "").strip()
        for name in ("q", "state", "body", "meeting", "area", "assignee", "overdue")
    }
    meeting = filters["meeting"]
    overdue = {"yes": True, "no": False}.get(filters["overdue"])
    page = proposal_queries.list_proposals(
        eva(),
        caller(),
        choices.organisation,
        state=filters["state"] or None,
        body=filters["body"] or None,
        meeting_id=parse_int(meeting),
        area=filters["area"] or None,
        assignee=filters["assignee"] or None,
        overdue=overdue,
        q=filters["q"] or None,
        limit=PAGE_SIZE,
        offset=(page_number - 1) * PAGE_SIZE,
        cursor=args.get("after") or None,  # the next page link: keyset, not the offset
    )
    pages = max(1, -(-page.total // PAGE_SIZE))
    return render_template(
        "proposals.html",
        page=page,
        choices=choices,
        page_number=page_number,
        pages=pages,
        filters=filters,
        active={k: v for k, v in filters.items() if v},
        state_titles={s.id: s.title for s in choices.states},
    )


# the texts of the minutes ----------------------------------------------------------------------
def _texts_context(
    proposal_id: int, form: ProposalTextsForm | None = None, failure: Exception | None = None
) -> dict[str, object]:
    """What ``_proposal_texts.html`` shows: the texts, the form for those the user may write
    now (filled with the stored texts, or with what was sent when it was refused)."""
    view = proposal_texts.texts(eva(), caller(), proposal_id)
    sent = request.form if form is not None else {}
    form = form or ProposalTextsForm(formdata=None)
    for kind, language in TEXT_FIELDS:
        name = text_field_name(kind, language)
        if name not in sent:  # what was not sent is shown as stored
            form[name].data = view.content(kind, language)
    form.version.data = str(view.row_version)
    return {"texts": view, "texts_form": form, "texts_failure": failure}


@bp.post("/<int:proposal_id>/texts")
@login_required
def save_texts(proposal_id: int) -> str | Response | tuple[str, int]:
    """Save the texts the page showed for writing (those not sent stay as they are)."""
    form = ProposalTextsForm()
    if not form.validate_on_submit():
        problems = form_problems(form)
        if not problems:
            abort(400)  # the CSRF token
        refused = InvalidInput("the texts were not saved", problems)
        return _page(proposal_id, texts=_texts_context(proposal_id, form, refused)), 422
    sent = [
        proposal_texts.TextIn(
            kind=kind, language=language, content=form[text_field_name(kind, language)].data or ""
        )
        for kind, language in TEXT_FIELDS
        if text_field_name(kind, language) in request.form
    ]
    if not sent:
        proposal_texts.texts(eva(), caller(), proposal_id)  # one this user may see, or 404
        return redirect(url_for("proposals.show", proposal_id=proposal_id))
    try:
        proposal_texts.write_texts(
            eva(),
            caller(),
            proposal_texts.WriteTexts(
                proposal_id=proposal_id,
                texts=sent,
                expected_version=parse_int(form.version.data),
            ),
        )
    except Contended:
        raise  # someone was saving at the same moment: the request is retried as a whole
    except Conflict:
        # Someone changed the proposal after the page was read: what was typed is kept, with
        # the version read now, to be checked and saved again.
        changed = InvalidInput(
            "the proposal was changed meanwhile",
            [
                Problem(
                    "version", _("Someone changed the proposal meanwhile: check and save again.")
                )
            ],
        )
        return _page(proposal_id, texts=_texts_context(proposal_id, form, changed)), 409
    except ValidationError as exc:
        refused = InvalidInput("the texts were not saved", fields.problems(exc))
        return _page(proposal_id, texts=_texts_context(proposal_id, form, refused)), 422
    except InvalidInput as exc:
        return _page(proposal_id, texts=_texts_context(proposal_id, form, exc)), 422
    flash(_("The texts were saved."), "success")
    return redirect(url_for("proposals.show", proposal_id=proposal_id, _anchor="texts-heading"))


# attachments ------------------------------------------------------------------------------------
def _attachments_context(
    proposal_id: int, form: AttachmentForm | None = None, failure: Exception | None = None
) -> dict[str, object]:
    """What ``_proposal_attachments.html`` shows: the list with publicity, the upload form."""
    view = attachment_queries.attachments(eva(), caller(), proposal_id)
    return {
        "attachments": view,
        "attachment_form": form or AttachmentForm(),
        "attachments_failure": failure,
    }


@bp.post("/<int:proposal_id>/attachments")
@login_required
def upload_attachment(proposal_id: int) -> str | Response | tuple[str, int]:
    """Attach the file sent (the service checks its size, type, scan and the caller)."""
    form = AttachmentForm()
    if not form.validate_on_submit():
        abort(400)  # the CSRF token
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        attachment_queries.attachments(eva(), caller(), proposal_id)  # another's: not found
    try:
        attachment_commands.add_attachment(
            eva(),
            caller(),
            attachment_commands.AddAttachment(
                proposal_id=proposal_id,
                file_name=(sent.filename if sent else "") or "",
                content=sent.read(attachment_commands.MAX_ATTACHMENT_BYTES + 1) if sent else b"",
                publicity=Publicity(form.publicity.data or "public"),
                confidentiality_ground=form.confidentiality_ground.data or None,
                area=form.area.data or None,
            ),
        )
    except ValidationError as exc:
        refused = InvalidInput("the file was not attached", fields.problems(exc))
        return _upload_refused(proposal_id, form, refused), 422
    except InvalidInput as exc:
        return _upload_refused(proposal_id, form, exc), 422
    flash(_("The file was attached."), "success")
    if form.area.data:  # evidence: back to its area's page (a route of ours, never a URL sent)
        return redirect(
            url_for(
                "editor.area",
                proposal_id=proposal_id,
                area_id=form.area.data,
                _anchor="evidence-heading",
            )
        )
    return redirect(
        url_for("proposals.show", proposal_id=proposal_id, _anchor="attachments-heading")
    )


def _upload_refused(proposal_id: int, form: AttachmentForm, failure: InvalidInput) -> str:
    """The page the upload came from again, with its problems: the area's for evidence (the
    proposal's when that area is not one of the proposal's), else the proposal's."""
    if form.area.data:
        try:
            return area_views.evidence_page(proposal_id, form.area.data, form, failure)
        except NotFound:
            pass
    return _page(proposal_id, attachments=_attachments_context(proposal_id, form, failure))


@bp.get("/attachments/<int:attachment_id>")
@login_required
def download_attachment(attachment_id: int) -> Response:
    """The file, as an attachment (never shown inline), of its own type."""
    got = attachment_queries.download(eva(), caller(), attachment_id)
    response = Response(got.content, mimetype=got.view.media_type)
    response.headers["Content-Disposition"] = content_disposition(got.view.file_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/attachments/<int:attachment_id>/remove")
@login_required
def confirm_removal(attachment_id: int) -> str:
    """Ask before removing: the attachment, its proposal, the button that removes it and the
    way back (refused as the removal would be)."""
    view = attachment_queries.removal(eva(), caller(), attachment_id)
    return render_template("attachment_remove.html", r=view, form=RemoveAttachmentForm())


@bp.post("/attachments/<int:attachment_id>/remove")
@login_required
def remove_attachment(attachment_id: int) -> Response:
    """Remove it (the confirmation page's button) and go back to where it was listed: its
    area's page for evidence, else the proposal's."""
    if not RemoveAttachmentForm().validate_on_submit():
        abort(400)
    view = attachment_commands.remove_attachment(
        eva(), caller(), attachment_commands.RemoveAttachment(attachment_id=attachment_id)
    )
    flash(_("The attachment %(name)s was removed.", name=view.file_name), "success")
    if view.area:
        return redirect(
            url_for(
                "editor.area",
                proposal_id=view.proposal_id,
                area_id=view.area,
                _anchor="evidence-heading",
            )
        )
    return redirect(
        url_for("proposals.show", proposal_id=view.proposal_id, _anchor="attachments-heading")
    )
