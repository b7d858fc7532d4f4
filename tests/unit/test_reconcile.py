"""Reconciliation against a fake getStarTransactions on SQLite and PostgreSQL: a payment we never
recorded is recorded (the user gets their time) and reported, a refund made at Telegram is
marked, the rest is reported — the same whatever order Telegram lists transactions in; one run
at a time, the daily one skipped within a day, the report queued to operators."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.billing import account, reconcile
from core.billing.payload import Offer, encode
from core.billing.plans import PlanBook
from core.billing.reconcile import StarTx
from core.clock import FixedClock
from core.users import SignUp, register_user
from storage.db import session_factory
from storage.models import AuditEntry, OutboxMessage, Payment
from storage.uow import UnitOfWorkFactory

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
KEY = b"k" * 32
CATALOGUE = PlanBook().current()
OPERATOR, BUYER, OTHER = 900, 701, 702


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), None)


class FakeTelegram:
    """getStarTransactions over a fixed list in a fixed (but unpromised) order."""

    def __init__(self, txs: Sequence[StarTx]) -> None:
        self.txs = list(txs)
        self.calls: list[tuple[int, int]] = []

    async def fetch(self, offset: int, limit: int) -> list[StarTx]:
        self.calls.append((offset, limit))
        return self.txs[offset:offset + limit]


def payload(user_id: int, stars: int, plan: str = "pro", days: int = 30) -> str:
    return encode(Offer(user_id, plan, days, False, stars, NOW - timedelta(days=1)), KEY)


def pay(charge: str, user_id: int, stars: int, at: datetime) -> StarTx:
    return StarTx(charge, "payment", stars, at, user_id, payload(user_id, stars))


async def _scenario(uow: UnitOfWorkFactory) -> list[StarTx]:
    """Our ledger and Telegram's list, differing in one way of each kind."""
    for uid in (OPERATOR, BUYER, OTHER):
        await register_user(uow, FixedClock(NOW - timedelta(days=60)),
                            SignUp(uid, f"U{uid}", None, None, "en", "UTC", None, False))
    day = NOW - timedelta(days=5)
    txs: list[StarTx] = []
    async with uow() as u:
        for n in range(130):  # both sides agree on these (more than one page of 100)
            at = day + timedelta(minutes=n)
            u.session.add(Payment(user_id=OTHER, telegram_charge_id=f"k{n}", total_amount=500,
                                  payload="p", created_at=at, plan="pro", days=30))
            txs.append(pay(f"k{n}", OTHER, 500, at))
        u.session.add_all([
            Payment(user_id=OTHER, telegram_charge_id="mismatch", total_amount=500, payload="p",
                    created_at=day, plan="pro", days=30),
            Payment(user_id=OTHER, telegram_charge_id="ghost", total_amount=500, payload="p",
                    created_at=day, plan="pro", days=30),
            Payment(user_id=OTHER, telegram_charge_id="refunded-here", total_amount=500,
                    payload="p", created_at=day, plan="pro", days=30, refunded_at=day),
        ])
        await u.commit()
    txs += [
        pay("mismatch", OTHER, 550, day),
        pay("refunded-here", OTHER, 500, day),
        # The buyer paid but the update never reached us.
        pay("missed", BUYER, 550, NOW - timedelta(hours=2)),
        StarTx("forged", "payment", 550, day, BUYER, "p1.701.pro.30.o.550.1.bad"),
        StarTx("k7", "refund", 500, day + timedelta(hours=1), OTHER, "p"),
        StarTx("unknown", "refund", 100, day, OTHER, "p"),
        StarTx("wd1", "other", 1000, day),
    ]
    return txs


EXPECTED = sorted([
    ("amount", "mismatch"),
    ("missing_at_telegram", "ghost"),
    ("recorded", "missed"),
    ("refund_marked", "k7"),
    ("refund_only_here", "refunded-here"),
    ("refund_unknown", "unknown"),
    ("unrecorded", "forged"),
])


@pytest.mark.parametrize("order", ["oldest_first", "newest_first", "shuffled"])
async def test_differences_are_repaired_or_reported_whatever_the_order(
    uow: UnitOfWorkFactory, order: str
) -> None:
    txs = await _scenario(uow)
    txs.sort(key=lambda t: t.date, reverse=order == "newest_first")
    if order == "shuffled":
        random.Random(14).shuffle(txs)
    telegram = FakeTelegram(txs)
    clock = FixedClock(NOW)
    report = await reconcile.compare(uow, CATALOGUE, clock, telegram.fetch, [KEY])
    assert sorted((d.kind, d.charge_id) for d in report.differences) == EXPECTED
    assert telegram.calls == [(0, 100), (100, 100)]  # every page, until a short one
    assert report.transactions == len(txs) and report.payments == 134  # with "missed"
    diffs = {d.kind: d for d in report.differences}
    assert diffs["amount"].ours == 500 and diffs["amount"].stars == 550
    assert diffs["unrecorded"].note == "payload not signed by us"
    # The buyer got their time and a receipt; the refund at Telegram ended k7's period.
    standing, _ = await account.current(uow, CATALOGUE, clock, BUYER)
    assert standing.state == "active" and standing.plan == "pro"
    assert standing.paid_until == NOW - timedelta(hours=2) + timedelta(days=30)
    async with uow() as u:
        receipts = list(await u.session.scalars(
            select(OutboxMessage.user_id).where(OutboxMessage.kind == account.RECEIPT_KIND)))
        k7 = await u.billing.charge("k7")
        missed = await u.billing.charge("missed")
    assert receipts == [BUYER]
    assert k7 is not None and k7.refunded_at == NOW and k7.refunded_by is None
    assert missed is not None and missed.total_amount == 550 and missed.user_id == BUYER

    # A second run finds only what cannot be repaired here.
    again = await reconcile.compare(uow, CATALOGUE, clock, telegram.fetch, [KEY])
    assert sorted((d.kind, d.charge_id) for d in again.differences) == [
        e for e in EXPECTED if e[0] not in ("recorded", "refund_marked")]


async def test_one_run_at_a_time_the_daily_one_skips_within_a_day_and_operators_get_the_report(
    uow: UnitOfWorkFactory,
) -> None:
    txs = await _scenario(uow)
    telegram = FakeTelegram(txs)
    clock = FixedClock(NOW)
    async with uow() as u:  # another instance is running it
        assert await u.admin.claim_job(reconcile.JOB, "other", NOW, NOW + timedelta(minutes=5),
                                       None)
        await u.commit()
    assert await reconcile.run(uow, CATALOGUE, clock, telegram.fetch, [KEY], "me",
                               [OPERATOR]) is None
    assert telegram.calls == []
    later = FixedClock(NOW + timedelta(minutes=6))  # its lease ran out (it crashed)
    report = await reconcile.run(uow, CATALOGUE, later, telegram.fetch, [KEY], "me",
                                 [OPERATOR, 12345])
    assert report is not None and len(report.differences) == len(EXPECTED)
    # The daily run within a day of the last one does nothing.
    calls = len(telegram.calls)
    assert await reconcile.run(uow, CATALOGUE, FixedClock(NOW + timedelta(hours=5)),
                               telegram.fetch, [KEY], "me", [OPERATOR]) is None
    assert len(telegram.calls) == calls
    # By hand it runs anyway; the presser gets its report even with nothing new to repair.
    by_hand = await reconcile.run(uow, CATALOGUE, FixedClock(NOW + timedelta(hours=5)),
                                  telegram.fetch, [KEY], "me", [OPERATOR], started_by=OPERATOR)
    assert by_hand is not None
    async with uow() as u:
        reports = list(await u.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == reconcile.REPORT_KIND)
            .order_by(OutboxMessage.id)))
        job = await u.admin.job(reconcile.JOB)
        audit = list(await u.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "admin.reconciled")
            .order_by(AuditEntry.id)))
    # The scheduled run reported to the one operator who is a user; 12345 never signed up.
    assert [r.user_id for r in reports] == [OPERATOR, OPERATOR]
    assert reports[0].params["total"] == len(EXPECTED)
    assert reports[0].params["counts"]["recorded"] == 1
    assert reports[1].params["total"] == len(EXPECTED) - 2
    assert job is not None and job.lease_owner is None and job.started_by == OPERATOR
    assert [a.actor_id for a in audit] == [None, OPERATOR]


async def test_nothing_to_report_is_said_when_run_by_hand_only(uow: UnitOfWorkFactory) -> None:
    await register_user(uow, FixedClock(NOW), SignUp(OPERATOR, "Op", None, None, "en", "UTC",
                                                     None, False))
    telegram = FakeTelegram([StarTx("wd", "other", 10, NOW)])
    clock = FixedClock(NOW)
    scheduled = await reconcile.run(uow, CATALOGUE, clock, telegram.fetch, [KEY], "me",
                                    [OPERATOR])
    assert scheduled is not None and scheduled.differences == []
    by_hand = await reconcile.run(uow, CATALOGUE, clock, telegram.fetch, [KEY], "me",
                                  [OPERATOR], started_by=OPERATOR)
    assert by_hand is not None
    async with uow() as u:
        reports = list(await u.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == reconcile.REPORT_KIND)))
    assert [(r.user_id, r.params["total"]) for r in reports] == [(OPERATOR, 0)]


async def test_a_failed_read_gives_the_lease_back(uow: UnitOfWorkFactory) -> None:
    async def broken(offset: int, limit: int) -> list[StarTx]:
        raise ConnectionError("Telegram is down")

    with pytest.raises(ConnectionError):
        await reconcile.run(uow, CATALOGUE, FixedClock(NOW), broken, [KEY], "me", [])
    async with uow() as u:
        job = await u.admin.job(reconcile.JOB)
    assert job is not None and job.lease_owner is None and job.last_finished_at is None


async def test_a_missed_first_payment_of_a_new_subscription_stops_the_one_it_replaces(
    uow: UnitOfWorkFactory,
) -> None:
    # The buyer's Pro subscription renews; the first payment of the Agency subscription that
    # replaces it never reached us. Recorded by reconciliation, it is a new subscription (not
    # a renewal of Pro's), so Pro's renewal is stopped as the usual path stops it.
    await register_user(uow, FixedClock(NOW - timedelta(days=60)),
                        SignUp(BUYER, "B", None, None, "en", "UTC", None, False))
    pro = encode(Offer(BUYER, "pro", 30, True, 500, NOW - timedelta(days=11)), KEY)
    agency = encode(Offer(BUYER, "agency", 30, True, 2000, NOW - timedelta(days=1)), KEY)
    first = NOW - timedelta(days=10)
    await account.record_charge(uow, CATALOGUE, FixedClock(first), BUYER, account.Paid(
        charge_id="pro1", provider_charge_id=None, stars=500, payload=pro, paid_at=first,
        offer=Offer(BUYER, "pro", 30, True, 500, first), expires_at=first + timedelta(days=30),
        is_recurring=True, is_first_recurring=True))
    paid = NOW - timedelta(hours=3)
    telegram = FakeTelegram([
        StarTx("pro1", "payment", 500, first, BUYER, pro, 2592000),
        StarTx("ag1", "payment", 2000, paid, BUYER, agency, 2592000),
    ])
    report = await reconcile.compare(uow, CATALOGUE, FixedClock(NOW), telegram.fetch, [KEY])
    assert [(d.kind, d.charge_id) for d in report.differences] == [("recorded", "ag1")]
    async with uow() as u:
        ag1 = await u.billing.charge("ag1")
        stop = [m.params for m in await u.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == account.SUPERSEDE_KIND))]
    assert ag1 is not None and ag1.recurring and ag1.first_recurring
    assert stop == [{"charge_id": "pro1", "by": "ag1"}]
