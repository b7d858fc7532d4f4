"""Comments under the user's ads (issue 17): watch campaigns, pull new comments on a schedule,
hide / unhide / reply from the chat.

Pulling is leased work like sync (core/sync.py): each watched campaign is a `comment_watches`
row claimed with a lease, so any number of instances may tick. Only users with the comments
feature on are claimed (core/features.py): a user with it off makes no comment call at all.
New comments (written after the watch began) are announced through the outbox, one message per
comment with the ad's name. A token without the comments scope is told to the user once a day
with a way to grant it (ScopeMissingError: never retried as a fault).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from core import comment_bursts
from core.clock import Clock
from core.tiktok import InvalidRequestError, ScopeMissingError, TikTokClient, TikTokError
from core.tiktok import comments as api
from storage.models import AdComment, CommentWatch
from storage.repos.comments import ClaimedWatch
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

FEATURE = "comments"
PULL_EVERY = timedelta(minutes=10)
RETRY_AFTER = timedelta(minutes=30)
SCOPE_RETRY = timedelta(hours=1)  # soon after a reconnect grants it; the alert is daily
LEASE = timedelta(minutes=5)
OVERLAP = timedelta(minutes=5)
COMMENT_DAYS = 30  # retention of pulled comments (storage/inventory.py)
NEW_KIND = "comment_new"
SCOPE_KIND = "comment_scope"
REPLY_MAX = 150  # TikTok's comment length (the emulator's comment_reply_max_len) [U]
GONE = 40007  # "object does not exist" (spec §8.1): the comment was deleted at TikTok


MAX_WORDS = 30
WORD_MAX = 40


def parse_words(text: str) -> list[str]:
    """Typed hide words, split on commas or new lines, lower-cased, without repeats; an empty
    text clears them. ValueError when there are too many or one is too long."""
    words = list(dict.fromkeys(w.strip().casefold() for w in text.replace("\n", ",").split(",")))
    words = [w for w in words if w]
    if len(words) > MAX_WORDS or any(len(w) > WORD_MAX for w in words):
        raise ValueError(text)
    return words


def matching(words: tuple[str, ...] | list[str], text: str) -> str | None:
    """The first hide word the comment contains (case-insensitive, any language), or None."""
    folded = text.casefold()
    return next((w for w in words if w in folded), None)


async def set_words(uow: UnitOfWorkFactory, clock: Clock, user_id: int, words: list[str]) -> None:
    """Save the user's hide words (audited)."""
    async with uow() as u:
        user = await u.users.get(user_id)
        if user is None:
            raise LookupError(user_id)
        before = user.comment_words
        user.comment_words = ",".join(words)
        user.updated_at = clock.now()
        u.audit.record(user_id, "comments.words", "user", user_id,
                       {"before": before, "after": user.comment_words})
        await u.commit()


class NotConfirmed(Exception):
    """TikTok accepted a change but did not show it when read back."""


async def set_watch(uow: UnitOfWorkFactory, clock: Clock, user_id: int, account_id: int,
                    campaign_id: str, on: bool) -> bool:
    """Start or stop watching a campaign of one of the user's ad accounts; False when the
    account is not the user's or the campaign not the account's."""
    now = clock.now()
    async with uow() as u:
        if await u.connections.account(user_id, account_id) is None:
            return False
        synced = {c.object_id for c in await u.comments.campaigns([account_id])}
        if on and campaign_id not in synced:
            return False  # not one of the account's campaigns (a forged or stale button)
        found = await u.comments.watch(account_id, campaign_id)
        if on and found is None:
            u.comments.add_watch(CommentWatch(ad_account_id=account_id, campaign_id=campaign_id,
                                              due_at=now, since=now, created_at=now))
        elif not on and found is not None:
            await u.comments.remove_watch(found)
        u.audit.record(user_id, "comments.watch" if on else "comments.unwatch", "ad_account",
                       account_id, {"campaign_id": campaign_id})
        await u.commit()
    return True


async def pull_due(uow: UnitOfWorkFactory, clock: Clock, client: TikTokClient, owner: str,
                   limit: int = 20, every: timedelta = PULL_EVERY) -> int:
    """Pull the due watches' new comments (each again `every` later); returns how many new
    comments were announced."""
    now = clock.now()
    async with uow() as u:
        claimed = await u.comments.claim_due(now, owner, now + LEASE, FEATURE, limit)
        await u.commit()
    announced = 0
    for watch in claimed:
        announced += await _pull_one(uow, clock, client, owner, watch, every)
    async with uow() as u:
        await u.comments.purge_before(now - timedelta(days=COMMENT_DAYS))
        await comment_bursts.purge_before(u, now - timedelta(days=COMMENT_DAYS))
        await u.commit()
    return announced


async def _token(u: UnitOfWork, credential_id: int) -> str:
    return await u.credentials.reveal(credential_id) or ""


async def _pull_one(uow: UnitOfWorkFactory, clock: Clock, client: TikTokClient, owner: str,
                    watch: ClaimedWatch, every: timedelta) -> int:
    now = clock.now()
    async with uow() as u:
        token = await _token(u, watch.credential_id)
        groups = await u.comments.adgroups(watch.account_id, watch.campaign_id)
    # Newest first, back to a little before the last pull (a comment TikTok shows a moment
    # late is still caught); what was seen already is dropped by id.
    since = max(watch.since, (watch.last_ok_at or watch.since) - OVERLAP)
    found: list[api.Comment] = []
    try:
        for group in groups:
            found += await api.list_since(client, token, watch.advertiser_id, group, since, now)
    except ScopeMissingError as exc:
        async with uow() as u:
            await u.outbox.enqueue(watch.user_id, SCOPE_KIND,
                                   f"comment_scope:{watch.connection_id}:{now:%Y%m%d}",
                                   {"connection_id": watch.connection_id}, now)
            await u.comments.release(watch.watch_id, owner, now + SCOPE_RETRY, error=exc.message)
            await u.commit()
        return 0
    except TikTokError as exc:
        log.warning("comments.pull_failed", extra={"watch_id": watch.watch_id,
                                                   "error": exc.message})
        async with uow() as u:
            await u.comments.release(watch.watch_id, owner, now + RETRY_AFTER, error=exc.message)
            await u.commit()
        return 0
    async with uow() as u:  # only new comments are hidden: an Unhide is never overridden
        seen = set(await u.comments.known(watch.account_id, [c.comment_id for c in found]))
    hide = {c.comment_id: w for c in found if c.comment_id not in seen
            and c.status == api.PUBLIC and (w := matching(watch.words, c.content))}
    hidden = await _auto_hide(client, token, watch.advertiser_id, list(hide))
    new = 0
    touched: set[str] = set()  # ads with a new comment holding a negative word
    async with uow() as u:
        known = await u.comments.known(watch.account_id, [c.comment_id for c in found])
        for c in found:
            row = known.get(c.comment_id)
            if row is not None:
                # Hidden or pinned from here since this listing began: what was listed may
                # predate it, and that change was read back at TikTok.
                if row.changed_at is not None and row.changed_at > now:
                    continue
                row.status = c.status
                if c.pinned != (row.pinned_at is not None):  # pinned or unpinned elsewhere
                    row.pinned_at = now if c.pinned else None
                continue
            row = AdComment(ad_account_id=watch.account_id, comment_id=c.comment_id,
                            ad_id=c.ad_id, adgroup_id=c.adgroup_id, campaign_id=c.campaign_id,
                            ad_name=c.ad_name[:256], content=c.content[:1000],
                            author=c.user_name[:128], status=c.status, created_time=c.created,
                            fetched_at=now, pinned_at=now if c.pinned else None)
            if c.comment_id in hidden:
                # The log of an automatic hide: the row says when and by which word, the audit
                # log says it too, and the comment's message offers Unhide to undo it.
                row.status, row.auto_hidden_at = api.HIDDEN, now
                row.matched = hide[c.comment_id][:40]
            u.comments.add(row)
            known[c.comment_id] = row
            if c.created >= watch.since:  # (list_since: always, but a backlog stays quiet)
                await u.session.flush()
                await u.outbox.enqueue(watch.user_id, NEW_KIND, f"comment:{row.id}",
                                       {"comment": row.id}, now)
                if row.auto_hidden_at is not None:
                    u.audit.record(watch.user_id, "comments.auto_hide", "comment", row.id,
                                   {"comment_id": row.comment_id, "word": row.matched})
                new += 1
                if matching(watch.negative, c.content):
                    touched.add(c.ad_id)
        if touched:  # a burst of negative words under an ad: one alert (core/comment_bursts.py)
            await u.session.flush()
            await comment_bursts.check(u, watch.user_id, watch.account_id, touched,
                                       watch.negative, watch.threshold, now)
        await u.comments.release(watch.watch_id, owner, now + every, ok_at=now)
        await u.commit()
    return new


async def _auto_hide(client: TikTokClient, token: str, advertiser_id: str,
                     comment_ids: list[str]) -> set[str]:
    """Hide comments matching the user's words, 20 a request; what TikTok refused stays
    public (and is announced as such)."""
    done: set[str] = set()
    for i in range(0, len(comment_ids), 20):
        batch = comment_ids[i:i + 20]
        try:
            await api.set_status(client, token, advertiser_id, batch, api.HIDDEN)
        except TikTokError as exc:
            log.warning("comments.auto_hide_failed", extra={"error": exc.message})
            continue
        done.update(batch)
    return done


async def set_hidden(uow: UnitOfWorkFactory, clock: Clock, client: TikTokClient, user_id: int,
                     comment_row_id: int, hidden: bool) -> AdComment | None:
    """Hide or unhide one of the user's comments at TikTok and read it back before saying so
    (None: not the user's, or deleted at TikTok). Raises ScopeMissingError, NotConfirmed or
    TikTokError."""
    async with uow() as u:
        found = await u.comments.comment(user_id, comment_row_id)
        if found is None:
            return None
        row, account, conn = found
        token = await _token(u, conn.credential_id or 0)
    status = api.HIDDEN if hidden else api.PUBLIC
    try:
        await api.set_status(client, token, account.advertiser_id, [row.comment_id], status)
    except InvalidRequestError as exc:
        if exc.code == GONE:  # deleted at TikTok: no retry will change it
            return None
        raise
    back = await api.find(client, token, account.advertiser_id, row.adgroup_id, row.comment_id,
                          row.created_time, status)
    if back is None:
        raise NotConfirmed(row.comment_id)
    async with uow() as u:
        found = await u.comments.comment(user_id, comment_row_id)
        if found is None:
            return None
        row = found[0]
        row.status, row.changed_at = status, clock.now()
        if hidden:
            row.pinned_at = None  # a hidden comment is not pinned [U]; the next pull corrects
        else:
            row.auto_hidden_at = None  # undone: a later pull must not hide it again
        u.audit.record(user_id, "comments.hide" if hidden else "comments.unhide", "comment",
                       row.id, {"comment_id": row.comment_id, "ad_id": row.ad_id})
        await u.commit()
        return row


class PinOff(Exception):
    """Pinning is switched off for this TikTok (Settings.tiktok_comment_pin "off")."""


async def set_pinned(uow: UnitOfWorkFactory, clock: Clock, client: TikTokClient, user_id: int,
                     comment_row_id: int, pinned: bool, via: str = "status"
                     ) -> AdComment | None:
    """Pin or unpin one of the user's comments at TikTok and read it back before saying so
    (None: not the user's, or deleted at TikTok). A video shows one pinned comment, so pinning
    one marks the ad's other stored comments unpinned. Raises PinOff, ScopeMissingError,
    NotConfirmed or TikTokError (TikTok's refusal, e.g. of a hidden comment, is an
    InvalidRequestError)."""
    if via == "off":
        raise PinOff()
    async with uow() as u:
        found = await u.comments.comment(user_id, comment_row_id)
        if found is None:
            return None
        row, account, conn = found
        if (row.pinned_at is not None) == pinned:
            return row  # a double tap: already so, nothing asked twice
        token = await _token(u, conn.credential_id or 0)
    try:
        await api.set_pinned(client, token, account.advertiser_id, row.comment_id, pinned, via)
    except InvalidRequestError as exc:
        if exc.code == GONE:  # deleted at TikTok: no retry will change it
            return None
        raise
    back = await api.find(client, token, account.advertiser_id, row.adgroup_id, row.comment_id,
                          row.created_time, api.PUBLIC)
    if pinned and (back is None or not back.pinned):
        raise NotConfirmed(row.comment_id)
    if not pinned and back is not None and back.pinned:
        raise NotConfirmed(row.comment_id)
    async with uow() as u:
        found = await u.comments.comment(user_id, comment_row_id)
        if found is None:
            return None
        row = found[0]
        row.changed_at = clock.now()
        row.pinned_at = row.changed_at if pinned else None
        if pinned:
            await u.comments.unpin_others(row.ad_account_id, row.ad_id, row.id, row.changed_at)
        u.audit.record(user_id, "comments.pin" if pinned else "comments.unpin", "comment",
                       row.id, {"comment_id": row.comment_id, "ad_id": row.ad_id})
        await u.commit()
        return row


async def reply_to(uow: UnitOfWorkFactory, clock: Clock, client: TikTokClient, user_id: int,
                   comment_row_id: int, text: str) -> AdComment | None:
    """Reply to one of the user's comments as the ad's identity (None: not the user's, or no
    longer at TikTok)."""
    async with uow() as u:
        found = await u.comments.comment(user_id, comment_row_id)
        if found is None:
            return None
        row, account, conn = found
        token = await _token(u, conn.credential_id or 0)
    # comment/post needs the comment's video and identity, which are not stored: read the
    # comment back (as last seen, else with the other status); gone at TikTok -> None.
    target = None
    for status in dict.fromkeys((row.status, api.PUBLIC, api.HIDDEN)):
        target = await api.find(client, token, account.advertiser_id, row.adgroup_id,
                                row.comment_id, row.created_time, status)
        if target is not None:
            break
    if target is None:
        return None
    await api.reply(client, token, account.advertiser_id, target, text.strip()[:REPLY_MAX])
    async with uow() as u:
        u.audit.record(user_id, "comments.reply", "comment", row.id,
                       {"comment_id": row.comment_id, "ad_id": row.ad_id})
        await u.commit()
    return row


async def comment_of(uow: UnitOfWorkFactory, user_id: int, comment_row_id: int
                     ) -> AdComment | None:
    """One of the user's stored comments."""
    async with uow() as u:
        found = await u.comments.comment(user_id, comment_row_id)
    return found[0] if found is not None else None


async def release_leases(uow: UnitOfWorkFactory, owner: str) -> None:
    """Give back the watches this worker holds (clean shutdown)."""
    async with uow() as u:
        await u.comments.release_all(owner)
        await u.commit()
