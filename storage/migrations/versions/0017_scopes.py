"""scopes: the TikTok scopes granted per connection, the optional features per user (issue 17)

Self-contained (two added columns), so the lead can re-chain it after another 0016.

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-04 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tiktok_connections") as batch:
        batch.add_column(sa.Column("scope", sa.String(length=200), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("features", sa.String(length=100), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("features")
    with op.batch_alter_table("tiktok_connections") as batch:
        batch.drop_column("scope")
