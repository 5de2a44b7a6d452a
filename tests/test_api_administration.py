"""The API's new operations on their own: taking a proposal off an agenda (the proposal's ETag),
listing the proposals ready for an agenda and moving its items,
one's own tokens (the sign scope only from a sign token; a new token never replayed), and an
organisation's users and grants (its administrators only)."""

from __future__ import annotations

from typing import Any

from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import TokenScope
from tests.api_support import BOTH, api_app, api_as, problem
from tests.builders import meeting_id, new_proposal, proposal_in

__all__ = ["api_app", "api_as"]  # fixtures


def test_a_secretary_puts_a_proposal_on_the_agenda_and_takes_it_off(eva: Eva, api_as: Any) -> None:
    sec = api_as("sec")
    pid, mid = new_proposal(eva), meeting_id(eva)
    placed = sec.post(f"/meetings/{mid}/agenda", {"proposal_id": pid, "agenda_position": 2})
    assert placed.status_code == 200, placed.get_data(as_text=True)
    assert placed.get_json()["meeting_id"] == mid
    etag = placed.headers["ETag"]
    stale = sec.delete(f"/meetings/{mid}/agenda/{pid}", headers={"If-Match": '"1"'})
    assert problem(stale, 412)["code"] == "precondition_failed"
    removed = sec.delete(f"/meetings/{mid}/agenda/{pid}", headers={"If-Match": etag})
    assert removed.status_code == 200
    assert removed.get_json()["meeting_id"] is None
    # Not on the agenda any more: nothing to take off.
    assert problem(sec.delete(f"/meetings/{mid}/agenda/{pid}"), 404)["code"] == "not_found"
    assert api_as("prep").delete(f"/meetings/{mid}/agenda/{pid}").status_code in (403, 404)


def test_a_secretary_lists_the_candidates_and_reorders_the_agenda(eva: Eva, api_as: Any) -> None:
    sec, mid = api_as("sec"), meeting_id(eva)
    ready = proposal_in(eva, "signed_off")
    busy = proposal_in(eva, "assessment")  # still being prepared: not offered
    listed = sec.get(f"/meetings/{mid}/candidates")
    assert listed.status_code == 200, listed.get_data(as_text=True)
    found = [c["proposal_id"] for c in listed.get_json()["candidates"]]
    assert ready in found
    assert busy not in found
    case_number = next(
        c["case_number"] for c in listed.get_json()["candidates"] if c["proposal_id"] == ready
    )
    searched = sec.get(f"/meetings/{mid}/candidates?q={case_number}").get_json()
    assert [c["proposal_id"] for c in searched["candidates"]] == [ready]
    bad = sec.get(f"/meetings/{mid}/candidates?cursor=bm9wZQ")
    assert bad.status_code == 422
    assert api_as("prep").get(f"/meetings/{mid}/candidates").status_code == 403

    ids = [proposal_in(eva, "on_agenda") for _ in range(2)]
    before = sec.get(f"/meetings/{mid}/agenda").get_json()["items"]
    order = [i["proposal_id"] for i in before]
    assert set(ids) <= set(order)
    moved = sec.post(f"/meetings/{mid}/agenda/{order[-1]}/move", {"direction": "up"})
    assert moved.status_code == 200, moved.get_data(as_text=True)
    assert moved.get_json() == {
        "meeting_id": mid,
        "proposal_ids": [*order[:-2], order[-1], order[-2]],
    }
    after = [i["proposal_id"] for i in sec.get(f"/meetings/{mid}/agenda").get_json()["items"]]
    assert after == moved.get_json()["proposal_ids"]
    first = sec.post(f"/meetings/{mid}/agenda/{after[0]}/move", {"direction": "up"})
    assert [e["pointer"] for e in problem(first, 422)["errors"]] == ["#/direction"]
    wrong = sec.post(f"/meetings/{mid}/agenda/{after[0]}/move", {"direction": "left"})
    assert problem(wrong, 422)["code"] == "invalid_input"
    assert problem(sec.post(f"/meetings/{mid}/agenda/{busy}/move", {"direction": "up"}), 404)
    refused = api_as("prep").post(f"/meetings/{mid}/agenda/{after[0]}/move", {"direction": "down"})
    assert refused.status_code == 403


def test_own_tokens_are_made_listed_and_revoked(api_as: Any) -> None:
    prep = api_as("prep")
    body = {"name": "Asianhallinta", "scopes": ["read"], "expires_days": 30}
    first = prep.post("/tokens", body, headers={"Idempotency-Key": "same"})
    again = prep.post("/tokens", body, headers={"Idempotency-Key": "same"})
    assert first.status_code == again.status_code == 201
    assert first.get_json()["token"] != again.get_json()["token"]  # never replayed
    assert "Idempotent-Replayed" not in again.headers
    signing = prep.post("/tokens", {**body, "scopes": ["read", "write", "sign"]})
    assert problem(signing, 403)["code"] == "permission_denied"
    signer = api_as("pres", (*BOTH, TokenScope.SIGN))
    assert signer.post("/tokens", {**body, "scopes": ["write", "sign"]}).status_code == 201
    token_id = first.get_json()["details"]["id"]
    revoked = prep.delete(f"/tokens/{token_id}")
    assert revoked.get_json()["active"] is False
    names = [t["name"] for t in prep.get("/tokens").get_json()["items"] if t["active"]]
    assert names.count("Asianhallinta") == 1
    assert problem(api_as("sec").delete(f"/tokens/{token_id}"), 404)["code"] == "not_found"


def test_only_administrators_manage_users_and_grants(api_as: Any) -> None:
    admin, prep = api_as("admin"), api_as("prep")
    users = "/organisations/testila/users"
    assert problem(prep.get(users), 403)["code"] == "permission_denied"
    made = admin.post(users, {"username": "uusi.valmistelija", "full_name": "Uusi Valmistelija"})
    assert made.status_code == 201
    assert made.get_json()["organisation"] == "testila"
    grant = admin.post(f"{users}/uusi.valmistelija/grants", {"role": "preparer", "body": "KH"})
    assert grant.status_code == 201
    twice = admin.post(f"{users}/uusi.valmistelija/grants", {"role": "preparer", "body": "KH"})
    assert problem(twice, 409)["code"] == "conflict"
    revoked = admin.delete(f"{users}/uusi.valmistelija/grants?role=preparer&body=KH")
    assert revoked.get_json()["active"] is False
    disabled = admin.post(f"{users}/uusi.valmistelija/disable")
    assert disabled.get_json() == {"username": "uusi.valmistelija", "active": False}
    listed = {u["username"]: u for u in admin.get(users).get_json()["items"]}
    assert listed["uusi.valmistelija"]["active"] is False
    assert problem(prep.post(f"{users}/uusi.valmistelija/enable"), 403)["status"] == 403
