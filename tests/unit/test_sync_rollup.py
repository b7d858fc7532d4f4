"""Ad rows summed up to ad groups, campaigns and the account (core.sync_rollup)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from core import sync_rollup
from core.sync import REPORT_METRICS, _metric_columns
from core.tiktok import ReportLevel, ReportTable
from core.tiktok.reports import ReportTableParser


def _item(
    ad: str, group: str, campaign: str, hour: int, spend: str, clicks: str, adv: str = "A1"
) -> dict[str, object]:
    return {
        "dimensions": {"ad_id": ad, "stat_time_hour": f"2026-11-20 {hour:02d}:00:00"},
        "metrics": {
            "spend": spend,
            "impressions": "100",
            "clicks": clicks,
            "conversion": "1",
            "total_complete_payment_rate": "2.500",
            "campaign_id": campaign,
            "adgroup_id": group,
            "advertiser_id": adv,
        },
    }


def _table(items: list[dict[str, object]]) -> ReportTable:
    parser = ReportTableParser(ReportLevel.AD, "A1", (*REPORT_METRICS, "advertiser_id"))
    return parser.page(items)


def test_ads_add_up_per_parent_and_hour_exactly() -> None:
    table = _table(
        [
            _item("ad1", "g1", "c1", 9, "0.001", "1"),
            _item("ad2", "g1", "c1", 9, "1.234", "2"),
            _item("ad3", "g2", "c1", 9, "10.000", "0"),
            _item("ad1", "g1", "c1", 10, "0.500", "5"),
            _item("ad4", "g3", "c2", 10, "3.000", "7"),
        ]
    )
    ads = _metric_columns(table, hourly=True)
    levels = sync_rollup.roll_up(ads, sync_rollup.parents(table), "A1", hourly=True)

    def rows(level: str) -> dict[tuple[str, int], tuple[Decimal, int, int, Decimal]]:
        c = levels[level]
        assert set(c["day"]) == {date(2026, 11, 20)}
        names = ("object_id", "hour", "spend", "clicks", "conversions", "purchase_value")
        columns = [c[x] for x in names]
        return {(o, h): (s, k, n, v) for o, h, s, k, n, v in zip(*columns, strict=True)}

    assert rows("adgroup") == {
        ("g1", 9): (Decimal("1.235"), 3, 2, Decimal("5")),
        ("g2", 9): (Decimal("10"), 0, 1, Decimal("2.5")),
        ("g1", 10): (Decimal("0.5"), 5, 1, Decimal("2.5")),
        ("g3", 10): (Decimal("3"), 7, 1, Decimal("2.5")),
    }
    assert rows("campaign") == {
        ("c1", 9): (Decimal("11.235"), 3, 3, Decimal("7.5")),
        ("c1", 10): (Decimal("0.5"), 5, 1, Decimal("2.5")),
        ("c2", 10): (Decimal("3"), 7, 1, Decimal("2.5")),
    }
    assert rows("advertiser") == {
        ("A1", 9): (Decimal("11.235"), 3, 3, Decimal("7.5")),
        ("A1", 10): (Decimal("3.5"), 12, 2, Decimal("5")),
    }
    assert levels["campaign"]["impressions"] == [300, 100, 100]
    # Money keeps the stored scale (micros), as TikTok's own level rows are stored.
    assert str(levels["campaign"]["spend"][0]) == "11.235000"
    assert levels["ad"] is ads


def test_ids_are_text_and_rows_split_by_account() -> None:
    table = _table(
        [
            _item("ad1", "g1", "c1", 9, "1.000", "1", adv="7310000000000000001"),
            _item("ad9", "g9", "c9", 9, "2.000", "1", adv="7310000000000000002"),
            _item("ad2", "g1", "c1", 10, "3.000", "1", adv="7310000000000000001"),
        ]
    )
    assert table.metrics["campaign_id"] == ["c1", "c9", "c1"]
    split = sync_rollup.split_by_advertiser(table)
    assert list(split) == ["7310000000000000001", "7310000000000000002"]
    first = split["7310000000000000001"]
    assert first.object_ids == ["ad1", "ad2"]
    assert first.stat_times == [datetime(2026, 11, 20, 9), datetime(2026, 11, 20, 10)]
    assert first.metrics["spend"] == [Decimal("1.000"), Decimal("3.000")]
    assert len(sync_rollup.empty_like(table)) == 0


def test_an_ad_row_without_its_parents_is_refused() -> None:
    table = _table([_item("ad1", "-", "c1", 9, "1.000", "1")])
    with pytest.raises(sync_rollup.RollUpError):
        sync_rollup.parents(table)
