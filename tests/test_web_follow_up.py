"""The follow-up page of a decided proposal: the follow-ups listed, a result recorded and a
follow-up waived through accessible forms whose errors are tied to their fields, in Finnish,
Swedish and English; who may use the forms and who does not find them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from eva_engine.services.follow_up import queries
from eva_engine.services.people import accounts
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import FollowUpState
from tests.builders import OPERATOR, build_foreign
from tests.conftest import World
from tests.follow_up_support import foreign_follow_up
from tests.test_follow_up import TODAY, decided, ids
from tests.test_web import PASSWORD, app, csrf, login

__all__ = ["app"]


def client_as(app: Flask, eva: Eva, username: str, lang: str = "fi") -> tuple[FlaskClient, str]:
    accounts.set_password(eva, OPERATOR, username, PASSWORD)
    client = app.test_client()
    login(client, username)
    html = client.get("/").get_data(as_text=True)
    if lang != "fi":
        client.post("/language", data={"lang": lang, "next": "/", "csrf_token": csrf(html)})
    return client, csrf(client.get("/").get_data(as_text=True))


def result_form(token: str, follow_up_id: int, **changes: str) -> dict[str, str]:
    prefix = f"result-{follow_up_id}-"
    fields = {
        "value": "23,4 %",
        "measured_on": (TODAY - timedelta(days=2)).isoformat(),
        "source_kind": "sotkanet",
        "source_reference": "289",
        "note": "Parani.",
        "outcome": "better",
        **changes,
    }
    return {"csrf_token": token, **{prefix + k: v for k, v in fields.items()}}


def test_the_page_lists_each_follow_up_and_a_result_is_recorded(
    app: Flask, eva: Eva, world: World
) -> None:
    pid = decided(eva)
    first, second = ids(eva, pid)
    client, token = client_as(app, eva, "prep")
    page = client.get(f"/proposals/{pid}/follow-ups").get_data(as_text=True)
    assert "Mittari" in page
    assert "Liikuntapaikkojen käyttäjämäärä" in page
    assert "2 avointa, 0 myöhässä" in page
    assert f'for="result-{first}-value"' in page  # every field has its label
    assert f"/proposals/{pid}/follow-ups" in client.get(f"/proposals/{pid}").get_data(as_text=True)
    response = client.post(
        f"/proposals/{pid}/follow-ups/{first}/result", data=result_form(token, first)
    )
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Seurannan tulos tallennettiin." in page
    assert "Ennustettua parempi" in page
    view = queries.proposal_follow_ups(eva, OPERATOR, pid)
    assert [(f.state, f.value) for f in view.follow_ups] == [
        (FollowUpState.DONE, "23,4 %"),
        (FollowUpState.OPEN, None),
    ]
    assert second == view.follow_ups[1].id


def test_a_follow_up_is_waived_with_a_reason_and_not_without(
    app: Flask, eva: Eva, world: World
) -> None:
    pid = decided(eva)
    first, _ = ids(eva, pid)
    client, token = client_as(app, eva, "prep")
    address = f"/proposals/{pid}/follow-ups/{first}/waive"
    refused = client.post(address, data={"csrf_token": token, f"waive-{first}-reason": "  "})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert f'id="waive-{first}-reason-error"' in page
    assert f'aria-describedby="waive-{first}-reason-error"' in page
    assert f'href="#waive-{first}-reason"' in page  # the summary links to the field
    reason = {"csrf_token": token, f"waive-{first}-reason": "Mittaus lopetettiin."}
    assert client.post(address, data=reason).status_code == 302
    waived = queries.proposal_follow_ups(eva, OPERATOR, pid).follow_ups[0]
    assert (waived.state, waived.waive_reason) == (FollowUpState.WAIVED, "Mittaus lopetettiin.")


@pytest.mark.parametrize(
    ("lang", "measured", "missing"),
    [
        ("fi", "Mittauspäivä", "Mitattu arvo"),
        ("sv", "Mätdatum", "Uppmätt värde"),
        ("en", "Measured on", "Measured value"),
    ],
)
def test_bad_input_is_named_by_its_field_in_each_language(
    app: Flask, eva: Eva, world: World, lang: str, measured: str, missing: str
) -> None:
    pid = decided(eva)
    first, _ = ids(eva, pid)
    client, token = client_as(app, eva, "prep", lang)
    address = f"/proposals/{pid}/follow-ups/{first}/result"
    empty = client.post(address, data=result_form(token, first, value=""))
    assert empty.status_code == 422
    assert re.search(rf'href="#result-{first}-value">{missing}:', empty.get_data(as_text=True))
    future = (TODAY + timedelta(days=3)).isoformat()
    late = client.post(address, data=result_form(token, first, measured_on=future))
    assert late.status_code == 422
    page = late.get_data(as_text=True)
    assert re.search(rf'href="#result-{first}-measured_on">{measured}[^:<]*:', page)
    assert f'id="result-{first}-measured_on-error"' in page
    assert queries.proposal_follow_ups(eva, OPERATOR, pid).follow_ups[0].value is None


def test_a_role_without_standing_is_forbidden_and_another_organisation_finds_nothing(
    app: Flask, eva: Eva, world: World
) -> None:
    foreign = build_foreign(eva)
    theirs = foreign_follow_up(eva, foreign)
    pid = decided(eva)
    first, _ = ids(eva, pid)
    sec, token = client_as(app, eva, "sec")
    page = sec.get(f"/proposals/{pid}/follow-ups").get_data(as_text=True)
    assert "Mittari" in page
    assert f"result-{first}-value" not in page  # no forms for a secretary
    recorded = sec.post(
        f"/proposals/{pid}/follow-ups/{first}/result", data=result_form(token, first)
    )
    assert recorded.status_code == 403
    outsider, token = client_as(app, eva, "outsider")
    assert outsider.get(f"/proposals/{pid}/follow-ups").status_code == 404
    waive = {"csrf_token": token, f"waive-{first}-reason": "x"}
    assert outsider.post(f"/proposals/{pid}/follow-ups/{first}/waive", data=waive).status_code == (
        404
    )
    prep, token = client_as(app, eva, "prep")
    # A follow-up of another organisation's proposal, under its own or under one's own URL.
    for address in (
        f"/proposals/{foreign.proposal}/follow-ups/{theirs}/result",
        f"/proposals/{pid}/follow-ups/{theirs}/result",
    ):
        assert prep.post(address, data=result_form(token, theirs)).status_code == 404
    assert queries.proposal_follow_ups(eva, OPERATOR, pid).follow_ups[0].value is None


def test_my_work_lists_the_follow_ups_waiting_for_the_preparer(
    app: Flask, eva: Eva, world: World
) -> None:
    pid = decided(eva)
    client, _ = client_as(app, eva, "prep")
    page = " ".join(client.get("/").get_data(as_text=True).split())
    assert "<h2>Seurannat</h2>" in page
    assert "2 seurantaa, 0 myöhässä" in page
    assert f'href="/proposals/{pid}/follow-ups"' in page
    swedish, _ = client_as(app, eva, "prep", "sv")
    assert "<h2>Uppföljningar</h2>" in swedish.get("/").get_data(as_text=True)
