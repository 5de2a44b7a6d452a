"""The ``eva`` command line, end to end on a real database (committed, not rolled back):
a proposal walked from draft to closed by users in their roles, its history, and the audit
verification passing before and failing after a hand edit of the audit table."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from eva_engine.cli import cli
from eva_engine.config import default_workflows_dir
from eva_engine.vocabulary import ScreeningOutcome
from eva_engine.workflow.loader import load_catalogue
from tests.conftest import FreshDatabase


class Eva:
    """Runs ``eva`` commands against one database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> Result:
        result = self.runner.invoke(cli, list(args), env={"EVA_DATABASE_URL": self.url})
        assert result.exit_code == code, (args, result.output, result.stderr, result.exception)
        if code not in (0, 2):
            assert "Traceback" not in result.output + result.stderr
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self("--json", *args).stdout)


@pytest.fixture
def eva_cli(fresh_databases: FreshDatabase) -> Eva:
    return Eva(fresh_databases.new_url())


def setup_municipality(eva: Eva) -> None:
    eva("db", "upgrade")
    eva("workflows", "publish")
    eva(
        "orgs",
        "create",
        "virrat",
        "--name-fi",
        "Virtain kaupunki",
        "--case-pattern",
        r"\d+/\d{2}\.\d{2}\.\d{2}/\d{4}",
        "--case-example",
        "257/05.00.00/2023",
    )
    eva("bodies", "create", "virrat", "HYVLTK", "--name-fi", "Hyvinvointilautakunta")
    eva("meetings", "create", "virrat", "HYVLTK", "--at", "2023-06-13T16:00+03:00")
    for user, role in [
        ("director", "preparer"),
        ("director", "presenter"),
        ("secretary", "secretary"),
        ("auditor", "auditor"),
    ]:
        if user != "director" or role == "preparer":
            eva("users", "create", user, "--name", user.title(), "--org", "virrat")
        eva("users", "grant", user, role, "--org", "virrat", "--body", "HYVLTK")


def assessment_file(tmp_path: Path) -> Path:
    catalogue = load_catalogue(default_workflows_dir())
    questions = [
        q.id
        for c in catalogue.bundle("eva-standard").checklists
        for _, _, q in c.questions()
        if q.required_for(ScreeningOutcome.LIGHT)
    ]
    doc = {
        "format": "eva.assessment/1",
        "summary": "Verkostoon liittyminen tukee hyvinvointityötä.",
        "alternatives": [
            {"position": 0, "title": "Ei liitytä"},
            {"position": 1, "title": "Liitytään verkostoon", "chosen": True},
        ],
        "answers": [
            {
                "question": q,
                "alternative": a,
                "direction": "positive",
                "magnitude": "minor",
                "justification": "Verkoston tuki.",
            }
            for q in questions
            for a in (0, 1)
        ],
        "follow_up_indicators": [
            {
                "name": "TEAviisari-pisteet",
                "source": "TEAviisari",
                "responsible": "hyvinvointijohtaja",
                "due": "2025-06-30",
            }
        ],
    }
    path = tmp_path / "assessment.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_proposal_is_walked_from_draft_to_closed_through_the_cli_alone(
    eva_cli: Eva, tmp_path: Path
) -> None:
    eva = eva_cli
    setup_municipality(eva)
    created = eva.json(
        "proposals",
        "create",
        "--org",
        "virrat",
        "--case",
        "257/05.00.00/2023",
        "--title-fi",
        "Hakemus Terve Kunta -verkostoon",
        "--body",
        "HYVLTK",
        "--presenter",
        "director",
        "--as",
        "director",
    )
    pid = str(created["id"])
    eva("proposals", "fire", pid, "start_screening", "--as", "director")
    eva(
        "screening",
        "record",
        pid,
        "--outcome",
        "light",
        "--criterion",
        "strategy_goals",
        "--as",
        "director",
    )
    eva("proposals", "fire", pid, "begin_assessment", "--as", "director")
    imported = eva(
        "--language", "en", "assessment", "import", pid, str(assessment_file(tmp_path)),
        "--as", "director",
    )  # fmt: skip
    assert "0 required item(s) still missing" in imported.stdout
    eva("proposals", "fire", pid, "submit_for_review", "--as", "director")
    refused = eva("proposals", "fire", pid, "pass_review", "--as", "director", code=4)
    assert "needs one of the roles secretary, expert" in refused.stderr
    eva("proposals", "fire", pid, "pass_review", "--as", "secretary")
    eva("proposals", "fire", pid, "sign_off", "--as", "director")
    eva("proposals", "schedule", pid, "--meeting", "1", "--as", "secretary")
    eva("proposals", "fire", pid, "place_on_agenda", "--as", "secretary")
    eva("proposals", "fire", pid, "approve", "--as", "secretary")
    eva("proposals", "fire", pid, "start_follow_up", "--as", "director")
    follow_ups = eva.json("follow-up", "list", pid, "--as", "director")["follow_ups"]
    for follow_up in follow_ups:
        eva(
            "follow-up", "waive", str(follow_up["id"]), "--reason", "Ei mitata.", "--as", "director"
        )
    closed = eva("--language", "en", "proposals", "fire", pid, "close", "--as", "director")
    assert "In follow-up → Closed" in closed.stdout  # the states by their titles

    shown = eva.json("proposals", "show", pid, "--as", "auditor")
    assert (shown["state"], shown["section"], shown["outcome"]) == (
        "closed",
        "§ 1/2023",
        "approved",
    )
    events = eva.json("history", pid, "--as", "auditor")
    transitions = [
        (e["actor"], e["after"]["trigger"]) for e in events if e["action"] == "proposal.transition"
    ]
    assert transitions == [
        ("director", "start_screening"),
        ("director", "begin_assessment"),
        ("director", "submit_for_review"),
        ("secretary", "pass_review"),
        ("director", "sign_off"),
        ("secretary", "place_on_agenda"),
        ("secretary", "approve"),
        ("director", "start_follow_up"),
        ("director", "close"),
    ]
    told = eva("history", pid).stdout  # in Finnish, in words
    assert "Työnkulun vaihe" in told
    assert "proposal.transition" not in told
    assert "Vaihe: – → Aloita tarveharkinta" in told  # the step by its title
    assert "Director (valmistelija)" in told  # people by name
    assert "HYVLTK 13.6.2023 klo 16.00" in told  # the meeting, a time as Finns write it
    # Every record created shows what it holds: an answer its question and its impact.
    answer = told.split("Vastaus: luotu · ", 1)[1].split("\n#", 1)[0]
    assert "Suunta: " in answer
    assert "Perustelu: " in answer
    assert re.findall(r"\b\w+:\d+|\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b", told) == []
    english = eva("history", pid, "--language", "en").stdout
    assert "Step: – → Start screening" in english
    assert "Jun 13, 2023 at 4:00" in english

    verified = eva("--language", "en", "audit", "verify")
    assert verified.stdout.startswith("OK: ")
    tamper(eva.url, "UPDATE audit_events SET actor_name = 'nobody' WHERE seq = 20")
    broken = eva("--language", "en", "audit", "verify", code=8)
    assert "BROKEN at event 20" in broken.stderr
    assert (
        "RIKKI tapahtuman 20 kohdalla" in eva("--language", "fi", "audit", "verify", code=8).stderr
    )


def tamper(url: str, statement: str) -> None:
    """A hand edit by someone with database rights, triggers and all."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
            conn.exec_driver_sql(statement)
    else:
        engine = create_engine(parsed.set(drivername="postgresql+psycopg"))
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
            conn.execute(text(statement))
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
    engine.dispose()


@pytest.mark.postgres  # the append-only trigger is PL/pgSQL there
def test_a_hand_edit_is_refused_by_the_database_itself(eva_cli: Eva) -> None:
    setup_municipality(eva_cli)
    engine = create_engine(
        make_url(eva_cli.url).set(
            drivername=("postgresql+psycopg" if eva_cli.url.startswith("postgresql") else "sqlite")
        )
    )
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 1"))
    engine.dispose()
    assert eva_cli("audit", "verify").stdout.startswith("OK: ")


def test_user_mistakes_get_a_message_and_an_exit_code_never_a_traceback(
    eva_cli: Eva, tmp_path: Path
) -> None:
    eva = eva_cli
    setup_municipality(eva)
    assert "no proposal 99" in eva("proposals", "show", "99", code=3).stderr
    assert "no user ghost" in eva("proposals", "fire", "1", "close", "--as", "ghost", code=3).stderr
    wrong_case = eva(
        "proposals",
        "create",
        "--org",
        "virrat",
        "--case",
        "HEL 2024-1",
        "--title-fi",
        "X",
        "--body",
        "HYVLTK",
        "--presenter",
        "director",
        "--as",
        "director",
        code=7,
    )
    assert "case_number" in wrong_case.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "eva.assessment/1",\n "alternatives": [}', encoding="utf-8")
    eva(
        "proposals",
        "create",
        "--org",
        "virrat",
        "--case",
        "1/00.00.00/2024",
        "--title-fi",
        "X",
        "--body",
        "HYVLTK",
        "--presenter",
        "director",
        "--as",
        "director",
    )
    invalid = eva("assessment", "import", "1", str(bad), "--as", "director", code=7)
    assert "line 2, column" in invalid.stderr
    exempt = eva("screening", "record", "1", "--outcome", "exempt", "--as", "director", code=7)
    assert "reason: An exempt screening records its reason" in exempt.stderr
    as_json = eva("--json", "proposals", "fire", "1", "sign_off", "--as", "director", code=6)
    assert json.loads(as_json.stderr)["error"] == "transition_not_allowed"
    assert eva("proposals", "fire", "1", "close", code=2).exit_code == 2  # --as is required


def test_workflow_commands_list_publish_and_draw(eva_cli: Eva) -> None:
    eva = eva_cli
    eva("db", "upgrade")
    assert "Nothing published" in eva("--language", "en", "workflows", "list").stdout
    assert "eva-standard v4" in eva("--language", "en", "workflows", "publish").stdout
    assert "nothing new" in eva("--language", "en", "workflows", "publish").stdout
    assert eva.json("workflows", "list")[0]["version"] == 4
    assert (
        "OK: 1 workflow(s), 8 checklist(s)"
        in eva("--language", "en", "workflows", "validate").stdout
    )
    assert "ei mitään uutta" in eva("--language", "fi", "workflows", "publish").stdout
    diagram = eva("workflows", "diagram").stdout
    assert diagram.startswith("stateDiagram-v2")
    assert "review --> reviewed: pass_review (secretary, expert)" in diagram
    schema = json.loads(eva("assessment", "schema").stdout)
    assert schema["title"] == "AssessmentDocument"


def test_demo_data_and_the_demo_walk_run_and_leave_a_verified_chain(eva_cli: Eva) -> None:
    eva = eva_cli
    eva("db", "upgrade")
    assert "40 proposals" in eva("demo-data").stdout
    assert "not loaded" in eva("demo-data", "--if-empty").stdout
    finnish = eva("--language", "fi", "demo-data", "--if-empty").stdout
    assert finnish == "Esittelyaineistoa ei ladattu: tietokannassa on jo tietoja.\n"
    demo = eva("demo").stdout
    assert "follow_up → closed" in demo
    assert "Audit chain: intact" in demo
    states = {
        p["state"]
        for p in eva.json("proposals", "list", "--org", "esimerkkila", "--limit", "100")["items"]
    }
    assert states >= {
        "draft",
        "screening",
        "assessment",
        "review",
        "reviewed",
        "signed_off",
        "on_agenda",
        "decided",
        "follow_up",
        "closed",
        "withdrawn",
        "rejected",
        "removed",
    }
    virrat = eva.json("proposals", "show", "1")  # the first, in 2023
    assert (virrat["case_number"], virrat["section"], virrat["state"]) == (
        "257/05.00.00/2023",
        "§ 26/2023",
        "closed",
    )
    walked = eva("--language", "fi", "demo").stdout  # the demo in the language asked
    assert "Uusi asia " in walked
    assert "Lokiketju: eheä, " in walked
    assert "Esittelykäyttäjät organisaatiossa 'esimerkkila'" in walked
    for english in ("Walking a new proposal", "Audit chain", "Demo users"):
        assert english not in walked


def test_an_unreachable_database_is_a_message_and_exit_code_nine() -> None:
    eva = Eva("postgresql://postgres@127.0.0.1:9/none")
    result = eva("proposals", "show", "1", code=9)
    assert "The database is unavailable" in result.stderr


def test_the_demo_loads_its_data_first_on_an_empty_database(eva_cli: Eva) -> None:
    eva_cli("db", "upgrade")
    demo = eva_cli("demo").stdout
    assert demo.startswith("No demo data yet: loading it first.")
    assert "answer.create              12 events" in demo


def test_demo_data_is_refused_in_production(eva_cli: Eva) -> None:
    eva_cli("db", "upgrade")
    result = eva_cli.runner.invoke(
        cli, ["demo-data"], env={"EVA_DATABASE_URL": eva_cli.url, "EVA_ENV": "production"}
    )
    assert result.exit_code == 7
    assert "never loaded in production" in result.stderr


def test_passwords_are_set_and_accounts_disabled_from_the_command_line(eva_cli: Eva) -> None:
    setup_municipality(eva_cli)
    eva_cli("users", "set-password", "secretary", "--password", "pitkä-ja-hyvä-salasana")
    weak = eva_cli("users", "set-password", "secretary", "--password", "lyhyt", code=7)
    assert "at least 12 characters" in weak.stderr
    assert (
        "secretary disabled" in eva_cli("--language", "en", "users", "disable", "secretary").stdout
    )
