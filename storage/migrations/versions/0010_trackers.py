"""affiliate trackers: connections, links to TikTok, pulled revenue, unmapped, push log, fx rates

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 02:17:59.594745
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "fx_rates",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("base", sa.String(length=3), nullable=False),
        sa.Column("quote", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.String(length=40), nullable=False),
        sa.Column("set_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_fx_rates_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "base", "quote", name=op.f("pk_fx_rates")),
    )
    op.create_table(
        "trackers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("base_url", sa.String(length=512), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("failing_since", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_ok_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("discrepancy_pct", sa.Integer(), nullable=False),
        sa.Column("disconnected_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("purge_after", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("push_ok_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("mapped_at", storage.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_trackers_credential_id_credentials"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_trackers_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trackers")),
    )
    with op.batch_alter_table("trackers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trackers_purge_after"), ["purge_after"], unique=False)
        batch_op.create_index(batch_op.f("ix_trackers_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_trackers_user_id"), ["user_id"], unique=False)

    op.create_table(
        "tracker_unmapped",
        sa.Column("tracker_id", sa.Integer(), nullable=False),
        sa.Column("tracker_campaign_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("id_value", sa.String(length=64), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("conversions", sa.BigInteger(), nullable=False),
        sa.Column("revenue", storage.models.base.Micros(), nullable=False),
        sa.Column("pulled_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tracker_id"],
            ["trackers.id"],
            name=op.f("fk_tracker_unmapped_tracker_id_trackers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tracker_id", "tracker_campaign_id", "day", "id_value", name=op.f("pk_tracker_unmapped")
        ),
    )
    op.create_table(
        "tracker_daily",
        sa.Column("ad_account_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("object_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tracker_id", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("conversions", sa.BigInteger(), nullable=False),
        sa.Column("pending", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.BigInteger(), nullable=False),
        sa.Column("revenue", storage.models.base.Micros(), nullable=False),
        sa.Column("pending_revenue", storage.models.base.Micros(), nullable=False),
        sa.Column("pulled_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ad_account_id"],
            ["ad_accounts.id"],
            name=op.f("fk_tracker_daily_ad_account_id_ad_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tracker_id"],
            ["trackers.id"],
            name=op.f("fk_tracker_daily_tracker_id_trackers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "ad_account_id", "level", "object_id", "day", name=op.f("pk_tracker_daily")
        ),
    )
    with op.batch_alter_table("tracker_daily", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tracker_daily_tracker_id"), ["tracker_id"], unique=False
        )

    op.create_table(
        "tracker_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tracker_id", sa.Integer(), nullable=False),
        sa.Column("ad_account_id", sa.Integer(), nullable=True),
        sa.Column("tiktok_campaign_id", sa.String(length=32), nullable=True),
        sa.Column("pattern", sa.String(length=128), nullable=True),
        sa.Column("tracker_campaign_id", sa.String(length=64), nullable=False),
        sa.Column("tracker_campaign_name", sa.String(length=256), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("id_fields", sa.JSON(), nullable=False),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ad_account_id"],
            ["ad_accounts.id"],
            name=op.f("fk_tracker_links_ad_account_id_ad_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tracker_id"],
            ["trackers.id"],
            name=op.f("fk_tracker_links_tracker_id_trackers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracker_links")),
        sa.UniqueConstraint(
            "tracker_id",
            "ad_account_id",
            "tiktok_campaign_id",
            name=op.f("uq_tracker_links_tracker_id"),
        ),
    )
    with op.batch_alter_table("tracker_links", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tracker_links_account", ["ad_account_id", "tiktok_campaign_id"], unique=False
        )

    op.create_table(
        "tracker_pushes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tracker_id", sa.Integer(), nullable=False),
        sa.Column("tracker_campaign_id", sa.String(length=64), nullable=False),
        sa.Column("ad_account_id", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("id_field", sa.String(length=32), nullable=True),
        sa.Column("id_value", sa.String(length=64), nullable=True),
        sa.Column("tiktok_campaign_id", sa.String(length=32), nullable=True),
        sa.Column("spend", storage.models.base.Micros(), nullable=False),
        sa.Column("spend_currency", sa.String(length=3), nullable=False),
        sa.Column("cost", storage.models.base.Micros(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("answer", sa.String(length=300), nullable=False),
        sa.Column("sent_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ad_account_id"],
            ["ad_accounts.id"],
            name=op.f("fk_tracker_pushes_ad_account_id_ad_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tracker_id"],
            ["trackers.id"],
            name=op.f("fk_tracker_pushes_tracker_id_trackers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracker_pushes")),
    )
    with op.batch_alter_table("tracker_pushes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tracker_pushes_day", ["tracker_id", "tracker_campaign_id", "day"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("tracker_pushes", schema=None) as batch_op:
        batch_op.drop_index("ix_tracker_pushes_day")

    op.drop_table("tracker_pushes")
    with op.batch_alter_table("tracker_links", schema=None) as batch_op:
        batch_op.drop_index("ix_tracker_links_account")

    op.drop_table("tracker_links")
    with op.batch_alter_table("tracker_daily", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tracker_daily_tracker_id"))

    op.drop_table("tracker_daily")
    op.drop_table("tracker_unmapped")
    with op.batch_alter_table("trackers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trackers_user_id"))
        batch_op.drop_index(batch_op.f("ix_trackers_purge_after"))
        batch_op.drop_index(batch_op.f("ix_trackers_due_at"))

    op.drop_table("trackers")
    op.drop_table("fx_rates")
