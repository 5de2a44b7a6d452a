"""People and their role grants. Grants are revoked, never deleted, so history stays whole."""

from __future__ import annotations

from pydantic import BaseModel, Field

from eva_engine.errors import Conflict, NotFound
from eva_engine.models import RoleGrant, User, utcnow
from eva_engine.services.access import actor_for, administrator_of, require_admin, require_role
from eva_engine.services.organisations import Command
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import Language, Role


class CreateUser(Command):
    username: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,79}$")
    full_name: str = Field(min_length=1, max_length=255)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    title: str | None = None
    language: Language = Language.FI


class GrantRole(Command):
    username: str
    organisation: str
    role: Role
    body: str | None = None


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
    grants: list[GrantView] = Field(default_factory=list)


def create_user(
    eva: Eva, caller: Caller, cmd: CreateUser, organisation: str | None = None
) -> UserView:
    """A shell operator may create anyone; a user needs the admin role (in ``organisation``)."""
    with eva.uow() as uow:
        uow.audit.actor, admin = actor_for(uow.repos, caller)
        uow.audit.role = administrator_of(uow.repos, admin, organisation, "create users")
        if uow.repos.user_by_username(cmd.username) is not None:
            raise Conflict(f"user {cmd.username!r} exists already")
        user = User(**cmd.model_dump())
        uow.repos.add(user)
        uow.commit()
        return user_view(user, [])


def grant_role(eva: Eva, caller: Caller, cmd: GrantRole) -> GrantView:
    with eva.uow() as uow:
        uow.audit.actor, admin = actor_for(uow.repos, caller)
        org = uow.repos.organisation_by_code(cmd.organisation)
        if org is None:
            raise NotFound(f"no organisation {cmd.organisation!r}")
        uow.audit.role = require_role(uow.repos, admin, org.id, None, [Role.ADMIN], "grant roles")
        user = uow.repos.user_by_username(cmd.username)
        if user is None:
            raise NotFound(f"no user {cmd.username!r}")
        body_id = None
        if cmd.body is not None:
            body = uow.repos.body_by_code(org.id, cmd.body)
            if body is None:
                raise NotFound(f"no body {cmd.body!r} in {org.code}")
            body_id = body.id
        for grant in uow.repos.grants(user.id):
            if (grant.organisation_id, grant.body_id, grant.role) == (org.id, body_id, cmd.role):
                raise Conflict(f"{user.username} already holds {cmd.role.value} there")
        grant = RoleGrant(user_id=user.id, organisation_id=org.id, body_id=body_id, role=cmd.role)
        uow.repos.add(grant)
        uow.commit()
        return GrantView(
            id=grant.id, organisation=org.code, body=cmd.body, role=grant.role, active=True
        )


def revoke_role(eva: Eva, caller: Caller, cmd: GrantRole) -> GrantView:
    with eva.uow() as uow:
        uow.audit.actor, admin = actor_for(uow.repos, caller)
        org = uow.repos.organisation_by_code(cmd.organisation)
        if org is None:
            raise NotFound(f"no organisation {cmd.organisation!r}")
        uow.audit.role = require_role(uow.repos, admin, org.id, None, [Role.ADMIN], "revoke roles")
        user = uow.repos.user_by_username(cmd.username)
        if user is None:
            raise NotFound(f"no user {cmd.username!r}")
        body = uow.repos.body_by_code(org.id, cmd.body) if cmd.body else None
        for grant in uow.repos.grants(user.id):
            if (grant.organisation_id, grant.body_id, grant.role) == (
                org.id,
                body.id if body else None,
                cmd.role,
            ):
                grant.revoked_at = utcnow()
                uow.commit()
                return GrantView(
                    id=grant.id, organisation=org.code, body=cmd.body, role=grant.role, active=False
                )
        raise NotFound(f"{user.username} holds no {cmd.role.value} grant there")


def list_users(eva: Eva, caller: Caller) -> list[UserView]:
    """Every user with their active grants: for administrators (and the shell operator)."""
    with eva.uow() as uow:
        _, admin = actor_for(uow.repos, caller)
        require_admin(uow.repos, admin, "list users")
        views = []
        org_codes = {o.id: o.code for o in uow.repos.organisations()}
        for user in uow.repos.users():
            grants = []
            for g in uow.repos.grants(user.id):
                body = uow.repos.body(g.body_id) if g.body_id else None
                grants.append(
                    GrantView(
                        id=g.id,
                        organisation=org_codes[g.organisation_id],
                        body=body.code if body else None,
                        role=g.role,
                        active=True,
                    )
                )
            views.append(user_view(user, grants))
        return views


def user_view(user: User, grants: list[GrantView]) -> UserView:
    return UserView(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        email=user.email,
        title=user.title,
        language=user.language,
        active=user.active,
        grants=grants,
    )
