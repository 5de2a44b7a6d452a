"""Integrity: every user has a home organisation (whose administrators manage the account),
and rate-limit counters shared by every worker process (login throttling).

Existing users get the organisation of their oldest role grant as their home; a user without
any grant keeps none and can then be managed only by the shell operator.

Revision ID: b1e7c4d2a906
Revises: 9d4b2f6e8a13
Create Date: 2026-12-01 21:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b1e7c4d2a906"
down_revision: str | None = "9d4b2f6e8a13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_users_organisation_id_organisations", "organisations", ["organisation_id"], ["id"]
        )
        batch.create_index("ix_users_organisation_id", ["organisation_id"])
    op.execute(
        """
        UPDATE users SET organisation_id = (
            SELECT g.organisation_id FROM role_grants g
            WHERE g.user_id = users.id ORDER BY g.granted_at, g.id LIMIT 1
        )
        """
    )
    op.create_table(
        "rate_limit_counters",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit_counters")),
    )
    op.create_index("ix_rate_limit_counters_expires_at", "rate_limit_counters", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_rate_limit_counters_expires_at", table_name="rate_limit_counters")
    op.drop_table("rate_limit_counters")
    with op.batch_alter_table("users") as batch:
        batch.drop_index("ix_users_organisation_id")
        batch.drop_constraint("fk_users_organisation_id_organisations", type_="foreignkey")
        batch.drop_column("organisation_id")
