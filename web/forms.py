"""Forms (Flask-WTF: every form carries a CSRF token). Labels go through translations."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import AnyOf, DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget


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


class ProposalForm(FlaskForm):
    case_number = StringField(
        _l("Case number"),
        validators=[DataRequired(), Length(max=60)],
        description=_l("In your organisation's format, e.g. 257/05.00.00/2023"),
    )
    title_fi = StringField(_l("Title in Finnish"), validators=[DataRequired(), Length(max=500)])
    title_sv = StringField(_l("Title in Swedish"), validators=[Optional(), Length(max=500)])
    body = SelectField(_l("Body"), validators=[DataRequired()], choices=[], validate_choice=False)
    presenter = SelectField(
        _l("Presenter"), validators=[DataRequired()], choices=[], validate_choice=False
    )
    publicity = RadioField(
        _l("Publicity"),
        default="public",
        validate_choice=False,
        choices=[
            SelectChoice("public", _l("public")),
            SelectChoice("partly_confidential", _l("partly confidential")),
            SelectChoice("confidential", _l("confidential")),
        ],
    )
    ground = StringField(
        _l("Legal ground of confidentiality"),
        validators=[Optional(), Length(max=500)],
        description=_l("Required unless public, e.g. JulkL 24 § 1 mom. 25 k"),
    )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ScreeningForm(FlaskForm):
    outcome = RadioField(
        _l("Does the decision need an impact assessment?"),
        validators=[DataRequired()],
        validate_choice=False,
        choices=[
            SelectChoice("exempt", _l("no assessment needed")),
            SelectChoice("light", _l("light assessment")),
            SelectChoice("full", _l("full assessment")),
        ],
    )
    criteria = MultiCheckboxField(_l("Which criteria apply?"), choices=[], validate_choice=False)
    exemption = SelectField(_l("Ground for no assessment"), choices=[], validate_choice=False)
    reason = TextAreaField(
        _l("Reason (required when no assessment is needed)"),
        validators=[Optional(), Length(max=4000)],
    )
    participation_plan = TextAreaField(
        _l("Participation and communication plan (full)"), validators=[Optional(), Length(max=4000)]
    )
    version = HiddenField()


class UserForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(max=80)],
        description=_l("Lower-case letters, digits, dots, dashes; e.g. maija.meikalainen"),
        render_kw={"autocomplete": "off"},
    )
    full_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=255)])
    email = StringField(
        _l("Email"), validators=[Optional(), Length(max=255)], render_kw={"type": "email"}
    )
    title = StringField(_l("Title (e.g. wellbeing coordinator)"), validators=[Optional()])
    language = SelectField(
        _l("Language"),
        choices=[
            SelectChoice("fi", "suomi"),
            SelectChoice("sv", "svenska"),
            SelectChoice("en", "English"),
        ],
    )
    password = PasswordField(
        _l("First password (the user changes it)"),
        validators=[DataRequired()],
        render_kw={"autocomplete": "new-password"},
    )


class BodyForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("Capital letters, e.g. HYVLTK"),
    )
    name_fi = StringField(_l("Name in Finnish"), validators=[DataRequired(), Length(max=255)])
    name_sv = StringField(_l("Name in Swedish"), validators=[Optional(), Length(max=255)])
    kind = SelectField(
        _l("Kind"),
        choices=[
            SelectChoice("council", _l("council")),
            SelectChoice("executive_board", _l("executive board")),
            SelectChoice("committee", _l("committee")),
            SelectChoice("subcommittee", _l("subcommittee")),
            SelectChoice("office_holder", _l("office holder")),
        ],
        default="committee",
    )


class MeetingForm(FlaskForm):
    body = SelectField(_l("Body"), validators=[DataRequired()], choices=[], validate_choice=False)
    date = StringField(
        _l("Date"),
        validators=[DataRequired()],
        description=_l("Day.month.year, e.g. 13.6.2027"),
    )
    time = StringField(
        _l("Starts at"), validators=[DataRequired()], description=_l("Hours:minutes, e.g. 16:00")
    )
    location = StringField(_l("Place"), validators=[Optional(), Length(max=255)])


class ActionForm(FlaskForm):
    """A button that changes something: only its CSRF token."""
