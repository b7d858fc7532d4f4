"""Backtests over real storage (SQLite and PostgreSQL): hand-computed firings and savings.

The ad account lives in Asia/Tokyo (UTC+9), the user in Europe/Moscow (UTC+3): hourly runs on
the user's clock fall on the top of Tokyo's hours. "Now" is 2026-11-29 21:00 in Tokyo, so a
7-day backtest replays Tokyo's 22–28 November. Every ad spends 3.00 an hour from 08:00 to
19:59 local (36.00 a day); A1 never converts, A2 converts once an hour (10.00 of value), A3
spends 0.50 every hour of the day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.rules.backtest import Backtest, backtest
from core.rules.settings import Frequency, RuleSettings, Schedule, Scope
from core.users import SignUp, register_user
from storage.db import session_factory
from storage.models import (
    AdAccount,
    AdObject,
    MetricDaily,
    MetricHourly,
    ObjectValue,
    TikTokConnection,
)
from storage.uow import UnitOfWorkFactory

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")
USER = 42
FIRST_DATA_DAY = date(2026, 11, 19)  # 10 days of data: 19..28, plus today's hours so far
PERIOD = [date(2026, 11, 22) + timedelta(days=i) for i in range(7)]
# Per hour: (spend, impressions, clicks, conversions, purchase_value)
Hourly = Callable[[int], tuple[str, int, int, int, str]]


def _a1(h: int) -> tuple[str, int, int, int, str]:
    return ("3.00", 1000, 10, 0, "0") if 8 <= h < 20 else ("0", 0, 0, 0, "0")


def _a2(h: int) -> tuple[str, int, int, int, str]:
    return ("3.00", 1000, 20, 1, "10.00") if 8 <= h < 20 else ("0", 0, 0, 0, "0")


def _a3(h: int) -> tuple[str, int, int, int, str]:
    return ("0.50", 100, 1, 1 if h == 12 else 0, "0")


def _sum(f: Hourly, hours: range) -> tuple[Decimal, int, int, int, Decimal]:
    rows = [f(h) for h in hours]
    return (
        sum((Decimal(r[0]) for r in rows), Decimal(0)),
        sum(r[1] for r in rows),
        sum(r[2] for r in rows),
        sum(r[3] for r in rows),
        sum((Decimal(r[4]) for r in rows), Decimal(0)),
    )


def _tokyo(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=TOKYO).astimezone(UTC)


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), None)


class World:
    """Builds users, accounts, objects and metrics in storage."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow = uow
        self.conn_id = 0

    async def user(self) -> None:
        await register_user(
            self.uow,
            FixedClock(NOW),
            SignUp(
                user_id=USER,
                first_name="Ann",
                last_name=None,
                username="ann",
                language="en",
                time_zone="Europe/Moscow",
                email=None,
                marketing_opt_in=False,
                start_payload=None,
            ),
        )
        async with self.uow() as u:
            conn = TikTokConnection(user_id=USER, display_name="x")
            u.session.add(conn)
            await u.commit()
            self.conn_id = conn.id

    async def account(self, adv: str, currency: str = "USD", tz: str = "Asia/Tokyo") -> int:
        async with self.uow() as u:
            acc = AdAccount(
                connection_id=self.conn_id,
                advertiser_id=adv,
                name=f"Acc {adv}",
                currency=currency,
                time_zone=tz,
                fresh_as_of=NOW,
            )
            u.session.add(acc)
            await u.commit()
            return acc.id

    async def obj(
        self,
        account_id: int,
        level: str,
        oid: str,
        name: str,
        budget: str | None = None,
        status: str = "ENABLE",
    ) -> None:
        async with self.uow() as u:
            u.session.add(
                AdObject(
                    ad_account_id=account_id,
                    level=level,
                    object_id=oid,
                    name=name,
                    operation_status=status,
                    campaign_id="c1",
                    adgroup_id="g1" if level == "ad" else None,
                    budget_mode="BUDGET_MODE_DAY" if budget else "BUDGET_MODE_INFINITE",
                    budget=Decimal(budget) if budget else None,
                    created_time=datetime(2026, 1, 1, tzinfo=UTC),
                )
            )
            await u.commit()

    async def metrics(
        self,
        account_id: int,
        level: str,
        oid: str,
        f: Hourly,
        days: list[date],
        hourly: bool = True,
        daily: bool = True,
        today_hours: int = 0,
    ) -> None:
        """Hourly and/or daily rows for whole days, and `today_hours` hours of 29 November."""
        async with self.uow() as u:
            for day in days:
                if daily:
                    s, i, c, v, p = _sum(f, range(24))
                    u.session.add(
                        MetricDaily(
                            ad_account_id=account_id,
                            level=level,
                            object_id=oid,
                            day=day,
                            spend=s,
                            impressions=i,
                            clicks=c,
                            conversions=v,
                            purchase_value=p,
                        )
                    )
                if hourly:
                    for h in range(24):
                        self._hour(u, account_id, level, oid, day, h, f)
            for h in range(today_hours):
                self._hour(u, account_id, level, oid, date(2026, 11, 29), h, f)
            await u.commit()

    @staticmethod
    def _hour(
        u,
        account_id: int,
        level: str,
        oid: str,
        day: date,
        h: int,  # type: ignore[no-untyped-def]
        f: Hourly,
    ) -> None:
        s, i, c, v, p = f(h)
        u.session.add(
            MetricHourly(
                ad_account_id=account_id,
                level=level,
                object_id=oid,
                day=day,
                hour=h,
                spend=Decimal(s),
                impressions=i,
                clicks=c,
                conversions=v,
                purchase_value=Decimal(p),
            )
        )


DAYS = [FIRST_DATA_DAY + timedelta(days=i) for i in range(10)]


@pytest.fixture
async def ads(uow: UnitOfWorkFactory) -> int:
    """One Tokyo account with ads A1 (never converts), A2 (converts), A3 (small, all day)."""
    w = World(uow)
    await w.user()
    acc = await w.account("700")
    for oid, name, f in (("1", "A1 lose", _a1), ("2", "A2 win", _a2), ("3", "A3 slow", _a3)):
        await w.obj(acc, "ad", oid, name)
        await w.metrics(acc, "ad", oid, f, DAYS, today_hours=21)
    return acc


async def _run(uow: UnitOfWorkFactory, text: str, days: int = 7, **kw: object) -> Backtest:
    settings = RuleSettings(**{"frequency": Frequency(1, 12), **kw})  # type: ignore[arg-type]
    async with uow() as u:
        return await backtest(u, USER, text, settings, NOW, days)


STOP_LOSS = "ad: spend >= 20 and conversions = 0 in today -> pause today"


async def test_stop_loss_fires_daily_at_the_local_hour_and_saves_the_rest_of_the_day(
    uow: UnitOfWorkFactory, ads: int
) -> None:
    result = await _run(uow, STOP_LOSS)
    # 08:00..14:59 is 7 hours × 3.00 = 21.00 ≥ 20: the 15:00 Tokyo run sees it and pauses.
    assert [f.at for f in result.firings] == [_tokyo(d.day, 15) for d in reversed(PERIOD)]
    assert {f.object_id for f in result.firings} == {"1"}
    first = result.firings[-1]
    assert [(r.metric, r.value) for r in first.readings] == [
        ("spend", Decimal("21.00")),
        ("conversions", Decimal(0)),
    ]
    # Paused 15:00..19:59 every day: 5 hours × 3.00, and nothing else lost.
    assert all(f.saved_spend == Decimal("15.00") for f in result.firings)
    assert result.saved_spend == {"USD": Decimal("105.00")}
    assert result.lost_conversions == {"USD": 0}
    assert result.lost_value == {"USD": Decimal("0.00")}
    assert (result.days, result.hourly_days, result.coarse_days) == (7, 7, ())
    assert result.runs == 7 * 24 and result.objects == 3
    assert result.firing_count == 7
    assert [(p.name, p.count) for p in result.per_object] == [("A1 lose", 7)]
    assert result.budget_change == {}


async def test_a_pause_saves_everything_after_it(uow: UnitOfWorkFactory, ads: int) -> None:
    result = await _run(uow, "ad: spend >= 20 and conversions = 0 in today -> pause")
    [firing] = result.firings
    assert firing.at == _tokyo(22, 15)
    # The rest of the 22nd (15.00) and six whole days (36.00 each).
    assert result.saved_spend == {"USD": Decimal("231.00")}


async def test_saved_spend_carries_its_conversions_and_value(
    uow: UnitOfWorkFactory, ads: int
) -> None:
    result = await _run(uow, "ad: spend >= 30 in today -> pause today")
    # 10 hours (08..17) reach 30 at the 18:00 run: A1 and A2 are off for 18:00 and 19:00.
    assert {(f.object_id, f.at) for f in result.firings} == {
        (oid, _tokyo(d.day, 18)) for oid in ("1", "2") for d in PERIOD
    }
    assert result.saved_spend == {"USD": Decimal("84.00")}  # 7 days × 2 ads × 2 h × 3.00
    assert result.lost_conversions == {"USD": 14}  # A2's two hours a day
    assert result.lost_value == {"USD": Decimal("140.00")}


async def test_frequency_limit_is_respected(uow: UnitOfWorkFactory, ads: int) -> None:
    result = await _run(uow, STOP_LOSS, frequency=Frequency(1, 48))
    # An action exactly 48 hours ago has served its time (as in the engine): every other day,
    # at the same hour.
    assert [f.at for f in reversed(result.firings)] == [
        _tokyo(22, 15),
        _tokyo(24, 15),
        _tokyo(26, 15),
        _tokyo(28, 15),
    ]
    assert [f.saved_spend for f in reversed(result.firings)] == [Decimal("15.00")] * 4
    assert result.saved_spend == {"USD": Decimal("60.00")}
    once = await _run(uow, STOP_LOSS, frequency=Frequency(1, None))
    assert once.firing_count == 1


async def test_a_rule_that_never_matches_fires_zero_times(uow: UnitOfWorkFactory, ads: int) -> None:
    result = await _run(uow, "ad: spend > 100000 in 7d incl today -> notify", days=30)
    assert result.firing_count == 0 and result.firings == [] and result.per_object == []
    assert result.saved == {} and result.budget_change == {}
    # 30 days were asked, 10 had hourly data; the 20 before the sync started had no rows.
    assert result.days == 30 and result.hourly_days == 10
    assert len(result.empty_days) == 20 and result.coarse_days == ()
    assert result.runs == 10 * 24


async def test_sum_aggregate_adds_the_ads_of_one_account(uow: UnitOfWorkFactory, ads: int) -> None:
    text = "ad: spend >= 60 in today -> notify"
    assert (await _run(uow, text)).firing_count == 0  # no single ad gets there
    result = await _run(uow, text, aggregate="sum")
    # At 17:00: 9 hours × 3.00 × 2 + 17 × 0.50 = 62.50 (at 16:00 only 56.00).
    assert result.firing_count == 21
    assert {f.at for f in result.firings} == {_tokyo(d.day, 17) for d in PERIOD}
    assert result.firings[0].readings[0].value == Decimal("62.50")
    assert sorted((p.object_id, p.count) for p in result.per_object) == [
        ("1", 7),
        ("2", 7),
        ("3", 7),
    ]
    assert result.saved == {}


async def test_last_hour_and_multi_day_windows(uow: UnitOfWorkFactory, ads: int) -> None:
    # A3 converts only in the 12:00 hour: seen by the 13:00 run through "last hour".
    result = await _run(uow, "ad: conversions >= 1 and spend < 1 in last hour -> notify")
    assert {(f.object_id, f.at) for f in result.firings} == {
        ("3", _tokyo(d.day, 13)) for d in PERIOD
    }
    # "3d incl today" is the two days before and today: 72.00 for A1, more from 08:00 on.
    three = await _run(
        uow,
        "ad: spend > 72 and conversions = 0 in 3d incl today -> notify",
        frequency=Frequency(1, 20),
    )
    assert {f.at for f in three.firings} == {_tokyo(d.day, 9) for d in PERIOD}
    assert three.firings[-1].readings[0].value == Decimal("75.00")


async def test_budget_rule_reports_budget_added_per_currency(uow: UnitOfWorkFactory) -> None:
    w = World(uow)
    await w.user()
    usd = await w.account("700")
    eur = await w.account("701", currency="EUR", tz="Europe/Berlin")
    await w.obj(usd, "adgroup", "g1", "US group", budget="50.00")
    await w.obj(usd, "adgroup", "g2", "US group on campaign budget")
    await w.obj(eur, "adgroup", "g3", "EU group", budget="40.00")
    for acc, oid in ((usd, "g1"), (usd, "g2"), (eur, "g3")):
        await w.metrics(acc, "adgroup", oid, _a1, DAYS)
    result = await _run(
        uow,
        "adgroup: spend >= 10 in yesterday -> budget +20% max 100",
        frequency=Frequency(1, 20),
        schedule=Schedule(None, ("06:00",)),
    )
    # Once a day (12:00 in Tokyo, 04:00 in Berlin): 50 → 60 → 72 → 86.40 → 100 (max), then
    # no more change; 40 → 48 → 57.60 → 69.12 → 82.94 → 99.53 → 100 → 100.
    assert result.budget_change == {"USD": Decimal("50.00"), "EUR": Decimal("60.00")}
    g1 = sorted((f for f in result.firings if f.object_id == "g1"), key=lambda f: f.at)
    assert [f.budget_after for f in g1] == [
        Decimal(v) for v in ("60.00", "72.00", "86.40", "100.00", "100.00", "100.00", "100.00")
    ]
    assert g1[0].at == _tokyo(22, 12) and g1[0].currency == "USD"
    # The group without a budget of its own is never acted on: skipped, with the reason.
    assert not [f for f in result.firings if f.object_id == "g2"]
    assert result.skipped == {"unlimited": 1}
    g3 = sorted((f for f in result.firings if f.object_id == "g3"), key=lambda f: f.at)
    assert g3[0].at == datetime(2026, 11, 22, 4, tzinfo=ZoneInfo("Europe/Berlin"))
    assert g3[-1].budget_before == Decimal("100.00")


async def test_days_without_hourly_rows_fall_back_to_daily_rows(uow: UnitOfWorkFactory) -> None:
    w = World(uow)
    await w.user()
    acc = await w.account("700")
    await w.obj(acc, "ad", "1", "A1 lose")
    await w.metrics(acc, "ad", "1", _a1, DAYS[:6], hourly=False)  # 19..24: daily rows only
    await w.metrics(acc, "ad", "1", _a1, DAYS[6:])  # 25..28: hourly too
    result = await _run(uow, STOP_LOSS)
    assert result.coarse_days == (date(2026, 11, 22), date(2026, 11, 23), date(2026, 11, 24))
    assert result.hourly_days == 4
    # A coarse day is looked at once, at its end (nothing of it can be saved any more).
    assert sorted(f.at for f in result.firings) == [
        _tokyo(23, 0),
        _tokyo(24, 0),
        _tokyo(25, 0),
        _tokyo(25, 15),
        _tokyo(26, 15),
        _tokyo(27, 15),
        _tokyo(28, 15),
    ]
    assert result.firings[-1].readings[0].value == Decimal("36.00")
    assert result.saved_spend == {"USD": Decimal("60.00")}
    assert result.runs == 3 + 4 * 24  # the end of the 24th is a run of its own


async def test_scope_and_days_are_checked(uow: UnitOfWorkFactory, ads: int) -> None:
    only_a2 = await _run(
        uow,
        "ad: spend >= 30 in today -> pause today",
        scope=Scope(match="contains", values=("win",)),
    )
    assert {f.object_id for f in only_a2.firings} == {"2"} and only_a2.objects == 1
    daily_at_ten = await _run(uow, STOP_LOSS, schedule=Schedule(None, ("10:00",)))
    # 10:00 in Moscow is 16:00 in Tokyo: one run a day, 8 hours seen, 4 hours saved.
    assert daily_at_ten.runs == 7 and daily_at_ten.saved_spend == {"USD": Decimal("84.00")}
    for bad in (6, 31):
        with pytest.raises(ValueError, match="days"):
            await _run(uow, STOP_LOSS, days=bad)


async def test_thirty_days_of_three_hundred_ads_replay_every_hour(
    uow: UnitOfWorkFactory, db_url: str
) -> None:
    """A month of hours of 300 ads replays every hourly run over every ad (how fast is the
    benchmarks' business, not a test's)."""
    if not db_url.startswith("sqlite"):
        pytest.skip("one backend is enough at this size")
    w = World(uow)
    await w.user()
    acc = await w.account("700")
    days = [date(2026, 10, 29) + timedelta(days=i) for i in range(31)]
    async with uow() as u:
        for n in range(300):
            u.session.add(
                AdObject(
                    ad_account_id=acc,
                    level="ad",
                    object_id=str(n),
                    name=f"Ad {n}",
                    operation_status="ENABLE",
                )
            )
        await u.commit()
        conn = await u.session.connection()
        hourly = [
            dict(
                ad_account_id=acc,
                level="ad",
                object_id=str(n),
                day=d,
                hour=h,
                spend=Decimal(n % 7 + h) / 100,
                impressions=100,
                clicks=n % 3,
                conversions=(n + h) % 5 == 0,
                purchase_value=0,
                synced_at=NOW,
            )
            for n in range(300)
            for d in days
            for h in range(24)
        ]
        await conn.execute(
            MetricHourly.__table__.insert(),
            [{**r, "conversions": int(r["conversions"])} for r in hourly],
        )
        await u.commit()
    result = await _run(uow, "ad: spend >= 1 and cpa > 0.3 in today -> pause today", days=30)
    assert result.runs == 30 * 24 and result.objects == 300 and result.firing_count > 0


async def test_a_target_rule_reads_the_bid_each_run_had(uow: UnitOfWorkFactory) -> None:
    w = World(uow)
    await w.user()
    acc = await w.account("700")
    # CPA so far at 12:00 Tokyo is 3.00 every day (4 hours × 3.00, 4 conversions).
    for level, oid in (("adgroup", "g1"), ("adgroup", "g2"), ("ad", "a1")):
        await w.obj(acc, level, oid, f"{level} {oid}")
        await w.metrics(acc, level, oid, _a2, DAYS)
    lowered = _tokyo(25, 0)
    async with uow() as u:
        for obj in await u.session.scalars(select(AdObject).where(AdObject.level == "adgroup")):
            obj.bid_type = "BID_TYPE_CUSTOM"
            obj.bid = Decimal("1.50") if obj.object_id == "g1" else Decimal("1.00")
        # g1 bid 4.00 until the 25th, then 1.50 (as syncs saw it); g2 has no history yet.
        for at, value in ((datetime(2026, 11, 19, tzinfo=UTC), "4.00"), (lowered, "1.50")):
            u.session.add(
                ObjectValue(
                    ad_account_id=acc,
                    level="adgroup",
                    object_id="g1",
                    field="bid",
                    value=Decimal(value),
                    valid_from=at,
                )
            )
        await u.commit()
    daily = {"frequency": Frequency(1, 20), "schedule": Schedule(None, ("06:00",))}
    result = await _run(uow, "adgroup: cpa > 1.5 x target in today -> notify", **daily)
    fired = {(f.object_id, f.at) for f in result.firings}
    # g1: 3.00 > 1.5 × 1.50 from the 25th on (before, 1.5 × 4.00 = 6.00). g2: every day,
    # on its current bid (1.50 < 3.00), which the result says it assumed.
    assert fired == {("g1", _tokyo(d.day, 12)) for d in PERIOD if d.day >= 25} | {
        ("g2", _tokyo(d.day, 12)) for d in PERIOD
    }
    g1 = next(f for f in result.firings if f.object_id == "g1")
    assert [(r.metric, r.value) for r in g1.readings] == [
        ("cpa", Decimal("3")),
        ("target", Decimal("1.50")),
    ]
    assert result.bids_known_from == datetime(2026, 11, 19, tzinfo=UTC)
    assert result.bids_assumed == 7  # g2's seven runs
    # An ad reads its ad group's bid at the time.
    ads = await _run(uow, "ad: cpa > 1.5 x bid in today -> notify", **daily)
    assert {f.at for f in ads.firings} == {_tokyo(d.day, 12) for d in PERIOD if d.day >= 25}
    # A rule that does not read the bid says nothing about bids.
    plain = await _run(uow, "adgroup: cpa > 1 in today -> notify", **daily)
    assert (plain.bids_assumed, plain.bids_known_from) == (0, None)
