"""budget and bid eligibility: campaigns' budget optimisation, rule runs' skipped objects

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ad_objects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("budget_optimize_on", sa.Boolean(), nullable=True))
    with op.batch_alter_table("rule_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("skipped", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rule_runs", schema=None) as batch_op:
        batch_op.drop_column("skipped")
    with op.batch_alter_table("ad_objects", schema=None) as batch_op:
        batch_op.drop_column("budget_optimize_on")
