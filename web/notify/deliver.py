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
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx
from flask import Flask
from pydantic import BaseModel

from eva_engine.config import NotifySettings
from eva_engine.services import notifications, outbox
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import Channel
from web.notify import render
from web.notify.signing import signature

WORKER = Caller(None, "worker")
USER_AGENT = "eva-webhooks/1"


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
    payload["url"] = render.proposal_link(settings.base_url, payload)
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


def _send(d: outbox.Delivery, settings: NotifySettings, app: Flask, client: httpx.Client) -> None:
    if d.problem:
        raise DeliveryFailed(d.problem, permanent=True)
    if d.channel == Channel.EMAIL:
        send_email(render.render(app, d, settings), settings)
    else:
        post_webhook(d, settings, client)


def deliver_pass(
    eva: Eva,
    settings: NotifySettings,
    *,
    app: Flask | None = None,
    scan: bool = True,
    stop: threading.Event | None = None,
    client: httpx.Client | None = None,
) -> PassReport:
    """Scan, then one attempt for each due message (at most ``batch_size``)."""
    app = app or render.mail_app()
    report = PassReport()
    if scan:
        found = notifications.scan(eva, WORKER, due_soon_days=settings.due_soon_days)
        report.due_soon, report.overdue = found.due_soon, found.overdue
    channels = tuple(Channel) if settings.smtp_host else (Channel.WEBHOOK,)
    report.email_waiting = not settings.smtp_host
    policy = outbox.RetryPolicy(
        settings.max_attempts, settings.backoff_seconds, settings.backoff_max_seconds
    )
    claimed = outbox.claim_due(eva, limit=settings.batch_size, channels=channels)
    report.claimed = len(claimed)
    own_client = client is None
    http = client or httpx.Client(timeout=settings.webhook_timeout, follow_redirects=False)
    try:
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
                outbox.release(eva, d)
                attempt.result, attempt.attempts = "released", d.attempts
            else:
                _attempt(eva, d, settings, app, http, policy, attempt)
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
    app: Flask,
    http: httpx.Client,
    policy: outbox.RetryPolicy,
    attempt: Attempt,
) -> None:
    try:
        _send(d, settings, app, http)
    except DeliveryFailed as exc:
        settled = outbox.settle_failed(eva, d, str(exc), policy, permanent=exc.permanent)
        attempt.error = str(exc)
        if settled is None:
            attempt.result = "lost_claim"
        else:
            attempt.result = "dead" if settled.state.value == "dead" else "retry"
            attempt.attempts = settled.attempts
        return
    if not outbox.settle_delivered(eva, d):
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
    app = render.mail_app()
    passes = 0
    wait = settings.worker_interval if interval is None else interval
    with httpx.Client(timeout=settings.webhook_timeout, follow_redirects=False) as client:
        while not stop.is_set():
            try:
                done = deliver_pass(eva, settings, app=app, stop=stop, client=client)
            except Exception as exc:  # the worker outlives a failed pass
                if on_error is not None:
                    on_error(exc)
            else:
                if report is not None:
                    report(done)
            passes += 1
            stop.wait(wait)
    return passes
