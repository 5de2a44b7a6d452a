"""The issue's "done when": a script outside eva creates a proposal, fills its assessment,
walks it through the workflow to closed and reads its history, using only the documented API
(an HTTP client, here httpx over WSGI) and tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import TokenScope
from tests.api_support import BOTH, Script, api_app, make_token

__all__ = ["api_app"]  # fixtures


def test_a_script_walks_a_proposal_from_draft_to_closed(
    api_app: Flask, eva: Eva, world: Any
) -> None:
    preparer = Script(api_app, make_token(eva, "prep"))
    reviewer = Script(api_app, make_token(eva, "sec"))
    presenter = Script(api_app, make_token(eva, "pres", (*BOTH, TokenScope.SIGN)))

    org = preparer.call("GET", "/organisations").json()["items"][0]["code"]
    created = preparer.call(
        "POST",
        "/proposals",
        {
            "organisation": org,
            "case_number": "321/05.00.00/2026",
            "title_fi": "Uimahallin aukioloajat",
            "title_sv": "Simhallens öppettider",
            "body": "HYVLTK",
            "presenter": "pres",
        },
    )
    assert created.status_code == 201
    pid = created.json()["id"]
    assert preparer.step(pid, "start_screening") == "screening"
    preparer.call(
        "PUT", f"/proposals/{pid}/screening", {"outcome": "light", "criteria": ["many_residents"]}
    )
    assert preparer.step(pid, "begin_assessment") == "assessment"

    questions = preparer.call("GET", f"/proposals/{pid}/questions").json()["items"]
    required = [q["id"] for q in questions if q["required"]]
    assert required
    preparer.call(
        "PUT",
        f"/proposals/{pid}/alternatives",
        {
            "alternatives": [
                {"position": 0, "title": "Nykyiset aukioloajat"},
                {"position": 1, "title": "Pidemmät aukioloajat", "chosen": True},
            ]
        },
    )
    answers = [
        {
            "question": qid,
            "alternative": position,
            "direction": "positive",
            "magnitude": "minor",
            "duration": "council_term",
            "certainty": "medium",
            "affected_groups": ["families"],
            "justification": "Liikuntamahdollisuudet paranevat.",
        }
        for qid in required
        for position in (0, 1)
    ]
    filled = preparer.call("POST", f"/proposals/{pid}/answers", {"answers": answers}).json()
    assert filled["missing"] == [], filled["missing"]
    due = (datetime.now(UTC) + timedelta(days=365)).date().isoformat()
    preparer.call(
        "POST",
        f"/proposals/{pid}/indicators",
        {"name": "Uimahallin käyntikerrat", "responsible": "liikuntatoimi", "due": due},
    )
    assert preparer.step(pid, "submit_for_review") == "review"

    assert reviewer.step(pid, "pass_review") == "reviewed"
    assert presenter.step(pid, "sign_off") == "signed_off"
    meeting = reviewer.call("GET", f"/organisations/{org}/meetings").json()["items"]
    hyvltk = next(m["id"] for m in meeting if m["body"] == "HYVLTK")
    reviewer.call("PUT", f"/proposals/{pid}/meeting", {"meeting_id": hyvltk})
    assert reviewer.step(pid, "place_on_agenda") == "on_agenda"
    agenda = reviewer.call("GET", f"/meetings/{hyvltk}/agenda").json()
    assert [i["complete"] for i in agenda["items"] if i["proposal_id"] == pid] == [True]
    assert reviewer.step(pid, "approve") == "decided"
    assert preparer.step(pid, "start_follow_up") == "follow_up"
    # The indicator's follow-up is recorded before the proposal can close.
    follow_ups = preparer.call("GET", f"/proposals/{pid}/follow-ups").json()["follow_ups"]
    assert [f["indicator"] for f in follow_ups] == ["Uimahallin käyntikerrat"]
    measured = datetime.now(UTC).date().isoformat()
    result = {
        "value": "41 200",
        "measured_on": measured,
        "source_kind": "own_data",
        "outcome": "better",
    }
    preparer.call("POST", f"/follow-ups/{follow_ups[0]['id']}/result", result)
    assert preparer.step(pid, "close") == "closed"

    history: list[dict[str, Any]] = []  # a page at a time, each next_cursor followed
    address = f"/proposals/{pid}/history"
    while True:
        page = preparer.call("GET", address).json()
        history += page["items"]
        if not page.get("next_cursor"):
            break
        address = f"/proposals/{pid}/history?after={page['next_cursor']}"
    steps = [e["after"]["state"] for e in history if e["action"] == "proposal.transition"]
    assert steps[-1] == "closed"
    clients = {e["client"] for e in history}
    assert all(c.startswith("api:token:") for c in clients), clients
    assert len(clients) == 3  # three users' tokens, each named in the history
    actors = {e["actor"] for e in history if e["action"] == "proposal.transition"}
    assert actors == {"prep", "sec", "pres"}
