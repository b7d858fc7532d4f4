"""Selling a plan for Telegram Stars: the offer an invoice carries, the pre-checkout verdict, and a
successful payment recorded exactly once (telegram-bot-platform.md §4).

Telegram waits at most 10 seconds for the answer to a pre_checkout_query, so the verdict reads
three rows by key and calls nothing over the network.

A successful_payment whose payload we cannot verify (not signed by us, or naming another user)
should never arrive — the pre-checkout refused both. If one does, the money was taken all the
same, so it is recorded (exactly once, under the payer) with no plan and no time: the receipt
tells the payer to write to support, the error log and the ledger row (plan "") let operators
and reconciliation find it, and a refund or a grant settles it by hand. Granting time for a
payload we did not sign would let anyone buy any plan at any price."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.billing import account, subscription, tick
from core.billing.account import Change, Paid
from core.billing.ledger import Standing
from core.billing.payload import Offer, decode
from core.billing.plans import Catalogue, Plan
from core.billing.subscription import Subscription
from core.clock import Clock
from storage.models.billing import Payment
from storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)

# Why a pre-checkout was refused (bot/views/billing.py says each in the payer's language).
FORGED = "forged"  # the payload is not one we signed
NOT_YOURS = "not_yours"  # signed for another Telegram user than the payer
UNKNOWN = "unknown"  # the payer never signed up
DELETED = "deleted"  # the payer deleted their account
NO_PLAN = "no_plan"  # the plan no longer exists
NOT_SOLD = "not_sold"  # the plan exists but is no longer sold for that period
PRICE_CHANGED = "price_changed"  # the plan's current price differs from the invoice's
AMOUNT = "amount"  # what Telegram asks the payer for is not the invoice's price
SUBSCRIBED = "subscribed"  # a second subscription to the plan that already renews
REASONS = (FORGED, NOT_YOURS, UNKNOWN, DELETED, NO_PLAN, NOT_SOLD, PRICE_CHANGED, AMOUNT,
           SUBSCRIBED)


class NotOnSale(ValueError):
    """The plan does not exist or is not sold for that period."""


def offer(catalogue: Catalogue, clock: Clock, user_id: int, plan: str, days: int,
          recurring: bool) -> Offer:
    """What an invoice for `plan` sells now: `days` of it (a monthly subscription when
    `recurring`) at the catalogue's current price. NotOnSale when it is not for sale."""
    target = catalogue.get(plan)
    stars = target.price(days, recurring) if target is not None else None
    if target is None or stars is None:
        raise NotOnSale(plan)
    return Offer(user_id, plan, days, recurring, stars, clock.now())


class AlreadySubscribed(ValueError):
    """A subscription to that plan renews already (a second one would charge twice)."""

    def __init__(self, subscription: Subscription) -> None:
        super().__init__(subscription.plan)
        self.subscription = subscription


@dataclass(frozen=True)
class Prepared:
    """An invoice to send: the offer, its plan, and the buyer's standing it adds to."""

    offer: Offer
    plan: Plan
    standing: Standing


async def prepare(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock, user_id: int,
                  plan: str, days: int, recurring: bool) -> Prepared:
    """The offer for a Buy button at today's price, with the standing it adds to (the same
    plan extends, a higher one upgrades at once). NotOnSale when it is not sold; for a monthly
    subscription AlreadySubscribed when that plan's subscription renews already."""
    sold = offer(catalogue, clock, user_id, plan, days, recurring)
    running = await subscription.current(uow, user_id)
    if (recurring and running is not None and running.renews and running.plan == plan
            and running.running(clock.now())):
        raise AlreadySubscribed(running)
    standing, _row = await account.current(uow, catalogue, clock, user_id)
    target = catalogue.get(plan)
    assert target is not None  # offer() checked it
    return Prepared(sold, target, standing)


@dataclass(frozen=True)
class Verdict:
    """A pre-checkout's answer: `reason` None accepts; `offer` is what the payload names (None
    when it is not ours) and `plan_name` the plan's name for the refusal's wording."""

    reason: str | None
    offer: Offer | None = None
    plan_name: str = ""

    @property
    def ok(self) -> bool:
        """Whether the payment may go ahead."""
        return self.reason is None


async def pre_checkout(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock,
                       secrets: Sequence[bytes], payer_id: int, currency: str,
                       total_amount: int, payload: str) -> Verdict:
    """Decide a pre_checkout_query: the payload is ours and names the payer, the payer is a live
    user, the plan is still sold for that period at that price, Telegram asks exactly that price
    in Stars, and it is not a second subscription to the plan that already renews."""
    found = decode(payload, secrets)
    if found is None:
        return Verdict(FORGED)
    target = catalogue.get(found.plan)
    name = target.name if target is not None else found.plan
    if found.user_id != payer_id:
        return Verdict(NOT_YOURS, found, name)
    async with uow() as u:
        user = await u.users.get_any(payer_id)
        row = await u.billing.entitlement(payer_id)
        running = None
        if found.recurring and row is not None and row.renews and row.subscription_charge_id:
            running = await u.billing.charge(row.subscription_charge_id)
    if user is None:
        return Verdict(UNKNOWN, found, name)
    if user.deleted_at is not None:
        return Verdict(DELETED, found, name)
    if target is None or not target.paid:
        return Verdict(NO_PLAN, found, name)
    price = target.price(found.days, found.recurring)
    if price is None:
        return Verdict(NOT_SOLD, found, name)
    if price != found.stars:
        return Verdict(PRICE_CHANGED, found, name)
    if currency != "XTR" or total_amount != found.stars:
        return Verdict(AMOUNT, found, name)
    if (running is not None and running.plan == found.plan and running.refunded_at is None
            and _period_end(running) > clock.now()):
        # Only while its period runs: a subscription stopped in Telegram without an
        # Update.subscription still "renews" here, and must not block buying it again
        # (prepare() offered it, as subscription.Subscription.running says).
        return Verdict(SUBSCRIBED, found, name)
    return Verdict(None, found, name)


def _period_end(charge: Payment) -> datetime:
    """The end of the period a subscription charge paid for (as subscription.current says)."""
    return charge.expires_at or charge.created_at + timedelta(days=charge.days)


@dataclass(frozen=True)
class Received:
    """A successful_payment as the bot received it (the Bot API's SuccessfulPayment fields)."""

    charge_id: str
    provider_charge_id: str | None
    currency: str
    stars: int
    payload: str
    paid_at: datetime  # the service message's date
    expires_at: datetime | None = None  # subscription_expiration_date
    is_recurring: bool = False
    is_first_recurring: bool = False


@dataclass(frozen=True)
class Completed:
    """What recording a payment did: the ledger change (`change.new` False for a repeated
    delivery) and the verified offer (None: recorded without a plan)."""

    change: Change
    offer: Offer | None


def expiration(unix: int | None) -> datetime | None:
    """Telegram's subscription_expiration_date as an aware datetime."""
    return datetime.fromtimestamp(unix, UTC) if unix else None


async def complete(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock,
                   secrets: Sequence[bytes], payer_id: int, payment: Received,
                   owner: str) -> Completed:
    """Record a successful payment exactly once by its charge id (any delivery, any instance):
    the plan it paid for is extended or upgraded and its limits applied at once (`owner`
    leases the entitlement meanwhile); one we cannot verify is kept without time."""
    found = decode(payment.payload, secrets)
    if found is None or found.user_id != payer_id:
        # See the module docstring: kept for money safety, no time granted, operators told.
        log.error("billing.unverified_payment",
                  extra={"charge_id": payment.charge_id, "user_id": payer_id,
                         "stars": payment.stars, "signed": found is not None})
        found = None
    recorded = found or Offer(payer_id, "", 0, payment.is_recurring, payment.stars,
                              payment.paid_at)
    paid = Paid(
        charge_id=payment.charge_id, provider_charge_id=payment.provider_charge_id,
        stars=payment.stars, payload=payment.payload, paid_at=payment.paid_at, offer=recorded,
        expires_at=payment.expires_at if found is not None else None,
        is_recurring=payment.is_recurring, is_first_recurring=payment.is_first_recurring,
    )
    change = await account.record_charge(uow, catalogue, clock, payer_id, paid)
    if not change.new:
        log.info("billing.payment_repeated", extra={"charge_id": payment.charge_id})
        return Completed(change, found)
    await tick.apply_now(uow, catalogue, clock, payer_id, owner)
    return Completed(change, found)


async def refund_seen(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock, user_id: int,
                      charge_id: str, owner: str) -> Change | None:
    """A refunded_payment in the user's chat: the charge stops counting (once, however often
    it is delivered) and the plan that follows is applied at once. None: not our charge."""
    change = await account.refunded(uow, catalogue, clock, charge_id)
    if change is None:
        log.warning("billing.refund_unknown_charge", extra={"charge_id": charge_id})
    elif change.new:
        await tick.apply_now(uow, catalogue, clock, user_id, owner)
    return change
