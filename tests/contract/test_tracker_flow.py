"""The tracker use-cases through the real clients against the tracker emulators, fed by the
TikTok emulator whose demo login is connected and synced first: connect, automatic mapping,
push (the tracker holds exactly TikTok's spend; pushing again changes nothing; any sequence of
days in any order ends the same), pull (ad rows summed to every level), a discrepancy alert
when clicks are dropped, and an outage that loses and doubles nothing."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from core.periods import local_today
from core.tiktok import TikTokClient
from core.trackers import connect, fx, jobs
from core.trackers.base import TrackerClient
from core.trackers.factory import make_client
from core.trackers.http import RetryPolicy
from core.trackers.mapping import mapping
from core.trackers.pull import pull_revenue
from core.trackers.push import binom1_offset_problem, cost_in, push_costs, push_log
from sandbox.tiktok.model import CURRENCY_RATE
from sandbox.trackers.server import RunningTracker, start_tracker
from storage.models import AdAccount, AdObject, MetricDaily, OutboxMessage, TrackerDaily
from tests.contract.conftest import Emu
from tests.contract.test_sync import USER, Db, connected_db, sync_all

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ACCOUNT = {"keitaro": "Glowly US", "binom1": "Glowly EU", "binom2": "Glowly JP"}
FAST = RetryPolicy(max_attempts=2, max_total_seconds=2, base_delay=0.01, max_delay=0.05)
Costs = dict[tuple[date, str | None, str | None], Decimal]


def factory(kind: str, url: str, key: str) -> TrackerClient:
    """The real client, retrying briefly (the emulators answer at once)."""
    return make_client(kind, url, key, retry=FAST, timeout=10)  # type: ignore[arg-type]


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"fixture": "demo", "now": NOW}


@pytest.fixture
async def engines() -> AsyncIterator[list[Any]]:
    made: list[Any] = []
    yield made
    for engine in made:
        await engine.dispose()


@pytest.fixture
async def synced(emu: Emu, client: TikTokClient, engines: list[Any], db_url: str) -> Db:
    """A service database (SQLite and PostgreSQL) with the demo login connected and synced."""
    db = await connected_db(db_url, client, engines)
    await sync_all(db, client)
    return db


async def _start(kind: str, emu: Emu, **knobs: Any) -> RunningTracker:
    return await start_tracker(kind, tiktok=emu.server, fixture="demo", **knobs)


async def _account(db: Db, kind: str) -> AdAccount:
    async with db.uow() as u:
        found = await u.session.scalar(select(AdAccount).where(AdAccount.name == ACCOUNT[kind]))
        assert found is not None
        return found


async def _connect(db: Db, tracker: RunningTracker, account: AdAccount) -> int:
    """Add the tracker as a user would; a currency other than the account's gets a rate."""
    if account.currency != "USD":  # the emulators keep USD, as most trackers do
        rate = CURRENCY_RATE[account.currency]  # 1 USD = rate <account currency>
        await fx.set_rate(db.uow, db.clock, USER, "USD", account.currency, rate)
    added = await connect.add_tracker(db.uow, db.clock, USER, tracker.kind, "T", tracker.url,
                                      tracker.api_key, "UTC", "USD", factory)
    assert added.campaigns
    return added.tracker.id


async def _spend(db: Db, account: AdAccount, campaign_ids: set[str]) -> dict[tuple[str, date],
                                                                              Decimal]:
    async with db.uow() as u:
        rows = await u.session.execute(
            select(MetricDaily.object_id, MetricDaily.day, MetricDaily.spend).where(
                MetricDaily.ad_account_id == account.id, MetricDaily.level == "campaign",
                MetricDaily.object_id.in_(campaign_ids)))
        return {(r[0], r[1]): r[2] for r in rows}


def _in_tracker_currency(amount: Decimal, account: AdAccount) -> Decimal:
    return cost_in(amount, account.currency, "USD",
                   {("USD", account.currency): CURRENCY_RATE[account.currency]})


async def _expected(db: Db, tid: int, tracker: RunningTracker, account: AdAccount,
                    days: set[date]) -> dict[str, Costs]:
    """What each tracker campaign must hold: TikTok's spend per linked campaign and day
    (in USD), on the pushed days that the tracker kind can take."""
    links = await mapping(db.uow, USER, tid)
    spend = await _spend(db, account, {lk.campaign_id for lk in links})
    out: dict[str, Costs] = {}
    for lk in links:
        field = lk.id_fields.get("campaign")
        held = out.setdefault(lk.tracker_campaign_id, {})
        for (cid, day), amount in spend.items():
            if cid != lk.campaign_id or day not in days or amount == 0:
                continue
            if tracker.kind == "binom1" and binom1_offset_problem(lk.time_zone, day):
                continue
            held[(day, field, cid if field else None)] = _in_tracker_currency(amount, account)
    return out


async def _clicked(db: Db, tid: int) -> set[tuple[str, date]]:
    """(TikTok campaign, day) pairs with pulled tracker clicks (where pushed cost can land)."""
    async with db.uow() as u:
        rows = await u.session.execute(
            select(TrackerDaily.object_id, TrackerDaily.day, TrackerDaily.clicks).where(
                TrackerDaily.tracker_id == tid, TrackerDaily.level == "campaign"))
        clicked = {(r[0], r[1]) for r in rows if r[2] > 0}
    return clicked


def _held(tracker: RunningTracker, campaign_ids: list[str]) -> dict[str, Costs]:
    return {cid: tracker.costs(cid) for cid in campaign_ids}


def _landable(expected: dict[str, Costs], clicked: set[tuple[str, date]]) -> dict[str, Costs]:
    """The expected costs on segments that have tracker clicks (spec §0: others hold none)."""
    return {tc: {k: v for k, v in segs.items() if (k[2], k[0]) in clicked or k[2] is None}
            for tc, segs in expected.items()}


@pytest.mark.parametrize("kind", ["keitaro", "binom1", "binom2"])
async def test_connect_map_push_pull_and_push_again(emu: Emu, synced: Db, kind: str) -> None:
    db = synced
    tracker = await _start(kind, emu)
    try:
        account = await _account(db, kind)
        tid = await _connect(db, tracker, account)
        runs = await jobs.run_due(db.uow, db.clock, factory, "w1")
        assert [(r.ok, r.error) for r in runs] == [(True, None)]
        # Mapping: the demo feeds (x01: c0–c2, x02: c3–c4 on other fields, x04: c6 campaign id
        # only); x03 passes no ids and c7 feeds nothing, so they stay unmapped.
        links = await mapping(db.uow, USER, tid)
        fed = {str(tc): set(cids) for tc, cids in tracker.feeds.items() if cids}
        mapped: dict[str, set[str]] = {}
        for lk in links:
            mapped.setdefault(lk.tracker_campaign_id, set()).add(lk.campaign_id)
            assert lk.source == "auto" and lk.ad_account_id == account.id
        no_ids = [tc for tc, cids in fed.items() if tc not in mapped]
        assert len(no_ids) == 1  # "No ids"
        assert mapped == {tc: cids for tc, cids in fed.items() if tc != no_ids[0]}
        # Push: the first run covers the last 30 days of the account.
        today = local_today(NOW, account.time_zone)
        days = {today - timedelta(days=n) for n in range(30)}
        expected = await _expected(db, tid, tracker, account, days)
        clicked = await _clicked(db, tid)
        held = _held(tracker, list(expected))
        assert held == _landable(expected, clicked)
        assert sum(len(v) for v in held.values()) > 30
        # Pushing again (the next hourly run) changes nothing.
        db.clock.set(NOW + timedelta(hours=1))
        assert [r.ok for r in await jobs.run_due(db.uow, db.clock, factory, "w1")] == [True]
        assert _held(tracker, list(expected)) == held
        # Pull: every level; the campaign rows equal their ad rows' sums.
        async with db.uow() as u:
            rows = await u.trackers.daily_rows(tid)
        by_level: dict[str, dict[tuple[str, date], TrackerDaily]] = {}
        for r in rows:
            by_level.setdefault(r.level, {})[(r.object_id, r.day)] = r
        assert set(by_level) == {"campaign", "adgroup", "ad"}
        assert sum(r.revenue for r in by_level["campaign"].values()) > 0
        # The "No ids" campaign's clicks (TikTok's, but with no id to match) and the tracker-only
        # campaign's are unmapped: shown as such, on no TikTok campaign.
        async with db.uow() as u:
            lost = {r.tracker_campaign_id for r in await u.trackers.unmapped_rows(tid)}
        assert no_ids[0] in lost and not lost & set(mapped)
        async with db.uow() as u:
            parent = {o.object_id: o.campaign_id for o in await u.session.scalars(
                select(AdObject).where(AdObject.ad_account_id == account.id,
                                       AdObject.level == "ad"))}
        summed: dict[tuple[str, date], int] = {}
        for (ad, day), r in by_level["ad"].items():
            key = (parent[ad], day)
            summed[key] = summed.get(key, 0) + r.clicks
        by_ad = {lk.campaign_id for lk in links if lk.id_fields.get("ad")}
        assert summed and {k for k in summed if k[0] not in by_ad} == set()
        assert summed == {k: r.clicks for k, r in by_level["campaign"].items()
                          if k[0] in by_ad}
        # Tracker clicks never exceed TikTok's (92–99 % arrive) on any mapped campaign-day.
        async with db.uow() as u:
            tiktok = {(m.object_id, m.day): m.clicks for m in await u.session.scalars(
                select(MetricDaily).where(MetricDaily.ad_account_id == account.id,
                                          MetricDaily.level == "campaign"))}
        for (cid, day), r in by_level["campaign"].items():
            assert r.clicks <= tiktok.get((cid, day), 0)
        if kind == "binom1":  # Berlin left DST on 25 October: that day is refused, not shifted
            dst = date(2026, 10, 25)
            if dst in days and account.time_zone == "Europe/Berlin":
                log = await push_log(db.uow, USER, tid, dst)
                assert log and all(not e.ok and "Binom 1" in e.answer for e in log)
    finally:
        await tracker.stop()


@pytest.mark.parametrize("kind", ["keitaro", "binom1", "binom2"])
async def test_any_sequence_of_pushed_days_leaves_exactly_tiktoks_spend(
        emu: Emu, synced: Db, kind: str) -> None:
    """A seeded random walk over days, order and repeats, with TikTok revising spend between
    pushes (a late sync): after every step the tracker holds TikTok's current spend for every
    day pushed since its last change, and nothing for days never pushed."""
    db = synced
    tracker = await _start(kind, emu)
    try:
        account = await _account(db, kind)
        tid = await _connect(db, tracker, account)
        await jobs.pull_now(db.uow, db.clock, USER, tid, factory, "w1")  # maps and pulls
        async with db.uow() as u:  # forget the connect-time schedule: pushes are ours here
            t = await u.trackers.by_id(tid)
            assert t is not None
            t.due_at = NOW + timedelta(days=365)
            await u.commit()
        clicked = await _clicked(db, tid)
        today = local_today(NOW, account.time_zone)
        pool = [today - timedelta(days=n) for n in range(1, 15)]
        rng = random.Random(20261203)
        pushed: set[date] = set()
        current: set[date] = set()  # pushed since TikTok last revised that day
        for step in range(14):
            if step and rng.random() < 0.3:  # TikTok revises a day (late attribution)
                day = rng.choice(pool)
                async with db.uow() as u:
                    for m in await u.session.scalars(select(MetricDaily).where(
                            MetricDaily.ad_account_id == account.id,
                            MetricDaily.level == "campaign", MetricDaily.day == day)):
                        m.spend = (m.spend * Decimal("1.07")).quantize(Decimal("0.01"))
                    await u.commit()
                current.discard(day)
            days = rng.sample(pool, rng.randint(1, 5))
            rng.shuffle(days)
            for group in ([d] for d in days) if rng.random() < 0.5 else [days]:
                report = await push_costs(db.uow, db.clock, tid, group, factory)
                assert report.ok and report.rejected == 0
            pushed |= set(days)
            current |= set(days)
            expected = _landable(await _expected(db, tid, tracker, account, current), clicked)
            held = _held(tracker, list(expected))
            for tc, segs in held.items():  # a revised, not yet re-pushed day: the old amount
                held[tc] = {k: v for k, v in segs.items() if k[0] in current}
                assert {k[0] for k in segs} <= pushed
            assert held == expected, f"step {step}"
        assert current, "the walk pushed something"
    finally:
        await tracker.stop()


async def test_dropped_clicks_alert_once_and_an_outage_loses_nothing(
        emu: Emu, synced: Db) -> None:
    db = synced
    tracker = await _start("binom2", emu)
    try:
        account = await _account(db, "binom2")
        tid = await _connect(db, tracker, account)
        tracker.knobs["down"] = True
        runs = await jobs.run_due(db.uow, db.clock, factory, "w1")
        assert [r.ok for r in runs] == [False]
        shown = await connect.get_tracker(db.uow, USER, tid)
        assert shown.status == "failing" and shown.failing_since == NOW
        assert "unavailable" in (shown.last_error or "")
        tracker.knobs["down"] = False
        tracker.knobs["drop_clicks_pct"] = 60  # a broken redirect loses most clicks
        db.clock.set(NOW + timedelta(minutes=2))
        runs = await jobs.run_due(db.uow, db.clock, factory, "w1")
        assert [r.ok for r in runs] == [True] and runs[0].alerts >= 1
        shown = await connect.get_tracker(db.uow, USER, tid)
        assert (shown.status, shown.last_error) == ("active", None)
        today = local_today(db.clock.now(), account.time_zone)
        expected = await _expected(db, tid, tracker, account,
                                   {today - timedelta(days=n) for n in range(30)})
        assert _held(tracker, list(expected)) == _landable(expected, await _clicked(db, tid))
        async with db.uow() as u:
            alerts = list(await u.session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "tracker_discrepancy")))
        first = len(alerts)
        assert alerts[0].params["tracker_clicks"] < alerts[0].params["tiktok_clicks"]
        db.clock.set(NOW + timedelta(hours=2))
        await jobs.run_due(db.uow, db.clock, factory, "w1")
        async with db.uow() as u:
            again = list(await u.session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "tracker_discrepancy")))
        assert len(again) == first  # once per campaign per day
        pulled = await pull_revenue(db.uow, db.clock, tid, factory)
        assert pulled.ok
    finally:
        await tracker.stop()

