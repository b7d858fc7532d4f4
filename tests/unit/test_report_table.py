"""ReportTable: a report page read as columns holds exactly what ReportRow reads per row."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from core.sync import SYNC_METRICS
from core.sync_writes import metric_columns
from core.tiktok import ReportLevel, ReportRow
from core.tiktok.reports import DEFAULT_METRICS, ReportTableParser

METRICS = (*SYNC_METRICS, "ctr", "cpc", "complete_payment", "campaign_name")


def _as_rows(items: list[Any], level: ReportLevel, names: tuple[str, ...]) -> list[tuple[Any, ...]]:
    rows = ReportRow.page_from_api(items, level=level, advertiser_id="7")
    return [(r.object_id, r.stat_time, *(r.metrics.get(n) for n in names)) for r in rows]


def _as_table(
    items: list[Any], level: ReportLevel, names: tuple[str, ...]
) -> list[tuple[Any, ...]]:
    table = ReportTableParser(level, "7", names).page(items)
    assert len(table) == len(items)
    return list(
        zip(table.object_ids, table.stat_times, *(table.metrics[n] for n in names), strict=True)
    )


def _typed(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Values with their types and Decimal exponents (1 == 1.0 == Decimal('1.00') otherwise)."""
    return [tuple((type(v), str(v)) for v in row) for row in rows]


def _item(ad: str, time: str, spend: str, clicks: str) -> dict[str, Any]:
    return {
        "dimensions": {"ad_id": ad, "stat_time_hour": time},
        "metrics": {
            "spend": spend,
            "impressions": "1200",
            "clicks": clicks,
            "conversion": "0",
            "total_complete_payment_rate": "0.000",
        },
    }


def test_usual_page_matches_report_rows() -> None:
    items = [
        _item(
            f"ad{i % 7}",
            f"2026-12-0{1 + i % 3} {i % 24:02d}:00:00",
            f"{i}.{i % 1000:03d}",
            str(i % 5),
        )
        for i in range(300)
    ]
    for level in (ReportLevel.AD, ReportLevel.CAMPAIGN):
        names = (*SYNC_METRICS, "ctr")  # a metric the page lacks reads as None
        assert _typed(_as_table(items, level, names)) == _typed(_as_rows(items, level, names))


# Whatever TikTok (or a broken proxy) might send in a value's place.
VALUES = st.one_of(
    st.sampled_from(
        ["0", "12", "0.000", "1.50", "-", "", " 7", "1e3", "12.5%", "abc", "-3", "1_000"]
    ),
    st.integers(-5, 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.none(),
)
TIMES = st.one_of(
    st.sampled_from(["2026-12-01 00:00:00", "2026-12-01 13:00:00", "2026-12-02", "-", "", "x"]),
    st.none(),
    st.integers(0, 3),
)
IDS = st.one_of(st.sampled_from(["1", "2", "", "77"]), st.integers(0, 9), st.none(), st.booleans())


@st.composite
def items(draw: Any) -> dict[str, Any]:
    dims: dict[str, Any] = {"ad_id": draw(IDS)}
    key = draw(st.sampled_from(["stat_time_day", "stat_time_hour", None]))
    if key:
        dims[key] = draw(TIMES)
    metrics = {n: draw(VALUES) for n in draw(st.lists(st.sampled_from(METRICS), unique=True))}
    item: dict[str, Any] = {"dimensions": dims, "metrics": metrics}
    shape = draw(st.sampled_from(["usual"] * 6 + ["no_metrics", "list_dims", "no_dims"]))
    if shape == "no_metrics":
        del item["metrics"]
    elif shape == "list_dims":
        item["dimensions"] = [1, 2]
    elif shape == "no_dims":
        del item["dimensions"]
    return item


@settings(max_examples=300, deadline=None)
@given(st.lists(items(), max_size=12))
def test_any_page_matches_report_rows(page: list[dict[str, Any]]) -> None:
    assert _typed(_as_table(page, ReportLevel.AD, METRICS)) == _typed(
        _as_rows(page, ReportLevel.AD, METRICS)
    )


def test_values_are_shared_across_pages_of_one_report() -> None:
    parser = ReportTableParser(ReportLevel.AD, "7", DEFAULT_METRICS)
    a = parser.page([_item("1", "2026-12-01 05:00:00", "0.000", "3")])
    b = parser.page([_item("2", "2026-12-01 05:00:00", "0.000", "3")])
    assert a.stat_times[0] is b.stat_times[0] and a.metrics["spend"][0] is b.metrics["spend"][0]
    a.extend(b)
    assert a.object_ids == ["1", "2"] and a.metrics["clicks"] == [3, 3]


def test_metric_columns_leave_out_rows_without_a_time() -> None:
    page = [
        _item("1", "2026-12-01 05:00:00", "1.5", "2"),
        _item("2", "-", "9", "9"),
        _item("3", "2026-12-02 23:00:00", "0.1234567", "-"),
    ]
    table = ReportTableParser(ReportLevel.AD, "7", SYNC_METRICS).page(page)
    cols = metric_columns(table, hourly=True)
    assert cols["object_id"] == ["1", "3"]
    assert cols["hour"] == [5, 23]
    assert [str(d) for d in cols["day"]] == ["2026-12-01", "2026-12-02"]
    # Money quantized to micros (half even), counts None -> 0, as the row path stored them.
    assert [str(v) for v in cols["spend"]] == ["1.500000", "0.123457"]
    assert cols["clicks"] == [2, 0]
    assert str(cols["purchase_value"][0]) == "0.000000"
