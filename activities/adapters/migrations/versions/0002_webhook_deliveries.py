"""Webhook deliveries already processed, so a replayed one is acknowledged, not processed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-12
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        # who sent it ("github") and its id there (X-GitHub-Delivery): the key decides
        # which of two identical deliveries is processed
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("delivery_id", sa.String(128), primary_key=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    # Pruning drops a source's oldest rows.
    op.create_index(
        "ix_webhook_deliveries_source_seen_at", "webhook_deliveries", ["source", "seen_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_source_seen_at", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
