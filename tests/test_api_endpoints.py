"""Every endpoint of /api/v1 for the roles that may and may not use it: the happy path, a
wrong role (403), another organisation's records (404), confidential proposals, and bad input
named by its field."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from eva_engine.models import utcnow
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import Publicity, ScreeningOutcome
from tests.api_support import Api, api_app, api_as, locations, problem
from tests.builders import bundle, document, meeting_id, new_proposal, proposal_in, screen
from tests.exchange_support import run

__all__ = ["api_app", "api_as"]  # fixtures

GROUND = "JulkL 24 § 1 mom. 25 k"
NEW = {
    "organisation": "testila",
    "case_number": "77/05.00.00/2026",
    "title_fi": "Uusi esitys",
    "body": "HYVLTK",
    "presenter": "pres",
}


def pointers(body: dict[str, Any]) -> set[str]:
    return {e["pointer"] for e in body["errors"] if e.get("pointer")}


# organisations, bodies, meetings, agendas ------------------------------------------------------
def test_organisations_are_those_the_user_holds_a_role_in(api_as: Any, world: Any) -> None:
    assert [o["code"] for o in api_as("prep").get("/organisations").json["items"]] == ["testila"]
    assert [o["code"] for o in api_as("outsider").get("/organisations").json["items"]] == [
        "muualla"
    ]


def test_bodies_and_meetings_of_an_organisation(api_as: Any) -> None:
    prep = api_as("prep")
    bodies = prep.get("/organisations/testila/bodies")
    assert bodies.status_code == 200
    assert sorted(b["code"] for b in bodies.json["items"]) == ["HYVLTK", "KH", "TEKLTK"]
    meetings = prep.get("/organisations/testila/meetings?body=HYVLTK").json["items"]
    assert [m["body"] for m in meetings] == ["HYVLTK"]
    assert len(prep.get("/organisations/testila/meetings").json["items"]) == 3
    problem(prep.get("/organisations/testila/meetings?body=NOPE"), 404)
    bad = problem(prep.get("/organisations/testila/meetings?colour=red"), 422)
    assert locations(bad) == {"query.colour"}


def test_another_organisation_is_not_found(api_as: Any) -> None:
    outsider = api_as("outsider")
    problem(outsider.get("/organisations/testila/bodies"), 404)
    problem(outsider.get("/organisations/testila/meetings"), 404)
    problem(outsider.get("/organisations/nowhere/bodies"), 404)


def test_the_agenda_shows_completeness_to_the_secretary(api_as: Any, eva: Eva) -> None:
    pid = proposal_in(eva, "on_agenda")
    mid = meeting_id(eva)
    agenda = api_as("sec").get(f"/meetings/{mid}/agenda")
    assert agenda.status_code == 200
    items = agenda.json["items"]
    assert [i["proposal_id"] for i in items] == [pid]
    assert items[0]["complete"] is True
    problem(api_as("prep").get(f"/meetings/{mid}/agenda"), 403)  # not a role that reads agendas
    problem(api_as("outsider").get(f"/meetings/{mid}/agenda"), 404)
    problem(api_as("sec").get("/meetings/999999/agenda"), 404)


# proposals -------------------------------------------------------------------------------------
def test_a_preparer_creates_a_proposal(api_as: Any) -> None:
    response = api_as("prep").post("/proposals", NEW)
    assert response.status_code == 201, response.json
    view = response.json
    assert view["state"] == "draft"
    assert view["preparer"] == "prep"
    assert response.headers["Location"] == f"/api/v1/proposals/{view['id']}"
    assert response.headers["ETag"] == f'"{view["row_version"]}"'


def test_creating_needs_the_preparer_role(api_as: Any) -> None:
    body = problem(api_as("aud").post("/proposals", NEW | {"preparer": "prep"}), 403)
    assert body["code"] == "permission_denied"
    problem(api_as("outsider").post("/proposals", NEW | {"preparer": "prep"}), 404)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"case_number": "not a case"}, "case_number"),
        ({"title_fi": ""}, "title_fi"),
        ({"title_fi": 5}, "title_fi"),
        ({"colour": "red"}, "colour"),
        ({"publicity": "secret"}, "publicity"),
        ({"publicity": "confidential"}, "confidentiality_ground"),
        ({"presenter": "prep"}, "presenter"),
    ],
)
def test_bad_input_names_the_field(api_as: Any, change: dict[str, Any], where: str) -> None:
    body = problem(api_as("prep").post("/proposals", NEW | change), 422)
    assert where in locations(body), body
    assert f"#/{where}" in pointers(body)


def test_bodies_that_are_not_json_objects(api_as: Any) -> None:
    prep = api_as("prep")
    raw = prep.client.post(
        "/api/v1/proposals",
        data="{not json",
        headers=prep.headers({"Content-Type": "application/json"}),
    )
    assert problem(raw, 400)["code"] == "malformed_json"
    form = prep.client.post("/api/v1/proposals", data={"a": "b"}, headers=prep.headers())
    assert problem(form, 415)["code"] == "unsupported_media_type"
    assert problem(prep.post("/proposals", [1, 2]), 422)["code"] == "invalid_input"
    nul = problem(prep.post("/proposals", NEW | {"title_fi": "a\x00b"}), 422)
    assert pointers(nul) == {"#/title_fi"}


def test_reading_a_proposal(api_as: Any, eva: Eva) -> None:
    pid = new_proposal(eva)
    response = api_as("tek").get(f"/proposals/{pid}")  # a public one: any role in the org
    assert response.status_code == 200
    assert response.json["id"] == pid
    assert response.headers["ETag"] == f'"{response.json["row_version"]}"'
    problem(api_as("outsider").get(f"/proposals/{pid}"), 404)
    problem(api_as("prep").get("/proposals/999999"), 404)
    problem(api_as("prep").get("/proposals/0"), 404)
    problem(api_as("prep").get("/proposals/-3"), 404)
    problem(api_as("prep").get("/proposals/99999999999999999999"), 404)


def test_a_confidential_proposal_is_visible_only_with_a_grant_for_its_body(
    api_as: Any, eva: Eva
) -> None:
    pid = new_proposal(eva, publicity=Publicity.CONFIDENTIAL, ground=GROUND)
    assert api_as("prep").get(f"/proposals/{pid}").status_code == 200
    assert api_as("director").get(f"/proposals/{pid}").status_code == 200
    for user in ("tek", "sec_tek", "outsider"):
        problem(api_as(user).get(f"/proposals/{pid}"), 404)
        problem(api_as(user).get(f"/proposals/{pid}/history"), 404)
        problem(api_as(user).get(f"/proposals/{pid}/assessment"), 404)
    listed = api_as("tek").get("/proposals?organisation=testila").json
    assert pid not in [p["id"] for p in listed["items"]]
    assert pid in [
        p["id"] for p in api_as("prep").get("/proposals?organisation=testila").json["items"]
    ]


@pytest.mark.postgres  # filters, ordering and paging in SQL
def test_listing_with_filters(api_as: Any, eva: Eva) -> None:
    draft = new_proposal(eva)
    tek = new_proposal(eva, preparer="tek", body="TEKLTK")
    scheduled = proposal_in(eva, "on_agenda")
    assessed = proposal_in(eva, "review")
    prep = api_as("prep")

    def ids(query: str) -> list[int]:
        response = prep.get("/proposals?organisation=testila" + query)
        assert response.status_code == 200, response.json
        return [p["id"] for p in response.json["items"]]

    assert ids("") == sorted([draft, tek, scheduled, assessed])
    assert ids("&state=draft") == sorted([draft, tek])
    assert ids("&body=TEKLTK") == [tek]
    assert ids(f"&meeting={meeting_id(eva)}") == [scheduled]
    answered = {a.question.split(".")[0] for a in document(eva).answers}
    for area in sorted({a.id for c in bundle(eva).checklists for a in c.areas} - answered):
        assert ids(f"&area={area}") == []
    for area in sorted(answered):
        assert ids(f"&area={area}") == sorted([scheduled, assessed])
    assert ids("&area=nosuch") == []
    assert ids("&assignee=tek") == [tek]  # the preparation task
    assert ids("&assignee=nobody") == []
    assert ids("&overdue=true") == []
    assert ids("&overdue=false") == sorted([draft, tek, scheduled, assessed])
    problem(prep.get("/proposals?organisation=testila&body=NOPE"), 404)
    problem(api_as("outsider").get("/proposals?organisation=testila"), 404)
    bad = problem(prep.get("/proposals?organisation=testila&limit=0&overdue=maybe"), 422)
    assert locations(bad) == {"query.limit", "query.overdue"}
    assert locations(problem(prep.get("/proposals"), 422)) == {"query.organisation"}
    bad_area = problem(prep.get("/proposals?organisation=testila&area=a%25"), 422)
    assert locations(bad_area) == {"query.area"}


@pytest.mark.postgres  # filters, ordering and paging in SQL
def test_overdue_means_an_open_assignment_past_its_due_date(
    api_as: Any, eva: Eva, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eva_engine.services.proposals import queries as proposal_queries  # noqa: PLC0415

    pid = new_proposal(eva)

    later = utcnow() + timedelta(days=45)  # the preparation task is due in 30 days
    monkeypatch.setattr(proposal_queries, "utcnow", lambda: later)
    listed = api_as("prep").get("/proposals?organisation=testila&overdue=true").json
    assert [p["id"] for p in listed["items"]] == [pid]


@pytest.mark.postgres  # filters, ordering and paging in SQL
def test_cursor_pagination_walks_every_proposal_once(api_as: Any, eva: Eva) -> None:
    made = [new_proposal(eva) for _ in range(5)]
    prep = api_as("prep")
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        query = "/proposals?organisation=testila&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = prep.get(query).json
        assert page["total"] == 5
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        pages += 1
        if cursor is None:
            break
    assert seen == made
    assert pages == 3
    offset = prep.get("/proposals?organisation=testila&limit=2&offset=4").json
    assert [p["id"] for p in offset["items"]] == made[4:]
    bad = problem(prep.get("/proposals?organisation=testila&cursor=bm9wZQ"), 422)
    assert locations(bad) == {"cursor"}


def test_history(api_as: Any, eva: Eva) -> None:
    pid = proposal_in(eva, "screening")
    events = api_as("prep").get(f"/proposals/{pid}/history")
    assert events.status_code == 200
    actions = [e["action"] for e in events.json["items"]]
    assert "proposal.create" in actions
    assert "proposal.transition" in actions
    problem(api_as("outsider").get(f"/proposals/{pid}/history"), 404)


# the assessment --------------------------------------------------------------------------------
def test_screening(api_as: Any, eva: Eva) -> None:
    pid = proposal_in(eva, "screening")
    prep = api_as("prep")
    ok = prep.put(
        f"/proposals/{pid}/screening", {"outcome": "light", "criteria": ["many_residents"]}
    )
    assert ok.status_code == 200, ok.json
    assert ok.json["screening"]["outcome"] == "light"
    bad = problem(
        prep.put(f"/proposals/{pid}/screening", {"outcome": "exempt", "criteria": ["nope"]}), 422
    )
    assert {"criteria[0]", "reason", "exemption"} <= locations(bad)
    assert "#/criteria/0" in pointers(bad)
    wrong = problem(prep.put(f"/proposals/{pid}/screening", {"outcome": "medium"}), 422)
    assert pointers(wrong) == {"#/outcome"}
    problem(api_as("sec").put(f"/proposals/{pid}/screening", {"outcome": "light"}), 403)
    problem(api_as("outsider").put(f"/proposals/{pid}/screening", {"outcome": "light"}), 404)


def _assessing(eva: Eva) -> int:
    return proposal_in(eva, "assessment")


def test_alternatives_answers_and_the_whole_assessment(api_as: Any, eva: Eva) -> None:
    pid = _assessing(eva)
    prep = api_as("prep")
    alts = prep.put(
        f"/proposals/{pid}/alternatives",
        {
            "alternatives": [
                {"position": 0, "title": "Nykytila"},
                {"position": 1, "title": "Esitys", "chosen": True},
            ]
        },
    )
    assert alts.status_code == 200, alts.json
    assert alts.json["alternatives"] == 2
    doc = document(eva)
    answers = [a.model_dump(mode="json") for a in doc.answers[:4]]
    stored = prep.post(f"/proposals/{pid}/answers", {"answers": answers})
    assert stored.status_code == 200, stored.json
    assert stored.json["answers"] == 4
    cleared = prep.post(
        f"/proposals/{pid}/answers",
        {"cleared": [{"question": answers[0]["question"], "alternative": 0}]},
    )
    assert cleared.json["answers"] == 3
    bad = problem(
        prep.post(
            f"/proposals/{pid}/answers",
            {"answers": [answers[1] | {"question": "no.such.question", "alternative": 7}]},
        ),
        422,
    )
    assert {"answers[0].question", "answers[0].alternative"} <= locations(bad)
    assert "#/answers/0/question" in pointers(bad)
    assert prep.get(f"/proposals/{pid}").json["answers"] == 3  # nothing half-written
    whole = prep.put(f"/proposals/{pid}/assessment", doc.model_dump(mode="json"))
    assert whole.status_code == 200, whole.json
    assert whole.json["missing"] == []
    exported = prep.get(f"/proposals/{pid}/assessment")
    assert exported.status_code == 200
    assert len(exported.json["answers"]) == len(doc.answers)
    problem(api_as("aud").post(f"/proposals/{pid}/answers", {"answers": answers}), 403)
    problem(api_as("outsider").get(f"/proposals/{pid}/assessment"), 404)


def test_mitigations_and_indicators(api_as: Any, eva: Eva) -> None:
    pid = _assessing(eva)
    prep = api_as("prep")
    doc = document(eva)
    prep.put(f"/proposals/{pid}/assessment", doc.model_dump(mode="json"))
    question = doc.answers[0].question
    mit = prep.post(
        f"/proposals/{pid}/mitigations",
        {"question": question, "alternative": 1, "description": "Lievennys."},
    )
    assert mit.status_code == 200, mit.json
    assert len(prep.get(f"/proposals/{pid}/assessment").json["mitigations"]) == 1
    bad = problem(
        prep.post(f"/proposals/{pid}/mitigations", {"question": "x.y.z", "description": ""}), 422
    )
    assert "description" in locations(bad)
    unknown = problem(
        prep.post(f"/proposals/{pid}/mitigations", {"question": "x.y.z", "description": "D."}),
        422,
    )
    assert locations(unknown) == {"question"}  # the request's field, not the merged list's
    assert pointers(unknown) == {"#/question"}
    removed = prep.delete(f"/proposals/{pid}/mitigations?question={question}&alternative=1")
    assert removed.status_code == 200
    assert prep.get(f"/proposals/{pid}/assessment").json["mitigations"] == []
    due = (utcnow() + timedelta(days=200)).date().isoformat()
    ind = prep.post(
        f"/proposals/{pid}/indicators",
        {"name": "Liikuntapaikkojen käyttö", "responsible": "liikuntatoimi", "due": due},
    )
    assert ind.status_code == 200, ind.json
    names = [
        i["name"] for i in prep.get(f"/proposals/{pid}/assessment").json["follow_up_indicators"]
    ]
    assert "Liikuntapaikkojen käyttö" in names
    bad_due = problem(
        prep.post(f"/proposals/{pid}/indicators", {"name": "X", "responsible": "Y", "due": "soon"}),
        422,
    )
    assert pointers(bad_due) == {"#/due"}
    gone = prep.delete(f"/proposals/{pid}/indicators?name=Liikuntapaikkojen käyttö")
    assert gone.status_code == 200
    names = [
        i["name"] for i in prep.get(f"/proposals/{pid}/assessment").json["follow_up_indicators"]
    ]
    assert "Liikuntapaikkojen käyttö" not in names
    problem(api_as("sec").delete(f"/proposals/{pid}/indicators?name=Mittari"), 403)
    assert locations(problem(prep.delete(f"/proposals/{pid}/indicators"), 422)) == {"query.name"}


def test_editing_outside_an_editable_state_is_refused(api_as: Any, eva: Eva) -> None:
    pid = proposal_in(eva, "review")
    body = problem(api_as("prep").post(f"/proposals/{pid}/answers", {"answers": []}), 422)
    assert locations(body) == {"state"}


# scheduling and transitions --------------------------------------------------------------------
def test_the_secretary_schedules(api_as: Any, eva: Eva) -> None:
    pid = proposal_in(eva, "signed_off")
    ok = api_as("sec").put(f"/proposals/{pid}/meeting", {"meeting_id": meeting_id(eva)})
    assert ok.status_code == 200, ok.json
    assert ok.json["meeting_id"] == meeting_id(eva)
    wrong = problem(
        api_as("sec").put(f"/proposals/{pid}/meeting", {"meeting_id": meeting_id(eva, "KH")}), 422
    )
    assert locations(wrong) == {"meeting_id"}
    assert pointers(wrong) == {"#/meeting_id"}
    problem(api_as("prep").put(f"/proposals/{pid}/meeting", {"meeting_id": meeting_id(eva)}), 403)
    range_error = problem(api_as("sec").put(f"/proposals/{pid}/meeting", {"meeting_id": 0}), 422)
    assert pointers(range_error) == {"#/meeting_id"}


def test_transitions(api_as: Any, eva: Eva) -> None:
    pid = new_proposal(eva)
    prep = api_as("prep")
    fired = prep.post(f"/proposals/{pid}/transitions/start_screening")
    assert fired.status_code == 200, fired.json
    assert fired.json["to_state"] == "screening"
    assert fired.headers["ETag"] == f'"{fired.json["row_version"]}"'
    guard = problem(prep.post(f"/proposals/{pid}/transitions/begin_assessment", {}), 422)
    assert guard["code"] == "guard_failed"
    assert guard["errors"]
    assert problem(prep.post(f"/proposals/{pid}/transitions/fly", {}), 409)["code"] == (
        "transition_not_allowed"
    )
    screen(eva, pid, ScreeningOutcome.LIGHT)
    problem(api_as("sec").post(f"/proposals/{pid}/transitions/begin_assessment", {}), 403)
    problem(api_as("outsider").post(f"/proposals/{pid}/transitions/begin_assessment", {}), 404)
    long_reason = problem(
        prep.post(f"/proposals/{pid}/transitions/begin_assessment", {"reason": "x" * 20000}), 422
    )
    assert pointers(long_reason) == {"#/reason"}


# assignments -----------------------------------------------------------------------------------
def test_my_assignments_and_a_proposals_assignments(api_as: Any, eva: Eva) -> None:
    pid = new_proposal(eva)
    mine = api_as("prep").get("/assignments/mine")
    assert mine.status_code == 200
    assert [i["proposal_id"] for i in mine.json["items"]] == [pid]
    assert api_as("pres").get("/assignments/mine").json["items"] == []
    listed = api_as("prep").get(f"/proposals/{pid}/assignments")
    assert [a["kind"] for a in listed.json["items"]] == ["prepare"]
    problem(api_as("outsider").get(f"/proposals/{pid}/assignments"), 404)


def test_reassigning(api_as: Any, eva: Eva) -> None:
    pid = new_proposal(eva)
    task = api_as("prep").get(f"/proposals/{pid}/assignments").json["items"][0]["id"]
    problem(api_as("aud").post(f"/assignments/{task}/reassign", {"assignee": "prep2"}), 403)
    problem(api_as("outsider").post(f"/assignments/{task}/reassign", {"assignee": "prep2"}), 404)
    cannot = problem(api_as("sec").post(f"/assignments/{task}/reassign", {"assignee": "aud"}), 422)
    assert pointers(cannot) == {"#/assignee"}
    moved = api_as("sec").post(
        f"/assignments/{task}/reassign", {"assignee": "prep2", "reason": "Loma"}
    )
    assert moved.status_code == 201, moved.json
    assert moved.json["assignee"] == "prep2"
    assert [i["proposal_id"] for i in api_as("prep2").get("/assignments/mine").json["items"]] == [
        pid
    ]
    states = [a["state"] for a in api_as("prep").get(f"/proposals/{pid}/assignments").json["items"]]
    assert states == ["reassigned", "open"]
    again = problem(api_as("sec").post(f"/assignments/{task}/reassign", {"assignee": "prep"}), 422)
    assert locations(again) == {"assignment_id"}
    problem(api_as("sec").post("/assignments/999999/reassign", {"assignee": "prep"}), 404)


def test_the_api_never_answers_with_the_html_error_page(api_as: Any) -> None:
    prep: Api = api_as("prep")
    assert problem(prep.get("/nothing/here"), 404)["code"] == "not_found"
    wrong = problem(prep.delete("/proposals"), 405)
    assert wrong["code"] == "method_not_allowed"


def test_removing_what_a_new_assessment_does_not_have_is_not_found(api_as: Any, eva: Eva) -> None:
    pid = proposal_in(eva, "assessment")  # no alternatives yet
    prep = api_as("prep")
    finnish = {"Accept-Language": "fi"}
    mitigation = problem(
        prep.delete(f"/proposals/{pid}/mitigations?question=x.y.z", headers=finnish), 404
    )
    assert mitigation["detail"] == (
        "Tällaista lieventämiskeinoa ei ole, joten poistettavaa ei ole: mitään ei muutettu."
    )
    indicator = problem(prep.delete(f"/proposals/{pid}/indicators?name=Mittari"), 404)
    assert "Mittari" in indicator["detail"]
    assert "vaihtoehto" not in indicator["detail"]  # not "add the alternatives first"


def test_the_cli_and_the_api_export_the_same_assessment_and_import_says_what_is_missing(
    api_as: Any, eva: Eva, tmp_path: Any
) -> None:
    pid = proposal_in(eva, "assessment")  # a new revision: no alternatives yet
    api = api_as("prep").get(f"/proposals/{pid}/assessment/export")
    assert api.status_code == 200, api.get_data(as_text=True)
    out = tmp_path / "assessment.json"
    run(eva, "export", "assessment", str(pid), "--as", "prep", "--output", str(out))
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written == api.json == api_as("prep").get(f"/proposals/{pid}/assessment").json
    assert written["alternatives"] == []
    refused = run(
        eva, "--language", "fi", "assessment", "import", str(pid), str(out), "--as", "prep", code=7
    )
    assert "ei ole vaihtoehtoja" in refused.stderr
    assert "lisää siihen ainakin valittu vaihtoehto" in refused.stderr
    # with an alternative added, what export wrote imports
    written["alternatives"] = [{"position": 0, "title": "Esitys", "chosen": True}]
    out.write_text(json.dumps(written), encoding="utf-8")
    run(eva, "assessment", "import", str(pid), str(out), "--as", "prep")
    assert api_as("prep").get(f"/proposals/{pid}/assessment").json["alternatives"][0]["title"] == (
        "Esitys"
    )
