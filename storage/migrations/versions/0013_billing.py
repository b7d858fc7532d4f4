"""billing: the payments ledger's plan columns, entitlements, plan_paused_at on what limits pause

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 11:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = storage.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=8), nullable=False,
                                   server_default="stars"))
        batch.add_column(sa.Column("plan", sa.String(length=16), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("days", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("recurring", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("first_recurring", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("expires_at", _WHEN, nullable=True))
        batch.add_column(sa.Column("refunded_at", _WHEN, nullable=True))
        batch.add_column(sa.Column("refunded_by", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("granted_by", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("reason", sa.String(length=200), nullable=True))
    op.create_table(
        "entitlements",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("plan", sa.String(length=16), nullable=False),
        sa.Column("paid_until", _WHEN, nullable=True),
        sa.Column("grace_until", _WHEN, nullable=True),
        sa.Column("subscription_charge_id", sa.String(length=128), nullable=True),
        sa.Column("renews", sa.Boolean(), nullable=False),
        sa.Column("canceled_at", _WHEN, nullable=True),
        sa.Column("reminded_end", _WHEN, nullable=True),
        sa.Column("reminded_days", sa.Integer(), nullable=True),
        sa.Column("applied_plan", sa.String(length=16), nullable=False),
        sa.Column("due_at", _WHEN, nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", _WHEN, nullable=True),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_entitlements_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_entitlements")),
    )
    with op.batch_alter_table("entitlements") as batch:
        batch.create_index(batch.f("ix_entitlements_due_at"), ["due_at"], unique=False)
    for table in ("ad_accounts", "rules", "trackers"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("plan_paused_at", _WHEN, nullable=True))


def downgrade() -> None:
    for table in ("trackers", "rules", "ad_accounts"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("plan_paused_at")
    with op.batch_alter_table("entitlements") as batch:
        batch.drop_index(batch.f("ix_entitlements_due_at"))
    op.drop_table("entitlements")
    with op.batch_alter_table("payments") as batch:
        for column in ("reason", "granted_by", "refunded_by", "refunded_at", "expires_at",
                       "first_recurring", "recurring", "days", "plan", "kind"):
            batch.drop_column(column)
