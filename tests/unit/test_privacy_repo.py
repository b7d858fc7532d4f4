"""The inventory-driven reads and erasure on SQLite and PostgreSQL: one user's rows found through
every owner chain, erased as the inventory says, and nobody else's touched."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.users import SignUp, register_user, set_email
from storage.db import session_factory
from storage.inventory import Retention
from storage.models import (
    AdAccount,
    AuditEntry,
    Credential,
    FsmRecord,
    MetricDaily,
    Payment,
    Rule,
    TikTokConnection,
)
from storage.uow import UnitOfWorkFactory

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), None)


async def _seed(uow: UnitOfWorkFactory, uid: int) -> None:
    """A user with a connection, an account with a day of metrics, a rule, a payment, an FSM
    state and audit entries (their own change of email, which names the address)."""
    clock = FixedClock(NOW)
    await register_user(uow, clock, SignUp(uid, "Ann", None, "ann", "en", "UTC",
                                           f"a{uid}@example.com", True))
    await set_email(uow, clock, uid, f"b{uid}@example.com")
    async with uow() as u:
        cred = Credential(user_id=uid, kind="tiktok", sealed=b"x", key_id="k1")
        u.session.add(cred)
        await u.session.flush()
        conn = TikTokConnection(user_id=uid, credential_id=cred.id, display_name="Glowly")
        u.session.add(conn)
        await u.session.flush()
        acc = AdAccount(connection_id=conn.id, advertiser_id=f"adv{uid}", name="Glowly EU",
                        currency="EUR", time_zone="Europe/Berlin", status="ACTIVE", tracked=True)
        u.session.add(acc)
        await u.session.flush()
        u.session.add(MetricDaily(ad_account_id=acc.id, level="campaign", object_id="c1",
                                  day=date(2026, 11, 30), spend=Decimal("12.34"),
                                  impressions=1000, clicks=10, conversions=1,
                                  purchase_value=Decimal(0)))
        u.session.add(Rule(user_id=uid, name="r", text="campaign: spend > 1 in today -> pause",
                           level="campaign"))
        u.session.add(Payment(user_id=uid, telegram_charge_id=f"ch{uid}", total_amount=250,
                              payload="pro:month"))
        u.session.add(FsmRecord(key=f"fsm:99:{uid}:{uid}", state="S:x", data={}))
        await u.commit()


async def test_counts_and_rows_reach_every_owner_chain(uow: UnitOfWorkFactory) -> None:
    await _seed(uow, 1)
    await _seed(uow, 2)
    async with uow() as u:
        counts = await u.privacy.counts(1)
        metrics = await u.privacy.rows("metrics_daily", 1)
        creds = await u.privacy.rows("credentials", 1)
    assert counts["metrics_daily"] == 1 and counts["ad_accounts"] == 1
    assert counts["audit_log"] == 2 and counts["fsm_state"] == 1 and counts["payments"] == 1
    assert metrics[0]["spend"] == Decimal("12.34")
    assert creds == []  # sealed tokens are never exported, not even their ids


async def test_erase_deletes_or_pseudonymises_and_spares_others(
    uow: UnitOfWorkFactory,
) -> None:
    await _seed(uow, 1)
    await _seed(uow, 2)
    before_other = None
    async with uow() as u:
        before_other = await u.privacy.counts(2)
        ad_only = await u.privacy.erase(1, -777, [Retention.CONNECTION])
        await u.commit()
    assert "metrics_daily" in ad_only and "rules" not in ad_only
    async with uow() as u:
        assert "rules" in await u.privacy.counts(1)
        touched = await u.privacy.erase(1, -777)
        await u.commit()
    assert "users" in touched
    async with uow() as u:
        left = await u.privacy.counts(1)
        assert left == {}, left
        assert await u.privacy.counts(2) == before_other
        pay = (await u.session.scalars(select(Payment).where(Payment.user_id == -777))).one()
        assert pay.total_amount == 250  # billing kept for the law, under the pseudonym
        audit = list(await u.session.scalars(select(AuditEntry).where(
            AuditEntry.actor_id == -777)))
        assert audit and all(a.details == {} for a in audit)
        texts = " ".join(str(a.details) + a.target_id for a in
                         await u.session.scalars(select(AuditEntry)))
        assert "a1@example.com" not in texts and "b1@example.com" not in texts
        assert "b2@example.com" in texts  # the other user's audit is intact
        again = await u.privacy.erase(1, -777)
    assert again == {}  # idempotent
