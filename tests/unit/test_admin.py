"""The operators' console on SQLite and PostgreSQL: the dashboard's numbers, looking a user up by
id, @username or email, grants and refunds audited under the operator, and broadcast
recipients and delivery counts per kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core import admin
from core.billing import account, limits
from core.billing.payload import Offer, encode
from core.billing.plans import PlanBook
from core.clock import FixedClock
from core.privacy import rights
from core.users import SignUp, register_user
from storage.db import session_factory
from storage.models import (
    AdAccount,
    AuditEntry,
    OutboxMessage,
    Rule,
    SyncJob,
    TikTokConnection,
    Tracker,
    User,
)
from storage.uow import UnitOfWorkFactory

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
OPERATOR = 900
KEY = b"k" * 32
CATALOGUE = PlanBook().current()


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), None)


async def _user(uow: UnitOfWorkFactory, uid: int, *, days_ago: int = 30, username: str | None =
                None, email: str | None = None, news: bool = False) -> None:
    await register_user(uow, FixedClock(NOW - timedelta(days=days_ago)),
                        SignUp(uid, f"U{uid}", None, username, "en", "UTC", email, news))


def paid(user_id: int, charge_id: str, stars: int, at: datetime, plan: str = "pro",
         days: int = 30, recurring: bool = False, first: bool = False,
         issued: datetime | None = None) -> account.Paid:
    # A subscription's renewals repeat its first invoice's payload (issued once).
    offer = Offer(user_id, plan, days, recurring, stars, issued or at)
    return account.Paid(charge_id, None, stars, encode(offer, KEY), at, offer,
                        is_recurring=recurring, is_first_recurring=first)


async def test_the_dashboard_counts_users_plans_work_outbox_errors_and_revenue(
    uow: UnitOfWorkFactory,
) -> None:
    for uid, days_ago in ((101, 30), (102, 3), (103, 1), (104, 40)):
        await _user(uow, uid, days_ago=days_ago)
    clock = FixedClock(NOW)
    # 101 pays Pro now; 102 paid Agency in October (its 30 days ended, grace too); 103 got a
    # grant of Agency; 104's October payment was refunded in November.
    await account.record_charge(uow, CATALOGUE, clock, 101, paid(101, "c1", 500, NOW))
    october = datetime(2026, 10, 5, tzinfo=UTC)
    await account.record_charge(uow, CATALOGUE, FixedClock(october), 102,
                                paid(102, "c2", 2000, october, plan="agency"))
    await account.record_charge(uow, CATALOGUE, FixedClock(october), 104,
                                paid(104, "c3", 550, october))
    await account.refunded(uow, CATALOGUE, FixedClock(datetime(2026, 11, 2, tzinfo=UTC)), "c3",
                           OPERATOR, "asked")
    await account.grant(uow, CATALOGUE, clock, OPERATOR, 103, "agency", 30, "partner")
    async with uow() as u:
        conn = TikTokConnection(user_id=101, display_name="G")
        gone = TikTokConnection(user_id=102, display_name="Old", status="disconnected")
        u.session.add_all([conn, gone])
        await u.session.flush()
        accounts = [AdAccount(connection_id=conn.id, advertiser_id=f"a{n}", name=f"Acc {n}",
                              tracked=n < 2) for n in range(3)]
        accounts.append(AdAccount(connection_id=gone.id, advertiser_id="x", name="X"))
        u.session.add_all(accounts)
        await u.session.flush()
        u.session.add_all([
            # due 30 minutes ago: behind schedule; 2 minutes ago: just due; a failing one.
            SyncJob(ad_account_id=accounts[0].id, kind="today",
                    due_at=NOW - timedelta(minutes=30)),
            SyncJob(ad_account_id=accounts[0].id, kind="window",
                    due_at=NOW - timedelta(minutes=2), last_error="TikTok 50002",
                    last_error_at=NOW - timedelta(minutes=3)),
            # an untracked account's job is never claimed: not late
            SyncJob(ad_account_id=accounts[2].id, kind="today", due_at=NOW - timedelta(days=1)),
            Rule(user_id=101, name="on", text="t", level="ad", enabled=True),
            Rule(user_id=101, name="off", text="t", level="ad", enabled=False),
            Tracker(user_id=101, kind="keitaro", name="K", base_url="https://k", status="failing",
                    last_error="HTTP 500", failing_since=NOW - timedelta(hours=1)),
        ])
        await u.outbox.enqueue(101, "text", "due-old", {"text": "x"}, NOW - timedelta(minutes=9))
        await u.outbox.enqueue(101, "text", "later", {"text": "x"}, NOW,
                               not_before=NOW + timedelta(hours=2))
        await u.outbox.enqueue(102, "text", "gave-up", {"text": "x"}, NOW - timedelta(hours=5))
        await u.commit()
    async with uow() as u:
        for row in await u.session.scalars(select(OutboxMessage)):
            if row.kind == account.RECEIPT_KIND:  # the payments' receipts went out
                await u.outbox.settle(row.id, sent_at=row.created_at, tg_message_id=1)
            elif row.dedup_key == "gave-up":
                await u.outbox.settle(row.id, failed_at=NOW - timedelta(hours=4),
                                      error="Bad Request: chat not found")
        await u.commit()

    d = await admin.dashboard(uow, clock)
    assert (d.users, d.new_this_week) == (4, 2)
    assert d.paying == {"pro": 1, "agency": 1} and d.paying_total == 2
    assert (d.ad_accounts, d.rules_on) == (2, 1)
    assert d.sync.late == 1 and d.sync.oldest_due == NOW - timedelta(minutes=30)
    assert d.sync.failing == 1
    assert d.outbox.waiting == 2  # due-old, and later (held for two hours)
    assert d.outbox.due == 1 and d.outbox.oldest_due == NOW - timedelta(minutes=9)
    assert [(e.source, e.user_id, e.error) for e in d.errors] == [
        ("sync", 101, "TikTok 50002"),
        ("tracker", 101, "HTTP 500"),
        ("outbox", 102, "Bad Request: chat not found"),
    ]
    months = {(r.month.year, r.month.month): (r.stars, r.refunded) for r in d.revenue}
    assert list(months) == [(2026, 7), (2026, 8), (2026, 9), (2026, 10), (2026, 11), (2026, 12)]
    assert months[(2026, 10)] == (2000, 0)  # 104's charge was refunded: not kept
    assert months[(2026, 11)] == (0, 550)  # refunds count in the month they were made
    assert months[(2026, 12)] == (500, 0)  # grants are not revenue


async def test_a_user_is_found_by_id_username_or_email_deleted_ones_too(
    uow: UnitOfWorkFactory,
) -> None:
    await _user(uow, 201, username="Ann_Buyer", email="ann@example.com")
    await _user(uow, 202, username="bob")
    async with uow() as u:
        bob = await u.users.get(202)
        assert bob is not None
        bob.deleted_at = NOW
        await u.commit()
    for query in ("201", "@ann_buyer", "ANN_BUYER", " ann@EXAMPLE.com "):
        assert [x.id for x in await admin.find_users(uow, query)] == [201], query
    found = await admin.find_users(uow, "@bob")
    assert [x.id for x in found] == [202] and found[0].deleted_at == NOW
    assert await admin.find_users(uow, "999") == []
    for bad in ("", "a b", "@x", "12ab!"):
        with pytest.raises(admin.BadQuery):
            await admin.find_users(uow, bad)


async def test_a_grant_is_audited_and_the_card_shows_plan_usage_and_payments(
    uow: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _user(uow, 301, username="ann")
    clock = FixedClock(NOW)
    await account.record_charge(uow, CATALOGUE, clock, 301, paid(301, "c301", 500, NOW))
    change = await account.grant(uow, CATALOGUE, clock, OPERATOR, 301, "pro", 7, "outage")
    assert change.after.paid_until == NOW + timedelta(days=37)
    async with uow() as u:  # the user is told, as of a payment: one receipt each
        kinds = list(await u.session.scalars(
            select(OutboxMessage.kind).where(OutboxMessage.user_id == 301)))
    assert kinds == ["billing_receipt", "billing_receipt"]

    async def fake_usage(uow_: object, catalogue: object, clock_: object,
                         user_id: int) -> limits.Usage:
        assert user_id == 301
        return limits.Usage(CATALOGUE.get("pro"), 3, 2, 1, 0)  # type: ignore[arg-type]

    monkeypatch.setattr(limits, "usage", fake_usage)
    card = await admin.user_card(uow, CATALOGUE, clock, OPERATOR, 301)
    assert card.standing.state == "active" and card.plan.code == "pro"
    assert card.usage is not None and card.usage.ad_accounts == 3
    assert [(p.kind, p.reason) for p in card.payments] == [("grant", "outage"), ("stars", None)]
    assert [e.action for e in card.activity] == ["plan.granted", "billing.paid",
                                                 "user.registered"]
    async with uow() as u:
        entries = list(await u.session.scalars(
            select(AuditEntry).where(AuditEntry.actor_id == OPERATOR).order_by(AuditEntry.id)))
    assert [(e.action, e.target_id) for e in entries] == [
        ("plan.granted", "301"), ("admin.viewed", "301")]
    assert entries[0].details["reason"] == "outage" and entries[0].details["days"] == 7
    # The user's own recent activity leaves the operators' look-ups out.
    assert "admin.viewed" not in [e.action for e in card.activity]
    with pytest.raises(admin.NoSuchUser):
        await admin.user_card(uow, CATALOGUE, clock, OPERATOR, 999)


async def test_a_refund_asks_telegram_then_ends_the_period_and_cancels_the_renewal(
    uow: UnitOfWorkFactory,
) -> None:
    await _user(uow, 401)
    clock = FixedClock(NOW)
    start = NOW - timedelta(days=40)
    await account.record_charge(uow, CATALOGUE, FixedClock(start), 401,
                                paid(401, "sub1", 500, start, recurring=True, first=True))
    renewal = start + timedelta(days=30)
    await account.record_charge(uow, CATALOGUE, FixedClock(renewal), 401,
                                paid(401, "sub2", 500, renewal, recurring=True, issued=start))
    card = await admin.user_card(uow, CATALOGUE, clock, OPERATOR, 401)
    latest = card.payments[0]
    assert latest.telegram_charge_id == "sub2" and card.standing.state == "active"
    calls: list[tuple[str, int, str]] = []

    async def refuse(user_id: int, charge_id: str) -> None:
        calls.append(("refund", user_id, charge_id))
        raise admin.TelegramRefusal("Bad Request: CHARGE_NOT_FOUND")

    async def ok(user_id: int, charge_id: str) -> None:
        calls.append(("ok", user_id, charge_id))

    with pytest.raises(admin.TelegramRefusal):
        await admin.refund(uow, CATALOGUE, clock, OPERATOR, 401, latest.id, refuse, ok)
    assert (await account.current(uow, CATALOGUE, clock, 401))[0].state == "active"

    done = await admin.refund(uow, CATALOGUE, clock, OPERATOR, 401, latest.id, ok, ok)
    # The renewal is cancelled by the subscription's first charge, as Telegram knows it.
    assert calls[1:] == [("ok", 401, "sub2"), ("ok", 401, "sub1")]
    assert done.subscription and done.renewal_canceled and not done.already
    assert done.change is not None and done.change.after.state == "free"
    standing, row = await account.current(uow, CATALOGUE, clock, 401)
    assert standing.state == "free" and row is not None and not row.renews
    with pytest.raises(admin.RefundImpossible):  # refunded already: Telegram is not asked
        await admin.refund(uow, CATALOGUE, clock, OPERATOR, 401, latest.id, ok, ok)

    # Telegram says the first charge was refunded before: recorded as refunded here too.
    async def already(user_id: int, charge_id: str) -> None:
        raise admin.TelegramRefusal("Bad Request: CHARGE_ALREADY_REFUNDED")

    first = card.payments[1]
    done = await admin.refund(uow, CATALOGUE, clock, OPERATOR, 401, first.id, already, ok)
    assert done.already
    async with uow() as u:
        charge = await u.billing.charge("sub1")
        assert charge is not None and charge.refunded_at is not None
        assert charge.refunded_by == OPERATOR
        actions = list(await u.session.scalars(
            select(AuditEntry.action).where(AuditEntry.actor_id == OPERATOR)
            .order_by(AuditEntry.id)))
    assert actions == ["admin.viewed", "admin.refund_refused", "billing.refunded",
                       "admin.refunded", "admin.renewal_canceled", "billing.refunded",
                       "admin.refunded", "admin.renewal_canceled"]


async def test_a_refund_marked_first_by_telegrams_update_still_names_the_operator(
    uow: UnitOfWorkFactory,
) -> None:
    await _user(uow, 451)
    clock = FixedClock(NOW)
    await account.record_charge(uow, CATALOGUE, clock, 451, paid(451, "c451", 500, NOW))
    card = await admin.user_card(uow, CATALOGUE, clock, OPERATOR, 451)

    async def refund_and_update(user_id: int, charge_id: str) -> None:
        # Telegram's refunded_payment update is handled before the refund call returns.
        await account.refunded(uow, CATALOGUE, clock, charge_id)

    async def never(user_id: int, charge_id: str) -> None:
        raise AssertionError("a one-off payment has no renewal to cancel")

    done = await admin.refund(uow, CATALOGUE, clock, OPERATOR, 451, card.payments[0].id,
                              refund_and_update, never)
    assert done.change is not None and not done.change.new and not done.subscription
    async with uow() as u:
        charge = await u.billing.charge("c451")
        audit = await u.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "admin.refunded"))
    assert charge is not None and charge.refunded_by == OPERATOR
    assert audit is not None and audit.actor_id == OPERATOR and audit.target_id == "c451"


async def test_broadcast_recipients_per_kind_and_the_report_when_all_settled(
    uow: UnitOfWorkFactory,
) -> None:
    await _user(uow, OPERATOR)
    for uid, news in ((501, True), (502, False), (503, True), (504, True), (505, False)):
        await _user(uow, uid, news=news)
    clock = FixedClock(NOW)
    await rights.pause(uow, clock, 503)
    async with uow() as u:
        blocked, gone = await u.users.get(504), await u.users.get(505)
        assert blocked is not None and gone is not None
        blocked.blocked_at, gone.deleted_at = NOW, NOW
        await u.commit()
    news = await rights.draft_broadcast(uow, clock, OPERATOR, "news", "Spring release")
    notice = await rights.draft_broadcast(uow, clock, OPERATOR, "news", "Maintenance")
    notice = await rights.switch_kind(uow, notice.key)
    # News: those who agreed and did not pause; a service notice: every live user.
    assert (news.audience, notice.kind, notice.audience) == (2, "service", 5)
    await rights.send_broadcast(uow, clock, OPERATOR, news.key)
    await rights.send_broadcast(uow, clock, OPERATOR, notice.key)
    async with uow() as u:
        rows = list(await u.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    by_kind: dict[str, list[int]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row.user_id)
    assert sorted(by_kind[rights.MARKETING_KIND]) == [501, 504]
    assert sorted(by_kind[rights.SERVICE_KIND]) == [501, 502, 503, 504, OPERATOR]
    # A paused account still gets the service notice (the outbox claims it), not the news.
    async with uow() as u:
        claimed = await u.outbox.claim(NOW, NOW + timedelta(minutes=2), 50)
        await u.commit()
    assert sorted((m.kind, m.user_id) for m in claimed) == sorted(
        [(rights.MARKETING_KIND, 501), (rights.SERVICE_KIND, 501), (rights.SERVICE_KIND, 502),
         (rights.SERVICE_KIND, 503), (rights.SERVICE_KIND, OPERATOR)])
    assert await rights.settle_broadcasts(uow, clock) == 0  # still pending
    async with uow() as u:
        for m in claimed:
            if m.user_id == 502:  # blocks the bot meanwhile: counted as blocked on the tick
                await u.outbox.settle(m.id, retry_at=NOW, error="Forbidden: bot was blocked")
                user = await u.users.get(502)
                assert user is not None
                user.blocked_at = NOW
            elif m.user_id == 503:
                await u.outbox.settle(m.id, failed_at=NOW, error="Bad Request: chat not found")
            else:
                await u.outbox.settle(m.id, sent_at=NOW, tg_message_id=1)
        await u.commit()
    assert await rights.settle_broadcasts(uow, clock) == 2
    assert await rights.settle_broadcasts(uow, clock) == 0  # reported once
    for key, counts in ((news.key, (1, 1, 0, 0)), (notice.key, (2, 2, 1, 0))):
        status = await rights.broadcast_status(uow, key)
        assert status is not None and status.settled and status.reported
        d = status.delivery
        assert (d.delivered, d.blocked, d.failed, d.pending) == counts, key
    async with uow() as u:
        reports = list(await u.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == rights.BROADCAST_REPORT_KIND)))
    assert sorted(r.params["key"] for r in reports) == sorted([news.key, notice.key])
    assert {r.user_id for r in reports} == {OPERATOR}
    assert not await rights.cancel_broadcast(uow, clock, OPERATOR, news.key)  # sent: too late


async def test_a_deleted_user_shows_as_such(uow: UnitOfWorkFactory) -> None:
    await _user(uow, 601)
    async with uow() as u:
        user = await u.session.get(User, 601)
        assert user is not None
        user.deleted_at = NOW
        await u.commit()
    card = await admin.user_card(uow, CATALOGUE, FixedClock(NOW), OPERATOR, 601)
    assert card.user.deleted_at == NOW and card.usage is None
