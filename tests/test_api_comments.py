"""The review comments of /api/v1: list, comment (never the preparer: four eyes), reply and
resolve, in the OpenAPI document (tests/test_review_comments.py has the rest)."""

from __future__ import annotations

from typing import Any

import pytest

from eva_engine.services.runtime import Eva
from tests.api_support import Api, api_app, api_as, problem
from tests.builders import proposal_in
from tests.conftest import World
from tests.test_review_comments import _question

__all__ = ["api_app", "api_as"]

pytestmark = pytest.mark.postgres


# the API -----------------------------------------------------------------------------------
def test_the_api_lists_comments_replies_and_resolves(api_as: Any, eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "review")
    _, question = _question(eva)
    sec: Api = api_as("sec")
    made = sec.post(
        f"/proposals/{pid}/comments",
        {"target_kind": "question", "target_key": question, "text": "Lähde puuttuu."},
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    cid = made.get_json()["id"]
    prep: Api = api_as("prep")
    problem(prep.post(f"/proposals/{pid}/comments", {"text": "Oma kommentti"}), 403)
    problem(sec.post(f"/proposals/{pid}/comments", {"text": ""}), 422)
    replied = prep.post(f"/comments/{cid}/replies", {"text": "Lisäsin lähteen."})
    assert replied.status_code == 201
    assert replied.get_json()["replies"][0]["text"] == "Lisäsin lähteen."
    resolved = prep.post(f"/comments/{cid}/resolve")
    assert resolved.status_code == 200, resolved.get_data(as_text=True)
    assert resolved.get_json()["status"] == "resolved"
    listed = api_as("aud").get(f"/proposals/{pid}/comments").get_json()
    assert (listed["open"], listed["total"]) == (0, 1)
    assert listed["groups"][0]["target_key"] == question
    paths = sec.get("/openapi.json").get_json()["paths"]
    assert "/api/v1/proposals/{proposal_id}/comments" in paths
    assert "/api/v1/comments/{comment_id}/resolve" in paths
