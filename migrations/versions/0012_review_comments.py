"""Review comments: a reviewer's comment on a question, an area or the whole assessment, with
replies, open until resolved.

Revision ID: 734d0394a633
Revises: a3c58e0f2b61
Create Date: 2026-12-02 12:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import eva_engine.models.base

revision: str = "734d0394a633"
down_revision: str | None = "a3c58e0f2b61"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, length: int, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    when = eva_engine.models.base.UTCDateTime(timezone=True)
    op.create_table(
        "review_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column(
            "target_kind",
            _enum("commenttarget", 16, "question", "area", "assessment"),
            nullable=False,
        ),
        sa.Column("target_key", sa.String(length=160), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("status", _enum("commentstatus", 16, "open", "resolved"), nullable=False),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", when, nullable=True),
        _fk("review_comments", "organisation_id", "organisations"),
        _fk("review_comments", "proposal_id", "proposals"),
        _fk("review_comments", "author_id", "users"),
        _fk("review_comments", "resolved_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_comments")),
    )
    op.create_index(
        "ix_review_comments_proposal_status", "review_comments", ["proposal_id", "status"]
    )
    op.create_table(
        "review_comment_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", when, nullable=False),
        _fk("review_comment_replies", "organisation_id", "organisations"),
        _fk("review_comment_replies", "proposal_id", "proposals"),
        _fk("review_comment_replies", "comment_id", "review_comments"),
        _fk("review_comment_replies", "author_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_comment_replies")),
    )
    op.create_index(
        "ix_review_comment_replies_comment_id", "review_comment_replies", ["comment_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_review_comment_replies_comment_id", table_name="review_comment_replies")
    op.drop_table("review_comment_replies")
    op.drop_index("ix_review_comments_proposal_status", table_name="review_comments")
    op.drop_table("review_comments")
