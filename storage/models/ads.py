"""TikTok connections, ad accounts, their structure, synced metrics and sync work items."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Micros, UTCDateTime, utcnow


class OAuthState(Base):
    """A consent attempt: the nonce inside the signed `state`, usable once before it expires."""

    __tablename__ = "oauth_states"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[int | None] = mapped_column(Integer)  # set when reconnecting
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TikTokConnection(Base):
    """One TikTok for Business login a user connected; its token lives in `credentials`."""

    __tablename__ = "tiktok_connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[int | None] = mapped_column(
        ForeignKey("credentials.id", ondelete="SET NULL")
    )
    tiktok_user_id: Mapped[str | None] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(256), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")  # active|broken|disconnected
    broken_reason: Mapped[str | None] = mapped_column(String(300))
    broken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purge_after: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # The purge job's lease (core/privacy/purge.py): one instance deletes a connection at a time.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The scope ids TikTok's token answer listed (spec §2.3), comma-separated, as TikTok sent
    # them; read again at every reconnect. None: connected before scopes were read.
    scope: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AdAccount(Base):
    """A TikTok advertiser reachable through a connection."""

    __tablename__ = "ad_accounts"
    __table_args__ = (UniqueConstraint("connection_id", "advertiser_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("tiktok_connections.id", ondelete="CASCADE"), index=True
    )
    advertiser_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(256), default="")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    status: Mapped[str] = mapped_column(String(64), default="")
    bc_id: Mapped[str | None] = mapped_column(String(32))
    bc_name: Mapped[str | None] = mapped_column(String(256))
    tracked: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when a lower plan stopped tracking it (core/billing/enforce.py); cleared on upgrade.
    plan_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fresh_as_of: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the login no longer reaches the advertiser: its data is deleted then, unless a
    # reconnect finds it again. The lease is the purge job's (core/privacy/purge.py).
    purge_after: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SyncJob(Base):
    """A recurring sync of one ad account, claimed by one worker at a time with a lease."""

    __tablename__ = "sync_jobs"
    __table_args__ = (UniqueConstraint("ad_account_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ad_account_id: Mapped[int] = mapped_column(ForeignKey("ad_accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # "today" (intraday) | "window" (back days)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when it last failed
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AdObject(Base):
    """A campaign, ad group or ad as last synced (one table: rules and stats treat them alike)."""

    __tablename__ = "ad_objects"
    __table_args__ = (
        UniqueConstraint("ad_account_id", "level", "object_id"),
        Index("ix_ad_objects_campaign", "ad_account_id", "level", "campaign_id"),
        Index("ix_ad_objects_adgroup", "ad_account_id", "level", "adgroup_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ad_account_id: Mapped[int] = mapped_column(ForeignKey("ad_accounts.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(8))  # campaign | adgroup | ad
    object_id: Mapped[str] = mapped_column(String(32))
    campaign_id: Mapped[str | None] = mapped_column(String(32))
    adgroup_id: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(512), default="")
    operation_status: Mapped[str | None] = mapped_column(String(32))
    secondary_status: Mapped[str | None] = mapped_column(String(64))
    objective: Mapped[str | None] = mapped_column(String(64))
    budget_mode: Mapped[str | None] = mapped_column(String(32))
    budget: Mapped[Decimal | None] = mapped_column(Micros)
    # Campaigns only: campaign budget optimisation (spec §4.1); its ad groups have no budget.
    budget_optimize_on: Mapped[bool | None] = mapped_column(Boolean)
    bid_type: Mapped[str | None] = mapped_column(String(32))
    bid: Mapped[Decimal | None] = mapped_column(Micros)  # the custom bid; None without one
    created_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the listing it was synced from began (core.sync._pull_structure).
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When TTPulse last changed it at TikTok (status, budget, bid; read back). A sync whose
    # listing began before then may hold the old values, so it leaves the row as it is.
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ObjectValue(Base):
    """A campaign's or ad group's bid or budget from `valid_from` until the next row of the
    same field (value None: none from then on), as syncs saw it change: the history rule
    backtests read. TikTok keeps no such history for us (its reports carry no bid), and our own
    audit log sees only the changes made here, not those made in TikTok Ads Manager."""

    __tablename__ = "ad_object_values"
    __table_args__ = (
        Index("ix_ad_object_values_object", "ad_account_id", "level", "object_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ad_account_id: Mapped[int] = mapped_column(ForeignKey("ad_accounts.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(8))
    object_id: Mapped[str] = mapped_column(String(32))
    field: Mapped[str] = mapped_column(String(8))  # bid | budget
    value: Mapped[Decimal | None] = mapped_column(Micros)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)


class MetricDaily(Base):
    """One object's metrics for one day of its ad account's time zone."""

    __tablename__ = "metrics_daily"

    ad_account_id: Mapped[int] = mapped_column(
        ForeignKey("ad_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[str] = mapped_column(String(10), primary_key=True)  # advertiser|campaign|...
    object_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    spend: Mapped[Decimal] = mapped_column(Micros, default=Decimal(0))
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    conversions: Mapped[int] = mapped_column(BigInteger, default=0)
    purchase_value: Mapped[Decimal] = mapped_column(Micros, default=Decimal(0))
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MetricHourly(Base):
    """One object's metrics for one hour (0-23) of a day in its ad account's time zone."""

    __tablename__ = "metrics_hourly"

    ad_account_id: Mapped[int] = mapped_column(
        ForeignKey("ad_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[str] = mapped_column(String(10), primary_key=True)
    object_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hour: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    spend: Mapped[Decimal] = mapped_column(Micros, default=Decimal(0))
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    conversions: Mapped[int] = mapped_column(BigInteger, default=0)
    purchase_value: Mapped[Decimal] = mapped_column(Micros, default=Decimal(0))
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Base):
    """An alert to deliver: written first, then sent by the notifier exactly once per event."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str] = mapped_column(String(128), unique=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    # Set just before the send: a row with sending_at but no sent_at may have reached
    # Telegram before a crash; the notifier checks before sending it again.
    sending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tg_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # Rule alerts of one scheduler tick share a batch: the notifier delivers a chat's due
    # alerts of one batch as one digest (bot/notifier.py). The leader's id is written into
    # the others (`merged_into`) before the send, so the set it delivers is fixed and none of
    # them is ever claimed on its own again.
    batch: Mapped[str | None] = mapped_column(String(40))
    merged_into: Mapped[int | None] = mapped_column(Integer, index=True)


class SentMessage(Base):
    """A message the bot made in a user's private chat: what an in-doubt alert's probe must
    never edit, and where it starts and stops looking (bot/sent_ledger.py, bot/notifier.py)."""

    __tablename__ = "sent_messages"

    # The private chat's id, which is the user's id (no foreign key: the bot answers people
    # before they sign up).
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # Before the request left (Telegram made the message later) and after its answer (earlier).
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    outbox_id: Mapped[int | None] = mapped_column(Integer)  # the alert it delivered, if one


# Pre-aggregated sums for rules (issue 11; storage/rule_sums.py): each object's days cut into
# segments counted back from the account's local day `as_of` (today, yesterday, 2 days ago,
# 3, 4-6, 7, 8-13, 14, 15-29, 30, 31 and older): every window a rule can name (today,
# yesterday, 3/7/14/30 days with or without today, lifetime) is a run of these segments.
# Starts in days before `as_of`; the migration (0015) keeps its own copy of this tuple.
RULE_SUM_STARTS = (0, 1, 2, 3, 4, 7, 8, 14, 15, 30, 31)
# Per segment: how many daily rows it holds, then the summed metrics (money as integer micros).
RULE_SUM_FIELDS = ("rows", "spend", "impressions", "clicks", "conversions", "purchase_value")


def rule_sum_column(segment: int, name: str) -> str:
    """The column holding `name` (RULE_SUM_FIELDS) of one segment."""
    return f"s{segment}_{name}"


class RuleSum(Base):
    """One object's daily metrics summed per segment of days before `as_of` (rules read these
    instead of aggregating metrics_daily; written with metrics_daily in one transaction)."""

    __tablename__ = "rule_sums"

    ad_account_id: Mapped[int] = mapped_column(
        ForeignKey("ad_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[str] = mapped_column(String(10), primary_key=True)
    object_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    # s0_rows, s0_spend, ... s10_purchase_value: generated (66 columns, all BIGINT NOT NULL).
    for _seg in range(len(RULE_SUM_STARTS)):
        for _name in RULE_SUM_FIELDS:
            locals()[rule_sum_column(_seg, _name)] = mapped_column(
                BigInteger, default=0, nullable=False
            )
    del _seg, _name
