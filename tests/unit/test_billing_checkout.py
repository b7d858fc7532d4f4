"""Paying on SQLite and PostgreSQL: every pre-checkout refusal with its reason, a payment recorded
once however often it is delivered (one receipt), a payload we cannot verify recorded without
time, a new subscription that replaces a renewing one, refunds seen once, cancelling and
allowing renewal (Telegram asked first, nothing stored when it refuses), Update.subscription."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.billing import account, checkout, subscription
from core.billing.plans import DEFAULT, parse
from core.clock import FixedClock
from storage.db import session_factory
from storage.models import AuditEntry, OutboxMessage, Payment
from storage.uow import UnitOfWorkFactory
from tests.unit.billing_fakes import (
    CATALOGUE,
    OTHER_KEY,
    SECRETS,
    FakeEnforcer,
    enforcer,  # noqa: F401 - fixture
    pay,
    payload,
    received,
    sign_up,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ANN, BOB = 41, 42


@pytest.fixture
async def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    factory = UnitOfWorkFactory(session_factory(engine), None)
    for uid in (ANN, BOB):
        await sign_up(factory, FixedClock(NOW - timedelta(days=1)), uid)
    return factory


async def _verdict(uow: UnitOfWorkFactory, body: str, payer: int = ANN, amount: int = 550,
                   catalogue: object = CATALOGUE) -> checkout.Verdict:
    return await checkout.pre_checkout(uow, catalogue, FixedClock(NOW), SECRETS, payer, "XTR",  # type: ignore[arg-type]
                                       amount, body)


async def test_pre_checkout_accepts_our_invoice_and_refuses_each_wrong_one(
    uow: UnitOfWorkFactory
) -> None:
    assert (await _verdict(uow, payload(ANN))).ok
    assert (await _verdict(uow, payload(ANN, recurring=True), amount=500)).ok

    assert (await _verdict(uow, payload(ANN, key=OTHER_KEY))).reason == checkout.FORGED
    assert (await _verdict(uow, "order:123")).reason == checkout.FORGED
    tampered = payload(ANN).replace(".550.", ".5.")
    assert (await _verdict(uow, tampered, amount=5)).reason == checkout.FORGED
    assert (await _verdict(uow, payload(BOB), payer=ANN)).reason == checkout.NOT_YOURS
    assert (await _verdict(uow, payload(77), payer=77)).reason == checkout.UNKNOWN
    assert (await _verdict(uow, payload(ANN, days=60, stars=900), amount=900)).reason == (
        checkout.NOT_SOLD)
    assert (await _verdict(uow, payload(ANN, plan="gold", stars=550))).reason == checkout.NO_PLAN
    assert (await _verdict(uow, payload(ANN, plan="free", stars=550))).reason == checkout.NO_PLAN
    assert (await _verdict(uow, payload(ANN), amount=549)).reason == checkout.AMOUNT

    # The operator raised the price after the invoice was sent.
    doc = copy.deepcopy(DEFAULT)
    doc["plans"][1]["periods"]["30"] = 600
    dearer = parse(doc)
    stale = await _verdict(uow, payload(ANN), catalogue=dearer)
    assert stale.reason == checkout.PRICE_CHANGED and stale.plan_name == "Pro"

    async with uow() as u:
        user = await u.users.get(ANN)
        assert user is not None
        user.deleted_at = NOW
        await u.commit()
    assert (await _verdict(uow, payload(ANN))).reason == checkout.DELETED


async def test_a_second_subscription_to_the_renewing_plan_is_refused(
    uow: UnitOfWorkFactory, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    await pay(uow, FixedClock(NOW), ANN, "sub1", recurring=True)
    again = await _verdict(uow, payload(ANN, recurring=True), amount=500)
    assert again.reason == checkout.SUBSCRIBED
    # A one-off period of it, or another plan's subscription, is fine.
    assert (await _verdict(uow, payload(ANN))).ok
    assert (await _verdict(uow, payload(ANN, "agency", recurring=True), amount=2000)).ok


async def _count(uow: UnitOfWorkFactory, model: type, *where: object) -> int:
    async with uow() as u:
        return int(await u.session.scalar(select(func.count()).select_from(model).where(*where)))


async def test_a_payment_delivered_twice_extends_once_with_one_receipt(
    uow: UnitOfWorkFactory, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    clock = FixedClock(NOW)
    first = await pay(uow, clock, ANN, "ch1")
    assert first.change.new and first.offer is not None
    assert first.change.after.state == "active"
    assert first.change.after.paid_until == NOW + timedelta(days=30)
    assert enforcer.calls == [(ANN, "pro")]  # limits applied at once, not a tick later

    clock.set(NOW + timedelta(minutes=5))  # redelivered, or seen by another instance
    again = await pay(uow, clock, ANN, "ch1")
    assert not again.change.new
    assert again.change.after.paid_until == NOW + timedelta(days=30)
    assert enforcer.calls == [(ANN, "pro")]
    assert await _count(uow, Payment) == 1
    assert await _count(uow, OutboxMessage, OutboxMessage.kind == "billing_receipt") == 1

    # Buying the same plan again extends it; a higher plan starts now, Pro's rest after it.
    await pay(uow, clock, ANN, "ch2")
    standing, _row = await account.current(uow, CATALOGUE, clock, ANN)
    assert standing.paid_until == NOW + timedelta(days=60)
    await pay(uow, clock, ANN, "ch3", plan="agency")
    standing, _row = await account.current(uow, CATALOGUE, clock, ANN)
    assert standing.plan == "agency"
    assert standing.paid_until == NOW + timedelta(days=90)
    assert enforcer.calls[-1] == (ANN, "agency")


async def test_a_payment_we_cannot_verify_is_kept_without_time(
    uow: UnitOfWorkFactory, enforcer: FakeEnforcer,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FixedClock(NOW)
    forged = received(ANN, "odd1", NOW, body=payload(ANN, key=OTHER_KEY))
    done = await checkout.complete(uow, CATALOGUE, clock, SECRETS, ANN, forged, "w")
    assert done.offer is None and done.change.new
    assert done.change.after.state == "free"
    async with uow() as u:
        row = await u.billing.charge("odd1")
        assert row is not None and row.plan == "" and row.total_amount == 550
    assert any(r.message == "billing.unverified_payment" and r.levelname == "ERROR"
               for r in caplog.records)
    # Someone else's payload paid by Ann: hers, recorded the same way.
    other = received(ANN, "odd2", NOW, body=payload(BOB))
    assert (await checkout.complete(uow, CATALOGUE, clock, SECRETS, ANN, other, "w")).offer is None
    assert await _count(uow, OutboxMessage, OutboxMessage.kind == "billing_receipt") == 2


async def test_a_new_subscription_names_the_one_it_replaces(
    uow: UnitOfWorkFactory, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    clock = FixedClock(NOW)
    async def stop_renewal() -> list[dict[str, Any]]:
        async with uow() as u:
            return [m.params for m in await u.session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "billing_supersede"))]

    await pay(uow, clock, ANN, "pro1", recurring=True)
    assert await stop_renewal() == []
    clock.set(NOW + timedelta(days=30))
    await pay(uow, clock, ANN, "pro2", recurring=True, first=False)
    assert await stop_renewal() == []  # a renewal replaces nothing
    clock.set(NOW + timedelta(days=35))
    await pay(uow, clock, ANN, "ag1", plan="agency", recurring=True)
    # The subscription's first charge, queued with the new charge (bot/notifier.py stops it).
    assert await stop_renewal() == [{"charge_id": "pro1", "by": "ag1"}]
    sub = await subscription.current(uow, ANN)
    assert sub is not None and sub.plan == "agency" and sub.first_charge_id == "ag1"


async def test_refunds_end_the_time_once(
    uow: UnitOfWorkFactory, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    clock = FixedClock(NOW)
    await pay(uow, clock, ANN, "ch1")
    clock.set(NOW + timedelta(days=2))
    change = await checkout.refund_seen(uow, CATALOGUE, clock, ANN, "ch1", "w")
    assert change is not None and change.new and change.after.state == "free"
    assert enforcer.calls == [(ANN, "pro"), (ANN, "free")]
    again = await checkout.refund_seen(uow, CATALOGUE, clock, ANN, "ch1", "w")
    assert again is not None and not again.new
    assert await checkout.refund_seen(uow, CATALOGUE, clock, ANN, "nope", "w") is None
    assert len(enforcer.calls) == 2


class Telegram:
    """editUserStarSubscription as Telegram answers it: refusals by charge id."""

    def __init__(self, refuse: dict[str, str] | None = None) -> None:
        self.refuse = refuse or {}
        self.calls: list[tuple[str, bool]] = []

    async def __call__(self, charge_id: str, is_canceled: bool) -> str | None:
        self.calls.append((charge_id, is_canceled))
        return self.refuse.get(charge_id)


async def test_cancel_asks_telegram_first_and_stores_only_what_it_agreed(
    uow: UnitOfWorkFactory, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    clock = FixedClock(NOW)
    await pay(uow, clock, ANN, "s1", recurring=True)
    clock.set(NOW + timedelta(days=30))
    await pay(uow, clock, ANN, "s2", recurring=True, first=False)
    clock.set(NOW + timedelta(days=31))

    down = Telegram({"s1": "Bad Request: SUBSCRIPTION_EXPIRED"})
    refused = await subscription.cancel(uow, clock, ANN, down)
    assert refused.problem == subscription.REFUSED and "SUBSCRIPTION_EXPIRED" in str(refused.error)
    assert down.calls == [("s1", True)]
    sub = await subscription.current(uow, ANN)
    assert sub is not None and sub.renews  # nothing changed here

    # The first charge refused as unknown: the newest one is tried.
    telegram = Telegram({"s1": "Bad Request: CHARGE_ID_INVALID"})
    done = await subscription.cancel(uow, clock, ANN, telegram)
    assert done.done and telegram.calls == [("s1", True), ("s2", True)]
    sub = await subscription.current(uow, ANN)
    assert sub is not None and not sub.renews and sub.canceled_at == clock.now()
    assert (await subscription.cancel(uow, clock, ANN, telegram)).problem == subscription.ALREADY

    allowed = Telegram()
    resumed = await subscription.resume(uow, clock, ANN, allowed)
    assert resumed.done and allowed.calls == [("s1", False)]
    # Telegram leaves switching renewal back on to the user; it says so with an update.
    assert not (await subscription.current(uow, ANN)).renews  # type: ignore[union-attr]
    assert await subscription.telegram_changed(uow, clock, ANN, payload(ANN, recurring=True),
                                               "active")
    assert (await subscription.current(uow, ANN)).renews  # type: ignore[union-attr]

    clock.set(NOW + timedelta(days=61))  # the period is over: nothing to cancel
    assert (await subscription.cancel(uow, clock, ANN, allowed)).problem == subscription.ENDED
    assert (await subscription.cancel(uow, clock, BOB, allowed)).problem == subscription.NONE
    async with uow() as u:
        actions = list(await u.session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("billing.%renewal%")
                                            | AuditEntry.action.like("billing.subscription%"))
            .order_by(AuditEntry.id)))
    assert actions == ["billing.renewal_canceled", "billing.renewal_allowed",
                       "billing.subscription_active"]


async def test_telegram_subscription_updates_switch_renewal(
    uow: UnitOfWorkFactory, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    clock = FixedClock(NOW)
    await pay(uow, clock, ANN, "s1", recurring=True)
    body = payload(ANN, recurring=True)
    assert await subscription.telegram_changed(uow, clock, ANN, body, "canceled")
    async with uow() as u:
        row = await u.billing.entitlement(ANN)
        assert row is not None and not row.renews and row.canceled_at == NOW
        # Reminders apply from now on: the tick is due 3 days before the end.
        assert row.due_at == NOW + timedelta(days=27)
    assert await subscription.telegram_changed(uow, clock, ANN, body, "active")
    assert await subscription.telegram_changed(uow, clock, ANN, body, "failed")
    async with uow() as u:
        row = await u.billing.entitlement(ANN)
        assert row is not None and not row.renews
    # Another subscription's payload, another user, an unknown state: ignored.
    assert not await subscription.telegram_changed(uow, clock, ANN, payload(ANN, "agency", 30,
                                                                            True), "active")
    assert not await subscription.telegram_changed(uow, clock, BOB, body, "active")
    assert not await subscription.telegram_changed(uow, clock, ANN, body, "paused")


async def test_prepare_prices_the_offer_from_the_catalogue_now(
    uow: UnitOfWorkFactory, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    clock = FixedClock(NOW)
    ready = await checkout.prepare(uow, CATALOGUE, clock, ANN, "pro", 90, False)
    assert (ready.offer.stars, ready.offer.user_id, ready.standing.state) == (1500, ANN, "free")
    for plan, days, recurring in (("pro", 60, False), ("pro", 90, True), ("free", 30, False),
                                  ("gold", 30, False)):
        with pytest.raises(checkout.NotOnSale):
            await checkout.prepare(uow, CATALOGUE, clock, ANN, plan, days, recurring)
    await pay(uow, clock, ANN, "s1", recurring=True)
    with pytest.raises(checkout.AlreadySubscribed):
        await checkout.prepare(uow, CATALOGUE, clock, ANN, "pro", 30, True)
    ready = await checkout.prepare(uow, CATALOGUE, clock, ANN, "agency", 30, True)
    assert ready.standing.plan == "pro"



async def test_a_paused_account_still_gets_its_receipt(
    uow: UnitOfWorkFactory, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    async with uow() as u:
        user = await u.users.get(ANN)
        assert user is not None
        user.paused_at = NOW  # restriction: alerts wait, answers to the user's own acts do not
        await u.commit()
    await pay(uow, FixedClock(NOW), ANN, "ch1")
    async with uow() as u:
        claimed = await u.outbox.claim(NOW, NOW + timedelta(minutes=2), 10)
        await u.commit()
    assert [m.kind for m in claimed] == ["billing_receipt"]


async def test_a_subscription_that_lapsed_unseen_does_not_refuse_a_new_one(
    uow: UnitOfWorkFactory, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    # Ann stopped her Pro subscription in Telegram's settings and no Update.subscription came
    # (it is optional, Bot API 10.2): her row still says it renews, but its period is over.
    clock = FixedClock(NOW)
    await pay(uow, clock, ANN, "sub1", recurring=True)
    clock.set(NOW + timedelta(days=40))
    # Plans offers Pro monthly again and the invoice link is sent...
    ready = await checkout.prepare(uow, CATALOGUE, clock, ANN, "pro", 30, True)
    assert ready.standing.state == "free"
    # ...so paying it must not be refused as "a second subscription that renews".
    verdict = await checkout.pre_checkout(uow, CATALOGUE, clock, SECRETS, ANN, "XTR", 500,
                                          payload(ANN, recurring=True))
    assert verdict.ok, verdict.reason

