"""People through /api/v1: an organisation's users (its administrators: list, create, disable
and enable), their role grants (grant, revoke), its single sign-on (read, set), and the token
user's own API tokens (create, list, revoke). Each calls the service command of the web UI and
the command line (services/people/users, accounts, sso, tokens), so the same administrators
may do the same."""

from __future__ import annotations

from flask import url_for
from pydantic import BaseModel, Field

from eva_engine.errors import N_, PermissionDenied, Text
from eva_engine.services.fields import (
    EMAIL_PATTERN,
    USERNAME_PATTERN,
    Code,
    Email,
    Name,
    Username,
)
from eva_engine.services.people import accounts, sso, tokens, users
from eva_engine.vocabulary import Language, Role, TokenScope
from web.api.framework import Call, Reply, api_route
from web.api.schemas import Body
from web.runtime import eva

USERS = "/organisations/<organisation>/users"
SSO = "/organisations/<organisation>/sso"
USER = USERS + "/<username>"


class UserIn(Body):
    """A new account at home in the organisation."""

    command = users.CreateUser
    username: Username = Field(pattern=USERNAME_PATTERN, description="e.g. maija.meikalainen")
    full_name: Name = Field(min_length=1)
    email: Email | None = Field(default=None, pattern=EMAIL_PATTERN)
    title: Name | None = None
    language: Language = Language.FI


class GrantIn(Body):
    """A role in the organisation, or in one of its bodies."""

    command = users.GrantRole
    role: Role
    body: Code | None = Field(default=None, description="The body's code, e.g. KH; none: all")


class GrantKey(Body):
    command = users.GrantRole
    role: Role
    body: Code | None = Field(default=None, description="The body's code, e.g. KH")


class UserList(BaseModel):
    items: list[users.UserView]


class TokenList(BaseModel):
    items: list[tokens.TokenView]


class ActiveView(BaseModel):
    username: str
    active: bool


@api_route("GET", USERS, summary="Users of an organisation", tag="people", response=UserList)
def list_users(call: Call, organisation: str) -> Reply:
    """The users at home in the organisation with their grants there (its administrators)."""
    return Reply(UserList(items=users.list_users(eva(), call.caller, organisation)))


@api_route(
    "POST",
    USERS,
    summary="Create a user",
    tag="people",
    response=users.UserView,
    status=201,
    body=UserIn,
)
def create_user(call: Call, organisation: str) -> Reply:
    """A new account at home in the organisation (its administrators). The user sets a
    password of their own through the administrator's reset; grants are given separately."""
    cmd = users.CreateUser(**call.body.model_dump())
    return Reply(users.create_user(eva(), call.caller, cmd, organisation), status=201)


def _set_active(call: Call, organisation: str, username: str, active: bool) -> Reply:
    accounts.set_active(eva(), call.caller, username, active, organisation)
    return Reply(ActiveView(username=username, active=active))


@api_route("POST", USER + "/disable", summary="Disable a user", tag="people", response=ActiveView)
def disable_user(call: Call, organisation: str, username: str) -> Reply:
    """The account can no longer log in or use its tokens; its sessions end at once."""
    return _set_active(call, organisation, username, active=False)


@api_route("POST", USER + "/enable", summary="Enable a user", tag="people", response=ActiveView)
def enable_user(call: Call, organisation: str, username: str) -> Reply:
    """A disabled account may log in again."""
    return _set_active(call, organisation, username, active=True)


@api_route(
    "POST",
    USER + "/grants",
    summary="Grant a role",
    tag="people",
    response=users.GrantView,
    status=201,
    body=GrantIn,
)
def grant_role(call: Call, organisation: str, username: str) -> Reply:
    """A role of the organisation (or of one of its bodies) to a user at home there."""
    body: GrantIn = call.body
    cmd = users.GrantRole(
        username=username, organisation=organisation, role=body.role, body=body.body
    )
    return Reply(users.grant_role(eva(), call.caller, cmd), status=201)


@api_route(
    "DELETE",
    USER + "/grants",
    summary="Revoke a role",
    tag="people",
    response=users.GrantView,
    query=GrantKey,
)
def revoke_role(call: Call, organisation: str, username: str) -> Reply:
    """The grant named by ``role`` (and ``body``) ends; it stays in the history."""
    key: GrantKey = call.query
    cmd = users.GrantRole(
        username=username, organisation=organisation, role=key.role, body=key.body
    )
    return Reply(users.revoke_role(eva(), call.caller, cmd))


@api_route("GET", "/tokens", summary="My API tokens", tag="tokens", response=TokenList)
def list_my_tokens(call: Call) -> Reply:
    """The token user's own tokens, newest first (never their secrets)."""
    return Reply(TokenList(items=tokens.list_tokens(eva(), call.caller)))


@api_route(
    "POST",
    "/tokens",
    summary="Create an API token",
    tag="tokens",
    response=tokens.CreatedToken,
    status=201,
    body=tokens.CreateToken,
    replayable=False,
)
def create_my_token(call: Call) -> Reply:
    """A new token of the token's user, shown this once (only its hash is kept; a retry makes
    another). The ``sign`` scope only from a token that has it."""
    cmd: tokens.CreateToken = call.body
    if TokenScope.SIGN in cmd.scopes and not call.caller.confirmed:
        raise PermissionDenied(
            Text(N_("Only a token with the sign scope can make a token with the sign scope."))
        )
    created = tokens.create_token(eva(), call.caller, cmd)
    return Reply(
        created, status=201, location=url_for("api.list_my_tokens") + f"#{created.details.id}"
    )


@api_route(
    "DELETE",
    "/tokens/<int(signed=True):token_id>",
    summary="Revoke an API token",
    tag="tokens",
    response=tokens.TokenView,
)
def revoke_my_token(call: Call, token_id: int) -> Reply:
    """One of the token user's own tokens, or, for an administrator, a token of a user at home
    in their organisation; it stops working at once."""
    return Reply(tokens.revoke_token(eva(), call.caller, token_id))


@api_route(
    "GET", SSO, summary="Single sign-on of an organisation", tag="people", response=sso.ProviderView
)
def get_sso(call: Call, organisation: str) -> Reply:
    """The organisation's identity provider (its administrators), as ``eva sso show``: issuer,
    client id, the claim users are matched by, provisioning, local passwords, and whether the
    client secret is set in the server's environment (never the secret). 404 if none is
    configured."""
    return Reply(sso.show_provider(eva(), call.caller, organisation))


@api_route(
    "PUT",
    SSO,
    summary="Set the single sign-on of an organisation",
    tag="people",
    response=sso.ProviderView,
    body=sso.SetProvider,
)
def put_sso(call: Call, organisation: str) -> Reply:
    """Configure or change the organisation's identity provider (its administrators), as
    ``eva sso set`` and the administration's page do: the whole setting, a field left out takes
    its default. Local passwords are switched off only once an administrator of the
    organisation has logged in with single sign-on of this provider (else 422 at
    ``local_passwords``). The client secret is never sent here: it is the server's
    ``EVA_SSO_<CODE>_CLIENT_SECRET``."""
    cmd: sso.SetProvider = call.body
    return Reply(sso.set_provider(eva(), call.caller, cmd, organisation))
