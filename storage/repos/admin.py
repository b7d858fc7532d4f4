"""The operators' console: service-wide numbers, finding a user, broadcasts and their delivery
counts (read from the outbox rows by dedup-key prefix), the payments ledger as reconciliation
reads it, and leases of service-wide jobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AdAccount,
    AuditEntry,
    Broadcast,
    Entitlement,
    OperatorJob,
    OutboxMessage,
    Payment,
    Rule,
    SyncJob,
    TikTokConnection,
    Tracker,
    User,
)

# Outbox `last_error` of a broadcast message its recipient will never get because they blocked
# the bot: counted as "blocked", never tried again (unlike alerts, which wait for the user).
BLOCKED = "blocked by the user"
GONE = "account deleted"
# Given-up outbox rows that are no fault of the service (not "errors" on the dashboard).
ROUTINE_ENDS = (BLOCKED, GONE, "held while", "nothing to send")


@dataclass(frozen=True)
class SyncLag:
    """Scheduled syncs that should have run by now."""

    late: int  # due before the cut-off and still not run
    oldest_due: datetime | None
    failing: int  # whose last attempt failed (retried with back-off)


@dataclass(frozen=True)
class OutboxDepth:
    """Messages not sent and not given up."""

    waiting: int  # all of them (including those held for quiet hours or a blocked user)
    due: int  # due now for a reachable user: what the notifier should be sending
    oldest_due: datetime | None


@dataclass(frozen=True)
class ErrorRow:
    """One recent failure somewhere in the background work."""

    source: str  # sync | tracker | tiktok | outbox
    at: datetime
    user_id: int
    subject: str  # an ad account, tracker or connection name, or an outbox kind
    error: str


@dataclass(frozen=True)
class Delivery:
    """How a broadcast's messages fared so far."""

    delivered: int
    blocked: int
    failed: int
    pending: int

    @property
    def total(self) -> int:
        """Every message queued."""
        return self.delivered + self.blocked + self.failed + self.pending


def _live() -> Any:
    return User.deleted_at.is_(None)


class AdminRepo:
    """Reads across every user for operators; never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    def _insert(self, model: Any) -> Any:
        dialect = self._s.get_bind().dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)

    # The dashboard ------------------------------------------------------------------------

    async def user_counts(self, since: datetime) -> tuple[int, int]:
        """Live users, and how many of them signed up since `since`."""
        row = (await self._s.execute(
            select(func.count(), func.count(case((User.created_at >= since, 1))))
            .select_from(User).where(_live())
        )).one()
        return int(row[0]), int(row[1])

    async def paying_by_plan(self, now: datetime) -> dict[str, int]:
        """Live users whose paid time (or the grace after it) runs at `now`, per plan. The stored
        standing may lag the clock by a tick, so the end dates decide, not the state alone."""
        rows = await self._s.execute(
            select(Entitlement.plan, func.count())
            .join(User, User.id == Entitlement.user_id)
            .where(
                _live(),
                Entitlement.state.in_(("active", "grace")),
                func.coalesce(Entitlement.grace_until, Entitlement.paid_until) > now,
            )
            .group_by(Entitlement.plan)
        )
        return {plan: int(n) for plan, n in rows}

    async def tracked_accounts(self) -> int:
        """Ad accounts tracked on connections that are not disconnected, of live users."""
        return int(await self._s.scalar(
            select(func.count(AdAccount.id))
            .join(TikTokConnection, TikTokConnection.id == AdAccount.connection_id)
            .join(User, User.id == TikTokConnection.user_id)
            .where(_live(), AdAccount.tracked.is_(True), AdAccount.purge_after.is_(None),
                   TikTokConnection.status != "disconnected")
        ) or 0)

    async def rules_on(self) -> int:
        """Rules switched on (and not paused by a plan) of live users."""
        return int(await self._s.scalar(
            select(func.count(Rule.id)).join(User, User.id == Rule.user_id)
            .where(_live(), Rule.enabled.is_(True), Rule.plan_paused_at.is_(None))
        ) or 0)

    async def sync_lag(self, late_before: datetime) -> SyncLag:
        """Scheduled syncs the scheduler would claim (tracked accounts on active connections of
        live users who did not pause) that were due before `late_before`; and those failing."""
        claimable = (
            select(SyncJob.id)
            .join(AdAccount, AdAccount.id == SyncJob.ad_account_id)
            .join(TikTokConnection, TikTokConnection.id == AdAccount.connection_id)
            .join(User, User.id == TikTokConnection.user_id)
            .where(_live(), User.paused_at.is_(None), AdAccount.tracked.is_(True),
                   TikTokConnection.status == "active")
        )
        mine = SyncJob.id.in_(claimable.scalar_subquery())
        late, oldest = (await self._s.execute(
            select(func.count(SyncJob.id), func.min(SyncJob.due_at))
            .where(mine, SyncJob.due_at < late_before)
        )).one()
        failing = await self._s.scalar(
            select(func.count(SyncJob.id)).where(mine, SyncJob.last_error.is_not(None)))
        return SyncLag(int(late), oldest, int(failing or 0))

    async def outbox_depth(self, now: datetime) -> OutboxDepth:
        """Unsent messages that were not given up; of them, those due now for reachable users."""
        unreachable = select(User.id).where(
            or_(User.blocked_at.is_not(None), User.deleted_at.is_not(None)))
        pending = and_(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))
        due = and_(OutboxMessage.next_attempt_at <= now, OutboxMessage.merged_into.is_(None),
                   OutboxMessage.user_id.not_in(unreachable))
        waiting = int(await self._s.scalar(
            select(func.count(OutboxMessage.id)).where(pending)) or 0)
        row = (await self._s.execute(
            select(func.count(OutboxMessage.id), func.min(OutboxMessage.next_attempt_at))
            .where(pending, due)
        )).one()
        return OutboxDepth(waiting, int(row[0]), row[1])

    async def recent_errors(self, since: datetime, limit: int) -> list[ErrorRow]:
        """The newest failures since `since`: sync jobs, failing trackers, broken TikTok
        connections, outbox messages given up (routine ends such as a blocked user left out)."""
        found: list[ErrorRow] = []
        syncs = await self._s.execute(
            select(SyncJob.last_error_at, TikTokConnection.user_id, AdAccount.name,
                   SyncJob.kind, SyncJob.last_error)
            .join(AdAccount, AdAccount.id == SyncJob.ad_account_id)
            .join(TikTokConnection, TikTokConnection.id == AdAccount.connection_id)
            .where(SyncJob.last_error.is_not(None), SyncJob.last_error_at >= since)
            .order_by(SyncJob.last_error_at.desc()).limit(limit)
        )
        found += [ErrorRow("sync", at, uid, f"{name} ({kind})", err)
                  for at, uid, name, kind, err in syncs]
        trackers = await self._s.execute(
            select(Tracker.failing_since, Tracker.user_id, Tracker.name, Tracker.last_error)
            .where(Tracker.status == "failing", Tracker.failing_since.is_not(None),
                   Tracker.last_error.is_not(None))
            .order_by(Tracker.failing_since.desc()).limit(limit)
        )
        found += [ErrorRow("tracker", at, uid, name, err) for at, uid, name, err in trackers]
        broken = await self._s.execute(
            select(TikTokConnection.broken_at, TikTokConnection.user_id,
                   TikTokConnection.display_name, TikTokConnection.broken_reason)
            .where(TikTokConnection.status == "broken", TikTokConnection.broken_at >= since)
            .order_by(TikTokConnection.broken_at.desc()).limit(limit)
        )
        found += [ErrorRow("tiktok", at, uid, name, err or "") for at, uid, name, err in broken]
        outbox = await self._s.execute(
            select(OutboxMessage.failed_at, OutboxMessage.user_id, OutboxMessage.kind,
                   OutboxMessage.last_error)
            .where(OutboxMessage.failed_at >= since, OutboxMessage.last_error.is_not(None),
                   *(~OutboxMessage.last_error.startswith(end) for end in ROUTINE_ENDS))
            .order_by(OutboxMessage.failed_at.desc()).limit(limit)
        )
        found += [ErrorRow("outbox", at, uid, kind, err) for at, uid, kind, err in outbox]
        found.sort(key=lambda e: e.at, reverse=True)
        return found[:limit]

    async def stars_since(self, since: datetime) -> list[tuple[datetime, int, datetime | None]]:
        """Stars charges made or refunded since `since`: (charged at, Stars, refunded at)."""
        rows = await self._s.execute(
            select(Payment.created_at, Payment.total_amount, Payment.refunded_at)
            .where(Payment.kind == "stars",
                   or_(Payment.created_at >= since, Payment.refunded_at >= since))
        )
        return [(a, int(n), r) for a, n, r in rows]

    # Finding a user -----------------------------------------------------------------------

    async def find_users(self, *, user_id: int | None = None, username: str | None = None,
                         email: str | None = None, limit: int = 10) -> list[User]:
        """Users (deleted ones too) by Telegram id, @username or email (case-insensitive)."""
        query = select(User)
        if user_id is not None:
            query = query.where(User.id == user_id)
        elif username is not None:
            query = query.where(func.lower(User.username) == username.lower())
        elif email is not None:
            query = query.where(func.lower(User.email) == email.lower())
        else:
            return []
        rows = await self._s.scalars(
            query.order_by(User.deleted_at.is_not(None), User.id).limit(limit))
        return list(rows)

    async def connections_of(self, user_id: int) -> list[tuple[TikTokConnection, int, int]]:
        """Every TikTok connection of a user (disconnected ones too), newest first, with its ad
        accounts: how many, and how many tracked."""
        tracked = func.count(case((AdAccount.tracked.is_(True), 1)))
        rows = await self._s.execute(
            select(TikTokConnection, func.count(AdAccount.id), tracked)
            .outerjoin(AdAccount, AdAccount.connection_id == TikTokConnection.id)
            .where(TikTokConnection.user_id == user_id)
            .group_by(TikTokConnection.id)
            .order_by(TikTokConnection.id.desc())
        )
        return [(c, int(n), int(t)) for c, n, t in rows]

    async def recent_activity(self, user_id: int, limit: int) -> list[AuditEntry]:
        """The newest audit entries by or about a user (operators' own look-ups left out)."""
        rows = await self._s.scalars(
            select(AuditEntry)
            .where(
                or_(AuditEntry.actor_id == user_id,
                    and_(AuditEntry.target_type == "user",
                         AuditEntry.target_id == str(user_id))),
                ~AuditEntry.action.startswith("admin."),
            )
            .order_by(AuditEntry.id.desc()).limit(limit)
        )
        return list(rows)

    async def payment(self, payment_id: int) -> Payment | None:
        """One ledger entry by our row id (what buttons carry: charge ids can be 128 bytes)."""
        return await self._s.get(Payment, payment_id, populate_existing=True)

    async def name_refunder(self, charge_id: str, operator_id: int, reason: str) -> None:
        """Name the operator on a refunded charge that was marked without one."""
        await self._s.execute(
            update(Payment)
            .where(Payment.telegram_charge_id == charge_id, Payment.refunded_at.is_not(None),
                   Payment.refunded_by.is_(None))
            .values(refunded_by=operator_id, reason=reason)
            .execution_options(synchronize_session=False))

    # Broadcasts ---------------------------------------------------------------------------

    async def audience(self, kind: str, after_id: int, limit: int) -> list[User]:
        """A page of a broadcast's recipients above `after_id`: news goes to live users who
        opted in and did not pause their account; a service notice to every live user. Users
        who blocked the bot are included: their message is counted as blocked."""
        query = select(User).where(User.id > after_id, _live())
        if kind == "news":
            query = query.where(User.marketing_opt_in.is_(True), User.paused_at.is_(None))
        return list(await self._s.scalars(query.order_by(User.id).limit(limit)))

    async def audience_size(self, kind: str) -> int:
        """How many users a broadcast of `kind` would reach now (see `audience`)."""
        query = select(func.count(User.id)).where(_live())
        if kind == "news":
            query = query.where(User.marketing_opt_in.is_(True), User.paused_at.is_(None))
        return int(await self._s.scalar(query) or 0)

    def add_broadcast(self, row: Broadcast) -> None:
        """Stage a new broadcast (a draft)."""
        self._s.add(row)

    async def broadcast(self, key: str) -> Broadcast | None:
        """A broadcast by its key."""
        return await self._s.scalar(
            select(Broadcast).where(Broadcast.key == key)
            .execution_options(populate_existing=True))

    async def set_broadcast_kind(self, key: str, kind: str) -> bool:
        """Change a draft's kind; False once it was sent or cancelled."""
        done = await self._s.scalar(
            update(Broadcast)
            .where(Broadcast.key == key, Broadcast.queued_at.is_(None),
                   Broadcast.canceled_at.is_(None))
            .values(kind=kind).returning(Broadcast.id)
            .execution_options(synchronize_session=False))
        return done is not None

    async def start_broadcast(self, key: str, now: datetime) -> bool:
        """Mark a draft queued (once: a second press, or another instance, gets False)."""
        done = await self._s.scalar(
            update(Broadcast)
            .where(Broadcast.key == key, Broadcast.queued_at.is_(None),
                   Broadcast.canceled_at.is_(None))
            .values(queued_at=now).returning(Broadcast.id)
            .execution_options(synchronize_session=False))
        return done is not None

    async def cancel_broadcast(self, key: str, now: datetime) -> bool:
        """Drop a draft; False once it was sent (or cancelled before)."""
        done = await self._s.scalar(
            update(Broadcast)
            .where(Broadcast.key == key, Broadcast.queued_at.is_(None),
                   Broadcast.canceled_at.is_(None))
            .values(canceled_at=now).returning(Broadcast.id)
            .execution_options(synchronize_session=False))
        return done is not None

    async def set_recipients(self, key: str, recipients: int) -> None:
        """Record how many messages a broadcast queued."""
        await self._s.execute(
            update(Broadcast).where(Broadcast.key == key).values(recipients=recipients)
            .execution_options(synchronize_session=False))

    async def recent_broadcasts(self, limit: int) -> list[Broadcast]:
        """Broadcasts sent, newest first."""
        return list(await self._s.scalars(
            select(Broadcast).where(Broadcast.queued_at.is_not(None))
            .order_by(Broadcast.id.desc()).limit(limit)))

    async def unsettled_broadcasts(self) -> list[Broadcast]:
        """Sent broadcasts whose report has not gone to their operator yet."""
        return list(await self._s.scalars(
            select(Broadcast)
            .where(Broadcast.queued_at.is_not(None), Broadcast.reported_at.is_(None))
            .order_by(Broadcast.id)))

    async def mark_reported(self, key: str, now: datetime) -> bool:
        """Note that the report was queued (once)."""
        done = await self._s.scalar(
            update(Broadcast)
            .where(Broadcast.key == key, Broadcast.reported_at.is_(None))
            .values(reported_at=now).returning(Broadcast.id)
            .execution_options(synchronize_session=False))
        return done is not None

    async def give_up_unreachable(self, prefix: str, now: datetime) -> int:
        """End a broadcast's undelivered messages to users who blocked the bot (counted as
        blocked, not held for their return like alerts) or deleted their account; how many."""
        n = 0
        for reason, who in ((BLOCKED, User.blocked_at.is_not(None)),
                            (GONE, User.deleted_at.is_not(None))):
            done = await self._s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.dedup_key.startswith(prefix, autoescape=True),
                       OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None),
                       OutboxMessage.user_id.in_(select(User.id).where(who)))
                .values(failed_at=now, last_error=reason, lease_until=None)
                .execution_options(synchronize_session=False))
            n += int(done.rowcount or 0)  # type: ignore[attr-defined]
        return n

    async def delivery(self, prefix: str) -> Delivery:
        """Counts of a broadcast's messages: delivered, blocked, failed, still pending."""
        blocked = and_(OutboxMessage.failed_at.is_not(None),
                       OutboxMessage.last_error == BLOCKED)
        row = (await self._s.execute(
            select(
                func.count(case((OutboxMessage.sent_at.is_not(None), 1))),
                func.count(case((blocked, 1))),
                func.count(case((and_(OutboxMessage.sent_at.is_(None),
                                      OutboxMessage.failed_at.is_not(None), ~blocked), 1))),
                func.count(case((and_(OutboxMessage.sent_at.is_(None),
                                      OutboxMessage.failed_at.is_(None)), 1))),
            ).where(OutboxMessage.dedup_key.startswith(prefix, autoescape=True))
        )).one()
        return Delivery(int(row[0]), int(row[1]), int(row[2]), int(row[3]))

    # Reconciliation -----------------------------------------------------------------------

    async def stars_ledger(self) -> list[Payment]:
        """Every Stars charge we recorded (grants are ours alone and left out)."""
        return list(await self._s.scalars(
            select(Payment).where(Payment.kind == "stars").order_by(Payment.id)
            .execution_options(populate_existing=True)))

    async def claim_job(self, name: str, owner: str, now: datetime, lease_until: datetime,
                        started_by: int | None) -> bool:
        """Take a service-wide job's lease (the row is made on first use); False while another
        run holds it."""
        await self._s.execute(
            self._insert(OperatorJob).values(name=name, last_result={})
            .on_conflict_do_nothing(index_elements=["name"]))
        done = await self._s.scalar(
            update(OperatorJob)
            .where(OperatorJob.name == name,
                   or_(OperatorJob.lease_until.is_(None), OperatorJob.lease_until < now))
            .values(lease_owner=owner, lease_until=lease_until, started_by=started_by,
                    last_started_at=now)
            .returning(OperatorJob.name)
            .execution_options(synchronize_session=False))
        return done is not None

    async def finish_job(self, name: str, owner: str, now: datetime,
                         result: dict[str, Any]) -> None:
        """Give the lease back with what the run found."""
        await self._s.execute(
            update(OperatorJob).where(OperatorJob.name == name, OperatorJob.lease_owner == owner)
            .values(lease_owner=None, lease_until=None, last_finished_at=now, last_result=result)
            .execution_options(synchronize_session=False))

    async def release_job(self, name: str, owner: str) -> None:
        """Give the lease back after a run that failed (its result stays the last good one)."""
        await self._s.execute(
            update(OperatorJob).where(OperatorJob.name == name, OperatorJob.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False))

    async def job(self, name: str) -> OperatorJob | None:
        """A service-wide job's row (None before its first run)."""
        return await self._s.get(OperatorJob, name, populate_existing=True)
