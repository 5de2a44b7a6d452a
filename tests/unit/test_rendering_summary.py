"""The assessment summary rendered by the engine alone (no Flask, no database): a standalone
HTML document and plain text, in Finnish, Swedish and English, with the vocabulary's labels,
the definitions' texts and dates in the language asked for; what people wrote is escaped."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from eva_engine.localized import LocalizedText
from eva_engine.rendering.summary import render_summary
from eva_engine.services.exchange.summaries import (
    AlternativeSummary,
    AreaSummary,
    ImpactCell,
    ImpactRow,
    IndicatorSummary,
    MitigationSummary,
    ScreeningSummary,
    SummaryView,
)
from eva_engine.vocabulary import (
    AffectedGroup,
    Direction,
    Magnitude,
    Publicity,
    ScreeningOutcome,
)

CHILDREN = LocalizedText(fi="Lapset", sv="Barn", en="Children")
QUESTION = LocalizedText(
    fi="Vaikuttaako koulumatkoihin?", sv="Påverkas skolvägar?", en="School trips?"
)


def view(**changes: Any) -> SummaryView:
    chosen = ImpactCell(
        alternative=1,
        direction=Direction("negative"),
        magnitude=Magnitude("significant"),
        duration=None,
        certainty=None,
        affected_groups=[AffectedGroup("children")],
        justification="Matka pitenee <2 km>.",
        evidence_source="Kouluselvitys 2026",
    )
    fields: dict[str, Any] = {
        "proposal_id": 42,
        "organisation": "virrat",
        "case_number": "257/05.00.00/2027",
        "title_fi": "Koulukuljetukset",
        "title_sv": "Skolskjutsar",
        "body": "HYVLTK",
        "body_name_fi": "Hyvinvointilautakunta",
        "body_name_sv": "Välfärdsnämnden",
        "meeting_starts_at": datetime(2027, 3, 1, 14, tzinfo=UTC),
        "section": "§ 12",
        "state": "review",
        "revision": 3,
        "publicity": Publicity.PUBLIC,
        "confidentiality_ground": None,
        "public": False,
        "omitted": False,
        "summary": "Kuljetukset <b>keskitetään</b>.",
        "screening": ScreeningSummary(
            outcome=ScreeningOutcome("light"),
            criteria=[CHILDREN],
            exemption=None,
            reason=None,
            participation_plan=None,
        ),
        "alternatives": [
            AlternativeSummary(position=1, title="Keskitys", description=None, chosen=True),
            AlternativeSummary(position=2, title="Nykytila", description=None, chosen=False),
        ],
        "chosen": 1,
        "areas": [
            AreaSummary(
                area_id="children",
                title=CHILDREN,
                impacts=[
                    ImpactRow(
                        question_id="q1",
                        question=QUESTION,
                        topic=CHILDREN,
                        chosen=chosen,
                        others=[chosen.model_copy(update={"alternative": 2})],
                    )
                ],
                without_impact=2,
            )
        ],
        "mitigations": [
            MitigationSummary(
                question=QUESTION,
                area=CHILDREN,
                alternative=1,
                description="Saattajat pysäkeille.",
                responsible="Sivistystoimi",
            )
        ],
        "mitigations_omitted": 0,
        "indicators": [
            IndicatorSummary(
                name="Koulumatkan pituus",
                source=None,
                responsible="Sivistystoimi",
                due=date(2028, 6, 30),
                question=None,
            )
        ],
        "indicators_omitted": 0,
    }
    return SummaryView(**(fields | changes))


@pytest.mark.parametrize(
    ("language", "title", "impact", "meeting", "due"),
    [
        ("fi", "Koulukuljetukset", "kielteinen, merkittävä", "1.3.2027", "30.6.2028"),
        ("sv", "Skolskjutsar", "negativ, betydande", "1 mars 2027", "30 juni 2028"),
        ("en", "Koulukuljetukset", "negative, significant", "Mar 1, 2027", "Jun 30, 2028"),
    ],
)
def test_the_summary_is_a_standalone_document_in_each_language(
    language: str, title: str, impact: str, meeting: str, due: str
) -> None:
    html = render_summary(view(), "html", language)
    assert html.startswith("<!doctype html>")
    assert f'<html lang="{language}">' in html
    assert f": {title}</h1>" in html
    assert impact in html
    assert CHILDREN.get(language) in html
    assert QUESTION.get(language) in html
    assert meeting in html
    assert due in html
    assert "<script" not in html


def test_what_people_wrote_is_escaped_in_html_and_kept_as_is_in_text() -> None:
    html = render_summary(view(), "html", "fi")
    text = render_summary(view(), "text", "fi")
    assert "Kuljetukset &lt;b&gt;keskitetään&lt;/b&gt;." in html
    assert "Matka pitenee &lt;2 km&gt;." in html
    assert "Kuljetukset <b>keskitetään</b>." in text
    assert "<html" not in text


def test_the_text_version_names_the_screening_alternatives_and_follow_up_in_the_language() -> None:
    text = render_summary(view(), "text", "sv")
    assert text.splitlines()[0] == "Förhandsbedömning av konsekvenser: Skolskjutsar"
    assert "Välfärdsnämnden, 1 mars 2027 § 12" in text
    assert "- Barn" in text
    assert "Saattajat pysäkeille." in text
    assert "Koulumatkan pituus" in text
    assert "30 juni 2028" in text


def test_a_public_version_says_what_was_left_out() -> None:
    public = view(
        publicity=Publicity.PARTLY_CONFIDENTIAL,
        confidentiality_ground="JulkL 24 § 1 mom. 25 k",
        public=True,
        omitted=True,
        mitigations=[],
        mitigations_omitted=1,
    )
    fi = render_summary(public, "text", "fi")
    en = render_summary(public, "text", "en")
    assert "JulkL 24 § 1 mom. 25 k" in fi
    assert "Left out of the public version." in en
    assert "Left out of the public version." not in fi


def test_a_language_eva_does_not_have_is_refused() -> None:
    with pytest.raises(ValueError, match="de"):
        render_summary(view(), "text", "de")
