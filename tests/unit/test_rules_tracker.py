"""Rules on tracker metrics (issue 12): revenue, profit, roi, epc, tracker_cpa, tracker_clicks,
tracker_conversions — the text form, the builder, exact maths, the engine's "no data" skips and
freshness guard (SQLite and PostgreSQL), and backtests over the tracker's daily history.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from aiogram.utils.i18n import I18n
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.views import rule_builder as builder_view
from bot.views.common import skipped_line
from bot.views.rule_alerts import render
from bot.views.rule_checks import preview as preview_view
from core.clock import FixedClock
from core.rules import builder, engine
from core.rules.backtest import backtest
from core.rules.evaluate import Facts, holds, metric
from core.rules.model import TRACKER_METRICS, Condition, Level, Op, Operand, Window
from core.rules.presets import PRESETS
from core.rules.service import Draft, check, preview, save, set_enabled
from core.rules.settings import Frequency, RuleSettings, Scope
from core.rules.text import RuleSyntaxError, format_rule, parse_rule
from core.rules.tracker import TrackerSums, tracker_metric
from core.users import SignUp, register_user
from storage.db import session_factory
from storage.models import (
    AdAccount,
    AdObject,
    MetricDaily,
    OutboxMessage,
    Rule,
    RuleAction,
    RuleRun,
    TikTokConnection,
    Tracker,
    TrackerDaily,
    TrackerLink,
)
from storage.uow import UnitOfWorkFactory
from tests.unit.test_rules_backtest import (  # the backtests' Tokyo world
    DAYS,
    World,
    _a1,
    _a2,
)
from tests.unit.test_rules_backtest import (
    NOW as BT_NOW,
)
from tests.unit.test_rules_backtest import (
    USER as BT_USER,
)
from tests.unit.test_rules_engine import FakeChanger

USER = 7
TZ = "America/New_York"
NOW = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)  # 15:00 in New York: today is the 29th
TODAY = date(2026, 11, 29)
DAY = Window("yesterday")
LOW_ROI = "ad: roi < -30 in 3d -> pause"

# --- the text form and the builder ----------------------------------------------------------


def test_tracker_metrics_parse_print_and_parse_back() -> None:
    for text in (
        "ad: roi < -30 in 3d -> pause",
        "adgroup: profit > 50 in yesterday -> budget +20%",
        "campaign: revenue >= 1000 in 7d incl today and epc < 0.25 in 7d incl today -> notify",
        "ad: tracker_cpa > 1.5 x cpa in 3d or tracker_clicks < 10 in today -> pause today",
        "adgroup: tracker_conversions between 1 and 5 in 14d -> notify",
        "ad: roi between -50 and -10 in lifetime -> notify",
    ):
        rule = parse_rule(text)
        assert format_rule(rule) == text
        assert parse_rule(format_rule(rule)) == rule
    rule = parse_rule("ad: roi < -30 in 3d -> pause")
    assert rule.when == Condition("roi", Op.LT, Operand(Decimal(-30)), Window("3d"))
    # A phone's minus sign reads as the ASCII one.
    assert parse_rule("ad: profit < −5.5 in yesterday -> notify").when == Condition(
        "profit", Op.LT, Operand(Decimal("-5.5")), DAY
    )


def test_tracker_metrics_take_no_last_hour_window() -> None:
    with pytest.raises(RuleSyntaxError) as err:
        parse_rule("ad: roi < -30 in last hour -> pause")
    assert err.value.column == 5 and "daily window" in err.value.expected
    # Taken from the next condition's window, and on the right side of a comparison too.
    with pytest.raises(RuleSyntaxError) as err:
        parse_rule("ad: spend > 5 and revenue < 1 and cpc > 1 in last hour -> pause")
    assert err.value.column == 19
    with pytest.raises(RuleSyntaxError):
        parse_rule("ad: spend > 2 x revenue in last_hour -> pause")
    assert parse_rule("ad: spend > 5 in last hour and roi < 0 in today -> pause")


def test_the_builder_offers_tracker_metrics_at_every_level_without_last_hour() -> None:
    for level in Level:
        assert set(TRACKER_METRICS) <= set(builder.metrics(level))
    assert Window("last_hour") not in builder.windows("roi")
    assert Window("last_hour") not in builder.windows("spend", "2 x revenue")
    assert Window("last_hour") in builder.windows("spend", "20")
    assert set(builder.windows("roi")) == set(builder.WINDOWS) - {Window("last_hour")}
    with pytest.raises(RuleSyntaxError):
        builder.condition(Level.AD, builder.Pick("roi", "<", "-30", "last_hour"))
    made = builder.spec(Level.AD, [builder.Pick("roi", "<", "-30", "3d")], builder.ActionKind.PAUSE)
    assert format_rule(made) == LOW_ROI and check(format_rule(made)) == made


def test_the_metric_picker_has_a_tracker_group() -> None:
    with I18n(path="locales", default_locale="en", domain="messages").context():
        text, kb = builder_view.build_metric("", "ad")
        assert kb is not None
        data = [b.callback_data for row in kb.inline_keyboard for b in row]
        labels = [b.text for row in kb.inline_keyboard for b in row]
        assert not any(f"met:{m}" in str(data) for m in ("roi", "revenue"))
        assert labels[-1].startswith("🎯 Tracker")
        text, kb = builder_view.build_metric("", "ad", "tracker")
        assert kb is not None
        labels = [b.text for row in kb.inline_keyboard for b in row]
        assert labels[:7] == [
            "revenue (tracker)",
            "profit (tracker)",
            "ROI (tracker)",
            "EPC (tracker)",
            "CPA (tracker)",
            "clicks (tracker)",
            "conversions (tracker)",
        ]
        assert labels[-1] == "« TikTok metrics" and "zero revenue" in text


def test_the_low_roi_preset_is_a_valid_rule() -> None:
    [low] = [p for p in PRESETS if p.key == "low_roi"]
    assert check(low.text).when == parse_rule("ad: roi < -30 and spend >= 20 in 3d -> pause").when


# --- exact maths ----------------------------------------------------------------------------


def _facts(spend: str, tracker: TrackerSums | None) -> Facts:
    from core.metrics import Totals

    return Facts(
        "a1",
        "Ad",
        None,
        None,
        {DAY: Totals(spend=Decimal(spend), clicks=40)},
        tracker=None if tracker is None else {DAY: tracker},
    )


def test_tracker_metrics_are_exact_decimals() -> None:
    sums = TrackerSums(clicks=13, conversions=3, revenue=Decimal("65.00"))
    facts = _facts("100.00", sums)
    assert metric("revenue", facts, DAY, NOW) == Decimal("65.00")
    assert metric("profit", facts, DAY, NOW) == Decimal("-35.00")
    assert metric("roi", facts, DAY, NOW) == Decimal(-35)
    assert metric("epc", facts, DAY, NOW) == Decimal(5)
    assert metric("tracker_cpa", facts, DAY, NOW) == Decimal("100") / 3
    assert metric("tracker_clicks", facts, DAY, NOW) == 13
    assert metric("tracker_conversions", facts, DAY, NOW) == 3
    # One third is not a float: 0.1 + 0.2 style drift would show here.
    assert tracker_metric("roi", TrackerSums(revenue=Decimal("0.30")), Decimal("0.10")) == 200
    # Undefined ratios, and no data at all, are None — never zero.
    assert tracker_metric("roi", TrackerSums(revenue=Decimal(5)), Decimal(0)) is None
    assert tracker_metric("epc", TrackerSums(), Decimal(5)) is None
    assert tracker_metric("tracker_cpa", TrackerSums(clicks=3), Decimal(5)) is None
    for name in TRACKER_METRICS:
        assert metric(name, _facts("100", None), DAY, NOW) is None


def test_a_condition_on_missing_tracker_data_never_holds() -> None:
    loss = parse_rule("ad: roi < -30 in yesterday -> pause").when
    gain = parse_rule("ad: roi > -30 in yesterday -> pause").when
    assert holds(loss, _facts("100", TrackerSums(revenue=Decimal("69.99"))), NOW)
    assert not holds(loss, _facts("100", TrackerSums(revenue=Decimal(70))), NOW)
    assert not holds(loss, _facts("100", None), NOW)
    assert not holds(gain, _facts("100", None), NOW)


# --- the engine -------------------------------------------------------------------------------


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), None)


async def _world(
    uow: UnitOfWorkFactory,
    spend: dict[str, str],
    revenue: dict[str, dict[date, str]],
    *,
    tracker_ok: datetime | None = NOW - timedelta(minutes=20),
    linked: bool = True,
) -> int:
    """One New York account whose ads spent `spend` on each of the last three days, and a
    tracker that reported `revenue` per ad and day (ads missing from it: no tracker rows)."""
    await register_user(
        uow, FixedClock(NOW), SignUp(USER, "Ann", None, None, "en", TZ, None, False)
    )
    async with uow() as u:
        conn = TikTokConnection(user_id=USER, display_name="me", status="active")
        u.session.add(conn)
        await u.session.flush()
        acc = AdAccount(
            connection_id=conn.id,
            advertiser_id="adv1",
            name="Shop",
            currency="USD",
            time_zone=TZ,
            fresh_as_of=NOW - timedelta(minutes=10),
        )
        u.session.add(acc)
        await u.session.flush()
        tracker = Tracker(
            user_id=USER,
            kind="keitaro",
            name="K",
            base_url="https://k.example",
            status="active",
            last_ok_at=tracker_ok,
        )
        u.session.add(tracker)
        await u.session.flush()
        if linked:
            u.session.add(
                TrackerLink(
                    tracker_id=tracker.id,
                    ad_account_id=acc.id,
                    tiktok_campaign_id="c1",
                    tracker_campaign_id="7",
                    source="auto",
                )
            )
        for oid, amount in spend.items():
            u.session.add(
                AdObject(
                    ad_account_id=acc.id,
                    level="ad",
                    object_id=oid,
                    campaign_id="c1",
                    adgroup_id="g1",
                    name=f"Ad {oid}",
                    operation_status="ENABLE",
                    created_time=NOW - timedelta(days=20),
                )
            )
            for back in (1, 2, 3):
                u.session.add(
                    MetricDaily(
                        ad_account_id=acc.id,
                        level="ad",
                        object_id=oid,
                        day=TODAY - timedelta(days=back),
                        spend=Decimal(amount),
                        impressions=1000,
                        clicks=50,
                        conversions=1,
                        purchase_value=Decimal(0),
                    )
                )
        for oid, per_day in revenue.items():
            for day, amount in per_day.items():
                u.session.add(
                    TrackerDaily(
                        ad_account_id=acc.id,
                        level="ad",
                        object_id=oid,
                        day=day,
                        tracker_id=tracker.id,
                        clicks=40,
                        conversions=2,
                        revenue=Decimal(amount),
                    )
                )
        await u.commit()
        return acc.id


async def _rule(uow: UnitOfWorkFactory, text: str, **kw: object) -> Rule:
    rule = await save(uow, FixedClock(NOW), USER, Draft(text, RuleSettings(**kw), "r"))  # type: ignore[arg-type]
    await set_enabled(uow, FixedClock(NOW), USER, rule.id, True)
    async with uow() as u:
        found = await u.rules.get(USER, rule.id)
        assert found is not None
        found.due_at = NOW
        await u.commit()
        return found


async def _rows(uow: UnitOfWorkFactory, model: type) -> list:  # type: ignore[type-arg]
    async with uow() as u:
        return list(await u.session.scalars(select(model).order_by(model.id)))


D1, D2, D3 = (TODAY - timedelta(days=n) for n in (1, 2, 3))


async def test_roi_pauses_the_loser_and_skips_ads_the_tracker_has_no_data_for(
    uow: UnitOfWorkFactory,
) -> None:
    # Each ad spent 10.00 a day over 3 days (30.00). a1 earned 20.00 (roi −33.33…%), a2 earned
    # 21.00 (−30 %: not below), a3 has no tracker rows at all, a4 started being tracked only
    # today (after the window's last day), a5 had rows before the window but none in it: the
    # tracker saw nothing for it these days (revenue 0, roi −100 %).
    await _world(
        uow,
        {"a1": "10", "a2": "10", "a3": "10", "a4": "10", "a5": "10"},
        {
            "a1": {D1: "5", D2: "5", D3: "10"},
            "a2": {D1: "7", D2: "7", D3: "7"},
            "a4": {TODAY: "100"},
            "a5": {TODAY - timedelta(days=9): "50"},
        },
    )
    rule = await _rule(uow, LOW_ROI)
    changer = FakeChanger()
    await engine.run_due(uow, FixedClock(NOW), changer, "w1")
    assert sorted(oid for oid, _ in changer.writes) == ["a1", "a5"]
    [run] = await _rows(uow, RuleRun)
    assert run.rule_id == rule.id and run.status == "ok"
    assert run.skipped == {"no_tracker_data": 2} and run.checked == 5 and run.matched == 2
    actions = {a.object_id: a for a in await _rows(uow, RuleAction)}
    [reading] = actions["a1"].trigger["readings"]
    assert reading["metric"] == "roi" and Decimal(reading["value"]) == Decimal(-100) / 3
    with I18n(path="locales", default_locale="en", domain="messages").context():
        line = skipped_line(run.skipped)
        assert line is not None and "2: the tracker has no data for them" in line


async def test_profit_is_read_in_exact_cents(uow: UnitOfWorkFactory) -> None:
    # 62.35 − 12.34 = 50.01 (above 49.99); 62.33 − 12.34 = 49.99 (not above): exact cents.
    acc = await _world(
        uow, {"a1": "12.34", "a2": "12.34"}, {"a1": {D1: "62.35"}, "a2": {D1: "62.33"}}
    )
    await _rule(uow, "ad: profit > 49.99 in yesterday -> notify")
    await engine.run_due(uow, FixedClock(NOW), FakeChanger(), "w1")
    [action] = await _rows(uow, RuleAction)
    assert (action.ad_account_id, action.object_id) == (acc, "a1")
    [reading] = action.trigger["readings"]
    assert Decimal(reading["value"]) == Decimal("50.01")


async def test_an_or_on_tiktok_metrics_still_judges_ads_without_tracker_data(
    uow: UnitOfWorkFactory,
) -> None:
    await _world(uow, {"a1": "10", "a2": "1"}, {})
    await _rule(uow, "ad: roi < -30 in 3d or spend > 5 in yesterday -> notify")
    await engine.run_due(uow, FixedClock(NOW), FakeChanger(), "w1")
    assert [a.object_id for a in await _rows(uow, RuleAction)] == ["a1"]
    [run] = await _rows(uow, RuleRun)
    assert run.skipped == {"no_tracker_data": 1}  # a2: not judged on roi, nothing else held


async def test_a_summed_scope_leaves_out_ads_without_tracker_data(uow: UnitOfWorkFactory) -> None:
    # Summed: a1 (spend 30, revenue 60) and a2 (30, 0) → roi 0 %; a3 has no rows, and is
    # neither summed as zero revenue (which would make it −33 %) nor paused.
    await _world(uow, {"a1": "10", "a2": "10", "a3": "10"}, {"a1": {D1: "60"}, "a2": {D1: "0"}})
    await _rule(uow, "ad: roi < -20 in 3d -> pause", aggregate="sum")
    await _rule(uow, "ad: roi >= 0 in 3d -> notify", aggregate="sum")
    changer = FakeChanger()
    await engine.run_due(uow, FixedClock(NOW), changer, "w1")
    assert changer.writes == []
    actions = await _rows(uow, RuleAction)
    assert sorted(a.object_id for a in actions) == ["a1", "a2"]
    assert {r.skipped["no_tracker_data"] for r in await _rows(uow, RuleRun)} == {1}


async def test_stale_tracker_data_skips_the_run_and_tells_once(uow: UnitOfWorkFactory) -> None:
    await _world(uow, {"a1": "10"}, {"a1": {D1: "0"}}, tracker_ok=NOW - timedelta(hours=3))
    tracked = await _rule(uow, LOW_ROI)
    plain = await _rule(uow, "ad: spend > 5 in yesterday -> notify")  # reads no tracker metric
    changer = FakeChanger()
    await engine.run_due(uow, FixedClock(NOW), changer, "w1")
    async with uow() as u:
        for r in await u.session.scalars(select(Rule)):
            r.due_at = NOW + timedelta(minutes=15)
        acc = await u.session.scalar(select(AdAccount))
        assert acc is not None
        acc.fresh_as_of = NOW + timedelta(minutes=10)  # TikTok synced again; the tracker not
        await u.commit()
    await engine.run_due(uow, FixedClock(NOW + timedelta(minutes=15)), changer, "w1")
    assert changer.writes == []
    runs = await _rows(uow, RuleRun)
    assert [r.status for r in runs if r.rule_id == tracked.id] == ["stale", "stale"]
    assert [r.status for r in runs if r.rule_id == plain.id] == ["ok", "ok"]
    stale = [m for m in await _rows(uow, OutboxMessage) if m.kind == "rule_stale"]
    assert len(stale) == 1
    assert stale[0].params["tracker"] == {str(acc.id): (NOW - timedelta(hours=3)).isoformat()}
    # The alert names the tracker's last good pull (New York time), not TikTok's sync.
    with I18n(path="locales", default_locale="en", domain="messages").context():
        async with uow() as u:
            screen = await render(u, "rule_stale", USER, stale[0].params, NOW)
    assert screen is not None and "• Shop: tracker data as of 29.11 12:00" in screen[0]
    # A longer tolerance of the rule's own counts for the tracker too.
    ev = await preview(
        uow, FixedClock(NOW), USER, Draft(LOW_ROI, RuleSettings(freshness_minutes=240))
    )
    assert [h.target.object_id for h in ev.hits] == ["a1"] and not ev.stale


async def test_preview_says_which_account_has_old_tracker_data(uow: UnitOfWorkFactory) -> None:
    await _world(uow, {"a1": "10"}, {"a1": {D1: "0"}}, tracker_ok=None)
    ev = await preview(uow, FixedClock(NOW), USER, Draft(LOW_ROI, RuleSettings()))
    assert ev.hits == [] and [sa.account.name for sa in ev.stale] == ["Shop"]
    with I18n(path="locales", default_locale="en", domain="messages").context():
        text = preview_view(ev, {}, "UTC")
    assert "Shop: the tracker has not pulled yet, would be skipped" in text


async def test_an_account_without_a_tracker_is_not_stale_its_ads_are_skipped(
    uow: UnitOfWorkFactory,
) -> None:
    await _world(uow, {"a1": "10", "a2": "10"}, {}, tracker_ok=None, linked=False)
    ev = await preview(uow, FixedClock(NOW), USER, Draft(LOW_ROI, RuleSettings()))
    assert ev.stale == [] and ev.hits == [] and ev.checked == 2
    assert ev.skipped_counts() == {"no_tracker_data": 2}
    with I18n(path="locales", default_locale="en", domain="messages").context():
        text = preview_view(ev, {}, "UTC")
    assert "• Ad a1 — the tracker has no data for it" in text


# --- backtests ----------------------------------------------------------------------------------


@pytest.fixture
async def tokyo(uow: UnitOfWorkFactory) -> int:
    """The backtests' Tokyo account (A1 spends 36.00 a day and never converts, A2 spends the
    same and converts); a tracker reports A1 earning 18.00 a day (roi −50 %) from 25 Nov on,
    A2 72.00 a day (+100 %) all along, A3 (spends the same as A1) nothing ever."""
    w = World(uow)
    await w.user()
    acc = await w.account("700")
    for oid, name, f in (("1", "A1 lose", _a1), ("2", "A2 win", _a2), ("3", "A3 untracked", _a1)):
        await w.obj(acc, "ad", oid, name)
        await w.metrics(acc, "ad", oid, f, DAYS, today_hours=21)
    async with uow() as u:
        tracker = Tracker(user_id=BT_USER, kind="binom2", base_url="https://b.example")
        u.session.add(tracker)
        await u.session.flush()
        for day in DAYS:
            if day >= date(2026, 11, 25):
                u.session.add(_tracker_row(acc, tracker.id, "1", day, "18"))
            u.session.add(_tracker_row(acc, tracker.id, "2", day, "72"))
        await u.commit()
    return acc


def _tracker_row(acc: int, tracker_id: int, oid: str, day: date, revenue: str) -> TrackerDaily:
    return TrackerDaily(
        ad_account_id=acc,
        level="ad",
        object_id=oid,
        day=day,
        tracker_id=tracker_id,
        clicks=100,
        conversions=3,
        revenue=Decimal(revenue),
    )


async def _backtest(uow: UnitOfWorkFactory, text: str, **kw: object):  # type: ignore[no-untyped-def]
    settings = RuleSettings(**{"frequency": Frequency(1, 12), **kw})  # type: ignore[arg-type]
    async with uow() as u:
        return await backtest(u, BT_USER, text, settings, BT_NOW, 7)


async def test_backtest_reads_the_trackers_daily_history(
    uow: UnitOfWorkFactory, tokyo: int
) -> None:
    # Yesterday's roi, read once a day at the first run of the day (hourly schedule, paused
    # until the end of the replay): A1's first tracked day is the 25th, so it fires on the 26th
    # (the 22nd–25th read "yesterday" before its first row: skipped, not paused). A2 wins, A3
    # has no tracker rows at all.
    bt = await _backtest(uow, "ad: roi < -30 in yesterday -> pause")
    assert [(f.object_id, f.at) for f in bt.firings] == [
        ("1", datetime(2026, 11, 25, 15, 0, tzinfo=UTC))  # 26 Nov 00:00 in Tokyo
    ]
    [reading] = bt.firings[0].readings
    assert reading.metric == "roi" and reading.value == Decimal(-50)
    assert bt.skipped == {"no_tracker_data": 2}  # A1 (before the 25th) and A3
    assert bt.tracker_days == 7
    # Paused at midnight: A1's 36.00 a day of the 26th, 27th and 28th not spent.
    assert bt.saved_spend == {"USD": Decimal("108.00")}


async def test_backtest_spreads_todays_tracker_numbers_by_the_hours_spent(
    uow: UnitOfWorkFactory, tokyo: int
) -> None:
    # "today" at a run: A2's 72.00 of the day counts in proportion to the spend so far, so
    # its roi reads +100 % at every hour with spend — never below — and A1's −50 % from its
    # first tracked day (25th) at 09:00, the first hour after spend began (08:00–09:00: 3.00
    # spent, 1.50 of revenue).
    bt = await _backtest(uow, "ad: roi < -30 in today -> pause today")
    fired = sorted((f.object_id, f.at) for f in bt.firings)
    assert fired[0] == ("1", datetime(2026, 11, 25, 0, 0, tzinfo=UTC))  # 25 Nov 09:00 Tokyo
    assert {oid for oid, _ in fired} == {"1"}
    assert all(r.value == Decimal(-50) for f in bt.firings for r in f.readings)
    assert bt.skipped["no_tracker_data"] == 2


async def test_backtest_of_a_rule_without_tracker_metrics_says_nothing_of_trackers(
    uow: UnitOfWorkFactory, tokyo: int
) -> None:
    bt = await _backtest(uow, "ad: spend >= 20 and conversions = 0 in today -> pause today")
    assert bt.tracker_days is None and "no_tracker_data" not in bt.skipped


async def test_scope_filter_applies_to_tracker_rules(uow: UnitOfWorkFactory) -> None:
    await _world(uow, {"a1": "10", "a2": "10"}, {"a1": {D1: "0"}, "a2": {D1: "0"}})
    ev = await preview(
        uow,
        FixedClock(NOW),
        USER,
        Draft(LOW_ROI, RuleSettings(scope=Scope(match="ids", values=("a2",)))),
    )
    assert [h.target.object_id for h in ev.hits] == ["a2"]
