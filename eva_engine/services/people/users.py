"""People and their role grants. Grants are revoked, never deleted, so history stays whole.

Every account has a home organisation, whose administrators manage it (and the shell operator):
an administrator creates users at home in the organisation they administer, and grants or
revokes roles only there and only to its own users. A grant in another organisation than the
user's home is the operator's to make."""

from __future__ import annotations

from pydantic import BaseModel, Field

from eva_engine.db.repositories import Repositories
from eva_engine.errors import N_, Conflict, NotFound, PermissionDenied, Text
from eva_engine.models import Body, Organisation, RoleGrant, User, utcnow
from eva_engine.services.access import (
    actor_for,
    administered_organisation,
    managed_user,
    no_body,
)
from eva_engine.services.command import Command
from eva_engine.services.fields import EMAIL_PATTERN, USERNAME_PATTERN, Code, Email, Name, Username
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import Language, Role


class CreateUser(Command):
    username: Username = Field(pattern=USERNAME_PATTERN)
    full_name: Name = Field(min_length=1)
    email: Email | None = Field(default=None, pattern=EMAIL_PATTERN)
    title: Name | None = None
    language: Language = Language.FI


class GrantRole(Command):
    username: Username = Field(min_length=1)
    organisation: Code = Field(min_length=1)
    role: Role
    body: Code | None = None


class GrantView(BaseModel):
    id: int
    organisation: str
    body: str | None
    role: Role
    active: bool


class UserView(BaseModel):
    id: int
    username: str
    full_name: str
    email: str | None
    title: str | None
    language: Language
    active: bool
    organisation: str | None = None  # the home organisation
    grants: list[GrantView] = Field(default_factory=list)


def create_user(
    eva: Eva, caller: Caller, cmd: CreateUser, organisation: str | None = None
) -> UserView:
    """A new account at home in ``organisation``. An administrator creates users only in the
    organisation they administer; the shell operator in any (a user the operator creates
    without one gets the organisation of their first grant as home)."""
    with eva.uow() as uow:
        repos = uow.repos
        uow.audit.actor, admin = actor_for(repos, caller)
        home: Organisation | None = None
        if admin is not None or organisation is not None:
            home, uow.audit.role = administered_organisation(
                repos, admin, organisation, "create users"
            )
        if repos.user_by_username(cmd.username) is not None:
            raise Conflict(
                Text(
                    N_("The username %(username)s is taken: choose another."),
                    {"username": cmd.username},
                )
            )
        user = User(**cmd.model_dump(), organisation_id=home.id if home else None)
        repos.add(user)
        uow.commit()
        return user_view(user, [], home.code if home else None)


def _grant_target(
    repos: Repositories, admin: User | None, cmd: GrantRole, doing: str
) -> tuple[Organisation, User, Body | None, str | None]:
    """The organisation, user and body of a grant the caller may make or revoke, and the role
    they act in: an administrator of the organisation, for a user at home there."""
    org, role = administered_organisation(repos, admin, cmd.organisation, doing)
    user, _ = managed_user(repos, admin, cmd.username, doing, cmd.organisation)
    body = None
    if cmd.body is not None:
        body = repos.body_by_code(org.id, cmd.body)
        if body is None:
            raise NotFound(no_body(cmd.body, org.code))
    return org, user, body, role


def grant_role(eva: Eva, caller: Caller, cmd: GrantRole) -> GrantView:
    with eva.uow() as uow:
        uow.audit.actor, admin = actor_for(uow.repos, caller)
        org, user, body, uow.audit.role = _grant_target(uow.repos, admin, cmd, "grant roles")
        body_id = body.id if body else None
        for grant in uow.repos.grants(user.id):
            if (grant.organisation_id, grant.body_id, grant.role) == (org.id, body_id, cmd.role):
                raise Conflict(
                    Text(
                        N_("%(username)s already holds the role of %(roles)s there."),
                        {"username": user.username, "roles": cmd.role.value},
                    )
                )
        if user.organisation_id is None:
            user.organisation_id = org.id  # the first grant gives a home
        grant = RoleGrant(user_id=user.id, organisation_id=org.id, body_id=body_id, role=cmd.role)
        uow.repos.add(grant)
        uow.commit()
        return GrantView(
            id=grant.id, organisation=org.code, body=cmd.body, role=grant.role, active=True
        )


def revoke_role(eva: Eva, caller: Caller, cmd: GrantRole) -> GrantView:
    with eva.uow() as uow:
        uow.audit.actor, admin = actor_for(uow.repos, caller)
        org, user, body, uow.audit.role = _grant_target(uow.repos, admin, cmd, "revoke roles")
        body_id = body.id if body else None
        for grant in uow.repos.grants(user.id):
            if (grant.organisation_id, grant.body_id, grant.role) == (org.id, body_id, cmd.role):
                grant.revoked_at = utcnow()
                uow.commit()
                return GrantView(
                    id=grant.id, organisation=org.code, body=cmd.body, role=grant.role, active=False
                )
        raise NotFound(
            Text(
                N_("%(username)s holds no role of %(roles)s there: nothing to revoke."),
                {"username": user.username, "roles": cmd.role.value},
            )
        )


def list_users(eva: Eva, caller: Caller, organisation: str | None = None) -> list[UserView]:
    """Users with their active grants. The shell operator sees everyone (or the users at home
    in ``organisation``); an administrator only the users at home in the organisations they
    administer, with their grants there."""
    with eva.reading() as uow:
        repos = uow.repos
        _, admin = actor_for(repos, caller)
        if organisation is not None:
            shown: set[int] | None = {
                administered_organisation(repos, admin, organisation, "list users")[0].id
            }
        elif admin is None:
            shown = None
        else:
            shown = {
                g.organisation_id
                for g in repos.grants(admin.id)
                if g.role == Role.ADMIN and g.body_id is None
            }
            if not shown:
                raise PermissionDenied(Text(N_("Only an administrator can do this.")))
        org_codes = {o.id: o.code for o in repos.organisations()}
        views = []
        people = [u for u in repos.users() if shown is None or u.organisation_id in shown]
        held: dict[int, list[RoleGrant]] = {}
        for grant in repos.grants_of(u.id for u in people):  # one query for everyone's
            held.setdefault(grant.user_id, []).append(grant)
        bodies = repos.bodies_by_id(g.body_id for gs in held.values() for g in gs if g.body_id)
        for user in people:
            grants = []
            for g in held.get(user.id, []):
                if admin is not None and shown is not None and g.organisation_id not in shown:
                    continue  # another organisation's grant: not theirs to see
                body = bodies.get(g.body_id) if g.body_id else None
                grants.append(
                    GrantView(
                        id=g.id,
                        organisation=org_codes[g.organisation_id],
                        body=body.code if body else None,
                        role=g.role,
                        active=True,
                    )
                )
            home = org_codes.get(user.organisation_id) if user.organisation_id else None
            views.append(user_view(user, grants, home))
        return views


def user_view(user: User, grants: list[GrantView], organisation: str | None = None) -> UserView:
    return UserView(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        email=user.email,
        title=user.title,
        language=user.language,
        active=user.active,
        organisation=organisation,
        grants=grants,
    )
