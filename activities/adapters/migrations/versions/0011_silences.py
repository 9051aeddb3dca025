"""Ad-hoc silences, and which pages each one holds (so ending one early lets them page).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "silences",
        sa.Column("id", sa.String(32), primary_key=True),
        # what it covers: JSON lists of services, teams and label matchers
        sa.Column("services", sa.Text, nullable=False),
        sa.Column("teams", sa.Text, nullable=False),
        sa.Column("matchers", sa.Text, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        # the person (or admin credential) behind the request, never a body field
        sa.Column("created_by", sa.String(160), nullable=False),
        sa.Column("created_via", sa.String(160), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(160), nullable=True),
    )
    op.create_index("ix_silences_ends_at", "silences", ["ends_at"])
    op.create_table(
        "silence_holds",
        sa.Column("silence_id", sa.String(32), primary_key=True),
        # the page's workflow id
        sa.Column("page_id", sa.String(160), primary_key=True),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("silence_holds")
    op.drop_index("ix_silences_ends_at", table_name="silences")
    op.drop_table("silences")
