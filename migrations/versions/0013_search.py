"""Free-text search (issue 13, part 4): one index row per proposal, filled from the stored
proposals. PostgreSQL: a tsvector (Finnish and Swedish configurations) with a GIN index;
SQLite: an FTS5 virtual table. Kept in step by eva_engine.db.search at every commit.

Revision ID: 141e75b07242
Revises: 734d0394a633
Create Date: 2026-12-02 12:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from eva_engine.db.search import SEARCH_TABLE, rebuild

revision: str = "141e75b07242"
down_revision: str | None = "734d0394a633"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        op.execute(
            f"CREATE TABLE {SEARCH_TABLE} ("
            " proposal_id integer NOT NULL"
            f" CONSTRAINT pk_{SEARCH_TABLE} PRIMARY KEY"
            f" CONSTRAINT fk_{SEARCH_TABLE}_proposal_id_proposals"
            " REFERENCES proposals (id) ON DELETE CASCADE,"
            " organisation_id integer NOT NULL,"
            " document tsvector NOT NULL)"
        )
        op.execute(
            f"CREATE INDEX ix_{SEARCH_TABLE}_document ON {SEARCH_TABLE} USING gin (document)"
        )
        op.execute(
            f"CREATE INDEX ix_{SEARCH_TABLE}_organisation_id ON {SEARCH_TABLE} (organisation_id)"
        )
    else:
        op.execute(
            f"CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5("
            "case_number, title, body, tokenize = 'unicode61 remove_diacritics 0')"
        )
    rebuild(connection, stemmed=False)  # the words as written (0015 stems them on SQLite)


def downgrade() -> None:
    op.execute(f"DROP TABLE {SEARCH_TABLE}")
