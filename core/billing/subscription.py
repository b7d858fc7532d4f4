"""The user's Stars subscription: which one renews their plan, cancelling its renewal or allowing
it again (editUserStarSubscription), and Telegram's own news of it (Update.subscription).

A subscription is one invoice payload: its renewals repeat the payload under new charge ids.
editUserStarSubscription takes "the Telegram payment identifier for the subscription" — the first
payment's charge id (MTProto's botCancelStarsSubscription documents that one); where Telegram
refuses it as an unknown charge, the newest charge id is tried as well.

`is_canceled=False` does not switch renewal back on: it "allows the user to re-enable a
subscription that was previously canceled by the bot" (Bot API). So resuming records nothing
locally; the user turns renewal on in Telegram and Update.subscription (state "active") or the
next renewal charge says so."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from core.billing.account import first_charge, next_due
from core.clock import Clock
from storage.uow import UnitOfWorkFactory

# Calls editUserStarSubscription(user, charge id, is_canceled): None when Telegram said yes,
# else Telegram's refusal in its own words. Core never sees the Bot API client.
Edit = Callable[[str, bool], Awaitable[str | None]]

# Why a cancel or resume was not done (bot/views/billing.py words each).
NONE = "none"  # no subscription renews the plan
ENDED = "ended"  # its paid period is over: nothing left to cancel or resume
ALREADY = "already"  # it already does what was asked
REFUSED = "refused"  # Telegram refused: `error` says why; nothing was changed here


@dataclass(frozen=True)
class Subscription:
    """The subscription that renews the user's plan: its plan and price, its first and newest
    charges, the end of the period paid so far, and whether it renews."""

    plan: str
    stars: int
    first_charge_id: str
    charge_id: str
    payload: str
    period_end: datetime | None
    renews: bool
    canceled_at: datetime | None

    def running(self, now: datetime) -> bool:
        """Whether its paid period still runs (renewal can still be changed)."""
        return self.period_end is not None and self.period_end > now


@dataclass(frozen=True)
class Renewal:
    """The outcome of a cancel or resume: done, or the `problem` (and Telegram's `error`)."""

    done: bool
    problem: str | None
    subscription: Subscription | None
    error: str | None = None


async def current(uow: UnitOfWorkFactory, user_id: int) -> Subscription | None:
    """The subscription that renews the user's plan (its newest live charge), if any."""
    async with uow() as u:
        row = await u.billing.entitlement(user_id)
        if row is None or row.subscription_charge_id is None:
            return None
        newest = await u.billing.charge(row.subscription_charge_id)
        if newest is None:
            return None
        ledger = await u.billing.ledger(user_id)
    first = first_charge(ledger, newest.payload) or newest.telegram_charge_id
    end = newest.expires_at
    if end is None:  # Telegram always sends it for subscriptions; the days are the fallback
        end = newest.created_at + timedelta(days=newest.days)
    return Subscription(newest.plan, newest.total_amount, first, newest.telegram_charge_id,
                        newest.payload, end, row.renews, row.canceled_at)


async def _edit(edit: Edit, sub: Subscription, is_canceled: bool) -> str | None:
    """Ask Telegram with the first charge id, then the newest if the first is refused as
    unknown; None on success, else the last refusal."""
    error: str | None = None
    for charge_id in dict.fromkeys((sub.first_charge_id, sub.charge_id)):
        error = await edit(charge_id, is_canceled)
        if error is None or "CHARGE_ID" not in error.upper():
            return error
    return error


async def cancel(uow: UnitOfWorkFactory, clock: Clock, user_id: int, edit: Edit) -> Renewal:
    """Stop the user's subscription from renewing (the paid period runs to its end): asked of
    Telegram first, recorded here only when Telegram agreed."""
    sub = await current(uow, user_id)
    now = clock.now()
    if sub is None:
        return Renewal(False, NONE, None)
    if not sub.running(now):
        return Renewal(False, ENDED, sub)
    if not sub.renews:
        return Renewal(False, ALREADY, sub)
    error = await _edit(edit, sub, True)
    if error is not None:
        return Renewal(False, REFUSED, sub, error)
    now = clock.now()
    async with uow() as u:
        row = await u.billing.set_renewal(user_id, False, now, now)
        row.due_at = next_due(row, now)  # reminders before the end apply from now on
        u.audit.record(user_id, "billing.renewal_canceled", "payment", sub.first_charge_id,
                       {"plan": sub.plan})
        await u.commit()
    return Renewal(True, None, replace(sub, renews=False, canceled_at=now))


async def resume(uow: UnitOfWorkFactory, clock: Clock, user_id: int, edit: Edit) -> Renewal:
    """Allow the user to switch renewal back on while the period runs (see the module
    docstring: Telegram leaves the switch itself to the user)."""
    sub = await current(uow, user_id)
    now = clock.now()
    if sub is None:
        return Renewal(False, NONE, None)
    if not sub.running(now):
        return Renewal(False, ENDED, sub)
    if sub.renews:
        return Renewal(False, ALREADY, sub)
    error = await _edit(edit, sub, False)
    if error is not None:
        return Renewal(False, REFUSED, sub, error)
    async with uow() as u:
        u.audit.record(user_id, "billing.renewal_allowed", "payment", sub.first_charge_id,
                       {"plan": sub.plan})
        await u.commit()
    return Renewal(True, None, sub)


async def telegram_changed(uow: UnitOfWorkFactory, clock: Clock, user_id: int, payload: str,
                           state: str) -> bool:
    """Update.subscription for the user's current subscription: `canceled` and `failed` stop
    renewal (the period then ends into grace), `active` renews again. False when it is about
    a subscription that no longer renews the plan (ignored)."""
    if state not in ("canceled", "active", "failed"):
        return False
    now = clock.now()
    async with uow() as u:
        row = await u.billing.entitlement(user_id)
        if row is None or row.subscription_charge_id is None:
            return False
        charge = await u.billing.charge(row.subscription_charge_id)
        if charge is None or charge.payload != payload:
            return False
        canceled_at = {"canceled": now, "active": None}.get(state, row.canceled_at)
        row = await u.billing.set_renewal(user_id, state == "active", canceled_at, now)
        row.due_at = next_due(row, now)
        u.audit.record(user_id, f"billing.subscription_{state}", "payment",
                       row.subscription_charge_id or "", {"plan": charge.plan})
        await u.commit()
    return True
