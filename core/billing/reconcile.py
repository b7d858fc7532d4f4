"""Reconciliation: our payments ledger against Telegram's own list of Stars transactions
(getStarTransactions, telegram-bot-platform.md §4: an incoming payment's transaction id is its
telegram_payment_charge_id, and a refund carries the id of the payment it refunds).

Telegram's list is read whole, page by page (offset/limit 100); the docs promise no order, so
nothing here relies on one — the pages are folded into sets keyed by id before anything is
compared. Then:

- a payment at Telegram we never recorded (the user paid but the update was lost): recorded
  through `account.record_charge` when its payload is one we signed for that user and price, so
  the user gets their time and receipt; reported either way;
- a refund at Telegram not marked here: marked (`account.refunded`) and reported;
- a refund of a payment we never knew, a payment of ours Telegram does not list, a refund we
  recorded that Telegram does not list, and amounts that differ: reported only.

One run at a time across instances (a lease on the `operator_jobs` row); the daily run skips
when a run finished less than a day ago; the report is queued to operators through the outbox.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from core.billing import account
from core.billing.payload import decode
from core.billing.plans import Catalogue
from core.clock import Clock
from storage.models import Payment
from storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)

JOB = "reconcile"
REPORT_KIND = "reconcile_report"  # outbox kind (bot/views/alerts.py renders it)
PAGE = 100  # getStarTransactions' largest page
MAX_PAGES = 2000  # 200 000 transactions: a runaway guard, not a real limit
LEASE = timedelta(minutes=15)
EVERY = timedelta(days=1)
SLACK = timedelta(hours=1)  # a daily run comes a little early after a restart: still skip it
REPORT_ITEMS = 30  # differences listed in one report (the rest are counted)
REFUND_REASON = "refunded at Telegram (reconciliation)"


@dataclass(frozen=True)
class StarTx:
    """One StarTransaction as far as reconciliation cares: a user's invoice payment
    (`payment`), a refund of one to a user (`refund`), or anything else (`other`)."""

    id: str
    kind: str  # payment | refund | other
    amount: int
    date: datetime
    user_id: int | None = None
    payload: str | None = None
    subscription_period: int | None = None


# (offset, limit) -> one page of transactions, in whatever order Telegram gives them.
Fetch = Callable[[int, int], Awaitable[Sequence[StarTx]]]


@dataclass(frozen=True)
class Difference:
    """One thing our ledger and Telegram's list disagreed on, and what was done about it.

    kind: recorded (a payment we missed, now recorded) | unrecorded (a payment we missed and
    could not record: `note` says why) | refund_marked | refund_unknown (a refund of a payment
    we never recorded) | missing_at_telegram | refund_only_here | amount (ours ≠ Telegram's)."""

    kind: str
    charge_id: str
    user_id: int | None
    stars: int
    ours: int | None = None
    note: str = ""


@dataclass(frozen=True)
class Report:
    """What one run found."""

    run_at: datetime
    transactions: int
    payments: int
    differences: list[Difference] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Differences per kind."""
        out: dict[str, int] = {}
        for d in self.differences:
            out[d.kind] = out.get(d.kind, 0) + 1
        return out

    def params(self) -> dict[str, object]:
        """The report as outbox params (JSON): the first differences in full, all counted."""
        return {
            "run_at": self.run_at.isoformat(),
            "transactions": self.transactions,
            "payments": self.payments,
            "total": len(self.differences),
            "counts": self.counts(),
            "differences": [asdict(d) for d in self.differences[:REPORT_ITEMS]],
        }


async def read_all(fetch: Fetch) -> tuple[dict[str, StarTx], dict[str, StarTx], int]:
    """Every transaction Telegram lists: payments and refunds by charge id, and how many there
    were in all. Pages are read until one comes back short; duplicates (the list moving while
    it is read) count once."""
    payments: dict[str, StarTx] = {}
    refunds: dict[str, StarTx] = {}
    seen: set[tuple[str, str]] = set()
    offset = 0
    for _ in range(MAX_PAGES):
        page = list(await fetch(offset, PAGE))
        for tx in page:
            seen.add((tx.kind, tx.id))
            if tx.kind == "payment":
                payments.setdefault(tx.id, tx)
            elif tx.kind == "refund":
                refunds.setdefault(tx.id, tx)
        if len(page) < PAGE:
            break
        offset += len(page)
    else:
        log.warning("billing.reconcile_truncated", extra={"pages": MAX_PAGES})
    return payments, refunds, len(seen)


async def _record_missed(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock,
                         keys: Sequence[bytes], tx: StarTx,
                         ours: dict[str, Payment]) -> Difference | None:
    """Record a payment Telegram took that we never recorded, if its payload is ours and
    matches; the difference to report (None: it was recorded meanwhile by the usual path)."""
    offer = decode(tx.payload or "", keys)
    why = ""
    if offer is None:
        why = "payload not signed by us"
    elif offer.user_id != tx.user_id:
        why = "payload names another user"
    elif offer.stars != tx.amount:
        why = f"the offer was {offer.stars} Stars"
    else:
        async with uow() as u:
            alive = await u.users.get_any(offer.user_id) is not None
        if not alive:
            why = "the account no longer exists"
    if offer is None or why:
        return Difference("unrecorded", tx.id, tx.user_id, tx.amount, note=why)
    recurring = tx.subscription_period is not None or offer.recurring
    # A renewal repeats its subscription's payload (core.billing.subscription); the first
    # payment of another subscription is not one, so the one it replaces is stopped.
    renewal = recurring and any(
        p.user_id == offer.user_id and p.recurring and p.payload == tx.payload
        and p.created_at < tx.date for p in ours.values())
    expires = (tx.date + timedelta(seconds=tx.subscription_period)
               if tx.subscription_period else None)
    paid = account.Paid(charge_id=tx.id, provider_charge_id=None, stars=tx.amount,
                        payload=tx.payload or "", paid_at=tx.date, offer=offer,
                        expires_at=expires, is_recurring=recurring,
                        is_first_recurring=recurring and not renewal)
    change = await account.record_charge(uow, catalogue, clock, offer.user_id, paid)
    if not change.new:
        return None
    return Difference("recorded", tx.id, tx.user_id, tx.amount,
                      note=f"{offer.plan} {offer.days} d")


async def _mark_refund(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock,
                       charge: Payment) -> bool:
    """Mark a charge refunded as Telegram says it was; False if it was marked meanwhile."""
    async with uow() as u:
        alive = await u.users.get_any(charge.user_id) is not None
        if not alive:
            # A pseudonymised payment of an erased account: no standing to recompute.
            done = await u.billing.mark_refunded(charge.telegram_charge_id, clock.now(), None,
                                                 REFUND_REASON)
            if done:
                u.audit.record(None, "billing.refunded", "payment", charge.telegram_charge_id,
                               {"stars": charge.total_amount, "reason": REFUND_REASON})
            await u.commit()
            return done
    change = await account.refunded(uow, catalogue, clock, charge.telegram_charge_id, None,
                                    REFUND_REASON)
    return change is not None and change.new


async def compare(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock, fetch: Fetch,
                  keys: Sequence[bytes]) -> Report:
    """Read Telegram's list, compare it with the ledger, repair what can be repaired (missed
    payments recorded, refunds marked) and return every difference. No lease: see `run`."""
    started = clock.now()
    payments, refunds, total = await read_all(fetch)
    async with uow() as u:
        ours = {p.telegram_charge_id: p for p in await u.admin.stars_ledger()}
    found: list[Difference] = []
    for tx in sorted(payments.values(), key=lambda t: (t.date, t.id)):
        mine = ours.get(tx.id)
        if mine is None:
            diff = await _record_missed(uow, catalogue, clock, keys, tx, ours)
            if diff is not None:
                found.append(diff)
            continue
        if mine.total_amount != tx.amount:
            found.append(Difference("amount", tx.id, mine.user_id, tx.amount,
                                    ours=mine.total_amount))
    async with uow() as u:  # again: what was just recorded can be refunded below
        ours = {p.telegram_charge_id: p for p in await u.admin.stars_ledger()}
    for tx in sorted(refunds.values(), key=lambda t: (t.date, t.id)):
        mine = ours.get(tx.id)
        if mine is None:
            found.append(Difference("refund_unknown", tx.id, tx.user_id, tx.amount))
        elif mine.refunded_at is None and await _mark_refund(uow, catalogue, clock, mine):
            found.append(Difference("refund_marked", tx.id, mine.user_id, tx.amount))
    for charge in ours.values():
        if charge.created_at > started:
            continue  # recorded after Telegram's list was read
        if charge.telegram_charge_id not in payments:
            found.append(Difference("missing_at_telegram", charge.telegram_charge_id,
                                    charge.user_id, charge.total_amount))
        elif charge.refunded_at is not None and charge.telegram_charge_id not in refunds:
            found.append(Difference("refund_only_here", charge.telegram_charge_id,
                                    charge.user_id, charge.total_amount))
    return Report(started, total, len(ours), found)


async def run(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock, fetch: Fetch,
              keys: Sequence[bytes], owner: str, operators: Collection[int], *,
              started_by: int | None = None) -> Report | None:
    """One reconciliation under the service-wide lease: by an operator (`started_by`: the
    report goes to them, "no differences" included) or the daily schedule (skipped if a run
    finished within the last day; the report goes to every operator only when something
    differs). None when another run holds the lease or the schedule is not due."""
    now = clock.now()
    async with uow() as u:
        if started_by is None:
            last = await u.admin.job(JOB)
            if last is not None and last.last_finished_at is not None and (
                    now - last.last_finished_at < EVERY - SLACK):
                return None
        mine = await u.admin.claim_job(JOB, owner, now, now + LEASE, started_by)
        await u.commit()
    if not mine:
        return None
    try:
        report = await compare(uow, catalogue, clock, fetch, keys)
    except BaseException:
        async with uow() as u:
            await u.admin.release_job(JOB, owner)
            await u.commit()
        raise
    to = [started_by] if started_by is not None else (
        list(operators) if report.differences else [])
    run_key = secrets.token_hex(6)
    async with uow() as u:
        await u.admin.finish_job(JOB, owner, clock.now(),
                                 {"transactions": report.transactions,
                                  "payments": report.payments,
                                  "differences": len(report.differences),
                                  "counts": report.counts()})
        for operator in to:
            if await u.users.get(operator) is None:
                log.warning("billing.reconcile_operator_unknown", extra={"operator": operator})
                continue
            await u.outbox.enqueue(operator, REPORT_KIND, f"reconcile:{run_key}:{operator}",
                                   report.params(), clock.now())
        u.audit.record(started_by, "admin.reconciled", "reconcile", run_key,
                       {"transactions": report.transactions, "payments": report.payments,
                        **report.counts()})
        await u.commit()
    log.info("billing.reconciled", extra={"transactions": report.transactions,
                                          "differences": len(report.differences)})
    return report
