"""Every message a person reads is in their language and from the catalogs: a form's errors all
at once, each at its own field and linked from the error summary; API problems by
Accept-Language; the command line by --language or the locale. A message the Finnish catalog
does not know (an English sentence, pydantic's own text, a raw exception) fails the test."""

from __future__ import annotations

import functools
import html as markup
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from eva_engine.cli import cli
from eva_engine.cli.output import locale_language
from eva_engine.services.people import users
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.runtime import Eva
from tests.api_support import Api, make_token, problem
from tests.builders import OPERATOR, proposal_in
from tests.test_web import app, csrf, login
from tests.test_web_admin import admin_client

__all__ = ["app"]

TRANSLATIONS = Path(__file__).resolve().parent.parent / "eva_engine" / "translations"
FIELD_ERROR = re.compile(r'<p class="field-error" id="([^"]+)-error">(.*?)</p>', re.DOTALL)
SUMMARY_LINK = re.compile(r'<li><a href="#([^"]+)">(.*?)</a></li>', re.DOTALL)
NEVER = ("String should", "Value error", "Input should", "filling_post", "for_information")


@functools.cache
def catalog(language: str) -> tuple[re.Pattern[str], ...]:
    """Every message of the language's catalog as a pattern its placeholders may fill."""
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        strings = [m.string for m in read_po(source) if m.id and isinstance(m.string, str)]
    return tuple(
        re.compile(re.sub(r"%\\\(\w+\\\)[sd]", ".+?", re.escape(s)), re.DOTALL)
        for s in strings
        if s
    )


def known(text: str, language: str = "fi") -> bool:
    """``text`` is a message of the catalog (with its placeholders filled)."""
    text = " ".join(markup.unescape(re.sub(r"<[^>]+>", "", text)).split())
    return any(p.fullmatch(text) for p in catalog(language))


def field_errors(page: str) -> dict[str, str]:
    """The field errors of a page: field id → the message shown beside the field."""
    out = {}
    for field, shown in FIELD_ERROR.findall(page):
        out[field] = " ".join(re.sub(r"<span[^>]*>.*?</span>", "", shown).split())
    return out


def assert_finnish_errors(page: str) -> None:
    """Every error on the page is a message of the Finnish catalog; none is English or raw."""
    for field, message in field_errors(page).items():
        assert known(message), (field, message)
    for _, item in SUMMARY_LINK.findall(page):
        _label, _, message = markup.unescape(item).partition(": ")
        assert known(message), item
    visible = re.sub(r"<[^>]+>", " ", page)  # what people read (a control's value is not)
    for bad in NEVER:
        assert bad not in visible


def user_form(client: FlaskClient, **data: str) -> dict[str, str]:
    page = client.get("/admin/users/new").get_data(as_text=True)
    return {
        "csrf_token": csrf(page),
        "username": "kelvollinen",
        "full_name": "Kelvollinen",
        "language": "fi",
        "password": "vahva-salasana-2027",
    } | data


def test_a_new_user_with_four_bad_fields_gets_four_finnish_messages_at_once(
    app: Flask, eva: Eva
) -> None:
    client, _ = admin_client(app, eva)
    before = len(users.list_users(eva, OPERATOR))
    response = client.post(
        "/admin/users/new",
        data=user_form(
            client,
            username="Iso Kirjain",
            full_name="",
            email="ei-osoite",
            password="lyhyt",  # noqa: S106 - a test's weak password
        ),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    errors = field_errors(page)
    assert set(errors) == {"username", "full_name", "email", "password"}
    assert "maija.meikalainen" in errors["username"]  # says what to write instead
    assert "sähköpostiosoite" in errors["email"]
    assert "vähintään" in errors["password"]
    links = dict(SUMMARY_LINK.findall(page))
    assert set(links) == {"username", "full_name", "email", "password"}
    assert 'class="error-summary"' in page
    assert "autofocus" in page  # the summary takes the focus
    assert_finnish_errors(page)
    assert len(users.list_users(eva, OPERATOR)) == before


def test_a_taken_username_is_said_at_the_username_in_finnish(app: Flask, eva: Eva) -> None:
    client, _ = admin_client(app, eva)
    page = client.post("/admin/users/new", data=user_form(client, username="prep")).get_data(
        as_text=True
    )
    assert "prep" in field_errors(page)["username"]
    assert_finnish_errors(page)


def test_a_non_public_proposal_without_its_ground_is_told_at_the_ground_field(
    app: Flask, eva: Eva
) -> None:
    client = app.test_client()
    login(client, "prep")
    page = client.get("/proposals/new").get_data(as_text=True)
    response = client.post(
        "/proposals/new",
        data={
            "csrf_token": csrf(page),
            "case_number": "HEL 2024-1",
            "title_fi": "",
            "body": "HYVLTK",
            "presenter": "pres",
            "publicity": "confidential",
            "ground": "",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    errors = field_errors(page)
    assert "salassapitoperuste" in errors["ground"]  # not under the title
    assert "title_fi" in errors  # every problem in the same round trip
    assert "salassapitoperuste" not in errors["title_fi"]
    assert '<a href="#ground">' in page
    assert_finnish_errors(page)
    assert proposal_queries.list_proposals(eva, OPERATOR, "testila").total == 0


def test_a_wrong_case_number_names_the_organisations_format_in_finnish(
    app: Flask, eva: Eva
) -> None:
    client = app.test_client()
    login(client, "prep")
    page = client.get("/proposals/new").get_data(as_text=True)
    page = client.post(
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
    assert "organisaatiosi muodossa" in field_errors(page)["case_number"]
    assert_finnish_errors(page)


def test_an_exempt_screening_names_the_grounds_by_their_finnish_labels(
    app: Flask, eva: Eva
) -> None:
    pid = proposal_in(eva, "screening")
    client = app.test_client()
    login(client, "prep")
    page = client.get(f"/proposals/{pid}/screening").get_data(as_text=True)
    response = client.post(
        f"/proposals/{pid}/screening",
        data={"csrf_token": csrf(page), "outcome": "exempt", "exemption": "", "reason": ""},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    errors = field_errors(page)
    assert "Viran tai toimen täyttäminen" in errors["exemption"]
    assert "perustelu" in errors["reason"]
    assert_finnish_errors(page)


def test_a_step_refused_by_its_guards_is_told_in_finnish(app: Flask, eva: Eva) -> None:
    pid = proposal_in(eva, "screening")
    client = app.test_client()
    login(client, "prep")
    page = client.get(f"/proposals/{pid}").get_data(as_text=True)
    version = re.findall(r'name="version" type="hidden" value="([0-9]+)"', page) or ["1"]
    response = client.post(  # the screening has not been recorded yet: the guards refuse
        f"/proposals/{pid}/transitions/begin_assessment",
        data={"csrf_token": csrf(page), "version": version[0], "reason": ""},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    summary = page.partition('class="error-summary"')[2].partition("</div>")[0]
    items = re.findall(r"<li>(.*?)</li>", summary, re.DOTALL)
    paragraph = re.findall(r"<p>(.*?)</p>", summary, re.DOTALL)
    assert items or paragraph
    for text in paragraph:
        assert known(text), text
    for item in items:  # where (a step of the form) and what is missing
        _where, _, missing = markup.unescape(item).partition(": ")
        assert known(missing), item
    for bad in NEVER:
        assert bad not in page


# the API ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("language", "title", "detail"),
    [
        ("fi", "Ei löytynyt", "Päätösehdotusta 99999 ei ole"),
        ("sv", "Hittades inte", "Beslutsförslaget 99999 finns inte"),
        ("en", "Not found", "There is no proposal 99999"),
    ],
)
def test_an_api_problem_speaks_the_language_of_accept_language(
    app: Flask, eva: Eva, language: str, title: str, detail: str
) -> None:
    api = Api(app.test_client(), make_token(eva, "prep"))
    response = api.get("/proposals/99999", headers={"Accept-Language": f"{language};q=1, de;q=0.5"})
    found = problem(response, 404)
    assert found["title"] == title
    assert found["detail"].startswith(detail)
    assert found["code"] == "not_found"  # the same in every language
    assert response.headers["Content-Language"] == language
    assert known(found["detail"], language)


def test_an_api_input_problem_names_every_field_in_finnish(app: Flask, eva: Eva) -> None:
    api = Api(app.test_client(), make_token(eva, "prep"))
    body = {
        "organisation": "testila",
        "case_number": "",
        "title_fi": "x" * 600,
        "body": "HYVLTK",
        "presenter": "pres",
        "publicity": "confidential",
    }
    found = problem(api.post("/proposals", body, headers={"Accept-Language": "fi"}), 422)
    by_field = {e["location"]: e["detail"] for e in found["errors"]}
    assert set(by_field) >= {"case_number", "title_fi", "confidentiality_ground"}
    assert "salassapitoperuste" in by_field["confidentiality_ground"]
    assert known(found["title"])
    assert known(found["detail"])
    for field, detail in by_field.items():
        assert known(detail), (field, detail)


# the command line -------------------------------------------------------------------------
def run(url: str, *args: str, lang: str = "C.UTF-8") -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={"EVA_DATABASE_URL": url, "LANG": lang})
    return result.exit_code, result.stderr


def test_a_cli_error_is_finnish_with_language_fi_or_a_finnish_locale(
    fresh_databases: object,
) -> None:
    url = fresh_databases.new_url()  # type: ignore[attr-defined]
    assert run(url, "db", "upgrade")[0] == 0
    code, said = run(url, "--language", "fi", "proposals", "show", "99")
    assert code == 3
    assert said.startswith("Virhe: Päätösehdotusta 99 ei ole")
    assert known(said.removeprefix("Virhe: ").strip())
    code, said = run(url, "proposals", "show", "99", lang="fi_FI.UTF-8")
    assert "Päätösehdotusta 99 ei ole" in said
    code, said = run(url, "--language", "sv", "proposals", "show", "99")
    assert "Beslutsförslaget 99 finns inte" in said
    code, said = run(url, "proposals", "show", "99")
    assert said.startswith("Error: There is no proposal 99")


def test_the_locale_names_the_language_of_the_command_line() -> None:
    assert locale_language({"LANG": "fi_FI.UTF-8"}) == "fi"
    assert locale_language({"LC_ALL": "sv_FI.UTF-8", "LANG": "fi_FI.UTF-8"}) == "sv"
    assert locale_language({"LANG": "C.UTF-8"}) == "en"
    assert locale_language({"LANG": "de_DE.UTF-8"}) == "fi"  # eva's own language
    assert locale_language({}) == "en"
