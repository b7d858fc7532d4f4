"""web identities: Google accounts linked to users for the dashboard's sign-in, and the
OpenID Connect round trips in progress (issue 16)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = storage.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "web_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("last_used_at", _WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_web_identities_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_identities")),
        sa.UniqueConstraint("provider", "subject", name="uq_web_identities_provider_subject"),
        sa.UniqueConstraint("user_id", "provider", name="uq_web_identities_user_provider"),
    )
    op.create_index(op.f("ix_web_identities_user_id"), "web_identities", ["user_id"])
    op.create_table(
        "web_oidc_flows",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("verifier", sa.String(length=128), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("expires_at", _WHEN, nullable=False),
        sa.Column("used_at", _WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_web_oidc_flows_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_oidc_flows")),
    )
    op.create_index(op.f("ix_web_oidc_flows_user_id"), "web_oidc_flows", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_web_oidc_flows_user_id"), table_name="web_oidc_flows")
    op.drop_table("web_oidc_flows")
    op.drop_index(op.f("ix_web_identities_user_id"), table_name="web_identities")
    op.drop_table("web_identities")
