"""``eva sso``: an organisation's single sign-on through its OpenID Connect identity provider
(docs/security.md, "Single sign-on"). The client secret is never given here: it is read from
``EVA_SSO_<CODE>_CLIENT_SECRET`` in the server's environment."""

from __future__ import annotations

import typing

import click

from eva_engine.cli.commands import cli
from eva_engine.cli.context import AS_HELP, caller, engine
from eva_engine.cli.output import Unit, emit, reported
from eva_engine.cli.words import Words
from eva_engine.services.people import sso


@cli.group("sso")
def sso_group() -> None:
    """Single sign-on: an organisation's identity provider (its administrators only)."""


def _show(view: sso.ProviderView) -> None:
    w = Words.here()
    click.echo(
        w._(
            "%(organisation)s: %(issuer)s (client %(client)s)",
            organisation=view.organisation,
            issuer=view.issuer,
            client=view.client_id,
        )
    )
    click.echo("  " + w._("users matched by the claim: %(claim)s", claim=view.match_claim))
    click.echo("  " + w._("first login creates a user: %(yes)s", yes=w.yes_no(view.provision)))
    passwords = w._("allowed") if view.local_passwords else w._("refused")
    click.echo("  " + w._("local passwords: %(passwords)s", passwords=passwords))
    secret = sso.secret_variable(view.organisation)
    state = w._("set") if view.secret_configured else w._("NOT SET: the login page offers no link")
    click.echo("  " + w._("client secret (%(variable)s): %(state)s", variable=secret, state=state))


@sso_group.command("set")
@click.option("--org", "organisation", required=True, help="The organisation's code.")
@click.option("--issuer", required=True, help="The provider's issuer URL (its `iss`).")
@click.option("--client-id", required=True, help="eva's client id at the provider.")
@click.option(
    "--match-claim",
    type=click.Choice(typing.get_args(sso.MatchClaim)),
    default="email",
    show_default=True,
    help="The ID token's claim that names the user within the organisation.",
)
@click.option(
    "--provision/--no-provision",
    default=False,
    show_default=True,
    help="Whether a first login creates a user (with no roles).",
)
@click.option(
    "--local-passwords/--no-local-passwords",
    default=True,
    show_default=True,
    help="Whether the organisation's users may still log in with a password.",
)
@click.option("--as", "actor", metavar="USER", help="The administrator. " + AS_HELP)
def sso_set(
    organisation: str,
    issuer: str,
    client_id: str,
    match_claim: str,
    provision: bool,
    local_passwords: bool,
    actor: str | None,
) -> None:
    """Configure (or change) the organisation's identity provider."""
    with reported():
        view = sso.set_provider(
            engine(),
            caller(actor),
            sso.SetProvider(
                issuer=issuer,
                client_id=client_id,
                match_claim=typing.cast(sso.MatchClaim, match_claim),
                provision=provision,
                local_passwords=local_passwords,
            ),
            organisation,
        )
        emit(view, lambda: _show(view))


@sso_group.command("show", unit=Unit.READ)
@click.option("--org", "organisation", required=True, help="The organisation's code.")
@click.option("--as", "actor", metavar="USER", help="The administrator. " + AS_HELP)
def sso_show(organisation: str, actor: str | None) -> None:
    """The organisation's identity provider."""
    with reported():
        view = sso.show_provider(engine(), caller(actor), organisation)
        emit(view, lambda: _show(view))
