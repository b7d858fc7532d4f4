"""Contract: the emulator answers TikTok's whole BASIC report catalogue as TikTok does.

The catalogue (sandbox/tiktok/report_catalogue.csv, sources in its header) says which metrics
exist, at which data levels, and how TikTok renders them.  These tests walk all of it through
report/integrated/get at every level, check the refusals at the other levels, and recompute
every rate, cost and average from the counts the same report returns; the traced session
checks each value's format against the catalogue type (tests/contract/schemas.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from sandbox.tiktok.catalogue import CATALOGUE, LEVEL_NAMES, Metric
from tests.contract.conftest import Emu
from tests.contract.raw_api import Api

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
LEVELS = [f"AUCTION_{name}" for name in LEVEL_NAMES]
ID_DIMS = ("advertiser_id", "campaign_id", "adgroup_id", "ad_id")
STATUS_ALL = {"AUCTION_CAMPAIGN": "campaign_status", "AUCTION_ADGROUP": "adgroup_status"}
CHUNK = 100  # metrics per request: a GET URL stays under common 8 KB request-line limits
DERIVED_OPS = {"cost", "cost4", "cost1000", "cpc", "cpm", "rate", "ratio", "seconds", "per", "roas"}
# The metrics a widely used open-source connector asks for, per report stream (Airbyte
# source-tiktok-marketing manifest.yaml: base_report_retriever's list + each stream's
# report_metrics); the issue lists those the emulator used to refuse.
AIRBYTE_BASE = [
    "spend", "cpc", "cpm", "impressions", "clicks", "ctr", "reach", "cost_per_1000_reached",
    "frequency", "video_play_actions", "video_watched_2s", "video_watched_6s",
    "average_video_play", "average_video_play_per_user", "video_views_p25", "video_views_p50",
    "video_views_p75", "video_views_p100", "profile_visits", "likes", "comments", "shares",
    "follows", "clicks_on_music_disc", "real_time_app_install", "real_time_app_install_cost",
    "app_install",
]  # fmt: skip
AIRBYTE_ADGROUP = [
    "campaign_name", "campaign_id", "adgroup_name", "placement_type", "tt_app_id",
    "tt_app_name", "mobile_app_id", "promotion_type", "dpa_target_audience_type", "conversion",
    "cost_per_conversion", "conversion_rate", "real_time_conversion",
    "real_time_cost_per_conversion", "real_time_conversion_rate", "result", "cost_per_result",
    "result_rate", "real_time_result", "real_time_cost_per_result", "real_time_result_rate",
    "secondary_goal_result", "cost_per_secondary_goal_result", "secondary_goal_result_rate",
]  # fmt: skip
AIRBYTE_AD = [
    *AIRBYTE_ADGROUP, "adgroup_id", "ad_name", "ad_text", "total_purchase_value",
    "total_onsite_shopping_value", "onsite_shopping", "vta_purchase", "vta_conversion",
    "cta_purchase", "cta_conversion",
    "total_pageview", "complete_payment", "value_per_complete_payment",
    "total_complete_payment_rate", "profile_visits_rate", "purchase", "purchase_rate",
    "registration", "registration_rate", "sales_lead", "sales_lead_rate",
    "cost_per_app_install", "cost_per_purchase", "cost_per_registration",
    "cost_per_sales_lead", "cost_per_total_sales_lead", "cost_per_total_app_event_add_to_cart",
    "total_app_event_add_to_cart", "engaged_view", "engagements", "paid_engaged_view",
    "engaged_view_through_conversions", "paid_engagement_engaged_view", "engaged_view_15s",
    "paid_engaged_view_15s", "paid_engagement_engaged_view_15s",
]  # fmt: skip
# (data level, dimensions, the stream's own metrics)
AIRBYTE_STREAMS = [
    ("AUCTION_ADVERTISER", ["advertiser_id", "stat_time_day"], ["cash_spend", "voucher_spend"]),
    ("AUCTION_ADVERTISER", ["advertiser_id", "stat_time_hour"], []),
    ("AUCTION_CAMPAIGN", ["campaign_id", "stat_time_day"], ["campaign_name"]),
    ("AUCTION_CAMPAIGN", ["campaign_id", "stat_time_hour"], ["campaign_name"]),
    ("AUCTION_ADGROUP", ["adgroup_id", "stat_time_day"], AIRBYTE_ADGROUP),
    ("AUCTION_ADGROUP", ["adgroup_id", "stat_time_day", "country_code"], AIRBYTE_ADGROUP),
    ("AUCTION_AD", ["ad_id", "stat_time_day"], AIRBYTE_AD),
    ("AUCTION_AD", ["ad_id", "stat_time_hour"], AIRBYTE_AD),
    ("AUCTION_AD", ["ad_id"], AIRBYTE_AD),  # the lifetime stream (query_lifetime)
]
ISSUE_METRICS = [
    "dpa_target_audience_type", "onsite_shopping", "total_onsite_shopping_value",
    "vta_conversion", "vta_purchase", "cta_conversion", "cta_purchase", "registration",
    "registration_rate", "total_pageview", "sales_lead", "cost_per_purchase", "purchase_rate",
    "profile_visits_rate", "total_app_event_add_to_cart", "cost_per_app_install",
]  # fmt: skip


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    """A frozen clock, so days and balances do not move under the test."""
    return {"fixture": "demo", "now": NOW}


def first_advertiser(emu: Emu) -> tuple[str, date]:
    """The demo's first ad account and its yesterday."""
    adv = next(iter(emu.state.advertisers.values()))
    return adv.advertiser_id, NOW.astimezone(adv.tz).date() - timedelta(days=1)


def status_all(level: str) -> list[dict[str, str]]:
    """Include deleted objects, so every level sums the same delivery (spec §10 item 6)."""
    name = STATUS_ALL.get(level, "ad_status" if level == "AUCTION_AD" else "")
    if not name:
        return []
    return [{"field_name": name, "filter_type": "IN", "filter_value": '["STATUS_ALL"]'}]


def chunks(names: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(names), CHUNK):
        yield names[i : i + CHUNK]


def exposing(rank: int) -> dict[str, str]:
    """Fact family -> a metric at this level that shows it as a plain count or amount."""
    out: dict[str, str] = {}
    for m in CATALOGUE.values():
        if rank in m.levels and m.op in ("count", "money") and m.args and m.name != "cash_spend":
            out.setdefault(m.args[0], m.name)
    return out


def rounded(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def expected(m: Metric, row: dict[str, str], shown: dict[str, str]) -> str | None:
    """Recompute a derived metric from the row's own counts (None: a family is not shown)."""
    fams = {"cpc": ("clicks",), "cpm": ("impressions",)}.get(m.op, m.args)
    names = [shown.get(f) for f in fams]
    if any(n is None or n not in row for n in names) or "spend" not in row:
        return None
    vals = [Decimal(row[n]) for n in names if n]  # amounts are shown in currency units
    spend = Decimal(row["spend"])
    num, den, mult, places = {
        "cost": (spend, vals[0], 1, 3),
        "cost4": (spend, vals[0], 1, 4),
        "cost1000": (spend, vals[0], 1000, 3),
        "rate": (vals[0], vals[-1], 100, 2),
        "ratio": (vals[0], vals[-1], 1, 2),
        "seconds": (vals[0], vals[-1], 1, 2),
        "per": (vals[0], vals[-1], 1, 3),
        "roas": (vals[0], spend, 1, 2),
        "cpc": (spend, vals[0], 1, 2),
        "cpm": (spend, vals[0], 1000, 2),
    }[m.op]
    if den == 0:
        return "0." + "0" * (3 if m.op in ("cpc", "cpm") else places)
    value = rounded(num / den * mult, places)
    return f"{value:.3f}" if m.op in ("cpc", "cpm") else f"{value:.{places}f}"


async def walk(
    api: Api, adv_id: str, day: date, level: str
) -> dict[tuple[str, str], dict[str, str]]:
    """Every catalogue metric allowed at a level, by (object id, day), over three days."""
    rank = LEVELS.index(level)
    names = [m.name for m in CATALOGUE.values() if rank in m.levels]
    rows: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for part in chunks(names):
        body = await api.report(
            advertiser_id=adv_id,
            data_level=level,
            dimensions=[ID_DIMS[rank], "stat_time_day"],
            metrics=part,
            start_date=(day - timedelta(days=2)).isoformat(),
            end_date=day.isoformat(),
            filtering=status_all(level),
            page_size=1000,
        )
        assert body["code"] == 0, (level, body["message"])
        assert body["data"]["page_info"]["total_page"] <= 1
        for item in body["data"]["list"]:
            d = item["dimensions"]
            rows[(d[ID_DIMS[rank]], d["stat_time_day"])].update(item["metrics"])
    return rows


def test_catalogue_covers_tiktoks_groups_and_the_connectors_metrics() -> None:
    groups = {m.group for m in CATALOGUE.values()}
    assert {
        "basic", "attribute", "video_play", "engagement", "interactive_add_on", "live",
        "in_app_event", "page_event", "onsite_event", "attribution", "skan",
    } <= groups  # fmt: skip
    assert len(CATALOGUE) > 700
    for name in AIRBYTE_BASE + AIRBYTE_AD + ISSUE_METRICS + ["cash_spend", "voucher_spend"]:
        assert name in CATALOGUE, name
    for m in CATALOGUE.values():
        assert m.levels and m.type in ("integer", "money", "percent", "decimal", "string")
    # attribute levels as TikTok documents them
    assert CATALOGUE["ad_name"].levels == {3}
    assert CATALOGUE["adgroup_name"].levels == {2, 3}
    assert CATALOGUE["campaign_name"].levels == {1, 2, 3}
    assert CATALOGUE["campaign_id"].levels == {2, 3}
    assert CATALOGUE["is_aco"].levels == {2}
    assert CATALOGUE["cash_spend"].levels == {0}


async def test_whole_catalogue_at_every_level(emu: Emu, api: Api) -> None:
    adv_id, day = first_advertiser(emu)
    world = emu.state
    totals: dict[str, dict[tuple[str, str], Decimal]] = {}
    checked = 0
    for rank, level in enumerate(LEVELS):
        rows = await walk(api, adv_id, day, level)
        assert rows, level
        shown = exposing(rank)
        allowed = [m for m in CATALOGUE.values() if rank in m.levels]
        for (obj_id, _day), row in rows.items():
            assert set(row) == {m.name for m in allowed}
            for m in allowed:
                value = row[m.name]
                if m.op == "dash":
                    assert value == "-"
                elif m.op in DERIVED_OPS:
                    want = expected(m, row, shown)
                    if want is not None:
                        assert value == want, (level, m.name, row)
                        checked += 1
            # attribute metrics come from the objects
            if level == "AUCTION_AD":
                ad = world.ads[obj_id]
                assert row["ad_name"] == ad.name and row["adgroup_id"] == ad.adgroup_id
                assert row["campaign_name"] == world.campaigns[ad.campaign_id].name
            if level == "AUCTION_ADGROUP":
                ag = world.adgroups[obj_id]
                assert row["adgroup_name"] == ag.name and row["campaign_id"] == ag.campaign_id
            assert row["advertiser_id"] == adv_id and row["currency"] in ("USD", "EUR", "JPY")
        # every count and amount summed over the level's objects, per day
        per_day: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for (_obj, stat_day), row in rows.items():
            for m in allowed:
                if m.op in ("count", "money") and m.name != "cash_spend":
                    per_day[(m.name, stat_day)] += Decimal(row[m.name])
        totals[level] = per_day
    assert checked > 2000  # rates, costs and averages recomputed from their counts
    top = totals["AUCTION_ADVERTISER"]
    for level in LEVELS[1:]:
        for key, value in totals[level].items():
            assert top[key] == value, (level, key)
    assert any(v > 0 for (name, _), v in top.items() if name == "onsite_shopping")


async def test_refusals_at_levels_tiktok_does_not_allow(emu: Emu, api: Api) -> None:
    adv_id, day = first_advertiser(emu)
    refused = 0
    for rank, level in enumerate(LEVELS):
        for m in CATALOGUE.values():
            if rank in m.levels:
                continue
            body = await api.report(
                advertiser_id=adv_id,
                data_level=level,
                dimensions=[ID_DIMS[rank], "stat_time_day"],
                metrics=["spend", m.name],
                start_date=day.isoformat(),
                end_date=day.isoformat(),
            )
            assert (body["code"], body["data"]) == (40002, {}), (level, m.name)
            assert body["message"] == (
                f"Invalid param: metrics: {m.name} is not available at data_level {level}."
            )
            refused += 1
    assert refused > 60
    base = {"advertiser_id": adv_id, "start_date": day.isoformat(), "end_date": day.isoformat()}
    cases = [
        ("AUCTION_AD", ["ad_id"], ["no_such_metric"], "no_such_metric is not a valid metric"),
        ("AUCTION_AD", ["stat_time_day"], ["ad_name"], "needs an ID dimension"),
        (
            "AUCTION_ADVERTISER",
            ["advertiser_id", "stat_time_hour"],
            ["cash_spend"],
            "stat_time_day",
        ),
        ("AUCTION_AD", ["stat_time_day"], ["paid_engaged_view"], "one ID dimension"),
        ("AUCTION_AD", ["ad_id"], ["spend"], None),
    ]
    for level, dims, metrics, words in cases:
        body = await api.report(data_level=level, dimensions=dims, metrics=metrics, **base)
        if words is None:
            assert body["code"] == 0
        else:
            assert body["code"] == 40002 and words in body["message"], body


async def test_the_connectors_requests_are_answered(emu: Emu, api: Api) -> None:
    adv_id, day = first_advertiser(emu)
    for level, dims, own in AIRBYTE_STREAMS:
        metrics = own + AIRBYTE_BASE
        span = {"start_date": day.isoformat(), "end_date": day.isoformat()}
        if "stat_time_hour" not in dims:
            span["start_date"] = (day - timedelta(days=6)).isoformat()
        if len(dims) == 1:
            span = {"query_lifetime": "true"}
        rows = await api.report_rows(
            advertiser_id=adv_id, data_level=level, dimensions=dims, metrics=metrics, **span
        )
        assert rows and all(set(r["metrics"]) == set(metrics) for r in rows), (level, dims)
        if "secondary_goal_result" in metrics:
            assert all(r["metrics"]["secondary_goal_result"] == "-" for r in rows)


async def test_hours_add_up_to_the_day_for_derived_metrics(emu: Emu, api: Api) -> None:
    adv_id, day = first_advertiser(emu)
    names = [
        "registration", "cta_purchase", "vta_purchase", "total_pageview", "onsite_shopping",
        "total_onsite_shopping_value", "video_views_p25", "sales_lead", "app_install", "spend",
    ]  # fmt: skip
    query = {"advertiser_id": adv_id, "data_level": "AUCTION_AD", "metrics": names}
    query |= {"start_date": day.isoformat(), "end_date": day.isoformat()}
    daily = await api.report_rows(dimensions=["ad_id", "stat_time_day"], **query)
    hourly = await api.report_rows(dimensions=["ad_id", "stat_time_hour"], **query)
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for item in hourly:
        for name in names:
            sums[(item["dimensions"]["ad_id"], name)] += Decimal(item["metrics"][name])
    assert len(hourly) > len(daily)
    for item in daily:
        for name in names:
            assert sums[(item["dimensions"]["ad_id"], name)] == Decimal(item["metrics"][name])


async def test_uncertain_choices_are_knobs(emu: Emu, api: Api) -> None:
    adv_id, day = first_advertiser(emu)
    query = {"advertiser_id": adv_id, "data_level": "AUCTION_CAMPAIGN", "metrics": ["skan_result"]}
    query |= {"start_date": day.isoformat(), "end_date": day.isoformat()}
    counted = await api.report_rows(dimensions=["campaign_id"], **query)
    assert counted and all(r["metrics"]["skan_result"].isdigit() for r in counted)
    await emu.ctl("POST", "config", {"report_skan_dash": True})
    dashed = await api.report_rows(dimensions=["campaign_id"], **query)
    assert dashed and all(r["metrics"]["skan_result"] == "-" for r in dashed)
    # paid engaged views by hour: accepted (Airbyte asks so), refused as TikTok's docs read
    hourly = {**query, "data_level": "AUCTION_AD", "metrics": ["paid_engaged_view"]}
    assert (await api.report(dimensions=["ad_id", "stat_time_hour"], **hourly))["code"] == 0
    await emu.ctl("POST", "config", {"report_engaged_view_hourly": False})
    refused_hourly = await api.report(dimensions=["ad_id", "stat_time_hour"], **hourly)
    assert refused_hourly["code"] == 40002
    # attribute metrics without an ID dimension: refused by default, "-" when allowed
    named = {**query, "metrics": ["campaign_name", "spend"]}
    refused = await api.report(dimensions=["stat_time_day"], **named)
    assert refused["code"] == 40002
    await emu.ctl("POST", "config", {"report_attributes_need_id_dimension": False})
    rows = await api.report_rows(dimensions=["stat_time_day"], **named)
    assert rows and all(r["metrics"]["campaign_name"] == "-" for r in rows)
