"""Proposals remember the case-management system they were imported from, their id there and
the description registered with the case.

Revision ID: 9d4b2f6e8a13
Revises: 7c2e9f1a6b52
Create Date: 2026-11-24 09:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d4b2f6e8a13"
down_revision: str | None = "7c2e9f1a6b52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("proposals", sa.Column("source_system", sa.String(length=40), nullable=True))
    op.add_column("proposals", sa.Column("external_ref", sa.String(length=100), nullable=True))
    op.add_column("proposals", sa.Column("description", sa.Text(), nullable=True))
    op.create_index(
        "ux_proposals_external_ref",
        "proposals",
        ["organisation_id", "source_system", "external_ref"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ux_proposals_external_ref", table_name="proposals")
    op.drop_column("proposals", "description")
    op.drop_column("proposals", "external_ref")
    op.drop_column("proposals", "source_system")
