"""Contract: report `filtering` is honoured (and refused) as TikTok does (spec §1.4, §7.1)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.contract.conftest import Emu
from tests.contract.raw_api import Api

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"fixture": "demo", "now": NOW}


def f_in(name: str, values: list[str]) -> dict[str, str]:
    """An IN filter; filter_value is JSON inside JSON (spec §1.4)."""
    return {"field_name": name, "filter_type": "IN", "filter_value": json.dumps(values)}


def account(emu: Emu) -> tuple[str, date]:
    adv = next(iter(emu.state.advertisers.values()))
    return adv.advertiser_id, NOW.astimezone(adv.tz).date() - timedelta(days=1)


async def spend_by(
    api: Api, adv_id: str, day: date, level: str, **extra: Any
) -> dict[str, Decimal]:
    """Spend per object id for one day."""
    dim = {"CAMPAIGN": "campaign_id", "ADGROUP": "adgroup_id", "AD": "ad_id"}[level]
    rows = await api.report_rows(
        advertiser_id=adv_id,
        data_level=f"AUCTION_{level}",
        dimensions=[dim],
        metrics=["spend"],
        start_date=day.isoformat(),
        end_date=day.isoformat(),
        **extra,
    )
    return {r["dimensions"][dim]: Decimal(r["metrics"]["spend"]) for r in rows}


async def test_id_filters_keep_only_those_objects(emu: Emu, api: Api) -> None:
    adv_id, day = account(emu)
    world = emu.state
    campaigns = await spend_by(api, adv_id, day, "CAMPAIGN")
    two = sorted(campaigns)[:2]
    picked = await spend_by(api, adv_id, day, "CAMPAIGN", filtering=[f_in("campaign_ids", two)])
    assert picked == {c: campaigns[c] for c in two}
    groups = [g for c in two for g in world.campaigns[c].adgroup_ids][:3]
    ads = await spend_by(api, adv_id, day, "AD", filtering=[f_in("adgroup_ids", groups)])
    assert ads and all(world.ads[a].adgroup_id in groups for a in ads)
    one_ad = sorted(ads)[0]
    only = await spend_by(api, adv_id, day, "AD", filtering=[f_in("ad_ids", [one_ad])])
    assert only == {one_ad: ads[one_ad]}
    # filters combine: an ad outside the chosen campaigns is not reported
    outsider = next(a for a, ad in world.ads.items() if ad.campaign_id not in two)
    none = await spend_by(
        api,
        adv_id,
        day,
        "AD",
        filtering=[f_in("campaign_ids", two), f_in("ad_ids", [outsider])],
    )
    assert none == {}


async def test_deleted_objects_follow_the_status_filter(emu: Emu, api: Api) -> None:
    adv_id, day = account(emu)
    before = await spend_by(api, adv_id, day, "CAMPAIGN")
    victim = max(before, key=lambda c: before[c])
    body = await api.post(
        "campaign/status/update/",
        {"advertiser_id": adv_id, "campaign_ids": [victim], "operation_status": "DELETE"},
    )
    assert body["code"] == 0, body
    hidden = await spend_by(api, adv_id, day, "CAMPAIGN")
    assert victim not in hidden and set(hidden) == set(before) - {victim}
    everything = await spend_by(
        api, adv_id, day, "CAMPAIGN", filtering=[f_in("campaign_status", ["STATUS_ALL"])]
    )
    assert everything[victim] == before[victim]
    deleted = await spend_by(
        api, adv_id, day, "CAMPAIGN", filtering=[f_in("campaign_status", ["STATUS_DELETE"])]
    )
    assert victim in deleted and not set(deleted) & set(hidden)
    # the ads of a deleted campaign are hidden at ad level too, unless asked for
    ads = await spend_by(api, adv_id, day, "AD")
    assert not any(emu.state.ads[a].campaign_id == victim for a in ads)
    total = await api.report_rows(
        advertiser_id=adv_id,
        data_level="AUCTION_ADVERTISER",
        dimensions=["advertiser_id"],
        metrics=["spend"],
        start_date=day.isoformat(),
        end_date=day.isoformat(),
    )
    assert Decimal(total[0]["metrics"]["spend"]) == sum(everything.values())


async def test_name_objective_and_buying_type_filters(emu: Emu, api: Api) -> None:
    adv_id, day = account(emu)
    world = emu.state
    campaigns = await spend_by(api, adv_id, day, "CAMPAIGN")
    name = world.campaigns[sorted(campaigns)[0]].name
    word = name.split(" | ")[1].upper()  # the vertical, matched case-insensitively
    match = {"field_name": "campaign_name", "filter_type": "MATCH", "filter_value": word}
    named = await spend_by(api, adv_id, day, "CAMPAIGN", filtering=[match])
    assert named and set(named) == {
        c for c in campaigns if word.lower() in world.campaigns[c].name.lower()
    }
    traffic = await spend_by(
        api, adv_id, day, "CAMPAIGN", filtering=[f_in("objective_type", ["TRAFFIC"])]
    )
    assert set(traffic) == {c for c in campaigns if world.campaigns[c].objective_type == "TRAFFIC"}
    by_type: dict[str, set[str]] = defaultdict(set)
    for kind in ("AUCTION", "RESERVATION_TOP_VIEW"):
        got = await spend_by(api, adv_id, day, "CAMPAIGN", filtering=[f_in("buying_type", [kind])])
        by_type[kind] = set(got)
    assert by_type["AUCTION"] == set(campaigns) and by_type["RESERVATION_TOP_VIEW"] == set()


def item(name: str, ftype: str, value: Any = None) -> dict[str, Any]:
    """A raw filtering item (value None: left out)."""
    out = {"field_name": name, "filter_type": ftype}
    return out if value is None else {**out, "filter_value": value}


@pytest.mark.parametrize(
    ("filters", "words"),
    [
        ([item("spend", "IN", "[1]")], "field_name spend"),
        ([item("campaign_ids", "MATCH", "1")], "only filter_type IN"),
        ([item("campaign_ids", "LIKE", "[]")], "filter_type LIKE"),
        ([item("campaign_ids", "IN", ["1"])], "JSON-encoded string"),
        ([item("campaign_ids", "IN", "[1")], "not valid JSON"),
        ([item("campaign_ids", "IN")], "field_name, filter_type and filter_value"),
        ([f_in("campaign_ids", [str(i) for i in range(101)])], "at most 100"),
        ([f_in("campaign_status", ["STATUS_PAUSED"])], "invalid values"),
        ([f_in("buying_type", ["AUCTIONS"])], "invalid values"),
        ({"campaign_ids": ["1"]}, "JSON array"),
    ],
)
async def test_bad_filters_are_refused(emu: Emu, api: Api, filters: Any, words: str) -> None:
    adv_id, day = account(emu)
    body = await api.report(
        advertiser_id=adv_id,
        data_level="AUCTION_CAMPAIGN",
        dimensions=["campaign_id"],
        metrics=["spend"],
        start_date=day.isoformat(),
        end_date=day.isoformat(),
        filtering=filters,
    )
    assert (body["code"], body["data"]) == (40002, {})
    assert body["message"].startswith("Invalid param: ") and words in body["message"], body
