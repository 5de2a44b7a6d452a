"""Forms (Flask-WTF: every form carries a CSRF token). Labels go through translations.

A text field that feeds a service command takes its length limits from that command's field
(``CommandLength``), so the form, the API and the CLI share one rule per field (and the browser
gets it as ``maxlength``); numbers take the ASCII digits 0-9 only (``WholeNumber``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from pydantic import BaseModel, ValidationError
from wtforms import (
    Field,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.form import BaseForm
from wtforms.validators import AnyOf, DataRequired, Length, Optional
from wtforms.validators import ValidationError as FieldInvalid
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from eva_engine.errors import N_, Problem, Text
from eva_engine.rendering.labels import PUBLICITY, SCREENING
from eva_engine.services.assessment.screening import RecordScreening
from eva_engine.services.attachments.commands import AddAttachment
from eva_engine.services.comments.commands import AddComment, ReplyToComment
from eva_engine.services.fields import (
    DATE_EXAMPLE,
    DATE_TEXT_LENGTH,
    MAX_DIGITS,
    MAX_ID,
    PASSWORD_LENGTH,
    QUESTION_LENGTH,
    parse_date,
    parse_int,
    problems,
    text_limits,
)
from eva_engine.services.people.accounts import MIN_PASSWORD_LENGTH
from eva_engine.services.people.organisations import CreateBody, CreateMeeting
from eva_engine.services.people.sso import SetProvider
from eva_engine.services.people.users import CreateUser
from eva_engine.services.proposals.commands import CreateProposal
from eva_engine.services.proposals.texts import TextIn
from eva_engine.services.steps.transitions import FireTrigger
from eva_engine.vocabulary import TextKind, TextLanguage
from web.i18n import translated

T = TypeVar("T")


# The messages of the forms' checks are the engine's (the same message ids the service
# commands' checks give, ``eva_engine.services.fields``), never WTForms' own.
REQUIRED = N_("Fill this in: it is required.")
TOO_LONG = N_("Too long: %(length)s characters, at most %(max)s. Shorten the text.")
TOO_SHORT = N_("Too short: give at least %(min)s characters.")
CHOOSE = N_("Choose one of the options given.")
PASSWORD_TOO_SHORT = N_("The password is too short: give at least %(min)s characters.")


class Required(DataRequired):
    """A field that must be filled in, saying so in the reader's language."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message=message or _l(REQUIRED))


class TextLength(Length):
    """At most ``high`` (and at least ``low``) characters, counted as the service commands
    count them: surrounding spaces left out, a line end (CRLF) one character."""

    def __init__(self, low: int = -1, high: int = -1, short: str = TOO_SHORT) -> None:
        super().__init__(min=low, max=high)
        self.short = short

    def __call__(self, _form: BaseForm, field: Field) -> None:
        text = field.data if isinstance(field.data, str) else ""
        length = len(text.replace("\r\n", "\n").strip())
        if self.max != -1 and length > self.max:
            raise FieldInvalid(_(TOO_LONG, length=length, max=self.max))
        if self.min > 1 and 0 < length < self.min:
            raise FieldInvalid(_(self.short, min=self.min))


class CommandLength(TextLength):
    """The length limits of the text field ``name`` of a service command."""

    def __init__(self, command: type[BaseModel], name: str) -> None:
        low, high = text_limits(command, name)
        if high is None:  # pragma: no cover - every command's text field has one
            raise TypeError(f"{command.__name__}.{name} has no max_length")
        super().__init__(low=-1 if low is None else low, high=high)
        self.command, self.name = command, name


def problem_message(problem: Problem) -> str:
    """What is wrong, in the reader's language (the place is the field it is shown at)."""
    return translated(problem.what) if problem.what else problem.message


def attach(
    form: BaseForm,
    problems: Sequence[Problem],
    names: Mapping[str, str] | None = None,
    fallback: str | None = None,
) -> None:
    """Put each problem the engine found at the form field it concerns: the first part of its
    location (``answers[3].direction``: ``answers``), renamed by ``names`` where the form calls
    the command's field otherwise. A field the form has already found wrong keeps the form's
    message (the same rule said twice is said once); a problem of no field of the form goes to
    ``fallback`` or, without one, to the form as a whole (``form.form_errors``)."""
    for problem in problems:
        head = problem.location.split(".")[0].split("[")[0]
        field = form._fields.get((names or {}).get(head, head))
        if field is None and fallback is not None:
            field = form[fallback]
        message = problem_message(problem)
        if field is None:
            if message not in form.form_errors:
                form.form_errors.append(message)
            continue
        if isinstance(field.errors, tuple):  # not validated yet
            field.errors = []
        if not field.errors:
            field.errors = [message]
        elif field.name == fallback and message not in field.errors:
            field.errors = [*field.errors, message]


def command_problems(build: Callable[[], T]) -> tuple[T | None, list[Problem]]:
    """The service command ``build`` makes, or every problem of its input at once."""
    try:
        return build(), []
    except ValidationError as exc:
        return None, problems(exc)


class WholeNumber:
    """A whole number from ``low`` to ``high`` in the ASCII digits 0-9 (``int()`` would also
    read ``１２`` and ``١٢``); empty passes (``Optional`` or ``DataRequired`` decide that)."""

    def __init__(self, low: int = 1, high: int = MAX_ID) -> None:
        self.low, self.high = low, high

    def __call__(self, _form: BaseForm, field: Field) -> None:
        raw = field.raw_data[0] if field.raw_data else field.data
        text = str(raw or "").strip()
        if not text:
            return
        number = parse_int(text, high=self.high)
        if number is None or not self.low <= number <= self.high:
            raise FieldInvalid(
                _l("Give a whole number from %(low)s to %(high)s.", low=self.low, high=self.high)
            )


def form_problems(form: FlaskForm) -> list[Problem]:
    """The errors of a submitted form, each named by its field's label; the CSRF token's is
    left out (that one is a 400 of its own)."""
    return [
        Problem(str(form[name].label.text), str(message), what=Text(str(message)))
        for name, messages in form.errors.items()
        if name not in ("csrf_token", None)
        for message in messages
    ]


_NOT_AN_INTEGER = N_("Give a whole number written with the digits 0-9.")


class WholeNumberField(IntegerField):
    """An integer field that reads ASCII digits only (see ``WholeNumber``)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        self.data = parse_int(str(valuelist[0]).strip(), high=10**MAX_DIGITS - 1)
        if self.data is None and str(valuelist[0]).strip():
            raise ValueError(_(_NOT_AN_INTEGER))


class LoginForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[Required(), CommandLength(CreateUser, "username")],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[Required(), TextLength(high=PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField(validators=[TextLength(high=2000)])


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[Required(), TextLength(high=PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[
            Required(),
            TextLength(MIN_PASSWORD_LENGTH, PASSWORD_LENGTH, PASSWORD_TOO_SHORT),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class TransitionForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason or comment"), validators=[Optional(), CommandLength(FireTrigger, "reason")]
    )
    version = HiddenField(validators=[WholeNumber()])


class ReauthForm(TransitionForm):
    password = PasswordField(
        _l("Your password (to confirm the sign-off)"),
        validators=[Required(), TextLength(high=PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )


class LanguageForm(FlaskForm):
    lang = StringField(_l("Language"), validators=[AnyOf(["fi", "sv", "en"], message=_l(CHOOSE))])
    next = HiddenField(validators=[TextLength(high=2000)])


class ProposalForm(FlaskForm):
    case_number = StringField(
        _l("Case number"),
        validators=[Required(), CommandLength(CreateProposal, "case_number")],
        description=_l("In your organisation's format, e.g. 257/05.00.00/2023"),
    )
    title_fi = StringField(
        _l("Title in Finnish"),
        validators=[Required(), CommandLength(CreateProposal, "title_fi")],
    )
    title_sv = StringField(
        _l("Title in Swedish"), validators=[Optional(), CommandLength(CreateProposal, "title_sv")]
    )
    body = SelectField(_l("Body"), validators=[Required()], choices=[], validate_choice=False)
    presenter = SelectField(
        _l("Presenter"), validators=[Required()], choices=[], validate_choice=False
    )
    publicity = RadioField(
        _l("Publicity"),
        default="public",
        validate_choice=False,
        choices=[SelectChoice(value, _l(label)) for value, label in PUBLICITY.items()],
    )
    ground = StringField(
        _l("Legal ground of confidentiality"),
        validators=[Optional(), CommandLength(CreateProposal, "confidentiality_ground")],
        description=_l("Required unless public, e.g. JulkL 24 § 1 mom. 25 k"),
    )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ScreeningForm(FlaskForm):
    outcome = RadioField(
        _l("Does the decision need an impact assessment?"),
        validators=[Required()],
        validate_choice=False,
        choices=[SelectChoice(value, _l(label)) for value, label in SCREENING.items()],
    )
    criteria = MultiCheckboxField(_l("Which criteria apply?"), choices=[], validate_choice=False)
    exemption = SelectField(_l("Ground for no assessment"), choices=[], validate_choice=False)
    reason = TextAreaField(
        _l("Reason (required when no assessment is needed)"),
        validators=[Optional(), CommandLength(RecordScreening, "reason")],
    )
    participation_plan = TextAreaField(
        _l("Participation and communication plan (full)"),
        validators=[Optional(), CommandLength(RecordScreening, "participation_plan")],
    )
    version = HiddenField(validators=[WholeNumber()])


class UserForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[Required(), CommandLength(CreateUser, "username")],
        description=_l("Lower-case letters, digits, dots, dashes; e.g. maija.meikalainen"),
        render_kw={"autocomplete": "off"},
    )
    full_name = StringField(
        _l("Name"), validators=[Required(), CommandLength(CreateUser, "full_name")]
    )
    email = StringField(
        _l("Email"),
        validators=[Optional(), CommandLength(CreateUser, "email")],
        render_kw={"type": "email"},
    )
    title = StringField(
        _l("Title (e.g. wellbeing coordinator)"),
        validators=[Optional(), CommandLength(CreateUser, "title")],
    )
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
        validators=[Required(), TextLength(high=PASSWORD_LENGTH)],
        render_kw={"autocomplete": "new-password"},
    )


class BodyForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[Required(), CommandLength(CreateBody, "code")],
        description=_l("Capital letters, e.g. HYVLTK"),
    )
    name_fi = StringField(
        _l("Name in Finnish"), validators=[Required(), CommandLength(CreateBody, "name_fi")]
    )
    name_sv = StringField(
        _l("Name in Swedish"), validators=[Optional(), CommandLength(CreateBody, "name_sv")]
    )
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
    body = SelectField(_l("Body"), validators=[Required()], choices=[], validate_choice=False)
    date = StringField(
        _l("Date"),
        validators=[Required(), TextLength(high=20)],
        description=_l("Day.month.year, e.g. 13.6.2027"),
    )
    time = StringField(
        _l("Starts at"),
        validators=[Required(), TextLength(high=20)],
        description=_l("Hours:minutes, e.g. 16:00"),
    )
    location = StringField(
        _l("Place"), validators=[Optional(), CommandLength(CreateMeeting, "location")]
    )


class ActionForm(FlaskForm):
    """A button that changes something: only its CSRF token."""


# The texts of the minutes (``services.proposals.texts``): one field per text and language,
# each with the limit of ``TextIn.content``. A field the page does not show is not sent, and
# what is not sent stays as it is.
TEXT_FIELDS = [
    (kind, language) for kind in TextKind for language in TextLanguage
]  # grounds_fi, grounds_sv, decision_proposal_fi, …


def text_field_name(kind: str, language: str) -> str:
    return f"{kind}_{language}"


def _text_area(language: TextLanguage) -> TextAreaField:
    label = _l("In Finnish") if language == TextLanguage.FI else _l("In Swedish (optional)")
    return TextAreaField(label, validators=[Optional(), CommandLength(TextIn, "content")])


class ProposalTextsForm(FlaskForm):
    version = HiddenField(validators=[WholeNumber()])
    grounds_fi = _text_area(TextLanguage.FI)
    grounds_sv = _text_area(TextLanguage.SV)
    decision_proposal_fi = _text_area(TextLanguage.FI)
    decision_proposal_sv = _text_area(TextLanguage.SV)
    decision_fi = _text_area(TextLanguage.FI)
    decision_sv = _text_area(TextLanguage.SV)


class TypedDateField(Field):
    """A date as people type it (``13.6.2023``, or ``2023-06-13``), read by the services' one
    parser (``fields.parse_date``); shown the Finnish way."""

    widget = TextInput()
    data: date | None

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            self.data = parse_date(str(valuelist[0])[: DATE_TEXT_LENGTH + 1])
        except ValueError as exc:
            self.data = None
            message = _l("Write the date as %(example)s.", example=DATE_EXAMPLE)
            raise ValueError(str(message)) from exc

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return f"{self.data.day}.{self.data.month}.{self.data.year}" if self.data else ""


class AttachmentForm(FlaskForm):
    """Attach a file (its limits are ``AddAttachment``'s, checked by the service)."""

    file = FileField(_l("File"))
    publicity = SelectField(
        _l("Publicity"),
        choices=[SelectChoice(value, _l(label)) for value, label in PUBLICITY.items()],
        default="public",
    )
    confidentiality_ground = StringField(
        _l("Legal ground of confidentiality"),
        validators=[Optional(), CommandLength(AddAttachment, "confidentiality_ground")],
    )
    area = HiddenField(validators=[Optional(), TextLength(high=QUESTION_LENGTH)])


class RemoveAttachmentForm(FlaskForm):
    """Only the CSRF token: removing needs nothing else."""


YES_NO = ("yes", "no")


class SsoForm(FlaskForm):
    """The organisation's single sign-on (``sso.SetProvider``: its limits, its one rule)."""

    issuer = StringField(
        _l("Issuer address of the identity provider"),
        validators=[Required(), CommandLength(SetProvider, "issuer")],
        description=_l(
            "As the provider names itself in its ID tokens (iss), e.g. https://tunnistus.kunta.fi"
        ),
        render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "url"},
    )
    client_id = StringField(
        _l("Client id of eva at the provider"),
        validators=[Required(), CommandLength(SetProvider, "client_id")],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    match_claim = RadioField(
        _l("Users are matched by"),
        default="email",
        validate_choice=False,
        choices=[
            SelectChoice("email", _l("Email address (the email claim, verified by the provider)")),
            SelectChoice("sub", _l("Username in eva (the sub claim)")),
            SelectChoice(
                "preferred_username", _l("Username in eva (the preferred_username claim)")
            ),
        ],
    )
    provision = RadioField(
        _l("Does the first login create a user?"),
        default="no",
        validate_choice=False,
        choices=[
            SelectChoice("yes", _l("Yes, without roles: an administrator grants them")),
            SelectChoice("no", _l("No, only users created in eva log in")),
        ],
    )
    local_passwords = RadioField(
        _l("Local passwords"),
        default="yes",
        description=_l(
            "They can be switched off only after an administrator of the organisation has "
            "logged in once with single sign-on of this provider: no administrator is locked out."
        ),
        validate_choice=False,
        choices=[
            SelectChoice("yes", _l("In use: users may also log in with a password")),
            SelectChoice(
                "no", _l("Not in use: the organisation's users log in only with single sign-on")
            ),
        ],
    )


class CommentForm(FlaskForm):
    """A reviewer's comment (its limits are ``AddComment``'s; the target is sent as it is and
    checked by the service)."""

    text = TextAreaField(_l("Comment"), validators=[Required(), CommandLength(AddComment, "text")])


class ReplyForm(FlaskForm):
    """A reply to a review comment (its limits are ``ReplyToComment``'s)."""

    text = TextAreaField(
        _l("Reply"), validators=[Required(), CommandLength(ReplyToComment, "text")]
    )


class ResolveForm(FlaskForm):
    """Only the CSRF token: marking a comment resolved needs nothing else."""
