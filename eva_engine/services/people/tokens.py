"""Per-user API tokens. A token is ``eva_`` and 43 characters of ``secrets.token_urlsafe(32)``
(256 random bits); it is shown once, when it is made, and only its SHA-256 is stored, with its
first characters (the prefix) so that people can tell their tokens apart. A token has an
expiry and scopes: ``read`` for GET requests, ``write`` for changes, and ``sign`` (with
``write``) to take the steps that need re-authentication, such as the presenter's sign-off;
``sign`` is never given unless asked for. The API acts as the token's user, with exactly that
user's grants, and records ``api:token:<id>`` as the client of every change in the audit
history. A user manages their own tokens; an administrator may also revoke the tokens of the
users at home in the organisation they administer."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from eva_engine.errors import N_, EvaError, NotFound, Text
from eva_engine.models import ApiToken, utcnow
from eva_engine.services.access import actor_for, require_named_user
from eva_engine.services.command import Command
from eva_engine.services.fields import TokenName, WholeNumber, refusal
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import Role, TokenScope

TOKEN_PREFIX = "eva_"  # noqa: S105 - not a secret: every token starts so
PREFIX_LENGTH = 12  # "eva_" and 8 random characters: enough to recognise, useless to guess
MAX_EXPIRY_DAYS = 366
TOUCH_INTERVAL = timedelta(minutes=5)  # how often last_used_at is written


class TokenRejected(EvaError):
    """The request carries no token, or one that is unknown, expired or revoked, or whose user
    is disabled (HTTP 401)."""

    code = "unauthenticated"


DEFAULT_SCOPES = (TokenScope.READ,)  # never ``sign``: that one is asked for explicitly


class CreateToken(Command):
    name: TokenName = Field(min_length=1, description="What the token is for")
    scopes: list[TokenScope] = Field(
        min_length=1,
        max_length=len(TokenScope),
        description="read, write or both; sign (with write) to sign off as the presenter",
    )
    expires_days: WholeNumber = Field(default=90, ge=1, le=MAX_EXPIRY_DAYS)

    @field_validator("scopes")
    @classmethod
    def _sign_needs_write(cls, value: list[TokenScope]) -> list[TokenScope]:
        if TokenScope.SIGN in value and TokenScope.WRITE not in value:
            raise refusal(
                Text(N_("The sign scope signs off through a change: give the write scope too."))
            )
        return value


class TokenView(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[TokenScope]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool


class CreatedToken(BaseModel):
    """The new token, shown this once: only its hash is kept."""

    token: str
    details: TokenView


class TokenPrincipal(BaseModel):
    """Who a valid token speaks for."""

    model_config = ConfigDict(frozen=True)

    token_id: int
    username: str
    scopes: frozenset[TokenScope]

    @property
    def caller(self) -> Caller:
        """The token's user; only a token with the ``sign`` scope counts as re-authenticated."""
        return Caller(
            self.username,
            client=f"api:token:{self.token_id}",
            confirmed=TokenScope.SIGN in self.scopes,
        )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _view(token: ApiToken, now: datetime) -> TokenView:
    return TokenView(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        scopes=[TokenScope(s) for s in token.scopes],
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
        active=token.revoked_at is None and token.expires_at > now,
    )


def create_token(eva: Eva, caller: Caller, cmd: CreateToken) -> CreatedToken:
    """A new token for the calling user (never for someone else)."""
    with eva.uow() as uow:
        uow.audit.actor, maybe_user = actor_for(uow.repos, caller)
        user = require_named_user(maybe_user, "an API token")
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        token = ApiToken(
            user_id=user.id,
            name=cmd.name,
            prefix=raw[:PREFIX_LENGTH],
            token_hash=token_hash(raw),
            scopes=sorted({s.value for s in cmd.scopes}),
            created_at=now,
            expires_at=now + timedelta(days=cmd.expires_days),
        )
        uow.repos.add(token)
        uow.commit()
        return CreatedToken(token=raw, details=_view(token, now))


def list_tokens(eva: Eva, caller: Caller) -> list[TokenView]:
    """The calling user's tokens, newest first (never their secrets)."""
    with eva.reading() as uow:
        _, maybe_user = actor_for(uow.repos, caller)
        user = require_named_user(maybe_user, "API tokens")
        rows = uow.repos.api_tokens_of(user.id)
        now = utcnow()
        return [_view(t, now) for t in rows]


def revoke_token(eva: Eva, caller: Caller, token_id: int) -> TokenView:
    """Revoke one of the calling user's tokens, or, for an administrator, a token of a user at
    home in the organisation they administer. Anyone else's token is not found: tokens are
    personal, not records of the organisation."""
    with eva.uow() as uow:
        uow.audit.actor, maybe_user = actor_for(uow.repos, caller)
        user = require_named_user(maybe_user, "revoking an API token")
        token = uow.repos.api_token(token_id)
        missing = Text(
            N_("There is no API token %(id)s of yours. Check the number."), {"id": token_id}
        )
        if token is None:
            raise NotFound(missing)
        if token.user_id != user.id:
            owner = uow.repos.user(token.user_id)
            home = owner.organisation_id if owner else None
            if home is None or Role.ADMIN not in uow.repos.roles_for(user.id, home, None):
                raise NotFound(missing)
            uow.audit.role = Role.ADMIN.value
        now = utcnow()
        if token.revoked_at is None:
            token.revoked_at = now
            uow.commit()
        return _view(token, now)


def authenticate(eva: Eva, raw: str) -> TokenPrincipal:
    """The principal of a presented token, or ``TokenRejected`` naming why not."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        raise TokenRejected(
            Text(N_("That is not an eva API token: send Authorization: Bearer and the token."))
        )
    with eva.reading() as uow:  # joins the request's unit of work; writes only a due touch
        token = uow.repos.api_token_by_hash(token_hash(raw))
        if token is None:
            raise TokenRejected(Text(N_("This API token is not known: make a new one.")))
        now = utcnow()
        if token.revoked_at is not None:
            raise TokenRejected(
                Text(
                    N_("The API token %(prefix)s… was revoked: make a new one."),
                    {"prefix": token.prefix},
                )
            )
        if token.expires_at <= now:
            raise TokenRejected(
                Text(
                    N_("The API token %(prefix)s… expired: make a new one."),
                    {"prefix": token.prefix},
                )
            )
        user = uow.repos.user(token.user_id)
        if user is None or not user.active:
            raise TokenRejected(Text(N_("The token's user is disabled: ask your administrator.")))
        principal = TokenPrincipal(
            token_id=token.id,
            username=user.username,
            scopes=frozenset(TokenScope(s) for s in token.scopes),
        )
        due = token.last_used_at is None or now - token.last_used_at > TOUCH_INTERVAL
    if due:
        # At most once per TOUCH_INTERVAL: with a writing request, else in a short transaction.
        with eva.uow() as touch:
            touched = touch.repos.api_token(principal.token_id)
            if touched is not None:
                touched.last_used_at = now  # not audited (``__audit_ignore__``)
            touch.commit()
    return principal
