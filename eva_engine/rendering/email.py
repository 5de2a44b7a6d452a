"""Emails in the recipient's language: the subject through the catalogs, the body from
``templates/email/notification.txt``, with Babel's translations and date formats (no Flask:
the worker needs no web application and no ``EVA_SECRET_KEY``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any, Protocol

from eva_engine.errors import N_
from eva_engine.rendering.labels import Labels
from eva_engine.rendering.language import Speaker, language_or_default
from eva_engine.rendering.templates import environment
from eva_engine.services.notifications.outbox import Delivery
from eva_engine.vocabulary import FOLLOW_UP_KEY, OLD_FOLLOW_UP_KEY, NotificationKind

TEMPLATE = "email/notification.txt"
FOLLOW_UP_TEMPLATE = "email/follow_up.txt"  # a due_soon or overdue notice of a follow-up

SUBJECTS = {
    NotificationKind.ASSIGNMENT_MADE: N_("New task in eva: %(task)s, %(case)s"),
    NotificationKind.DUE_SOON: N_("Task due soon: %(task)s, %(case)s"),
    NotificationKind.OVERDUE: N_("Task overdue: %(task)s, %(case)s"),
    NotificationKind.RETURNED: N_("Returned for revision: %(case)s"),
    NotificationKind.SIGNED_OFF: N_("Signed off by the presenter: %(case)s"),
    NotificationKind.OUTCOME_RECORDED: N_("Meeting outcome recorded: %(case)s"),
}


FOLLOW_UP_SUBJECTS = {
    NotificationKind.DUE_SOON: N_("Follow-up due soon: %(task)s, %(case)s"),
    NotificationKind.OVERDUE: N_("Follow-up overdue: %(task)s, %(case)s"),
}


class Titled(Protocol):
    """A text of the definitions in Finnish, Swedish and English."""

    def get(self, language: str) -> str: ...


TaskTitles = Mapping[str, Titled]


def proposal_link(base_url: str, payload: Mapping[str, Any]) -> str:
    return f"{base_url}/proposals/{payload['proposal']['id']}"


def task_name(titles: TaskTitles, kind: str, language: str) -> str:
    """A task kind's title as the workflow files declare it (``task_kinds``), else its id."""
    title = titles.get(kind)
    return kind if title is None else title.get(language)


def indicator_follow_up(payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The follow-up of an indicator a notice is about (``due_soon``/``overdue`` of a
    follow-up), or None. Outbox rows written before the key was named ``indicator_follow_up``
    carry it as ``follow_up``: they are read the same."""
    found = payload.get(FOLLOW_UP_KEY) or payload.get(OLD_FOLLOW_UP_KEY)
    return found if isinstance(found, Mapping) else None


def subject(
    kind: NotificationKind, payload: Mapping[str, Any], language: str, titles: TaskTitles
) -> str:
    case = payload["proposal"]["case_number"]
    follow_up = indicator_follow_up(payload)
    if follow_up and kind in FOLLOW_UP_SUBJECTS:
        task = follow_up.get("indicator") or task_name(titles, follow_up["kind"], language)
        return Speaker(language).gettext(FOLLOW_UP_SUBJECTS[kind], task=task, case=case)
    assignment = payload.get("assignment") or {}
    task = task_name(titles, assignment.get("kind", ""), language) if assignment else ""
    return Speaker(language).gettext(SUBJECTS[kind], task=task, case=case)


def _title(payload: Mapping[str, Any], language: str) -> str | None:
    proposal = payload["proposal"]
    if language == "sv" and proposal.get("title_sv"):
        return str(proposal["title_sv"])
    title = proposal.get("title")
    return str(title) if title else None


def body(
    kind: NotificationKind,
    payload: Mapping[str, Any],
    language: str,
    titles: TaskTitles,
    *,
    name: str,
    base_url: str,
) -> str:
    """The plain-text body of a message of ``kind`` about ``payload``'s proposal."""
    speaker = Speaker(language)
    follow_up = indicator_follow_up(payload)
    if follow_up and kind in FOLLOW_UP_SUBJECTS:
        return (
            environment(language, trim=True)
            .get_template(FOLLOW_UP_TEMPLATE)
            .render(
                kind=kind.value,
                name=name,
                case_number=payload["proposal"]["case_number"],
                title=_title(payload, language),
                indicator=follow_up.get("indicator"),
                task=task_name(titles, follow_up["kind"], language),
                due=speaker.date(date.fromisoformat(follow_up["due"])),
                link=f"{proposal_link(base_url, payload)}/follow-ups",
            )
        )
    assignment = payload.get("assignment") or {}
    due = assignment.get("due")
    outcome = payload.get("outcome")
    return (
        environment(language, trim=True)
        .get_template(TEMPLATE)
        .render(
            kind=kind.value,
            name=name,
            case_number=payload["proposal"]["case_number"],
            title=_title(payload, language),
            task=task_name(titles, assignment["kind"], language) if assignment else None,
            roles=assignment.get("roles") or [],
            queue=bool(assignment) and not assignment.get("assignee"),
            due=speaker.date(date.fromisoformat(due)) if due else None,
            actor=payload.get("actor"),
            reason=(payload.get("transition") or {}).get("reason"),
            outcome=Labels(speaker.gettext).outcome_name(outcome) if outcome else None,
            link=proposal_link(base_url, payload),
        )
    )


def render(delivery: Delivery, titles: TaskTitles, *, base_url: str, sender: str) -> EmailMessage:
    """The email of one message, in the recipient's language (Finnish if unknown), from
    ``sender``, linking to the proposal under ``base_url``."""
    language = language_or_default(delivery.language)
    payload = delivery.payload
    message = EmailMessage()
    message["Subject"] = subject(delivery.kind, payload, language, titles)
    message["From"] = sender
    message["To"] = formataddr((delivery.full_name or "", delivery.email or ""))
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(idstring=f"eva.{delivery.id}")
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message["X-Eva-Event-Id"] = delivery.event_id
    message.set_content(
        body(
            delivery.kind,
            payload,
            language,
            titles,
            name=delivery.full_name or delivery.username or "",
            base_url=base_url,
        )
    )
    message["Content-Language"] = language  # after set_content, which replaces Content-*
    return message
