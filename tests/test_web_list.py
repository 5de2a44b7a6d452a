"""The proposal list: filtered by state and body on the server, a page at a time."""

from __future__ import annotations

from flask import Flask

from eva_engine.services.runtime import Eva
from tests.builders import new_proposal, proposal_in
from tests.test_web import app, login

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
