"""The user's rights that need no export or erasure: restriction (pause / resume), marketing
consent withdrawal from a message, operators' broadcasts (news only to those who opted in,
service notices to all, previewed first, with delivery counts), the activity list, and the
retention dates that apply to the user now (the privacy page)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.clock import Clock
from core.quiet import quiet_until
from core.users import HELD_FOR, set_marketing
from storage.inventory import CONNECTION_DAYS
from storage.models import AuditEntry, User
from storage.models import Broadcast as BroadcastRow
from storage.repos.admin import Delivery
from storage.uow import UnitOfWork, UnitOfWorkFactory

MARKETING_KIND = "marketing"  # outbox kind of a news message (bot/views/alerts.py renders it)
SERVICE_KIND = "service_notice"  # outbox kind of a service notice (delivered while paused too)
BROADCAST_REPORT_KIND = "broadcast_report"  # a broadcast's delivery counts, to its operator
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
    "web.google_linked",
    "web.google_unlinked",
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
    """A broadcast queued for its recipients."""

    key: str
    recipients: int


BROADCAST_KINDS = ("news", "service")
# Outbox kind and dedup-key prefix of each broadcast kind: a message per recipient, keyed
# `<prefix>:<broadcast key>:<user id>`, so the delivery counts are read from the outbox.
_OUTBOX = {"news": (MARKETING_KIND, "news"), "service": (SERVICE_KIND, "notice")}


@dataclass(frozen=True)
class Draft:
    """A broadcast waiting for the operator's go from its preview."""

    key: str
    kind: str  # news | service
    text: str
    audience: int  # users it would reach now


@dataclass(frozen=True)
class BroadcastStatus:
    """A sent broadcast and how its delivery went so far."""

    key: str
    kind: str
    text: str
    operator_id: int
    queued_at: datetime | None
    recipients: int
    delivery: Delivery
    reported: bool

    @property
    def settled(self) -> bool:
        """Nothing left to deliver."""
        return self.queued_at is not None and self.delivery.pending == 0


class NotADraft(LookupError):
    """The broadcast was sent or cancelled already (a second press), or never existed."""


def prefix(kind: str, key: str) -> str:
    """The dedup-key prefix of one broadcast's outbox messages."""
    return f"{_OUTBOX[kind][1]}:{key}:"


async def draft_broadcast(uow: UnitOfWorkFactory, clock: Clock, operator_id: int, kind: str,
                          text: str) -> Draft:
    """Store a broadcast to preview before it goes anywhere: news (only to users who agreed,
    with Unsubscribe) or a service notice (to every live user). ValueError for an unknown kind,
    or empty or too long text."""
    text = text.strip()
    if kind not in BROADCAST_KINDS or not text or len(text) > BROADCAST_MAX:
        raise ValueError(len(text))
    key = secrets.token_hex(6)
    async with uow() as u:
        u.admin.add_broadcast(BroadcastRow(key=key, kind=kind, text=text,
                                           operator_id=operator_id, created_at=clock.now(),
                                           recipients=0))
        audience = await u.admin.audience_size(kind)
        await u.commit()
    return Draft(key, kind, text, audience)


async def switch_kind(uow: UnitOfWorkFactory, key: str) -> Draft:
    """Turn a draft's news into a service notice or back; NotADraft once it left."""
    async with uow() as u:
        row = await u.admin.broadcast(key)
        if row is None:
            raise NotADraft(key)
        kind = "service" if row.kind == "news" else "news"
        if not await u.admin.set_broadcast_kind(key, kind):
            raise NotADraft(key)
        audience = await u.admin.audience_size(kind)
        await u.commit()
        return Draft(key, kind, row.text, audience)


async def cancel_broadcast(uow: UnitOfWorkFactory, clock: Clock, operator_id: int,
                           key: str) -> bool:
    """Drop a draft (audited); False when it had been sent or cancelled already."""
    async with uow() as u:
        done = await u.admin.cancel_broadcast(key, clock.now())
        if done:
            u.audit.record(operator_id, "admin.broadcast_cancelled", "broadcast", key)
        await u.commit()
    return done


async def send_broadcast(uow: UnitOfWorkFactory, clock: Clock, operator_id: int,
                         key: str) -> Broadcast:
    """Queue a previewed draft through the outbox, once however often it is confirmed: news to
    every live user who opted in and did not pause their account, a service notice to every
    live user; each after the user's quiet hours. A user who blocked the bot gets nothing and
    is counted as blocked (never retried); the notifier checks news consent again at delivery.
    NotADraft when it was sent or cancelled already."""
    now = clock.now()
    async with uow() as u:
        row = await u.admin.broadcast(key)
        if row is None or not await u.admin.start_broadcast(key, now):
            raise NotADraft(key)
        kind, text = row.kind, row.text
        await u.commit()
    outbox_kind, _ = _OUTBOX[kind]
    after, total = 0, 0
    while True:
        async with uow() as u:
            users = await u.admin.audience(kind, after, BROADCAST_PAGE)
            for user in users:
                # Broadcasts can always wait: each arrives when the user's quiet hours end.
                hold = quiet_until(now, user.time_zone, user.quiet_from, user.quiet_to)
                await u.outbox.enqueue(
                    user.id, outbox_kind, f"{prefix(kind, key)}{user.id}", {"text": text}, now,
                    not_before=hold,
                )
            if users:
                after = users[-1].id
                total += len(users)
            else:
                # Those who blocked the bot are counted as blocked at once, not held for them
                # (the notifier never claims their messages meanwhile).
                await u.admin.give_up_unreachable(prefix(kind, key), now)
                await u.admin.set_recipients(key, total)
                u.audit.record(
                    operator_id, "marketing.broadcast" if kind == "news" else "service.broadcast",
                    "broadcast", key, {"recipients": total, "chars": len(text)},
                )
            await u.commit()
        if not users:
            return Broadcast(key, total)


async def broadcast_status(uow: UnitOfWorkFactory, key: str) -> BroadcastStatus | None:
    """One broadcast with its delivery counts (delivered, blocked, failed, pending)."""
    async with uow() as u:
        return await broadcast_status_in(u, key)


async def broadcast_status_in(u: UnitOfWork, key: str) -> BroadcastStatus | None:
    """`broadcast_status` inside an open unit of work (the notifier renders the report)."""
    row = await u.admin.broadcast(key)
    if row is None:
        return None
    delivery = await u.admin.delivery(prefix(row.kind, key))
    return BroadcastStatus(row.key, row.kind, row.text, row.operator_id, row.queued_at,
                           row.recipients, delivery, row.reported_at is not None)


async def recent_broadcasts(uow: UnitOfWorkFactory, limit: int = 5) -> list[BroadcastStatus]:
    """The last broadcasts sent, newest first, with their counts."""
    async with uow() as u:
        rows = await u.admin.recent_broadcasts(limit)
        out = []
        for row in rows:
            delivery = await u.admin.delivery(prefix(row.kind, row.key))
            out.append(BroadcastStatus(row.key, row.kind, row.text, row.operator_id,
                                       row.queued_at, row.recipients, delivery,
                                       row.reported_at is not None))
    return out


async def settle_broadcasts(uow: UnitOfWorkFactory, clock: Clock) -> int:
    """The broadcast tick: count messages to users who blocked the bot (or deleted their
    account) meanwhile as blocked rather than holding them, and once a broadcast has nothing
    left to deliver, queue its delivery report to the operator who sent it (once); how many
    reports were queued."""
    now = clock.now()
    reported = 0
    async with uow() as u:
        rows = await u.admin.unsettled_broadcasts()
    for row in rows:
        async with uow() as u:
            await u.admin.give_up_unreachable(prefix(row.kind, row.key), now)
            delivery = await u.admin.delivery(prefix(row.kind, row.key))
            settled = delivery.pending == 0 and await u.admin.mark_reported(row.key, now)
            if settled and await u.users.get(row.operator_id) is not None:
                await u.outbox.enqueue(row.operator_id, BROADCAST_REPORT_KIND,
                                       f"broadcast_report:{row.key}", {"key": row.key}, now)
                reported += 1
            await u.commit()
    return reported


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
