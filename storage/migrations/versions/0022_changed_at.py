"""changed_at: when TTPulse last changed a comment or a synced object at TikTok

A comment pull that listed a comment before a Hide all, Unhide or pin was read back wrote the
status it had listed over the new one, and a sync that listed a campaign before a pause or a
budget change did the same to the campaign; each now leaves what was changed since its listing
began as it is. Self-contained; chained after 0021_stale_spells.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = storage.models.base.UTCDateTime(timezone=True)
    for table in ("ad_comments", "ad_objects"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("changed_at", utc, nullable=True))


def downgrade() -> None:
    for table in ("ad_comments", "ad_objects"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("changed_at")
