""" "Tracking broken?" (issue 17): per ad account, a leased job reads its pixels' event counts;
per pixel event, what it last saw — kept while the account is synced and deleted with the
connection (storage/inventory.py). Also the bursts of negative comments alerted on."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class PixelWatch(Base):
    """An ad account whose pixels are watched for silence, leased like a sync job."""

    __tablename__ = "pixel_watches"
    __table_args__ = (UniqueConstraint("ad_account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ad_account_id: Mapped[int] = mapped_column(ForeignKey("ad_accounts.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PixelSignal(Base):
    """One event of one pixel as last read: today's count (the account's day), when it was
    last seen to grow, the 7 days before today, and the open incident (alerted) if any."""

    __tablename__ = "pixel_signals"
    __table_args__ = (UniqueConstraint("ad_account_id", "pixel_id", "event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ad_account_id: Mapped[int] = mapped_column(ForeignKey("ad_accounts.id", ondelete="CASCADE"))
    pixel_id: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(64))  # the optimisation event, e.g. COMPLETE_PAYMENT
    pixel_name: Mapped[str] = mapped_column(String(256), default="")
    event_name: Mapped[str] = mapped_column(String(128), default="")
    day: Mapped[date] = mapped_column(Date)  # the account's local day of `count`
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    baseline_day: Mapped[date | None] = mapped_column(Date)  # `baseline` is of the 7 days before
    baseline: Mapped[int] = mapped_column(BigInteger, default=0)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime)  # last seen to grow (or watched from)
    incident_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # alerted, not yet back
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommentBurst(Base):
    """A burst of negative comments under one ad that was alerted on; its comments point here
    (ad_comments.burst_id) so "Hide all" and its Undo act on exactly those."""

    __tablename__ = "comment_bursts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ad_account_id: Mapped[int] = mapped_column(
        ForeignKey("ad_accounts.id", ondelete="CASCADE"), index=True
    )
    ad_id: Mapped[str] = mapped_column(String(32))
    ad_name: Mapped[str] = mapped_column(String(256), default="")
    count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # "Hide all" pressed
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # its Undo pressed
