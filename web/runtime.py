"""Access to the engine from a request."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user

from eva_engine.services.runtime import Caller, Eva


def eva() -> Eva:
    engine: Eva = current_app.extensions["eva"]
    return engine


def caller(*, confirmed: bool = False) -> Caller:
    """The logged-in user as the engine's caller (views require a login). ``confirmed``: the
    view has just checked the user's password again (the presenter's sign-off)."""
    return Caller(current_user.username, "web", confirmed=confirmed)
