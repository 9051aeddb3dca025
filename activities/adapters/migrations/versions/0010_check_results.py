"""Uptime checks' probe results: one row per probe (status, latency, why it failed), kept
30 days for uptime and latency figures.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "check_results",
        sa.Column("check_name", sa.String(64), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("status", sa.SmallInteger, nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    # Pruning drops the rows older than 30 days.
    op.create_index("ix_check_results_at", "check_results", ["at"])


def downgrade() -> None:
    op.drop_index("ix_check_results_at", table_name="check_results")
    op.drop_table("check_results")
