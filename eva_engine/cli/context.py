"""What every command shares: the engine of this invocation (built once from the
environment, or given by a test as the root context's ``obj``), the settings, and who acts."""

from __future__ import annotations

import click

from eva_engine.config import Settings
from eva_engine.services.runtime import Caller, Eva

AS_HELP = (
    "The user who acts, with exactly that user's roles. The command line is the operator on the "
    "server: without --as it acts as the operator; with --as USER it acts as USER (an "
    "administrator acting on the server), and steps that need re-authentication, such as the "
    "presenter's sign-off, count as confirmed."
)
as_user = click.option("--as", "username", metavar="USER", help=AS_HELP)


def settings() -> Settings:
    return Settings.from_env()


def engine(ctx: click.Context | None = None) -> Eva:
    """The ``Eva`` of this invocation: made on first use and disposed of when ``eva`` ends."""
    root = (ctx or click.get_current_context()).find_root()
    if root.obj is None:
        root.obj = Eva.from_settings(settings())
        root.call_on_close(root.obj.database.dispose)
    eva: Eva = root.obj
    return eva


def caller(username: str | None, client: str = "cli") -> Caller:
    """Whoever runs ``eva`` controls the server (its database and its files): the command line
    is confirmed, the password the web UI asks adds nothing here (see ``AS_HELP``)."""
    return Caller(username=username, client=client, confirmed=True)
