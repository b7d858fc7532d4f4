"""admin: broadcasts, service-wide job leases (reconciliation), when a sync job last failed

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = storage.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("operator_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("queued_at", _WHEN, nullable=True),
        sa.Column("canceled_at", _WHEN, nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("reported_at", _WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
        sa.UniqueConstraint("key", name=op.f("uq_broadcasts_key")),
    )
    with op.batch_alter_table("broadcasts") as batch:
        batch.create_index(batch.f("ix_broadcasts_operator_id"), ["operator_id"], unique=False)
        batch.create_index(batch.f("ix_broadcasts_reported_at"), ["reported_at"], unique=False)
    op.create_table(
        "operator_jobs",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", _WHEN, nullable=True),
        sa.Column("started_by", sa.BigInteger(), nullable=True),
        sa.Column("last_started_at", _WHEN, nullable=True),
        sa.Column("last_finished_at", _WHEN, nullable=True),
        sa.Column("last_result", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_operator_jobs")),
    )
    with op.batch_alter_table("sync_jobs") as batch:
        batch.add_column(sa.Column("last_error_at", _WHEN, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_jobs") as batch:
        batch.drop_column("last_error_at")
    op.drop_table("operator_jobs")
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_index(batch.f("ix_broadcasts_reported_at"))
        batch.drop_index(batch.f("ix_broadcasts_operator_id"))
    op.drop_table("broadcasts")
