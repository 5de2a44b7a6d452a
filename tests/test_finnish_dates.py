"""Dates as Finnish people type them (issue 13, part 7): ``13.6.2023``, ``13.6.2023 17.00`` and
``13.6.2023 klo 17.00`` wherever a person types a date, read by one parser behind the service
commands, in the web forms, the API and the CLI; and a second proposal with the same case
number on the same body accepted with a warning on every channel."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask
from pydantic import ValidationError

from eva_engine.services.assessment import documents
from eva_engine.services.people import organisations
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.runtime import Eva
from tests.api_support import NEW_PROPOSAL, Api, api_app, api_as
from tests.builders import OPERATOR, as_, new_proposal, screen
from tests.conftest import World
from tests.test_web import app, csrf, login
from tests.test_web_admin import admin_client

__all__ = ["api_app", "api_as", "app"]


@pytest.mark.parametrize(
    ("typed", "utc"),
    [
        ("13.6.2023 klo 17.00", datetime(2023, 6, 13, 14, 0, tzinfo=UTC)),
        ("13.6.2023 17.00", datetime(2023, 6, 13, 14, 0, tzinfo=UTC)),
        ("13.06.2023 17:00", datetime(2023, 6, 13, 14, 0, tzinfo=UTC)),
        ("13.1.2023 klo 9.30", datetime(2023, 1, 13, 7, 30, tzinfo=UTC)),  # winter: UTC+2
        ("2023-06-13T17:00+03:00", datetime(2023, 6, 13, 14, 0, tzinfo=UTC)),
    ],
)
def test_a_meeting_starts_when_the_finnish_text_says(
    eva: Eva, world: World, typed: str, utc: datetime
) -> None:
    view = organisations.create_meeting(
        eva,
        OPERATOR,
        organisations.CreateMeeting.model_validate(
            {"organisation": "testila", "body": "KH", "starts_at": typed}
        ),
    )
    assert view.starts_at == utc


@pytest.mark.parametrize("typed", ["31.2.2023 17.00", "13.6.23", "13.6.2023 25.00", "１３.6.2023"])
def test_a_date_that_is_not_one_is_refused_naming_the_form(typed: str) -> None:
    with pytest.raises(ValidationError) as refused:
        organisations.CreateMeeting.model_validate(
            {"organisation": "testila", "body": "KH", "starts_at": typed}
        )
    assert "13.6.2023 klo 17.00" in str(refused.value)


def test_an_indicators_due_date_is_read_the_finnish_way(eva: Eva, world: World) -> None:
    indicator = documents.IndicatorIn.model_validate(
        {"name": "TEAviisari", "responsible": "Minna", "due": "30.6.2027"}
    )
    assert indicator.due == date(2027, 6, 30)


def test_the_meeting_form_takes_klo_and_a_finnish_date(app: Flask, eva: Eva) -> None:
    client, _ = admin_client(app, eva)
    page = client.get("/admin/meetings/new").get_data(as_text=True)
    response = client.post(
        "/admin/meetings/new",
        data={"csrf_token": csrf(page), "body": "HYVLTK", "date": "13.6.2027", "time": "klo 9.30"},
    )
    assert response.status_code == 302
    with eva.reading() as uow:
        org = uow.repos.organisation_by_code("testila")
        assert org is not None
        body = uow.repos.body_by_code(org.id, "HYVLTK")
        assert body is not None
        starts = [m.starts_at for m in uow.repos.meetings(body.id)]
    assert datetime(2027, 6, 13, 6, 30, tzinfo=UTC) in starts


def test_the_api_takes_a_finnish_due_date(eva: Eva, world: World, api_as: Any) -> None:
    pid = new_proposal(eva)
    screen(eva, pid)
    api: Api = api_as("prep")
    alternatives = [{"position": 0, "title": "Nykytila"}, {"position": 1, "title": "Esitys"}]
    assert (
        api.put(f"/proposals/{pid}/alternatives", {"alternatives": alternatives}).status_code == 200
    )
    stored = api.post(
        f"/proposals/{pid}/indicators",
        {"name": "Lasten liikunta", "responsible": "Minna", "due": "30.6.2027"},
    )
    assert stored.status_code == 200, stored.get_data(as_text=True)
    read = api.get(f"/proposals/{pid}/assessment").get_json()
    assert read["follow_up_indicators"][0]["due"] == "2027-06-30"
    wrong = api.post(
        f"/proposals/{pid}/indicators",
        {"name": "Toinen", "responsible": "Minna", "due": "31.6.2027"},
    )
    assert wrong.status_code == 422
    assert "13.6.2023" in wrong.get_data(as_text=True)


# a duplicate case number: a warning, never a refusal ---------------------------------------------
def test_a_second_proposal_with_the_same_case_number_on_the_body_is_warned_of(
    eva: Eva, world: World
) -> None:
    command = proposal_commands.CreateProposal(
        organisation="testila",
        case_number="257/05.00.00/2023",
        title_fi="Hakemus Terve Kunta-verkostoon",
        body="HYVLTK",
        presenter="pres",
    )
    first = proposal_commands.create_proposal(eva, as_("prep"), command)
    assert first.warnings == []
    second = proposal_commands.create_proposal(eva, as_("prep"), command)
    assert second.id != first.id
    assert [w.location for w in second.warnings] == ["case_number"]
    assert str(first.id) in second.warnings[0].message
    elsewhere = proposal_commands.create_proposal(
        eva, as_("prep"), command.model_copy(update={"body": "KH"})
    )
    assert elsewhere.warnings == []


def test_the_api_returns_the_duplicate_warning_in_its_response(
    eva: Eva, world: World, api_as: Any
) -> None:
    api: Api = api_as("prep")
    first = api.post("/proposals", NEW_PROPOSAL)
    assert first.status_code == 201
    assert first.get_json()["warnings"] == []
    second = api.post("/proposals", NEW_PROPOSAL)
    assert second.status_code == 201
    warning = second.get_json()["warnings"][0]
    assert warning["location"] == "case_number"
    assert warning["what"]["params"]["ids"] == str(first.get_json()["id"])


def test_the_form_shows_the_duplicate_warning_on_the_new_proposal(app: Flask, eva: Eva) -> None:
    client = app.test_client()
    login(client, "prep")
    page = client.get("/proposals/new").get_data(as_text=True)
    data = {
        "csrf_token": csrf(page),
        "case_number": "12/05.00.00/2026",
        "title_fi": "Sama asia",
        "body": "HYVLTK",
        "presenter": "pres",
        "publicity": "public",
    }
    assert client.post("/proposals/new", data=data).status_code == 302
    again = client.post("/proposals/new", data=data, follow_redirects=True)
    shown = again.get_data(as_text=True)
    assert again.status_code == 200
    assert 'class="notice warning"' in shown
    assert "on jo asianumero 12/05.00.00/2026" in shown
