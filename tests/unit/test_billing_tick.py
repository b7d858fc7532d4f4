"""The billing tick on SQLite and PostgreSQL, walked through a plan's life with a moving clock:
reminders 3 days and 1 day before a non-renewing end (once each), the grace notice, the
downgrade with the paused items listed, a renewal that keeps the plan with no reminder or grace,
leases between instances, and a failure that is retried later. The messages are checked as the
user reads them (bot/views/alerts.py renders the outbox rows)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import make_i18n
from bot.screens import plain
from bot.views import alerts
from core.billing import subscription, tick
from core.billing.enforce import Item
from core.clock import FixedClock
from storage.db import session_factory
from storage.models import OutboxMessage
from storage.uow import UnitOfWorkFactory
from tests.unit.billing_fakes import (
    CATALOGUE,
    FakeEnforcer,
    enforcer,  # noqa: F401 - fixture
    pay,
    payload,
    sign_up,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ANN = 51


@pytest.fixture
async def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    factory = UnitOfWorkFactory(session_factory(engine), None)
    await sign_up(factory, FixedClock(T0 - timedelta(days=1)), ANN, zone="Europe/Berlin")
    return factory


async def _run(uow: UnitOfWorkFactory, clock: FixedClock, at: datetime) -> int:
    clock.set(at)
    return await tick.run_due(uow, CATALOGUE, clock, "worker-a")


async def _said(uow: UnitOfWorkFactory, clock: FixedClock) -> list[tuple[str, str]]:
    """Every billing message queued so far, rendered in English as the notifier would."""
    async with uow() as u:
        rows = list(await u.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind.like("billing_%"))
            .order_by(OutboxMessage.id)))
        out = []
        i18n = make_i18n()
        with i18n.context(), i18n.use_locale("en"):
            for row in rows:
                screen = await alerts.render(u, row.kind, row.user_id, row.params, clock.now(),
                                             outbox_id=row.id, catalogue=CATALOGUE)
                out.append((row.kind, plain(screen[0]) if screen else "<not sent>"))
    return out


async def test_a_one_off_period_reminds_twice_then_grace_then_downgrade(
    uow: UnitOfWorkFactory, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    clock = FixedClock(T0)
    enforcer.paused = [Item("rule", 7, "Night <pause>"), Item("ad_account", 3, "Glowly")]
    await pay(uow, clock, ANN, "ch1")  # 30 days of Pro, paid once
    end = T0 + timedelta(days=30)
    assert [k for k, _ in await _said(uow, clock)] == ["billing_receipt"]

    assert await _run(uow, clock, T0 + timedelta(days=26)) == 0  # nothing due yet
    await _run(uow, clock, end - timedelta(days=3) + timedelta(minutes=1))
    await _run(uow, clock, end - timedelta(days=2))  # again: the 3-day one is not repeated
    said = await _said(uow, clock)
    assert [k for k, _ in said] == ["billing_receipt", "billing_reminder"]
    assert "Your Pro plan ends on 31 Dec 2026, 10:00" in said[1][1]  # Berlin time

    await _run(uow, clock, end - timedelta(hours=23))
    await _run(uow, clock, end - timedelta(hours=1))
    said = await _said(uow, clock)
    assert [k for k, _ in said].count("billing_reminder") == 2

    await _run(uow, clock, end + timedelta(minutes=1))
    await _run(uow, clock, end + timedelta(days=1))
    said = await _said(uow, clock)
    grace = [text for kind, text in said if kind == "billing_grace"]
    assert len(grace) == 1
    assert "Your paid Pro time ended on 31 Dec 2026, 10:00" in grace[0]
    assert "stay until 3 Jan 2027, 10:00 (grace period)" in grace[0]
    assert enforcer.calls == [(ANN, "pro")]  # grace keeps Pro's limits

    await _run(uow, clock, end + timedelta(days=3, minutes=1))
    assert enforcer.calls[-1] == (ANN, "free")
    said = await _said(uow, clock)
    down = [text for kind, text in said if kind == "billing_downgraded"]
    assert len(down) == 1
    assert "You are on Free now (was Pro)" in down[0]
    assert "• Rule «Night <pause>»" in down[0] and "• Ad account «Glowly»" in down[0]
    # The reminders and the grace notice no longer hold once the time ran out: never sent late.
    assert [k for k, t in said if t == "<not sent>"] == [
        "billing_reminder", "billing_reminder", "billing_grace"]

    # Paying again brings the paused items back, and says so.
    enforcer.restored = enforcer.paused
    clock.set(end + timedelta(days=5))
    await pay(uow, clock, ANN, "ch2")
    up = [text for kind, text in await _said(uow, clock) if kind == "billing_upgraded"]
    assert len(up) == 1 and "You are on Pro now. Back on:" in up[0] and "Glowly" in up[0]
    assert await _run(uow, clock, clock.now()) == 0  # all done: nothing left for the tick


async def test_a_renewing_subscription_gets_no_reminder_and_stays_active(
    uow: UnitOfWorkFactory, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    clock = FixedClock(T0)
    await pay(uow, clock, ANN, "s1", recurring=True)
    end = T0 + timedelta(days=30)
    for at in (end - timedelta(days=3), end - timedelta(hours=12)):
        await _run(uow, clock, at)
    clock.set(end)  # Telegram charges the renewal when the period ends
    renewed = await pay(uow, clock, ANN, "s2", recurring=True, first=False)
    assert renewed.change.after.paid_until == end + timedelta(days=30)
    await _run(uow, clock, end + timedelta(minutes=2))
    said = await _said(uow, clock)
    assert [k for k, _ in said] == ["billing_receipt", "billing_receipt"]
    assert "Subscription renewed: Pro" in said[1][1]
    assert "Pro is active until 30 Jan 2027, 10:00." in said[1][1]
    assert enforcer.calls == [(ANN, "pro")]


async def test_a_renewal_that_comes_late_cancels_the_grace_notice(
    uow: UnitOfWorkFactory, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    clock = FixedClock(T0)
    await pay(uow, clock, ANN, "s1", recurring=True)
    end = T0 + timedelta(days=30)
    await _run(uow, clock, end + timedelta(seconds=5))  # the tick is ahead of the renewal
    async with uow() as u:
        [held] = await u.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "billing_grace"))
        assert held.next_attempt_at == end + tick.RENEWAL_WAIT  # waits for the charge
    await pay(uow, clock, ANN, "s2", recurring=True, first=False)
    assert dict(await _said(uow, clock))["billing_grace"] == "<not sent>"


async def test_cancelling_renewal_brings_the_reminders_back(
    uow: UnitOfWorkFactory, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    clock = FixedClock(T0)
    await pay(uow, clock, ANN, "s1", recurring=True)
    clock.set(T0 + timedelta(days=10))
    assert await subscription.telegram_changed(uow, clock, ANN, payload(ANN, recurring=True),
                                               "canceled")
    end = T0 + timedelta(days=30)
    await _run(uow, clock, end - timedelta(days=1))
    said = await _said(uow, clock)
    assert [k for k, _ in said] == ["billing_receipt", "billing_reminder"]
    assert "It does not renew." in said[1][1]
    await _run(uow, clock, end + timedelta(seconds=1))  # no renewal will come: no waiting
    async with uow() as u:
        [grace] = await u.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "billing_grace"))
        assert grace.next_attempt_at == end


async def test_two_instances_never_do_one_users_work_twice(
    uow: UnitOfWorkFactory, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    clock = FixedClock(T0)
    await pay(uow, clock, ANN, "ch1")
    clock.set(T0 + timedelta(days=27, hours=1))
    done = await asyncio.gather(tick.run_due(uow, CATALOGUE, clock, "a"),
                                tick.run_due(uow, CATALOGUE, clock, "b"))
    assert sorted(done) == [0, 1]
    assert [k for k, _ in await _said(uow, clock)] == ["billing_receipt", "billing_reminder"]
    # A lease another instance holds keeps a payment's "apply now" away too.
    async with uow() as u:
        assert await u.billing.claim(ANN, clock.now(), "b", clock.now() + tick.LEASE)
        await u.commit()
    assert not await tick.apply_now(uow, CATALOGUE, clock, ANN, "a")
    await tick.release_leases(uow, "b")
    async with uow() as u:
        row = await u.billing.entitlement(ANN)
        assert row is not None and row.lease_owner is None


async def test_a_failure_is_logged_and_retried_later(
    uow: UnitOfWorkFactory, enforcer: FakeEnforcer,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FixedClock(T0)
    enforcer.fail = True
    await pay(uow, clock, ANN, "ch1")  # applying Pro's limits fails
    assert any(r.message == "billing.tick_failed" for r in caplog.records)
    async with uow() as u:
        row = await u.billing.entitlement(ANN)
        assert row is not None and row.applied_plan == "free"
        assert row.due_at == T0 + tick.RETRY and row.lease_owner is None
    assert await _run(uow, clock, T0 + timedelta(minutes=1)) == 0  # not due yet
    enforcer.fail = False
    assert await _run(uow, clock, T0 + tick.RETRY) == 1
    assert enforcer.calls == [(ANN, "pro")]
