"""Importing cases from a case-management system's CSV or JSON export: every row checked first,
every bad row named with its line and field, nothing half-imported, no duplicates on re-import,
clear errors for malformed files, the audit history naming the import, and the exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eva_engine.errors import InvalidInput, NotFound, PermissionDenied
from eva_engine.services.exchange import importing
from eva_engine.services.history import trail
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import Publicity
from tests.builders import OPERATOR, as_, meeting_id
from tests.conftest import World
from tests.exchange_support import run, run_json, sample


def do_import(
    eva: Eva,
    name: str,
    user: str | None = "admin",
    **options: object,
) -> importing.ImportReport:
    path = sample(name)
    return importing.import_proposals(
        eva,
        Caller(user, f"import:{path.name}"),
        "testila",
        path.read_bytes(),
        path.name,
        **options,  # type: ignore[arg-type]
    )


def count(eva: Eva) -> int:
    return proposal_queries.list_proposals(eva, OPERATOR, "testila").total


def test_a_good_csv_file_imports_every_case(eva: Eva, world: World) -> None:
    report = do_import(eva, "cases-good.csv", source_system="dynasty")
    assert [c.line for c in report.created] == [2, 3, 5]  # the second case spans two lines
    assert [c.external_id for c in report.created] == ["D-2026-101", "D-2026-102", "D-2026-103"]
    assert report.skipped == []
    assert report.existing == []
    first, second, third = (
        proposal_queries.show(eva, OPERATOR, c.proposal_id or 0) for c in report.created
    )
    assert first.title_sv == "Idrottsplatsernas öppettider"
    assert first.body == "HYVLTK"
    assert first.preparer == "prep"
    assert first.presenter == "pres"
    assert first.state == "draft"
    assert second.meeting_id == meeting_id(eva, "TEKLTK")
    assert third.publicity == Publicity.CONFIDENTIAL
    assert third.confidentiality_ground == "JulkL 24 § 1 mom. 25 k"
    assert [a.kind for a in third.assignments] == ["prepare"]


def test_a_good_json_file_imports_with_its_source_system(eva: Eva, world: World) -> None:
    report = do_import(eva, "cases-good.json", user="prep")
    assert report.source_system == "tweb"
    assert [c.external_id for c in report.created] == ["T-55", "T-56"]
    assert [c.line for c in report.created] == [4, 15]
    view = proposal_queries.show(eva, OPERATOR, report.created[1].proposal_id or 0)
    assert view.preparer == "prep"  # defaults to the importing user
    assert view.publicity == Publicity.PARTLY_CONFIDENTIAL
    assert view.contains_personal_data is True


def test_the_history_records_the_import_as_the_client(eva: Eva, world: World) -> None:
    report = do_import(eva, "cases-good.json", user="prep")
    events = trail.proposal_history(eva, OPERATOR, report.created[0].proposal_id or 0)
    created = next(e for e in events if e.action == "proposal.create")
    assert created.actor == "prep"
    assert created.client == "import:cases-good.json"
    assert created.after is not None
    assert created.after["source_system"] == "tweb"
    assert created.after["external_ref"] == "T-55"


def test_a_file_with_bad_rows_reports_every_one_and_imports_nothing(eva: Eva, world: World) -> None:
    before = count(eva)
    with pytest.raises(InvalidInput) as caught:
        do_import(eva, "cases-bad.csv", user="prep", source_system="dynasty")
    problems = [str(p) for p in caught.value.problems]
    assert 'line 3, field "body": There is no body XYZ in testila. Check the code.' in problems
    assert any(p.startswith('line 4, field "case_number": 123-2026 is not') for p in problems)
    assert any(p.startswith('line 5, field "confidentiality_ground"') for p in problems)
    assert (
        'line 6, field "presenter": There is no active user nobody. Check the username.' in problems
    )
    assert 'line 7, field "external_id": A-1 is also on line 2: import each case once.' in problems
    line8 = {p.split(":")[0] for p in problems if p.startswith("line 8,")}
    assert line8 == {
        'line 8, field "external_id"',
        'line 8, field "title_fi"',
        'line 8, field "publicity"',
        'line 8, field "presenter"',
    }
    assert not any(p.startswith(("line 2,", "line 9,")) for p in problems)
    assert "Nothing was imported: 6 of 8 rows" in caught.value.message
    assert count(eva) == before


def test_skip_invalid_imports_the_good_rows_and_reports_the_others(eva: Eva, world: World) -> None:
    report = do_import(eva, "cases-bad.csv", "prep", source_system="dynasty", skip_invalid=True)
    assert [(c.line, c.external_id) for c in report.created] == [(2, "A-1"), (9, "A-8")]
    assert [s.line for s in report.skipped] == [3, 4, 5, 6, 7, 8]
    assert report.skipped[0].problems[0].location == 'line 3, field "body"'
    assert count(eva) == 2


def test_importing_the_same_file_again_creates_no_duplicates(eva: Eva, world: World) -> None:
    first = do_import(eva, "cases-good.csv", source_system="dynasty")
    again = do_import(eva, "cases-good.csv", source_system="dynasty")
    assert again.created == []
    assert [c.proposal_id for c in again.existing] == [c.proposal_id for c in first.created]
    assert count(eva) == 3
    # the same ids from another source system are other cases
    other = do_import(eva, "cases-good.csv", source_system="cloudnc")
    assert len(other.created) == 3


def test_a_dry_run_checks_everything_and_writes_nothing(eva: Eva, world: World) -> None:
    report = do_import(eva, "cases-good.csv", source_system="dynasty", dry_run=True)
    assert report.dry_run is True
    assert [c.proposal_id for c in report.created] == [None, None, None]
    assert count(eva) == 0
    with pytest.raises(InvalidInput):
        do_import(eva, "cases-bad.csv", "prep", source_system="dynasty", dry_run=True)


@pytest.mark.parametrize(
    ("name", "message", "where"),
    [
        ("cases-latin1.csv", "is not UTF-8 text", "line 2"),
        ("cases-broken.json", "is not valid JSON", "line 1, column 33"),
        ("cases-missing-columns.csv", "the header row cannot be used", "line 1"),
        ("cases-empty.csv", "is empty", "cases-empty.csv"),
    ],
)
def test_malformed_files_give_a_clear_error(
    eva: Eva, world: World, name: str, message: str, where: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        do_import(eva, name, source_system="dynasty")
    assert message in caught.value.message
    assert caught.value.problems[0].location == where
    assert count(eva) == 0


def test_missing_columns_are_named(eva: Eva, world: World) -> None:
    with pytest.raises(InvalidInput) as caught:
        do_import(eva, "cases-missing-columns.csv", source_system="dynasty")
    assert str(caught.value.problems[-1]) == (
        "line 1: Add the missing columns: case_number, presenter."
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (b'{"external_id": "x"}', "line 1"),
        (b"[]", "cases"),
        (b'{"cases": [], "extra": 1}', "line 1"),
        (b"external_id;unknown_column\n1;2\n", "line 1, column 2"),
        (b"external_id;case_number;title_fi;body;presenter\n", "line 2"),
        (b'a;"b\n', "line 1"),
    ],
)
def test_files_that_are_not_case_exports_are_refused(
    eva: Eva, world: World, text: bytes, where: str
) -> None:
    name = "cases.json" if text.startswith((b"{", b"[")) else "cases.csv"
    with pytest.raises(InvalidInput) as caught:
        importing.import_proposals(eva, OPERATOR, "testila", text, name, source_system="x")
    assert caught.value.problems[0].location == where


def test_a_json_case_with_unknown_fields_or_not_an_object_is_a_bad_row(
    eva: Eva, world: World
) -> None:
    text = b'[\n  "just text",\n  {"external_id": "1", "colour": "red"}\n]'
    with pytest.raises(InvalidInput) as caught:
        importing.import_proposals(eva, OPERATOR, "testila", text, "x.json", source_system="x")
    problems = [str(p) for p in caught.value.problems]
    assert problems[0] == "line 2: A case is an object with named fields: correct it."
    assert problems[1].startswith("line 3: Unknown fields: colour;")


def test_columns_without_a_header_are_ignored(eva: Eva, world: World) -> None:
    text = "external_id;case_number;title_fi;body;presenter;\n1;1/05.00.00/2026;A;KH;pres;\n"
    report = importing.import_proposals(
        eva, as_("prep"), "testila", text.encode(), "x.csv", source_system="x"
    )
    assert len(report.created) == 1


def test_the_source_system_is_required(eva: Eva, world: World) -> None:
    with pytest.raises(InvalidInput) as caught:
        do_import(eva, "cases-good.csv")
    assert str(caught.value.problems[0]).startswith(
        'line 2, field "source_system": Give the source system'
    )


def test_who_may_import(eva: Eva, world: World) -> None:
    with pytest.raises(NotFound):
        do_import(eva, "cases-good.csv", user="outsider", source_system="d")
    with pytest.raises(PermissionDenied):
        do_import(eva, "cases-good.csv", user="aud", source_system="d")
    # a preparer of one body only may import cases of that body; scheduling needs a secretary
    with pytest.raises(InvalidInput) as caught:
        do_import(eva, "cases-good.csv", user="tek", source_system="d")
    problems = [str(p) for p in caught.value.problems]
    refused = "Your roles here do not allow this: it needs one of the roles"
    assert any(p.startswith(f'line 2, field "body": {refused} preparer') for p in problems)
    assert any(p.startswith(f'line 3, field "meeting_date": {refused} secretary') for p in problems)
    assert not any(p.startswith('line 3, field "body"') for p in problems)


def test_a_meeting_date_must_be_a_meeting_of_the_body(eva: Eva, world: World) -> None:
    text = (
        b"external_id,case_number,title_fi,body,preparer,presenter,meeting_date\n"
        b"1,1/05.00.00/2026,A,KH,prep,pres,2026-12-16\n"
        b"2,2/05.00.00/2026,B,KH,,pres,huomenna\n"
    )
    with pytest.raises(InvalidInput) as caught:
        importing.import_proposals(eva, OPERATOR, "testila", text, "x.csv", source_system="x")
    assert [str(p) for p in caught.value.problems] == [
        'line 2, field "meeting_date": The body KH has no meeting on 2026-12-16: create it first.',
        'line 3, field "meeting_date": huomenna is not a date: write it like 2026-12-15 or '
        "15.12.2026.",
        'line 3, field "preparer": Name the preparer: the import is not made as a user.',
    ]


# the command line -------------------------------------------------------------------------------
def test_the_cli_imports_and_reports(eva: Eva, world: World) -> None:
    result = run(
        eva, "import", "proposals", str(sample("cases-good.csv")), "--org", "testila",
        "--source", "dynasty", "--as", "admin",
    )  # fmt: skip
    assert "Imported 3 new proposal(s) from cases-good.csv into testila" in result.stdout
    again = run_json(
        eva, "import", "proposals", str(sample("cases-good.csv")), "--org", "testila",
        "--source", "dynasty", "--as", "admin",
    )  # fmt: skip
    assert again["created"] == []
    assert len(again["existing"]) == 3


def test_the_cli_exit_codes(eva: Eva, world: World, tmp_path: Path) -> None:
    bad = str(sample("cases-bad.csv"))
    args = ("import", "proposals", bad, "--org", "testila", "--source", "d", "--as", "prep")
    failed = run(eva, *args, code=7)
    assert "Error: Nothing was imported: 6 of 8 rows" in failed.stderr
    assert "  - line 3, field body: There is no body XYZ in testila." in failed.stderr
    skipped = run(eva, *args, "--skip-invalid", "--json")
    report = __import__("json").loads(skipped.stdout)
    assert len(report["created"]) == 2
    assert len(report["skipped"]) == 6
    human = run(eva, *args, "--skip-invalid")
    assert "Skipped 6 bad row(s):" in human.stdout
    assert "Imported before, left unchanged: 2." in human.stdout
    run(eva, "import", "proposals", bad, "--org", "nowhere", "--source", "d", code=3)
    run(eva, *args[:-1], "aud", code=4)
    run(eva, "import", "proposals", str(sample("cases-latin1.csv")), "--org", "testila", code=7)
    missing = run(eva, "import", "proposals", str(tmp_path / "nope.csv"), "--org", "x", code=7)
    assert "The file nope.csv cannot be read" in missing.stderr
    empty = str(sample("cases-empty.csv"))
    error = run_json(eva, "import", "proposals", empty, "--org", "testila", code=7)
    assert error["error"] == "invalid_input"
    dry = run(eva, *args, "--skip-invalid", "--dry-run")
    assert dry.stdout.startswith("Dry run, nothing was written")


# the documentation --------------------------------------------------------------------------------
DOCS = Path(__file__).resolve().parent.parent / "docs" / "exchange.md"


def documented(kind: str) -> str:
    found = re.search(rf"```{kind}\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    assert found is not None, kind
    return found.group(1)


def test_the_documented_examples_import(eva: Eva, world: World) -> None:
    for kind in ("csv", "json"):
        report = importing.import_proposals(
            eva, as_("admin"), "testila", documented(kind).encode(), f"x.{kind}", source_system="d"
        )
        assert len(report.created) == (2 if kind == "csv" else 1)


def test_the_documented_error_report_is_what_eva_prints(eva: Eva, world: World) -> None:
    bad = str(sample("cases-bad.csv"))
    args = ("import", "proposals", bad, "--org", "testila", "--source", "d", "--as", "prep")
    printed = run(eva, *args, code=7).stderr.splitlines()
    assert documented("text").splitlines() == printed
