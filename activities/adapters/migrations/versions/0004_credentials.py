"""API credentials: person, integration and admin tokens, stored as argon2 hashes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "credentials",
        # the public part of the token (tocsin_<id>_<secret>): how a request finds its row
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        # person | integration | admin
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("person", sa.String(128), nullable=True),
        # space-separated scopes (integration tokens), empty for the other kinds
        sa.Column("scopes", sa.Text, nullable=False),
        # argon2 hash of the secret part; the token itself is never stored
        sa.Column("secret_hash", sa.String(255), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("credentials")
