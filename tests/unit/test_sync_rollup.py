"""Ad rows summed up to ad groups, campaigns and the account (core.sync_rollup)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import sync_rollup
from core.sync import REPORT_METRICS
from core.sync_writes import metric_columns
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
    ads = metric_columns(table, hourly=True)
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


def test_a_row_on_two_pages_is_summed_once_as_last_read() -> None:
    # Pages read while spend moves can repeat a row (TikTok promises no stable order).
    table = _table([
        _item("ad1", "g1", "c1", 9, "1.000", "1"),
        _item("ad2", "g1", "c1", 9, "2.000", "2"),
        _item("ad1", "g1", "c1", 9, "1.500", "3"),  # ad1 again, a page later
    ])
    ads, ids = sync_rollup.once_each(metric_columns(table, hourly=True),
                                     sync_rollup.parents(table), hourly=True)
    assert (ads["object_id"], ads["spend"], ids["adgroup"]) == (
        ["ad2", "ad1"], [Decimal(2), Decimal("1.5")], ["g1", "g1"])
    levels = sync_rollup.roll_up(ads, ids, "A1", hourly=True)
    assert (levels["adgroup"]["spend"], levels["adgroup"]["clicks"]) == ([Decimal("3.5")], [5])
    unique = metric_columns(_table([_item("ad1", "g1", "c1", 9, "1", "1")]), hourly=True)
    assert sync_rollup.once_each(unique, {"adgroup": ["g1"]}, hourly=True)[0] is unique


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


def test_an_ad_group_under_two_campaigns_is_refused() -> None:
    """Ad groups are added into campaigns: one named under two campaigns cannot be placed."""
    table = _table([
        _item("ad1", "g1", "c1", 9, "1.000", "1"),
        _item("ad2", "g1", "c2", 9, "2.000", "1"),
    ])
    with pytest.raises(sync_rollup.RollUpError):
        sync_rollup.roll_up(
            metric_columns(table, hourly=True), sync_rollup.parents(table), "A1", hourly=True
        )


def _sum_ads_per_level(
    ads: dict[str, list[object]], ids: dict[str, list[str]], hourly: bool
) -> dict[str, dict[tuple[object, ...], list[object]]]:
    """The reference: every level adds the ad rows themselves, keys in first-seen order."""
    out: dict[str, dict[tuple[object, ...], list[object]]] = {}
    n = len(ads["object_id"])
    for level, owners in (*ids.items(), ("advertiser", ["A1"] * n)):
        sums: dict[tuple[object, ...], list[object]] = {}
        for i in range(n):
            key = (owners[i], ads["day"][i], ads["hour"][i] if hourly else None)
            acc = sums.setdefault(key, [0] * len(sync_rollup.SUMMED))
            for k, name in enumerate(sync_rollup.SUMMED):
                acc[k] += ads[name][i]
        out[level] = sums
    return out


ad_rows = st.lists(
    st.tuples(
        st.integers(0, 5),  # ad group (its campaign: group // 2)
        st.integers(0, 30),  # ad within the group
        st.integers(0, 2),  # day
        st.integers(0, 23),  # hour
        st.decimals(0, 10**6, places=3),
        st.integers(0, 10**9),
    ),
    max_size=60,
)


@given(ad_rows, st.booleans())
def test_level_by_level_equals_adding_the_ads_at_every_level(
    rows: list[tuple[int, int, int, int, Decimal, int]], hourly: bool
) -> None:
    """Ad groups from ads, campaigns from ad groups, the account from campaigns: the same
    rows, sums (to the Decimal's scale) and order as adding the ads at every level."""
    items, seen = [], set()
    for group, ad, day, hour, spend, clicks in rows:
        if (group, ad, day, hour) in seen:
            continue  # one row per ad and time, as TikTok reports
        seen.add((group, ad, day, hour))
        item = _item(f"ad{group}-{ad}", f"g{group}", f"c{group // 2}", hour, f"{spend:.3f}",
                     str(clicks))
        item["dimensions"]["stat_time_hour"] = f"2026-11-{20 + day} {hour:02d}:00:00"  # type: ignore[index]
        items.append(item)
    table = _table(items)
    ads = metric_columns(table, hourly)
    ids = sync_rollup.parents(table)
    got = sync_rollup.roll_up(ads, ids, "A1", hourly)
    want = _sum_ads_per_level(ads, ids, hourly)
    for level, sums in want.items():
        c = got[level]
        keys = list(zip(c["object_id"], c["day"], c["hour"] if hourly else [None] * len(c["day"]),
                        strict=True))
        assert keys == list(sums)
        for k, name in enumerate(sync_rollup.SUMMED):
            assert [str(v) for v in c[name]] == [str(s[k]) for s in sums.values()]
