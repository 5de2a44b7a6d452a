"""The preparer's editor in the web UI: a proposal created, screened, its alternatives and
matrix filled area by area, then submitted; bad input is shown and nothing is saved."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from eva_engine.checklists.definition import Question
from eva_engine.services.assessment import documents
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import ScreeningOutcome
from tests.builders import (
    OPERATOR,
    bundle,
    new_proposal,
    proposal_in,
    required_questions,
    state_of,
)
from tests.test_web import app, csrf, login

__all__ = ["app"]


def test_a_preparer_creates_a_proposal_from_the_form(app: Flask, eva: Eva) -> None:
    client = app.test_client()
    login(client, "prep")
    page = client.get("/proposals/new").get_data(as_text=True)
    assert 'for="case_number"' in page
    response = client.post(
        "/proposals/new",
        data={
            "csrf_token": csrf(page),
            "case_number": "77/05.00.00/2026",
            "title_fi": "Uusi asia",
            "title_sv": "",
            "body": "HYVLTK",
            "presenter": "pres",
            "publicity": "public",
            "ground": "",
        },
    )
    assert response.status_code == 302
    pid = int(response.location.rsplit("/", 1)[1])
    assert proposal_queries.show(eva, OPERATOR, pid).case_number == "77/05.00.00/2026"


def test_a_wrong_case_number_is_shown_at_its_field_and_nothing_is_created(
    app: Flask, eva: Eva
) -> None:
    client = app.test_client()
    login(client, "prep")
    page = client.get("/proposals/new").get_data(as_text=True)
    html = client.post(
        "/proposals/new",
        data={
            "csrf_token": csrf(page),
            "case_number": "HEL 2024-1",
            "title_fi": "Uusi asia",
            "body": "HYVLTK",
            "presenter": "pres",
            "publicity": "public",
        },
    ).get_data(as_text=True)
    assert 'href="#case_number"' in html
    assert 'aria-invalid="true"' in html
    assert proposal_queries.list_proposals(eva, OPERATOR, "testila").total == 0


def test_an_exempt_screening_without_a_reason_is_refused_at_the_reason_field(
    app: Flask, eva: Eva
) -> None:
    pid = proposal_in(eva, "screening")
    client = app.test_client()
    login(client, "prep")
    page = client.get(f"/proposals/{pid}/screening").get_data(as_text=True)
    html = client.post(
        f"/proposals/{pid}/screening",
        data={
            "csrf_token": csrf(page),
            "outcome": "exempt",
            "exemption": "filling_post",
            "reason": "",
        },
    ).get_data(as_text=True)
    assert 'href="#reason"' in html
    assert proposal_queries.show(eva, OPERATOR, pid).screening is None


def test_the_whole_assessment_is_filled_in_the_browser_forms_and_submitted(
    app: Flask, eva: Eva
) -> None:
    pid = new_proposal(eva)
    client = app.test_client()
    login(client, "prep")
    page = client.get(f"/proposals/{pid}").get_data(as_text=True)
    client.post(f"/proposals/{pid}/transitions/start_screening", data={"csrf_token": csrf(page)})
    page = client.get(f"/proposals/{pid}/screening").get_data(as_text=True)
    assert (
        client.post(
            f"/proposals/{pid}/screening",
            data={
                "csrf_token": csrf(page),
                "outcome": "light",
                "criteria": ["many_residents"],
                "exemption": "",
            },
        ).status_code
        == 302
    )
    page = client.get(f"/proposals/{pid}").get_data(as_text=True)
    client.post(f"/proposals/{pid}/transitions/begin_assessment", data={"csrf_token": csrf(page)})
    page = client.get(f"/proposals/{pid}/alternatives").get_data(as_text=True)
    assert (
        client.post(
            f"/proposals/{pid}/alternatives",
            data={
                "csrf_token": csrf(page),
                "title-0": "Nykytila",
                "title-1": "Esitys",
                "chosen": "1",
            },
        ).status_code
        == 302
    )
    areas = {area for area, _ in required_questions(eva, ScreeningOutcome.LIGHT)}
    for area in sorted(areas):
        page = client.get(f"/proposals/{pid}/areas/{area}").get_data(as_text=True)
        data: dict[str, object] = {"csrf_token": csrf(page)}
        for question_area, question in required_questions(eva, ScreeningOutcome.LIGHT):
            if question_area != area:
                continue
            for position in (0, 1):
                prefix = f"{question}--{position}--"
                data |= {
                    prefix + "direction": "positive",
                    prefix + "magnitude": "minor",
                    prefix + "justification": "Perusteltu.",
                    prefix + "groups": ["families", "children"],
                }
        assert client.post(f"/proposals/{pid}/areas/{area}", data=data).status_code == 302
    view = proposal_queries.show(eva, OPERATOR, pid)
    assert view.missing == []
    page = client.get(f"/proposals/{pid}").get_data(as_text=True)
    client.post(f"/proposals/{pid}/transitions/submit_for_review", data={"csrf_token": csrf(page)})
    assert state_of(eva, pid) == "review"
    doc = documents.export_document(eva, OPERATOR, pid)
    assert {g.value for g in doc.answers[0].affected_groups} == {"families", "children"}


def test_the_matrix_shows_saved_answers_and_progress_per_area(app: Flask, eva: Eva) -> None:
    pid = proposal_in(eva, "review")
    client = app.test_client()
    login(client, "prep")
    html = client.get(f"/proposals/{pid}/areas/").get_data(as_text=True)
    assert 'aria-current="page"' in html
    assert "1/1" not in html or "valmis" in html
    assert 'class="summary-list"' in html  # in review: read, not edited
    assert "myönteinen" in html
    assert "<select" not in html.split('<main id="main"', 1)[1]


def test_mitigations_indicators_and_the_summary_are_edited_on_their_page(
    app: Flask, eva: Eva
) -> None:
    pid = proposal_in(eva, "assessment")
    question = required_questions(eva, ScreeningOutcome.LIGHT)[0][1]
    client = app.test_client()
    login(client, "prep")
    page = client.get(f"/proposals/{pid}/alternatives").get_data(as_text=True)
    client.post(
        f"/proposals/{pid}/alternatives",
        data={"csrf_token": csrf(page), "title-0": "Nykytila", "title-1": "Esitys", "chosen": "1"},
    )
    page = client.get(f"/proposals/{pid}/follow-up").get_data(as_text=True)
    token = csrf(page)
    posts = [
        {"action": "summary", "summary": "Tiivistelmä päättäjille."},
        {
            "action": "add-mitigation",
            "question": question,
            "alternative": "1",
            "description": "Haitta lievennetään.",
            "responsible": "rehtori",
        },
        {
            "action": "add-indicator",
            "name": "Koululaisten liikunta",
            "source": "Sotkanet",
            "responsible": "koordinaattori",
            "due": "2027-05-31",
        },
    ]
    for data in posts:
        assert (
            client.post(
                f"/proposals/{pid}/follow-up", data={"csrf_token": token, **data}
            ).status_code
            == 302
        )
    doc = documents.export_document(eva, OPERATOR, pid)
    assert doc.summary == "Tiivistelmä päättäjille."
    assert [(m.question, m.alternative) for m in doc.mitigations] == [(question, 1)]
    assert [i.name for i in doc.follow_up_indicators] == ["Koululaisten liikunta"]


def test_an_indicator_without_a_valid_date_is_refused_and_nothing_is_saved(
    app: Flask, eva: Eva
) -> None:
    pid = proposal_in(eva, "assessment")
    client = app.test_client()
    login(client, "prep")
    page = client.get(f"/proposals/{pid}/alternatives").get_data(as_text=True)
    client.post(
        f"/proposals/{pid}/alternatives",
        data={"csrf_token": csrf(page), "title-0": "Nykytila", "chosen": "0"},
    )
    page = client.get(f"/proposals/{pid}/follow-up").get_data(as_text=True)
    html = client.post(
        f"/proposals/{pid}/follow-up",
        data={
            "csrf_token": csrf(page),
            "action": "add-indicator",
            "name": "Mittari",
            "responsible": "joku",
            "due": "31.6.2027",  # June has 30 days (31.5.2027 is a date: Finns type so)
        },
    ).get_data(as_text=True)
    assert "due" in html
    assert documents.export_document(eva, OPERATOR, pid).follow_up_indicators == []


def test_the_first_area_posts_to_its_own_address_so_saving_right_away_works(
    app: Flask, eva: Eva
) -> None:
    pid = proposal_in(eva, "assessment")
    client = app.test_client()
    login(client, "prep")
    page = client.get(f"/proposals/{pid}/alternatives").get_data(as_text=True)
    client.post(
        f"/proposals/{pid}/alternatives",
        data={"csrf_token": csrf(page), "title-0": "Nykytila", "chosen": "0"},
    )
    first = client.get(f"/proposals/{pid}/areas/").get_data(as_text=True)
    action = re.search(r'<form method="post" action="(/proposals/[^"]*/areas/[^"]*)"', first)
    assert action is not None
    assert action.group(1).startswith(f"/proposals/{pid}/areas/")
    assert action.group(1) != f"/proposals/{pid}/areas/"
    assert client.post(action.group(1), data={"csrf_token": csrf(first)}).status_code == 302


def _matrix_proposal(app: Flask, eva: Eva) -> tuple[int, FlaskClient]:
    """A proposal in assessment (light) with two alternatives, and the preparer's client."""
    pid = proposal_in(eva, "assessment")
    client = app.test_client()
    login(client, "prep")
    page = client.get(f"/proposals/{pid}/alternatives").get_data(as_text=True)
    client.post(
        f"/proposals/{pid}/alternatives",
        data={"csrf_token": csrf(page), "title-0": "Nykytila", "title-1": "Esitys", "chosen": "1"},
    )
    return pid, client


AREA = "living_environment"
FIRST = "living_environment.community_planning.residential_areas"
SECOND = "living_environment.community_planning.green_and_meeting_places"


def test_the_matrix_has_the_alternatives_as_columns_and_a_save_button_per_question(
    app: Flask, eva: Eva
) -> None:
    pid, client = _matrix_proposal(app, eva)
    html = client.get(f"/proposals/{pid}/areas/{AREA}").get_data(as_text=True)
    table = html.split(f'id="q-{FIRST}"', 1)[1].split("</table>", 1)[0]
    assert table.count('<th scope="col"') == 2
    assert "Esitys" in table
    assert table.count('<th scope="row"') == 7
    assert f'name="save" value="{FIRST}"' in html
    assert 'name="save" value="all"' in html
    assert "Siirry ensimmäiseen puuttuvaan" in html
    assert "kysymystä valmiina tällä alueella" in html
    one = client.get(f"/proposals/{pid}/areas/{AREA}?question={SECOND}").get_data(as_text=True)
    assert f'id="q-{SECOND}"' in one
    assert f'id="q-{FIRST}"' not in one
    assert "Kysymys 2/" in one
    assert 'rel="prev"' in one


def test_saving_one_question_keeps_what_was_typed_in_another_and_warns_of_a_gap(
    app: Flask, eva: Eva
) -> None:
    pid, client = _matrix_proposal(app, eva)
    page = client.get(f"/proposals/{pid}/areas/{AREA}").get_data(as_text=True)
    data = {
        "csrf_token": csrf(page),
        "version": re.search(r'name="version" value="([0-9]+)"', page).group(1),  # type: ignore[union-attr]
        # the first question: positive, justified, but no magnitude (incomplete)
        f"{FIRST}--0--direction": "positive",
        f"{FIRST}--0--justification": "Viihtyisyys paranee.",
        # typed in the second question, not saved with the first
        f"{SECOND}--1--direction": "negative",
        f"{SECOND}--1--justification": "Puisto pienenee.",
        "save": FIRST,
    }
    response = client.post(f"/proposals/{pid}/areas/{AREA}", data=data)
    assert response.status_code == 200  # shown again: the second question is not lost
    html = response.get_data(as_text=True)
    assert "Puisto pienenee." in html
    assert "ei ole vielä tallennettu" in html
    assert "vastausta on puutteellisia" in html
    assert f'id="{FIRST}--0--magnitude-warn"' in html
    assert "suuruus puuttuu" in html or "magnitude" in html
    answers = documents.export_document(eva, OPERATOR, pid).answers
    assert [(a.question, a.alternative) for a in answers] == [(FIRST, 0)]
    # the page shows the warning again later, and the first missing item is this question
    again = client.get(f"/proposals/{pid}/areas/{AREA}").get_data(as_text=True)
    assert 'class="notice warning matrix-warnings"' in again
    assert f"question={FIRST.replace('.', '.')}" in again


def test_a_cell_with_text_but_no_direction_is_refused_and_its_text_kept(
    app: Flask, eva: Eva
) -> None:
    pid, client = _matrix_proposal(app, eva)
    page = client.get(f"/proposals/{pid}/areas/{AREA}").get_data(as_text=True)
    response = client.post(
        f"/proposals/{pid}/areas/{AREA}",
        data={
            "csrf_token": csrf(page),
            f"{FIRST}--0--direction": "",
            f"{FIRST}--0--justification": "Kirjoitettu teksti.",
            "save": FIRST,
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Kirjoitettu teksti." in html
    assert f'href="#{FIRST}--0--direction"' in html
    assert documents.export_document(eva, OPERATOR, pid).answers == []


def test_a_complete_question_saved_alone_redirects_to_its_section(app: Flask, eva: Eva) -> None:
    pid, client = _matrix_proposal(app, eva)
    page = client.get(f"/proposals/{pid}/areas/{AREA}?question={FIRST}").get_data(as_text=True)
    data: dict[str, object] = {"csrf_token": csrf(page), "save": FIRST}
    for position in (0, 1):
        data |= {
            f"{FIRST}--{position}--direction": "positive",
            f"{FIRST}--{position}--magnitude": "minor",
            f"{FIRST}--{position}--justification": "Perusteltu.",
        }
    response = client.post(f"/proposals/{pid}/areas/{AREA}?question={FIRST}", data=data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"question={FIRST}#q-{FIRST}")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Tallennettu." in html
    assert 'class="tag tag-done"' in html


def _area_questions(eva: Eva, area_id: str) -> list[Question]:
    area = next(a for c in bundle(eva).checklists for a in c.areas if a.id == area_id)
    return [q for t in area.topics for q in t.questions]


def test_every_question_shows_its_help_as_a_disclosure_in_the_readers_language(
    app: Flask, eva: Eva
) -> None:
    pid, client = _matrix_proposal(app, eva)
    questions = _area_questions(eva, AREA)
    html = client.get(f"/proposals/{pid}/areas/{AREA}").get_data(as_text=True)
    assert html.count('<details class="question-help"') == len(questions)
    assert html.count("<summary>Ohje tähän kysymykseen</summary>") == len(questions)
    for q in questions:
        assert q.help is not None
        assert f'<details class="question-help" id="help-{q.id}">' in html
        assert str(escape(q.help.fi)) in html
    client.post("/language", data={"lang": "sv", "next": "/", "csrf_token": csrf(html)})
    swedish = client.get(f"/proposals/{pid}/areas/{AREA}?question={FIRST}").get_data(as_text=True)
    assert "<summary>Anvisning till den här frågan</summary>" in swedish
    first = questions[0]
    assert first.help is not None
    assert str(escape(first.help.sv)) in swedish
    assert str(escape(first.help.fi)) not in swedish


def test_the_read_only_matrix_shows_the_help_too(app: Flask, eva: Eva) -> None:
    pid, _ = _matrix_proposal(app, eva)
    client = app.test_client()
    login(client, "aud")
    html = client.get(f"/proposals/{pid}/areas/{AREA}").get_data(as_text=True)
    assert "Vain luku" in html
    questions = _area_questions(eva, AREA)
    assert html.count('<details class="question-help"') == len(questions)
