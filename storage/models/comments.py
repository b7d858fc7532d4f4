"""Comments under the user's ads (issue 17): which campaigns are watched, and the comments
pulled from TikTok — kept 30 days (core/comments.py purges older ones) and deleted with the
connection like all synced data (storage/inventory.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class CommentWatch(Base):
    """A campaign whose ads' new comments are pulled on a schedule, leased like a sync job."""

    __tablename__ = "comment_watches"
    __table_args__ = (UniqueConstraint("ad_account_id", "campaign_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ad_account_id: Mapped[int] = mapped_column(ForeignKey("ad_accounts.id", ondelete="CASCADE"))
    campaign_id: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Comments written before this are not announced (watching starts now, not a backlog).
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AdComment(Base):
    """One comment pulled from TikTok, as last seen; `status` PUBLIC or HIDDEN."""

    __tablename__ = "ad_comments"
    __table_args__ = (
        UniqueConstraint("ad_account_id", "comment_id"),
        Index("ix_ad_comments_fetched", "fetched_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ad_account_id: Mapped[int] = mapped_column(ForeignKey("ad_accounts.id", ondelete="CASCADE"))
    comment_id: Mapped[str] = mapped_column(String(32))
    ad_id: Mapped[str] = mapped_column(String(32))
    adgroup_id: Mapped[str] = mapped_column(String(32))
    campaign_id: Mapped[str] = mapped_column(String(32))
    ad_name: Mapped[str] = mapped_column(String(256), default="")
    # TikTok allows 150 characters; kept whole up to 1000 in case of longer ones.
    content: Mapped[str] = mapped_column(String(1000), default="")
    author: Mapped[str] = mapped_column(String(128), default="")  # the commenter's TikTok name
    status: Mapped[str] = mapped_column(String(8), default="PUBLIC")
    created_time: Mapped[datetime] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when TTPulse hid it by the user's words (the log of automatic hides; Unhide undoes).
    auto_hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    matched: Mapped[str | None] = mapped_column(String(40))  # the word that hid it
    # Since when it is pinned on its ad's video (read back at TikTok); None: not pinned.
    pinned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The burst of negative comments it was alerted in (comment_bursts.id; core/comment_bursts.py).
    burst_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # When TTPulse last hid, showed, pinned or unpinned it at TikTok. A pull whose listing began
    # before then may have read it as it was, so it leaves the status and pin alone.
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
