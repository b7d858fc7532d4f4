"""Creatives (the user's library and where each file was uploaded), campaign templates, and
bulk launches with their persisted plan of items."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class Creative(Base):
    """A video or image in a user's library (the file itself stays with Telegram)."""

    __tablename__ = "creatives"
    __table_args__ = (UniqueConstraint("user_id", "md5"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # video | image
    name: Mapped[str] = mapped_column(String(256))
    file_name: Mapped[str] = mapped_column(String(256), default="")
    mime_type: Mapped[str] = mapped_column(String(64), default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0)  # bytes
    duration: Mapped[int | None] = mapped_column(Integer)  # seconds (videos)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    md5: Mapped[str] = mapped_column(String(32))  # hex; TikTok's upload signature (spec §5.1)
    tg_file_id: Mapped[str | None] = mapped_column(String(256))  # where to download it again
    source_url: Mapped[str | None] = mapped_column(String(2048))  # added by URL
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary)  # small JPEG, when known
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CreativeUpload(Base):
    """A creative as uploaded to one ad account: TikTok's video_id or image_id for it."""

    __tablename__ = "creative_uploads"
    __table_args__ = (UniqueConstraint("creative_id", "ad_account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    creative_id: Mapped[int] = mapped_column(ForeignKey("creatives.id", ondelete="CASCADE"))
    ad_account_id: Mapped[int] = mapped_column(
        ForeignKey("ad_accounts.id", ondelete="CASCADE"), index=True
    )
    tiktok_id: Mapped[str] = mapped_column(String(64))  # video_id or image_id
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Template(Base):
    """A campaign template: the versioned JSON document of core.templates.document."""

    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Launch(Base):
    """A bulk launch: template × ad accounts × creatives, approved once, run with a lease.

    States: proposed → approved (or scheduled) → running → done / failed; or rejected /
    expired before it runs.
    """

    __tablename__ = "launches"
    __table_args__ = (Index("ix_launches_due", "state", "run_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("templates.id", ondelete="SET NULL"))
    template_name: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)  # the template as launched
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # accounts, creatives...
    state: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(default=True)  # create active (or paused)
    run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # scheduled start
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # approval
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LaunchItem(Base):
    """One campaign, ad group or ad a launch creates: planned before anything is created,
    then pending → created (with TikTok's id) or failed (with TikTok's message)."""

    __tablename__ = "launch_items"
    __table_args__ = (UniqueConstraint("launch_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    launch_id: Mapped[int] = mapped_column(
        ForeignKey("launches.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)  # creation order: parents before children
    level: Mapped[str] = mapped_column(String(8))  # campaign | adgroup | ad
    ad_account_id: Mapped[int] = mapped_column(ForeignKey("ad_accounts.id", ondelete="CASCADE"))
    parent_seq: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(512))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # geo/creative indexes
    request_id: Mapped[str] = mapped_column(String(32))  # TikTok's idempotency key (spec §4.2)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    tiktok_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
