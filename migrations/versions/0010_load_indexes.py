"""Indexes for the pages under load (issue 10, part 7; docs/performance.md, "Query plans"):
an organisation's latest event of one kind (the auditor's page reads its last chain check on
every request) and a chain filtered by action, from an index instead of the whole chain.

Revision ID: 7d3b9a51c0e8
Revises: 7d3e9b1c5a20
Create Date: 2026-12-02 05:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "7d3b9a51c0e8"
down_revision: str | None = "7d3e9b1c5a20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_audit_events_chain_action", "audit_events", ["chain_id", "action", "seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_chain_action", table_name="audit_events")
