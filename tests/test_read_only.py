"""Readers do not hold up writers: a read-only unit of work begins deferred on SQLite (WAL),
so a writer commits while a reader's transaction is open; and it can never commit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, text

from eva_engine.config import default_workflows_dir
from eva_engine.db.audit import PendingEvent
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database
from eva_engine.services.people import organisations
from eva_engine.services.runtime import Caller, Eva


@pytest.fixture
def file_eva(tmp_path: Path) -> Eva:
    database = Database.connect(f"sqlite:///{tmp_path / 'eva.sqlite3'}")
    upgrade(database.engine)
    return Eva(database, default_workflows_dir())


def test_a_writer_commits_while_a_reader_is_reading(file_eva: Eva) -> None:
    with file_eva.reading() as reader:
        assert reader.session.execute(text("SELECT count(*) FROM organisations")).scalar() == 0
        # A writer on another connection neither waits for the reader nor fails.
        organisations.create_organisation(
            file_eva,
            Caller(None, "tests"),
            organisations.CreateOrganisation(
                code="kyla", name_fi="Kylä", case_number_pattern=r".+", case_number_example="1"
            ),
        )
        # The reader keeps its snapshot until its transaction ends.
        assert reader.session.execute(text("SELECT count(*) FROM organisations")).scalar() == 0
    with file_eva.reading() as reader:
        assert reader.session.execute(text("SELECT count(*) FROM organisations")).scalar() == 1
    file_eva.database.dispose()


def test_a_read_only_unit_of_work_cannot_commit_a_change(file_eva: Eva) -> None:
    organisations.create_organisation(
        file_eva,
        Caller(None, "tests"),
        organisations.CreateOrganisation(
            code="kyla", name_fi="Kylä", case_number_pattern=r".+", case_number_example="1"
        ),
    )
    with file_eva.reading() as reader:
        org = reader.repos.organisation_by_code("kyla")
        assert org is not None
        org.name_fi = "Toinen"
        with pytest.raises(RuntimeError, match="read-only"):
            reader.commit()
    with file_eva.reading() as reader:
        again = reader.repos.organisation_by_code("kyla")
        assert again is not None
        assert again.name_fi == "Kylä"
    file_eva.database.dispose()


def test_a_read_the_law_records_is_written_apart_without_the_write_lock(file_eva: Eva) -> None:
    """A read-only unit's audit events (a disclosure, the auditor's reads) are written by its
    commit in a short transaction of its own; the reader itself never took the write lock."""
    begins: list[str] = []
    engine = file_eva.database.engine

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("BEGIN"):
            begins.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with file_eva.reading() as reader:
            reader.session.execute(text("SELECT count(*) FROM organisations"))
            reader.audit.record(
                PendingEvent(
                    action="test.read",
                    entity_type="organisation",
                    entity_id="1",
                    organisation_id=None,
                    proposal_id=None,
                    before=None,
                    after=None,
                    reason=None,
                    role=None,
                )
            )
            reader.commit()
            assert begins == ["BEGIN", "BEGIN IMMEDIATE"]
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    with file_eva.reading() as reader:
        assert [e.action for e in reader.repos.events(action="test.read")] == ["test.read"]
    file_eva.database.dispose()
