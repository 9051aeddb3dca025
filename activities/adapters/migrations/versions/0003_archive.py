"""The archive: timeline entries and alerts that long-lived workflows (pages, incidents)
no longer hold after continuing as new.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The key makes a spill written twice (a retried activity) stored once, and serves
    # reading a subject's items in order.
    op.create_table(
        "archived_timeline",
        sa.Column("subject", sa.String(160), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("by", sa.Text, nullable=True),
    )
    op.create_table(
        "archived_alerts",
        sa.Column("subject", sa.String(160), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("alert", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("archived_alerts")
    op.drop_table("archived_timeline")
