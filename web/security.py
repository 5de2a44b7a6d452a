"""Security headers, idle and absolute session timeouts, the session key, the proxy in front
of eva, and tokens kept out of URLs and server logs."""

from __future__ import annotations

import logging
import math
import os
import re
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask, Response, flash, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response as BaseResponse

from eva_engine.config import Settings
from eva_engine.errors import N_, ConfigurationError, Text
from web.api import PREFIX as API_PREFIX
from web.api.problems import problem_response

ABSOLUTE_TIMEOUT = timedelta(hours=10)

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    return response


def _timeouts() -> BaseResponse | None:
    """End a session idle for too long or older than the absolute limit."""
    if not current_user.is_authenticated:
        return None
    now = datetime.now(UTC).timestamp()
    from flask import current_app  # noqa: PLC0415 - app config at request time

    idle: timedelta = current_app.config["EVA_IDLE_TIMEOUT"]
    started = float(session.get("started", now))
    seen = float(session.get("seen", now))
    if now - seen > idle.total_seconds() or now - started > ABSOLUTE_TIMEOUT.total_seconds():
        logout_user()
        session.clear()
        flash(_("Your session ended. Please log in again."), "info")
        return redirect(url_for("auth.login", next=request.full_path))
    session["seen"] = now
    return None


# the session key ------------------------------------------------------------------------------
MIN_SECRET_LENGTH = 32
MIN_SECRET_BITS = 112  # NIST's least security strength for a key
SECRET_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
# Keys that were, or look like, published defaults: refused everywhere.
KNOWN_SECRETS = ("dev-only-not-secret", "changeme", "change-me", "change_me", "replace-me")
# Common words that count as one step of a guess (see estimated_bits).
_WORDS = (
    "password", "passwort", "salasana", "losenord", "secret", "salainen", "hemlig", "changeme",
    "default", "example", "production", "development", "qwerty", "letmein", "admin", "welcome",
    "session", "django", "flask", "monkey", "dragon", "master", "iloveyou", "trustno",
)  # fmt: skip
_WORDLIKE = re.compile(r"[A-Z]?[a-z]{3,}")
_HEX = frozenset("0123456789abcdef")


def _alphabet(key: str) -> int:
    """How many symbols the key's characters are drawn from, judged by the classes it uses."""
    if set(key) <= _HEX or set(key) <= frozenset("0123456789ABCDEF"):
        return 16
    size = 0
    size += 26 if any("a" <= c <= "z" for c in key) else 0
    size += 26 if any("A" <= c <= "Z" for c in key) else 0
    size += 10 if any("0" <= c <= "9" for c in key) else 0
    size += 33 if any(c.isascii() and not c.isalnum() for c in key) else 0
    size += 100 if any(not c.isascii() for c in key) else 0
    return max(size, 2)


def _phrases(key: str) -> int:
    """The key cut, left to right, into the fewest steps a guesser would take: one character,
    or a run or sequence of 3 or more (``aaaa``, ``1234``, ``fedc``), or a repeat of 3 or more
    characters seen earlier, or a common word."""
    key = key[:256]
    lower, n = key.lower(), len(key)
    i = count = 0
    while i < n:
        step = 1
        for word in _WORDS:
            if lower.startswith(word, i):
                step = max(step, len(word))
        if i + 2 < n and (delta := ord(key[i + 1]) - ord(key[i])) in (-1, 0, 1):
            j = i + 1
            while j + 1 < n and ord(key[j + 1]) - ord(key[j]) == delta:
                j += 1
            if j - i + 1 >= 3:
                step = max(step, j - i + 1)
        length = 3
        while i + length <= n and 0 <= key.find(key[i : i + length], 0, i + length - 1) < i:
            length += 1
        if length - 1 >= 3:
            step = max(step, length - 1)
        count += 1
        i += step
    return count


def estimated_bits(key: str) -> float:
    """A guess at the key's strength: its steps (``_phrases``) times the bits of one symbol."""
    return _phrases(key) * math.log2(_alphabet(key)) if key else 0.0


def secret_key_problem(key: str) -> str | None:
    """Why ``key`` is not good enough for production, or None. The rule: at least 32
    characters; not a published default; at most 60 % of it in word-like runs of letters
    (``secret``, ``Production``); and at least 112 bits by ``estimated_bits``, which counts a
    run, a sequence, a repeat or a common word as one step. The output of
    ``secrets.token_urlsafe(48)`` or ``secrets.token_hex(32)`` passes."""
    if len(key) < MIN_SECRET_LENGTH:
        return f"it has {len(key)} characters, fewer than {MIN_SECRET_LENGTH}"
    if any(known in key.lower() for known in KNOWN_SECRETS):
        return "it is, or contains, a published default"
    wordlike = sum(len(m.group()) for m in _WORDLIKE.finditer(key))
    if wordlike > 0.6 * len(key):
        return "it reads like words, not like random characters"
    bits = estimated_bits(key)
    if bits < MIN_SECRET_BITS:
        return f"it is too regular (about {bits:.0f} bits, fewer than {MIN_SECRET_BITS})"
    return None


def instance_secret_key(folder: Path) -> str:
    """The installation's own key in ``folder/secret_key``: made on first run (readable by its
    owner only), read on every later start. Two processes starting at once agree on one key."""
    path = folder / SECRET_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        draft = folder / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(draft, path)  # fails if another process made the file meanwhile
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"{path} holds no usable session key; delete it and start again to make a new one"
        )
    return key


def secret_key(settings: Settings, instance_path: str) -> str:
    """The key that signs session cookies. Production: ``EVA_SECRET_KEY``, refused when missing
    or weak. Elsewhere: ``EVA_SECRET_KEY`` if set; else, in development, the installation's
    own random key under ``instance/`` (made on first run, never in the repository), and in
    tests a random key for each application. A published default is refused everywhere."""
    key = settings.secret_key
    advice = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
    if settings.environment == "production":
        problem = secret_key_problem(key) if key else "it is not set"
        if key and problem is None:
            return key
        raise ConfigurationError(
            f"EVA_SECRET_KEY is refused in production: {problem}; "
            f"set it to a random value, e.g. the output of {advice}"
        )
    if key:
        if any(known in key.lower() for known in KNOWN_SECRETS):
            raise ConfigurationError(
                "EVA_SECRET_KEY is a published default; unset it (a key is made on first run) "
                f"or set a random value, e.g. the output of {advice}"
            )
        return key
    if settings.environment == "test":
        return secrets.token_urlsafe(48)
    return instance_secret_key(settings.instance_dir or Path(instance_path))


class _SecureWhenHttps(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` in production and on every request that came over
    HTTPS (directly, or through a trusted proxy's ``X-Forwarded-Proto``)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(super().get_cookie_secure(app)) or request.is_secure


# tokens in URLs -------------------------------------------------------------------------------
TOKEN_PARAMETERS = frozenset(
    {"access_token", "token", "api_token", "api_key", "apikey", "auth_token", "bearer",
     "authorization", "password", "secret"}
)  # fmt: skip
_TOKEN_VALUE = re.compile(r"eva_[A-Za-z0-9_-]{20,}")
_TOKEN_IN_URL = re.compile(
    r"([?&;](?:" + "|".join(sorted(TOKEN_PARAMETERS)) + r")=)[^&;\s\"']*", re.IGNORECASE
)


def redact(text: str) -> str:
    """``text`` (a request line, a URL) without the values of token parameters or tokens."""
    text = _TOKEN_IN_URL.sub(r"\1[redacted]", text)
    return _TOKEN_VALUE.sub("eva_[redacted]", text)


class RedactTokens(logging.Filter):
    """Keeps tokens out of the server's request log (werkzeug's, gunicorn's access log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


REQUEST_LOGGERS = ("werkzeug", "gunicorn.access")


def _install_log_filter() -> None:
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


def _refuse_token_in_url() -> Response | None:
    """A token belongs in the Authorization header: a URL ends up in logs, browser histories
    and Referer headers. A request carrying one in its query string is refused."""
    found = [
        name
        for name, value in request.args.items(multi=True)
        if name.lower() in TOKEN_PARAMETERS or _TOKEN_VALUE.search(value)
    ]
    if not found:
        return None
    if request.path.startswith(API_PREFIX):
        return problem_response(
            400,
            "token_in_url",
            Text(
                N_(
                    "Send the API token in the Authorization header (Bearer), never in the URL; "
                    "a token that was put in a URL may have been logged: revoke it and make a "
                    "new one."
                )
            ),
        )
    page = render_template(
        "error.html",
        title=_("That did not work"),
        message=_("A password or token does not belong in a web address."),
        request=_Redacted(request),  # the page's own links must not repeat the token
    )
    return Response(page, 400)


class _Redacted:
    """The request as a template sees it, with the token parameters of its URL redacted."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        value = getattr(self._inner, name)
        return redact(value) if isinstance(value, str) and name.endswith(("path", "url")) else value


def init_app(app: Flask, *, trust_proxy: int = 0) -> None:
    if trust_proxy:
        # X-Forwarded-For and -Proto of that many proxies are believed: the client's address
        # for the login throttle, HTTPS for HSTS and Secure cookies. Without it they are ignored.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=trust_proxy, x_proto=trust_proxy
        )
    app.session_interface = _SecureWhenHttps()
    _install_log_filter()
    app.before_request(_refuse_token_in_url)
    app.after_request(_headers)
    app.before_request(_timeouts)
