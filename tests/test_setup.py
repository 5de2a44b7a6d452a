"""A new municipality in minutes (issue 13, part 7): ``eva setup`` on a fresh database creates
the organisation, its bodies, its case-number pattern, the first administrator and publishes
the standard workflow, so that the first proposal is accepted at once; then the Virrat case is
entered through the command line with Finnish dates, its texts and a duplicate case number
that is warned of, not refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from eva_engine.config import Settings
from eva_engine.services.people import accounts
from eva_engine.services.runtime import Eva as Runtime
from tests.test_cli import Eva, eva_cli
from tests.test_proposal_texts import DECISION, GROUNDS, PROPOSAL

__all__ = ["eva_cli"]

PASSWORD = "pitkä-salasana-2026"  # noqa: S105 - a test password


def set_up_virrat(eva: Eva) -> dict[str, object]:
    found: dict[str, object] = eva.json(
        "setup",
        "--code",
        "virrat",
        "--name-fi",
        "Virtain kaupunki",
        "--body",
        "HYVLTK=Hyvinvointilautakunta",
        "--body",
        "KH=Kaupunginhallitus=executive_board",
        "--admin",
        "paakayttaja",
        "--admin-name",
        "Pää Käyttäjä",
        "--password",
        PASSWORD,
    )
    return found


def test_setup_on_a_fresh_database_makes_the_first_proposal_possible(
    eva_cli: Eva, tmp_path: Path
) -> None:
    eva = eva_cli
    report = set_up_virrat(eva)
    assert report["organisation"] == "virrat"
    assert report["bodies"] == ["HYVLTK", "KH"]
    assert report["workflows"] == ["eva-standard v4"]
    assert report["published"] == ["eva-standard v4"]
    # The administrator logs in with the password and sets the people up.
    for user, role in [("minna", "preparer"), ("minna", "presenter"), ("sihteeri", "secretary")]:
        if role != "presenter":
            eva("users", "create", user, "--name", user.title(), "--org", "virrat", "--as",
                "paakayttaja")  # fmt: skip
        eva("users", "grant", user, role, "--org", "virrat", "--body", "HYVLTK", "--as",
            "paakayttaja")  # fmt: skip
    created = eva.json(
        "proposals",
        "create",
        "--org",
        "virrat",
        "--case",
        "257/05.00.00/2023",
        "--title-fi",
        "Hakemus Terve Kunta-verkostoon",
        "--body",
        "HYVLTK",
        "--presenter",
        "minna",
        "--as",
        "minna",
    )
    assert created["state"] == "draft"
    assert created["warnings"] == []
    # A meeting on the day as a Finn types it, in Finnish time.
    meeting = eva.json(
        "meetings", "create", "virrat", "HYVLTK", "--at", "13.6.2023 klo 17.00", "--as", "sihteeri"
    )
    starts = datetime.fromisoformat(str(meeting["starts_at"]))
    assert starts == datetime(2023, 6, 13, 14, 0, tzinfo=UTC)  # 17.00 in Helsinki, UTC+3
    # The texts through the CLI: the grounds from a file, the decision proposal as text.
    grounds = tmp_path / "perustelut.txt"
    grounds.write_text(GROUNDS, encoding="utf-8")
    pid = str(created["id"])
    eva("proposals", "texts", "set", pid, "grounds", "--file", str(grounds), "--as", "minna")
    eva("proposals", "texts", "set", pid, "decision_proposal", "--text", PROPOSAL, "--as", "minna")
    refused = eva(
        "proposals", "texts", "set", pid, "decision", "--text", DECISION, "--as", "sihteeri",
        code=7,
    )  # fmt: skip
    assert "it can be written in: Decided, In follow-up" in refused.stderr  # states by title
    shown = eva("--language", "en", "proposals", "texts", "show", pid, "--as", "minna").stdout
    assert "Liitteenä hakemus" in shown
    assert (
        "You may write now: Presentation text (grounds), Decision proposal (decision_proposal)."
        in shown
    )
    summary = eva("export", "summary", pid, "--format", "text", "--as", "minna").stdout
    assert PROPOSAL in summary
    history = eva("history", pid).stdout
    assert "Pöytäkirjan teksti: luotu" in history  # the text of the minutes, created
    # by its kind and language, never its ids
    assert "Pöytäkirjan teksti: luotu · Pöytäkirjan teksti: Esittelyteksti (suomi)" in history
    assert "Laji: Päätösehdotus" in history
    assert "Kieli: suomi" in history
    assert "grounds" not in history
    eva("audit", "verify")


def test_the_administrator_made_by_setup_can_log_in(eva_cli: Eva) -> None:
    set_up_virrat(eva_cli)
    runtime = Runtime.from_settings(_settings(eva_cli.url))
    try:
        assert accounts.authenticate(runtime, "paakayttaja", PASSWORD) is not None
    finally:
        runtime.database.dispose()


def test_setup_asks_what_it_is_not_given(eva_cli: Eva) -> None:
    from eva_engine.cli import cli  # noqa: PLC0415

    answers = "\n".join(
        [
            "kuusamo",  # code
            "Kuusamon kaupunki",  # name
            "admin",  # username
            "Anna Admin",  # name
            PASSWORD,
            PASSWORD,
            "KH=Kaupunginhallitus=executive_board, SIVLTK=Sivistyslautakunta",  # bodies
        ]
    )
    result = eva_cli.runner.invoke(
        cli, ["setup"], input=answers + "\n", env={"EVA_DATABASE_URL": eva_cli.url}
    )
    assert result.exit_code == 0, (result.output, result.stderr)
    assert "Organisation kuusamo is set up" in result.stdout
    assert "bodies KH, SIVLTK" in result.stdout


def test_setup_asks_in_finnish(eva_cli: Eva) -> None:
    from eva_engine.cli import cli  # noqa: PLC0415

    answers = ["taivalkoski", "Taivalkosken kunta", "admin", "Anna Admin", PASSWORD, PASSWORD]
    result = eva_cli.runner.invoke(
        cli,
        ["--language", "fi", "setup"],
        input="\n".join([*answers, "KH=Kunnanhallitus=executive_board"]) + "\n",
        env={"EVA_DATABASE_URL": eva_cli.url},
    )
    assert result.exit_code == 0, (result.output, result.stderr)
    for question in (
        "Organisaation tunnus (pienin kirjaimin, esim. virrat)",
        "Nimi suomeksi",
        "Ensimmäisen pääkäyttäjän käyttäjätunnus",
        "Pääkäyttäjän nimi",
        "Pääkäyttäjän salasana",
        "Toista vahvistukseksi",
        "Toimielimet (TUNNUS=nimi[=laji], pilkuin erotettuina)",
    ):
        assert question in result.output
    for english in ("Organisation code", "administrator", "Repeat for confirmation", "Bodies"):
        assert english not in result.output


def test_setup_refuses_an_existing_organisation_and_a_short_password(eva_cli: Eva) -> None:
    set_up_virrat(eva_cli)
    again = eva_cli(
        "setup", "--code", "virrat", "--name-fi", "Virrat", "--body", "KH=Kaupunginhallitus",
        "--admin", "toinen", "--admin-name", "Toinen", "--password", PASSWORD, code=5,
    )  # fmt: skip
    assert "exists already" in again.stderr
    short = eva_cli(
        "setup", "--code", "ruovesi", "--name-fi", "Ruovesi", "--body", "KH=Kunnanhallitus",
        "--admin", "r.admin", "--admin-name", "R", "--password", "lyhyt", code=7,
    )  # fmt: skip
    assert "password" in short.stderr
    assert eva_cli.json("workflows", "list")  # the first setup's publication stays


def test_a_duplicate_case_number_is_accepted_with_a_warning_on_the_command_line(
    eva_cli: Eva,
) -> None:
    eva = eva_cli
    set_up_virrat(eva)
    eva("users", "grant", "paakayttaja", "preparer", "--org", "virrat")
    eva("users", "grant", "paakayttaja", "presenter", "--org", "virrat")
    args = ["proposals", "create", "--org", "virrat", "--case", "257/05.00.00/2023",
            "--title-fi", "Hakemus", "--body", "HYVLTK", "--presenter", "paakayttaja",
            "--as", "paakayttaja"]  # fmt: skip
    first = eva(*args)
    assert "Warning" not in first.stderr
    second = eva(*args)
    assert second.exit_code == 0
    assert "Warning: case_number: proposal 1 of HYVLTK has the case number" in second.stderr
    other_body = eva(*[a if a != "HYVLTK" else "KH" for a in args])
    assert "Warning" not in other_body.stderr


def _settings(url: str) -> Settings:
    return Settings.from_env({"EVA_DATABASE_URL": url})
