"""``eva tokens``: a user's API tokens (docs/api.md). A new token is printed once; eva keeps
only its SHA-256."""

from __future__ import annotations

import click

from eva_engine.cli.commands import cli
from eva_engine.cli.context import AS_HELP, caller, engine
from eva_engine.cli.output import Unit, emit, reported
from eva_engine.cli.params import ID, WholeNumber
from eva_engine.cli.words import TOKEN_STATES, Words
from eva_engine.errors import N_
from eva_engine.services.people import tokens
from eva_engine.vocabulary import TokenScope


@cli.group("tokens")
def tokens_group() -> None:
    """API tokens: create, list and revoke (a named user's own; an administrator may also revoke
    the tokens of their organisation's users)."""


@tokens_group.command("create")
@click.option(
    "--as", "username", metavar="USER", required=True, help="The token's user. " + AS_HELP
)
@click.option("--name", required=True, help="What the token is for, e.g. 'Dynasty sync'.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice([s.value for s in TokenScope]),
    default=[s.value for s in tokens.DEFAULT_SCOPES],
    show_default=True,
    help="read (GET requests), write (changes), sign (sign off as the presenter without the "
    "password the web UI asks; needs write, never given unless named); repeat for more.",
)
@click.option(
    "--expires-days",
    type=WholeNumber(1, tokens.MAX_EXPIRY_DAYS),
    default=90,
    show_default=True,
    help="Days until the token expires.",
)
def tokens_create(username: str, name: str, scopes: tuple[str, ...], expires_days: int) -> None:
    """Create a token; it is shown this once."""
    with reported():
        created = tokens.create_token(
            engine(),
            caller(username),
            tokens.CreateToken(
                name=name, scopes=[TokenScope(s) for s in scopes], expires_days=expires_days
            ),
        )

        w = Words.here()

        def human() -> None:
            d = created.details
            click.echo(
                w._(
                    "Token %(id)s '%(name)s' (%(scopes)s), expires %(time)s.",
                    id=d.id,
                    name=d.name,
                    scopes=", ".join(d.scopes),
                    time=w.time(d.expires_at),
                )
            )
            click.echo(w._("Copy it now; it is not shown again:"))
            click.echo(created.token)

        emit(created, human)


@tokens_group.command("list", unit=Unit.READ)
@click.option("--as", "username", metavar="USER", required=True, help="Whose tokens. " + AS_HELP)
def tokens_list(username: str) -> None:
    """The user's tokens (never their secrets)."""
    with reported():
        views = tokens.list_tokens(engine(), caller(username))

        w = Words.here()

        def human() -> None:
            if not views:
                click.echo(w._("%(username)s has no API tokens.", username=username))
                return
            rows = [
                [
                    t.id,
                    f"{t.prefix}…",
                    t.name,
                    ", ".join(t.scopes),
                    w.enum(
                        TOKEN_STATES,
                        "revoked" if t.revoked_at else ("active" if t.active else "expired"),
                    ),
                    w.time(t.expires_at),
                    w.time(t.last_used_at),
                ]
                for t in views
            ]
            headers = [
                N_("No."),
                N_("Token"),
                N_("Name"),
                N_("Scopes"),
                N_("Status"),
                N_("Expires"),
                N_("Last used"),
            ]
            for line in w.table(headers, rows):
                click.echo(line)

        emit(views, human)


@tokens_group.command("revoke")
@click.argument("token_id", type=ID)
@click.option(
    "--as",
    "username",
    metavar="USER",
    required=True,
    help="The token's user, or an administrator of the user's organisation. " + AS_HELP,
)
def tokens_revoke(token_id: int, username: str) -> None:
    """Revoke a token at once."""
    with reported():
        view = tokens.revoke_token(engine(), caller(username), token_id)
        w = Words.here()
        emit(
            view,
            lambda: click.echo(w._("Token %(id)s '%(name)s' revoked.", id=view.id, name=view.name)),
        )
