"""Notification emails rendered by the engine alone (no Flask, no database): the subject and
the body in the recipient's language, Finnish for a language eva does not have, dates as the
language writes them, role and outcome labels from the one label table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from eva_engine.localized import LocalizedText
from eva_engine.rendering import email
from eva_engine.services.notifications.outbox import Delivery
from eva_engine.vocabulary import Channel, NotificationKind

TITLES = {"prepare": LocalizedText(fi="Valmistelu", sv="Beredning", en="Preparation")}
BASE_URL = "https://eva.example.fi"
SENDER = "eva <eva@example.fi>"


def delivery(kind: NotificationKind, language: str, **payload: Any) -> Delivery:
    return Delivery(
        id=7,
        token=datetime(2027, 1, 1, tzinfo=UTC),
        event_id="ev-7",
        kind=kind,
        channel=Channel.EMAIL,
        attempts=0,
        payload={
            "proposal": {
                "id": 42,
                "case_number": "257/05.00.00/2027",
                "title": "Koulukuljetukset",
                "title_sv": "Skolskjutsar",
            },
            **payload,
        },
        username="maija",
        full_name="Maija Meikäläinen",
        email="maija@example.fi",
        language=language,
    )


TASK = {"kind": "prepare", "due": "2027-03-01", "assignee": "maija", "roles": ["preparer"]}


@pytest.mark.parametrize(
    ("language", "subject", "greeting", "due"),
    [
        (
            "fi",
            "Uusi tehtävä eva-järjestelmässä: Valmistelu, 257/05.00.00/2027",
            "Hei Maija Meikäläinen,",
            "1.3.2027",
        ),
        (
            "sv",
            "Ny uppgift i eva: Beredning, 257/05.00.00/2027",
            "Hej Maija Meikäläinen,",
            "1 mars 2027",
        ),
        (
            "en",
            "New task in eva: Preparation, 257/05.00.00/2027",
            "Hello Maija Meikäläinen,",
            "Mar 1, 2027",
        ),
    ],
)
def test_a_new_task_is_announced_in_the_recipients_language(
    language: str, subject: str, greeting: str, due: str
) -> None:
    message = email.render(
        delivery(NotificationKind.ASSIGNMENT_MADE, language, assignment=TASK),
        TITLES,
        base_url=BASE_URL,
        sender=SENDER,
    )
    body = message.get_content()
    assert message["Subject"] == subject
    assert message["Content-Language"] == language
    assert message["To"] == "Maija Meikäläinen <maija@example.fi>"
    assert message["From"] == SENDER
    assert message["X-Eva-Event-Id"] == "ev-7"
    assert body.startswith(greeting + "\n")
    assert due in body
    assert "https://eva.example.fi/proposals/42" in body
    assert ("Skolskjutsar" in body) is (language == "sv")
    assert ("Koulukuljetukset" in body) is (language != "sv")


def test_a_task_for_anyone_in_a_role_names_the_roles_in_the_language() -> None:
    queue = TASK | {"assignee": None, "roles": ["preparer", "expert"]}
    fi = email.render(
        delivery(NotificationKind.ASSIGNMENT_MADE, "fi", assignment=queue),
        TITLES,
        base_url=BASE_URL,
        sender=SENDER,
    )
    sv = email.render(
        delivery(NotificationKind.ASSIGNMENT_MADE, "sv", assignment=queue),
        TITLES,
        base_url=BASE_URL,
        sender=SENDER,
    )
    assert "valmistelija, asiantuntija" in fi.get_content()
    assert "beredare, sakkunnig" in sv.get_content()


def test_a_meeting_outcome_and_its_reason_read_in_the_language() -> None:
    event = delivery(
        NotificationKind.OUTCOME_RECORDED,
        "fi",
        outcome="amended",
        transition={"reason": "Pykälää muutettiin."},
        actor="Siiri Sihteeri",
    )
    message = email.render(event, TITLES, base_url=BASE_URL, sender=SENDER)
    body = message.get_content()
    assert message["Subject"].endswith("257/05.00.00/2027")
    assert "hyväksytty muutettuna" in body
    assert "Pykälää muutettiin." in body
    assert "Siiri Sihteeri" in body


def test_a_language_eva_does_not_have_reads_finnish() -> None:
    message = email.render(
        delivery(NotificationKind.RETURNED, "de", transition={"reason": "Korjaa."}),
        TITLES,
        base_url=BASE_URL,
        sender=SENDER,
    )
    assert message["Content-Language"] == "fi"
    assert message.get_content().startswith("Hei Maija Meikäläinen,")


def test_an_unknown_task_kind_reads_as_its_id() -> None:
    other = TASK | {"kind": "special_review"}
    message = email.render(
        delivery(NotificationKind.OVERDUE, "en", assignment=other),
        TITLES,
        base_url=BASE_URL,
        sender=SENDER,
    )
    assert message["Subject"] == "Task overdue: special_review, 257/05.00.00/2027"
