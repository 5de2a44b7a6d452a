"""Emails in the recipient's language: subject through the catalogs, body from
``templates/email/notification.txt``, rendered under Flask-Babel's ``force_locale``."""

from __future__ import annotations

from datetime import date
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any

from flask import Flask, render_template
from flask_babel import Babel, force_locale, format_date
from flask_babel import gettext as _

from eva_engine.config import NotifySettings
from eva_engine.services.notifications.outbox import Delivery
from eva_engine.vocabulary import NotificationKind
from web.i18n import DEFAULT, LANGUAGES, role_name, task_name


def mail_app() -> Flask:
    """A small Flask app for rendering only: the web package's templates and translations,
    no sessions or secrets (the worker needs no ``EVA_SECRET_KEY``)."""
    app = Flask("web")  # root path: the web package, so templates/ and translations/ are found
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    Babel(app, default_locale=DEFAULT, default_timezone="Europe/Helsinki")
    app.jinja_env.globals.update(task_name=task_name, role_name=role_name)
    app.jinja_env.filters["role_name"] = role_name
    return app


def outcome_name(outcome: str) -> str:
    names = {
        "approved": _("approved as proposed"),
        "amended": _("approved as amended"),
        "tabled": _("tabled"),
        "returned": _("returned for new preparation"),
        "rejected": _("rejected"),
        "removed": _("removed from the agenda"),
    }
    return str(names.get(outcome, outcome))


def proposal_link(base_url: str, payload: dict[str, Any]) -> str:
    return f"{base_url}/proposals/{payload['proposal']['id']}"


def subject(kind: NotificationKind, payload: dict[str, Any]) -> str:
    case = payload["proposal"]["case_number"]
    assignment = payload.get("assignment") or {}
    task = task_name(assignment.get("kind", "")) if assignment else ""
    subjects = {
        NotificationKind.ASSIGNMENT_MADE: _("New task in eva: %(task)s, %(case)s"),
        NotificationKind.DUE_SOON: _("Task due soon: %(task)s, %(case)s"),
        NotificationKind.OVERDUE: _("Task overdue: %(task)s, %(case)s"),
        NotificationKind.RETURNED: _("Returned for revision: %(case)s"),
        NotificationKind.SIGNED_OFF: _("Signed off by the presenter: %(case)s"),
        NotificationKind.OUTCOME_RECORDED: _("Meeting outcome recorded: %(case)s"),
    }
    return str(subjects[kind] % {"task": task, "case": case})


def _title(payload: dict[str, Any], language: str) -> str | None:
    proposal = payload["proposal"]
    if language == "sv" and proposal.get("title_sv"):
        return str(proposal["title_sv"])
    title = proposal.get("title")
    return str(title) if title else None


def render(app: Flask, delivery: Delivery, settings: NotifySettings) -> EmailMessage:
    """The email of one message, in the recipient's language (Finnish if unknown)."""
    language = delivery.language if delivery.language in LANGUAGES else DEFAULT
    payload = delivery.payload
    assignment = payload.get("assignment") or {}
    with app.app_context(), force_locale(language):
        due = assignment.get("due")
        body = render_template(
            "email/notification.txt",
            kind=delivery.kind.value,
            name=delivery.full_name or delivery.username or "",
            case_number=payload["proposal"]["case_number"],
            title=_title(payload, language),
            task=task_name(assignment["kind"]) if assignment else None,
            roles=assignment.get("roles") or [],
            queue=bool(assignment) and not assignment.get("assignee"),
            due=format_date(date.fromisoformat(due)) if due else None,
            actor=payload.get("actor"),
            reason=(payload.get("transition") or {}).get("reason"),
            outcome=outcome_name(payload["outcome"]) if payload.get("outcome") else None,
            link=proposal_link(settings.base_url, payload),
        )
        title = subject(delivery.kind, payload)
    message = EmailMessage()
    message["Subject"] = title
    message["From"] = settings.smtp_from
    message["To"] = formataddr((delivery.full_name or "", delivery.email or ""))
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(idstring=f"eva.{delivery.id}")
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message["X-Eva-Event-Id"] = delivery.event_id
    message.set_content(body)
    message["Content-Language"] = language  # after set_content, which replaces Content-*
    return message
