"""Pulling tracker numbers: ad rows summed to ad group and campaign, unknown ids kept as
unmapped, a re-pull replaces (never doubles), revenue converted only with the user's rate."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import make_i18n
from bot.views.integrations import tracker as tracker_view
from core.clock import FixedClock
from core.trackers import connect, fx
from core.trackers.pull import pull_days, pull_revenue
from storage.db import session_factory
from storage.models import TrackerLink
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring
from tests.unit.tracker_fakes import (
    NOW,
    TODAY,
    TZ,
    USER,
    FakeTracker,
    campaign,
    row,
    seed_account,
    seed_user,
)

D1, D2 = TODAY - timedelta(days=2), TODAY - timedelta(days=1)


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), Vault(parse_keyring(generate_key_entry("k"))))


async def _setup(uow: UnitOfWorkFactory, currency: str = "USD",
                 tracker_currency: str = "USD") -> tuple[int, int, FakeTracker]:
    await seed_user(uow)
    world = await seed_account(uow, currency=currency)
    fake = FakeTracker(campaigns=[campaign("10", "T")])
    added = await connect.add_tracker(uow, FixedClock(NOW), USER, "keitaro", "T", "https://t.io",
                                      "key", "UTC", tracker_currency, fake.factory)
    async with uow() as u:
        for cid in ("c1", "c2"):
            u.session.add(TrackerLink(tracker_id=added.tracker.id, ad_account_id=world.account_id,
                                      tiktok_campaign_id=cid, tracker_campaign_id="10",
                                      source="auto", id_fields={"campaign": "ad_campaign_id",
                                                                "ad": "creative_id"}))
        await u.commit()
    return added.tracker.id, world.account_id, fake


async def _daily(uow: UnitOfWorkFactory, tid: int) -> dict[tuple[str, str, object], tuple]:
    async with uow() as u:
        return {(r.level, r.object_id, r.day): (r.clicks, r.conversions, r.pending, r.rejected,
                                                 r.revenue, r.pending_revenue)
                for r in await u.trackers.daily_rows(tid)}


def test_the_window_is_seven_days_and_reaches_back_after_an_outage() -> None:
    assert pull_days(NOW, TZ, NOW) == (TODAY - timedelta(days=6), TODAY)
    assert pull_days(NOW, TZ, None) == (TODAY - timedelta(days=29), TODAY)
    assert pull_days(NOW, TZ, NOW - timedelta(days=10)) == (TODAY - timedelta(days=11), TODAY)


async def test_ad_rows_sum_to_ad_group_and_campaign(uow: UnitOfWorkFactory) -> None:
    tid, _, fake = await _setup(uow)
    fake.rows[("10", "creative_id")] = [
        row("10", D1, "a1", 10, 1, "5.5", pending=2, rejected=1, pending_revenue="4"),
        row("10", D1, "a2", 20, 2, "10.25"),
        row("10", D1, "a3", 7, 0, "0"),
        row("10", D2, "a1", 1, 0, "0"),
        row("10", D2, "zz-unknown", 4, 1, "3"),
        row("10", D2, None, 2, 0, "0"),  # clicks without the id
    ]
    report = await pull_revenue(uow, FixedClock(NOW), tid, fake.factory)
    assert report.ok and report.unmapped == 2
    # The first pull reaches back 30 days, in the ad account's zone, by the ad id field.
    assert fake.pulls == [(("10",), "creative_id", TODAY - timedelta(days=29), TODAY, TZ)]
    daily = await _daily(uow, tid)
    z = Decimal(0)
    assert daily[("ad", "a1", D1)] == (10, 1, 2, 1, Decimal("5.5"), Decimal(4))
    assert daily[("adgroup", "g1", D1)] == (30, 3, 2, 1, Decimal("15.75"), Decimal(4))
    assert daily[("campaign", "c1", D1)] == (30, 3, 2, 1, Decimal("15.75"), Decimal(4))
    assert daily[("campaign", "c2", D1)] == (7, 0, 0, 0, z, z)
    assert daily[("campaign", "c1", D2)] == (1, 0, 0, 0, z, z)
    assert len(daily) == 7 + 3  # D1: 3 ads, 2 groups, 2 campaigns; D2: a1, g1, c1
    async with uow() as u:
        lost = [(r.id_value, r.clicks, r.revenue) for r in await u.trackers.unmapped_rows(tid)]
    assert lost == [("", 2, z), ("zz-unknown", 4, Decimal(3))]
    shown = await connect.get_tracker(uow, USER, tid)
    assert (shown.status, shown.last_ok_at) == ("active", NOW)


async def test_a_re_pull_replaces_and_never_doubles(uow: UnitOfWorkFactory) -> None:
    tid, _, fake = await _setup(uow)
    fake.rows[("10", "creative_id")] = [row("10", D1, "a1", 10, 1, "5"),
                                        row("10", D1, "a3", 4, 0, "0")]
    await pull_revenue(uow, FixedClock(NOW), tid, fake.factory)
    # A late conversion lands on D1; a3's clicks were bot-filtered away meanwhile.
    fake.rows[("10", "creative_id")] = [row("10", D1, "a1", 10, 2, "9")]
    later = FixedClock(NOW + timedelta(hours=1))
    await pull_revenue(uow, later, tid, fake.factory)
    await pull_revenue(uow, later, tid, fake.factory)
    daily = await _daily(uow, tid)
    assert daily[("campaign", "c1", D1)][:2] == (10, 2)
    assert daily[("campaign", "c1", D1)][4] == Decimal(9)
    assert ("campaign", "c2", D1) not in daily and ("ad", "a3", D1) not in daily
    # After the first pull only the 7-day window is asked again.
    assert fake.pulls[-1][2] == TODAY - timedelta(days=6)


async def test_revenue_is_converted_with_the_users_rate_or_refused(
        uow: UnitOfWorkFactory) -> None:
    tid, _, fake = await _setup(uow, currency="EUR", tracker_currency="USD")
    fake.rows[("10", "creative_id")] = [row("10", D1, "a1", 10, 1, "11")]
    report = await pull_revenue(uow, FixedClock(NOW), tid, fake.factory)
    assert not report.ok and "USD→EUR" in (report.error or "")
    shown = await connect.get_tracker(uow, USER, tid)
    assert shown.status == "failing" and "USD→EUR" in (shown.last_error or "")
    assert await _daily(uow, tid) == {}
    await fx.set_rate(uow, FixedClock(NOW), USER, "EUR", "USD", "1.1")
    report = await pull_revenue(uow, FixedClock(NOW), tid, fake.factory)
    assert report.ok
    assert (await _daily(uow, tid))[("campaign", "c1", D1)][4] == Decimal(10)
    assert (await connect.get_tracker(uow, USER, tid)).status == "active"


async def test_an_outage_keeps_the_last_pull_and_says_failing(uow: UnitOfWorkFactory) -> None:
    tid, _, fake = await _setup(uow)
    fake.rows[("10", "creative_id")] = [row("10", D1, "a1", 10, 1, "5")]
    await pull_revenue(uow, FixedClock(NOW), tid, fake.factory)
    before = await _daily(uow, tid)
    fake.down = True
    later = NOW + timedelta(hours=1)
    report = await pull_revenue(uow, FixedClock(later), tid, fake.factory)
    assert not report.ok
    shown = await connect.get_tracker(uow, USER, tid)
    assert (shown.status, shown.failing_since, shown.last_ok_at) == ("failing", later, NOW)
    assert await _daily(uow, tid) == before


async def test_campaigns_linked_to_nothing_are_unmapped_revenue(uow: UnitOfWorkFactory) -> None:
    tid, _, fake = await _setup(uow)
    fake.campaigns.append(campaign("99", "Push traffic", {}))
    fake.rows[("99", None)] = [row("99", D2, None, 40, 4, "80")]
    report = await pull_revenue(uow, FixedClock(NOW), tid, fake.factory)
    assert report.ok and report.unmapped == 1
    # Read in the tracker's own zone (UTC here), not an ad account's.
    assert fake.pulls[-1] == (("99",), None, TODAY - timedelta(days=29), TODAY, "UTC")
    async with uow() as u:
        lost = [(r.tracker_campaign_id, r.day, r.id_value, r.clicks, r.revenue)
                for r in await u.trackers.unmapped_rows(tid)]
    assert lost == [("99", D2, "", 40, Decimal(80))]
    assert await _daily(uow, tid) == {}  # none of it is put on a TikTok campaign


async def test_binom1_reads_the_whole_hour_accounts_when_one_is_half_an_hour_off(
        uow: UnitOfWorkFactory) -> None:
    """Binom 1 takes whole-hour UTC offsets only: an India account (UTC+05:30) is left out with
    the reason, and the other accounts' revenue still comes in; with only such accounts the
    pull fails with that reason."""
    await seed_user(uow)
    here = await seed_account(uow)
    india = await seed_account(uow, tz="Asia/Kolkata", advertiser="adv2",
                               structure={"k1": {"kg1": ["ka1"]}})
    fake = FakeTracker(kind="binom1", campaigns=[campaign("10", "T")])
    added = await connect.add_tracker(uow, FixedClock(NOW), USER, "binom1", "T", "https://t.io",
                                      "key", "UTC", "USD", fake.factory)
    tid = added.tracker.id
    async with uow() as u:
        for account, cid in ((here.account_id, "c1"), (india.account_id, "k1")):
            u.session.add(TrackerLink(tracker_id=tid, ad_account_id=account,
                                      tiktok_campaign_id=cid, tracker_campaign_id="10",
                                      source="auto", id_fields={"campaign": "t1"}))
        await u.commit()
    fake.rows[("10", "t1")] = [row("10", D1, "c1", 10, 1, "5")]
    report = await pull_revenue(uow, FixedClock(NOW), tid, fake.factory)
    assert report.ok and report.error is None
    assert [p[4] for p in fake.pulls] == [TZ]  # Kolkata's days were never asked for
    [why] = report.unread
    assert "Asia/Kolkata" in why and "whole-hour" in why
    assert (await _daily(uow, tid))[("campaign", "c1", D1)][:2] == (10, 1)
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        assert "⚠️ Not read, the other accounts were: " in tracker_view.pulled(1, 0, report.unread)

    async with uow() as u:  # only the India account left
        for link in await u.trackers.links(tid):
            if link.tiktok_campaign_id == "c1":
                await u.session.delete(link)
        await u.commit()
    report = await pull_revenue(uow, FixedClock(NOW + timedelta(hours=1)), tid, fake.factory)
    assert not report.ok and report.error is not None and report.error.startswith("refused: ")
