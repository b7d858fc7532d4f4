"""The ledger of charges folded into paid time: which plan covers which moment, until when, and
whether a grace period follows. Pure: the same charges give the same answer whatever order they
were delivered in, so any instance can recompute it at any time."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from core.billing.plans import GRACE_DAYS


@dataclass(frozen=True)
class Charge:
    """One ledger entry: `plan` for `length` from `paid_at` (Telegram's charge time or an
    operator's grant); a refunded entry counts for nothing."""

    charge_id: str
    plan: str
    paid_at: datetime
    length: timedelta
    refunded_at: datetime | None = None


@dataclass(frozen=True)
class Period:
    """A stretch of paid time on one plan."""

    plan: str
    starts: datetime
    ends: datetime


@dataclass(frozen=True)
class Standing:
    """What the ledger says at `now`: state free | active | grace, the plan whose limits apply,
    the end of the paid time (None when nothing was ever paid) and of the grace after it, and
    while active the paid periods from the current one on (an upgrade's higher plan first, the
    rest of the old plan after it)."""

    state: str
    plan: str | None
    paid_until: datetime | None
    grace_until: datetime | None
    ahead: tuple[Period, ...] = ()


def periods(charges: Iterable[Charge], rank: Callable[[str], int]) -> list[Period]:
    """Lay paid time out charge by charge in charge-time order. A charge starts when it is paid;
    time already paid for and not yet used is kept, the higher plan first, the lower one after
    it (an upgrade starts now and the rest of the old plan follows; a same-plan purchase
    extends). Refunded charges are left out."""
    done: list[Period] = []
    queue: list[Period] = []
    live = sorted((c for c in charges if c.refunded_at is None),
                  key=lambda c: (c.paid_at, c.charge_id))
    for charge in live:
        t = charge.paid_at
        left: dict[str, timedelta] = {}
        for p in queue:
            if p.ends <= t:
                done.append(p)
                continue
            if p.starts < t:
                done.append(Period(p.plan, p.starts, t))
            left[p.plan] = left.get(p.plan, timedelta(0)) + p.ends - max(p.starts, t)
        left[charge.plan] = left.get(charge.plan, timedelta(0)) + charge.length
        queue, cursor = [], t
        for plan in sorted(left, key=lambda code: (-rank(code), code)):
            queue.append(Period(plan, cursor, cursor + left[plan]))
            cursor += left[plan]
    merged: list[Period] = []
    for p in done + queue:
        if merged and merged[-1].plan == p.plan and merged[-1].ends == p.starts:
            merged[-1] = Period(p.plan, merged[-1].starts, p.ends)
        elif p.ends > p.starts:
            merged.append(p)
    return merged


def standing(charges: Iterable[Charge], now: datetime, rank: Callable[[str], int],
             grace: timedelta = timedelta(days=GRACE_DAYS)) -> Standing:
    """The user's standing at `now`. Grace follows paid time that ran out, not paid time a
    refund took away: when a refund came after the last paid moment, it is what ended it."""
    charges = list(charges)
    laid = periods(charges, rank)
    if not laid:
        return Standing("free", None, None, None)
    last = laid[-1]
    # A refund made after the last paid moment ended it only if the refunded time reached past
    # it: the refund of a charge used up long ago leaves the grace of later paid time alone.
    late = [replace(c, refunded_at=None) if c.refunded_at is not None
            and c.refunded_at >= last.ends else c for c in charges]
    refund_ended = late != charges and periods(late, rank)[-1].ends > last.ends
    grace_until = last.ends if refund_ended else last.ends + grace
    current = next((i for i, p in enumerate(laid) if p.starts <= now < p.ends), None)
    if current is not None:
        return Standing("active", laid[current].plan, last.ends, grace_until,
                        tuple(laid[current:]))
    if last.ends <= now < grace_until:
        return Standing("grace", last.plan, last.ends, grace_until)
    return Standing("free", None, last.ends, grace_until)
