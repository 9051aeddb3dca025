"""Archived timeline entries keep the credential their actor used (``via``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ``token laptop``, ``admin ops-bot``, ``slack U024BE7LH``: never a secret.
    op.add_column("archived_timeline", sa.Column("via", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("archived_timeline", "via")
