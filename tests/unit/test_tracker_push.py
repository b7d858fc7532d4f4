"""Pushing TikTok spend as tracker cost: one item per tracker campaign, day and TikTok campaign,
in the ad account's days; currency only with the user's rate; Binom 1 refuses DST days; the
log keeps every attempt; an outage marks the tracker failing and the next push repairs it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.trackers import connect, fx
from core.trackers.push import (
    binom1_offset_problem,
    cost_in,
    default_days,
    push_costs,
    push_log,
)
from storage.db import session_factory
from storage.models import MetricDaily, TrackerLink
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring
from tests.unit.tracker_fakes import (
    NOW,
    TODAY,
    TZ,
    USER,
    FakeTracker,
    campaign,
    seed_account,
    seed_user,
)

D1, D2 = TODAY - timedelta(days=2), TODAY - timedelta(days=1)


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), Vault(parse_keyring(generate_key_entry("k"))))


async def _tracker(uow: UnitOfWorkFactory, fake: FakeTracker, kind: str = "keitaro",
                   currency: str = "USD") -> int:
    added = await connect.add_tracker(uow, FixedClock(NOW), USER, kind, "T", "https://t.io",
                                      "key", "UTC", currency, fake.factory)
    return added.tracker.id


async def _link(uow: UnitOfWorkFactory, tid: int, account_id: int, cid: str, tc: str,
                fields: dict[str, str] | None = None) -> None:
    async with uow() as u:
        u.session.add(TrackerLink(tracker_id=tid, ad_account_id=account_id,
                                  tiktok_campaign_id=cid, tracker_campaign_id=tc,
                                  source="manual",
                                  id_fields={"campaign": "ad_campaign_id"} if fields is None
                                  else fields))
        await u.commit()


def test_scheduled_days_cover_recent_days_and_reach_back_after_an_outage() -> None:
    assert default_days(NOW, TZ, NOW) == [TODAY - timedelta(days=n) for n in (3, 2, 1, 0)]
    # In Tokyo it is already the 30th at 20:00 UTC on the 29th.
    assert default_days(NOW, "Asia/Tokyo", NOW)[-1] == date(2026, 11, 30)
    after_outage = default_days(NOW, TZ, NOW - timedelta(days=6))
    assert after_outage[0] == TODAY - timedelta(days=7)
    assert len(default_days(NOW, TZ, None)) == 30


def test_binom1_refuses_days_whose_offset_is_not_one_whole_hour() -> None:
    assert binom1_offset_problem("America/New_York", date(2026, 11, 29)) is None
    assert "changes" in (binom1_offset_problem("America/New_York", date(2026, 11, 1)) or "")
    assert "whole-hour" in (binom1_offset_problem("Asia/Kolkata", date(2026, 11, 29)) or "")


async def test_one_item_per_tracker_campaign_day_and_tiktok_campaign(
        uow: UnitOfWorkFactory) -> None:
    await seed_user(uow)
    world = await seed_account(uow, spend={("c1", D1): "10.5", ("c1", D2): "20",
                                           ("c2", D2): "7.25", ("c2", TODAY): "0"})
    fake = FakeTracker(campaigns=[campaign("10", "T")])
    tid = await _tracker(uow, fake)
    await _link(uow, tid, world.account_id, "c1", "10")
    await _link(uow, tid, world.account_id, "c2", "10")
    report = await push_costs(uow, FixedClock(NOW), tid, [D2, D1, TODAY], fake.factory)
    assert (report.ok, report.sent, report.accepted, report.refused) == (True, 3, 3, 0)
    assert fake.costs == {
        ("10", D1, "ad_campaign_id", "c1"): Decimal("10.5"),
        ("10", D2, "ad_campaign_id", "c1"): Decimal("20"),
        ("10", D2, "ad_campaign_id", "c2"): Decimal("7.25"),
    }
    assert fake.calls["push"] == 1  # all items in one call: the client batches
    # TikTok revises a day: the re-push replaces; a day that dropped to 0 is sent as 0.
    async with uow() as u:
        row = await u.session.get(MetricDaily, (world.account_id, "campaign", "c1", D1))
        assert row is not None
        row.spend = Decimal(0)
        await u.commit()
    await push_costs(uow, FixedClock(NOW), tid, [D1], fake.factory)
    assert fake.costs[("10", D1, "ad_campaign_id", "c1")] == Decimal(0)
    log = await push_log(uow, USER, tid, D1)
    assert [(e.campaign_id, e.spend, e.cost, e.ok) for e in log] == [
        ("c1", Decimal("10.5"), Decimal("10.5"), True), ("c1", Decimal(0), Decimal(0), True)]
    assert log[0].answer == "Job successfully scheduled"


async def test_a_shared_tracker_campaign_without_a_campaign_field_is_refused(
        uow: UnitOfWorkFactory) -> None:
    await seed_user(uow)
    world = await seed_account(uow, spend={("c1", D1): "5", ("c2", D1): "6"})
    fake = FakeTracker(campaigns=[campaign("10", "T", {"ad": "creative_id"})])
    tid = await _tracker(uow, fake)
    await _link(uow, tid, world.account_id, "c1", "10", {"ad": "creative_id"})
    report = await push_costs(uow, FixedClock(NOW), tid, [D1], fake.factory)
    assert fake.costs == {("10", D1, None, None): Decimal("5")}  # one campaign: no filter
    await _link(uow, tid, world.account_id, "c2", "10", {"ad": "creative_id"})
    report = await push_costs(uow, FixedClock(NOW), tid, [D1], fake.factory)
    assert (report.sent, report.refused) == (0, 2)
    assert all("records no TikTok campaign id" in e.answer for e in report.entries)
    assert fake.costs == {("10", D1, None, None): Decimal("5")}


async def test_currency_is_converted_only_with_the_users_rate(uow: UnitOfWorkFactory) -> None:
    await seed_user(uow)
    world = await seed_account(uow, currency="EUR", spend={("c1", D1): "100"})
    fake = FakeTracker(campaigns=[campaign("10", "T")])
    tid = await _tracker(uow, fake, currency="USD")
    await _link(uow, tid, world.account_id, "c1", "10")
    report = await push_costs(uow, FixedClock(NOW), tid, [D1], fake.factory)
    assert (report.sent, report.refused) == (0, 1)
    assert "EUR→USD" in report.entries[0].answer
    assert fake.costs == {}
    assert (await connect.get_tracker(uow, USER, tid)).status == "active"  # a refusal, no fault
    await fx.set_rate(uow, FixedClock(NOW), USER, "USD", "EUR", "0.8")  # the inverse pair
    report = await push_costs(uow, FixedClock(NOW), tid, [D1], fake.factory)
    assert fake.costs == {("10", D1, "ad_campaign_id", "c1"): Decimal("125")}
    assert fake.currencies == ["USD"]
    entry = report.entries[0]
    assert (entry.spend, entry.spend_currency, entry.cost, entry.currency) == (
        Decimal(100), "EUR", Decimal(125), "USD")


async def test_binom1_dst_day_is_refused_in_the_log_not_shifted(uow: UnitOfWorkFactory) -> None:
    await seed_user(uow)
    dst = date(2026, 11, 1)  # New York leaves DST that day
    world = await seed_account(uow, spend={("c1", dst): "9", ("c1", date(2026, 11, 2)): "8"})
    fake = FakeTracker(kind="binom1", campaigns=[campaign("10", "T", {"campaign": "t1"})])
    tid = await _tracker(uow, fake, kind="binom1")
    await _link(uow, tid, world.account_id, "c1", "10", {"campaign": "t1"})
    report = await push_costs(uow, FixedClock(NOW), tid, [dst, date(2026, 11, 2)], fake.factory)
    assert (report.sent, report.refused) == (1, 1)
    assert fake.costs == {("10", date(2026, 11, 2), "t1", "c1"): Decimal(8)}
    refused = (await push_log(uow, USER, tid, dst))[0]
    assert not refused.ok and refused.cost is None and "UTC-04:00 → UTC-05:00" in refused.answer


async def test_an_outage_is_logged_marks_failing_and_the_next_push_repairs(
        uow: UnitOfWorkFactory) -> None:
    await seed_user(uow)
    world = await seed_account(uow, spend={("c1", D1): "3"})
    fake = FakeTracker(campaigns=[campaign("10", "T")])
    tid = await _tracker(uow, fake)
    await _link(uow, tid, world.account_id, "c1", "10")
    fake.down = True
    report = await push_costs(uow, FixedClock(NOW), tid, [D1], fake.factory)
    assert not report.ok and report.error and "unavailable" in report.error
    shown = await connect.get_tracker(uow, USER, tid)
    assert (shown.status, shown.failing_since) == ("failing", NOW)
    assert shown.last_error is not None and shown.last_error.startswith("push: unavailable")
    fake.down = False
    later = FixedClock(NOW + timedelta(hours=1))
    report = await push_costs(uow, later, tid, [D1], fake.factory)
    assert report.ok and fake.costs == {("10", D1, "ad_campaign_id", "c1"): Decimal(3)}
    shown = await connect.get_tracker(uow, USER, tid)
    assert (shown.status, shown.last_error, shown.failing_since) == ("active", None, None)
    assert [e.ok for e in await push_log(uow, USER, tid, D1)] == [False, True]


async def test_a_campaign_linked_later_gets_the_first_push_window(
        uow: UnitOfWorkFactory) -> None:
    """A TikTok campaign linked after the tracker's first push (by hand, or found by the
    automatic mapping later) has its older days pushed too, as the first push had: the
    scheduled window alone (the last few days) would leave them without cost for good."""
    await seed_user(uow)
    old = TODAY - timedelta(days=10)
    world = await seed_account(uow, spend={("c1", old): "4", ("c1", D1): "5",
                                           ("c2", old): "6", ("c2", D1): "7"})
    fake = FakeTracker(campaigns=[campaign("10", "T")])
    tid = await _tracker(uow, fake)
    await _link(uow, tid, world.account_id, "c1", "10")
    assert (await push_costs(uow, FixedClock(NOW), tid, None, fake.factory)).sent == 2
    await _link(uow, tid, world.account_id, "c2", "10")
    later = FixedClock(NOW + timedelta(hours=1))
    await push_costs(uow, later, tid, None, fake.factory)
    assert fake.costs[("10", old, "ad_campaign_id", "c2")] == Decimal(6)
    assert fake.costs[("10", D1, "ad_campaign_id", "c2")] == Decimal(7)
    # c1, pushed already, is sent its recent days only.
    assert fake.calls["push"] == 2
    assert [e.day for e in await push_log(uow, USER, tid, old)] == [old, old]


async def test_days_refused_for_want_of_a_rate_are_sent_once_it_is_set(
        uow: UnitOfWorkFactory) -> None:
    """The first push refuses a EUR account's 30 days (no EUR→USD rate); the user sets the
    rate: the next scheduled push sends all of them, not only the last few days."""
    await seed_user(uow)
    old = TODAY - timedelta(days=20)
    world = await seed_account(uow, currency="EUR", spend={("c1", old): "10", ("c1", D1): "20"})
    fake = FakeTracker(campaigns=[campaign("10", "T")])
    tid = await _tracker(uow, fake, currency="USD")
    await _link(uow, tid, world.account_id, "c1", "10")
    report = await push_costs(uow, FixedClock(NOW), tid, None, fake.factory)
    assert (report.sent, report.refused) == (0, 2)
    await fx.set_rate(uow, FixedClock(NOW), USER, "EUR", "USD", "1.5")
    report = await push_costs(uow, FixedClock(NOW + timedelta(hours=1)), tid, None, fake.factory)
    assert fake.costs == {("10", old, "ad_campaign_id", "c1"): Decimal(15),
                          ("10", D1, "ad_campaign_id", "c1"): Decimal(30)}


async def test_a_day_not_sent_for_the_same_reason_is_logged_once(
        uow: UnitOfWorkFactory) -> None:
    """Hourly pushes of a link waiting for a rate report its days as not sent each time, but
    the push log keeps one entry per day until the spend or the reason changes."""
    await seed_user(uow)
    world = await seed_account(uow, currency="EUR", spend={("c1", D1): "20"})
    fake = FakeTracker(campaigns=[campaign("10", "T")])
    tid = await _tracker(uow, fake, currency="USD")
    await _link(uow, tid, world.account_id, "c1", "10")
    for hour in range(3):
        report = await push_costs(uow, FixedClock(NOW + timedelta(hours=hour)), tid, None,
                                  fake.factory)
        assert (report.sent, report.refused, len(report.entries)) == (0, 1, 1)
    async with uow() as u:
        assert len(await u.trackers.pushes(tid)) == 1
        row = await u.session.scalar(select(MetricDaily).where(MetricDaily.day == D1))
        assert row is not None
        row.spend = Decimal(25)  # TikTok revised the day
        await u.commit()
    await push_costs(uow, FixedClock(NOW + timedelta(hours=4)), tid, None, fake.factory)
    async with uow() as u:
        logged = await u.trackers.pushes(tid)
    assert [p.spend for p in logged] == [Decimal(20), Decimal(25)]


def test_a_converted_cost_is_rounded_once() -> None:
    """1.09 USD at 1 EUR = 1.0842 USD is 1.0053496… EUR: sent as 1.0053 (half-up to 4
    decimals), not 1.0054 (rounded to micro-units first, then again)."""
    rates = {("EUR", "USD"): Decimal("1.0842")}
    assert cost_in(Decimal("1.09"), "USD", "EUR", rates) == Decimal("1.0053")
    assert cost_in(Decimal("0.67"), "EUR", "USD", {("EUR", "USD"): Decimal("1.17")}) == Decimal(
        "0.7839")
    assert cost_in(Decimal("0.67"), "USD", "EUR", {("EUR", "USD"): Decimal("1.17")}) == Decimal(
        "0.5726")
    with pytest.raises(fx.NoRate):
        cost_in(Decimal(1), "USD", "JPY", rates)
