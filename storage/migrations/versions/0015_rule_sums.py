"""rule_sums: each object's daily metrics summed per segment of days, for rules (issue 11)

No backfill here: the first daily write of an account's sync after this migration rebuilds all of
the account's rows (storage.repos.sync.SyncRepo.refresh_rule_sums: an account without rows is
rebuilt whole), and until then rules read such an account the old way, with the same results.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# storage.models.ads RULE_SUM_STARTS and RULE_SUM_FIELDS as of this revision.
_SEGMENTS = 11
_FIELDS = ("rows", "spend", "impressions", "clicks", "conversions", "purchase_value")


def upgrade() -> None:
    op.create_table(
        "rule_sums",
        sa.Column("ad_account_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("object_id", sa.String(length=32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        *(
            sa.Column(f"s{segment}_{name}", sa.BigInteger(), nullable=False)
            for segment in range(_SEGMENTS)
            for name in _FIELDS
        ),
        sa.ForeignKeyConstraint(
            ["ad_account_id"],
            ["ad_accounts.id"],
            name=op.f("fk_rule_sums_ad_account_id_ad_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ad_account_id", "level", "object_id", name=op.f("pk_rule_sums")),
    )


def downgrade() -> None:
    op.drop_table("rule_sums")
