""" "tracking broken?" and bursts of negative comments (issue 17): the pixel watch per ad account
(leased), what it last saw per pixel event, the user's negative words and burst threshold, and
the bursts alerted on (ad_comments.burst_id points at them)

Self-contained (added columns, three new tables).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["ad_account_id"],
        ["ad_accounts.id"],
        name=op.f(f"fk_{table}_ad_account_id_ad_accounts"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    utc = storage.models.base.UTCDateTime(timezone=True)
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("negative_words", sa.String(length=500), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("burst_threshold", sa.SmallInteger(), nullable=False, server_default="5")
        )
    with op.batch_alter_table("ad_comments") as batch:
        batch.add_column(sa.Column("burst_id", sa.Integer(), nullable=True))
        batch.create_index(op.f("ix_ad_comments_burst_id"), ["burst_id"])
    op.create_table(
        "pixel_watches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ad_account_id", sa.Integer(), nullable=False),
        sa.Column("due_at", utc, nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", utc, nullable=True),
        sa.Column("last_ok_at", utc, nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", utc, nullable=False),
        _account_fk("pixel_watches"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pixel_watches")),
        sa.UniqueConstraint("ad_account_id", name=op.f("uq_pixel_watches_ad_account_id")),
    )
    op.create_index(op.f("ix_pixel_watches_due_at"), "pixel_watches", ["due_at"])
    op.create_table(
        "pixel_signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ad_account_id", sa.Integer(), nullable=False),
        sa.Column("pixel_id", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("pixel_name", sa.String(length=256), nullable=False),
        sa.Column("event_name", sa.String(length=128), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("baseline_day", sa.Date(), nullable=True),
        sa.Column("baseline", sa.BigInteger(), nullable=False),
        sa.Column("fired_at", utc, nullable=False),
        sa.Column("incident_at", utc, nullable=True),
        sa.Column("updated_at", utc, nullable=False),
        _account_fk("pixel_signals"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pixel_signals")),
        sa.UniqueConstraint(
            "ad_account_id", "pixel_id", "event", name=op.f("uq_pixel_signals_ad_account_id")
        ),
    )
    op.create_table(
        "comment_bursts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ad_account_id", sa.Integer(), nullable=False),
        sa.Column("ad_id", sa.String(length=32), nullable=False),
        sa.Column("ad_name", sa.String(length=256), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("hidden_at", utc, nullable=True),
        sa.Column("undone_at", utc, nullable=True),
        _account_fk("comment_bursts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment_bursts")),
    )
    op.create_index(op.f("ix_comment_bursts_ad_account_id"), "comment_bursts", ["ad_account_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_comment_bursts_ad_account_id"), table_name="comment_bursts")
    op.drop_table("comment_bursts")
    op.drop_table("pixel_signals")
    op.drop_index(op.f("ix_pixel_watches_due_at"), table_name="pixel_watches")
    op.drop_table("pixel_watches")
    with op.batch_alter_table("ad_comments") as batch:
        batch.drop_index(op.f("ix_ad_comments_burst_id"))
        batch.drop_column("burst_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("burst_threshold")
        batch.drop_column("negative_words")
