"""Access to the engine from a request."""

from __future__ import annotations

from flask import current_app, g
from flask_login import current_user

from eva_engine.errors import EvaError
from eva_engine.services.people import directory
from eva_engine.services.runtime import Caller, Eva


def eva() -> Eva:
    engine: Eva = current_app.extensions["eva"]
    return engine


def caller(*, confirmed: bool = False) -> Caller:
    """The logged-in user as the engine's caller (views require a login). ``confirmed``: the
    view has just checked the user's password again (the presenter's sign-off)."""
    return Caller(current_user.username, "web", confirmed=confirmed)


def capabilities() -> directory.Capabilities:
    """What the logged-in user can do at all (the menu), read once per request by the rules
    the services check. Nothing for a visitor; nothing either when it cannot be read (an
    error page of an unavailable database still renders)."""
    if not current_user.is_authenticated:
        return directory.Capabilities()
    found: directory.Capabilities | None = g.get("eva_capabilities")
    if found is None:
        try:
            found = directory.capabilities(eva(), caller())
        except EvaError:
            found = directory.Capabilities()
        g.eva_capabilities = found
    return found
