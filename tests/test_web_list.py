"""The proposal list: filtered by state and body on the server, a page at a time."""

from __future__ import annotations

import pytest
from flask import Flask

from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import ScreeningOutcome
from tests.builders import as_, meeting_id, new_proposal, proposal_in, required_questions
from tests.test_web import app, login

# PostgreSQL too: filters in SQL: LIKE, dates, NULL ordering, paging
pytestmark = pytest.mark.postgres
__all__ = ["app"]


def test_the_list_filters_by_state_and_body_and_pages(app: Flask, eva: Eva) -> None:
    drafts = [new_proposal(eva) for _ in range(27)]
    reviewed = proposal_in(eva, "review", body="KH")
    client = app.test_client()
    login(client, "sec")
    first = client.get("/proposals/?state=draft").get_data(as_text=True)
    assert "27 päätösehdotusta" in first
    assert "Sivu 1 / 2" in first
    assert f'/proposals/{drafts[0]}"' in first
    second = client.get("/proposals/?state=draft&page=2").get_data(as_text=True)
    assert f'/proposals/{drafts[-1]}"' in second
    assert f'/proposals/{drafts[0]}"' not in second
    kh = client.get("/proposals/?body=KH").get_data(as_text=True)
    assert "1 päätösehdotus" in kh
    assert f'/proposals/{reviewed}"' in kh
    assert "<td>Tarkastettavana</td>" in kh


def test_another_organisations_user_sees_none_of_its_proposals(app: Flask, eva: Eva) -> None:
    pid = new_proposal(eva)
    client = app.test_client()
    login(client, "outsider")
    html = client.get("/proposals/").get_data(as_text=True)
    assert f'/proposals/{pid}"' not in html


def test_the_list_filters_by_meeting_area_assignee_and_overdue_tasks(app: Flask, eva: Eva) -> None:
    drafted = new_proposal(eva)
    reviewed = proposal_in(eva, "review")  # assessment answered in every required area
    signed = proposal_in(eva, "signed_off")
    proposal_commands.schedule(
        eva,
        as_("sec"),
        proposal_commands.ScheduleProposal(proposal_id=signed, meeting_id=meeting_id(eva)),
    )
    client = app.test_client()
    login(client, "sec")

    def listed(query: str) -> set[int]:
        html = client.get(f"/proposals/?{query}").get_data(as_text=True)
        return {p for p in (drafted, reviewed, signed) if f'/proposals/{p}"' in html}

    assert listed(f"meeting={meeting_id(eva)}") == {signed}
    area = required_questions(eva, ScreeningOutcome.LIGHT)[0][0]
    assert listed(f"area={area}") == {reviewed, signed}
    assert listed("assignee=prep") == {drafted}  # the preparer's open task: prepare
    assert listed("overdue=yes") == set()  # every task is due in the future
    assert listed("overdue=no") == {drafted, reviewed, signed}
    page = client.get(f"/proposals/?area={area}&state=review").get_data(as_text=True)
    assert f'<option value="{area}" selected>' in page  # the filter is kept on the page
    assert "meeting=" not in page.split("<table>")[1]  # no empty filters in the links
