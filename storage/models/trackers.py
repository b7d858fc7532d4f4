"""Affiliate tracker connections, their mapping to TikTok, pulled revenue, the cost-push log."""

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
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Micros, UTCDateTime, utcnow


class Tracker(Base):
    """A Keitaro or Binom instance a user connected; its API key lives in `credentials`."""

    __tablename__ = "trackers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # keitaro | binom1 | binom2
    name: Mapped[str] = mapped_column(String(128), default="")
    base_url: Mapped[str] = mapped_column(String(512))
    credential_id: Mapped[int | None] = mapped_column(
        ForeignKey("credentials.id", ondelete="SET NULL")
    )
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")  # the tracker's own zone
    currency: Mapped[str] = mapped_column(String(3), default="USD")  # the tracker's currency
    status: Mapped[str] = mapped_column(String(16), default="active")  # active|failing|disconnected
    # Set when a lower plan paused it (core/billing/enforce.py); cleared on upgrade.
    plan_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Discrepancy alert threshold, percent (TikTok vs tracker clicks / conversions).
    discrepancy_pct: Mapped[int] = mapped_column(Integer, default=20)
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purge_after: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The recurring push + pull, claimed with a lease like sync jobs (core/trackers/jobs.py).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    push_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last push all sent
    mapped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last full auto-mapping


class TrackerLink(Base):
    """Which tracker campaign receives a TikTok campaign's clicks, and where its ids land.

    source: auto (found by the ids in the tracker's report) | manual (picked by the user) |
    pattern (a TikTok campaign name pattern, `pattern` set and `tiktok_campaign_id` NULL).
    """

    __tablename__ = "tracker_links"
    __table_args__ = (
        UniqueConstraint("tracker_id", "ad_account_id", "tiktok_campaign_id"),
        Index("ix_tracker_links_account", "ad_account_id", "tiktok_campaign_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracker_id: Mapped[int] = mapped_column(ForeignKey("trackers.id", ondelete="CASCADE"))
    ad_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("ad_accounts.id", ondelete="CASCADE")
    )
    tiktok_campaign_id: Mapped[str | None] = mapped_column(String(32))
    pattern: Mapped[str | None] = mapped_column(String(128))
    tracker_campaign_id: Mapped[str] = mapped_column(String(64))
    tracker_campaign_name: Mapped[str] = mapped_column(String(256), default="")
    source: Mapped[str] = mapped_column(String(8))
    # TikTok level -> click field (core.trackers.base.TrackerCampaign.id_fields).
    id_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrackerDaily(Base):
    """A tracker's numbers for one mapped TikTok object on one day of its ad account's zone.

    Money is in the ad account's currency (converted at pull with the user's rate for the
    pair; a pair without a rate is not pulled), so it sits beside TikTok's spend directly.
    """

    __tablename__ = "tracker_daily"

    ad_account_id: Mapped[int] = mapped_column(
        ForeignKey("ad_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[str] = mapped_column(String(10), primary_key=True)  # campaign|adgroup|ad
    object_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    tracker_id: Mapped[int] = mapped_column(
        ForeignKey("trackers.id", ondelete="CASCADE"), index=True
    )
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    conversions: Mapped[int] = mapped_column(BigInteger, default=0)  # approved
    pending: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue: Mapped[Decimal] = mapped_column(Micros, default=Decimal(0))  # approved
    pending_revenue: Mapped[Decimal] = mapped_column(Micros, default=Decimal(0))
    pulled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrackerUnmapped(Base):
    """Tracker numbers whose id matches no synced TikTok object: shown as such, never guessed."""

    __tablename__ = "tracker_unmapped"

    tracker_id: Mapped[int] = mapped_column(
        ForeignKey("trackers.id", ondelete="CASCADE"), primary_key=True
    )
    tracker_campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    id_value: Mapped[str] = mapped_column(String(64), primary_key=True)  # "" when none
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    conversions: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue: Mapped[Decimal] = mapped_column(Micros, default=Decimal(0))  # tracker currency
    pulled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrackerPush(Base):
    """One cost item sent to a tracker, with the TikTok spend it came from and the answer."""

    __tablename__ = "tracker_pushes"
    __table_args__ = (Index("ix_tracker_pushes_day", "tracker_id", "tracker_campaign_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracker_id: Mapped[int] = mapped_column(ForeignKey("trackers.id", ondelete="CASCADE"))
    tracker_campaign_id: Mapped[str] = mapped_column(String(64))
    ad_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("ad_accounts.id", ondelete="CASCADE")
    )
    day: Mapped[date] = mapped_column(Date)
    id_field: Mapped[str | None] = mapped_column(String(32))
    id_value: Mapped[str | None] = mapped_column(String(64))
    tiktok_campaign_id: Mapped[str | None] = mapped_column(String(32))  # whose spend it is
    spend: Mapped[Decimal] = mapped_column(Micros)  # TikTok's, in spend_currency
    spend_currency: Mapped[str] = mapped_column(String(3))
    cost: Mapped[Decimal | None] = mapped_column(Micros)  # what was sent, in `currency`
    currency: Mapped[str] = mapped_column(String(3))
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    answer: Mapped[str] = mapped_column(String(300), default="")  # the tracker's words / refusal
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FxRate(Base):
    """A conversion rate a user set: 1 `base` = `rate` `quote`. Never fetched or guessed."""

    __tablename__ = "fx_rates"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    base: Mapped[str] = mapped_column(String(3), primary_key=True)
    quote: Mapped[str] = mapped_column(String(3), primary_key=True)
    rate: Mapped[str] = mapped_column(String(40))  # Decimal as text: exact, any precision
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
