"""On-call reports, kept beyond Temporal's retention: one row per shift, and the people
each concerns.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "shift_reports",
        # the shift's workflow id: shift-<rotation>-<start, UTC>
        sa.Column("id", sa.String(160), primary_key=True),
        sa.Column("rotation", sa.String(64), nullable=False),
        sa.Column("team", sa.String(128), nullable=True),
        sa.Column("shift_start", TIMESTAMP, nullable=False),
        sa.Column("shift_end", TIMESTAMP, nullable=False),
        # the whole report as JSON, its text included
        sa.Column("report", sa.Text, nullable=False),
        sa.Column("kept_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_shift_reports_shift_start", "shift_reports", ["shift_start"])
    op.create_index(
        "ix_shift_reports_rotation_shift_start", "shift_reports", ["rotation", "shift_start"]
    )
    op.create_table(
        "shift_report_people",
        # who was on call, and who the report suggests a recovery day
        sa.Column("report_id", sa.String(160), primary_key=True),
        sa.Column("person", sa.String(128), primary_key=True),
    )
    op.create_index("ix_shift_report_people_person", "shift_report_people", ["person"])


def downgrade() -> None:
    op.drop_table("shift_report_people")
    op.drop_table("shift_reports")
