"""The ledger's use-cases: record a Stars charge exactly once, grant days, mark a refund — each
folds the user's ledger again (core.billing.ledger) into their entitlement, under a row lock, in
the transaction that changed the ledger."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.billing.ledger import Charge, Standing, standing
from core.billing.payload import Offer
from core.billing.plans import FREE, REMIND_DAYS, Catalogue
from core.clock import Clock
from storage.models.billing import Entitlement, Payment
from storage.uow import UnitOfWork, UnitOfWorkFactory

RECEIPT_KIND = "billing_receipt"  # outbox kind of a payment's receipt (bot/views/alerts.py)
# Outbox kind: stop the renewal of a subscription a new one replaced (bot/notifier.py does it).
SUPERSEDE_KIND = "billing_supersede"


@dataclass(frozen=True)
class Paid:
    """A successful_payment as Telegram reported it (telegram-bot-platform.md §4)."""

    charge_id: str  # telegram_payment_charge_id: the exactly-once key
    provider_charge_id: str | None
    stars: int
    payload: str
    paid_at: datetime  # the service message's date: Telegram's time of the charge
    offer: Offer
    expires_at: datetime | None = None  # subscription_expiration_date
    is_recurring: bool = False
    is_first_recurring: bool = False


@dataclass(frozen=True)
class Change:
    """A ledger change's effect: the standing before and after, and whether it was new (a
    repeated delivery of one payment changes nothing)."""

    new: bool
    before: Standing
    after: Standing


def as_charge(row: Payment) -> Charge:
    """A ledger row as the fold sees it: Telegram's expiration date when it gave one."""
    length = timedelta(days=row.days)
    if row.expires_at is not None and row.expires_at > row.created_at:
        length = row.expires_at - row.created_at
    return Charge(row.telegram_charge_id, row.plan, row.created_at, length, row.refunded_at)


def stored(row: Entitlement | None) -> Standing:
    """The standing an entitlement row holds."""
    if row is None:
        return Standing("free", None, None, None)
    plan = row.plan if row.state != "free" else None
    return Standing(row.state, plan, row.paid_until, row.grace_until)


def next_due(row: Entitlement, now: datetime) -> datetime | None:
    """When the billing tick must look at this user again: at once when a plan's limits are still
    to be applied, else the next reminder (non-renewing only), the end of the paid time or of the
    grace."""
    if row.plan != row.applied_plan:
        return now
    times: list[datetime] = []
    if row.state == "active" and row.paid_until is not None:
        times.append(row.paid_until)
        if not row.renews:
            for days in REMIND_DAYS:
                sent = row.reminded_end == row.paid_until and (row.reminded_days or 99) <= days
                if not sent:
                    times.append(max(now, row.paid_until - timedelta(days=days)))
    elif row.state == "grace" and row.grace_until is not None:
        times.append(row.grace_until)
    return min(times) if times else None


async def refold(u: UnitOfWork, catalogue: Catalogue, row: Entitlement, now: datetime) -> Standing:
    """Fold the user's whole ledger into their (locked) entitlement row: the new standing."""
    ledger = await u.billing.ledger(row.user_id)
    after = standing([as_charge(p) for p in ledger], now, catalogue.rank)
    row.state = after.state
    row.plan = catalogue.effective(after.plan).code if after.plan else FREE
    row.paid_until, row.grace_until = after.paid_until, after.grace_until
    live = [p for p in ledger if p.recurring and p.refunded_at is None]
    if live and live[-1].telegram_charge_id != row.subscription_charge_id:
        # A newer subscription charge (first or renewal): it renews unless cancelled after it.
        row.subscription_charge_id = live[-1].telegram_charge_id
        row.renews = row.canceled_at is None or row.canceled_at < live[-1].created_at
    row.due_at = next_due(row, now)
    row.updated_at = now
    return after


async def record_charge(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock,
                        user_id: int, paid: Paid) -> Change:
    """Record a Stars payment once per `telegram_payment_charge_id`, however often and by
    whichever instance it is delivered; the first time, extend the plan and queue the receipt."""
    now = clock.now()
    async with uow() as u:
        row = await u.billing.lock_entitlement(user_id, now)
        before = stored(row)
        new = await u.billing.add_charge(
            user_id=user_id, telegram_charge_id=paid.charge_id,
            provider_charge_id=paid.provider_charge_id or None, currency="XTR",
            total_amount=paid.stars, payload=paid.payload, created_at=paid.paid_at,
            kind="stars", plan=paid.offer.plan, days=paid.offer.days,
            recurring=paid.is_recurring or paid.offer.recurring,
            first_recurring=paid.is_first_recurring, expires_at=paid.expires_at,
        )
        if not new:
            return Change(False, before, before)
        replaced = await _replaced(u, row, paid) if paid.is_first_recurring else None
        after = await refold(u, catalogue, row, now)
        await u.outbox.enqueue(user_id, RECEIPT_KIND, f"receipt:{paid.charge_id}",
                               {"charge_id": paid.charge_id}, now)
        if replaced is not None:
            # Two subscriptions would both renew: the replaced one must stop (its paid time is
            # kept). Queued with the charge, so a crash after this commit cannot skip it.
            await u.outbox.enqueue(user_id, SUPERSEDE_KIND, f"supersede:{paid.charge_id}",
                                   {"charge_id": replaced, "by": paid.charge_id}, now)
        u.audit.record(user_id, "billing.paid", "payment", paid.charge_id,
                       {"plan": paid.offer.plan, "days": paid.offer.days, "stars": paid.stars,
                        "recurring": paid.is_recurring, "renewal": paid.is_recurring
                        and not paid.is_first_recurring})
        await u.commit()
    return Change(True, before, after)


def first_charge(ledger: Sequence[Payment], payload: str) -> str | None:
    """The charge id of a subscription's first payment: the oldest recurring charge with its
    payload (the ledger comes oldest first)."""
    for row in ledger:
        if row.recurring and row.payload == payload:
            return row.telegram_charge_id
    return None


async def _replaced(u: UnitOfWork, row: Entitlement, paid: Paid) -> str | None:
    """The first charge of the renewing subscription a new, verified one replaces, if any (a
    subscription is one invoice payload: its renewals repeat it)."""
    if not paid.offer.plan or not row.renews or row.subscription_charge_id is None:
        return None
    earlier = await u.billing.charge(row.subscription_charge_id)
    if earlier is None or earlier.payload == paid.payload:
        return None
    return first_charge(await u.billing.ledger(row.user_id), earlier.payload)


async def grant(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock, operator_id: int,
                user_id: int, plan: str, days: int, reason: str) -> Change:
    """An operator gives `days` of `plan` for free (a ledger entry of 0 Stars), audited with the
    reason; the user gets a receipt. ValueError for a plan that does not exist or is not paid,
    or days outside 1-366."""
    target = catalogue.get(plan)
    if target is None or not target.paid or not 1 <= days <= 366:
        raise ValueError(plan)
    now = clock.now()
    charge_id = f"grant:{secrets.token_hex(12)}"
    async with uow() as u:
        row = await u.billing.lock_entitlement(user_id, now)
        before = stored(row)
        await u.billing.add_charge(
            user_id=user_id, telegram_charge_id=charge_id, currency="XTR", total_amount=0,
            payload="", created_at=now, kind="grant", plan=plan, days=days,
            granted_by=operator_id, reason=reason[:200],
        )
        after = await refold(u, catalogue, row, now)
        u.audit.record(operator_id, "plan.granted", "user", str(user_id),
                       {"plan": plan, "days": days, "reason": reason[:200],
                        "charge_id": charge_id})
        # The user hears of it as of a payment: the receipt view words a grant as a gift.
        await u.outbox.enqueue(user_id, RECEIPT_KIND, f"receipt:{charge_id}",
                               {"charge_id": charge_id}, now)
        await u.commit()
    return Change(True, before, after)


async def refunded(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock, charge_id: str,
                   operator_id: int | None = None, reason: str | None = None) -> Change | None:
    """Take a refunded charge out of the paid time (once; a refund seen again changes nothing):
    the period it paid for ends now, without grace. None when the charge is not ours."""
    now = clock.now()
    async with uow() as u:
        charge = await u.billing.charge(charge_id)
        if charge is None:
            return None
        row = await u.billing.lock_entitlement(charge.user_id, now)
        before = stored(row)
        if not await u.billing.mark_refunded(charge_id, now, operator_id, reason):
            return Change(False, before, before)
        after = await refold(u, catalogue, row, now)
        u.audit.record(operator_id if operator_id is not None else charge.user_id,
                       "billing.refunded", "payment", charge_id,
                       {"user_id": charge.user_id, "stars": charge.total_amount,
                        "reason": reason or ""})
        await u.commit()
    return Change(True, before, after)


async def current(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock,
                  user_id: int) -> tuple[Standing, Entitlement | None]:
    """The user's standing now, folded from the ledger (the stored row may lag the clock until
    the tick passes), and the stored row for its subscription details."""
    async with uow() as u:
        row = await u.billing.entitlement(user_id)
        ledger = await u.billing.ledger(user_id)
    now = clock.now()
    return standing([as_charge(p) for p in ledger], now, catalogue.rank), row
