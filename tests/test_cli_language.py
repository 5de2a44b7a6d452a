"""Every message a person reads is in their language, on the command line too: what ``eva``
prints for a person (headers, labels, states and task kinds by the workflow's titles, impact
areas by the checklists', people by name, dates as the language writes them) follows
``--language`` (fi, sv, en); the ids a person types back (a proposal's number, a follow-up's,
a step's trigger) stay, and ``--json`` stays the views in English keys."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from eva_engine.cli import cli
from eva_engine.cli.words import Words
from eva_engine.config import default_workflows_dir
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database
from eva_engine.localized import LocalizedText
from eva_engine.rendering.labels import Glossary
from eva_engine.services.attachments import commands as attachment_commands
from eva_engine.services.proposals import texts as proposal_texts
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import TextKind
from eva_engine.workflow.loader import load_catalogue
from tests.audit_support import chain_id, triggers_bypassed
from tests.builders import ORG, as_, build_world, meeting_id, proposal_in
from tests.conftest import FreshDatabase, World, publish_workflows
from tests.exchange_support import run
from tests.test_follow_up import decided

# A snake_case id (a state's, a task kind's, an area's), as the definitions name them.
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
# A trigger a person types back (``eva proposals fire PID TRIGGER``), shown in brackets.
TRIGGER = re.compile(r"\([a-z][a-z0-9_]*\)")
# A date as Finns write it, with the time: 15.12.2026 klo 18.00.
FINNISH_TIME = re.compile(r"\b\d{1,2}\.\d{1,2}\.\d{4} klo \d{1,2}\.\d{2}\b")


def glossary() -> Glossary:
    return Glossary.of(load_catalogue(default_workflows_dir()).bundles.values())


def title(table: dict[str, LocalizedText], key: str, language: str = "fi") -> str:
    return table[key].get(language)


def no_ids(text: str) -> list[str]:
    """The snake_case ids left in ``text`` (not counting the triggers a person types back)."""
    return SNAKE.findall(TRIGGER.sub("", text))


def say(eva: Eva, language: str, *args: str) -> str:
    return run(eva, "--language", language, *args).stdout


def test_the_proposal_list_reads_in_finnish_and_in_swedish(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "review")
    words = glossary()
    finnish = say(eva, "fi", "proposals", "list", "--org", "testila", "--as", "prep")
    header = finnish.splitlines()[0]
    for label in ("Nro", "Asianumero", "Toimielin", "Tila", "Valmistelija", "Otsikko"):
        assert label in header
    for english in ("Case number", "Body", "State", "Title", " of "):
        assert english not in finnish
    row = next(line for line in finnish.splitlines() if line.lstrip().startswith(str(pid)))
    assert title(words.states, "review") in row  # Tarkastettavana, not the state's id
    assert re.search(r"\breview\b", row) is None
    assert "Prep" in row  # the preparer by name
    assert no_ids(finnish) == []
    swedish = say(eva, "sv", "proposals", "list", "--org", "testila", "--as", "prep")
    assert "Diarienummer" in swedish
    assert "Skede" in swedish
    assert title(words.states, "review", "sv") in swedish
    english = say(eva, "en", "proposals", "list", "--org", "testila", "--as", "prep")
    assert "Case number" in english
    assert title(words.states, "review", "en") in english


def test_a_proposal_shows_its_state_screening_areas_and_tasks_in_finnish(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "review")
    words = glossary()
    shown = say(eva, "fi", "proposals", "show", str(pid), "--as", "sec")
    assert f"Päätösehdotus {pid}: " in shown
    assert f"Tila: {title(words.states, 'review')}" in shown
    assert "Valmistelija: Prep (prep)" in shown  # a person by name, with the username
    assert "Esittelijä: Pres (pres)" in shown
    assert "Julkisuus: julkinen" in shown
    assert "Tarveharkinta: kevyt arviointi" in shown
    assert f"Tehtävä: {title(words.kinds, 'review')}" in shown  # the task kind's title
    assert title(words.areas, "living_environment") in shown  # an impact area by its title
    for english in ("state ", "body ", "preparer ", "publicity ", "screening:", "assignment "):
        assert english not in shown
    assert no_ids(shown) == []
    assert "(pass_review)" in shown  # the trigger to type back, beside the step's title
    swedish = say(eva, "sv", "proposals", "show", str(pid), "--as", "sec")
    assert f"Skede: {title(words.states, 'review', 'sv')}" in swedish
    assert "Beredare: Prep (prep)" in swedish
    assert title(words.areas, "living_environment", "sv") in swedish


def test_json_stays_the_view_in_english_keys(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "review")
    data = json.loads(say(eva, "fi", "--json", "proposals", "show", str(pid), "--as", "sec"))
    assert (data["state"], data["preparer"], data["publicity"]) == ("review", "prep", "public")
    assert "preparer_name" not in data
    assert "assignee_name" not in data["assignments"][0]
    listed = json.loads(say(eva, "fi", "--json", "proposals", "list", "--org", "testila"))
    assert "preparer_name" not in listed["items"][0]


def test_the_texts_of_the_minutes_read_in_finnish_and_swedish(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "assessment")
    proposal_texts.write_texts(
        eva,
        as_("prep"),
        proposal_texts.WriteTexts(
            proposal_id=pid,
            texts=[proposal_texts.TextIn(kind=TextKind.GROUNDS, content="Perustelut.")],
        ),
    )
    words = glossary()
    finnish = say(eva, "fi", "proposals", "texts", "show", str(pid), "--as", "prep")
    assert title(words.states, "assessment") in finnish.splitlines()[0]
    assert "[Esittelyteksti suomeksi, Prep, " in finnish  # the writer by name
    assert FINNISH_TIME.search(finnish)
    assert "Voit nyt kirjoittaa: Esittelyteksti (grounds)" in finnish
    for english in ("state ", "You may write", "grounds fi"):
        assert english not in finnish
    data = json.loads(
        say(eva, "fi", "--json", "proposals", "texts", "show", str(pid), "--as", "prep")
    )
    assert data["texts"][0]["written_by"] == "prep"  # the API's field as it was
    assert "written_by_name" not in data["texts"][0]
    swedish = say(eva, "sv", "proposals", "texts", "show", str(pid), "--as", "prep")
    assert "[Föredragningstext på finska, Prep, " in swedish
    assert "Du kan nu skriva: " in swedish


def test_a_meetings_agenda_reads_in_finnish(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "on_agenda")
    meeting = meeting_id(eva)
    words = glossary()
    shown = say(eva, "fi", "meetings", "show", str(meeting), "--as", "sec")
    assert shown.startswith(f"Kokous {meeting}: HYVLTK HYVLTK elin, 15.12.2026 klo 18.00")
    assert "Asianumero" in shown
    assert "Pykälä" in shown
    row = next(line for line in shown.splitlines() if f" {pid} " in line)
    assert title(words.states, "on_agenda") in row
    assert "valmis" in row
    assert f"Kenellä: sihteeri ({title(words.kinds, 'record_outcome')})" in shown  # a queue
    assert no_ids(shown) == []
    listed = say(eva, "fi", "meetings", "list", "--as", "sec")
    assert "Kokousaika" in listed
    assert "15.12.2026 klo 18.00" in listed


def test_the_follow_ups_read_in_finnish(eva: Eva, world: World) -> None:
    pid = decided(eva)
    words = glossary()
    listed = say(eva, "fi", "follow-up", "list", str(pid), "--as", "prep")
    assert "avoimia 2, myöhässä 0" in listed
    assert title(words.states, "decided") in listed.splitlines()[0]
    assert "Avoin  Määräaika: " in listed
    assert re.search(r"Määräaika: \d{1,2}\.\d{1,2}\.\d{4}", listed)
    assert "[Prep]" in listed  # who records it, by name
    for english in ("open,", "overdue", " due ", "open  "):
        assert english not in listed
    mine = say(eva, "fi", "follow-up", "list", "--as", "prep")
    assert mine.splitlines()[0].split() == ["Nro", "Määräaika", "Asianumero", "Otsikko", "Mittari"]


def test_the_history_follows_the_language_given_to_eva(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "review")
    words = glossary()
    finnish = say(eva, "fi", "history", str(pid))
    assert "Työnkulun vaihe" in finnish
    assert f"Vaihe: – → {title(words.triggers, 'start_screening')}" in finnish
    assert FINNISH_TIME.search(finnish)
    swedish = say(eva, "sv", "history", str(pid))
    assert "Steg i arbetsflödet" in swedish
    assert title(words.triggers, "start_screening", "sv") in swedish
    assert "Työnkulun vaihe" in run(eva, "history", str(pid)).stdout  # Finnish by default
    own = run(eva, "--language", "sv", "history", str(pid), "--language", "en").stdout
    assert "Workflow step" in own  # the command's own --language wins


def test_the_audit_verification_reads_in_finnish(eva: Eva, world: World) -> None:
    proposal_in(eva, "draft")
    verified = say(eva, "fi", "audit", "verify")
    assert verified.startswith("OK: ")
    assert "tapahtumaa todennettu" in verified
    assert "ketjut ovat eheät" in verified
    assert "events verified" not in verified
    assert "händelser verifierade" in say(eva, "sv", "audit", "verify")


def test_the_attachments_and_comments_read_in_finnish(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "review")
    assert say(eva, "fi", "attachments", "list", str(pid), "--as", "prep") == "Ei liitteitä.\n"
    run(eva, "comments", "add", str(pid), "--text", "Tarkenna.", "--as", "sec")
    listed = say(eva, "fi", "comments", "list", str(pid), "--as", "prep")
    assert "avoimia 1, kaikkiaan 1" in listed
    assert "[Koko arviointi]" in listed
    assert "avoin" in listed
    assert FINNISH_TIME.search(listed)
    assert "Sec: Tarkenna." in listed  # the author by name


@pytest.mark.parametrize(
    ("language", "header"),
    [("fi", ["Nro", "Tila"]), ("sv", ["Nr", "Skede"]), ("en", ["No.", "State"])],
)
def test_a_table_is_headed_in_the_language_and_its_columns_line_up(
    language: str, header: list[str]
) -> None:
    words = Words(language, Glossary())
    lines = words.table(["No.", "State"], [[1, "x"], [12345, None]])
    assert lines[0].split() == header
    assert lines[1].index("x") == lines[0].index(header[1]) == lines[2].index("–")


def test_the_delivery_pass_and_the_users_read_in_finnish(eva: Eva, world: World) -> None:
    delivered = say(eva, "fi", "outbox", "deliver", "--no-scan")
    assert delivered.startswith("haku: määräaika lähellä 0, myöhässä 0; otettu toimitettavaksi ")
    assert "scan:" not in delivered
    listed = say(eva, "fi", "users", "list", "--org", "testila")
    assert listed.splitlines()[0].split() == ["Käyttäjätunnus", "Nimi", "Roolit"]
    assert "sihteeri (testila)" in listed  # roles by their names, not "secretary@testila"
    assert "@" not in listed


def test_the_attachment_list_is_headed_in_finnish_and_names_the_uploader(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "assessment")
    attachment_commands.add_attachment(
        eva,
        as_("prep"),
        attachment_commands.AddAttachment(
            proposal_id=pid, file_name="liite.txt", content=b"liite\n"
        ),
    )
    listed = say(eva, "fi", "attachments", "list", str(pid), "--as", "prep")
    header = listed.splitlines()[0].split()
    assert header[:5] == ["Nro", "Tiedosto", "Tyyppi", "Koko", "Julkisuus"]
    assert "Lisännyt" in header
    row = listed.splitlines()[1]
    assert "liite.txt" in row
    assert "julkinen" in row
    assert "Prep" in row  # who added it, by name
    assert FINNISH_TIME.search(row)
    data = json.loads(say(eva, "fi", "--json", "attachments", "list", str(pid), "--as", "prep"))
    assert data["attachments"][0]["uploaded_by"] == "prep"
    assert "uploaded_by_name" not in data["attachments"][0]


def test_a_tampered_chain_is_reported_in_finnish_with_its_stable_code(
    eva: Eva, world: World
) -> None:
    proposal_in(eva, "review")
    org = chain_id(eva, ORG)
    with triggers_bypassed(eva) as conn:
        conn.execute(
            text("UPDATE audit_events SET reason = 'forged' WHERE chain_id = :c AND seq = 3"),
            {"c": org},
        )
    finnish = run(eva, "--language", "fi", "audit", "verify", code=8).stderr
    assert f"RIKKI tapahtuman 3 kohdalla: organisaation {ORG} ketju: tapahtumaa 3 on muutettu" in (
        finnish
    )
    assert "sen sisältö ei vastaa sen tiivistettä" in finnish
    for english in ("the chain of", "was altered", "does not match"):
        assert english not in finnish
    swedish = run(eva, "--language", "sv", "audit", "verify", code=8).stderr
    assert f"kedjan för {ORG}: händelse 3 har ändrats" in swedish
    english = run(eva, "--language", "en", "audit", "verify", code=8).stderr
    assert f"the chain of {ORG}: event 3 was altered or moved from another chain" in english
    data = json.loads(run(eva, "--language", "fi", "--json", "audit", "verify", code=8).stdout)
    assert data["code"] == "event_altered_or_moved"  # for programs, in any language
    assert data["problem"].startswith(f"the chain of {ORG}: event 3")  # the JSON stays English


def test_a_backup_and_its_restore_report_in_finnish(
    fresh_databases: FreshDatabase, tmp_path: Path
) -> None:
    source = Eva(Database.connect(fresh_databases.new_url()), default_workflows_dir())
    try:
        upgrade(source.database.engine)
        publish_workflows(source)
        build_world(source)
        proposal_in(source, "review")
        url = source.database.engine.url.render_as_string(hide_password=False)
        folder, target = tmp_path / "backup", fresh_databases.new_url()
        env = {"EVA_DATABASE_URL": url, "EVA_AUDIT_KEY": ""}
        made = CliRunner().invoke(
            cli, ["--language", "fi", "backup", "--out", str(folder)], env=env
        )
        assert made.exit_code == 0, made.output
        assert "Huomautus: varmuuskopiossa ei ole tarkistuspistettä: EVA_AUDIT_KEY" in made.stdout
        restored = CliRunner().invoke(
            cli, ["--language", "fi", "restore", str(folder), "--database", target], env=env
        )
        assert restored.exit_code == 0, restored.output
        out = restored.stdout
        assert "  skeema: OK: versiossa " in out
        assert ", uusin" in out
        assert "  rivimäärät: OK: " in out
        assert "kuten varmuuskopiossa" in out
        assert "  lokiketju: OK: " in out
        assert "tapahtumaa todennettu ketjun kärkeen asti" in out
        for english in ("at revision", "rows in", "events verified", "schema:", "counts:"):
            assert english not in out
    finally:
        source.database.dispose()


def test_the_password_prompts_ask_in_finnish(eva: Eva, world: World) -> None:
    new = "uusi-salasana-2026"
    asked = CliRunner().invoke(
        cli,
        ["--language", "fi", "users", "set-password", "prep"],
        obj=eva,
        input=f"{new}\n{new}\n",
    )
    assert asked.exit_code == 0, asked.output
    assert "Uusi salasana: " in asked.output
    assert "Toista vahvistukseksi: " in asked.output
    # Two entries that differ are asked again, in Finnish.
    retried = CliRunner().invoke(
        cli,
        ["--language", "fi", "users", "set-password", "prep"],
        obj=eva,
        input=f"{new}\nväärin-2026\n{new}\n{new}\n",
    )
    assert retried.exit_code == 0, retried.output
    assert "Arvot eivät täsmää: kirjoita ne uudelleen." in retried.output
    assert "do not match" not in retried.output
    assert "Repeat for confirmation" not in asked.output
    assert "New password" not in asked.output
