"""Issues linked to incidents' follow-ups, so the GitHub webhook finds their incidents.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "followup_issues",
        # owner/name in lower case (GitHub's names are case-insensitive) and the issue's
        # number: the webhook looks an issue up by these, a prefix of the key
        sa.Column("repo", sa.String(200), primary_key=True),
        sa.Column("number", sa.BigInteger, primary_key=True),
        # one issue may follow up several incidents
        sa.Column("incident_id", sa.String(64), primary_key=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("followup_issues")
