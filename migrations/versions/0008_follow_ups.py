"""Follow-ups: one per follow-up indicator of a decided proposal, with the person responsible,
the due date, the state (open, done, waived), the result and how the impact went.

Revision ID: 4f2a8c9e1d37
Revises: c3a9e5f1d7b2
Create Date: 2026-12-02 01:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import eva_engine.models.base

revision: str = "4f2a8c9e1d37"
down_revision: str | None = "c3a9e5f1d7b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    when = eva_engine.models.base.UTCDateTime(timezone=True)
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("responsible_id", sa.Integer(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("state", _enum("followupstate", "open", "done", "waived"), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=True),
        sa.Column("measured_on", sa.Date(), nullable=True),
        sa.Column(
            "source_kind",
            _enum("followupsource", "sotkanet", "teaviisari", "own_data", "other"),
            nullable=True,
        ),
        sa.Column("source_reference", sa.String(length=1000), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "outcome",
            _enum("followupoutcome", "as_predicted", "better", "worse", "cannot_tell_yet"),
            nullable=True,
        ),
        sa.Column("waive_reason", sa.Text(), nullable=True),
        sa.Column("settled_by_id", sa.Integer(), nullable=True),
        sa.Column("settled_at", when, nullable=True),
        sa.Column("created_at", when, nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_follow_ups_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["proposals.id"], name=op.f("fk_follow_ups_proposal_id_proposals")
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_follow_ups_assessment_id_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["follow_up_indicators.id"],
            name=op.f("fk_follow_ups_indicator_id_follow_up_indicators"),
        ),
        sa.ForeignKeyConstraint(
            ["responsible_id"], ["users.id"], name=op.f("fk_follow_ups_responsible_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["settled_by_id"], ["users.id"], name=op.f("fk_follow_ups_settled_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
        sa.UniqueConstraint("indicator_id", name=op.f("uq_follow_ups_indicator_id")),
    )
    op.create_index("ix_follow_ups_proposal_id", "follow_ups", ["proposal_id"])
    op.create_index("ix_follow_ups_assessment_id", "follow_ups", ["assessment_id"])
    op.create_index("ix_follow_ups_responsible_state", "follow_ups", ["responsible_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_follow_ups_responsible_state", table_name="follow_ups")
    op.drop_index("ix_follow_ups_assessment_id", table_name="follow_ups")
    op.drop_index("ix_follow_ups_proposal_id", table_name="follow_ups")
    op.drop_table("follow_ups")
