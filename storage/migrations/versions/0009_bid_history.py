"""bid and budget history of synced objects; synced bids only where the strategy has one

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ad_object_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ad_account_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("object_id", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=8), nullable=False),
        sa.Column("value", storage.models.base.Micros(), nullable=True),
        sa.Column("valid_from", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ad_account_id"],
            ["ad_accounts.id"],
            name=op.f("fk_ad_object_values_ad_account_id_ad_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ad_object_values")),
    )
    with op.batch_alter_table("ad_object_values", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ad_object_values_object",
            ["ad_account_id", "level", "object_id", "valid_from"],
            unique=False,
        )
    # Earlier syncs stored bid_price or conversion_bid_price whatever the strategy (0 under
    # automatic bidding): keep a bid only where the ad group has a custom one (spec §4.6).
    op.execute(
        "UPDATE ad_objects SET bid = NULL WHERE level <> 'adgroup' OR bid_type IS NULL "
        "OR bid_type <> 'BID_TYPE_CUSTOM' OR bid = 0"
    )
    # The history starts with what is synced now, as of its sync.
    for field in ("bid", "budget"):
        op.execute(
            "INSERT INTO ad_object_values "
            "(ad_account_id, level, object_id, field, value, valid_from) "
            f"SELECT ad_account_id, level, object_id, '{field}', {field}, synced_at "
            f"FROM ad_objects WHERE {field} IS NOT NULL AND level <> 'ad'"
        )


def downgrade() -> None:
    with op.batch_alter_table("ad_object_values", schema=None) as batch_op:
        batch_op.drop_index("ix_ad_object_values_object")
    op.drop_table("ad_object_values")
