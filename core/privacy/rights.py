"""The user's rights that need no export or erasure: restriction (pause / resume), marketing
consent withdrawal from a message, the operator's news broadcast (only to those who opted in),
the activity list, and the retention dates that apply to the user now (the privacy page)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.clock import Clock
from core.quiet import quiet_until
from core.users import HELD_FOR, set_marketing
from storage.inventory import CONNECTION_DAYS
from storage.models import AuditEntry, User
from storage.uow import UnitOfWorkFactory

MARKETING_KIND = "marketing"  # outbox kind of a news message (bot/views/alerts.py renders it)
BROADCAST_MAX = 3500  # characters of news text: room for the footer within Telegram's 4096
BROADCAST_PAGE = 500  # recipients queued per transaction

# The activity list (Privacy → 🕒 Activity): security-relevant audit actions, in one place.
# Prefixes take every present and future action of a kind (privacy.* from export, deletion,
# pause; billing.* / plan.* once plans exist).
ACTIVITY_ACTIONS = (
    "user.registered",
    "user.email",
    "user.marketing",
    "tiktok.connected",
    "tiktok.reconnected",
    "tiktok.disconnected",
    "tiktok.revoked",
    "tiktok.purged",
    "tracker.connected",
    "tracker.edited",
    "tracker.disconnected",
    "tracker.purged",
)
ACTIVITY_PREFIXES = ("privacy.", "billing.", "plan.")


class AccountMissing(LookupError):
    """The user has no live account."""


async def pause(uow: UnitOfWorkFactory, clock: Clock, user_id: int) -> User:
    """Restrict processing: from now on no scheduled sync, rule, tracker run or alert for the
    user (the claims skip paused users); nothing is deleted. Pausing twice changes nothing."""
    now = clock.now()
    async with uow() as u:
        if await u.users.set_paused(user_id, now):
            u.audit.record(user_id, "privacy.paused", "user", user_id)
        user = await u.users.get(user_id)
        if user is None:
            raise AccountMissing(user_id)
        await u.commit()
        return user


async def resume(uow: UnitOfWorkFactory, clock: Clock, user_id: int) -> User:
    """Lift the pause: due syncs, rules and tracker runs are claimed on their next tick; alerts
    held meanwhile go out, except those older than HELD_FOR (stale news would bury fresh)."""
    now = clock.now()
    async with uow() as u:
        user = await u.users.get(user_id)
        if user is None:
            raise AccountMissing(user_id)
        since = user.paused_at
        if await u.users.set_paused(user_id, None):
            dropped = await u.outbox.give_up_held(
                user_id, now - HELD_FOR, now, "held while the account was paused"
            )
            details = {"paused_at": since.isoformat() if since else None, "dropped": dropped}
            u.audit.record(user_id, "privacy.resumed", "user", user_id, details)
        await u.commit()
        return user


async def unsubscribe(uow: UnitOfWorkFactory, clock: Clock, user_id: int) -> bool:
    """Withdraw marketing consent from a news message's button (audited "user.marketing", like
    the settings toggle); False if it was already off."""
    async with uow() as u:
        user = await u.users.get(user_id)
    if user is None:
        raise AccountMissing(user_id)
    if not user.marketing_opt_in:
        return False
    await set_marketing(uow, clock, user_id, False)
    return True


@dataclass(frozen=True)
class Broadcast:
    """A news message queued for every consenting user."""

    key: str
    recipients: int


async def broadcast(uow: UnitOfWorkFactory, clock: Clock, operator_id: int, text: str) -> Broadcast:
    """Queue news (`text`, plain) through the outbox for every live user who opted in and is
    neither paused nor blocked; the notifier checks consent again at delivery, so a withdrawal
    meanwhile is honoured. ValueError for empty or too long text."""
    text = text.strip()
    if not text or len(text) > BROADCAST_MAX:
        raise ValueError(len(text))
    key = secrets.token_hex(6)
    now, after, total = clock.now(), 0, 0
    while True:
        async with uow() as u:
            users = await u.users.marketing_audience(after, BROADCAST_PAGE)
            ids = [user.id for user in users]
            for user in users:
                # News can always wait: it arrives when the user's quiet hours end.
                hold = quiet_until(now, user.time_zone, user.quiet_from, user.quiet_to)
                await u.outbox.enqueue(
                    user.id, MARKETING_KIND, f"news:{key}:{user.id}", {"text": text}, now,
                    not_before=hold,
                )
            if not ids:
                u.audit.record(
                    operator_id, "marketing.broadcast", "broadcast", key,
                    {"recipients": total, "chars": len(text)},
                )
            await u.commit()
        if not ids:
            return Broadcast(key, total)
        total += len(ids)
        after = ids[-1]


async def can_receive_news(uow: UnitOfWorkFactory, user_id: int) -> bool:
    """Whether the user still consents to news now (checked again when one is delivered)."""
    async with uow() as u:
        user = await u.users.get(user_id)
    return user is not None and user.marketing_opt_in


@dataclass(frozen=True)
class ActivityPage:
    """One page of the user's activity, newest first."""

    entries: list[AuditEntry]
    total: int
    page: int
    pages: int


async def activity(
    uow: UnitOfWorkFactory, user_id: int, page: int = 0, size: int = 10
) -> ActivityPage:
    """The user's security-relevant events (ACTIVITY_ACTIONS), newest first, one page."""
    page = max(page, 0)
    async with uow() as u:
        entries, total = await u.audit.activity(
            user_id, ACTIVITY_ACTIONS, ACTIVITY_PREFIXES, size, page * size
        )
        pages = max(1, -(-total // size))
        if page >= pages:  # the list shrank (a purge is never undone, but pages can move)
            page = pages - 1
            entries, total = await u.audit.activity(
                user_id, ACTIVITY_ACTIONS, ACTIVITY_PREFIXES, size, page * size
            )
    return ActivityPage(entries, total, page, pages)


@dataclass(frozen=True)
class PendingPurge:
    """Data of something disconnected, revoked or lost, and when it goes."""

    kind: str  # "ad_account" | "connection" (no ad accounts) | "tracker"
    name: str
    since: datetime | None  # when the clock started
    purge_after: datetime
    cause: str = "disconnected"  # disconnected | revoked (TikTok refused the login) | lost


async def pending_purges(uow: UnitOfWorkFactory, user_id: int) -> list[PendingPurge]:
    """Every TikTok ad account (or connection without any) and tracker whose data is scheduled
    for deletion — disconnected, refused by TikTok, or no longer reachable —, soonest first:
    the privacy page's "for you now"."""
    found: list[PendingPurge] = []
    async with uow() as u:
        waiting = await u.connections.awaiting_purge(user_id)
        for conn in waiting:
            assert conn.purge_after is not None
            cause = "disconnected" if conn.status == "disconnected" else "revoked"
            since = conn.disconnected_at or conn.broken_at
            accounts = await u.connections.accounts_of(conn.id)
            for account in accounts:
                found.append(PendingPurge(
                    "ad_account", account.name, since, conn.purge_after, cause
                ))
            if not accounts:
                found.append(PendingPurge(
                    "connection", conn.display_name, since, conn.purge_after, cause
                ))
        # Ad accounts the login no longer reaches, on connections that are otherwise alive.
        for account in await u.connections.accounts(user_id):
            if account.purge_after is not None and account.connection_id not in {
                c.id for c in waiting
            }:
                since = account.purge_after - timedelta(days=CONNECTION_DAYS)
                found.append(PendingPurge(
                    "ad_account", account.name, since, account.purge_after, "lost"
                ))
        for tracker in await u.trackers.of_user(user_id, include_disconnected=True):
            if tracker.purge_after is not None:
                found.append(PendingPurge(
                    "tracker", tracker.name, tracker.disconnected_at, tracker.purge_after
                ))
    found.sort(key=lambda p: (p.purge_after, p.kind, p.name))
    return found
