"""What the Billing screen shows: the user's plan and standing now, their subscription, usage
against the plan's limits, and the history of their payments with receipts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.billing import account, limits, subscription
from core.billing import ledger as ledger_fold
from core.billing.ledger import Standing
from core.billing.plans import Catalogue, Plan
from core.billing.subscription import Subscription
from core.clock import Clock
from storage.models.billing import Payment
from storage.uow import UnitOfWork, UnitOfWorkFactory

HISTORY_PAGE = 6  # payments per history page: each is a few lines with its charge id


@dataclass(frozen=True)
class Overview:
    """The Billing screen's facts: the standing folded at `now`, the plan whose limits apply,
    the subscription that renews it (if any), usage, and how many payments there are."""

    now: datetime
    standing: Standing
    plan: Plan
    subscription: Subscription | None
    usage: limits.Usage
    payments: int


@dataclass(frozen=True)
class Receipt:
    """One ledger entry as the user sees it."""

    charge_id: str
    kind: str  # stars | grant
    plan: str
    days: int
    stars: int
    paid_at: datetime
    recurring: bool
    renewal: bool  # a subscription's charge after its first
    refunded_at: datetime | None


@dataclass(frozen=True)
class History:
    """One page of receipts, newest first."""

    receipts: list[Receipt]
    page: int
    pages: int
    total: int


def receipt(row: Payment) -> Receipt:
    """A ledger row as a receipt."""
    return Receipt(row.telegram_charge_id, row.kind, row.plan, row.days, row.total_amount,
                   row.created_at, row.recurring, row.recurring and not row.first_recurring,
                   row.refunded_at)


async def overview(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock,
                   user_id: int) -> Overview:
    """The user's billing standing, subscription and usage now."""
    now = clock.now()
    standing, _row = await account.current(uow, catalogue, clock, user_id)
    sub = await subscription.current(uow, user_id)
    used = await limits.usage(uow, catalogue, clock, user_id)
    async with uow() as u:
        payments = len(await u.billing.ledger(user_id))
    plan = catalogue.effective(standing.plan) if standing.state != "free" else catalogue.free
    return Overview(now, standing, plan, sub, used, payments)


async def standing(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock,
                   user_id: int) -> tuple[Standing, Subscription | None]:
    """The user's standing now and their subscription (what the plans list marks)."""
    now_standing, _row = await account.current(uow, catalogue, clock, user_id)
    return now_standing, await subscription.current(uow, user_id)


async def history(uow: UnitOfWorkFactory, user_id: int, page: int,
                  size: int = HISTORY_PAGE) -> History:
    """One page of the user's payments and grants, newest first (the page clamped)."""
    async with uow() as u:
        rows = await u.billing.ledger(user_id)
    rows.reverse()
    pages = max(1, -(-len(rows) // size))
    page = min(max(page, 0), pages - 1)
    chunk = rows[page * size:(page + 1) * size]
    return History([receipt(r) for r in chunk], page, pages, len(rows))


async def payment_in(u: UnitOfWork, user_id: int, charge_id: str, catalogue: Catalogue,
                     now: datetime) -> tuple[Receipt, Standing] | None:
    """One of the user's payments and their standing at `now` folded from the ledger (a
    receipt's facts, read in the notifier's unit of work: after an upgrade it names both plans'
    ends); None when the charge is not theirs."""
    row = await u.billing.charge(charge_id)
    if row is None or row.user_id != user_id:
        return None
    charges = [account.as_charge(p) for p in await u.billing.ledger(user_id)]
    return receipt(row), ledger_fold.standing(charges, now, catalogue.rank)
