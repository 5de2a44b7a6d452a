"""Fixtures for the notification tests: a real SMTP server (aiosmtpd) and a real HTTP webhook
receiver that checks signatures, both on loopback; people with addresses and languages."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import update

from eva_engine.config import NotifySettings
from eva_engine.delivery.signing import verify
from eva_engine.models import OutboxMessage, utcnow
from eva_engine.services.notifications import outbox
from eva_engine.services.people import users
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import Language, Role
from tests.builders import OPERATOR, ORG

BASE_URL = "https://eva.example.fi"

# username: (language, roles)
PEOPLE: dict[str, tuple[Language, list[Role]]] = {
    "anna": (Language.FI, [Role.PREPARER]),
    "sven": (Language.SV, [Role.PREPARER, Role.SECRETARY]),
    "emma": (Language.EN, [Role.PRESENTER, Role.EXPERT]),
}


def add_people(eva: Eva) -> None:
    """Three users with email addresses in Finnish, Swedish and English."""
    for username, (language, roles) in PEOPLE.items():
        users.create_user(
            eva,
            OPERATOR,
            users.CreateUser(
                username=username,
                full_name=username.title() + " Esimerkki",
                email=f"{username}@example.fi",
                language=language,
            ),
        )
        for role in roles:
            users.grant_role(
                eva, OPERATOR, users.GrantRole(username=username, organisation=ORG, role=role)
            )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def settings(smtp_port: int | None = None, **changes: Any) -> NotifySettings:
    base: dict[str, Any] = {
        "smtp_host": "127.0.0.1" if smtp_port else None,
        "smtp_port": smtp_port or 25,
        "smtp_from": "eva@example.fi",
        "smtp_timeout": 5.0,
        "base_url": BASE_URL,
        "webhook_timeout": 5.0,
    }
    return NotifySettings(**(base | changes))


def make_due(eva: Eva) -> None:
    """Time passes: every pending message's next attempt is due now."""
    with eva.uow() as uow:
        uow.repos.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.state == "pending")
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        uow.commit()


def messages(eva: Eva, **filters: Any) -> list[outbox.MessageView]:
    rows = outbox.list_messages(eva, OPERATOR, limit=10_000)
    return [m for m in rows if all(getattr(m, k) == v for k, v in filters.items())]


# SMTP ----------------------------------------------------------------------------------------
@dataclass
class Inbox:
    mails: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        content = envelope.original_content or b""
        mail = message_from_bytes(content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.mails if address in str(m["To"])]


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


# webhook receiver ----------------------------------------------------------------------------
@dataclass
class Receiver:
    """Answers with the next status of ``plan`` (then 200); refuses a bad signature with 401.
    Keeps what it accepted by event id, as a receiver that de-duplicates would."""

    secret: str = ""
    plan: list[int] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)
    bad_signatures: int = 0
    url: str = ""

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        ok = verify(
            self.secret,
            headers.get("x-eva-timestamp", ""),
            body,
            headers.get("x-eva-signature", ""),
        )
        self.requests.append({"headers": headers, "body": body, "signed": ok})
        if not ok:
            self.bad_signatures += 1
            return 401
        status = self.plan.pop(0) if self.plan else 200
        if 200 <= status < 300:
            event_id = headers["x-eva-event-id"]
            self.accepted.setdefault(event_id, json.loads(body))  # de-duplicated by event id
        return status


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver.handle(headers, body)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/eva-hook"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
