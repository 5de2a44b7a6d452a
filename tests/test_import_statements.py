"""Importing a file costs a bounded number of SQL statements per row: the checks read what they
need once per file, and the proposals, their first assessments and tasks and their audit events
are inserted in batches (issue 10: at most 3 statements per row, plus a constant).

How statements are counted: every call of SQLAlchemy's ``before_cursor_execute`` on the
database's engine is one statement as the driver sends it — a query, an INSERT of one batch of
rows (SQLAlchemy's "insertmanyvalues": one ``INSERT ... VALUES (...), (...) ... RETURNING`` per
batch of up to 1,000 rows), an executemany (one call for its whole batch), a SAVEPOINT or a
COMMIT sent as SQL. The file is imported through ``eva import proposals`` (the command line,
one unit of work)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event

from eva_engine.services.history import trail
from eva_engine.services.runtime import Eva
from tests.conftest import World
from tests.exchange_support import run

PER_ROW = 3
CONSTANT = 40  # the caller, the organisation, the grants, the definition, the chain head...


@contextmanager
def counted(eva: Eva) -> Iterator[list[str]]:
    statements: list[str] = []

    def note(*args: Any) -> None:
        statements.append(str(args[2]))  # (conn, cursor, statement, parameters, context, many)

    engine = eva.database.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


def cases_file(tmp_path: Path, rows: int, first: int) -> Path:
    lines = ["external_id;case_number;title_fi;body;preparer;presenter;meeting_date"]
    lines += [
        f"C-{n};{n}/05.00.00/2026;Asia {n};HYVLTK;prep;pres;"
        + ("2026-12-15" if n % 2 else "")  # half of them scheduled on the body's meeting
        for n in range(first, first + rows)
    ]
    path = tmp_path / f"cases-{rows}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def import_counted(eva: Eva, path: Path) -> int:
    with counted(eva) as statements:
        result = run(
            eva,
            "import",
            "proposals",
            str(path),
            "--org",
            "testila",
            "--as",
            "admin",
            "--source",
            "dynasty",
            "--json",
        )
    report = json.loads(result.output)
    assert len(report["created"]) + len(report["existing"]) == report["rows"]
    return len(statements)


def test_an_import_costs_at_most_three_statements_per_row(
    eva: Eva, world: World, tmp_path: Path
) -> None:
    ten = import_counted(eva, cases_file(tmp_path, 10, 1))
    hundred = import_counted(eva, cases_file(tmp_path, 100, 1000))
    assert ten <= PER_ROW * 10 + CONSTANT, ten
    assert hundred <= PER_ROW * 100 + CONSTANT, hundred
    # and the count does not grow with the file: ten times the rows, about the same statements
    # (before the bulk path: 135 and 1,214 on SQLite, 12 per row)
    assert hundred <= ten + 5, (ten, hundred)
    assert trail.verify(eva).ok


def test_importing_the_same_file_again_reads_in_a_few_statements(
    eva: Eva, world: World, tmp_path: Path
) -> None:
    path = cases_file(tmp_path, 100, 1)
    import_counted(eva, path)
    again = import_counted(eva, path)  # every row exists: nothing is written
    assert again <= CONSTANT, again
