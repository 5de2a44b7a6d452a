"""Words, not ids, wherever people read: the proposal's history, the auditor's year, the reasons
a step is blocked and ``eva history`` name questions, criteria, steps, task kinds, people and
proposals by their titles and names, and write times as Finnish people do (13.6.2023 klo
17.00); none of them shows a stored reference (``answer:100``) or a definition's id."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient

from eva_engine.cli.commands import history_lines
from eva_engine.models import utcnow
from eva_engine.rendering.labels import Glossary, HistoryWords, Labels
from eva_engine.rendering.language import Speaker
from eva_engine.services.assessment import documents
from eva_engine.services.history import trail
from eva_engine.services.proposals import texts as proposal_texts
from eva_engine.services.runtime import Eva
from eva_engine.services.steps import transitions, work
from eva_engine.vocabulary import TextKind, TextLanguage
from tests.builders import PEOPLE, as_, bundle, document, new_proposal, proposal_in
from tests.conftest import World
from tests.test_web import app, csrf, login

__all__ = ["app"]

RAW_REFERENCE = re.compile(r"\b\w+:\d+")  # answer:100, proposal:12, role_grant:1
SNAKE_ID = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")  # start_screening, many_residents
FINNISH_TIME = re.compile(r"\b\d{1,2}\.\d{1,2}\.\d{4} klo \d{1,2}\.\d{2}\b")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def visible(html: str) -> str:
    """The text a reader sees: no tags, scripts or styles; entities decoded."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def definition_ids(eva: Eva) -> set[str]:
    """Every id the workflow and checklists give a question, state, step, task kind or
    criterion (the words a reader must never meet)."""
    glossary = Glossary.of([bundle(eva)])
    return {
        *glossary.questions,
        *glossary.states,
        *glossary.triggers,
        *glossary.kinds,
        *glossary.choices,
    }


def ids_in(text: str, eva: Eva) -> list[str]:
    found = RAW_REFERENCE.findall(text) + SNAKE_ID.findall(text)
    words = set(re.findall(r"[\w.]+", text))
    return found + sorted(i for i in definition_ids(eva) if "_" in i or "." in i if i in words)


def returned(eva: Eva, reason: str = "Tarkenna vaikutuksia lapsiin.") -> int:
    """A proposal the reviewer returned to its preparer for revision, with ``reason``."""
    pid = proposal_in(eva, "review")
    transitions.fire(eva, as_("sec"), pid, "return_for_revision", reason=reason)
    return pid


def whole_history(client: FlaskClient, pid: int) -> str:
    """Every page of the proposal's history, along its next page links."""
    html, address = "", f"/proposals/{pid}/history"
    while address:
        page = client.get(address).get_data(as_text=True)
        html += page
        following = re.findall(r'<a href="([^"]+)" rel="next">', page)
        address = unescape(following[0]) if following else ""
    return html


def test_the_history_names_steps_criteria_tasks_questions_and_people_with_finnish_times(
    app: Flask, eva: Eva
) -> None:
    pid = returned(eva)
    transitions.fire(eva, as_("prep"), pid, "submit_for_review")
    client = app.test_client()
    login(client, "aud")
    html = whole_history(client, pid)
    text = visible(html)
    assert ids_in(text, eva) == []
    assert "Aloita tarveharkinta" in text  # the step start_screening, by its title
    assert "Vaikuttaa suureen osaan asukkaista" in text  # the criterion many_residents
    assert "Valmistele arviointi" in text  # the task kind prepare
    assert "Palauta korjattavaksi" in text
    assert "Tarkenna vaikutuksia lapsiin." in text
    assert "Sec (sihteeri)" in text
    assert "Prep (valmistelija)" in text
    assert FINNISH_TIME.search(text)
    assert ISO_DATE.findall(text) == []
    # An answer names its question, which links to the question in the impact matrix.
    glossary = Glossary.of([bundle(eva)])
    links = re.findall(r'<a href="/proposals/(\d+)/areas/(\w+)#q-([\w.]+)">([^<]+)</a>', html)
    assert links
    for proposal, area, question, shown in links:
        assert (int(proposal), area) == (pid, glossary.question_areas[question])
        assert unescape(shown) == glossary.questions[question].fi
    assert f"Vastaus: {glossary.questions[links[0][2]].fi}, 0 (Nykytila)" in text


def test_the_history_reads_in_swedish_with_swedish_times(app: Flask, eva: Eva) -> None:
    pid = returned(eva)
    client = app.test_client()
    login(client, "aud")
    home = client.get("/").get_data(as_text=True)
    client.post("/language", data={"lang": "sv", "next": "/", "csrf_token": csrf(home)})
    text = visible(whole_history(client, pid))
    assert "Inled behovsprövningen" in text  # the step, by its Swedish title
    assert "Returnera för korrigering" in text
    assert re.search(r"\b\d{1,2} \w+\.? \d{4} kl\. \d{2}:\d{2}\b", text)  # 2 dec. 2026 kl. 09:14
    assert "Steg  –  Inled behovsprövningen" in text
    assert "Sec (sekreterare)" in text


def texts_written(eva: Eva) -> int:
    """A proposal whose preparer wrote the presentation text and the decision proposal, in
    Finnish and in Swedish, then changed one and removed another."""
    pid = new_proposal(eva)

    def write(*texts: tuple[TextKind, TextLanguage, str]) -> None:
        proposal_texts.write_texts(
            eva,
            as_("prep"),
            proposal_texts.WriteTexts(
                proposal_id=pid,
                texts=[
                    proposal_texts.TextIn(kind=k, language=lang, content=c) for k, lang, c in texts
                ],
            ),
        )

    write(
        (TextKind.GROUNDS, TextLanguage.FI, "Perustelut suomeksi."),
        (TextKind.DECISION_PROPOSAL, TextLanguage.FI, "Lautakunta päättää."),
        (TextKind.DECISION_PROPOSAL, TextLanguage.SV, "Nämnden beslutar."),
    )
    write((TextKind.GROUNDS, TextLanguage.FI, "Perustelut muutettuina."))
    write((TextKind.DECISION_PROPOSAL, TextLanguage.SV, ""))
    return pid


def test_the_history_names_a_text_of_the_minutes_by_its_kind_and_language(
    app: Flask, eva: Eva
) -> None:
    pid = texts_written(eva)
    client = app.test_client()
    login(client, "aud")
    text = visible(whole_history(client, pid))
    assert ids_in(text, eva) == []
    assert "Pöytäkirjan teksti: Esittelyteksti (suomi)" in text
    assert "Pöytäkirjan teksti: Päätösehdotus (ruotsi)" in text  # created, then removed
    assert re.search(r"Laji\s+–\s+Päätösehdotus", text)  # the fields of a created text
    assert re.search(r"Kieli\s+–\s+ruotsi", text)
    for raw in ("grounds", "decision_proposal", " fi ", " sv "):
        assert raw not in text
    home = client.get("/").get_data(as_text=True)
    client.post("/language", data={"lang": "sv", "next": "/", "csrf_token": csrf(home)})
    swedish = visible(whole_history(client, pid))
    assert "Föredragningstext (finska)" in swedish
    assert "Beslutsförslag (svenska)" in swedish


def test_eva_history_names_a_text_of_the_minutes_by_its_kind_and_language(
    eva: Eva, world: World
) -> None:
    pid = texts_written(eva)
    events = trail.proposal_history(eva, as_("prep"), pid)
    names = trail.referenced_names(eva, as_("prep"), pid, events)
    lines = "\n".join(
        history_lines(HistoryWords(Labels(Speaker("fi").gettext), "fi", names), events)
    )
    changed = lines.split("Pöytäkirjan teksti: muutettu · ", 1)[1]
    assert changed.startswith("Pöytäkirjan teksti: Esittelyteksti (suomi)")  # no kind in the change
    assert "Laji: Päätösehdotus" in lines
    assert "Kieli: ruotsi" in lines
    assert re.findall(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\b(?:fi|sv)\b", lines) == []


def test_the_auditors_year_names_records_and_people_not_their_ids(app: Flask, eva: Eva) -> None:
    returned(eva)
    client = app.test_client()
    login(client, "aud")
    home = client.get("/audit/").get_data(as_text=True)
    client.post("/audit/verify", data={"csrf_token": csrf(home)})
    pages = [
        client.get(f"/audit/?action={action}").get_data(as_text=True)
        for action in ("", "role_grant.create", "answer.create", "proposal.transition")
    ]
    for html in pages:
        text = visible(html)
        for username in PEOPLE:  # a user record shows its username, which is no id
            text = re.sub(rf"\b{username}\b", "", text)
        assert ids_in(text, eva) == [], ids_in(text, eva)
        assert ISO_DATE.findall(text) == []
    grants, answers, steps = (visible(p) for p in pages[1:])
    assert "Rooli: Prep (valmistelija)" in grants  # a grant: whose, which role
    assert FINNISH_TIME.search(grants)
    assert "Vastaus: " in answers
    assert "Nykytila" in answers
    assert "Päätösehdotus: " in steps  # the proposal, by case number and title
    assert "Aud" in visible(pages[0]).split("Lokiketju varmennettiin")[1][:120]


def test_a_blocked_step_names_the_question_not_its_id(app: Flask, eva: Eva) -> None:
    pid = proposal_in(eva, "assessment")
    documents.import_assessment(eva, as_("prep"), pid, document(eva, skip=1))
    last = document(eva).answers[-1].question  # the answer left out
    question = Glossary.of([bundle(eva)]).questions[last]
    client = app.test_client()
    login(client, "prep")
    text = visible(client.get(f"/proposals/{pid}").get_data(as_text=True))
    assert f"kysymys {question.fi}, vaihtoehto 1 (Esitys): ei vastattu" in text
    assert last not in text
    assert ids_in(text, eva) == []


def test_an_unmitigated_harm_names_its_question_not_its_id(app: Flask, eva: Eva) -> None:
    pid = proposal_in(eva, "assessment")
    harmful = document(eva).answers[0].question
    documents.import_assessment(
        eva, as_("prep"), pid, document(eva, negative=harmful, mitigate=False)
    )
    question = Glossary.of([bundle(eva)]).questions[harmful]
    client = app.test_client()
    login(client, "prep")
    text = visible(client.get(f"/proposals/{pid}").get_data(as_text=True))
    assert f"kysymys {question.fi}, vaihtoehto 1 (Esitys)" in text
    assert harmful not in text
    assert ids_in(text, eva) == []


def test_my_work_shows_state_progress_next_step_due_and_the_return_reason(
    app: Flask, eva: Eva, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = returned(eva)
    draft = new_proposal(eva)
    view = work.my_work(eva, as_("prep"))
    revise = next(i for i in view.items if i.proposal_id == pid)
    assert revise.state_title_fi == "Arviointi"
    assert revise.areas_required
    assert revise.areas_complete == revise.areas_required
    assert revise.next_step_fi == "Lähetä tarkastettavaksi"
    assert revise.returned is not None
    assert revise.returned.by == "Sec"
    client = app.test_client()
    login(client, "prep")
    html = client.get("/").get_data(as_text=True)
    text = visible(html)
    assert "Arviointi" in text
    assert "Luonnos" in text
    assert f"{revise.areas_complete}/{revise.areas_required} aluetta" in text
    assert "Lähetä tarkastettavaksi" in text
    assert "Aloita tarveharkinta" in text
    assert "Palautettu korjattavaksi" in text
    assert "Tarkenna vaikutuksia lapsiin." in text
    assert 'class="overdue"' not in html
    assert revise.due is not None
    assert f"{revise.due.day}.{revise.due.month}." in text
    page = visible(client.get(f"/proposals/{pid}").get_data(as_text=True))
    assert "Palautettu korjattavaksi" in page
    assert "Tarkenna vaikutuksia lapsiin." in page
    assert "Palautettu korjattavaksi" not in visible(
        client.get(f"/proposals/{draft}").get_data(as_text=True)
    )
    # Ten days on, the revision (due in 7 days) is overdue and highlighted; preparing the
    # draft (30 days) is not.
    later = utcnow() + timedelta(days=10)
    monkeypatch.setattr(work, "utcnow", lambda: later)
    html = client.get("/").get_data(as_text=True)
    overdue_rows = re.findall(r'<tr class="overdue">(.*?)</tr>', html, re.S)
    assert len(overdue_rows) == 1
    assert f"/proposals/{pid}" in overdue_rows[0]
    assert "Myöhässä" in overdue_rows[0]


def test_my_work_filters_by_state_kind_and_overdue(
    app: Flask, eva: Eva, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = returned(eva)
    draft = new_proposal(eva)
    client = app.test_client()
    login(client, "prep")

    def listed(query: str) -> set[int]:
        html = client.get(f"/?{query}").get_data(as_text=True)
        return {int(i) for i in re.findall(r'<td><a href="/proposals/(\d+)">', html)}

    assert {pid, draft} <= listed("")
    assert pid in listed("state=assessment")
    assert draft not in listed("state=assessment")
    assert listed("kind=prepare") >= {draft}
    assert pid not in listed("kind=prepare")
    assert listed("kind=revise") == {pid}
    assert listed("overdue=yes") == set()
    later = utcnow() + timedelta(days=10)
    monkeypatch.setattr(work, "utcnow", lambda: later)
    assert listed("overdue=yes") == {pid}
    page = client.get("/?kind=revise").get_data(as_text=True)
    assert '<option value="revise" selected>' in page
    filtered = work.my_work(eva, as_("prep"), kind="revise", overdue=True)
    assert (filtered.total, filtered.overdue) == (1, 1)
    assert work.my_work(eva, as_("prep"), state="closed").items == []
