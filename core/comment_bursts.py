"""Bursts of negative comments (issue 17 "alert on a burst of negative words").

The user lists negative words (any language, edited like the hide words) and a threshold
(default 5). When a pull brings a new comment with one of those words under an ad and that ad
now has at least `threshold` such comments written within the last hour, one alert goes out with
the ad's name, the count and a few examples; the ad gets no second burst alert within the hour
after one. The alert's "Hide all" hides every one of the burst's comments still public at TikTok
— each hide logged in the activity log and shown on its comment as hidden automatically, so its
own Unhide undoes it — and one Undo unhides them all again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from core import comments as _comments  # (core.comments imports this module too)
from core.clock import Clock
from core.tiktok import TikTokClient, TikTokError
from core.tiktok import comments as api
from storage.models import AdAccount, AdComment, CommentBurst, TikTokConnection
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

BURST_KIND = "comment_burst"
WINDOW = timedelta(hours=1)
THRESHOLDS = (3, 5, 10, 20)  # the choices offered; 5 is the default (users.burst_threshold)
EXAMPLES = 3
BATCH = 20  # comment/status/update takes up to 20 ids (the emulator's max_items) [U]


async def set_negative(
    uow: UnitOfWorkFactory, clock: Clock, user_id: int, words: list[str]
) -> None:
    """Save the user's negative words (audited)."""
    async with uow() as u:
        user = await u.users.get(user_id)
        if user is None:
            raise LookupError(user_id)
        before = user.negative_words
        user.negative_words = ",".join(words)
        user.updated_at = clock.now()
        u.audit.record(
            user_id,
            "comments.negative_words",
            "user",
            user_id,
            {"before": before, "after": user.negative_words},
        )
        await u.commit()


async def set_threshold(uow: UnitOfWorkFactory, clock: Clock, user_id: int, n: int) -> bool:
    """Alert from `n` negative comments an hour under one ad (one of THRESHOLDS)."""
    if n not in THRESHOLDS:
        return False
    async with uow() as u:
        user = await u.users.get(user_id)
        if user is None:
            return False
        u.audit.record(
            user_id,
            "comments.burst_threshold",
            "user",
            user_id,
            {"before": user.burst_threshold, "after": n},
        )
        user.burst_threshold = n
        user.updated_at = clock.now()
        await u.commit()
    return True


async def check(
    u: UnitOfWork,
    user_id: int,
    account_id: int,
    ad_ids: set[str],
    words: tuple[str, ...],
    threshold: int,
    now: datetime,
) -> int:
    """After a pull stored new comments under `ad_ids`: alert on each ad whose negative comments
    of the last hour reach `threshold`; returns how many alerts were queued."""
    if not words or not ad_ids:
        return 0
    queued = 0
    for ad_id in sorted(ad_ids):
        last = await u.session.scalar(
            select(func.max(CommentBurst.created_at)).where(
                CommentBurst.ad_account_id == account_id, CommentBurst.ad_id == ad_id
            )
        )
        if last is not None and last > now - WINDOW:
            continue  # alerted on this ad within the hour: one burst, one alert
        recent = [
            c
            for c in await u.session.scalars(
                select(AdComment)
                .where(
                    AdComment.ad_account_id == account_id,
                    AdComment.ad_id == ad_id,
                    AdComment.created_time >= now - WINDOW,
                    AdComment.burst_id.is_(None),
                )
                .order_by(AdComment.created_time.desc())
            )
            if _comments.matching(words, c.content)
        ]
        if len(recent) < max(threshold, 1):
            continue
        burst = CommentBurst(
            ad_account_id=account_id,
            ad_id=ad_id,
            ad_name=recent[0].ad_name,
            count=len(recent),
            created_at=now,
        )
        u.session.add(burst)
        await u.session.flush()
        for c in recent:
            c.burst_id = burst.id
        await u.outbox.enqueue(
            user_id, BURST_KIND, f"comment_burst:{burst.id}", {"burst": burst.id}, now
        )
        queued += 1
    return queued


async def purge_before(u: UnitOfWork, cutoff: datetime) -> None:
    """Forget bursts older than the comments they were about (kept COMMENT_DAYS)."""
    await u.session.execute(delete(CommentBurst).where(CommentBurst.created_at < cutoff))


async def burst_of(
    u: UnitOfWork, user_id: int, burst_id: int
) -> tuple[CommentBurst, AdAccount, TikTokConnection] | None:
    """One of the user's bursts with its ad account and connection."""
    row = (
        (
            await u.session.execute(
                select(CommentBurst, AdAccount, TikTokConnection)
                .join(AdAccount, AdAccount.id == CommentBurst.ad_account_id)
                .join(TikTokConnection, TikTokConnection.id == AdAccount.connection_id)
                .where(
                    CommentBurst.id == burst_id,
                    TikTokConnection.user_id == user_id,
                    TikTokConnection.status != "disconnected",
                )
            )
        )
        .tuples()
        .first()
    )
    return (row[0], row[1], row[2]) if row is not None else None


async def comments_of(u: UnitOfWork, burst: CommentBurst) -> list[AdComment]:
    """The burst's comments, newest first."""
    return list(
        await u.session.scalars(
            select(AdComment)
            .where(AdComment.ad_account_id == burst.ad_account_id, AdComment.burst_id == burst.id)
            .order_by(AdComment.created_time.desc(), AdComment.id.desc())
        )
    )


class Busy(Exception):
    """Already done (a double tap), or the other action is under way."""


async def hide_all(
    uow: UnitOfWorkFactory,
    clock: Clock,
    client: TikTokClient,
    user_id: int,
    burst_id: int,
    hidden: bool,
) -> CommentBurst | None:
    """Hide every public comment of one of the user's bursts at TikTok (`hidden`), or undo
    that. None: not the user's. Raises Busy on a repeat, TikTokError when nothing changed."""
    now = clock.now()
    async with uow() as u:
        found = await burst_of(u, user_id, burst_id)
        if found is None:
            return None
        # Claimed first, atomically: a double tap (or a second instance) does nothing twice.
        if hidden:
            claim = update(CommentBurst).where(
                CommentBurst.id == burst_id, CommentBurst.hidden_at.is_(None)
            )
            claim = claim.values(hidden_at=now, undone_at=None)
        else:
            claim = update(CommentBurst).where(
                CommentBurst.id == burst_id, CommentBurst.hidden_at.is_not(None)
            )
            claim = claim.values(undone_at=now)
        if int((await u.session.execute(claim)).rowcount or 0) != 1:  # type: ignore[attr-defined]
            raise Busy(burst_id)
        burst, account, conn = found
        when = burst.hidden_at
        rows = await comments_of(u, burst)
        token = await u.credentials.reveal(conn.credential_id or 0) or ""
        user = await u.users.get(user_id)
        words = tuple(w for w in (user.negative_words if user else "").split(",") if w)
        await u.commit()
    if hidden:
        targets = [c for c in rows if c.status == api.PUBLIC]
    else:  # only what this burst's Hide all hid (a comment unhidden since stays as it is)
        targets = [
            c
            for c in rows
            if c.status == api.HIDDEN
            and c.auto_hidden_at is not None
            and when is not None
            and c.auto_hidden_at >= when
        ]
    status = api.HIDDEN if hidden else api.PUBLIC
    done: set[str] = set()
    failed: TikTokError | None = None
    for i in range(0, len(targets), BATCH):
        batch = [c.comment_id for c in targets[i : i + BATCH]]
        try:
            await api.set_status(client, token, account.advertiser_id, batch, status)
        except TikTokError as exc:
            if exc.code != _comments.GONE:
                failed = exc
                continue
            # One comment deleted at TikTok fails its whole batch: the rest one at a time.
            for cid in batch if len(batch) > 1 else []:
                try:
                    await api.set_status(client, token, account.advertiser_id, [cid], status)
                except TikTokError as one:
                    if one.code != _comments.GONE:
                        failed = one
                    continue
                done.add(cid)
            continue
        done.update(batch)
    changed = clock.now()  # after TikTok took it: a pull listed before then leaves it be
    async with uow() as u:
        burst_row = await u.session.get(CommentBurst, burst_id)
        assert burst_row is not None
        for c in await comments_of(u, burst_row):
            if c.comment_id not in done:
                continue
            c.status, c.changed_at = status, changed
            if hidden:  # logged like an automatic hide: its own card offers Unhide
                c.auto_hidden_at = now
                c.matched = (_comments.matching(words, c.content) or c.matched or "")[:40] or None
            else:
                c.auto_hidden_at = None
            u.audit.record(
                user_id,
                "comments.burst_hide" if hidden else "comments.burst_unhide",
                "comment",
                c.id,
                {"comment_id": c.comment_id, "ad_id": c.ad_id, "burst": burst_id},
            )
        if targets and not done:  # TikTok took none: as if not pressed
            if hidden:
                burst_row.hidden_at = None
            else:
                burst_row.undone_at = None
        elif not hidden:
            burst_row.hidden_at = None
        await u.commit()
        if targets and not done and failed is not None:
            raise failed
        await u.session.refresh(burst_row)
        return burst_row
