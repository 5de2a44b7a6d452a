"""Search on SQLite stems with Snowball (issue 13, part 4): the FTS5 rows are rebuilt with the
stems of their words (Finnish text through the Finnish stemmer, Swedish through the Swedish one:
the SQL function ``eva_stemmed`` every connection has, eva_engine.db.stemming), as PostgreSQL's
``finnish`` and ``swedish`` configurations already do; the downgrade writes the words as written
again. Nothing changes on PostgreSQL.

Revision ID: 9c3f6a1d4e27
Revises: 5b8e2d0c7a14
Create Date: 2026-12-02 16:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from eva_engine.db.search import rebuild

revision: str = "9c3f6a1d4e27"
down_revision: str | None = "5b8e2d0c7a14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        rebuild(connection)


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        rebuild(connection, stemmed=False)
