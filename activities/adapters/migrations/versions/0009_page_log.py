"""The page log: one row per page opening (a flap within the window stays on its row), for
the noise report.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "page_log",
        # a page id is reused once its page has ended: the opening tells them apart
        sa.Column("page_id", sa.String(160), primary_key=True),
        sa.Column("opened_at", TIMESTAMP, primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        # the alertname, check or heartbeat, else the summary
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("service", sa.String(128), nullable=True),
        sa.Column("team", sa.String(128), nullable=False),
        sa.Column("urgency", sa.String(8), nullable=False),
        sa.Column("acked_by", sa.String(128), nullable=True),
        sa.Column("acked_at", TIMESTAMP, nullable=True),
        sa.Column("steps_reached", sa.Integer, nullable=False),
        sa.Column("resolved_at", TIMESTAMP, nullable=True),
        sa.Column("resolved_by", sa.String(160), nullable=True),
        sa.Column("auto_resolved_unacked", sa.Boolean, nullable=False),
        sa.Column("flaps", sa.Integer, nullable=False),
        sa.Column("off_hours", sa.Boolean, nullable=False),
        sa.Column("silenced", sa.Boolean, nullable=False),
        sa.Column("incident_id", sa.String(64), nullable=True),
        # the page's timeline length at the write: an older write never replaces a newer
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_page_log_opened_at", "page_log", ["opened_at"])


def downgrade() -> None:
    op.drop_index("ix_page_log_opened_at", table_name="page_log")
    op.drop_table("page_log")
