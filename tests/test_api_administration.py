"""The API's new operations on their own: taking a proposal off an agenda (the proposal's ETag),
one's own tokens (the sign scope only from a sign token; a new token never replayed), and an
organisation's users and grants (its administrators only)."""

from __future__ import annotations

from typing import Any

from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import TokenScope
from tests.api_support import BOTH, api_app, api_as, problem
from tests.builders import meeting_id, new_proposal

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
