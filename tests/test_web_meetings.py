"""The secretary's agenda: each item's completeness, what blocks it and who holds it."""

from __future__ import annotations

from flask import Flask

from eva_engine.services.meetings import agendas
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.runtime import Eva
from tests.builders import OPERATOR, as_, meeting_id, proposal_in
from tests.test_web import app, csrf, login

__all__ = ["app"]


def test_an_item_is_incomplete_until_signed_off_and_says_who_holds_it(app: Flask, eva: Eva) -> None:
    waiting = proposal_in(eva, "review")
    ready = proposal_in(eva, "signed_off")
    for pid, position in ((waiting, 1), (ready, 2)):
        proposal_commands.schedule(
            eva,
            as_("sec"),
            proposal_commands.ScheduleProposal(
                proposal_id=pid, meeting_id=meeting_id(eva), agenda_position=position
            ),
        )
    view = agendas.agenda(eva, as_("sec"), meeting_id(eva))
    first, second = view.items
    assert (first.proposal_id, first.complete) == (waiting, False)
    assert [(h.user, h.roles) for h in first.held_by] == [(None, ["secretary", "expert"])]
    assert first.blocking[0].location == "state"
    assert (second.proposal_id, second.complete) == (ready, True)
    assert view.meeting.incomplete == 1
    client = app.test_client()
    login(client, "sec")
    html = client.get(f"/meetings/{meeting_id(eva)}").get_data(as_text=True)
    assert "Keskeneräinen" in html
    assert "Valmiina" in html
    assert "sihteeri / asiantuntija" in html


def test_the_secretary_adds_a_proposal_to_the_agenda_from_the_page(app: Flask, eva: Eva) -> None:
    pid = proposal_in(eva, "signed_off")
    client = app.test_client()
    login(client, "sec")
    page = client.get(f"/meetings/{meeting_id(eva)}").get_data(as_text=True)
    response = client.post(
        f"/meetings/{meeting_id(eva)}/items",
        data={"csrf_token": csrf(page), "proposal_id": str(pid), "position": "3"},
    )
    assert response.status_code == 302
    assert proposal_queries.show(eva, OPERATOR, pid).agenda_position == 3
    listing = client.get("/meetings/").get_data(as_text=True)
    assert f"/meetings/{meeting_id(eva)}" in listing


def test_the_summaries_page_prints_each_items_summary(app: Flask, eva: Eva) -> None:
    pid = proposal_in(eva, "on_agenda")
    client = app.test_client()
    login(client, "sec")
    html = client.get(f"/meetings/{meeting_id(eva)}/summaries").get_data(as_text=True)
    assert "Yhteenveto." in html
    section = proposal_queries.show(eva, OPERATOR, pid).section
    assert section is not None
    assert section in html


def test_another_organisations_meeting_is_not_found(app: Flask, eva: Eva) -> None:
    client = app.test_client()
    login(client, "outsider")
    assert client.get(f"/meetings/{meeting_id(eva)}").status_code == 404


def test_a_bad_agenda_item_is_explained_and_nothing_is_scheduled(app: Flask, eva: Eva) -> None:
    pid = proposal_in(eva, "signed_off")
    client = app.test_client()
    login(client, "sec")
    address = f"/meetings/{meeting_id(eva)}"
    page = client.get(address).get_data(as_text=True)
    for data, message in (
        ({"proposal_id": "kolme"}, "Anna ehdotuksen numero"),
        ({"proposal_id": str(pid), "position": "-1"}, "Anna ehdotuksen numero"),
        ({"proposal_id": "99999"}, "Ehdotusta 99999 ei ole"),
    ):
        response = client.post(
            f"{address}/items", data={"csrf_token": csrf(page), **data}, follow_redirects=True
        )
        assert message in response.get_data(as_text=True)
    assert proposal_queries.show(eva, OPERATOR, pid).meeting_id is None


def test_a_meeting_of_ones_own_organisation_is_refused_not_hidden_for_a_wrong_role(
    app: Flask, eva: Eva
) -> None:
    client = app.test_client()
    login(client, "prep")
    assert client.get(f"/meetings/{meeting_id(eva)}").status_code == 403
