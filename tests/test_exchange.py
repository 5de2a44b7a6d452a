"""Exporting assessments for case-management systems: the summary for the proposal's reasoning
text in Finnish, Swedish and English as HTML and text (real content: question and area texts
in the right language, the chosen alternative, mitigations, indicators), the whole assessment
as JSON that ``eva assessment import`` reads back, the confidentiality rule for anything marked
public, disclosure logging, and access through the command line and the download routes."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from eva_engine.config import Settings
from eva_engine.errors import NotFound, PermissionDenied
from eva_engine.rendering.summary import render_summary
from eva_engine.services.assessment import documents
from eva_engine.services.exchange import summaries
from eva_engine.services.history import trail
from eva_engine.services.people import accounts
from eva_engine.services.runtime import Eva
from eva_engine.services.steps import transitions
from eva_engine.vocabulary import Publicity, ScreeningOutcome
from tests.builders import (
    OPERATOR,
    as_,
    bundle,
    document,
    new_proposal,
    required_questions,
    screen,
)
from tests.conftest import World
from tests.exchange_support import run, run_json
from tests.test_web import PASSWORD, login
from web import create_app

SECRETS = (
    "SALAINEN-YHTEENVETO",
    "SALAINEN-VAIHTOEHTO",
    "SALAINEN-KUVAUS",
    "SALAINEN-PERUSTELU",
    "SALAINEN-LÄHDE",
    "SALAINEN-LIEVENNYS",
    "SALAINEN-MITTARI",
    "Kuulemistilaisuus.",
)


def negative_question(eva: Eva) -> str:
    return required_questions(eva, ScreeningOutcome.LIGHT)[0][1]


def texts_of(eva: Eva, question_id: str) -> tuple[dict[str, str], dict[str, str]]:
    """The question's and its area's texts by language, from the published checklists."""
    for checklist in bundle(eva).checklists:
        for area, _, question in checklist.questions():
            if question.id == question_id:
                return dict(question.text), dict(area.title)
    raise AssertionError(question_id)


def assessed(
    eva: Eva,
    publicity: Publicity = Publicity.PUBLIC,
    ground: str | None = None,
    *,
    secret_texts: bool = False,
) -> int:
    """A proposal in assessment with a light screening, two alternatives (1 chosen), a
    significant negative impact on one question with its mitigation, and an indicator."""
    pid = new_proposal(eva, publicity=publicity, ground=ground)
    transitions.fire(eva, as_("prep"), pid, "start_screening")
    screen(eva, pid, ScreeningOutcome.FULL if secret_texts else ScreeningOutcome.LIGHT)
    transitions.fire(eva, as_("prep"), pid, "begin_assessment")
    depth = ScreeningOutcome.FULL if secret_texts else ScreeningOutcome.LIGHT
    doc = document(eva, depth, negative=negative_question(eva))
    if secret_texts:
        data = doc.model_dump(mode="json")
        data["summary"] = "SALAINEN-YHTEENVETO"
        data["alternatives"][1].update(title="SALAINEN-VAIHTOEHTO", description="SALAINEN-KUVAUS")
        for answer in data["answers"]:
            answer.update(justification="SALAINEN-PERUSTELU", evidence_source="SALAINEN-LÄHDE")
        data["mitigations"][0]["description"] = "SALAINEN-LIEVENNYS"
        data["follow_up_indicators"][0]["name"] = "SALAINEN-MITTARI"
        doc = documents.AssessmentDocument.model_validate(data)
    documents.import_assessment(eva, as_("prep"), pid, doc)
    return pid


# the summary ------------------------------------------------------------------------------------
def test_the_finnish_text_summary_says_what_the_presenter_needs(eva: Eva, world: World) -> None:
    pid = assessed(eva)
    question, area = texts_of(eva, negative_question(eva))
    text = render_summary(summaries.summary(eva, as_("prep"), pid), "text", "fi")
    assert text.startswith("Vaikutusten ennakkoarviointi: Testiesitys")
    assert "Tarveharkinnan tulos: kevyt arviointi." in text
    assert "- Vaikuttaa suureen osaan asukkaista" in text  # the screening criterion, in Finnish
    assert "- Vaihtoehto 0 (Nykytila)\n- Vaihtoehto 1 (Esitys): esitetty vaihtoehto" in text
    assert "Vaikutukset, kun valitaan vaihtoehto 1 (Esitys), verrattuna muihin" in text
    assert f"\n{area['fi']}\n" in text
    assert (
        f"- {question['fi']}: kielteinen, merkittävä, valtuustokausi; kohderyhmät: perheet. "
        "Perusteltu.\n  Vertailukohta vaihtoehto 0 (Nykytila): myönteinen, vähäinen" in text
    )
    assert f"- {area['fi']}, {question['fi']} (vaihtoehto 1 (Esitys)): Lievennys." in text
    assert "Seurantaindikaattorit\n- Mittari: koordinaattori, viimeistään" in text
    assert "Yhteenveto\nYhteenveto." in text
    assert "<" not in text
    assert "Ei julkinen" not in text


def test_the_swedish_html_summary_uses_the_swedish_texts(eva: Eva, world: World) -> None:
    pid = assessed(eva)
    question, area = texts_of(eva, negative_question(eva))
    page = render_summary(summaries.summary(eva, as_("prep"), pid), "html", "sv")
    assert page.startswith("<!doctype html>") or '<html lang="sv">' in page
    assert '<html lang="sv">' in page
    assert f"<h3>{html.escape(area['sv'])}</h3>" in page
    assert f"{html.escape(question['sv'])}: <strong>negativ, betydande" in page
    assert "<strong>det föreslagna alternativet</strong>" in page
    assert "<h2>Lindrande åtgärder</h2>" in page
    assert "Lievennys." in page
    assert "Resultat av behovsprövningen: lätt bedömning." in page
    assert question["fi"] not in page
    assert area["fi"] not in page
    assert "style=" not in page
    assert "<script" not in page


def test_the_english_summary_and_an_exempt_screening(eva: Eva, world: World) -> None:
    pid = new_proposal(eva)
    transitions.fire(eva, as_("prep"), pid, "start_screening")
    screen(eva, pid, ScreeningOutcome.EXEMPT)
    text = render_summary(summaries.summary(eva, as_("prep"), pid), "text", "en")
    assert "Outcome of the screening: no assessment needed." in text
    assert "Exemption: " in text
    assert "Viran täyttö." in text
    assert "No mitigations are needed or recorded." in text
    sv = render_summary(summaries.summary(eva, as_("prep"), pid), "text", "sv")
    assert "Behovsprövning" in sv


def test_a_summary_before_screening_says_so(eva: Eva, world: World) -> None:
    pid = new_proposal(eva)
    text = render_summary(summaries.summary(eva, as_("prep"), pid), "text", "fi")
    assert "Tarveharkintaa ei ole kirjattu." in text


# confidentiality --------------------------------------------------------------------------------
GROUND = "JulkL 24 § 1 mom. 25 k"


def test_a_public_export_of_a_partly_confidential_proposal_leaves_out_what_people_wrote(
    eva: Eva, world: World
) -> None:
    pid = assessed(eva, Publicity.PARTLY_CONFIDENTIAL, GROUND, secret_texts=True)
    public = summaries.summary(eva, as_("prep"), pid, public=True)
    question, _ = texts_of(eva, negative_question(eva))
    for language in ("fi", "sv", "en"):
        for kind in ("html", "text"):
            out = render_summary(public, kind, language)
            leaked = [s for s in SECRETS if s in out or html.escape(s) in out]
            assert leaked == [], (language, kind)
    text = render_summary(public, "text", "fi")
    assert "Julkinen versio: arvioinnin salassa pidettävät osat" in text
    assert GROUND in text
    assert f"{question['fi']}: kielteinen, merkittävä" in text  # the classification stays
    assert "- Vaihtoehto 1: esitetty vaihtoehto" in text
    assert text.count("Jätetty pois julkisesta versiosta.") == 2  # mitigations, indicators
    # for internal use everything is there, marked not public
    internal = render_summary(summaries.summary(eva, as_("prep"), pid), "text", "fi")
    assert all(s in internal for s in SECRETS)
    assert "Ei julkinen: vain sisäiseen käyttöön." in internal


def test_a_confidential_proposal_has_no_public_summary(eva: Eva, world: World) -> None:
    pid = assessed(eva, Publicity.CONFIDENTIAL, GROUND)
    with pytest.raises(PermissionDenied) as caught:
        summaries.summary(eva, as_("prep"), pid, public=True)
    assert "is confidential" in caught.value.message
    assert GROUND in caught.value.message
    failed = run(eva, "export", "summary", str(pid), "--as", "prep", "--public", code=4)
    assert "has no public summary" in failed.stderr


def test_a_public_proposal_is_whole_in_its_public_export(eva: Eva, world: World) -> None:
    pid = assessed(eva)
    view = summaries.summary(eva, as_("prep"), pid, public=True)
    assert view.omitted is False
    assert view.mitigations
    assert view.summary == "Yhteenveto."


def test_exports_of_a_non_public_proposal_are_logged_as_disclosures(eva: Eva, world: World) -> None:
    pid = assessed(eva, Publicity.PARTLY_CONFIDENTIAL, GROUND)
    summaries.summary(eva, as_("pres"), pid, public=True)
    summaries.export_assessment(eva, as_("aud"), pid)
    events = [
        e for e in trail.proposal_history(eva, OPERATOR, pid) if e.action == "proposal.export"
    ]
    assert [(e.actor, e.after) for e in events] == [
        ("pres", {"export": "summary", "public": True}),
        ("aud", {"export": "assessment", "public": False}),
    ]
    public_pid = assessed(eva)
    summaries.summary(eva, as_("pres"), public_pid)
    assert not any(
        e.action == "proposal.export" for e in trail.proposal_history(eva, OPERATOR, public_pid)
    )


# the command line -------------------------------------------------------------------------------
def test_the_json_export_round_trips_through_assessment_import(
    eva: Eva, world: World, tmp_path: Path
) -> None:
    pid = assessed(eva)
    exported = tmp_path / "assessment.json"
    run(eva, "export", "assessment", str(pid), "--as", "prep", "--output", str(exported))
    data = json.loads(exported.read_text(encoding="utf-8"))
    assert data["format"] == "eva.assessment/1"
    assert run_json(eva, "export", "assessment", str(pid), "--as", "prep") == data
    other = new_proposal(eva)
    transitions.fire(eva, as_("prep"), other, "start_screening")
    screen(eva, other)
    transitions.fire(eva, as_("prep"), other, "begin_assessment")
    run(eva, "assessment", "import", str(other), str(exported), "--as", "prep")
    again = summaries.export_assessment(eva, as_("prep"), other).model_dump(mode="json")
    assert again == data


def test_the_cli_prints_the_summary_in_each_format_and_language(eva: Eva, world: World) -> None:
    pid = assessed(eva)
    text = run(eva, "export", "summary", str(pid), "--as", "prep", "--language", "sv").stdout
    assert text.startswith("Förhandsbedömning av konsekvenser: Testiesitys")
    page = run(
        eva, "export", "summary", str(pid), "--as", "prep", "--format", "html", "--language", "fi"
    ).stdout
    assert '<html lang="fi">' in page
    assert "<h2>Keskeiset vaikutukset</h2>" in page
    run(eva, "export", "summary", str(pid), "--language", "de", code=2)


def test_the_cli_applies_the_proposal_access_rules(eva: Eva, world: World) -> None:
    pid = assessed(eva, Publicity.CONFIDENTIAL, GROUND)
    run(eva, "export", "summary", str(pid), "--as", "outsider", code=3)
    run(eva, "export", "assessment", str(pid), "--as", "outsider", code=3)
    run(eva, "export", "summary", str(pid), "--as", "sec_tek", code=3)  # no grant for HYVLTK
    run(eva, "export", "summary", "99999", "--as", "prep", code=3)
    with pytest.raises(NotFound):
        summaries.export_assessment(eva, as_("sec_tek"), pid)
    assert run(eva, "export", "summary", str(pid), "--as", "director").stdout


# the download routes ----------------------------------------------------------------------------
@pytest.fixture
def app(eva: Eva, world: World) -> Flask:
    for user in ("prep", "outsider", "sec_tek", "director"):
        accounts.set_password(eva, OPERATOR, user, PASSWORD)
    settings = Settings.from_env({"EVA_DATABASE_URL": "sqlite://", "EVA_ENV": "test"})
    return create_app(settings, engine=eva, TESTING=True)


def client_for(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    login(client, username)
    return client


def test_the_routes_download_the_summary_and_the_assessment(eva: Eva, app: Flask) -> None:
    pid = assessed(eva)
    client = client_for(app, "prep")
    page = client.get(f"/proposals/{pid}/summary.html?lang=sv")
    assert page.status_code == 200
    assert page.content_type == "text/html; charset=utf-8"
    assert f'filename="eva-{pid}-summary-sv.html"' in page.headers["Content-Disposition"]
    assert '<html lang="sv">' in page.get_data(as_text=True)
    text = client.get(f"/proposals/{pid}/summary.txt?lang=fi")
    assert text.content_type == "text/plain; charset=utf-8"
    assert "Keskeiset vaikutukset" in text.get_data(as_text=True)
    default = client.get(f"/proposals/{pid}/summary.txt").get_data(as_text=True)
    assert default.startswith("Vaikutusten ennakkoarviointi")  # the UI's language
    document_json = client.get(f"/proposals/{pid}/assessment.json")
    assert document_json.content_type == "application/json"
    parsed = documents.parse_document(document_json.get_data(as_text=True))
    assert parsed.summary == "Yhteenveto."
    assert client.get(f"/proposals/{pid}/summary.txt?lang=de").status_code == 400


def test_the_routes_need_a_login_and_the_proposal_access(eva: Eva, app: Flask) -> None:
    pid = assessed(eva, Publicity.CONFIDENTIAL, GROUND)
    for suffix in ("summary.html", "summary.txt", "assessment.json"):
        url = f"/proposals/{pid}/{suffix}"
        assert app.test_client().get(url).status_code == 302  # to the login
        assert client_for(app, "outsider").get(url).status_code == 404
        assert client_for(app, "sec_tek").get(url).status_code == 404
        assert client_for(app, "director").get(url).status_code == 200
    refused = client_for(app, "director").get(f"/proposals/{pid}/summary.html?public=1")
    assert refused.status_code == 403
    assert "sillä ei ole julkista yhteenvetoa" in refused.get_data(as_text=True)  # in Finnish


def test_a_public_download_of_a_partly_confidential_proposal_leaves_out_the_secrets(
    eva: Eva, app: Flask
) -> None:
    pid = assessed(eva, Publicity.PARTLY_CONFIDENTIAL, GROUND, secret_texts=True)
    client = client_for(app, "prep")
    for suffix in ("summary.html", "summary.txt"):
        body = client.get(f"/proposals/{pid}/{suffix}?lang=fi&public=1").get_data(as_text=True)
        assert not [s for s in SECRETS if s in body or html.escape(s) in body]
        assert "Julkinen versio" in body
    internal = client.get(f"/proposals/{pid}/summary.txt?lang=fi").get_data(as_text=True)
    assert "SALAINEN-PERUSTELU" in internal
    public_pid = assessed(eva)
    assert client_for(app, "sec_tek").get(f"/proposals/{public_pid}/summary.txt").status_code == 200


def test_the_proposal_page_links_to_the_summary_downloads(eva: Eva, world: World) -> None:
    from tests.builders import OPERATOR, proposal_in  # noqa: PLC0415

    pid = proposal_in(eva, "review")
    accounts.set_password(eva, OPERATOR, "prep", PASSWORD)
    settings = Settings.from_env({"EVA_DATABASE_URL": "sqlite://", "EVA_ENV": "test"})
    client = create_app(settings, engine=eva, TESTING=True).test_client()
    login(client, "prep")
    html = client.get(f"/proposals/{pid}").get_data(as_text=True)
    for link in (
        f"/proposals/{pid}/summary.html?lang=fi",
        f"/proposals/{pid}/summary.html?lang=sv",
        f"/proposals/{pid}/summary.txt?lang=fi",
        f"/proposals/{pid}/assessment.json",
    ):
        assert f'href="{link}"' in html
        response = client.get(link)
        response.close()
        assert response.status_code == 200


def test_the_summary_reads_as_a_page_of_the_ui_with_the_downloads_linked(
    eva: Eva, app: Flask
) -> None:
    pid = assessed(eva)
    page = client_for(app, "prep").get(f"/proposals/{pid}/summary")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Content-Disposition" not in page.headers  # read here, not downloaded
    assert '<article class="eva-summary">' in body
    assert "Keskeiset vaikutukset" in body
    assert 'href="/static/eva.css"' in body  # a page of the UI, with its menu and styles
    assert f'href="/proposals/{pid}/summary.html?lang=fi"' in body
    assert f'href="/proposals/{pid}/summary.txt?lang=fi"' in body
    swedish = client_for(app, "prep").get(f"/proposals/{pid}/summary?lang=sv")
    assert '<div lang="sv">' in swedish.get_data(as_text=True)
    assert client_for(app, "prep").get(f"/proposals/{pid}/summary?lang=de").status_code == 400


def test_the_summary_page_has_the_proposal_access_of_the_downloads(eva: Eva, app: Flask) -> None:
    pid = assessed(eva, Publicity.CONFIDENTIAL, GROUND)
    url = f"/proposals/{pid}/summary"
    assert app.test_client().get(url).status_code == 302  # to the login
    assert client_for(app, "outsider").get(url).status_code == 404
    assert client_for(app, "sec_tek").get(url).status_code == 404
    assert client_for(app, "director").get(url).status_code == 200
