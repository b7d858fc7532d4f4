"""Watched campaigns and pulled comments (issue 17)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import leases
from storage.models import AdAccount, AdComment, AdObject, CommentWatch, TikTokConnection, User


@dataclass(frozen=True, slots=True)
class ClaimedWatch:
    """A leased watch with what pulling it needs."""

    watch_id: int
    account_id: int
    advertiser_id: str
    campaign_id: str
    since: datetime
    last_ok_at: datetime | None
    user_id: int
    connection_id: int
    credential_id: int
    words: tuple[str, ...] = ()  # the user's hide words (core/comments.py)
    negative: tuple[str, ...] = ()  # the user's negative words (core/comment_bursts.py)
    threshold: int = 5  # negative comments an hour under one ad that make a burst


class CommentsRepo:
    """Queries over comment_watches and ad_comments."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def watches(self, user_id: int) -> list[tuple[CommentWatch, AdAccount]]:
        """The user's watched campaigns with their ad accounts."""
        rows = await self._s.execute(
            select(CommentWatch, AdAccount)
            .join(AdAccount, AdAccount.id == CommentWatch.ad_account_id)
            .join(TikTokConnection, TikTokConnection.id == AdAccount.connection_id)
            .where(TikTokConnection.user_id == user_id)
            .order_by(CommentWatch.id)
        )
        return [(w, a) for w, a in rows.tuples()]

    async def watch(self, account_id: int, campaign_id: str) -> CommentWatch | None:
        """One account's watch of a campaign."""
        return await self._s.scalar(select(CommentWatch).where(
            CommentWatch.ad_account_id == account_id, CommentWatch.campaign_id == campaign_id))

    def add_watch(self, watch: CommentWatch) -> None:
        """Stage a new watch."""
        self._s.add(watch)

    async def remove_watch(self, watch: CommentWatch) -> None:
        """Stop watching a campaign."""
        await self._s.delete(watch)

    async def claim_due(self, now: datetime, owner: str, lease_until: datetime, feature: str,
                        limit: int) -> list[ClaimedWatch]:
        """Lease due watches whose user has the feature on, is not paused, whose ad account is
        tracked (an account the plan paused makes no calls either) and whose connection is
        active (a user with the feature off is never claimed: no call is made for them)."""
        free = or_(CommentWatch.lease_until.is_(None), CommentWatch.lease_until < now)
        pick = (
            select(CommentWatch.id, CommentWatch.lease_until)
            .join(AdAccount, AdAccount.id == CommentWatch.ad_account_id)
            .join(TikTokConnection, TikTokConnection.id == AdAccount.connection_id)
            .join(User, User.id == TikTokConnection.user_id)
            .where(
                CommentWatch.due_at <= now, free,
                TikTokConnection.status == "active", TikTokConnection.credential_id.is_not(None),
                AdAccount.purge_after.is_(None), AdAccount.tracked.is_(True),
                User.paused_at.is_(None),
                User.deleted_at.is_(None),
                or_(User.features == feature, User.features.like(f"%{feature}%")),
            )
            .order_by(CommentWatch.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=CommentWatch)
        )
        values = {"lease_owner": owner, "lease_until": lease_until}
        ids = await leases.claim_ids(self._s, CommentWatch, pick, free, values, "comment_watches")
        if not ids:
            return []
        rows = await self._s.execute(
            select(CommentWatch, AdAccount, TikTokConnection, User.comment_words,
                   User.negative_words, User.burst_threshold)
            .join(AdAccount, AdAccount.id == CommentWatch.ad_account_id)
            .join(TikTokConnection, TikTokConnection.id == AdAccount.connection_id)
            .join(User, User.id == TikTokConnection.user_id)
            .where(CommentWatch.id.in_(ids))
        )
        return [
            ClaimedWatch(w.id, a.id, a.advertiser_id, w.campaign_id, w.since, w.last_ok_at,
                         c.user_id, c.id, c.credential_id or 0,
                         tuple(x for x in (words or "").split(",") if x),
                         tuple(x for x in (negative or "").split(",") if x), threshold or 5)
            for w, a, c, words, negative, threshold in rows.tuples()
        ]

    async def release(self, watch_id: int, owner: str, due_at: datetime, *,
                      ok_at: datetime | None = None, error: str | None = None) -> None:
        """Give a watch back, due again at `due_at`."""
        values: dict[str, object] = {"lease_owner": None, "lease_until": None, "due_at": due_at,
                                     "last_error": error[:300] if error else None}
        if ok_at is not None:
            values["last_ok_at"] = ok_at
        await self._s.execute(update(CommentWatch).where(
            CommentWatch.id == watch_id, CommentWatch.lease_owner == owner).values(**values))

    async def release_all(self, owner: str) -> None:
        """Give back every lease this worker holds (clean shutdown)."""
        await self._s.execute(update(CommentWatch).where(CommentWatch.lease_owner == owner)
                              .values(lease_owner=None, lease_until=None))

    async def adgroups(self, account_id: int, campaign_id: str) -> list[str]:
        """The synced ad groups of a campaign."""
        return list(await self._s.scalars(select(AdObject.object_id).where(
            AdObject.ad_account_id == account_id, AdObject.level == "adgroup",
            AdObject.campaign_id == campaign_id).order_by(AdObject.object_id)))

    async def campaigns(self, account_ids: Sequence[int]) -> list[AdObject]:
        """The synced campaigns of some ad accounts, by name."""
        return list(await self._s.scalars(select(AdObject).where(
            AdObject.ad_account_id.in_(list(account_ids)), AdObject.level == "campaign")
            .order_by(AdObject.ad_account_id, AdObject.name)))

    async def known(self, account_id: int, comment_ids: Sequence[str]) -> dict[str, AdComment]:
        """Stored comments of an account among some ids."""
        if not comment_ids:
            return {}
        rows = await self._s.scalars(select(AdComment).where(
            AdComment.ad_account_id == account_id, AdComment.comment_id.in_(list(comment_ids))))
        return {r.comment_id: r for r in rows}

    def add(self, comment: AdComment) -> None:
        """Stage a new comment."""
        self._s.add(comment)

    async def comment(self, user_id: int, comment_row_id: int) -> tuple[AdComment, AdAccount,
                                                                        TikTokConnection] | None:
        """One of the user's stored comments with its ad account and connection."""
        row = (await self._s.execute(
            select(AdComment, AdAccount, TikTokConnection)
            .join(AdAccount, AdAccount.id == AdComment.ad_account_id)
            .join(TikTokConnection, TikTokConnection.id == AdAccount.connection_id)
            .where(AdComment.id == comment_row_id,
                   and_(TikTokConnection.user_id == user_id,
                        TikTokConnection.status != "disconnected"))
        )).tuples().first()
        return (row[0], row[1], row[2]) if row is not None else None

    async def unpin_others(self, account_id: int, ad_id: str, keep_id: int,
                           now: datetime) -> None:
        """Mark the ad's other stored comments not pinned (a video shows one pinned comment)."""
        await self._s.execute(
            update(AdComment)
            .where(AdComment.ad_account_id == account_id, AdComment.ad_id == ad_id,
                   AdComment.id != keep_id, AdComment.pinned_at.is_not(None))
            .values(pinned_at=None, changed_at=now))

    async def purge_before(self, cutoff: datetime) -> int:
        """Delete comments pulled before `cutoff` (the 30-day retention)."""
        result = await self._s.execute(delete(AdComment).where(AdComment.fetched_at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
