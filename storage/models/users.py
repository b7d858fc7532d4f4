"""Users."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class User(Base):
    """A Telegram user who finished sign-up."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(128), default="")
    last_name: Mapped[str | None] = mapped_column(String(128))
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="en")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    email: Mapped[str | None] = mapped_column(String(254))
    adult_confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    terms_accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    terms_version: Mapped[str] = mapped_column(String(16))
    privacy_accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    marketing_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    marketing_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    marketing_withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    start_payload: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Quiet hours in the user's time zone (hour 0-23, from inclusive, to exclusive): alerts
    # that are not urgent wait until `quiet_to`. Both None: no quiet hours.
    quiet_from: Mapped[int | None] = mapped_column(SmallInteger)
    quiet_to: Mapped[int | None] = mapped_column(SmallInteger)
    # Set when Telegram says the user blocked the bot (a 403, or a my_chat_member "kicked"):
    # alerts wait instead of failing one by one, and go out when the user comes back.
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Restriction / objection (GDPR Art. 18, 21): while set, no sync, rule or alert runs for the
    # user; nothing is deleted. Cleared when the user resumes.
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Optional TikTok features the user switched on (core/features.py), comma-separated; off by
    # default, and a feature that is off makes no call to its endpoints (issue 17).
    features: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # Words whose comments are hidden automatically (core/comments.py), comma-separated.
    comment_words: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # Negative words (core/comment_bursts.py): this many comments with them under one ad within
    # an hour make one alert.
    negative_words: Mapped[str] = mapped_column(String(500), default="", server_default="")
    burst_threshold: Mapped[int] = mapped_column(SmallInteger, default=5, server_default="5")
