"""Throttling of password guessing: failed logins per account and per client address, and
failed API tokens per address, counted in fixed windows by ``limits`` in a storage that every
worker process shares (eva's database by default, ``EVA_RATELIMIT_STORAGE_URI`` otherwise).

* Only failures count. A login is refused (429 with ``Retry-After``) while the account has had
  ``EVA_LOGIN_ACCOUNT_ATTEMPTS`` failures in its window, or the client address
  ``EVA_LOGIN_ADDRESS_ATTEMPTS``; the password is then not even checked, so guessing stops
  however the guesses are spread over addresses.
* A lock lasts at most the window (``EVA_LOGIN_WINDOW_SECONDS``, 15 minutes): the window starts
  at the first failure and is never extended by the refused attempts.
* A browser in which someone logged in to the account before carries a signed *device cookie*
  for it; its attempts are counted under a key of their own, so an attacker who locks the
  account from elsewhere does not lock out its owner on their usual browser.
* The account is known only as an HMAC of the typed username under the secret key: a password
  typed into the username field is never stored in the counters.
* Behind a proxy the client address is the proxy's unless ``EVA_TRUST_PROXY`` is set; IPv6
  addresses count per /64 (one host usually holds a whole /64)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
import time
from dataclasses import dataclass

from flask import Flask, Response, current_app, request
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.errors import StorageError
from limits.strategies import FixedWindowRateLimiter
from werkzeug.wrappers import Response as BaseResponse

from eva_engine.config import ThrottleSettings
from eva_engine.errors import N_, Text, Unavailable
from eva_engine.services.people import throttle as counters
from eva_engine.services.runtime import Eva
from web.api import PREFIX as API_PREFIX
from web.api.problems import problem_response

EXTENSION = "eva.throttle"
DEVICE_COOKIE = "eva_device"
DEVICE_MAX_AGE = 90 * 24 * 3600  # a device cookie is renewed by every successful login
_DEVICE_SALT = "eva.login-device"


@dataclass(frozen=True)
class Throttle:
    limiter: FixedWindowRateLimiter
    account: RateLimitItem
    address: RateLimitItem
    token: RateLimitItem


def init_app(app: Flask, eva: Eva, settings: ThrottleSettings) -> None:
    window = settings.window_seconds
    app.extensions[EXTENSION] = Throttle(
        limiter=FixedWindowRateLimiter(counters.storage(eva, settings.storage_uri)),
        account=RateLimitItemPerSecond(settings.account_attempts, window),
        address=RateLimitItemPerSecond(settings.address_attempts, window),
        token=RateLimitItemPerSecond(settings.token_attempts, window),
    )
    app.before_request(_api_token_lock)
    app.after_request(_api_token_failed)


def _throttle() -> Throttle:
    found: Throttle = current_app.extensions[EXTENSION]
    return found


def _unavailable(exc: StorageError) -> Unavailable:
    return Unavailable(
        f"the login throttle's storage is unavailable ({type(exc.storage_error).__name__})",
        text=Text(N_("The database is unavailable; nothing was changed. Please try again.")),
    )


# who is counted ------------------------------------------------------------------------------
def client_address() -> str:
    """The client's address (the proxy's, unless ``EVA_TRUST_PROXY``); an IPv6 one as its /64."""
    raw = request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def account_id(username: str) -> str:
    """The account as the login finds it (trimmed, lower case), as an HMAC under the secret key."""
    normal = username.strip().lower().encode()
    key = str(current_app.secret_key).encode()
    return hmac.new(key, b"eva.login-account:" + normal, hashlib.sha256).hexdigest()[:40]


def _devices() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.secret_key), salt=_DEVICE_SALT)


def _device(account: str) -> str | None:
    """This browser's device id for the account, if it carries a valid cookie for it."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        value = _devices().loads(raw, max_age=DEVICE_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(value, dict) or value.get("a") != account:
        return None
    device = value.get("d")
    return device if isinstance(device, str) else None


def _login_limits(username: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    t = _throttle()
    account = account_id(username)
    device = _device(account)
    per_account = ("login", "account", account) + (("device", device) if device else ())
    return [(t.account, per_account), (t.address, ("login", "address", client_address()))]


# logins --------------------------------------------------------------------------------------
def _wait(limits: list[tuple[RateLimitItem, tuple[str, ...]]]) -> int | None:
    """Seconds until every exhausted limit's window ends; None when none is exhausted."""
    limiter = _throttle().limiter
    waits: list[int] = []
    try:
        for item, identity in limits:
            if not limiter.test(item, *identity):
                reset = limiter.get_window_stats(item, *identity).reset_time
                waits.append(max(1, math.ceil(reset - time.time())))
    except StorageError as exc:
        raise _unavailable(exc) from exc
    return max(waits) if waits else None


def login_locked(username: str) -> int | None:
    """Seconds to wait before this login may be tried (None: it may be tried now)."""
    return _wait(_login_limits(username))


def login_failed(username: str) -> None:
    """Count a failed login against the account and the client address."""
    limiter = _throttle().limiter
    try:
        for item, identity in _login_limits(username):
            limiter.hit(item, *identity)
    except StorageError as exc:
        raise _unavailable(exc) from exc


def login_succeeded(response: BaseResponse, username: str) -> None:
    """Give this browser a device cookie for the account (it resets no counter)."""
    value = _devices().dumps({"a": account_id(username), "d": secrets.token_urlsafe(12)})
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=DEVICE_MAX_AGE,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure,
        httponly=True,
        samesite="Strict",
    )


def minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


# API tokens ----------------------------------------------------------------------------------
def _token_limit() -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    return [(_throttle().token, ("api-token", "address", client_address()))]


def _presents_token() -> bool:
    return request.path.startswith(API_PREFIX) and "Authorization" in request.headers


def _api_token_lock() -> Response | None:
    if not _presents_token():
        return None
    try:
        wait = _wait(_token_limit())
    except Unavailable:
        return problem_response(
            503, "unavailable", Text(N_("The service is unavailable for a moment; try again."))
        )
    if wait is None:
        return None
    return problem_response(
        429,
        "too_many_requests",
        Text(
            N_(
                "Too many requests with a wrong API token from this address; try again in "
                "%(seconds)s seconds."
            ),
            {"seconds": wait},
        ),
        headers={"Retry-After": str(wait)},
    )


def _api_token_failed(response: Response) -> Response:
    if response.status_code == 401 and _presents_token():
        limiter = _throttle().limiter
        try:
            for item, identity in _token_limit():
                limiter.hit(item, *identity)
        except StorageError:
            current_app.logger.warning("the API token throttle could not count a failure")
    return response


def locked_message(seconds: int) -> str:
    text: str = _(
        "Too many failed logins. Please try again in %(minutes)s min.", minutes=minutes(seconds)
    )
    return text
