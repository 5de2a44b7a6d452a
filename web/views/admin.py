"""Administration of one organisation: users and their roles, bodies, meetings, its single
sign-on, and the published workflow versions with the proposals running on each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from pydantic import ValidationError
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]

from eva_engine.errors import N_, Conflict, Contended, EvaError, InvalidInput, Problem, Text
from eva_engine.rendering.messages import FALLBACK
from eva_engine.services import definitions, fields, paging
from eva_engine.services.people import accounts, administration, organisations, sso, users
from eva_engine.vocabulary import BodyKind, Language, Role
from web.forms import (
    YES_NO,
    ActionForm,
    BodyForm,
    MeetingForm,
    SsoForm,
    UserForm,
    attach,
    command_problems,
)
from web.i18n import error_message, problem_text
from web.runtime import caller, eva

bp = Blueprint("admin", __name__, url_prefix="/admin")
LOCAL = ZoneInfo("Europe/Helsinki")


USERS_CURSOR = "users-after"


@bp.get("/")
@login_required
def index() -> str:
    after = request.args.get("after") or None
    overview = administration.overview(
        eva(),
        caller(),
        since=datetime.now(UTC) - timedelta(days=60),
        users_after=paging.parts(USERS_CURSOR, after, 1)[0] if after else None,
        users_limit=paging.PAGE_SIZE,
    )
    following = overview.next_user
    return render_template(
        "admin.html",
        overview=overview,
        users=overview.users,
        next_cursor=paging.cursor(USERS_CURSOR, following) if following else None,
        versions=definitions.published_versions(eva(), caller()),
        roles=list(Role),
        action=ActionForm(),
    )


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
def new_user() -> tuple[str, int] | Response:
    organisation = administration.administered(eva(), caller())
    form = UserForm()
    if form.is_submitted():
        # Every problem at once: the form's checks, the command's and the password's.
        valid = form.validate()
        command, problems = command_problems(
            lambda: users.CreateUser.model_validate(
                {
                    "username": form.username.data or "",
                    "full_name": form.full_name.data or "",
                    "email": form.email.data or None,
                    "title": form.title.data or None,
                    "language": form.language.data or Language.FI.value,
                }
            )
        )
        if form.password.data:
            problems += accounts.password_problems(form.password.data, form.username.data or "")
        if valid and command is not None and not problems:
            try:
                created = users.create_user(eva(), caller(), command, organisation=organisation)
                accounts.set_password(
                    eva(),
                    caller(),
                    created.username,
                    form.password.data or "",
                    organisation=organisation,
                )
            except Contended:
                raise  # someone was saving at the same moment: the request is retried whole
            except Conflict as exc:
                problems = [Problem.of("username", exc.text or FALLBACK)]
            except InvalidInput as exc:
                problems = exc.problems
            else:
                flash(
                    _("The user %(name)s was created; now grant a role.", name=created.username),
                    "success",
                )
                return redirect(url_for("admin.index"))
        attach(form, problems, fallback="username")
    return render_template("admin_user.html", form=form), 422 if form.errors else 200


@bp.post("/users/<username>/active")
@login_required
def set_active(username: str) -> Response:
    if ActionForm().validate_on_submit():
        active = request.form.get("active") == "1"
        organisation = administration.administered(eva(), caller())
        accounts.set_active(eva(), caller(), username, active, organisation=organisation)
        flash(
            _("The account %(name)s is in use again.", name=username)
            if active
            else _("The account %(name)s was disabled and its sessions ended.", name=username),
            "success",
        )
    return redirect(url_for("admin.index"))


@bp.post("/grants")
@login_required
def grant() -> Response:
    form = request.form
    organisation = administration.administered(eva(), caller())
    try:
        command = users.GrantRole.model_validate(
            {
                "username": form.get("username", ""),
                "organisation": organisation,
                "role": form.get("role", ""),
                "body": form.get("body") or None,
            }
        )
        users.grant_role(eva(), caller(), command)
    except ValidationError:
        flash(_("The role was not granted: choose a role from the list."), "error")
    except EvaError as exc:
        why = error_message(exc)
        flash(_("The role was not granted: %(why)s", why=why), "error")
    else:
        flash(_("The role was granted."), "success")
    return redirect(url_for("admin.index"))


@bp.post("/grants/revoke")
@login_required
def revoke() -> Response:
    form = request.form
    if ActionForm().validate_on_submit():
        try:
            command = users.GrantRole.model_validate(
                {
                    "username": form.get("username", ""),
                    "organisation": administration.administered(eva(), caller()),
                    "role": form.get("role", ""),
                    "body": form.get("body") or None,
                }
            )
        except ValidationError:
            flash(_("The role was not revoked: choose a role from the list."), "error")
        else:
            users.revoke_role(eva(), caller(), command)
            flash(_("The role was revoked."), "success")
    return redirect(url_for("admin.index"))


@bp.route("/bodies/new", methods=["GET", "POST"])
@login_required
def new_body() -> tuple[str, int] | Response:
    organisation = administration.administered(eva(), caller())
    form = BodyForm()
    if form.is_submitted():
        valid = form.validate()
        command, problems = command_problems(
            lambda: organisations.CreateBody.model_validate(
                {
                    "organisation": organisation,
                    "code": (form.code.data or "").upper(),
                    "name_fi": form.name_fi.data or "",
                    "name_sv": form.name_sv.data or None,
                    "kind": form.kind.data or BodyKind.COMMITTEE.value,
                }
            )
        )
        if valid and command is not None:
            try:
                organisations.create_body(eva(), caller(), command)
            except Contended:
                raise  # someone was saving at the same moment: the request is retried whole
            except Conflict:
                problems = [Problem.of("code", Text(N_("There is a body with this code already.")))]
            else:
                flash(_("The body was created."), "success")
                return redirect(url_for("admin.index"))
        attach(form, problems, fallback="code")
    return render_template("admin_body.html", form=form), 422 if form.errors else 200


def _meeting_start(date_text: str, time_text: str) -> datetime | None:
    """13.6.2027 or 2027-06-13, and 16:00, 16.00 or klo 16.00, in Finnish time: the services'
    one parser (``fields.parse_datetime``)."""
    if not date_text.strip() or not time_text.strip():
        return None
    try:
        return fields.parse_datetime(f"{date_text.strip()} {time_text.strip()}")
    except ValueError:
        return None


@bp.route("/meetings/new", methods=["GET", "POST"])
@login_required
def new_meeting() -> tuple[str, int] | Response:
    overview = administration.overview(eva(), caller(), since=datetime.now(UTC), users_limit=0)
    form = MeetingForm()
    form.body.choices = [SelectChoice(b.code, f"{b.code} – {b.name_fi}") for b in overview.bodies]
    if form.validate_on_submit():
        starts = _meeting_start(form.date.data or "", form.time.data or "")
        if starts is None:
            form.date.errors = [
                *form.date.errors,
                _("Give a date like 13.6.2027 and a time like 16:00."),
            ]
        else:
            try:
                organisations.create_meeting(
                    eva(),
                    caller(),
                    organisations.CreateMeeting(
                        organisation=overview.organisation,
                        body=form.body.data or "",
                        starts_at=starts,
                        location=form.location.data or None,
                    ),
                )
            except ValidationError as exc:
                attach(form, fields.problems(exc), fallback="body")
            else:
                flash(_("The meeting was created."), "success")
                return redirect(url_for("admin.index"))
    return render_template("admin_meeting.html", form=form), 422 if form.errors else 200


@bp.post("/workflows/publish")
@login_required
def publish() -> Response:
    administration.administered(eva(), caller())
    if ActionForm().validate_on_submit():
        eva().reload_definitions()
        try:
            report = definitions.publish(eva(), caller())
        except EvaError as exc:
            found = [problem_text(p) for p in getattr(exc, "problems", [])]
            flash(" ".join([error_message(exc), *found]), "error")
        else:
            if report.published:
                flash(_("Published: %(versions)s", versions=", ".join(report.published)), "success")
            else:
                flash(_("Every version in the definition files is published already."), "success")
    return redirect(url_for("admin.index"))


def _sso_form(current: sso.ProviderView | None) -> SsoForm:
    """The form: as sent, or (a first visit) the organisation's settings as they are."""
    if current is None or request.method == "POST":
        return SsoForm()
    return SsoForm(
        data={
            "issuer": current.issuer,
            "client_id": current.client_id,
            "match_claim": current.match_claim,
            "provision": "yes" if current.provision else "no",
            "local_passwords": "yes" if current.local_passwords else "no",
        }
    )


def _yes(value: object) -> bool | str:
    """A yes/no choice as the command's yes or no; anything else is left for it to refuse."""
    return value == "yes" if value in YES_NO else str(value or "")


@bp.route("/sso", methods=["GET", "POST"])
@login_required
def single_sign_on() -> tuple[str, int] | Response:
    """The organisation's single sign-on: its administrators change it with the command of
    ``eva sso set`` (``sso.SetProvider``); the client secret is never here, only whether the
    server's environment has it."""
    organisation = administration.administered(eva(), caller())
    current = sso.configured_provider(eva(), caller(), organisation)
    form = _sso_form(current)
    if form.is_submitted():
        valid = form.validate()
        command, problems = command_problems(
            lambda: sso.SetProvider.model_validate(
                {
                    "issuer": form.issuer.data or "",
                    "client_id": form.client_id.data or "",
                    "match_claim": form.match_claim.data or "",
                    "provision": _yes(form.provision.data),
                    "local_passwords": _yes(form.local_passwords.data),
                }
            )
        )
        if valid and command is not None:
            try:
                sso.set_provider(eva(), caller(), command, organisation)
            except Contended:
                raise  # someone was saving at the same moment: the request is retried whole
            except InvalidInput as exc:
                problems = exc.problems
            else:
                flash(_("The single sign-on settings were saved."), "success")
                return redirect(url_for("admin.single_sign_on"))
        attach(form, problems, fallback="issuer")
    page = render_template(
        "admin_sso.html",
        form=form,
        current=current,
        organisation=organisation,
        secret_variable=sso.secret_variable(organisation),
        secret_configured=sso.client_secret(organisation) is not None,
        redirect_uri=url_for("auth.oidc_callback", organisation=organisation, _external=True),
    )
    return page, 422 if form.errors else 200
