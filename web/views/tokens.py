"""The logged-in user's API tokens: create one (shown once), see them, revoke one."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, IntegerField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from eva_engine.errors import NotFound
from eva_engine.services import tokens
from eva_engine.vocabulary import TokenScope
from web.runtime import caller, eva

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")


class ScopesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TokenForm(FlaskForm):
    name = StringField(
        _l("Name of the token"),
        validators=[DataRequired(), Length(max=120)],
    )
    scopes = ScopesField(
        _l("Scopes"),
        choices=[
            SelectChoice(TokenScope.READ.value, _l("Read (GET requests)")),
            SelectChoice(TokenScope.WRITE.value, _l("Write (changes)")),
        ],
        validators=[DataRequired(message=_l("Choose at least one scope."))],
        default=[TokenScope.READ.value],
    )
    expires_days = IntegerField(
        _l("Valid for days"),
        validators=[InputRequired(), NumberRange(min=1, max=tokens.MAX_EXPIRY_DAYS)],
        default=90,
    )


class RevokeForm(FlaskForm):
    token_id = HiddenField(validators=[DataRequired()])


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
    if form.validate_on_submit() and (form.token_id.data or "").isdigit():
        view = tokens.revoke_token(eva(), caller(), int(form.token_id.data or 0))
        flash(_("The token %(name)s was revoked.", name=view.name), "success")
    else:
        raise NotFound("no such token")
    return redirect(url_for("tokens.index"))
