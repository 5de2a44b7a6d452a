"""Forms (Flask-WTF: every form carries a CSRF token). Labels go through translations."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional


class LoginForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(max=80)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired()],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=12, max=200)],
        render_kw={"autocomplete": "new-password"},
    )


class TransitionForm(FlaskForm):
    reason = TextAreaField(_l("Reason or comment"), validators=[Optional(), Length(max=4000)])
    version = HiddenField()


class ReauthForm(TransitionForm):
    password = PasswordField(
        _l("Your password (to confirm the sign-off)"),
        validators=[DataRequired()],
        render_kw={"autocomplete": "current-password"},
    )


class LanguageForm(FlaskForm):
    lang = StringField(_l("Language"), validators=[AnyOf(["fi", "sv", "en"])])
    next = HiddenField()
