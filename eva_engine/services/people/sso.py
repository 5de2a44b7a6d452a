"""Single sign-on through an organisation's OpenID Connect identity provider (issue 13, part 5).

The web layer validates the ID token (issuer, audience, signature, nonce, expiry) and hands its
claims here: the user is matched by the provider's claim within that organisation only, or bound
by an earlier login's ``iss`` + ``sub``; a first login creates a user with no roles when the
organisation allows it. Roles are always granted in eva. The client secret is read from the
environment (``EVA_SSO_<CODE>_CLIENT_SECRET``), never stored.

``set_provider`` is the one command of every channel (``eva sso set``, the administration's
page, ``PUT /api/v1/organisations/{code}/sso``): its limits are ``SetProvider``'s, and it
refuses to switch local passwords off while no administrator of the organisation could log in
with single sign-on of that provider (no lock-out of the last administrator)."""

from __future__ import annotations

import os
import re
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from eva_engine.db.audit import Actor
from eva_engine.errors import N_, InvalidInput, NotFound, PermissionDenied, Problem, Text
from eva_engine.models import ExternalIdentity, IdentityProvider, Organisation, RoleGrant, User
from eva_engine.services.access import actor_for, administered_organisation
from eva_engine.services.command import Command
from eva_engine.services.fields import ISSUER_PATTERN, USERNAME_PATTERN
from eva_engine.services.people.accounts import SessionUser, _login_event, _session_user
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import Role

MatchClaim = Literal["email", "sub", "preferred_username"]
REFUSED = Text(N_("Single sign-on did not succeed. Try again or ask your administrator."))
NOT_ALLOWED = Text(
    N_("Your account is not in use in eva. Ask your organisation's eva administrator.")
)
PASSWORDS_OFF = Text(N_("Your organisation logs in with its own credentials: use single sign-on."))
LOCK_OUT = Text(
    N_(
        "Local passwords cannot be switched off yet: no administrator of the organisation has "
        "logged in with single sign-on of this provider. Keep them in use until an "
        "administrator has logged in once with single sign-on, then switch them off."
    )
)


class SetProvider(Command):
    """An organisation's identity provider (``eva sso set``, the administration's page and
    ``PUT /api/v1/organisations/{organisation}/sso``)."""

    issuer: str = Field(
        min_length=8,
        max_length=300,
        pattern=ISSUER_PATTERN,
        description="The provider's issuer URL (its `iss`), e.g. https://tunnistus.kunta.fi",
    )
    client_id: str = Field(
        min_length=1, max_length=200, description="eva's client id at the provider"
    )
    match_claim: MatchClaim = Field(
        default="email", description="The ID token's claim that names the user"
    )
    provision: bool = Field(default=False, description="A first login creates a user (no roles)")
    local_passwords: bool = Field(
        default=True, description="The organisation's users may still log in with a password"
    )


class ProviderView(BaseModel):
    organisation: str
    organisation_name: str
    issuer: str
    client_id: str
    match_claim: MatchClaim
    provision: bool
    local_passwords: bool
    secret_variable: str  # the server's environment variable that holds the client secret
    secret_configured: bool


def secret_variable(code: str) -> str:
    """The environment variable that holds the organisation's client secret."""
    return "EVA_SSO_" + re.sub(r"[^A-Z0-9]", "_", code.upper()) + "_CLIENT_SECRET"


def client_secret(code: str) -> str | None:
    return os.environ.get(secret_variable(code)) or None


def _view(provider: IdentityProvider, org: Organisation) -> ProviderView:
    return ProviderView(
        organisation=org.code,
        organisation_name=org.name_fi,
        issuer=provider.issuer,
        client_id=provider.client_id,
        match_claim=provider.match_claim,  # type: ignore[arg-type]
        provision=provider.provision,
        local_passwords=provider.local_passwords,
        secret_variable=secret_variable(org.code),
        secret_configured=client_secret(org.code) is not None,
    )


def _provider(session: Session, org_id: int) -> IdentityProvider | None:
    return session.scalar(
        select(IdentityProvider).where(IdentityProvider.organisation_id == org_id)
    )


def _administrator_signs_in(session: Session, org_id: int, issuer: str) -> bool:
    """Whether an active administrator of the whole organisation, at home there, has an
    identity of ``issuer`` bound (logged in once with single sign-on of that provider)."""
    return bool(
        session.scalar(
            select(
                exists()
                .where(ExternalIdentity.issuer == issuer)
                .where(User.id == ExternalIdentity.user_id)
                .where(User.organisation_id == org_id, User.active.is_(True))
                .where(RoleGrant.user_id == User.id, RoleGrant.organisation_id == org_id)
                .where(RoleGrant.role == Role.ADMIN, RoleGrant.body_id.is_(None))
                .where(RoleGrant.revoked_at.is_(None))
            )
        )
    )


def set_provider(eva: Eva, caller: Caller, cmd: SetProvider, organisation: str) -> ProviderView:
    """Configure (or change) the organisation's identity provider: its administrators only.
    Local passwords are switched off only while an administrator can log in with single sign-on
    of this provider (an identity of its issuer bound): else InvalidInput at
    ``local_passwords``, and nothing changes."""
    with eva.uow() as uow:
        repos = uow.repos
        uow.audit.actor, admin = actor_for(repos, caller)
        org, uow.audit.role = administered_organisation(
            repos, admin, organisation, "configure single sign-on"
        )
        if not cmd.local_passwords and not _administrator_signs_in(
            repos.session, org.id, cmd.issuer
        ):
            raise InvalidInput(
                "local passwords off would lock every administrator out",
                [Problem.of("local_passwords", LOCK_OUT)],
                text=Text(N_("The input is not valid: correct the fields named.")),
            )
        provider = _provider(repos.session, org.id)
        if provider is None:
            provider = IdentityProvider(organisation_id=org.id, **cmd.model_dump())
            repos.add(provider)
        else:
            for name, value in cmd.model_dump().items():
                setattr(provider, name, value)
        uow.commit()
        return _view(provider, org)


def configured_provider(eva: Eva, caller: Caller, organisation: str) -> ProviderView | None:
    """The organisation's identity provider, or None if it has none: its administrators only
    (another organisation's is not found)."""
    with eva.reading() as uow:
        repos = uow.repos
        _, admin = actor_for(repos, caller)
        org, _role = administered_organisation(repos, admin, organisation, "see single sign-on")
        provider = _provider(repos.session, org.id)
        return _view(provider, org) if provider is not None else None


def show_provider(eva: Eva, caller: Caller, organisation: str) -> ProviderView:
    """The organisation's identity provider; NotFound if it has none."""
    view = configured_provider(eva, caller, organisation)
    if view is None:
        raise NotFound(
            Text(
                N_("%(organisation)s has no single sign-on configured."),
                {"organisation": organisation},
            )
        )
    return view


def login_options(eva: Eva) -> list[ProviderView]:
    """The organisations whose staff may log in with their own credentials (the login page)."""
    with eva.reading() as uow:
        rows = uow.repos.session.execute(
            select(IdentityProvider, Organisation)
            .join(Organisation, Organisation.id == IdentityProvider.organisation_id)
            .order_by(Organisation.code)
        ).all()
        return [_view(p, o) for p, o in rows if client_secret(o.code) is not None]


def provider_for(eva: Eva, organisation: str) -> ProviderView | None:
    with eva.reading() as uow:
        org = uow.repos.organisation_by_code(organisation)
        provider = _provider(uow.repos.session, org.id) if org else None
        return _view(provider, org) if provider and org else None


def local_passwords_allowed(user: User, session: Session) -> bool:
    if user.organisation_id is None:
        return True
    provider = _provider(session, user.organisation_id)
    return provider is None or provider.local_passwords


def _username(claims: dict[str, object], org: Organisation) -> str:
    email = str(claims.get("email") or "").strip().lower()
    if email and re.match(USERNAME_PATTERN, email.replace("@", ".")):
        return email.replace("@", ".")[:80]
    sub = re.sub(r"[^a-z0-9._-]", "-", str(claims["sub"]).lower())
    return f"{org.code.lower()}.{sub}"[:80]


def sign_in(eva: Eva, organisation: str, claims: dict[str, object]) -> SessionUser:
    """The user the validated ID token's claims name in ``organisation``; refused otherwise
    (PermissionDenied with a translated message). Every outcome is in the history."""
    with eva.uow() as uow:
        repos = uow.repos
        session = repos.session
        org = repos.organisation_by_code(organisation)
        provider = _provider(session, org.id) if org else None
        if org is None or provider is None or claims.get("iss") != provider.issuer:
            raise PermissionDenied("single sign-on of an unknown provider", text=REFUSED)
        subject = str(claims.get("sub") or "")
        bound = session.scalar(
            select(ExternalIdentity).where(
                ExternalIdentity.issuer == provider.issuer, ExternalIdentity.subject == subject
            )
        )
        user: User | None = repos.user(bound.user_id) if bound else None
        if user is None:
            value = claims.get(provider.match_claim)
            if provider.match_claim == "email" and claims.get("email_verified") is False:
                value = None
            if isinstance(value, str) and value:
                column = {"email": User.email, "sub": User.username}.get(
                    provider.match_claim, User.username
                )
                user = session.scalar(
                    select(User).where(
                        User.organisation_id == org.id,
                        column
                        == (value.strip().lower() if provider.match_claim == "email" else value),
                    )
                )
        if user is not None and user.organisation_id != org.id:
            user = None  # bound elsewhere: another organisation's user never logs in here
            raise PermissionDenied("single sign-on of another organisation's user", text=REFUSED)
        if user is None:
            if not provider.provision:
                uow.audit.actor = Actor(None, "unknown user", "web")
                uow.audit.record(_login_event(None, "user.login_failed"))
                uow.commit()
                raise PermissionDenied("no such user and no provisioning", text=NOT_ALLOWED)
            email = claims.get("email")
            name = claims.get("name")
            user = User(
                username=_username(claims, org),
                organisation_id=org.id,
                full_name=str(name) if name else str(email or subject),
                email=str(email).lower() if isinstance(email, str) else None,
                password_hash=None,
            )
            uow.audit.actor = Actor(None, f"sso:{org.code}", "web")
            repos.add(user)
            session.flush()
        if bound is None:
            repos.add(ExternalIdentity(user_id=user.id, issuer=provider.issuer, subject=subject))
        uow.audit.actor = Actor(user.id, user.username, "web")
        if not user.active:
            uow.audit.record(_login_event(user, "user.login_failed"))
            uow.commit()
            raise PermissionDenied("a disabled user", text=NOT_ALLOWED)
        uow.audit.record(_login_event(user, "user.login"))
        uow.commit()
        return _session_user(user)
