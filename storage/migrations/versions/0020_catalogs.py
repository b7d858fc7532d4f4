"""comment pins: when a pulled comment was seen pinned on its ad's video (issue 17)

Self-contained (one added column); chained after 0019_web_identities.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = storage.models.base.UTCDateTime(timezone=True)
    with op.batch_alter_table("ad_comments") as batch:
        batch.add_column(sa.Column("pinned_at", utc, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ad_comments") as batch:
        batch.drop_column("pinned_at")
