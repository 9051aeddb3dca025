"""The incident log: one row per incident.

Revision ID: 0001
Revises:
Create Date: 2026-05-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written in UTC; PostgreSQL keeps the offset, SQLite does not (read back as UTC).
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("severity", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        # triage 0 < active 1 < resolved 2 < closed 3: upserts never lower it
        sa.Column("status_rank", sa.SmallInteger, nullable=False),
        sa.Column("service", sa.String(128), nullable=True),
        sa.Column("team", sa.String(128), nullable=False),
        sa.Column("declared_by", sa.String(128), nullable=False),
        sa.Column("lead", sa.String(128), nullable=True),
        sa.Column("declared_at", TIMESTAMP, nullable=False),
        sa.Column("acknowledged_at", TIMESTAMP, nullable=True),
        sa.Column("resolved_at", TIMESTAMP, nullable=True),
        sa.Column("closed_at", TIMESTAMP, nullable=True),
        sa.Column("resolution", sa.String(32), nullable=True),
        sa.Column("resolution_summary", sa.Text, nullable=True),
        sa.Column("postmortem_url", sa.Text, nullable=True),
        sa.Column("followups_open", sa.Integer, nullable=False),
        sa.Column("followups_closed", sa.Integer, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_incidents_declared_at", "incidents", ["declared_at"])
    op.create_index("ix_incidents_severity_declared_at", "incidents", ["severity", "declared_at"])
    op.create_index("ix_incidents_service_declared_at", "incidents", ["service", "declared_at"])


def downgrade() -> None:
    op.drop_index("ix_incidents_service_declared_at", table_name="incidents")
    op.drop_index("ix_incidents_severity_declared_at", table_name="incidents")
    op.drop_index("ix_incidents_declared_at", table_name="incidents")
    op.drop_table("incidents")
