"""privacy: ad_accounts.purge_after, purge leases on tiktok_connections and ad_accounts

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 07:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tiktok_connections") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("lease_until", storage.models.base.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("ad_accounts") as batch:
        batch.add_column(
            sa.Column("purge_after", storage.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("lease_until", storage.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch.create_index("ix_ad_accounts_purge_after", ["purge_after"])


def downgrade() -> None:
    with op.batch_alter_table("ad_accounts") as batch:
        batch.drop_index("ix_ad_accounts_purge_after")
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
        batch.drop_column("purge_after")
    with op.batch_alter_table("tiktok_connections") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
