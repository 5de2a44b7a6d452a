"""Readers do not hold up writers: a read-only unit of work begins deferred on SQLite (WAL),
so a writer commits while a reader's transaction is open; and it can never commit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from eva_engine.config import default_workflows_dir
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database
from eva_engine.services import organisations
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


def test_a_read_only_unit_of_work_cannot_commit(file_eva: Eva) -> None:
    with file_eva.reading() as reader, pytest.raises(RuntimeError, match="read-only"):
        reader.commit()
    file_eva.database.dispose()
