"""One delivery pass (scan for due and overdue tasks, claim due messages, send each, settle it)
and the long-running worker that repeats passes until it is told to stop."""

from __future__ import annotations

import ipaddress
import json
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from eva_engine.config import NotifySettings
from eva_engine.delivery.signing import signature
from eva_engine.rendering import email
from eva_engine.rendering.email import TaskTitles
from eva_engine.services import definitions
from eva_engine.services.notifications import notices, outbox
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import Channel

WORKER = Caller(None, "worker")
USER_AGENT = "eva-webhooks/1"
MIN_WAIT = 0.2  # seconds between passes at the least


class DeliveryFailed(Exception):
    """An attempt that did not reach the receiver; ``permanent`` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


# senders -------------------------------------------------------------------------------------
def send_email(message: EmailMessage, settings: NotifySettings) -> None:
    """Hand the message to the SMTP server; returns only once the server accepted it."""
    if not settings.smtp_host:  # pragma: no cover - the pass does not claim email then
        raise DeliveryFailed("no SMTP server is configured (EVA_SMTP_HOST)")
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            refused = smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryFailed(f"the SMTP server refused the recipient: {exc.recipients}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        where = f"{settings.smtp_host}:{settings.smtp_port}"
        raise DeliveryFailed(f"SMTP {where}: {type(exc).__name__}: {exc}") from exc
    if refused:  # pragma: no cover - one recipient: refused means the exception above
        raise DeliveryFailed(f"the SMTP server refused {sorted(refused)}")


def webhook_body(delivery: outbox.Delivery, settings: NotifySettings) -> bytes:
    """The JSON document POSTed: the event's payload plus a link to the proposal. The same
    bytes on every attempt, so a receiver sees one event id with one content."""
    payload: dict[str, Any] = dict(delivery.payload)
    payload["url"] = email.proposal_link(settings.base_url, payload)
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def refuse_private_address(url: str) -> None:
    """A webhook must reach a public address (production): no loopback, private, link-local
    or reserved host, so that a webhook cannot be used to reach the server's own network."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError as exc:
        raise DeliveryFailed(f"webhook {url}: cannot resolve {host!r}: {exc}") from exc
    for address in sorted(addresses):
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            raise DeliveryFailed(
                f"webhook {url}: refused, {host!r} is the non-public address {ip} "
                "(set EVA_WEBHOOK_ALLOW_PRIVATE=1 to allow internal receivers)",
                permanent=True,
            )


def post_webhook(delivery: outbox.Delivery, settings: NotifySettings, client: httpx.Client) -> int:
    """POST the signed event; a 2xx answer is a delivery, anything else a failed attempt."""
    if delivery.webhook_url is None or delivery.webhook_secret is None:  # pragma: no cover
        raise DeliveryFailed("the webhook has no URL or secret", permanent=True)
    if not settings.webhook_allow_private:
        refuse_private_address(delivery.webhook_url)
    body = webhook_body(delivery, settings)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Eva-Event-Id": delivery.event_id,
        "X-Eva-Event-Kind": delivery.kind.value,
        "X-Eva-Delivery": str(delivery.id),
        "X-Eva-Timestamp": timestamp,
        "X-Eva-Signature": signature(delivery.webhook_secret, timestamp, body),
    }
    try:
        response = client.post(delivery.webhook_url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(
            f"webhook {delivery.webhook_url}: {type(exc).__name__}: {exc}"
        ) from exc
    if not response.is_success:
        text = response.text[:200].strip()
        raise DeliveryFailed(
            f"webhook {delivery.webhook_url} answered HTTP {response.status_code}"
            + (f": {text}" if text else "")
        )
    return response.status_code


# leases --------------------------------------------------------------------------------------
class Leases:
    """The messages a pass claimed and has not settled yet, and a heartbeat thread that renews
    their lease every third of it while the pass runs: a slow SMTP server or webhook never
    makes a living worker lose what it holds, and the messages of a worker that died (kill -9,
    a crash, a lost machine) are due again within one lease. Settling and renewing take turns
    (a lock), so a settle never carries a token that a renewal just replaced."""

    def __init__(self, eva: Eva, deliveries: list[outbox.Delivery], lease: timedelta) -> None:
        self._eva = eva
        self._lease = lease
        self._lock = threading.Lock()
        self._held = {d.id: d for d in deliveries}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="eva-outbox-lease", daemon=True)
        self.renewals = 0
        self.failures = 0

    def __enter__(self) -> Leases:
        if self._held:
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()
        for d in list(self._held.values()):  # the pass ended early: give back the rest
            with suppress(Exception):  # the lease ends by itself then
                outbox.release(self._eva, d)
        self._held.clear()

    def _beat(self) -> None:
        while not self._done.wait(self._lease.total_seconds() / 3):
            self.renew()

    def renew(self) -> None:
        """Extend every held lease; forget the ones another worker took meanwhile."""
        with self._lock:
            if not self._held:
                return
            try:
                tokens = outbox.renew(self._eva, list(self._held.values()), self._lease)
            except Exception:  # the database is away: holds() stops sends before the lease ends
                self.failures += 1
                return
            self.renewals += 1
            for message_id, d in list(self._held.items()):
                token = tokens.get(message_id)
                if token is None:
                    del self._held[message_id]
                else:
                    d.token = token

    def holds(self, d: outbox.Delivery) -> bool:
        """Whether the message is still ours with at least a third of the lease left, enough to
        start an attempt (else it is left to whoever claims it when the lease ends)."""
        with self._lock:
            if d.id not in self._held:
                return False
            left = d.token - datetime.now(UTC)
            if left > self._lease / 3:
                return True
            del self._held[d.id]
            return False

    @contextmanager
    def settling(self, d: outbox.Delivery) -> Iterator[None]:
        """Record the attempt's result with the current token; then the message is not held."""
        with self._lock:
            try:
                yield
            finally:
                self._held.pop(d.id, None)


# one pass ------------------------------------------------------------------------------------
class Attempt(BaseModel):
    id: int
    event_id: str
    kind: str
    channel: Channel
    recipient: str | None
    result: str  # delivered, retry, dead, released, lost_claim
    error: str | None = None
    attempts: int


class PassReport(BaseModel):
    due_soon: int = 0
    overdue: int = 0
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    email_waiting: bool = False  # email is not claimed while no SMTP server is configured
    attempts: list[Attempt] = []

    def summary(self) -> str:
        text = (
            f"scan: {self.due_soon} due soon, {self.overdue} overdue; "
            f"claimed {self.claimed}: {self.delivered} delivered, {self.retrying} to retry, "
            f"{self.dead} dead"
        )
        if self.email_waiting:
            text += " (email waits: EVA_SMTP_HOST is not set)"
        return text


def _recipient(d: outbox.Delivery) -> str | None:
    return d.email or d.username if d.channel == Channel.EMAIL else d.webhook_url


def _send(
    d: outbox.Delivery, settings: NotifySettings, titles: TaskTitles, client: httpx.Client
) -> None:
    if d.problem:
        raise DeliveryFailed(d.problem, permanent=True)
    if d.channel == Channel.EMAIL:
        message = email.render(d, titles, base_url=settings.base_url, sender=settings.smtp_from)
        send_email(message, settings)
    else:
        post_webhook(d, settings, client)


def deliver_pass(
    eva: Eva,
    settings: NotifySettings,
    *,
    scan: bool = True,
    stop: threading.Event | None = None,
    client: httpx.Client | None = None,
) -> PassReport:
    """Scan, then one attempt for each due message (at most ``batch_size``)."""
    titles = definitions.task_titles(eva.catalogue)
    report = PassReport()
    if scan:
        found = notices.scan(eva, WORKER, due_soon_days=settings.due_soon_days)
        report.due_soon, report.overdue = found.due_soon, found.overdue
    report.email_waiting = not settings.smtp_host
    policy = outbox.RetryPolicy(
        settings.max_attempts, settings.backoff_seconds, settings.backoff_max_seconds
    )
    lease = timedelta(seconds=settings.lease_seconds)
    claimed = outbox.claim_due(
        eva, limit=settings.batch_size, lease=lease, channels=channels_for(settings)
    )
    report.claimed = len(claimed)
    own_client = client is None
    http = client or httpx.Client(timeout=settings.webhook_timeout, follow_redirects=False)
    try:
        with Leases(eva, claimed, lease) as leases:
            for d in claimed:
                attempt = Attempt(
                    id=d.id,
                    event_id=d.event_id,
                    kind=d.kind.value,
                    channel=d.channel,
                    recipient=_recipient(d),
                    result="delivered",
                    attempts=d.attempts + 1,
                )
                if stop is not None and stop.is_set():
                    with leases.settling(d):
                        outbox.release(eva, d)
                    attempt.result, attempt.attempts = "released", d.attempts
                elif not leases.holds(d):
                    attempt.result, attempt.attempts = "lost_claim", d.attempts
                else:
                    _attempt(eva, d, settings, titles, http, policy, attempt, leases)
                report.attempts.append(attempt)
    finally:
        if own_client:
            http.close()
    report.delivered = sum(a.result == "delivered" for a in report.attempts)
    report.retrying = sum(a.result == "retry" for a in report.attempts)
    report.dead = sum(a.result == "dead" for a in report.attempts)
    return report


def _attempt(
    eva: Eva,
    d: outbox.Delivery,
    settings: NotifySettings,
    titles: TaskTitles,
    http: httpx.Client,
    policy: outbox.RetryPolicy,
    attempt: Attempt,
    leases: Leases,
) -> None:
    try:
        _send(d, settings, titles, http)  # the heartbeat renews the lease meanwhile
    except DeliveryFailed as exc:
        with leases.settling(d):
            settled = outbox.settle_failed(eva, d, str(exc), policy, permanent=exc.permanent)
        attempt.error = str(exc)
        if settled is None:
            attempt.result = "lost_claim"
        else:
            attempt.result = "dead" if settled.state.value == "dead" else "retry"
            attempt.attempts = settled.attempts
        return
    with leases.settling(d):
        delivered = outbox.settle_delivered(eva, d)
    if not delivered:
        attempt.result = "lost_claim"


# the worker ----------------------------------------------------------------------------------
def run_worker(
    eva: Eva,
    settings: NotifySettings,
    stop: threading.Event,
    *,
    interval: float | None = None,
    report: Callable[[PassReport], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
) -> int:
    """Passes until ``stop`` is set (by SIGTERM/SIGINT in ``eva worker``); returns how many ran.
    A pass that fails (say the database is away) is reported and tried again next interval."""
    passes = 0
    every = settings.worker_interval if interval is None else interval
    with httpx.Client(timeout=settings.webhook_timeout, follow_redirects=False) as client:
        while not stop.is_set():
            wait = every
            try:
                done = deliver_pass(eva, settings, stop=stop, client=client)
                wait = _until_next_due(eva, settings, every)
            except Exception as exc:  # the worker outlives a failed pass
                if on_error is not None:
                    on_error(exc)
            else:
                if report is not None:
                    report(done)
            passes += 1
            stop.wait(wait)
    return passes


def channels_for(settings: NotifySettings) -> tuple[Channel, ...]:
    """Email is claimed only while an SMTP server is configured."""
    return tuple(Channel) if settings.smtp_host else (Channel.WEBHOOK,)


def _until_next_due(eva: Eva, settings: NotifySettings, interval: float) -> float:
    """Seconds to sleep: the interval, or less when a message is due sooner (a retry, or the
    lease of a worker that died ending), so that it is taken over without waiting a whole
    interval. At least ``MIN_WAIT`` (no busy loop)."""
    due = outbox.next_due(eva, channels_for(settings))
    if due is None:
        return interval
    seconds = (due - datetime.now(UTC)).total_seconds() + 0.05
    return min(interval, max(MIN_WAIT, seconds))
