"""Contract: AUDIENCE reports (spec §7.1) as outside clients ask for them: the breakdown rows
add up exactly to the BASIC rows, counts stay nested, targeting limits the values, and what is
not supported is refused with TikTok's 40002."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from sandbox.tiktok.audience import AUDIENCE_VALUES
from tests.contract.conftest import Emu
from tests.contract.raw_api import Api

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
# What tap-tiktok's audience streams ask for (TikTokAudienceReportStream.metrics_properties).
TAP_METRICS = [
    "spend", "cpc", "cpm", "impressions", "gross_impressions", "clicks", "ctr", "conversion",
    "cost_per_conversion", "conversion_rate", "real_time_conversion",
    "real_time_cost_per_conversion", "real_time_conversion_rate", "result", "cost_per_result",
    "result_rate", "real_time_result", "real_time_cost_per_result", "real_time_result_rate",
]
SUMMED = ("spend", "impressions", "clicks", "conversion", "result")


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"fixture": "demo", "now": NOW}


def _week(emu: Emu) -> tuple[str, date, date]:
    adv = next(iter(emu.state.advertisers.values()))
    end = NOW.astimezone(adv.tz).date() - timedelta(days=1)
    return adv.advertiser_id, end - timedelta(days=6), end


async def _rows(api: Api, report_type: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        body = await api.get("report/integrated/get/", report_type=report_type, page=page,
                             page_size=1000, service_type="AUCTION", **params)
        assert body["code"] == 0, body["message"]
        rows += body["data"]["list"]
        if page >= body["data"]["page_info"]["total_page"]:
            return rows
        page += 1


def _status_filter() -> list[dict[str, str]]:
    return [{"field_name": "ad_status", "filter_type": "IN",
             "filter_value": json.dumps(["STATUS_NOT_DELETE"])}]


async def test_age_and_gender_rows_add_up_to_the_basic_rows(emu: Emu, api: Api) -> None:
    adv_id, start, end = _week(emu)
    span = {"advertiser_id": adv_id, "data_level": "AUCTION_AD", "start_date": str(start),
            "end_date": str(end), "filtering": _status_filter()}
    audience = await _rows(api, "AUDIENCE", dimensions=["ad_id", "age", "gender", "stat_time_day"],
                           metrics=TAP_METRICS, **span)
    basic = await _rows(api, "BASIC", dimensions=["ad_id", "stat_time_day"],
                        metrics=list(SUMMED), **span)
    assert basic and len(audience) > 3 * len(basic)
    summed: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in audience:
        d, m = row["dimensions"], row["metrics"]
        assert set(d) == {"ad_id", "age", "gender", "stat_time_day"}
        assert set(m) == set(TAP_METRICS)
        assert d["age"] in AUDIENCE_VALUES["age"] and d["gender"] in AUDIENCE_VALUES["gender"]
        assert int(m["clicks"]) <= int(m["impressions"])
        assert int(m["conversion"]) <= int(m["clicks"])
        for name in SUMMED:
            # Money in hundredths, as the emulator keeps it: sums are exact in cents.
            summed[(d["ad_id"], d["stat_time_day"])][name] += (
                round(float(m[name]) * 100) if name == "spend" else int(m[name])
            )
    for row in basic:
        d, m = row["dimensions"], row["metrics"]
        got = summed.pop((d["ad_id"], d["stat_time_day"]))
        assert got["spend"] == round(float(m["spend"]) * 100)
        assert all(got[n] == int(m[n]) for n in SUMMED if n != "spend"), (d, m, got)
    assert not any(any(v.values()) for v in summed.values())  # no row BASIC does not have


async def test_targeting_limits_the_values_and_totals_hold_at_the_account_level(
    emu: Emu, api: Api
) -> None:
    adv_id, start, end = _week(emu)
    span = {"advertiser_id": adv_id, "start_date": str(start), "end_date": str(end)}
    spent = await _rows(api, "BASIC", data_level="AUCTION_ADGROUP", dimensions=["adgroup_id"],
                        metrics=["spend"], **span)
    group = max(spent, key=lambda r: float(r["metrics"]["spend"]))["dimensions"]["adgroup_id"]
    body = await api.post("adgroup/update/", {
        "advertiser_id": adv_id, "adgroup_id": group,
        "age_groups": ["AGE_25_34", "AGE_35_44"], "gender": "GENDER_FEMALE",
        "operating_systems": ["ANDROID"],
    })
    assert body["code"] == 0, body["message"]
    rows = await _rows(api, "AUDIENCE", data_level="AUCTION_ADGROUP",
                       dimensions=["adgroup_id", "age", "gender", "platform"],
                       metrics=["spend", "impressions"], **span)
    mine = {(d["age"], d["gender"], d["platform"])
            for r in rows if (d := r["dimensions"])["adgroup_id"] == group}
    assert mine == {("AGE_25_34", "FEMALE", "ANDROID"), ("AGE_35_44", "FEMALE", "ANDROID")}
    others = {d["platform"] for r in rows if (d := r["dimensions"])["adgroup_id"] != group}
    assert others == set(AUDIENCE_VALUES["platform"])
    by_platform = await _rows(api, "AUDIENCE", data_level="AUCTION_ADVERTISER",
                              dimensions=["advertiser_id", "platform"],
                              metrics=["spend", "impressions"], **span)
    total = await _rows(api, "BASIC", data_level="AUCTION_ADVERTISER",
                        dimensions=["advertiser_id"], metrics=["spend", "impressions"], **span)
    assert sum(int(r["metrics"]["impressions"]) for r in by_platform) == int(
        total[0]["metrics"]["impressions"])
    assert sum(round(float(r["metrics"]["spend"]) * 100) for r in by_platform) == round(
        float(total[0]["metrics"]["spend"]) * 100)


@pytest.mark.parametrize(
    ("report_type", "dimensions", "extra", "says"),
    [
        ("BASIC", ["ad_id", "age"], {}, "invalid for data_level"),
        ("AUDIENCE", ["ad_id", "province_id"], {}, "not supported by this emulator"),
        ("AUDIENCE", ["ad_id", "gender", "stat_time_hour"], {}, "stat_time_day only"),
        ("AUDIENCE", ["ad_id", "gender"], {"query_lifetime": "true"}, "only supported by BASIC"),
        ("CATALOG", ["ad_id"], {}, "BASIC and AUDIENCE only"),
    ],
)
async def test_what_is_not_offered_is_refused(
    emu: Emu, api: Api, report_type: str, dimensions: list[str], extra: dict[str, str], says: str
) -> None:
    adv_id, start, _ = _week(emu)
    body = await api.get("report/integrated/get/", advertiser_id=adv_id, report_type=report_type,
                         data_level="AUCTION_AD", dimensions=dimensions, metrics=["spend"],
                         start_date=str(start), end_date=str(start), **extra)
    assert body["code"] == 40002 and says in body["message"], body


async def test_the_values_names_are_a_knob(emu: Emu, api: Api) -> None:
    """What reports call the platforms is not documented [U]: config.audience_values."""
    adv_id, start, _ = _week(emu)
    query = {"advertiser_id": adv_id, "data_level": "AUCTION_ADVERTISER",
             "dimensions": ["advertiser_id", "platform"], "metrics": ["spend"],
             "start_date": str(start), "end_date": str(start)}
    before = await _rows(api, "AUDIENCE", **query)
    assert {r["dimensions"]["platform"] for r in before} == set(AUDIENCE_VALUES["platform"])
    names = ["ANDROID", "IPHONE", "IPAD", "OTHERS"]
    await emu.ctl("POST", "config", {"audience_values": {"platform": names}})
    rows = await _rows(api, "AUDIENCE", **query)  # at once: not the report computed before
    assert {r["dimensions"]["platform"] for r in rows} == set(names)
    url = emu.server.url.rstrip("/") + "/_emulator/config"
    async with emu.control.post(url, json={"audience_values": {"os": ["X"]}}) as resp:
        assert resp.status == 400
