"""Web accounts: passwords (argon2id), logging in, and ending sessions on the server.

A login never reveals whether the username exists: an unknown user costs the same hash
verification as a wrong password, and both get the same answer. Logins and failed logins are
logged (use of the system, Tiedonhallintalaki 17 §)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel
from sqlalchemy import select

from eva_engine.db.audit import Actor, PendingEvent
from eva_engine.errors import N_, InvalidInput, NotFound, PermissionDenied, Problem, Text
from eva_engine.models import IdentityProvider, User, utcnow
from eva_engine.services.access import actor_for, managed_user
from eva_engine.services.people.hashing import OneAtATime
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import Language

MIN_PASSWORD_LENGTH = 12
# argon2id with the library's current recommended parameters, one hash at a time per process
_HASHER: PasswordHasher = OneAtATime()
_DUMMY_HASH = _HASHER.hash("eva: never a real password, only spends the same time")
UNKNOWN_USER = "unknown user"  # the actor of a failed login whose username names nobody


class SessionUser(BaseModel):
    """What a web session knows of its user; valid while ``epoch`` is the user's epoch."""

    id: int
    username: str
    full_name: str
    language: Language
    epoch: int


def _session_user(user: User) -> SessionUser:
    return SessionUser(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        language=user.language,
        epoch=user.session_epoch,
    )


def password_problems(password: str, username: str) -> list[Problem]:
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(
            Problem.of(
                "password",
                Text(
                    N_("The password is too short: give at least %(min)s characters."),
                    {"min": MIN_PASSWORD_LENGTH},
                ),
            )
        )
    if username.lower() in password.lower():
        problems.append(
            Problem.of(
                "password", Text(N_("The password must not contain the username: choose another."))
            )
        )
    return problems


def sso_only() -> Text:
    """The refusal of a password login where the organisation uses its identity provider."""
    return Text(N_("Your organisation logs in with its own credentials: use single sign-on."))


def _login_event(user: User | None, action: str) -> PendingEvent:
    return PendingEvent(
        action=action,
        entity_type="user",
        entity_id=str(user.id) if user else "?",
        organisation_id=None,
        proposal_id=None,
        before=None,
        after=None,
        reason=None,
        role=None,
    )


def authenticate(eva: Eva, username: str, password: str, client: str = "web") -> SessionUser | None:
    """The user, if the password is right and the account active; else None (same cost)."""
    with eva.uow() as uow:
        user = uow.repos.user_by_username(username.strip().lower())
        stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
        try:
            ok = _HASHER.verify(stored, password) and stored != _DUMMY_HASH
        except (VerificationError, InvalidHashError):
            ok = False
        ok = ok and user is not None and user.active
        if ok and user is not None and user.organisation_id is not None:
            off = uow.repos.session.scalar(
                select(IdentityProvider.id).where(
                    IdentityProvider.organisation_id == user.organisation_id,
                    IdentityProvider.local_passwords.is_(False),
                )
            )
            if off is not None:
                # The organisation logs in only through its identity provider (docs/security.md).
                uow.audit.actor = Actor(user.id, user.username, client)
                uow.audit.record(_login_event(user, "user.login_failed"))
                uow.commit()
                raise PermissionDenied("local passwords are off", text=sso_only())
        # What was typed is recorded only when it names a real user: a password typed into
        # the username field must never enter the append-only history.
        uow.audit.actor = Actor(
            user.id if user else None, user.username if user else UNKNOWN_USER, client
        )
        uow.audit.record(_login_event(user, "user.login" if ok else "user.login_failed"))
        if ok and user is not None and _HASHER.check_needs_rehash(stored):
            user.password_hash = _HASHER.hash(password)
        uow.commit()
        return _session_user(user) if ok and user is not None else None


def session_user(eva: Eva, user_id: int, epoch: int) -> SessionUser | None:
    """The session's user while the session is still valid (same epoch, account active)."""
    with eva.reading() as uow:
        user = uow.repos.user(user_id)
        if user is None or not user.active or user.session_epoch != epoch:
            return None
        return _session_user(user)


def end_sessions(eva: Eva, user_id: int, client: str = "web") -> None:
    """Log out: every session of this user ends at its next request."""
    with eva.uow() as uow:
        user = uow.repos.user(user_id)
        if user is None:
            return
        uow.audit.actor = Actor(user.id, user.username, client)
        user.session_epoch += 1
        uow.audit.record(_login_event(user, "user.logout"))
        uow.commit()


def set_password(
    eva: Eva,
    caller: Caller,
    username: str,
    new_password: str,
    current_password: str | None = None,
    organisation: str | None = None,
) -> None:
    """A user changes their own password (giving the current one); an administrator sets the
    password of a user at home in the organisation they administer (``organisation``, if
    named, must be that one), the shell operator anyone's. Either way every session of that
    user ends."""
    with eva.uow() as uow:
        uow.audit.actor, actor = actor_for(uow.repos, caller)
        if actor is not None and actor.username == username:
            user = actor
            stored = user.password_hash or _DUMMY_HASH
            try:
                _HASHER.verify(stored, current_password or "")
            except (VerificationError, InvalidHashError) as exc:
                wrong = Text(N_("The current password is wrong: type it again."))
                raise InvalidInput(wrong, [Problem.of("current_password", wrong)]) from exc
        else:
            user, uow.audit.role = managed_user(
                uow.repos, actor, username, "set passwords", organisation
            )
        problems = password_problems(new_password, user.username)
        if problems:
            raise InvalidInput(
                Text(N_("The password was not changed: correct the items named.")), problems
            )
        user.password_hash = _HASHER.hash(new_password)
        user.password_changed_at = utcnow()
        user.session_epoch += 1
        uow.commit()


def set_language(eva: Eva, user_id: int, language: Language) -> None:
    """The user's language, remembered for their next sessions."""
    with eva.uow() as uow:
        user = uow.repos.user(user_id)
        if user is None:
            raise NotFound(Text(N_("There is no such user."), {"id": user_id}))
        uow.audit.actor = Actor(user.id, user.username, "web")
        user.language = language
        uow.commit()


def set_active(
    eva: Eva, caller: Caller, username: str, active: bool, organisation: str | None = None
) -> None:
    """Disable (or enable) an account; disabling ends its sessions at once. An administrator
    may do it only to a user at home in the organisation they administer (``organisation``,
    if named, must be that one); the shell operator to anyone."""
    with eva.uow() as uow:
        uow.audit.actor, actor = actor_for(uow.repos, caller)
        user, uow.audit.role = managed_user(
            uow.repos, actor, username, "disable users", organisation
        )
        user.active = active
        if not active:
            user.session_epoch += 1
        uow.commit()
