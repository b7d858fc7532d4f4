"""sent_messages: the bot's own messages in each private chat

An alert whose send was cut off by a crash is looked for before it is sent again, by editing the
chat's messages after the last one known into its text (bot/notifier.py). Only alerts were known,
so a reply to a command in between was overwritten with the alert's text. Every message the bot
makes is now recorded, and the probe edits none of them. Self-contained; chained after 0022.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = storage.models.base.UTCDateTime(timezone=True)
    op.create_table(
        "sent_messages",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("asked_at", utc, nullable=False),
        sa.Column("answered_at", utc, nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", "message_id", name=op.f("pk_sent_messages")),
    )
    op.create_index(op.f("ix_sent_messages_answered_at"), "sent_messages", ["answered_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sent_messages_answered_at"), table_name="sent_messages")
    op.drop_table("sent_messages")
