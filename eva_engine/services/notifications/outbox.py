"""The outbox's bookkeeping: claiming due messages for a delivery attempt, settling the attempt
(delivered, or retried later with exponential backoff, or dead), dead letters for
administrators, and the organisations' webhooks. Sending itself (SMTP, HTTP) is done by
``eva_engine.delivery``, with emails rendered by ``eva_engine.rendering``."""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from eva_engine.db import outbox as store
from eva_engine.db.audit import PendingEvent
from eva_engine.db.repositories import Repositories
from eva_engine.errors import (
    N_,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Problem,
    Text,
)
from eva_engine.models import Organisation, OutboxMessage, User, Webhook, utcnow
from eva_engine.services.access import (
    actor_for,
    administered_organisation,
    no_organisation,
    require_role_in,
)
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import Channel, DeliveryState, NotificationKind, Role

ERROR_LIMIT = 2000
_jitter = random.Random()  # noqa: S311 - spreading retries needs no cryptographic randomness


@dataclass(frozen=True)
class RetryPolicy:
    """After a failed attempt ``n`` (1, 2, ...) the next one waits ``base * 2**(n-1)`` seconds,
    at most ``cap``, times a random factor in [0.8, 1.2] so that receivers coming back are not
    hit by every worker at the same moment. After ``max_attempts`` failures the message is dead."""

    max_attempts: int = 8
    base_seconds: float = 30.0
    cap_seconds: float = 6 * 3600.0

    def delay(self, attempts: int, factor: float | None = None) -> timedelta:
        seconds = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        jitter = _jitter.uniform(0.8, 1.2) if factor is None else factor
        return timedelta(seconds=seconds * jitter)


# views ---------------------------------------------------------------------------------------
class MessageView(BaseModel):
    id: int
    event_id: str
    kind: NotificationKind
    channel: Channel
    organisation: str | None
    proposal_id: int | None
    recipient: str | None  # username (email) or the webhook's URL
    state: DeliveryState
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None


class Delivery(BaseModel):
    """One claimed message with what its sender needs. ``token`` proves the claim when the
    attempt is settled; ``problem`` is set when it cannot be sent at all (no address...)."""

    id: int
    token: datetime
    event_id: str
    kind: NotificationKind
    channel: Channel
    attempts: int
    payload: dict[str, Any]
    username: str | None = None
    full_name: str | None = None
    email: str | None = None
    language: str = "fi"
    webhook_id: int | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class _Known:
    """The organisations, users and webhooks a list of messages names, one query each."""

    organisations: dict[int, Organisation]
    users: dict[int, User]
    webhooks: dict[int, Webhook]

    @classmethod
    def of(cls, repos: Repositories, messages: Sequence[OutboxMessage]) -> _Known:
        orgs = {m.organisation_id for m in messages if m.organisation_id}
        return cls(
            organisations={o.id: o for o in repos.organisations() if o.id in orgs} if orgs else {},
            users=repos.users_by_id(m.recipient_id for m in messages if m.recipient_id),
            webhooks=repos.webhooks_by_id(m.webhook_id for m in messages if m.webhook_id),
        )


def _message_view(
    repos: Repositories, m: OutboxMessage, known: _Known | None = None
) -> MessageView:
    """The message as shown; ``known``: its organisation, recipient and webhook read with the
    rest of a list (one query each for the whole list), else read now."""
    if known is None:
        known = _Known.of(repos, [m])
    org = known.organisations.get(m.organisation_id) if m.organisation_id else None
    recipient: str | None = None
    if m.recipient_id is not None:
        user = known.users.get(m.recipient_id)
        recipient = user.username if user else None
    elif m.webhook_id is not None:
        hook = known.webhooks.get(m.webhook_id)
        recipient = hook.url if hook else None
    return MessageView(
        id=m.id,
        event_id=m.event_id,
        kind=m.kind,
        channel=m.channel,
        organisation=org.code if org else None,
        proposal_id=m.proposal_id,
        recipient=recipient,
        state=m.state,
        attempts=m.attempts,
        last_error=m.last_error,
        next_attempt_at=m.next_attempt_at,
        created_at=m.created_at,
        delivered_at=m.delivered_at,
    )


def _delivery(repos: Repositories, m: OutboxMessage) -> Delivery:
    d = Delivery(
        id=m.id,
        token=m.next_attempt_at,
        event_id=m.event_id,
        kind=m.kind,
        channel=m.channel,
        attempts=m.attempts,
        payload=dict(m.payload),
    )
    if m.channel == Channel.EMAIL:
        user: User | None = repos.user(m.recipient_id) if m.recipient_id else None
        if user is None:
            d.problem = "the recipient no longer exists"
            return d
        d.username, d.full_name, d.email = user.username, user.full_name, user.email
        d.language = user.language.value
        if not user.active:
            d.problem = f"user {user.username} is disabled"
        elif not user.email:
            d.problem = f"user {user.username} has no email address"
    else:
        hook = store.webhook(repos.session, m.webhook_id) if m.webhook_id else None
        if hook is None:
            d.problem = "the webhook no longer exists"
            return d
        d.webhook_id, d.webhook_url, d.webhook_secret = hook.id, hook.url, hook.secret
        if not hook.active:
            d.problem = f"webhook {hook.id} is disabled"
    return d


# delivery ------------------------------------------------------------------------------------
DEFAULT_LEASE = timedelta(seconds=30)  # EVA_OUTBOX_LEASE_SECONDS


def claim_due(
    eva: Eva,
    *,
    limit: int = 100,
    lease: timedelta = DEFAULT_LEASE,
    channels: tuple[Channel, ...] = tuple(Channel),
) -> list[Delivery]:
    """Claim up to ``limit`` due messages for one attempt each. A claimed message is not due
    again until its lease ends; a living worker keeps extending it (``renew``), so if this
    worker dies before settling it, another one retries it soon after (at least once).
    Concurrent workers never claim the same message."""
    with eva.uow() as uow:
        session = uow.repos.session
        now = utcnow()
        lease_until = now + lease
        claimed: list[int] = []
        for message_id, seen_at in store.due_message_ids(session, now, limit, channels):
            if store.claim(session, message_id, seen_at, lease_until):
                claimed.append(message_id)
        found = [store.claimed_message(session, i, lease_until) for i in claimed]
        deliveries = [_delivery(uow.repos, m) for m in found if m is not None]
        uow.commit()
        return deliveries


def renew(
    eva: Eva, deliveries: Sequence[Delivery], lease: timedelta = DEFAULT_LEASE
) -> dict[int, datetime]:
    """Extend the lease of claimed messages this worker still holds, to ``lease`` from now, in
    one short transaction. Returns each renewed message's new token (the caller settles with
    it); a message missing from the answer is no longer held (its lease ran out and another
    worker took it, or it was settled)."""
    with eva.uow() as uow:
        session = uow.repos.session
        lease_until = utcnow() + lease
        renewed = {
            d.id: lease_until
            for d in deliveries
            if store.extend_lease(session, d.id, d.token, lease_until)
        }
        uow.commit()
        return renewed


def next_due(eva: Eva, channels: tuple[Channel, ...] = tuple(Channel)) -> datetime | None:
    """When the next pending message is due (a retry's time, or the end of a lease that its
    worker may no longer renew), or None: a worker sleeps until then at most."""
    with eva.reading() as uow:
        return store.next_due_at(uow.repos.session, channels)


def settle_delivered(eva: Eva, delivery: Delivery) -> bool:
    """The receiver accepted the message. False if the claim had expired and someone else
    took the message meanwhile (it may then be delivered twice: receivers de-duplicate)."""
    with eva.uow() as uow:
        m = store.claimed_message(uow.repos.session, delivery.id, delivery.token)
        if m is None:
            return False
        now = utcnow()
        m.state, m.delivered_at, m.attempts = DeliveryState.DELIVERED, now, m.attempts + 1
        m.next_attempt_at = now
        uow.commit()
        return True


def release(eva: Eva, delivery: Delivery) -> bool:
    """Give back a claimed message that was not attempted (the worker is stopping): it is due
    again at once, with no attempt counted."""
    with eva.uow() as uow:
        m = store.claimed_message(uow.repos.session, delivery.id, delivery.token)
        if m is None:
            return False
        m.next_attempt_at = utcnow()
        uow.commit()
        return True


def settle_failed(
    eva: Eva,
    delivery: Delivery,
    error: str,
    policy: RetryPolicy,
    *,
    permanent: bool = False,
) -> MessageView | None:
    """The attempt failed: count it, keep the error, and wait (backoff) or give up (dead)."""
    with eva.uow() as uow:
        m = store.claimed_message(uow.repos.session, delivery.id, delivery.token)
        if m is None:
            return None
        now = utcnow()
        m.attempts += 1
        m.last_error = error[:ERROR_LIMIT]
        if permanent or m.attempts >= policy.max_attempts:
            m.state = DeliveryState.DEAD
            m.next_attempt_at = now
        else:
            m.next_attempt_at = now + policy.delay(m.attempts)
        uow.commit()
        return _message_view(uow.repos, m)


# dead letters --------------------------------------------------------------------------------
def _visible_organisations(
    repos: Repositories, user: User | None, organisation: str | None
) -> list[int] | None:
    """The organisations whose outbox the caller administers (None: every one, the operator)."""
    if organisation:
        org = repos.organisation_by_code(organisation)
        if org is None:
            raise NotFound(no_organisation(organisation))
        if user is not None and org.id not in store.admin_organisations(repos.session, user.id):
            raise NotFound(no_organisation(organisation))
        return [org.id]
    if user is None:
        return None
    orgs = store.admin_organisations(repos.session, user.id)
    if not orgs:
        raise PermissionDenied(Text(N_("Only an administrator can do this.")))
    return orgs


def list_messages(
    eva: Eva,
    caller: Caller,
    *,
    organisation: str | None = None,
    states: tuple[DeliveryState, ...] = (),
    limit: int = 200,
    before_id: int | None = None,
) -> list[MessageView]:
    """Messages of the organisations the caller administers, newest first, at most ``limit``;
    ``before_id`` continues after the message of that id (keyset: the id of the last shown).
    A fixed number of statements however many are shown."""
    with eva.reading() as uow:
        _, user = actor_for(uow.repos, caller)
        orgs = _visible_organisations(uow.repos, user, organisation)
        rows = store.messages(uow.repos.session, orgs, states, limit, before_id)
        known = _Known.of(uow.repos, rows)
        return [_message_view(uow.repos, m, known) for m in rows]


def retry(eva: Eva, caller: Caller, message_id: int) -> MessageView:
    """Give a dead letter a fresh set of attempts, due now. Only its organisation's
    administrators may; to anyone else it does not exist."""
    with eva.uow() as uow:
        uow.audit.actor, user = actor_for(uow.repos, caller)
        m = store.message(uow.repos.session, message_id)
        admin_of = None if user is None else store.admin_organisations(uow.repos.session, user.id)
        if m is None or (admin_of is not None and m.organisation_id not in admin_of):
            raise NotFound(
                Text(N_("There is no outbox message %(id)s. Check the number."), {"id": message_id})
            )
        if m.state != DeliveryState.DEAD:
            raise Conflict(
                Text(
                    N_(
                        "Outbox message %(id)s is still being delivered: only a message whose "
                        "delivery has failed for good can be retried."
                    ),
                    {"id": message_id},
                )
            )
        before = {"state": m.state.value, "attempts": m.attempts, "last_error": m.last_error}
        m.state, m.attempts, m.next_attempt_at = DeliveryState.PENDING, 0, utcnow()
        uow.audit.record(
            PendingEvent(
                action="outbox.retry",
                entity_type="outbox_message",
                entity_id=str(m.id),
                organisation_id=m.organisation_id,
                proposal_id=m.proposal_id,
                before=before,
                after={"state": m.state.value, "attempts": 0},
                reason=None,
                role="admin" if user is not None else None,
            )
        )
        uow.commit()
        return _message_view(uow.repos, m)


# webhooks ------------------------------------------------------------------------------------
class CreateWebhook(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    organisation: str
    url: AnyHttpUrl
    kinds: list[NotificationKind] = Field(default_factory=list)  # empty: every kind


class WebhookView(BaseModel):
    id: int
    organisation: str
    url: str
    kinds: list[str]
    active: bool
    created_at: datetime


class NewWebhook(WebhookView):
    secret: str  # shown once: the receiver verifies signatures with it


def _webhook_view(repos: Repositories, hook: Webhook) -> WebhookView:
    org = repos.organisation(hook.organisation_id)
    return WebhookView(
        id=hook.id,
        organisation=org.code if org else "",
        url=hook.url,
        kinds=list(hook.kinds),
        active=hook.active,
        created_at=hook.created_at,
    )


def create_webhook(eva: Eva, caller: Caller, cmd: CreateWebhook) -> NewWebhook:
    url = str(cmd.url)
    if len(url) > 500:
        long_url = Text(N_("The address is longer than 500 characters: shorten it."))
        raise InvalidInput(long_url, [Problem.of("url", long_url)])
    with eva.uow() as uow:
        uow.audit.actor, user = actor_for(uow.repos, caller)
        org, uow.audit.role = administered_organisation(
            uow.repos, user, cmd.organisation, "add a webhook"
        )
        secret = secrets.token_hex(32)
        hook = Webhook(
            organisation_id=org.id,
            url=url,
            secret=secret,
            kinds=list(dict.fromkeys(k.value for k in cmd.kinds)),
            active=True,
            created_at=utcnow(),
        )
        uow.repos.add(hook)
        uow.commit()
        return NewWebhook(**_webhook_view(uow.repos, hook).model_dump(), secret=secret)


def list_webhooks(eva: Eva, caller: Caller, organisation: str | None = None) -> list[WebhookView]:
    """The webhooks of ``organisation`` (its administrators only), or of every organisation the
    caller administers."""
    with eva.reading() as uow:
        _, user = actor_for(uow.repos, caller)
        if organisation is not None:
            org, _ = administered_organisation(uow.repos, user, organisation, "see webhooks")
            orgs: list[int] | None = [org.id]
        else:
            orgs = _visible_organisations(uow.repos, user, None)
        return [_webhook_view(uow.repos, h) for h in store.webhooks(uow.repos.session, orgs)]


def disable_webhook(eva: Eva, caller: Caller, webhook_id: int) -> WebhookView:
    """No new messages are written for a disabled webhook; its pending ones go dead. Only an
    administrator of the webhook's organisation may; another organisation's does not exist."""
    with eva.uow() as uow:
        uow.audit.actor, user = actor_for(uow.repos, caller)
        missing = Text(N_("There is no webhook %(id)s. Check the number."), {"id": webhook_id})
        hook = store.webhook(uow.repos.session, webhook_id) if 0 < webhook_id < 2**63 else None
        if hook is None:
            raise NotFound(missing)
        role = require_role_in(
            uow.repos, user, hook.organisation_id, None, [Role.ADMIN], "disable webhooks", missing
        )
        hook.active = False
        uow.audit.role = role.value if role else None
        uow.commit()
        return _webhook_view(uow.repos, hook)
