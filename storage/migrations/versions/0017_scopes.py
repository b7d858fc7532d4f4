"""scopes and comments: the TikTok scopes granted per connection, the optional features per
user, the watched campaigns and the comments pulled under their ads (issue 17)

Self-contained (added columns, two new tables); chained after 0016_web when main was merged.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tiktok_connections") as batch:
        batch.add_column(sa.Column("scope", sa.String(length=200), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("features", sa.String(length=100), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("comment_words", sa.String(length=500), nullable=False, server_default="")
        )
    utc = storage.models.base.UTCDateTime(timezone=True)
    op.create_table(
        "comment_watches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ad_account_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("due_at", utc, nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", utc, nullable=True),
        sa.Column("since", utc, nullable=False),
        sa.Column("last_ok_at", utc, nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", utc, nullable=False),
        sa.ForeignKeyConstraint(["ad_account_id"], ["ad_accounts.id"],
                                name=op.f("fk_comment_watches_ad_account_id_ad_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment_watches")),
        sa.UniqueConstraint("ad_account_id", "campaign_id",
                            name=op.f("uq_comment_watches_ad_account_id")),
    )
    op.create_index(op.f("ix_comment_watches_due_at"), "comment_watches", ["due_at"])
    op.create_table(
        "ad_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ad_account_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.String(length=32), nullable=False),
        sa.Column("ad_id", sa.String(length=32), nullable=False),
        sa.Column("adgroup_id", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("ad_name", sa.String(length=256), nullable=False),
        sa.Column("content", sa.String(length=1000), nullable=False),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_time", utc, nullable=False),
        sa.Column("fetched_at", utc, nullable=False),
        sa.Column("auto_hidden_at", utc, nullable=True),
        sa.Column("matched", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["ad_account_id"], ["ad_accounts.id"],
                                name=op.f("fk_ad_comments_ad_account_id_ad_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ad_comments")),
        sa.UniqueConstraint("ad_account_id", "comment_id",
                            name=op.f("uq_ad_comments_ad_account_id")),
    )
    op.create_index("ix_ad_comments_fetched", "ad_comments", ["fetched_at"])


def downgrade() -> None:
    op.drop_index("ix_ad_comments_fetched", table_name="ad_comments")
    op.drop_table("ad_comments")
    op.drop_index(op.f("ix_comment_watches_due_at"), table_name="comment_watches")
    op.drop_table("comment_watches")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("comment_words")
        batch.drop_column("features")
    with op.batch_alter_table("tiktok_connections") as batch:
        batch.drop_column("scope")
