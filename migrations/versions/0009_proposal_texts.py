"""Proposal texts: the presentation text (esittelyteksti, perustelut), the decision proposal
(päätösehdotus) and the decision as made (päätös), one row per proposal, kind and language.

Revision ID: 7d3e9b1c5a20
Revises: 4f2a8c9e1d37
Create Date: 2026-12-02 05:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import eva_engine.models.base

revision: str = "7d3e9b1c5a20"
down_revision: str | None = "4f2a8c9e1d37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, length: int, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


def upgrade() -> None:
    when = eva_engine.models.base.UTCDateTime(timezone=True)
    op.create_table(
        "proposal_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            _enum("textkind", 32, "grounds", "decision_proposal", "decision"),
            nullable=False,
        ),
        sa.Column("language", _enum("textlanguage", 2, "fi", "sv"), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("written_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", when, nullable=False),
        sa.Column("updated_at", when, nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_proposal_texts_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["proposals.id"], name=op.f("fk_proposal_texts_proposal_id_proposals")
        ),
        sa.ForeignKeyConstraint(
            ["written_by_id"], ["users.id"], name=op.f("fk_proposal_texts_written_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_texts")),
        sa.UniqueConstraint(
            "proposal_id",
            "kind",
            "language",
            name=op.f("uq_proposal_texts_proposal_id_kind_language"),
        ),
    )
    op.create_index("ix_proposal_texts_proposal_id", "proposal_texts", ["proposal_id"])


def downgrade() -> None:
    op.drop_index("ix_proposal_texts_proposal_id", table_name="proposal_texts")
    op.drop_table("proposal_texts")
