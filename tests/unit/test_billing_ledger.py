"""The ledger fold and its use-cases: paid time laid out charge by charge (same plan extends, an
upgrade starts at once and the rest of the lower plan follows), refunds take their time away
without grace, and — property — any interleaving of payments delivered once or many times,
renewals, refunds and expiries leaves the stored end date equal to what the ledger of distinct
charges says, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.billing import account, tick
from core.billing.ledger import Charge, periods, standing
from core.billing.payload import Offer, decode, encode
from core.billing.plans import CatalogueError, PlanBook, parse
from core.clock import FixedClock
from storage.db import session_factory
from storage.models import OutboxMessage, User
from storage.uow import UnitOfWorkFactory

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CATALOGUE = PlanBook().current()
RANK = CATALOGUE.rank


def ch(cid: str, plan: str, day: float, days: int, refunded: float | None = None) -> Charge:
    return Charge(cid, plan, T0 + day * DAY, days * DAY,
                  None if refunded is None else T0 + refunded * DAY)


def test_same_plan_purchases_extend_and_an_upgrade_runs_first_then_the_rest_follows() -> None:
    laid = periods([ch("a", "pro", 0, 30), ch("b", "pro", 10, 30)], RANK)
    assert [(p.plan, p.starts, p.ends) for p in laid] == [("pro", T0, T0 + 60 * DAY)]

    laid = periods([ch("a", "pro", 0, 30), ch("b", "agency", 10, 30)], RANK)
    assert [(p.plan, (p.starts - T0).days, (p.ends - T0).days) for p in laid] == [
        ("pro", 0, 10), ("agency", 10, 40), ("pro", 40, 60)]
    # Buying the lower plan during the higher one queues it after.
    laid = periods([ch("a", "agency", 0, 30), ch("b", "pro", 5, 30)], RANK)
    assert [(p.plan, (p.starts - T0).days, (p.ends - T0).days) for p in laid] == [
        ("agency", 0, 30), ("pro", 30, 60)]
    # Delivery order does not matter: the fold orders by charge time.
    assert periods([ch("b", "agency", 10, 30), ch("a", "pro", 0, 30)], RANK) == periods(
        [ch("a", "pro", 0, 30), ch("b", "agency", 10, 30)], RANK)


def test_after_an_upgrade_the_standing_names_each_plans_own_end() -> None:
    upgraded = standing([ch("a", "pro", 0, 30), ch("b", "agency", 10, 30)], T0 + 11 * DAY, RANK)
    assert (upgraded.plan, upgraded.paid_until) == ("agency", T0 + 60 * DAY)
    assert [(p.plan, (p.ends - T0).days) for p in upgraded.ahead] == [("agency", 40), ("pro", 60)]
    assert [p.plan for p in standing(
        [ch("a", "pro", 0, 30), ch("b", "agency", 10, 30)], T0 + 41 * DAY, RANK).ahead] == ["pro"]


def test_grace_follows_time_that_ran_out_but_not_time_a_refund_took() -> None:
    paid = [ch("a", "pro", 0, 30)]
    assert standing(paid, T0 + 29 * DAY, RANK).state == "active"
    lapsed = standing(paid, T0 + 31 * DAY, RANK)
    assert (lapsed.state, lapsed.plan, lapsed.grace_until) == ("grace", "pro", T0 + 33 * DAY)
    assert standing(paid, T0 + 33 * DAY, RANK).state == "free"

    renewed_then_refunded = [ch("a", "pro", 0, 30), ch("b", "pro", 30, 30, refunded=31)]
    now = standing(renewed_then_refunded, T0 + 31 * DAY, RANK)
    assert (now.state, now.paid_until) == ("free", T0 + 30 * DAY)
    # An old refund does not take away the grace of a later, lapsed purchase.
    later = [ch("a", "pro", 0, 30, refunded=5), ch("b", "pro", 10, 30)]
    assert standing(later, T0 + 41 * DAY, RANK).state == "grace"
    # Nor does a refund, made during that grace, of a charge whose time was used up long ago.
    used_then_refunded = [ch("a", "pro", 0, 30, refunded=71), ch("b", "pro", 40, 30)]
    grace = standing(used_then_refunded, T0 + 71 * DAY, RANK)
    assert (grace.state, grace.plan, grace.grace_until) == ("grace", "pro", T0 + 73 * DAY)


def test_payloads_are_signed_and_any_key_on_the_ring_verifies() -> None:
    offer = Offer(123456789012, "agency", 90, False, 6000, T0)
    text = encode(offer, b"k" * 32)
    assert len(text.encode()) <= 128
    assert decode(text, [b"new" * 11, b"k" * 32]) == offer
    assert decode(text, [b"x" * 32]) is None
    assert decode(text.replace("6000", "1"), [b"k" * 32]) is None  # a price edited by hand
    assert decode("order:123", [b"k" * 32]) is None


def test_a_plans_file_is_validated_and_a_broken_edit_keeps_the_last_good_catalogue(
    tmp_path: pytest.TempPathFactory,
) -> None:
    with pytest.raises(CatalogueError, match="free"):
        parse({"plans": [{"code": "pro", "name": "Pro", "rank": 1, "monthly": 5,
                          "limits": {"rule_every_minutes": 15, "seats": 1}}]})
    with pytest.raises(CatalogueError, match="10000"):
        parse({"plans": [{"code": "free", "name": "Free", "rank": 0,
                          "limits": {"rule_every_minutes": 60, "seats": 1}},
                         {"code": "pro", "name": "Pro", "rank": 1, "monthly": 10001,
                          "limits": {"rule_every_minutes": 15, "seats": 1}}]})
    path = tmp_path / "plans.json"  # type: ignore[operator]
    book = PlanBook(str(path))
    assert book.current().get("pro") is not None  # no file: the built-in plans
    path.write_text('{"plans": [{"code": "free", "name": "Free", "rank": 0, "limits": '
                    '{"rule_every_minutes": 60, "seats": 1, "rules_on": 9}}]}')
    assert book.current().get("pro") is None
    assert book.current().free.limits.rules_on == 9
    path.write_text("{not json")
    os.utime(path, (1, 1))
    assert book.current().free.limits.rules_on == 9


# --------------------------------------------------------------------------- the property
@dataclass(frozen=True)
class Paid:
    """A charge at Telegram: one-off or subscription (first or renewal)."""

    cid: str
    plan: str
    at: datetime
    days: int
    recurring: bool
    first: bool


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Paid], set[str], list[tuple[str, str]]]:
    """Charges at Telegram, which of them get refunded, and a delivery schedule: each payment
    delivered 1-3 times, refunds after their payment, expiry ticks anywhere."""
    charges: list[Paid] = []
    t = T0
    sub_end: datetime | None = None
    for n in range(draw(st.integers(1, 7))):
        t += timedelta(hours=draw(st.integers(0, 24 * 40)))
        kind = draw(st.sampled_from(["one", "sub", "renew"]))
        plan = draw(st.sampled_from(["pro", "agency"]))
        if kind == "renew" and sub_end is not None:
            charges.append(Paid(f"c{n}", plan, sub_end, 30, True, False))
            t = max(t, sub_end)
            sub_end += 30 * DAY
        elif kind in ("sub", "renew"):
            charges.append(Paid(f"c{n}", plan, t, 30, True, True))
            sub_end = t + 30 * DAY
        else:
            charges.append(Paid(f"c{n}", plan, t, draw(st.sampled_from([30, 90])), False, False))
    refunds = {c.cid for c in charges if draw(st.booleans()) and draw(st.booleans())}
    events: list[tuple[str, str]] = []
    for c in charges:
        events += [("pay", c.cid)] * draw(st.integers(1, 3))
    events += [("tick", "")] * draw(st.integers(0, 4))
    order = draw(st.permutations(events))
    # A refund is reported after its payment was seen (an earlier one is the reconciliation's).
    placed: list[tuple[str, str]] = []
    for event in order:
        placed.append(event)
        if event[0] == "pay" and event[1] in refunds and ("refund", event[1]) not in placed:
            placed.append(("refund", event[1]))
            if draw(st.booleans()):
                placed.append(("refund", event[1]))  # reported twice
    return charges, refunds, placed


def oracle_end(charges: list[Paid], refunds: set[str]) -> datetime | None:
    """Paid time is conserved whatever the plans: each live charge adds its days from the later of
    its own time and the end so far."""
    end: datetime | None = None
    for c in sorted((c for c in charges if c.cid not in refunds), key=lambda c: (c.at, c.cid)):
        end = max(end or c.at, c.at) + c.days * DAY
    return end


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), None)


SEQ = iter(range(10_000_000, 99_999_999))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=histories(), seed=st.randoms())
async def test_any_interleaving_leaves_the_end_date_the_ledger_says(
    uow: UnitOfWorkFactory, history: tuple[list[Paid], set[str], list[tuple[str, str]]],
    seed: random.Random,
) -> None:
    charges, refunds, events = history
    by_id = {c.cid: c for c in charges}
    user_id = next(SEQ)
    async with uow() as u:
        u.session.add(User(id=user_id, first_name="P", adult_confirmed_at=T0,
                           terms_accepted_at=T0, terms_version="1", privacy_accepted_at=T0))
        await u.commit()
    clock = FixedClock(T0)
    seen: set[str] = set()
    for kind, cid in events:
        if kind == "pay":
            c = by_id[cid]
            clock.set(max(clock.now(), c.at) + timedelta(minutes=seed.randint(0, 600)))
            expires = c.at + 30 * DAY if c.recurring else None
            offer = Offer(user_id, c.plan, c.days, c.recurring, 500, c.at)
            change = await account.record_charge(uow, CATALOGUE, clock, user_id, account.Paid(
                f"{user_id}:{cid}", None, 500, "p", c.at, offer, expires, c.recurring, c.first))
            assert change.new == (cid not in seen)  # a repeated delivery changes nothing
            seen.add(cid)
        elif kind == "refund":
            clock.set(clock.now() + timedelta(hours=seed.randint(0, 48)))
            assert await account.refunded(uow, CATALOGUE, clock, f"{user_id}:{cid}") is not None
        else:
            # An expiry: time passes and the billing tick does this user's work (fold, remind,
            # grace, apply the plan's limits).
            clock.set(clock.now() + timedelta(days=seed.randint(0, 40)))
            assert await tick.apply_now(uow, CATALOGUE, clock, user_id, "prop")

    assert await tick.apply_now(uow, CATALOGUE, clock, user_id, "prop")
    async with uow() as u:
        row = await u.billing.entitlement(user_id)
        ledger = await u.billing.ledger(user_id)
        receipts = await u.session.scalar(
            select(func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.user_id == user_id, OutboxMessage.kind == account.RECEIPT_KIND))
    assert row is not None
    assert len(ledger) == len(charges) and receipts == len(charges)
    assert {p.telegram_charge_id for p in ledger if p.refunded_at} == {
        f"{user_id}:{cid}" for cid in refunds}
    expected = oracle_end(charges, refunds)
    assert row.paid_until == expected
    folded = standing([account.as_charge(p) for p in ledger], clock.now(), RANK)
    assert (row.state, row.paid_until, row.grace_until) == (
        folded.state, folded.paid_until, folded.grace_until)
    assert row.applied_plan == row.plan  # the limits in force are the plan's
    if folded.state == "active":
        live = {by_id[cid].plan for cid in by_id if cid not in refunds}
        assert row.plan in live
