"""Account erasure stage by stage on SQLite and PostgreSQL: what stops at once, what goes by
day 7 and by day 30, what is kept under the pseudonym, re-runs and crashes, re-sign-up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.privacy import erase
from core.users import SignUp, get_user, register_user
from storage.db import session_factory
from storage.models import (
    AdAccount,
    AuditEntry,
    Erasure,
    FsmRecord,
    Launch,
    MetricDaily,
    OutboxMessage,
    Payment,
    Rule,
    RuleAction,
    SupportTicket,
    TikTokConnection,
    Tracker,
    TrackerDaily,
)
from storage.repos.privacy import PrivacyRepo
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring

DAY0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AD_TABLES = {"tiktok_connections", "ad_accounts", "metrics_daily", "trackers", "tracker_daily"}


class FakeTikTok:
    """Records the tokens revoked at "TikTok"."""

    def __init__(self) -> None:
        self.revoked: list[str] = []

    async def revoke_token(self, token: str) -> None:
        self.revoked.append(token)


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), Vault(parse_keyring(generate_key_entry("k"))))


async def seed(uow: UnitOfWorkFactory, uid: int) -> None:
    """A user with a TikTok connection (token, account, a day of stats), a tracker (key, a day
    of revenue), an enabled rule with an open approval, a proposed launch, a queued alert, a
    conversation state, a support ticket and a payment."""
    clock = FixedClock(DAY0)
    await register_user(uow, clock, SignUp(uid, "Ann", "Lee", "ann", "en", "UTC",
                                           f"ann{uid}@example.com", True))
    async with uow() as u:
        cred = await u.credentials.add(uid, "tiktok_token", f"token-{uid}")
        conn = TikTokConnection(user_id=uid, credential_id=cred.id, display_name="Glowly",
                                status="active")
        u.session.add(conn)
        await u.session.flush()
        acc = AdAccount(connection_id=conn.id, advertiser_id=f"adv{uid}", name="Glowly EU",
                        currency="EUR", time_zone="UTC", status="ACTIVE", tracked=True)
        u.session.add(acc)
        await u.session.flush()
        u.session.add(MetricDaily(ad_account_id=acc.id, level="campaign", object_id="c1",
                                  day=date(2026, 11, 30), spend=Decimal("12.34"),
                                  impressions=1000, clicks=10, conversions=1,
                                  purchase_value=Decimal(0)))
        key = await u.credentials.add(uid, "tracker_key", f"key-{uid}")
        tracker = Tracker(user_id=uid, kind="keitaro", base_url="https://k.example",
                          credential_id=key.id)
        u.session.add(tracker)
        await u.session.flush()
        u.session.add(TrackerDaily(ad_account_id=acc.id, level="campaign", object_id="c1",
                                   day=date(2026, 11, 30), tracker_id=tracker.id, clicks=5,
                                   conversions=1, pending=0, rejected=0,
                                   revenue=Decimal("20"), pending_revenue=Decimal(0)))
        rule = Rule(user_id=uid, name="stop losers", level="campaign", enabled=True,
                    text="campaign: spend > 1 in today -> pause", due_at=DAY0)
        u.session.add(rule)
        await u.session.flush()
        u.session.add(RuleAction(key=f"k{uid}", rule_id=rule.id, user_id=uid,
                                 ad_account_id=acc.id, level="campaign", object_id="c1",
                                 kind="pause", state="proposed",
                                 expires_at=DAY0 + timedelta(hours=1)))
        u.session.add(Launch(user_id=uid, template_name="T", document={}, state="scheduled",
                             run_at=DAY0 + timedelta(days=1)))
        await u.outbox.enqueue(uid, "text", f"alert-{uid}", {"text": "hi"}, DAY0)
        u.session.add(FsmRecord(key=f"fsm:1:{uid}:{uid}", state="S:x", data={"a": 1}))
        u.session.add(Payment(user_id=uid, telegram_charge_id=f"ch{uid}", total_amount=250,
                              payload="pro:month"))
        await u.commit()
    async with uow() as u:
        ticket = await u.support.open_ticket(uid, "please help, I am Ann Lee")
        u.audit.record(uid, "support.opened", "ticket", ticket.id)
        await u.commit()


async def one(uow: UnitOfWorkFactory, model: Any, *where: Any) -> Any:
    async with uow() as u:
        return (await u.session.scalars(select(model).where(*where))).one()


async def counts(uow: UnitOfWorkFactory, uid: int) -> dict[str, int]:
    async with uow() as u:
        return await u.privacy.counts(uid)


async def test_stages_day_0_6_8_31(uow: UnitOfWorkFactory) -> None:
    await seed(uow, 1)
    await seed(uow, 2)
    other = await counts(uow, 2)
    clock, tiktok = FixedClock(DAY0), FakeTikTok()

    info = await erase.request_erasure(uow, clock, tiktok, 1)  # type: ignore[arg-type]
    assert info.stage == "stopped" and info.pseudonym < 0
    assert info.purge_after == DAY0 + timedelta(days=7)
    # Day 0, at once: signed out, nothing runs, the token revoked at TikTok and both keys gone.
    assert await get_user(uow, 1) is None
    assert tiktok.revoked == ["token-1"]
    assert not (await one(uow, Rule, Rule.user_id == 1)).enabled
    assert (await one(uow, RuleAction, RuleAction.user_id == 1)).state == "expired"
    assert (await one(uow, Launch, Launch.user_id == 1)).state == "cancelled"
    assert (await one(uow, TikTokConnection, TikTokConnection.user_id == 1)).status == (
        "disconnected")
    assert (await one(uow, Tracker, Tracker.user_id == 1)).status == "disconnected"
    left = await counts(uow, 1)
    assert "credentials" not in left and "outbox" not in left and "fsm_state" not in left
    assert left.keys() >= AD_TABLES and "users" in left
    # An alert queued in the race with the deletion is never sent, and goes with the purge.
    async with uow() as u:
        await u.outbox.enqueue(1, "text", "late", {"text": "too late"}, DAY0)
        await u.commit()
    async with uow() as u:
        claimed = await u.outbox.claim(DAY0 + timedelta(minutes=1), DAY0 + timedelta(minutes=3),
                                       10)
        await u.commit()
    assert claimed and all(m.user_id != 1 for m in claimed)

    async def tick(day: int) -> int:
        clock.set(DAY0 + timedelta(days=day))
        return await erase.run_due(uow, clock, tiktok, "w1")  # type: ignore[arg-type]

    assert await tick(6) == 0  # nothing due: ad data still there
    assert (await counts(uow, 1)).keys() >= AD_TABLES
    assert await tick(8) == 1
    left = await counts(uow, 1)
    assert not AD_TABLES & left.keys() and "outbox" not in left
    assert {"users", "rules", "support_tickets", "payments"} <= left.keys()  # personal: kept
    assert await tick(29) == 0
    assert await tick(31) == 1
    assert await counts(uow, 1) == {}  # no row of the user in any inventoried table
    assert await counts(uow, 2) == other  # the other user untouched

    pay = await one(uow, Payment, Payment.telegram_charge_id == "ch1")
    assert pay.user_id == info.pseudonym and pay.total_amount == 250
    row = await one(uow, Erasure, Erasure.id == info.erasure_id)
    assert row.user_id is None and row.stage == "done" and row.finished_at == clock.now()
    async with uow() as u:
        audit = list(await u.session.scalars(select(AuditEntry)))
    mine = [a for a in audit if a.actor_id == info.pseudonym]
    assert mine and all(a.details == {} for a in mine)
    text = " ".join(f"{a.actor_id} {a.target_id} {a.details}" for a in audit)
    assert "ann1@example.com" not in text
    stages = [a.details["stage"] for a in audit if a.action == "privacy.erasure_stage"]
    assert stages == ["stopped", "purged", "done"]
    done = [a for a in audit if a.action == "privacy.erasure_done"]
    assert done[0].details["pseudonym"] == info.pseudonym
    assert done[0].details["counts"]["users"] == 1
    assert not [a for a in audit if a.actor_id == 1 or (a.target_type, a.target_id) == (
        "user", "1")]  # the Telegram id is nowhere in the audit log
    assert await tick(40) == 0  # done stays done


async def test_rerun_and_interrupted_stage_are_finished(
    uow: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(uow, 1)
    clock, tiktok = FixedClock(DAY0), FakeTikTok()
    info = await erase.request_erasure(uow, clock, tiktok, 1)  # type: ignore[arg-type]
    again = await erase.request_erasure(uow, clock, tiktok, 1)  # type: ignore[arg-type]
    assert again.erasure_id == info.erasure_id and tiktok.revoked == ["token-1"]

    # Day 31: the erase breaks after a few tables (a crash mid-way).
    clock.set(DAY0 + timedelta(days=31))
    calls = 0
    real_erase = PrivacyRepo.erase

    async def flaky(self: PrivacyRepo, *args: Any, **kwargs: Any) -> dict[str, int]:
        nonlocal calls
        calls += 1
        if calls == 20:
            raise RuntimeError("power cut")
        return await real_erase(self, *args, **kwargs)

    monkeypatch.setattr(PrivacyRepo, "erase", flaky)
    assert await erase.run_due(uow, clock, tiktok, "w1") == 1  # type: ignore[arg-type]
    row = await one(uow, Erasure, Erasure.id == info.erasure_id)
    assert row.stage in ("stopped", "purged") and row.user_id == 1
    assert "power cut" in (row.last_error or "")
    assert await counts(uow, 1)  # something left behind for now
    monkeypatch.setattr(PrivacyRepo, "erase", real_erase)
    assert await erase.run_due(uow, clock, tiktok, "w2") == 0  # backing off
    clock.set(clock.now() + timedelta(hours=2))
    assert await erase.run_due(uow, clock, tiktok, "w2") == 1
    assert await counts(uow, 1) == {}
    row = await one(uow, Erasure, Erasure.id == info.erasure_id)
    assert row.stage == "done" and row.last_error is None and row.lease_owner is None


async def test_operator_erasure_is_immediate(uow: UnitOfWorkFactory) -> None:
    await seed(uow, 1)
    clock, tiktok = FixedClock(DAY0), FakeTikTok()
    info = await erase.request_erasure(uow, clock, tiktok, 1, "minor", 900)  # type: ignore[arg-type]
    assert info.stage == "done" and tiktok.revoked == ["token-1"]
    assert await counts(uow, 1) == {}
    async with uow() as u:
        asked = (await u.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "privacy.erasure_requested"))).one()
    assert asked.actor_id == 900 and asked.target_id == str(info.pseudonym)
    row = await one(uow, Erasure, Erasure.id == info.erasure_id)
    assert (row.reason, row.requested_by) == ("minor", 900)
    with pytest.raises(LookupError):
        await erase.request_erasure(uow, clock, tiktok, 12345, "support", 900)  # type: ignore[arg-type]


async def test_signing_up_again_starts_from_nothing(uow: UnitOfWorkFactory) -> None:
    await seed(uow, 1)
    clock, tiktok = FixedClock(DAY0), FakeTikTok()
    info = await erase.request_erasure(uow, clock, tiktok, 1)  # type: ignore[arg-type]
    clock.set(DAY0 + timedelta(days=2))
    user = await register_user(uow, clock, SignUp(1, "Bo", None, None, "ru", "UTC", None, False),
                               tiktok)  # type: ignore[arg-type]
    assert user.first_name == "Bo" and user.email is None
    left = await counts(uow, 1)
    assert set(left) == {"users", "audit_log"}, left  # the new account and its sign-up entry
    assert (await one(uow, Erasure, Erasure.id == info.erasure_id)).stage == "done"
    assert (await one(uow, Payment, Payment.telegram_charge_id == "ch1")).user_id == (
        info.pseudonym)
    async with uow() as u:
        assert not list(await u.session.scalars(select(SupportTicket).where(
            SupportTicket.user_id == 1)))
        assert not list(await u.session.scalars(select(OutboxMessage).where(
            OutboxMessage.user_id == 1)))
