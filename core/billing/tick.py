"""The billing tick: what the passing of time does to a plan. Each due entitlement (its `due_at`,
core.billing.account.next_due) is leased, its ledger folded again, and then:

- 3 days and 1 day before the end of paid time that does not renew, a reminder (once each per
  end, however many instances tick: the row remembers the end and the last one sent);
- when the paid time ran out, the grace notice (what happens on which date);
- when the plan whose limits apply changed (an end, a payment, a refund), the limits are applied
  (core.billing.enforce.apply_plan) and the user is told what was paused or restored.

Messages go through the outbox (kinds below, bot/views/alerts.py renders them) with a dedup key
per event, so a retried tick never says anything twice."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from core.billing import enforce
from core.billing.account import next_due, refold
from core.billing.plans import REMIND_DAYS, Catalogue
from core.clock import Clock
from storage.models.billing import Entitlement
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

REMINDER_KIND = "billing_reminder"
GRACE_KIND = "billing_grace"
DOWNGRADED_KIND = "billing_downgraded"
UPGRADED_KIND = "billing_upgraded"
KINDS = (REMINDER_KIND, GRACE_KIND, DOWNGRADED_KIND, UPGRADED_KIND)

LEASE = timedelta(minutes=2)
BATCH = 50
RETRY = timedelta(minutes=5)  # after a failure (applying limits raised): try again then
# A renewing subscription's next charge arrives about when its period ends. Until this much
# later, the grace notice waits (and is dropped at delivery if the renewal came meanwhile).
RENEWAL_WAIT = timedelta(hours=1)


async def run_due(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock,
                  owner: str) -> int:
    """Lease due entitlements and do their billing work; returns how many were done."""
    now = clock.now()
    async with uow() as u:
        ids = await u.billing.claim_due(now, owner, now + LEASE, BATCH)
        await u.commit()
    done = 0
    for user_id in ids:
        done += await _leased(uow, catalogue, clock, user_id, owner)
    return done


async def apply_now(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock, user_id: int,
                    owner: str) -> bool:
    """Do one user's billing work at once (right after a payment or a refund changed their
    plan, so limits follow without waiting for the tick); False when another instance holds
    the lease (it is doing the same work)."""
    now = clock.now()
    async with uow() as u:
        await u.billing.lock_entitlement(user_id, now)  # the row exists from here on
        got = await u.billing.claim(user_id, now, owner, now + LEASE)
        await u.commit()
    if not got:
        return False
    return bool(await _leased(uow, catalogue, clock, user_id, owner))


async def release_leases(uow: UnitOfWorkFactory, owner: str) -> None:
    """Give back every lease this instance holds (shutdown)."""
    async with uow() as u:
        await u.billing.release_all(owner)
        await u.commit()


async def _leased(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock, user_id: int,
                  owner: str) -> int:
    """One user's work under our lease; a failure is logged, retried later, never spread."""
    try:
        await _work(uow, catalogue, clock, user_id)
        return 1
    except Exception:
        log.exception("billing.tick_failed", extra={"user_id": user_id})
        now = clock.now()
        async with uow() as u:
            row = await u.billing.lock_entitlement(user_id, now)
            row.due_at = now + RETRY
            await u.commit()
        return 0
    finally:
        async with uow() as u:
            await u.billing.release(user_id, owner)
            await u.commit()


async def _work(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock, user_id: int) -> None:
    """Fold, remind, tell about grace; then apply a changed plan's limits."""
    now = clock.now()
    async with uow() as u:
        row = await u.billing.lock_entitlement(user_id, now)
        await refold(u, catalogue, row, now)
        await _remind(u, row, now)
        if row.state == "grace" and row.paid_until is not None and row.grace_until is not None:
            # Once per end (the dedup key); a renewing subscription's charge may still come.
            wait = RENEWAL_WAIT if row.renews else timedelta(0)
            await u.outbox.enqueue(
                user_id, GRACE_KIND, f"{GRACE_KIND}:{user_id}:{_stamp(row.paid_until)}",
                {"plan": row.plan, "paid_until": row.paid_until.isoformat(),
                 "grace_until": row.grace_until.isoformat()},
                now, not_before=row.paid_until + wait,
            )
        changed = row.plan != row.applied_plan
        before = row.applied_plan
        await u.commit()
    if changed:
        await _apply(uow, catalogue, clock, user_id, before)


async def _remind(u: UnitOfWork, row: Entitlement, now: datetime) -> None:
    """Queue the reminder due before the end of non-renewing paid time, once per end: the
    nearest one only (a 3-day reminder the tick missed is not sent next to the 1-day one)."""
    if row.state != "active" or row.renews or row.paid_until is None:
        return
    left = row.paid_until - now
    due = [d for d in REMIND_DAYS if left <= timedelta(days=d)]
    if not due:
        return
    days = min(due)
    if row.reminded_end == row.paid_until and (row.reminded_days or 99) <= days:
        return
    await u.outbox.enqueue(
        row.user_id, REMINDER_KIND,
        f"{REMINDER_KIND}:{row.user_id}:{_stamp(row.paid_until)}:{days}",
        {"plan": row.plan, "paid_until": row.paid_until.isoformat(), "days": days}, now,
    )
    row.reminded_end, row.reminded_days = row.paid_until, days
    row.due_at = next_due(row, now)


async def _apply(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock, user_id: int,
                 before: str) -> None:
    """Apply the plan's limits and tell the user: a lower plan lists what was paused, a higher
    one what came back (when something did)."""
    done = await enforce.apply_plan(uow, catalogue, clock, user_id)
    now = clock.now()
    down = catalogue.rank(done.plan) < catalogue.rank(before)
    async with uow() as u:
        row = await u.billing.lock_entitlement(user_id, now)
        params = {"before": before, "plan": done.plan,
                  "paused": [[i.kind, i.id, i.name] for i in done.paused],
                  "restored": [[i.kind, i.id, i.name] for i in done.restored]}
        key = f"{before}>{done.plan}:{_stamp(now)}"
        if down:
            await u.outbox.enqueue(user_id, DOWNGRADED_KIND, f"{DOWNGRADED_KIND}:{user_id}:{key}",
                                   params, now)
        elif done.restored:
            await u.outbox.enqueue(user_id, UPGRADED_KIND, f"{UPGRADED_KIND}:{user_id}:{key}",
                                   params, now)
        row.due_at = next_due(row, now)
        await u.commit()
    log.info("billing.plan_applied",
             extra={"user_id": user_id, "before": before, "plan": done.plan,
                    "paused": len(done.paused), "restored": len(done.restored)})


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp())
