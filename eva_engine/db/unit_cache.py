"""What one unit of work reads once: the reference rows a write consults again and again (the
acting user, their grants, organisations, webhooks, published definitions), kept in the
session's ``info`` so that every unit of work joined to it shares them, and dropped with it.

Never stale within the unit: a kind of row is dropped from the cache when the unit changes
one of that kind (a pending change is seen before the next read; a flush, and any rollback —
a joined unit's savepoint too — clear it), so a grant given a moment ago counts at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction

from eva_engine.models import (
    AuditChainHead,
    Organisation,
    PublishedDefinition,
    RoleGrant,
    User,
    Webhook,
)

CACHE_KEY = "eva.unit_cache"
# The kinds of row the cache holds: a change of one in the session drops what it knows of it.
CACHED_KINDS: tuple[type, ...] = (User, RoleGrant, Organisation, Webhook, PublishedDefinition)


@dataclass
class UnitCache:
    # username -> the user (None: no such user)
    users: dict[str, User | None] = field(default_factory=dict)
    # (user id, organisation id) -> the user's active grants there as (body id, role)
    grants: dict[tuple[int, int], list[tuple[int | None, str]]] = field(default_factory=dict)
    # the users all of whose grants ``grants`` holds (an organisation missing there: none)
    grants_known: set[int] = field(default_factory=set)
    # organisation id -> its active webhooks, by id
    webhooks: dict[int, list[Webhook]] = field(default_factory=dict)
    # (name, version) -> the published workflow's row
    definitions: dict[tuple[str, int], PublishedDefinition | None] = field(default_factory=dict)
    # chain id -> (last seq, last hash) as read in this transaction without a lock: sealing
    # tries to move the head from exactly there, and locks and reads it when it moved
    heads: dict[int, tuple[int, str]] = field(default_factory=dict)

    def drop(self, kinds: Iterable[type]) -> None:
        for kind in kinds:
            if kind is User:
                self.users.clear()
            elif kind is RoleGrant:
                self.grants.clear()
                self.grants_known.clear()
            elif kind is Webhook:
                self.webhooks.clear()
            elif kind is PublishedDefinition:
                self.definitions.clear()

    def clear(self) -> None:
        self.drop(CACHED_KINDS)
        self.heads.clear()


def unit_cache(session: Session) -> UnitCache:
    """The cache of the session's unit of work, after dropping whatever a pending change of
    this unit made stale."""
    cache: UnitCache | None = session.info.get(CACHE_KEY)
    if cache is None:
        cache = session.info[CACHE_KEY] = UnitCache()
    if session.new or session.deleted or _modified(session):
        cache.drop(_changed_kinds((*session.new, *session.dirty, *session.deleted)))
    return cache


def _modified(session: Session) -> bool:
    """Whether any object of the session may be dirty: ``Session.dirty`` checks every
    modified object's attributes, so its cheap precondition (the identity map's set of
    modified states) is asked first."""
    modified = getattr(session.identity_map, "_modified", None)
    return bool(session.dirty) if modified is None else bool(modified)


def _changed_kinds(objects: Iterable[object]) -> set[type]:
    return {kind for obj in objects for kind in CACHED_KINDS if isinstance(obj, kind)}


def _before_flush(session: Session, _context: UOWTransaction, _instances: object) -> None:
    cache: UnitCache | None = session.info.get(CACHE_KEY)
    if cache is not None:
        changed = _changed_kinds((*session.new, *session.dirty, *session.deleted))
        cache.drop(changed)
        if any(isinstance(o, AuditChainHead) for o in (*session.new, *session.dirty)):
            cache.heads.clear()  # pragma: no cover - heads are written by sealing only


def _after_rollback(session: Session, _previous: Any) -> None:
    cache: UnitCache | None = session.info.get(CACHE_KEY)
    if cache is not None:
        cache.clear()


def _after_commit(session: Session) -> None:
    # A unit of work that goes on after its commit reads in a new transaction: nothing it
    # knew is known any more (another writer may have moved a chain's head meanwhile).
    _after_rollback(session, None)


def install_cache_hooks(session_class: type[Session]) -> None:
    for name, fn in (
        ("before_flush", _before_flush),
        ("after_soft_rollback", _after_rollback),
        ("after_commit", _after_commit),
    ):
        if not event.contains(session_class, name, fn):
            event.listen(session_class, name, fn)
