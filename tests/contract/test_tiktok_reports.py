"""Contract: report/integrated/get at every level, by day and by hour, across pages."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from core.tiktok import Advertiser, ReportLevel, ReportRow, TikTokClient, TimeGrain
from tests.contract.conftest import Emu


def local_today(emu: Emu, adv: Advertiser) -> date:
    """The ad account's today by the emulator's clock (spec §7.2)."""
    return emu.clock.now().astimezone(ZoneInfo(adv.display_timezone or "UTC")).date()


async def biggest_advertiser(emu: Emu, client: TikTokClient) -> Advertiser:
    """The demo account with the most ads."""
    token = emu.access_token
    ids = [a.advertiser_id for a in await client.get_authorized_advertisers(token)]
    counts = {i: len(await client.get_ads(token, i)) for i in ids}
    best = max(counts, key=lambda i: counts[i])
    return (await client.get_advertisers(token, [best]))[0]


def by_day(rows: list[ReportRow]) -> dict[date, Decimal]:
    """Spend per day."""
    out: dict[date, Decimal] = defaultdict(Decimal)
    for row in rows:
        assert row.stat_time is not None and row.spend is not None
        out[row.stat_time.date()] += row.spend
    return out


async def test_levels_by_day_split_by_span(emu: Emu, client: TikTokClient) -> None:
    token = emu.access_token
    adv = await biggest_advertiser(emu, client)
    end = local_today(emu, adv) - timedelta(days=1)
    start = end - timedelta(days=44)  # 45 days -> two windows of <= 30 days (spec §7.1)
    await emu.ctl("POST", "reset_stats")
    totals = await client.get_report(token, adv.advertiser_id, ReportLevel.ADVERTISER, start, end)
    assert (await emu.requests())["report/integrated/get/"] == 2
    assert totals and all(r.object_id == adv.advertiser_id for r in totals)
    campaigns = await client.get_report(token, adv.advertiser_id, ReportLevel.CAMPAIGN, start, end)
    adgroups = await client.get_report(token, adv.advertiser_id, ReportLevel.ADGROUP, start, end)
    for row in campaigns + adgroups + totals:
        assert isinstance(row.spend, Decimal) and isinstance(row.impressions, int)
        assert row.ctr is None or isinstance(row.ctr, Decimal)
        assert row.stat_time is not None and start <= row.stat_time.date() <= end
    day_totals = by_day(totals)
    for level_rows in (campaigns, adgroups):
        per_day = by_day(level_rows)
        for day, spend in day_totals.items():
            assert abs(per_day[day] - spend) <= Decimal("0.001") * (1 + len(level_rows) // 10)
    known = {
        c.campaign_id
        for c in await client.get_campaigns(token, adv.advertiser_id, include_deleted=True)
    }
    assert {r.object_id for r in campaigns} <= known
    first = campaigns[0]
    assert set(first.metrics) >= {
        "spend",
        "impressions",
        "clicks",
        "ctr",
        "cpc",
        "cpm",
        "conversion",
        "cost_per_conversion",
        "conversion_rate",
    }


async def test_ad_level_over_1000_rows_across_pages(emu: Emu, client: TikTokClient) -> None:
    token = emu.access_token
    adv = await biggest_advertiser(emu, client)
    end = local_today(emu, adv) - timedelta(days=1)
    start = end - timedelta(days=29)
    await emu.ctl("POST", "reset_stats")
    rows = await client.get_report(token, adv.advertiser_id, ReportLevel.AD, start, end)
    calls = (await emu.requests())["report/integrated/get/"]
    assert len(rows) > 1000
    assert calls == -(-len(rows) // 1000)  # exactly the pages needed
    keys = {(r.object_id, r.stat_time) for r in rows}
    assert len(keys) == len(rows)  # no page fetched twice
    ads = {a.ad_id for a in await client.get_ads(token, adv.advertiser_id, include_deleted=True)}
    assert {r.object_id for r in rows} <= ads
    narrowed = await client.get_report(
        token,
        adv.advertiser_id,
        ReportLevel.AD,
        start,
        end,
        ids_field="ad_ids",
        ids=sorted(ads)[:3],
    )
    assert {r.object_id for r in narrowed} <= set(sorted(ads)[:3])


async def test_hourly_report_one_day_per_call(emu: Emu, client: TikTokClient) -> None:
    token = emu.access_token
    adv = await biggest_advertiser(emu, client)
    end = local_today(emu, adv) - timedelta(days=1)
    start = end - timedelta(days=1)
    await emu.ctl("POST", "reset_stats")
    hours = await client.get_report(
        token, adv.advertiser_id, ReportLevel.CAMPAIGN, start, end, grain=TimeGrain.HOUR
    )
    assert (await emu.requests())["report/integrated/get/"] == 2
    days = await client.get_report(token, adv.advertiser_id, ReportLevel.CAMPAIGN, start, end)
    assert hours and {r.stat_time.hour for r in hours if r.stat_time} - {0}
    hourly, daily = by_day(hours), by_day(days)
    for day, spend in daily.items():
        assert abs(hourly[day] - spend) <= Decimal("0.001") * 24 * len(days)
    for level in (ReportLevel.ADVERTISER, ReportLevel.ADGROUP, ReportLevel.AD):
        rows = await client.get_report(
            token, adv.advertiser_id, level, end, end, grain=TimeGrain.HOUR
        )
        assert rows and all(r.level is level for r in rows)
