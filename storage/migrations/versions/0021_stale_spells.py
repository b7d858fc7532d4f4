"""stale spells: which of a rule's accounts are in a spell of too-old data, and since when

The rule's one datetime (`stale_warned_as_of`, never written) could not tell a spell that goes
on while a late sync nudges the data's time forward from a new one; a JSON map per account
replaces it. Self-contained; chained after 0020_catalogs.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rules") as batch:
        batch.add_column(sa.Column("stale_since", sa.JSON(), nullable=True))
        batch.drop_column("stale_warned_as_of")


def downgrade() -> None:
    utc = storage.models.base.UTCDateTime(timezone=True)
    with op.batch_alter_table("rules") as batch:
        batch.add_column(sa.Column("stale_warned_as_of", utc, nullable=True))
        batch.drop_column("stale_since")
