"""A decided proposal's follow-ups (seuranta): each indicator's follow-up with its result,
a form to record the result and one to waive the follow-up with a reason."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, InputRequired, Optional

from eva_engine.errors import InvalidInput, NotFound
from eva_engine.services import fields
from eva_engine.services.follow_up import commands, queries
from eva_engine.vocabulary import FollowUpOutcome, FollowUpSource
from web.forms import CommandLength, TypedDateField, WholeNumber
from web.i18n import translated
from web.runtime import caller, eva

bp = Blueprint("follow_ups", __name__, url_prefix="/proposals")

SOURCES = {
    FollowUpSource.SOTKANET: _l("Sotkanet (THL)"),
    FollowUpSource.TEAVIISARI: _l("TEAviisari (THL)"),
    FollowUpSource.OWN_DATA: _l("The organisation's own data"),
    FollowUpSource.OTHER: _l("Other source"),
}
OUTCOMES = {
    FollowUpOutcome.AS_PREDICTED: _l("As predicted"),
    FollowUpOutcome.BETTER: _l("Better than predicted"),
    FollowUpOutcome.WORSE: _l("Worse than predicted"),
    FollowUpOutcome.CANNOT_TELL_YET: _l("Cannot be told yet"),
}


class ResultForm(FlaskForm):
    value = StringField(
        _l("Measured value"),
        validators=[DataRequired(), CommandLength(commands.RecordResult, "value")],
        description=_l('As measured, e.g. "23,4 %"'),
    )
    measured_on = TypedDateField(
        _l("Measured on"),
        validators=[InputRequired()],
        description=_l("The day the value was measured or published"),
    )
    source_kind = SelectField(
        _l("Source"),
        choices=[SelectChoice(k.value, label) for k, label in SOURCES.items()],
        validators=[InputRequired()],
    )
    source_reference = StringField(
        _l("Reference in the source"),
        validators=[Optional(), CommandLength(commands.RecordResult, "source_reference")],
        description=_l("e.g. the Sotkanet indicator id 289, or the report's name"),
    )
    note = TextAreaField(
        _l("Note"), validators=[Optional(), CommandLength(commands.RecordResult, "note")]
    )
    outcome = SelectField(
        _l("How did the impact go?"),
        choices=[SelectChoice(k.value, label) for k, label in OUTCOMES.items()],
        validators=[InputRequired()],
        description=_l("Compared with the prediction; 'cannot be told yet' keeps it open"),
    )
    version = HiddenField(validators=[WholeNumber()])


class WaiveForm(FlaskForm):
    reason = TextAreaField(
        _l("Why is it not followed up?"),
        validators=[DataRequired(), CommandLength(commands.WaiveFollowUp, "reason")],
    )
    version = HiddenField(validators=[WholeNumber()])


def _forms(
    view: queries.ProposalFollowUps,
    failed: FlaskForm | None = None,
    failed_id: int | None = None,
) -> dict[int, tuple[FlaskForm, FlaskForm]]:
    """A result form and a waive form for each follow-up; each has a prefix of its own so that
    every field's id on the page is unique. The form that failed keeps what was sent."""
    forms: dict[int, tuple[FlaskForm, FlaskForm]] = {}
    for f in view.follow_ups:
        result = ResultForm(formdata=None, prefix=f"result-{f.id}")
        if f.value is not None:
            result.value.data, result.measured_on.data = f.value, f.measured_on
            result.source_reference.data, result.note.data = f.source_reference, f.note
            if f.source_kind and f.outcome:
                result.source_kind.data, result.outcome.data = f.source_kind, f.outcome
        waive: FlaskForm = WaiveForm(formdata=None, prefix=f"waive-{f.id}")
        if f.id == failed_id and isinstance(failed, ResultForm):
            result = failed
        elif f.id == failed_id and failed is not None:
            waive = failed
        for form in (result, waive):
            form.version.data = str(view.row_version)
        forms[f.id] = (result, waive)
    return forms


def _page(
    proposal_id: int, failed: FlaskForm | None = None, failed_id: int | None = None
) -> tuple[str, int]:
    view = queries.proposal_follow_ups(eva(), caller(), proposal_id)
    page = render_template(
        "follow_ups.html",
        view=view,
        forms=_forms(view, failed, failed_id),
        failed=failed,
        sources=SOURCES,
        outcomes=OUTCOMES,
    )
    return page, 422 if failed is not None else 200


def _attach(form: FlaskForm, exc: InvalidInput) -> None:
    """The service's findings at the fields they name (else at the first field)."""
    for problem in exc.problems:
        target = getattr(form, problem.location.split("[")[0].split(".")[0], None)
        if target is None or not hasattr(target, "errors"):
            target = next(iter(form))
        message = translated(problem.what) if problem.what else problem.message
        target.errors = [*target.errors, message]


@bp.get("/<int:proposal_id>/follow-ups")
@login_required
def index(proposal_id: int) -> tuple[str, int]:
    return _page(proposal_id)


@bp.post("/<int:proposal_id>/follow-ups/<int:follow_up_id>/result")
@login_required
def record(proposal_id: int, follow_up_id: int) -> tuple[str, int] | Response:
    form = ResultForm(prefix=f"result-{follow_up_id}")
    _belongs(proposal_id, follow_up_id)
    if form.validate_on_submit() and form.measured_on.data is not None:
        try:
            commands.record_result(
                eva(),
                caller(),
                commands.RecordResult(
                    follow_up_id=follow_up_id,
                    value=form.value.data or "",
                    measured_on=form.measured_on.data,
                    source_kind=FollowUpSource(form.source_kind.data),
                    source_reference=form.source_reference.data or None,
                    note=form.note.data or None,
                    outcome=FollowUpOutcome(form.outcome.data),
                    expected_version=fields.parse_int(form.version.data),
                ),
            )
        except InvalidInput as exc:
            _attach(form, exc)
        else:
            flash(_("The follow-up result was saved."), "success")
            return redirect(url_for("follow_ups.index", proposal_id=proposal_id))
    return _page(proposal_id, form, follow_up_id)


@bp.post("/<int:proposal_id>/follow-ups/<int:follow_up_id>/waive")
@login_required
def waive(proposal_id: int, follow_up_id: int) -> tuple[str, int] | Response:
    form = WaiveForm(prefix=f"waive-{follow_up_id}")
    _belongs(proposal_id, follow_up_id)
    if form.validate_on_submit():
        try:
            commands.waive(
                eva(),
                caller(),
                commands.WaiveFollowUp(
                    follow_up_id=follow_up_id,
                    reason=form.reason.data or "",
                    expected_version=fields.parse_int(form.version.data),
                ),
            )
        except InvalidInput as exc:
            _attach(form, exc)
        else:
            flash(_("The follow-up was waived."), "success")
            return redirect(url_for("follow_ups.index", proposal_id=proposal_id))
    return _page(proposal_id, form, follow_up_id)


def _belongs(proposal_id: int, follow_up_id: int) -> None:
    """The follow-up is the proposal's (another one's, or one the user cannot see, is 404)."""
    if queries.follow_up_proposal(eva(), caller(), follow_up_id) != proposal_id:
        raise NotFound(f"no follow-up {follow_up_id} on proposal {proposal_id}")
