"""comment changed_at: when TTPulse last changed a comment at TikTok

A pull that listed a comment before a Hide all, Unhide or pin was read back wrote the status it
had listed over the new one; the pull now leaves a comment changed since it began as it is.
Self-contained; chained after 0021_stale_spells.

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
    with op.batch_alter_table("ad_comments") as batch:
        batch.add_column(sa.Column("changed_at", utc, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ad_comments") as batch:
        batch.drop_column("changed_at")
