"""Logging in and out. Sessions are checked against the server on every request (the user's
session epoch), so logout, a password change and disabling an account end them at once."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from werkzeug.wrappers import Response

from eva_engine.errors import InvalidInput, PermissionDenied
from eva_engine.services.people import accounts, sso
from eva_engine.services.people.accounts import SessionUser
from web import oidc, throttle
from web.forms import LoginForm, PasswordForm, problem_message
from web.i18n import error_message
from web.runtime import caller, eva

bp = Blueprint("auth", __name__)
login_manager = LoginManager()


class WebUser(UserMixin):
    def __init__(self, user: SessionUser) -> None:
        self.user = user
        self.username = user.username
        self.full_name = user.full_name
        self.language = user.language.value

    def get_id(self) -> str:
        return f"{self.user.id}:{self.user.epoch}"


@login_manager.user_loader
def load_user(session_id: str) -> WebUser | None:
    if request.endpoint == "static":
        return None  # a static file is the same for everyone: no database for it
    try:
        user_id, epoch = (int(part) for part in session_id.split(":"))
    except ValueError:
        return None
    found = accounts.session_user(eva(), user_id, epoch)
    return WebUser(found) if found else None


def _safe_next(target: str | None) -> str:
    """Only a path on this site, never another host (open redirect). Browsers read a backslash
    as a slash and drop tabs and newlines, so ``/\\evil.example`` would be ``//evil.example``:
    a target with either is refused too."""
    unsafe = (
        target is None or "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)
    )
    if target and not unsafe and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("work.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        username = form.username.data or ""
        wait = throttle.login_locked(username)
        if wait is not None:
            # The password is not checked while the account or the address is locked.
            page = render_template("login.html", form=form, locked=throttle.locked_message(wait))
            return Response(page, 429, {"Retry-After": str(wait)})
        try:
            user = accounts.authenticate(eva(), username, form.password.data or "")
        except PermissionDenied as exc:  # the organisation's local passwords are off
            form.password.errors = [error_message(exc)]
            return render_template("login.html", form=form, providers=_providers())
        if user is not None:
            response = start_session(user, _safe_next(form.next.data))
            throttle.login_succeeded(response, username)
            return response
        throttle.login_failed(username)
        form.password.errors = [_("Wrong username or password.")]
    return render_template("login.html", form=form, providers=_providers())


def _providers() -> list[sso.ProviderView]:
    return sso.login_options(eva())


def start_session(user: SessionUser, target: str) -> Response:
    """Log the user in (password or single sign-on alike) and go to ``target``."""
    session.clear()  # a new session for the new login: no fixation
    login_user(WebUser(user))
    now = datetime.now(UTC).timestamp()
    session["started"] = session["seen"] = now
    return redirect(target)


@bp.get("/login/oidc/<organisation>")
def oidc_login(organisation: str) -> Response:
    """To the organisation's identity provider, with state, nonce and PKCE."""
    provider = sso.provider_for(eva(), organisation)
    if provider is None or not provider.secret_configured:
        flash(str(error_message(PermissionDenied("no provider", text=sso.REFUSED))), "error")
        return redirect(url_for("auth.login"))
    redirect_uri = url_for("auth.oidc_callback", organisation=organisation, _external=True)
    return redirect(
        oidc.authorization_url(provider, redirect_uri, _safe_next(request.args.get("next")))
    )


@bp.get("/login/oidc/<organisation>/callback")
def oidc_callback(organisation: str) -> Response:
    """The provider's answer: the code exchanged, the ID token validated, the user logged in."""
    provider = sso.provider_for(eva(), organisation)
    try:
        if provider is None:
            raise PermissionDenied("no provider", text=sso.REFUSED)
        redirect_uri = url_for("auth.oidc_callback", organisation=organisation, _external=True)
        claims, target = oidc.complete(provider, redirect_uri, request.args)
        user = sso.sign_in(eva(), organisation, claims)
    except PermissionDenied as exc:
        flash(error_message(exc), "error")
        return redirect(url_for("auth.login"))
    return start_session(user, target)


@bp.post("/logout")
@login_required
def logout() -> Response:
    accounts.end_sessions(eva(), current_user.user.id)
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> str | Response:
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            accounts.set_password(
                eva(),
                caller(),
                current_user.username,
                form.new_password.data or "",
                form.current_password.data or "",
            )
        except InvalidInput as exc:
            target = (
                form.current_password
                if exc.problems and exc.problems[0].location == "current_password"
                else form.new_password
            )
            target.errors = [problem_message(p) for p in exc.problems]
        else:
            logout_user()
            session.clear()
            flash(_("Your password was changed. Log in with the new password."), "info")
            return redirect(url_for("auth.login"))
    return render_template("password.html", form=form)


def init_app(app: Flask) -> None:
    oidc.init_app(app)  # the identity providers' metadata, kept in this process
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = ""
    login_manager.session_protection = "strong"
    app.register_blueprint(bp)
