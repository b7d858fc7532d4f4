"""Sync against the emulator: every level's stored rows are TikTok's own rows for that level.

The sync asks for the ad level only (several ad accounts per intraday request where it can) and
sums the ads up to ad groups, campaigns and the account (core.sync_rollup). Before that it
asked TikTok for each level and stored its rows as they came; so what a user sees is unchanged
exactly when every level's stored rows equal TikTok's report for that level, row for row and
metric for metric — which is what these tests hold it to, by day and by hour.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from core.periods import local_today
from core.sync import LEVELS, SYNC_METRICS
from core.tiktok import ReportLevel, TikTokClient, TimeGrain
from storage.models import MetricDaily, MetricHourly
from tests.contract.test_sync import NOW, Db, connected_db, engines, sync_all

__all__ = ["engines"]  # the fixture, shared with test_sync

Key = tuple[Any, ...]
Values = tuple[Decimal, int, int, int, Decimal]


@pytest.fixture(
    params=[
        {"fixture": "demo", "now": NOW},
        # 12 accounts in 10 time zones: some zones hold two accounts of one login, so
        # intraday syncs share reports (advertiser_ids, spec §7.1).
        {"fixture": "scale", "now": NOW, "scale_accounts": 12, "scale_shape": "2x2x3"},
    ],
    ids=["demo", "scale"],
)
def emulator_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    return dict(request.param)


async def tiktok_rows(
    client: TikTokClient,
    token: str,
    advertiser_id: str,
    level: ReportLevel,
    start: date,
    end: date,
    grain: TimeGrain,
) -> dict[Key, Values]:
    """TikTok's own report for one level, keyed like the stored rows."""
    table = await client.get_report_table(
        token, advertiser_id, level, start, end, grain=grain, metrics=SYNC_METRICS
    )
    out: dict[Key, Values] = {}
    m = table.metrics
    for i, (oid, at) in enumerate(zip(table.object_ids, table.stat_times, strict=True)):
        assert at is not None
        key: Key = (oid, at.date(), at.hour) if grain is TimeGrain.HOUR else (oid, at.date())
        out[key] = (
            Decimal(m["spend"][i] or 0),
            int(m["impressions"][i] or 0),
            int(m["clicks"][i] or 0),
            int(m["conversion"][i] or 0),
            Decimal(m["total_complete_payment_rate"][i] or 0),
        )
    return out


async def stored_rows(
    db: Db, account_id: int, level: str, start: date, end: date, hourly: bool
) -> dict[Key, Values]:
    """The stored rows of one level in [start, end]."""
    model: Any = MetricHourly if hourly else MetricDaily
    cols = [model.object_id, model.day] + ([model.hour] if hourly else [])
    metrics = [
        model.spend,
        model.impressions,
        model.clicks,
        model.conversions,
        model.purchase_value,
    ]
    async with db.uow() as u:
        rows = await u.session.execute(
            select(*cols, *metrics).where(
                model.ad_account_id == account_id,
                model.level == level,
                model.day >= start,
                model.day <= end,
            )
        )
        n = len(cols)
        return {
            tuple(r[:n]): (Decimal(r[n]), r[n + 1], r[n + 2], r[n + 3], Decimal(r[n + 4]))
            for r in rows
        }


async def test_every_level_holds_tiktoks_own_rows(
    db_url: str, client: TikTokClient, emu: Any, engines: list[Any], monkeypatch: Any
) -> None:
    shared: list[int] = []
    get_report = client.get_report_table

    async def recording(*args: Any, **kwargs: Any) -> Any:
        shared.append(len(kwargs.get("advertiser_ids") or ()))
        return await get_report(*args, **kwargs)

    monkeypatch.setattr(client, "get_report_table", recording)
    db = await connected_db(db_url, client, engines)
    await sync_all(db, client)
    monkeypatch.setattr(client, "get_report_table", get_report)
    accounts = await db.accounts()
    zones = [a.time_zone for a in accounts]
    if len(set(zones)) < len(zones):  # accounts sharing a zone shared intraday reports
        assert max(shared) > 1
    token = emu.access_token
    checked = 0
    for acc in accounts:
        assert acc.fresh_as_of == NOW
        today = local_today(NOW, acc.time_zone)
        yesterday = today - timedelta(days=1)
        for level, name in LEVELS.items():
            # The whole back window and today by day; yesterday and today by hour.
            start = today - timedelta(days=62)
            want = await tiktok_rows(client, token, acc.advertiser_id, level, start, today, DAY)
            got = await stored_rows(db, acc.id, name, start, today, hourly=False)
            assert want and got == want, (acc.advertiser_id, name)
            for day in (yesterday, today):
                want = await tiktok_rows(client, token, acc.advertiser_id, level, day, day, HOUR)
                got = await stored_rows(db, acc.id, name, day, day, hourly=True)
                assert want and got == want, (acc.advertiser_id, name, day)
            checked += 1
    assert checked == 4 * len(accounts)


DAY, HOUR = TimeGrain.DAY, TimeGrain.HOUR
