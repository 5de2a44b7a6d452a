"""The texts of the minutes through the API (issue 13, part 1): ``GET``/``PUT
/api/v1/proposals/{id}/texts`` with the proposal's ETag and ``If-Match``, the same rules as the
service (who writes which text in which state, the limit), another organisation's not found."""

from __future__ import annotations

from typing import Any

from eva_engine.services.proposals import texts as proposal_texts
from eva_engine.services.runtime import Eva
from tests.api_support import Api, api_app, api_as, problem
from tests.builders import OPERATOR, new_proposal
from tests.conftest import World
from tests.test_proposal_texts import DECISION, GROUNDS

__all__ = ["api_app", "api_as"]


def test_the_api_reads_and_writes_the_texts_with_if_match(
    eva: Eva, world: World, api_as: Any
) -> None:
    pid = new_proposal(eva)
    api: Api = api_as("prep")
    read = api.get(f"/proposals/{pid}/texts")
    assert read.status_code == 200
    etag = read.headers["ETag"]
    assert read.get_json()["writable"] == ["grounds", "decision_proposal"]
    body = {"texts": [{"kind": "grounds", "language": "fi", "content": GROUNDS}]}
    written = api.put(f"/proposals/{pid}/texts", body, headers={"If-Match": etag})
    assert written.status_code == 200, written.get_data(as_text=True)
    assert written.headers["ETag"] != etag
    assert written.get_json()["texts"][0]["content"] == GROUNDS
    stale = api.put(f"/proposals/{pid}/texts", body, headers={"If-Match": etag})
    problem(stale, 412)
    wrong = api.put(
        f"/proposals/{pid}/texts",
        {"texts": [{"kind": "decision", "content": DECISION}]},
        headers={"If-Match": written.headers["ETag"]},
    )
    assert problem(wrong, 422)["errors"][0]["location"] == "texts[0].kind"
    too_long = api.put(
        f"/proposals/{pid}/texts", {"texts": [{"kind": "grounds", "content": "x" * 100_001}]}
    )
    problem(too_long, 422)
    assert proposal_texts.texts(eva, OPERATOR, pid).content("grounds") == GROUNDS


def test_the_api_hides_another_organisations_texts(eva: Eva, world: World, api_as: Any) -> None:
    pid = new_proposal(eva)
    outsider: Api = api_as("outsider")
    problem(outsider.get(f"/proposals/{pid}/texts"), 404)
    body = {"texts": [{"kind": "grounds", "content": "x"}]}
    problem(outsider.put(f"/proposals/{pid}/texts", body), 404)
