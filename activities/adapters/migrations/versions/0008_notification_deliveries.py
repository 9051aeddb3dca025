"""Page notifications delivered, by idempotency key, so a retried notify activity does not
send one twice.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_deliveries",
        # a hash of (page, step, person, method, the page's run and its activity id)
        sa.Column("delivery_key", sa.String(64), primary_key=True),
        sa.Column("page_id", sa.String(160), nullable=False),
        # where it went, as the notify activity reports it (no secrets)
        sa.Column("delivered_to", sa.Text, nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
    )
    # Pruning drops the rows older than a week.
    op.create_index(
        "ix_notification_deliveries_delivered_at", "notification_deliveries", ["delivered_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_notification_deliveries_delivered_at", table_name="notification_deliveries")
    op.drop_table("notification_deliveries")
