"""Issue 13 part 6: the Virrat case from the seeds (HYVLTK 13.6.2023 § 26) recorded completely
and walked to closed through the API alone after ``eva setup``: the administrator sets the
people up, the preparer writes the grounds and the decision proposal, screens and assesses, the
secretary reviews, schedules and records the decision as made, the presenter signs off, the
follow-ups are recorded and the proposal closes; the summary export says what was decided.

Only the first token of each person is made outside the API (``eva tokens create``, as a
person makes theirs on the web UI's page *API tokens*); a further one is made through it.
The application to the network ("Liitteenä hakemus") is attached as a file through the API."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask

from eva_engine.config import Settings
from eva_engine.demo.virrat import INDICATORS, _document
from tests.api_support import Script
from tests.test_cli import Eva, eva_cli
from tests.test_proposal_texts import DECISION, GROUNDS, PROPOSAL
from tests.test_setup import set_up_virrat
from web import create_app

__all__ = ["eva_cli"]


@pytest.fixture
def virrat_app(eva_cli: Eva, tmp_path: Path) -> Iterator[Flask]:
    """``eva setup`` of Virrat, then the server on its database (closed after the test)."""
    set_up_virrat(eva_cli)  # the organisation, HYVLTK and KH, the administrator, the workflow
    settings = Settings.from_env(
        {
            "EVA_DATABASE_URL": eva_cli.url,
            "EVA_ENV": "test",
            "EVA_ATTACHMENTS_DIR": str(tmp_path / "attachments"),
        }
    )
    app = create_app(settings, TESTING=True)
    yield app
    app.extensions["eva"].database.dispose()


def _token(eva: Eva, username: str, *scopes: str) -> str:
    args = [a for s in (scopes or ("read", "write")) for a in ("--scope", s)]
    made = eva.json("tokens", "create", "--as", username, "--name", "Virrat API", *args)
    return str(made["token"])


def test_the_virrat_case_is_recorded_and_closed_through_the_api(
    eva_cli: Eva, virrat_app: Flask
) -> None:
    eva, app = eva_cli, virrat_app
    admin = Script(app, _token(eva, "paakayttaja"))
    assert [o["code"] for o in admin.json("GET", "/organisations")["items"]] == ["virrat"]
    assert {b["code"] for b in admin.json("GET", "/organisations/virrat/bodies")["items"]} == {
        "HYVLTK",
        "KH",
    }
    versions = admin.json("GET", "/workflows")["items"]
    assert [(v["name"], v["version"]) for v in versions] == [("eva-standard", 4)]
    assert admin.json("POST", "/workflows/publish")["published"] == []

    # The people: the welfare director prepares and presents, the secretary keeps the minutes.
    director, secretary = "virrat.hyvinvointijohtaja", "virrat.sihteeri"
    for username, name, roles in [
        (director, "Virtain hyvinvointijohtaja", ["preparer", "presenter"]),
        (secretary, "Virtain lautakunnan sihteeri", ["secretary"]),
    ]:
        made = admin.call(
            "POST", "/organisations/virrat/users", {"username": username, "full_name": name}
        )
        assert made.status_code == 201
        for role in roles:
            admin.call(
                "POST",
                f"/organisations/virrat/users/{username}/grants",
                {"role": role, "body": "HYVLTK"},
            )
    people = admin.json("GET", "/organisations/virrat/users")["items"]
    held = {u["username"]: sorted(g["role"] for g in u["grants"]) for u in people}
    assert held[director] == ["preparer", "presenter"]

    prep = Script(app, _token(eva, director, "read", "write", "sign"))
    sec = Script(app, _token(eva, secretary))
    # A token made through the API is shown once and works at once.
    extra = prep.call(
        "POST", "/tokens", {"name": "Asianhallinta", "scopes": ["read"], "expires_days": 30}
    )
    assert extra.status_code == 201
    reader = Script(app, extra.json()["token"])
    assert reader.json("GET", "/tokens")["items"][0]["name"] == "Asianhallinta"

    meeting = sec.call(
        "POST",
        "/organisations/virrat/meetings",
        {"body": "HYVLTK", "starts_at": "2023-06-13T17:00+03:00", "location": "Virrat"},
    )
    assert meeting.status_code == 201
    meeting_id = meeting.json()["id"]
    assert sec.json("GET", f"/meetings/{meeting_id}")["body"] == "HYVLTK"

    created = prep.json(
        "POST",
        "/proposals",
        {
            "organisation": "virrat",
            "case_number": "257/05.00.00/2023",
            "title_fi": "Hakemus Terve Kunta -verkostoon",
            "title_sv": "Ansökan till nätverket Terve Kunta",
            "body": "HYVLTK",
            "presenter": director,
        },
    )
    pid = created["id"]
    prep.put(
        pid,
        "/texts",
        {
            "texts": [
                {"kind": "grounds", "language": "fi", "content": GROUNDS},
                {"kind": "decision_proposal", "language": "fi", "content": PROPOSAL},
            ]
        },
    )
    application = b"%PDF-1.4\n% Hakemus Terve Kunta -verkostoon\n%%EOF\n"
    attached = prep.upload(pid, "Hakemus Terve Kunta -verkostoon.pdf", application)
    assert (attached["media_type"], attached["publicity"]) == ("application/pdf", "public")
    assert prep.step(pid, "start_screening") == "screening"
    prep.put(
        pid, "/screening", {"outcome": "light", "criteria": ["strategy_goals", "many_residents"]}
    )
    assert prep.step(pid, "begin_assessment") == "assessment"
    bundle = app.extensions["eva"].catalogue.bundles[("eva-standard", 4)]
    prep.put(pid, "/assessment", _document(bundle).model_dump(mode="json"))
    assert prep.json("GET", f"/proposals/{pid}")["state"] == "assessment"
    assert prep.step(pid, "submit_for_review") == "review"
    assert sec.step(pid, "pass_review") == "reviewed"
    assert prep.step(pid, "sign_off") == "signed_off"

    placed = sec.call(
        "POST",
        f"/meetings/{meeting_id}/agenda",
        {"proposal_id": pid, "agenda_position": 1, "section_number": 26},
    )
    assert placed.json()["meeting_id"] == meeting_id
    assert sec.step(pid, "place_on_agenda") == "on_agenda"
    agenda = sec.json("GET", f"/meetings/{meeting_id}/agenda")["items"]
    assert [(i["proposal_id"], i["complete"]) for i in agenda] == [(pid, True)]
    assert sec.step(pid, "approve") == "decided"
    sec.put(pid, "/texts", {"texts": [{"kind": "decision", "language": "fi", "content": DECISION}]})

    assert prep.step(pid, "start_follow_up") == "follow_up"
    follow_ups = prep.json("GET", f"/proposals/{pid}/follow-ups")["follow_ups"]
    assert sorted(f["indicator"] for f in follow_ups) == sorted(i["name"] for i in INDICATORS)
    for follow_up in follow_ups:
        prep.call(
            "POST",
            f"/follow-ups/{follow_up['id']}/result",
            {
                "value": "Raportoitu hyvinvointikertomuksessa",
                "measured_on": "2025-06-02",
                "source_kind": "other",
                "source_reference": "Virtain laaja hyvinvointikertomus 2021–2025",
                "outcome": "as_predicted",
            },
        )
    assert prep.step(pid, "close") == "closed"

    # The summary export: as data, and as the text document for the case-management system.
    summary = reader.json("GET", f"/proposals/{pid}/summary")
    assert summary["case_number"] == "257/05.00.00/2023"
    text = reader.call("GET", f"/proposals/{pid}/summary/document?format=text&language=fi")
    assert text.headers["Content-Type"].startswith("text/plain")
    content = text.text
    for said in (PROPOSAL, DECISION, "Terve Kunta", INDICATORS[0]["name"]):
        assert said in content, said
    listed = reader.json("GET", f"/proposals/{pid}/attachments")["attachments"]
    assert [a["file_name"] for a in listed] == ["Hakemus Terve Kunta -verkostoon.pdf"]
    assert reader.call("GET", f"/attachments/{listed[0]['id']}").content == application
    exported = reader.json("GET", f"/proposals/{pid}/assessment/export")
    assert exported["format"] == "eva.assessment/1"

    # The auditor's check: the administrator walks the chain through the API too.
    check = admin.json("POST", "/audit/verify")
    assert check["ok"] is True
    assert admin.json("GET", "/audit/verify")["check"]["verified"] == check["verified"]
    eva("audit", "verify")


def test_the_api_answers_in_finnish_by_default(virrat_app: Flask) -> None:
    http = httpx.Client(
        transport=httpx.WSGITransport(app=virrat_app), base_url="http://eva.invalid/api/v1"
    )
    finnish = http.get("/proposals/999999", headers={"Authorization": "Bearer eva_x"})
    assert finnish.status_code == 401
    english = http.get(
        "/proposals/999999", headers={"Authorization": "Bearer eva_x", "Accept-Language": "en"}
    )
    assert finnish.json()["code"] == english.json()["code"]
    assert finnish.json()["title"] != english.json()["title"]
    assert english.json()["title"] == "Not authenticated"


def test_an_administrator_makes_an_audit_checkpoint_through_the_api(
    eva_cli: Eva, virrat_app: Flask
) -> None:
    admin = Script(virrat_app, _token(eva_cli, "paakayttaja"))
    # The server has no audit key: no checkpoint, and the problem says so (in Finnish).
    refused = admin.http.post("/audit/checkpoints", headers={"Idempotency-Key": "k1"})
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_input"
    key = secrets.token_hex(32)
    settings = Settings.from_env(
        {"EVA_DATABASE_URL": eva_cli.url, "EVA_ENV": "test", "EVA_AUDIT_KEY": key}
    )
    keyed = create_app(settings, TESTING=True)
    try:
        made = Script(keyed, _token(eva_cli, "paakayttaja")).json("POST", "/audit/checkpoints")
        assert made["ok"] is True
        checkpoint = made["checkpoint"]
        assert checkpoint["key_id"]
        assert checkpoint["mac"]
        assert len(checkpoint["chains"]) == 1  # the organisation's own chain only
    finally:
        keyed.extensions["eva"].database.dispose()
