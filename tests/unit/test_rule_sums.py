"""Rule sums (storage.rule_sums, issue 11) on SQLite and PostgreSQL: after syncs with
restatements, late rows, new objects and a new local day, every window a rule can name reads
the same from the table as from metrics_daily; the engine's results are the same with the
table, without it, and when its day has passed (the fallback)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.metrics import Totals
from core.rules.engine import evaluate
from core.rules.model import MULTI_DAY, SPANS, Window
from core.rules.settings import RuleSettings, to_json
from core.rules.windows import window_range
from storage.db import session_factory
from storage.models import (
    AdAccount,
    MetricDaily,
    Rule,
    RuleSum,
    TikTokConnection,
    User,
)
from storage.models.ads import RULE_SUM_STARTS
from storage.repos.rule_reads import DayRange
from storage.rule_sums import segment_run
from storage.uow import UnitOfWorkFactory

TZ = "Asia/Kathmandu"  # UTC+05:45: local days do not follow UTC's
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # 17:45 on the 29th in Kathmandu
TODAY = date(2026, 11, 29)
ADS = [f"ad{i}" for i in range(6)]
WINDOWS = [
    Window(span, incl)
    for span in SPANS
    if span != "last_hour"
    for incl in ((False, True) if span in MULTI_DAY else (False,))
]
TEXTS = (
    "ad: spend >= 20 and conversions = 0 in today -> pause",
    "ad: cpa > 1.5 x cpa in 7d and conversions >= 1 in 7d -> notify",
    "ad: ctr < 2 in 3d incl today or spend between 10 and 300 in lifetime -> notify",
    "ad: cpc > 0.1 in 30d and impressions > 100 in 14d incl today -> pause",
    "ad: roas >= 1 in yesterday -> notify",
    "campaign: spend > 1 in 14d -> notify",
)


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), None)


def _row(account_id: int, level: str, oid: str, day: date, rng: random.Random) -> dict[str, Any]:
    impressions = rng.randint(0, 5000)
    clicks = impressions * rng.randint(0, 40) // 1000
    conversions = clicks * rng.randint(0, 20) // 100
    return {
        "ad_account_id": account_id,
        "level": level,
        "object_id": oid,
        "day": day,
        "spend": Decimal(rng.randint(0, 50_000)) / 1000,
        "impressions": impressions,
        "clicks": clicks,
        "conversions": conversions,
        "purchase_value": Decimal(conversions * rng.randint(100, 9000)) / 100,
        "synced_at": NOW,
    }


async def _account(uow: UnitOfWorkFactory) -> int:
    async with uow() as u:
        u.session.add(
            User(
                id=5,
                first_name="R",
                time_zone="UTC",
                adult_confirmed_at=NOW,
                terms_accepted_at=NOW,
                terms_version="1",
                privacy_accepted_at=NOW,
            )
        )
        await u.session.flush()
        conn = TikTokConnection(user_id=5, status="active")
        u.session.add(conn)
        await u.session.flush()
        acc = AdAccount(
            connection_id=conn.id,
            advertiser_id="adv",
            name="Shop",
            currency="USD",
            time_zone=TZ,
            fresh_as_of=NOW - timedelta(minutes=5),
        )
        u.session.add(acc)
        await u.session.flush()
        objects = [
            {
                "ad_account_id": acc.id,
                "level": level,
                "object_id": oid,
                "campaign_id": "c0",
                "adgroup_id": "g0",
                "name": oid,
                "operation_status": "ENABLE",
                "budget_mode": "BUDGET_MODE_DAY",
                "budget": Decimal(100),
                "created_time": NOW - timedelta(days=60),
                "synced_at": NOW,
            }
            for level, oid in [("campaign", "c0"), ("adgroup", "g0"), *(("ad", a) for a in ADS)]
        ]
        await u.sync.upsert_objects(objects)
        for n, text in enumerate(TEXTS):
            u.rules.add(
                Rule(
                    user_id=5,
                    name=f"r{n}",
                    text=text,
                    level=text.split(":")[0],
                    settings=to_json(RuleSettings(aggregate="sum" if n == 2 else "each")),
                    enabled=True,
                    due_at=NOW,
                )
            )
        await u.commit()
        return acc.id


async def _write(uow: UnitOfWorkFactory, rows: list[dict[str, Any]], today: date) -> None:
    """What one daily write of the sync does (core.sync._metrics_write): the rows, then the
    written objects' rule sums, per level, in the same transaction."""
    async with uow() as u:
        await u.sync.upsert_daily(rows)
        by_level: dict[str, list[str]] = {}
        for r in rows:
            by_level.setdefault(r["level"], []).append(r["object_id"])
        for level, ids in by_level.items():
            if level != "advertiser":
                await u.sync.refresh_rule_sums(rows[0]["ad_account_id"], today, level, ids)
        await u.commit()


async def _sums(
    uow: UnitOfWorkFactory, account_id: int, level: str, now: datetime, table: bool
) -> dict[tuple[int, str], dict[str, Totals]]:
    days = {}
    for n, w in enumerate(WINDOWS):
        rng = window_range(w, now, TZ)
        days[str(n)] = DayRange(rng.start, rng.end)
    today = now.astimezone(ZoneInfo(TZ)).date()
    async with uow() as u:
        return await u.rules.window_sums(
            [account_id], level, days, {}, make=Totals, today=today if table else None
        )


async def _expected(
    uow: UnitOfWorkFactory, account_id: int, level: str, now: datetime
) -> dict[str, dict[str, tuple[Any, ...]]]:
    """Each object's window sums added up in Python from its metrics_daily rows."""
    async with uow() as u:
        rows = list(
            await u.session.scalars(
                select(MetricDaily).where(
                    MetricDaily.ad_account_id == account_id, MetricDaily.level == level
                )
            )
        )
    out: dict[str, dict[str, tuple[Any, ...]]] = {}
    for n, w in enumerate(WINDOWS):
        rng = window_range(w, now, TZ)
        for r in rows:
            if r.day > rng.end or (rng.start is not None and r.day < rng.start):
                continue
            per = out.setdefault(r.object_id, {})
            got = per.get(str(n), (Decimal(0), 0, 0, 0, Decimal(0)))
            per[str(n)] = (
                got[0] + r.spend,
                got[1] + r.impressions,
                got[2] + r.clicks,
                got[3] + r.conversions,
                got[4] + r.purchase_value,
            )
    return out


async def _check(uow: UnitOfWorkFactory, account_id: int, now: datetime) -> None:
    """The table and the aggregate query agree (values, Decimal exponents, which objects and
    windows are there), and both equal the rows' sums."""
    for level in ("campaign", "ad"):
        table = await _sums(uow, account_id, level, now, table=True)
        query = await _sums(uow, account_id, level, now, table=False)
        assert {k: {w: repr(t) for w, t in v.items()} for k, v in table.items()} == {
            k: {w: repr(t) for w, t in v.items()} for k, v in query.items()
        }
        expected = await _expected(uow, account_id, level, now)
        for (_, oid), per in table.items():
            for key, totals in per.items():
                want = expected.get(oid, {}).get(key, (0, 0, 0, 0, 0))
                got = (
                    totals.spend,
                    totals.impressions,
                    totals.clicks,
                    totals.conversions,
                    totals.purchase_value,
                )
                assert got == want, (oid, WINDOWS[int(key)])


async def _stored_days(uow: UnitOfWorkFactory, account_id: int) -> set[date]:
    async with uow() as u:
        return set(
            await u.session.scalars(
                select(RuleSum.as_of).where(RuleSum.ad_account_id == account_id).distinct()
            )
        )


def test_every_window_is_a_run_of_segments() -> None:
    """Each window of the rule language, relative to any today, falls on segment edges."""
    for w in WINDOWS:
        rng = window_range(w, NOW, TZ)
        run = segment_run(TODAY, rng.start, rng.end)
        assert run is not None, w
        newest = (TODAY - rng.end).days
        assert RULE_SUM_STARTS[run[0]] == newest
    # And what is not one is refused (the aggregate query answers it).
    assert segment_run(TODAY, TODAY - timedelta(days=4), TODAY) is None
    assert segment_run(TODAY, TODAY + timedelta(days=1), TODAY + timedelta(days=1)) is None


async def test_rule_sums_follow_restatements_and_late_rows(uow: UnitOfWorkFactory) -> None:
    """Windows read from the table equal metrics_daily's sums after every kind of write."""
    rng = random.Random(11)
    acc = await _account(uow)
    # The back window: 45 days (older than 30 days, for lifetime), not every ad every day.
    history = [
        _row(acc, level, oid, TODAY - timedelta(days=d), rng)
        for d in range(1, 46)
        for level, oid in [("campaign", "c0"), *(("ad", a) for a in ADS[:4])]
        if rng.random() < 0.8
    ]
    await _write(uow, history, TODAY)
    await _write(uow, [_row(acc, "ad", a, TODAY, rng) for a in ADS[:3]], TODAY)
    assert await _stored_days(uow, acc) == {TODAY}
    await _check(uow, acc, NOW)
    # A day's numbers revised down and up (late conversions, TikTok's corrections).
    revised = [_row(acc, "ad", a, TODAY - timedelta(days=2), rng) for a in ADS[:2]]
    revised[0].update(spend=Decimal(0), impressions=0, clicks=0, conversions=0)
    await _write(uow, revised, TODAY)
    await _check(uow, acc, NOW)
    # Rows for a past day arriving late, for an ad that had none; a new ad with only old rows.
    await _write(
        uow,
        [
            _row(acc, "ad", ADS[3], TODAY - timedelta(days=14), rng),
            _row(acc, "ad", ADS[4], TODAY - timedelta(days=31), rng),
        ],
        TODAY,
    )
    await _check(uow, acc, NOW)
    # A row dated after the local today (never read by a rule today).
    await _write(uow, [_row(acc, "ad", ADS[5], TODAY + timedelta(days=1), rng)], TODAY)
    await _check(uow, acc, NOW)
    # The next local day: the first write rebuilds the whole account as of it.
    tomorrow = NOW + timedelta(days=1)
    await _write(
        uow, [_row(acc, "ad", ADS[0], TODAY + timedelta(days=1), rng)], TODAY + timedelta(days=1)
    )
    assert await _stored_days(uow, acc) == {TODAY + timedelta(days=1)}
    await _check(uow, acc, tomorrow)
    # Objects whose rows are gone (an erasure of the account's data) leave the table too.
    async with uow() as u:
        await u.session.execute(delete(AdAccount).where(AdAccount.id == acc))
        await u.commit()
    async with uow() as u:
        assert await u.session.scalar(select(func.count()).select_from(RuleSum)) == 0


def _dump(evaluations: dict[int, Any]) -> list[Any]:
    out = []
    for rid, ev in sorted(evaluations.items()):
        out.append(
            (
                rid,
                ev.checked,
                ev.accounts,
                [sa.account.id for sa in ev.stale],
                sorted(ev.matched),
                [
                    (
                        h.target.object_id,
                        repr(h.readings),
                        sorted((repr(w), repr(t)) for w, t in h.facts.windows.items()),
                    )
                    for h in ev.hits
                ],
            )
        )
    return out


async def test_engine_reads_the_same_with_and_without_the_table(uow: UnitOfWorkFactory) -> None:
    """Evaluations are identical from the table, from metrics_daily alone, and when the
    table's day has passed (local midnight, no sync since: the fallback)."""
    rng = random.Random(7)
    acc = await _account(uow)
    rows = [
        _row(acc, level, oid, TODAY - timedelta(days=d), rng)
        for d in range(0, 40)
        for level, oid in [("campaign", "c0"), *(("ad", a) for a in ADS)]
        if rng.random() < 0.85
    ]
    await _write(uow, rows, TODAY)
    async with uow() as u:
        rules = list(await u.session.scalars(select(Rule).order_by(Rule.id)))
    later = NOW + timedelta(hours=8)  # past local midnight: the table is as of yesterday
    async with uow() as u:  # fresh for both instants (the freshness guard is not under test)
        await u.session.execute(update(AdAccount).values(fresh_as_of=later - timedelta(minutes=5)))
        await u.commit()
    results = {}
    for when in (NOW, later):
        async with uow() as u:
            results[(when, "table")] = _dump(await evaluate(u, rules, when))
    async with uow() as u:
        await u.session.execute(delete(RuleSum))
        await u.commit()
    for when in (NOW, later):
        async with uow() as u:
            results[(when, "query")] = _dump(await evaluate(u, rules, when))
    assert results[(NOW, "table")] == results[(NOW, "query")]
    assert results[(later, "table")] == results[(later, "query")]
    assert any(hits for *_, hits in results[(NOW, "table")])  # the rules do match something
