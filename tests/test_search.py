"""Free-text search (issue 13, part 4): case numbers, titles, the texts of the minutes and the
assessment's justifications, on both backends (Finnish and Swedish inflection through the same
Snowball stemmers: PostgreSQL's text search configurations, snowballstemmer in SQLite's FTS5
rows); confidential content found only by those whose
grants cover it; any input, however odd, a search and never an error."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from eva_engine.db import search
from eva_engine.db.search import search_words, stems
from eva_engine.db.stemming import stemmed
from eva_engine.errors import InvalidInput, NotFound
from eva_engine.services.assessment import documents
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.steps import transitions
from eva_engine.vocabulary import Publicity, TextKind
from tests.api_support import api_app, api_as
from tests.builders import OPERATOR, ORG, as_, build_foreign, document, screen
from tests.conftest import World
from tests.test_proposal_texts import write
from tests.test_web import app, login

__all__ = ["api_app", "api_as", "app"]

pytestmark = pytest.mark.postgres  # tsvector and FTS5 differ: both backends

GROUND = "JulkL 24 § 1 mom. 25 k"


def proposal(
    eva: Eva,
    title: str,
    case_number: str,
    *,
    body: str = "HYVLTK",
    publicity: Publicity = Publicity.PUBLIC,
    preparer: str = "prep",
) -> int:
    view = proposal_commands.create_proposal(
        eva,
        as_(preparer),
        proposal_commands.CreateProposal(
            organisation=ORG,
            case_number=case_number,
            title_fi=title,
            body=body,
            presenter="pres",
            publicity=publicity,
            confidentiality_ground=None if publicity == Publicity.PUBLIC else GROUND,
        ),
    )
    return view.id


def found(eva: Eva, q: str, caller: Caller = OPERATOR, **filters: object) -> list[int]:
    page = proposal_queries.list_proposals(eva, caller, ORG, q=q, **filters)  # type: ignore[arg-type]
    assert page.total == len(page.items) or page.next_cursor is not None
    return [p.id for p in page.items]


def test_case_numbers_titles_and_prefixes_are_found(eva: Eva, world: World) -> None:
    library = proposal(eva, "Kirjaston aukioloajat", "311/12.00.00/2026")
    school = proposal(eva, "Koulukuljetusten järjestäminen", "312/05.00.00/2026")
    assert found(eva, "311/12.00.00/2026") == [library]
    assert found(eva, "312") == [school]
    assert found(eva, "kirjasto") == [library]  # the genitive in the title, found
    assert found(eva, "koulukulj") == [school]  # a prefix
    assert found(eva, "KOULUKULJETUSTEN järjestäminen") == [school]
    assert found(eva, "kirjasto koulu") == []  # every word must match
    assert found(eva, "uimahalli") == []


def test_finnish_inflection_finds_the_basic_form(eva: Eva, world: World) -> None:
    pid = proposal(eva, "Kirjasto", "313/12.00.00/2026")
    for form in ("kirjastoa", "kirjastossa", "kirjastolla", "kirjaston"):
        assert found(eva, form) == [pid], form


def test_inflected_forms_find_each_other_as_snowball_conflates_them(eva: Eva, world: World) -> None:
    """The word indexed inflected, the query in another form (on SQLite, while it only trimmed
    Finnish endings off the query, "päiväkodit" and the Swedish forms found nothing)."""
    libraries = proposal(eva, "Kirjastojen aukioloajat", "322/12.00.00/2026")
    school = proposal(eva, "Koulun piha", "323/05.00.00/2026")
    daycare = proposal(eva, "Tiedote päiväkodeille", "324/05.00.00/2026")
    write(eva, "prep", school, (TextKind.DECISION_PROPOSAL, "sv", "Skolorna får nya gårdar."))
    assert found(eva, "kirjasto") == [libraries]
    assert found(eva, "kirjastoissa") == [libraries]
    assert found(eva, "koulu") == [school]
    assert found(eva, "kouluissa") == [school]
    assert found(eva, "päiväkodit") == [daycare]
    assert found(eva, "skola") == [school]
    assert found(eva, "skolornas gårdar") == [school]
    # Snowball leaves consonant gradation alone: päiväkoti (päiväkot) is not päiväkodeille
    # (päiväkod), on PostgreSQL as on SQLite.
    assert found(eva, "päiväkoti") == []


def test_the_texts_of_the_minutes_and_swedish_texts_are_found(eva: Eva, world: World) -> None:
    pid = proposal(eva, "Jäsenyys", "314/00.00.00/2026")
    write(
        eva,
        "prep",
        pid,
        (TextKind.GROUNDS, "fi", "Terve Kunta -verkostoa koordinoi Terveyden laitos."),
        (TextKind.DECISION_PROPOSAL, "sv", "Välfärdsnämnden beslutar ansöka om medlemskap."),
    )
    assert found(eva, "verkosto") == [pid]
    assert found(eva, "välfärdsnämnden") == [pid]
    assert found(eva, "medlemskap") == [pid]
    write(eva, "prep", pid, (TextKind.GROUNDS, "fi", "Toinen perustelu."))  # rewritten
    assert found(eva, "verkosto") == []
    assert found(eva, "perustelu") == [pid]


def test_assessment_justifications_are_found(eva: Eva, world: World) -> None:
    pid = proposal(eva, "Palveluverkko", "315/00.00.00/2026")
    transitions.fire(eva, as_("prep"), pid, "start_screening")
    screen(eva, pid)
    transitions.fire(eva, as_("prep"), pid, "begin_assessment")
    doc = document(eva)
    answers = [
        a.model_copy(update={"justification": "Lähikirjaston lakkauttaminen pidentää matkoja."})
        if n == 0
        else a
        for n, a in enumerate(doc.answers)
    ]
    documents.import_assessment(eva, as_("prep"), pid, doc.model_copy(update={"answers": answers}))
    assert found(eva, "lakkauttaminen") == [pid]
    assert found(eva, "matkoja") == [pid]


def test_confidential_content_is_found_only_by_those_whose_grants_cover_it(
    eva: Eva, world: World
) -> None:
    public = proposal(eva, "Yleinen asia", "316/00.00.00/2026")
    secret = proposal(eva, "Salainen asia", "317/00.00.00/2026", publicity=Publicity.CONFIDENTIAL)
    write(eva, "prep", secret, (TextKind.GROUNDS, "fi", "Lastensuojeluilmoitus perheestä."))
    write(eva, "prep", public, (TextKind.GROUNDS, "fi", "Perheiden palvelut."))
    tek = proposal(
        eva,
        "Salainen tekninen asia",
        "318/00.00.00/2026",
        body="TEKLTK",
        publicity=Publicity.CONFIDENTIAL,
        preparer="tek",
    )
    # sec_tek's grants cover TEKLTK only; aud's the whole organisation
    for q in ("lastensuojeluilmoitus", "317/00.00.00/2026", "salainen asia"):
        page = proposal_queries.list_proposals(eva, as_("sec_tek"), ORG, q=q)
        assert [p.id for p in page.items if p.id == secret] == []
        assert secret not in [p.id for p in page.items]
    narrow = proposal_queries.list_proposals(eva, as_("sec_tek"), ORG, q="lastensuojeluilmoitus")
    assert (narrow.items, narrow.total) == ([], 0)  # not even counted
    assert found(eva, "salainen", as_("sec_tek")) == [tek]
    assert found(eva, "perhe", as_("sec_tek")) == [public]
    assert found(eva, "lastensuojeluilmoitus", as_("aud")) == [secret]
    assert sorted(found(eva, "perhe", as_("aud"))) == [public, secret]
    assert sorted(found(eva, "salainen", as_("aud"))) == [secret, tek]


def test_a_search_never_reaches_another_organisation(eva: Eva, world: World) -> None:
    build_foreign(eva)
    with eva.uow() as uow:
        other = uow.session.execute(text("SELECT case_number FROM proposals")).scalars().all()
    assert other
    assert found(eva, other[0]) == []
    with pytest.raises(NotFound):
        proposal_queries.list_proposals(eva, as_("outsider"), ORG, q="testi")


@pytest.mark.parametrize(
    "q",
    [
        '"',
        "'",
        "kirjasto*",
        "*",
        "kirjasto AND",
        "AND OR NOT",
        "(kirjasto",
        "kirjasto)",
        "NEAR(kirjasto koulu)",
        "kirjasto:*",
        "a & b | !c",
        "title:kirjasto",
        "^kirjasto",
        '""kirjasto""',
        "kirjasto -koulu",
        "\\",
        "%_",
        "ja och",
        "§ 26",
        "€",
    ],
)
def test_odd_input_is_searched_never_an_error(eva: Eva, world: World, q: str) -> None:
    pid = proposal(eva, "Kirjaston aukioloajat", "319/12.00.00/2026")
    hits = found(eva, q)
    assert hits in ([], [pid])
    if "kirjasto" in q and not any(w in q for w in ("koulu", "title")):
        assert hits == [pid], q


def test_ranking_filters_and_pages(eva: Eva, world: World) -> None:
    first = proposal(eva, "Liikuntapaikat", "320/00.00.00/2026")
    best = proposal(eva, "Liikunta liikunta liikunta", "321/00.00.00/2026", body="KH")
    write(eva, "prep", first, (TextKind.GROUNDS, "fi", "Liikunta."))
    assert sorted(found(eva, "liikunta")) == sorted([first, best])
    assert found(eva, "liikunta", body="KH") == [best]
    page = proposal_queries.list_proposals(eva, OPERATOR, ORG, q="liikunta", limit=1)
    assert page.total == 2
    assert page.next_cursor is not None
    rest = proposal_queries.list_proposals(
        eva, OPERATOR, ORG, q="liikunta", limit=1, cursor=page.next_cursor
    )
    assert {page.items[0].id, rest.items[0].id} == {first, best}
    assert rest.next_cursor is None


def test_a_long_query_is_refused_with_a_message(eva: Eva, world: World) -> None:
    with pytest.raises(InvalidInput) as refused:
        proposal_queries.list_proposals(eva, OPERATOR, ORG, q="kirjasto " * 40)
    assert refused.value.problems[0].location == "q"


def test_query_words() -> None:
    assert search_words('"kirjasto" AND (koulu*)').words == ("kirjasto", "koulu")
    assert search_words("and Kirjasto").words == ("and", "kirjasto")  # a word, not an operator
    assert search_words("*()\"'").empty
    assert stems("kirjastoissa") == ("kirjasto",)  # fi; covers sv "kirjastoiss" and as typed
    assert stems("skolorna") == ("skol",)  # sv; covers fi "skolor"
    assert stems("skolan") == ("skola",)  # fi; sv leaves it "skolan"
    assert stems("päiväkotien") == ("päiväkot",)
    assert stems("matkoja") == ("matko",)  # fi; covers sv "matkoj"
    assert stems("2026") == ("2026",)
    assert stems("talo") == ("talo",)


def test_the_fts5_expression(monkeypatch: pytest.MonkeyPatch) -> None:
    assert search._match_expression(search_words("Kirjastojen 2026")) == '"kirjasto"* AND "2026"*'
    # Were a word's stems ever not one another's prefixes, it would match any of them.
    monkeypatch.setattr(search, "stems", lambda word: (word[:3], word[1:]))
    assert search._match_expression(search_words("abcd")) == '("abc"* OR "bcd"*)'


def test_the_stemming_function_of_sqlite() -> None:
    assert stemmed("Kirjastojen ja koulujen AUKIOLOAJAT 2026", "fi") == (
        "kirjasto ja koulu aukioloaj 2026"
    )
    assert stemmed("Skolornas öppettider, 2026", "sv") == "skol öppettid 2026"
    assert stemmed(None, "fi") is None
    assert stemmed("", "sv") == ""
    with pytest.raises(ValueError, match="no stemmer"):
        stemmed("text", "en")


# the channels ------------------------------------------------------------------------------------
def test_the_api_searches_with_q(eva: Eva, world: World, api_as: Any) -> None:
    library = proposal(eva, "Kirjaston aukioloajat", "322/12.00.00/2026")
    secret = proposal(
        eva, "Kirjaston salaisuus", "323/12.00.00/2026", publicity=Publicity.CONFIDENTIAL
    )
    wide = api_as("aud").get(f"/proposals?organisation={ORG}&q=kirjastoa")
    assert wide.status_code == 200
    assert sorted(p["id"] for p in wide.get_json()["items"]) == [library, secret]
    narrow = api_as("sec_tek").get(f"/proposals?organisation={ORG}&q=kirjastoa")
    assert [p["id"] for p in narrow.get_json()["items"]] == [library]
    odd = api_as("aud").get(f"/proposals?organisation={ORG}&q=%22%28*%20AND")
    assert odd.status_code == 200
    long = api_as("aud").get(f"/proposals?organisation={ORG}&q=" + "x" * 201)
    assert long.status_code == 422


def test_the_list_page_has_a_search_box(eva: Eva, world: World, app: Flask) -> None:
    library = proposal(eva, "Kirjaston aukioloajat", "324/12.00.00/2026")
    proposal(eva, "Koulukuljetukset", "325/12.00.00/2026")
    client = app.test_client()
    login(client, "sec")
    page = client.get("/proposals/?q=kirjastossa").get_data(as_text=True)
    assert 'type="search" id="q" name="q" value="kirjastossa"' in page
    assert f'href="/proposals/{library}"' in page
    assert "Koulukuljetukset" not in page
    odd = client.get("/proposals/?q=%22%28NEAR")
    assert odd.status_code == 200


def test_imported_cases_are_found_at_once(eva: Eva, world: World) -> None:
    """The bulk import writes through the session: the same commit indexes every case."""
    from tests.test_import import do_import  # noqa: PLC0415 - only here

    report = do_import(eva, "cases-good.csv", source_system="dynasty")
    ids = {c.external_id: c.proposal_id for c in report.created}
    assert found(eva, "liikuntapaikka") == [ids["D-2026-101"]]  # the title, inflected
    assert found(eva, "idrottsplatsernas") == [ids["D-2026-101"]]  # the Swedish title
    assert found(eva, "talvikaudella") == [ids["D-2026-101"]]  # the description
    assert found(eva, "102/05.00.00/2026") == [ids["D-2026-102"]]
    assert found(eva, "sijoituspaikka", as_("sec_tek")) == []  # confidential, not covered
    assert found(eva, "sijoituspaikka", as_("aud")) == [ids["D-2026-103"]]
