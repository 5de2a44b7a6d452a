"""The secretary's agenda: each item's completeness, what blocks it and who holds it."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from eva_engine.errors import NotFound, PermissionDenied
from eva_engine.services import paging
from eva_engine.services.history import trail
from eva_engine.services.meetings import agendas
from eva_engine.services.meetings import commands as agenda_commands
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.runtime import Eva
from tests.builders import OPERATOR, as_, meeting_id, proposal_in
from tests.exchange_support import run
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


def test_the_secretary_picks_a_ready_proposal_from_the_list_and_it_goes_last(
    app: Flask, eva: Eva
) -> None:
    first = proposal_in(eva, "on_agenda")
    pid = proposal_in(eva, "signed_off")
    busy = proposal_in(eva, "assessment")  # still being prepared: not offered
    case_number = proposal_queries.show(eva, OPERATOR, pid).case_number
    client = app.test_client()
    login(client, "sec")
    page = client.get(f"/meetings/{meeting_id(eva)}").get_data(as_text=True)
    assert "Esityslistalle valmiit päätösehdotukset" in page
    assert f'name="proposal_id" value="{pid}"' in page
    assert f'name="proposal_id" value="{busy}"' not in page
    assert f'name="proposal_id" value="{first}"' not in page  # on an agenda already
    assert 'id="proposal_id"' not in page  # no number to type
    response = client.post(
        f"/meetings/{meeting_id(eva)}/items",
        data={"csrf_token": csrf(page), "proposal_id": str(pid)},
    )
    assert response.status_code == 302
    view = agendas.agenda(eva, as_("sec"), meeting_id(eva))
    assert [(i.number, i.proposal_id) for i in view.items] == [(1, first), (2, pid)]
    assert proposal_queries.show(eva, OPERATOR, pid).agenda_position == 2
    after = client.get(f"/meetings/{meeting_id(eva)}").get_data(as_text=True)
    assert f'name="proposal_id" value="{pid}"' not in after
    assert case_number in after
    listing = client.get("/meetings/").get_data(as_text=True)
    assert f"/meetings/{meeting_id(eva)}" in listing


def test_the_candidates_are_searched_by_case_number_or_title_and_paged(
    app: Flask, eva: Eva
) -> None:
    ids = [proposal_in(eva, "signed_off") for _ in range(3)]
    shown = proposal_queries.show(eva, OPERATOR, ids[1])
    found = agendas.candidates(eva, as_("sec"), meeting_id(eva), text=shown.case_number)
    assert [c.proposal_id for c in found.candidates] == [ids[1]]
    assert agendas.candidates(eva, as_("sec"), meeting_id(eva), text="100%_").candidates == []
    every = agendas.candidates(eva, as_("sec"), meeting_id(eva))
    assert {c.proposal_id for c in every.candidates} == set(ids)
    assert every.next_cursor is None
    client = app.test_client()
    login(client, "sec")
    html = client.get(f"/meetings/{meeting_id(eva)}?q=ei-tallaista").get_data(as_text=True)
    assert "Haulla ei löytynyt" in html


def test_the_candidates_come_a_page_at_a_time_each_once(
    app: Flask, eva: Eva, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = {proposal_in(eva, "signed_off") for _ in range(5)}
    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    seen: list[int] = []
    after = None
    pages = 0
    while True:
        page = agendas.candidates(eva, as_("sec"), meeting_id(eva), after=after)
        assert len(page.candidates) <= 2
        seen += [c.proposal_id for c in page.candidates]
        pages += 1
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert pages == 3
    assert sorted(seen) == sorted(ids)


def test_the_secretary_reorders_the_agenda_with_buttons_and_the_history_records_it(
    app: Flask, eva: Eva
) -> None:
    ids = [proposal_in(eva, "on_agenda") for _ in range(3)]
    before = [i.proposal_id for i in agendas.agenda(eva, as_("sec"), meeting_id(eva)).items]
    assert sorted(before) == sorted(ids)
    client = app.test_client()
    login(client, "sec")
    address = f"/meetings/{meeting_id(eva)}"
    page = client.get(address).get_data(as_text=True)
    assert "Siirrä ylös" in page
    assert "Siirrä alas" in page
    response = client.post(
        f"{address}/items/{before[2]}/move",
        data={"csrf_token": csrf(page), "direction": "up"},
        follow_redirects=True,
    )
    assert "järjestys muutettiin" in response.get_data(as_text=True)
    after = [i.proposal_id for i in agendas.agenda(eva, as_("sec"), meeting_id(eva)).items]
    assert after == [before[0], before[2], before[1]]
    refused = client.post(
        f"{address}/items/{after[0]}/move",
        data={"csrf_token": csrf(page), "direction": "up"},
        follow_redirects=True,
    )
    assert "ensimmäisenä" in refused.get_data(as_text=True)
    history = trail.proposal_history(eva, OPERATOR, before[2])
    assert any(e.actor == "sec" and (e.after or {}).get("agenda_position") == 2 for e in history)


def test_moving_is_the_secretarys_and_of_an_item_of_this_agenda(app: Flask, eva: Eva) -> None:
    pid = proposal_in(eva, "on_agenda")
    other = proposal_in(eva, "on_agenda")
    move = agenda_commands.MoveAgendaItem(
        meeting_id=meeting_id(eva), proposal_id=pid, direction="down"
    )
    with pytest.raises(PermissionDenied):
        agenda_commands.move(eva, as_("prep"), move)
    with pytest.raises(NotFound):
        agenda_commands.move(eva, as_("outsider"), move)
    with pytest.raises(NotFound):
        agenda_commands.move(
            eva, as_("sec"), move.model_copy(update={"proposal_id": proposal_in(eva, "draft")})
        )
    assert agenda_commands.move(eva, as_("sec"), move)[-1] in (pid, other)


def test_each_incomplete_item_says_whose_task_it_waits_for_by_name(app: Flask, eva: Eva) -> None:
    pid = proposal_in(eva, "assessment")
    proposal_commands.schedule(
        eva,
        as_("sec"),
        proposal_commands.ScheduleProposal(proposal_id=pid, meeting_id=meeting_id(eva)),
    )
    (item,) = agendas.agenda(eva, as_("sec"), meeting_id(eva)).items
    assert not item.complete
    assert item.areas_total >= 1
    client = app.test_client()
    login(client, "sec")
    html = client.get(f"/meetings/{meeting_id(eva)}").get_data(as_text=True)
    assert f"Arviointi: {item.areas_complete}/{item.areas_total} aluetta" in html
    names = [h.name for h in item.held_by if h.name]
    for name in names:
        assert name in html
    assert re.search(r"klo \d{1,2}\.\d{2}</h1>", html)  # 13.6.2023 klo 17.00, no seconds


def test_the_summaries_are_printed_as_numbered_appendices_in_agenda_order(
    app: Flask, eva: Eva
) -> None:
    pid = proposal_in(eva, "on_agenda")
    second = proposal_in(eva, "on_agenda")
    client = app.test_client()
    login(client, "sec")
    html = client.get(f"/meetings/{meeting_id(eva)}/summaries").get_data(as_text=True)
    assert "Yhteenveto." in html
    assert html.index("Liite 1") < html.index("Liite 2")
    titles = [proposal_queries.show(eva, OPERATOR, p).title_fi for p in (pid, second)]
    appendix = html.index('id="liite-2"')
    assert html.index(titles[1], appendix) > appendix
    assert 'class="appendix"' in html
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
        ({"proposal_id": "kolme"}, "Valitse päätösehdotus"),
        ({"proposal_id": "-1"}, "Valitse päätösehdotus"),
        ({"proposal_id": "99999"}, "Päätösehdotusta ei voi lisätä"),
    ):
        response = client.post(
            f"{address}/items", data={"csrf_token": csrf(page), **data}, follow_redirects=True
        )
        assert message in response.get_data(as_text=True)
    assert proposal_queries.show(eva, OPERATOR, pid).meeting_id is None
    moved = client.post(
        f"{address}/items/{pid}/move",
        data={"csrf_token": csrf(page), "direction": "sideways"},
        follow_redirects=True,
    )
    assert "ylös vai alas" in moved.get_data(as_text=True)


def test_a_meeting_of_ones_own_organisation_is_refused_not_hidden_for_a_wrong_role(
    app: Flask, eva: Eva
) -> None:
    client = app.test_client()
    login(client, "prep")
    assert client.get(f"/meetings/{meeting_id(eva)}").status_code == 403


def test_the_command_line_moves_an_item_by_the_same_rule(app: Flask, eva: Eva) -> None:
    ids = [proposal_in(eva, "on_agenda") for _ in range(2)]
    order = [i.proposal_id for i in agendas.agenda(eva, as_("sec"), meeting_id(eva)).items]
    result = run(
        eva, "meetings", "move", str(meeting_id(eva)), str(order[1]), "--up", "--as", "sec"
    )
    assert f"1. {order[1]}, 2. {order[0]}" in result.output
    assert sorted(ids) == sorted(order)
    refused = run(
        eva, "meetings", "move", str(meeting_id(eva)), str(order[1]), "--up", "--as", "sec", code=7
    )
    assert "first on the agenda" in refused.output
