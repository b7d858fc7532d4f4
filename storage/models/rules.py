"""Automation rules, their runs, and the actions they took or proposed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class Rule(Base):
    """A user's rule: the one-line form (`text`) plus scope, schedule, limits and mode."""

    __tablename__ = "rules"
    __table_args__ = (Index("ix_rules_due", "enabled", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(String(600))  # canonical one-line form (core.rules.text)
    level: Mapped[str] = mapped_column(String(8))
    # JSON documents owned by core.rules.settings (scope, schedule, frequency, modes).
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when a lower plan switched it off (core/billing/enforce.py); cleared on upgrade.
    plan_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Told once per stale spell (core.rules.engine): each account whose data was too old at
    # the last run ("<id>", or "<id>:tracker" for tracker data) → when that spell began.
    stale_since: Mapped[dict[str, str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RuleRun(Base):
    """One run of a rule: when, on data as of when, what it checked, matched and did."""

    __tablename__ = "rule_runs"
    __table_args__ = (UniqueConstraint("rule_id", "slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id", ondelete="CASCADE"), index=True)
    slot: Mapped[datetime] = mapped_column(UTCDateTime)  # the due time this run served
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    data_as_of: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|ok|stale|error
    checked: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    acted: Mapped[int] = mapped_column(Integer, default=0)
    proposed: Mapped[int] = mapped_column(Integer, default=0)
    # Matched objects that cannot take the rule's change, per reason (core.eligibility).
    skipped: Mapped[dict[str, int] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(String(300))


class RuleAction(Base):
    """A change a rule made, proposed or announced on one object, with before and after.

    `key` makes a run's action idempotent: a retried run finds its row instead of acting twice.
    """

    __tablename__ = "rule_actions"
    __table_args__ = (
        Index("ix_rule_actions_object", "rule_id", "ad_account_id", "object_id", "created_at"),
        Index("ix_rule_actions_state", "state", "expires_at"),
        Index("ix_rule_actions_reenable", "reenable_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("rules.id", ondelete="SET NULL"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("rule_runs.id", ondelete="SET NULL"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    ad_account_id: Mapped[int] = mapped_column(ForeignKey("ad_accounts.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(8))
    object_id: Mapped[str] = mapped_column(String(32))
    object_name: Mapped[str] = mapped_column(String(512), default="")
    kind: Mapped[str] = mapped_column(String(16))  # core.rules.model.ActionKind
    # proposed|applying|applied|failed|rejected|expired|undone|alerted
    state: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the action's settings
    trigger: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # values that matched
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # approvals
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undo_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reenable_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # pause for today
    reenabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
