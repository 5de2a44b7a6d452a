"""The logged-in user's API tokens: create one (shown once), see them, revoke one. The ``sign``
scope (signing off without the password) is given only when it is chosen."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import (
    DataRequired,
    InputRequired,
    NumberRange,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from eva_engine.errors import N_, NotFound, Text
from eva_engine.services.fields import parse_int
from eva_engine.services.people import tokens
from eva_engine.vocabulary import TokenScope
from web.forms import CommandLength, WholeNumber, WholeNumberField
from web.runtime import caller, eva

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")


class ScopesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TokenForm(FlaskForm):
    name = StringField(
        _l("Name of the token"),
        validators=[DataRequired(), CommandLength(tokens.CreateToken, "name")],
    )
    scopes = ScopesField(
        _l("Scopes"),
        choices=[
            SelectChoice(TokenScope.READ.value, _l("Read (GET requests)")),
            SelectChoice(TokenScope.WRITE.value, _l("Write (changes)")),
            SelectChoice(
                TokenScope.SIGN.value,
                _l("Sign off as the presenter (with write; never given unless chosen)"),
            ),
        ],
        validators=[DataRequired(message=_l("Choose at least one scope."))],
        default=[s.value for s in tokens.DEFAULT_SCOPES],
    )
    expires_days = WholeNumberField(
        _l("Valid for days"),
        validators=[InputRequired(), NumberRange(min=1, max=tokens.MAX_EXPIRY_DAYS)],
        default=90,
    )

    def validate_scopes(self, field: ScopesField) -> None:
        chosen = set(field.data or [])
        if TokenScope.SIGN.value in chosen and TokenScope.WRITE.value not in chosen:
            raise ValidationError(_("Signing off is a change: choose write too."))


class RevokeForm(FlaskForm):
    token_id = HiddenField(validators=[DataRequired(), WholeNumber()])


def _page(form: TokenForm, created: tokens.CreatedToken | None = None) -> str:
    return render_template(
        "tokens.html",
        form=form,
        created=created,
        tokens=tokens.list_tokens(eva(), caller()),
    )


@bp.get("/")
@login_required
def index() -> str:
    return _page(TokenForm())


@bp.post("/")
@login_required
def create() -> str | tuple[str, int]:
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form), 422
    created = tokens.create_token(
        eva(),
        caller(),
        tokens.CreateToken(
            name=form.name.data or "",
            scopes=[TokenScope(s) for s in form.scopes.data or []],
            expires_days=form.expires_days.data or 90,
        ),
    )
    # Shown on this response only: never stored, never redirected to a page that could show it.
    return _page(TokenForm(formdata=None), created)


@bp.post("/revoke")
@login_required
def revoke() -> Response:
    form = RevokeForm()
    token_id = parse_int(form.token_id.data)  # ASCII digits only
    if form.validate_on_submit() and token_id is not None:
        view = tokens.revoke_token(eva(), caller(), token_id)
        flash(_("The token %(name)s was revoked.", name=view.name), "success")
    else:
        raise NotFound(Text(N_("There is no such record, or it is not visible to you.")))
    return redirect(url_for("tokens.index"))
