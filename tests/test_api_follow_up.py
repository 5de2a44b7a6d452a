"""Follow-up through the API: listing, recording a result and waiving (with and without a
reason), refusals named by field, and another organisation's follow-ups not found."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from eva_engine.services.follow_up import queries
from eva_engine.services.runtime import Eva
from tests.api_support import Api, api_app, api_as, locations, problem
from tests.builders import OPERATOR, build_foreign
from tests.conftest import World
from tests.follow_up_support import foreign_follow_up
from tests.test_follow_up import TODAY, decided, ids

__all__ = ["api_app", "api_as"]


def body(**changes: Any) -> dict[str, Any]:
    return {
        "value": "61 %",
        "measured_on": (TODAY - timedelta(days=10)).isoformat(),
        "source_kind": "teaviisari",
        "source_reference": "TEAviisari 2026, kuntajohto",
        "outcome": "as_predicted",
        **changes,
    }


# the API ----------------------------------------------------------------------------------
def test_the_api_lists_records_and_waives_follow_ups(api_as: Any, eva: Eva, world: World) -> None:
    pid = decided(eva)
    first, second = ids(eva, pid)
    api: Api = api_as("prep")
    listed = api.get(f"/proposals/{pid}/follow-ups")
    assert listed.status_code == 200
    assert [f["indicator"] for f in listed.get_json()["follow_ups"]] == [
        "Mittari",
        "Liikuntapaikkojen käyttäjämäärä",
    ]
    etag = listed.headers["ETag"]
    mine = api.get("/follow-ups/mine").get_json()
    assert [i["follow_up_id"] for i in mine["items"]] == [first, second]
    recorded = api.post(f"/follow-ups/{first}/result", body(), headers={"If-Match": etag})
    assert recorded.status_code == 200, recorded.get_data(as_text=True)
    assert (recorded.get_json()["state"], recorded.get_json()["outcome"]) == (
        "done",
        "as_predicted",
    )
    # The proposal changed: the old ETag no longer matches.
    problem(
        api.post(f"/follow-ups/{second}/waive", {"reason": "x"}, headers={"If-Match": etag}), 412
    )
    refused = problem(api.post(f"/follow-ups/{second}/waive", {"reason": " "}), 422)
    assert locations(refused) == {"reason"}
    waived = api.post(f"/follow-ups/{second}/waive", {"reason": "Tietoa ei enää kerätä."})
    assert waived.get_json()["state"] == "waived"
    assert queries.proposal_follow_ups(eva, OPERATOR, pid).open == 0


def test_the_api_names_bad_fields_and_refuses_a_role_without_standing(
    api_as: Any, eva: Eva, world: World
) -> None:
    pid = decided(eva)
    first, _ = ids(eva, pid)
    api: Api = api_as("prep")
    bad = problem(
        api.post(f"/follow-ups/{first}/result", body(value="", outcome="great", source_kind=None)),
        422,
    )
    assert locations(bad) == {"value", "outcome", "source_kind"}
    future = body(measured_on=(TODAY + timedelta(days=1)).isoformat())
    assert locations(problem(api.post(f"/follow-ups/{first}/result", future), 422)) == {
        "measured_on"
    }
    problem(api_as("sec").post(f"/follow-ups/{first}/result", body()), 403)
    assert queries.proposal_follow_ups(eva, OPERATOR, pid).follow_ups[0].value is None


def test_another_organisations_follow_ups_are_not_found_through_the_api(
    api_as: Any, eva: Eva, world: World
) -> None:
    foreign = build_foreign(eva)
    theirs = foreign_follow_up(eva, foreign)
    api: Api = api_as("admin")
    problem(api.get(f"/proposals/{foreign.proposal}/follow-ups"), 404)
    problem(api.post(f"/follow-ups/{theirs}/result", body()), 404)
    problem(api.post(f"/follow-ups/{theirs}/waive", {"reason": "x"}), 404)
    assert api.get("/follow-ups/mine").get_json()["total"] == 0
