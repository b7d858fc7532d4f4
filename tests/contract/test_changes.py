"""Contract: changing campaigns, ad groups and ads through core.changes against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core.changes import (
    BudgetBelowMinimumError,
    Change,
    ChangeRefusedError,
    NotApplicableError,
    ObjectGoneError,
    apply_change,
    budget_minimum,
    read_state,
    target_budget,
)
from core.tiktok import TikTokClient, TokenInvalidError
from tests.contract.conftest import Emu

WRITES = (
    "campaign/update/",
    "campaign/status/update/",
    "adgroup/update/",
    "adgroup/status/update/",
    "ad/status/update/",
)


def utc_text(when: datetime) -> str:
    """A UTC time as the API writes it (spec §1.7)."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


async def usd_account(client: TikTokClient, token: str) -> str:
    """The first demo ad account that bills in USD."""
    ids = [a.advertiser_id for a in await client.get_authorized_advertisers(token)]
    advertisers = await client.get_advertisers(token, ids)
    return next(a.advertiser_id for a in advertisers if a.currency == "USD")


async def writes(emu: Emu) -> int:
    """Write calls made since the last reset."""
    counts = await emu.requests()
    return sum(counts.get(path, 0) for path in WRITES)


async def make_objects(client: TikTokClient, token: str, adv: str) -> dict[str, str]:
    """A campaign with a daily budget, and an ABO campaign with two custom-bid ad groups."""
    cbo = await client.create_campaign(
        token,
        adv,
        {
            "campaign_name": "Changes | CBO",
            "objective_type": "TRAFFIC",
            "budget_mode": "BUDGET_MODE_DAY",
            "budget": Decimal(100),
            "budget_optimize_on": True,
        },
    )
    abo = await client.create_campaign(
        token,
        adv,
        {
            "campaign_name": "Changes | ABO",
            "objective_type": "TRAFFIC",
            "budget_mode": "BUDGET_MODE_INFINITE",
        },
    )
    base: dict[str, Any] = {
        "budget_mode": "BUDGET_MODE_DAY",
        "budget": Decimal(50),
        "schedule_type": "SCHEDULE_FROM_NOW",
        "schedule_start_time": utc_text(datetime.now(UTC) + timedelta(minutes=5)),
        "optimization_goal": "CLICK",
        "pacing": "PACING_MODE_SMOOTH",
        "placement_type": "PLACEMENT_TYPE_NORMAL",
        "placements": ["PLACEMENT_TIKTOK"],
        "promotion_type": "WEBSITE",
        "location_ids": ["6252001"],
        "bid_type": "BID_TYPE_CUSTOM",
    }
    cpc = await client.create_adgroup(
        token,
        adv,
        {
            **base,
            "campaign_id": abo,
            "adgroup_name": "CPC",
            "billing_event": "CPC",
            "bid_price": Decimal("1.50"),
        },
    )
    ocpm = await client.create_adgroup(
        token,
        adv,
        {
            **base,
            "campaign_id": abo,
            "adgroup_name": "OCPM",
            "billing_event": "OCPM",
            "conversion_bid_price": Decimal("12.00"),
        },
    )
    under_cbo = await client.create_adgroup(
        token,
        adv,
        {
            **base,
            "campaign_id": cbo,
            "adgroup_name": "Under CBO",
            "billing_event": "CPC",
            "bid_type": "BID_TYPE_NO_BID",
        },
    )
    ads = await client.get_ads(token, adv)
    ad = next(a.ad_id for a in ads if a.operation_status == "ENABLE")
    return {"cbo": cbo, "abo": abo, "cpc": cpc, "ocpm": ocpm, "under_cbo": under_cbo, "ad": ad}


@pytest.fixture
async def world(emu: Emu, client: TikTokClient) -> dict[str, str]:
    token = emu.access_token
    adv = await usd_account(client, token)
    return {"adv": adv, **await make_objects(client, token, adv)}


@pytest.mark.parametrize("level", ["campaign", "adgroup", "ad"])
async def test_pause_and_enable_are_verified_and_idempotent(
    emu: Emu, client: TikTokClient, world: dict[str, str], level: str
) -> None:
    token, adv = emu.access_token, world["adv"]
    object_id = {"campaign": world["cbo"], "adgroup": world["cpc"], "ad": world["ad"]}[level]
    await emu.ctl("POST", "reset_stats")
    paused = await apply_change(client, token, adv, level, object_id, Change("status", "DISABLE"))
    assert paused.applied and paused.before.status == "ENABLE"
    assert paused.after.status == "DISABLE"
    assert await writes(emu) == 1
    # The same change again: read, found at the target, no write.
    again = await apply_change(client, token, adv, level, object_id, Change("status", "DISABLE"))
    assert not again.applied and again.after.status == "DISABLE"
    assert await writes(emu) == 1
    enabled = await apply_change(client, token, adv, level, object_id, Change("status", "ENABLE"))
    assert enabled.applied and enabled.after.status == "ENABLE"
    assert (await read_state(client, token, adv, level, object_id)).status == "ENABLE"
    assert (await emu.requests()).get(f"{level}/status/update/") == 2  # spec §4.4/§4.7/§4.10


async def test_budget_set_pct_amount_with_floor_ceiling_and_minimum(
    emu: Emu, client: TikTokClient, world: dict[str, str]
) -> None:
    token, adv, camp, group = emu.access_token, world["adv"], world["cbo"], world["cpc"]
    state = await read_state(client, token, adv, "campaign", camp)
    assert (state.budget, state.budget_mode) == (Decimal(100), "BUDGET_MODE_DAY")
    camp_min = budget_minimum("campaign", "USD", state.budget_mode)
    assert camp_min == Decimal(50)

    # +20 % of 100 -> 120.
    new = target_budget(state.budget, "pct", Decimal(20), None, Decimal(500), camp_min)
    result = await apply_change(client, token, adv, "campaign", camp, Change("budget", new))
    assert result.applied and result.before.budget == 100 and result.after.budget == Decimal(120)
    # -100 by amount would be 20: clamped to TikTok's campaign minimum of 50.
    new = target_budget(result.after.budget, "amount", Decimal(-100), None, None, camp_min)
    assert new == Decimal("50.00")
    result = await apply_change(client, token, adv, "campaign", camp, Change("budget", new))
    assert result.after.budget == Decimal(50)
    # Doubling with a ceiling of 80.
    new = target_budget(
        result.after.budget, "pct", Decimal(100), Decimal(60), Decimal(80), camp_min
    )
    result = await apply_change(client, token, adv, "campaign", camp, Change("budget", new))
    assert result.after.budget == Decimal(80)
    again = await apply_change(client, token, adv, "campaign", camp, Change("budget", new))
    assert not again.applied

    # Ad group budget: set to 33.33, verified (a fraction survives the JSON number round trip).
    result = await apply_change(
        client, token, adv, "adgroup", group, Change("budget", Decimal("33.33"))
    )
    assert result.after.budget == Decimal("33.33") and result.before.budget == Decimal(50)
    assert (await emu.requests()).get("adgroup/update/") == 1


async def test_budget_under_minimum_is_a_clear_error(
    emu: Emu, client: TikTokClient, world: dict[str, str]
) -> None:
    token, adv, camp = emu.access_token, world["adv"], world["cbo"]
    await emu.ctl("POST", "reset_stats")
    # Known minimum (USD): refused before any write.
    with pytest.raises(BudgetBelowMinimumError) as known:
        await apply_change(
            client, token, adv, "campaign", camp, Change("budget", Decimal(30)), currency="USD"
        )
    assert known.value.minimum == Decimal(50) and await writes(emu) == 0
    # Without the currency, TikTok's own refusal (40002, spec §4.11) comes back typed.
    with pytest.raises(BudgetBelowMinimumError) as told:
        await apply_change(client, token, adv, "campaign", camp, Change("budget", Decimal(30)))
    assert told.value.code == 40002 and "budget" in str(told.value)
    assert (await read_state(client, token, adv, "campaign", camp)).budget == Decimal(100)


async def test_budget_where_there_is_none_is_not_applicable(
    emu: Emu, client: TikTokClient, world: dict[str, str]
) -> None:
    token, adv = emu.access_token, world["adv"]
    cases = [
        ("campaign", world["abo"], "budget"),  # budget on the ad groups
        ("adgroup", world["under_cbo"], "budget"),  # budget on the campaign (CBO)
        ("ad", world["ad"], "budget"),
        ("campaign", world["cbo"], "bid"),
        ("adgroup", world["under_cbo"], "bid"),  # no custom bid
    ]
    await emu.ctl("POST", "reset_stats")
    for level, object_id, kind in cases:
        with pytest.raises(NotApplicableError):
            await apply_change(client, token, adv, level, object_id, Change(kind, Decimal(60)))
    assert await writes(emu) == 0
    state = await read_state(client, token, adv, "adgroup", world["under_cbo"])
    assert state.budget is None and state.bid is None and state.bid_field is None


async def test_bid_change_uses_the_strategy_field(
    emu: Emu, client: TikTokClient, world: dict[str, str]
) -> None:
    token, adv = emu.access_token, world["adv"]
    cpc = await read_state(client, token, adv, "adgroup", world["cpc"])
    assert (cpc.bid, cpc.bid_field) == (Decimal("1.50"), "bid_price")
    result = await apply_change(
        client, token, adv, "adgroup", world["cpc"], Change("bid", Decimal("1.75"))
    )
    assert result.applied and result.after.bid == Decimal("1.75")
    assert result.after.budget == Decimal(50)  # nothing else moved

    ocpm = await read_state(client, token, adv, "adgroup", world["ocpm"])
    assert (ocpm.bid, ocpm.bid_field) == (Decimal(12), "conversion_bid_price")
    result = await apply_change(
        client, token, adv, "adgroup", world["ocpm"], Change("bid", Decimal("9.40"))
    )
    assert result.after.bid == Decimal("9.40")
    again = await apply_change(
        client, token, adv, "adgroup", world["ocpm"], Change("bid", Decimal("9.40"))
    )
    assert not again.applied
    # spec §4.6/§4.11: a bid must stay below the budget.
    with pytest.raises(ChangeRefusedError) as info:
        await apply_change(client, token, adv, "adgroup", world["ocpm"], Change("bid", Decimal(50)))
    assert info.value.code == 40002 and not isinstance(info.value, BudgetBelowMinimumError)
    with pytest.raises(ChangeRefusedError):  # ... and a budget above the bid
        await apply_change(
            client, token, adv, "adgroup", world["ocpm"], Change("budget", Decimal("9.40"))
        )
    assert (await read_state(client, token, adv, "adgroup", world["ocpm"])).budget == 50


async def test_deleted_or_unknown_object_is_a_clear_error(
    emu: Emu, client: TikTokClient, world: dict[str, str]
) -> None:
    token, adv = emu.access_token, world["adv"]
    await client.update_campaign_status(token, adv, [world["abo"]], "DELETE")
    await emu.ctl("POST", "reset_stats")
    with pytest.raises(ObjectGoneError) as gone:
        await apply_change(client, token, adv, "campaign", world["abo"], Change("status", "ENABLE"))
    assert gone.value.deleted and "deleted" in str(gone.value)
    # The ad group inside the deleted campaign is gone too (spec §4.0 cascade).
    with pytest.raises(ObjectGoneError) as child:
        await apply_change(
            client, token, adv, "adgroup", world["cpc"], Change("bid", Decimal("2.00"))
        )
    assert child.value.deleted
    with pytest.raises(ObjectGoneError) as unknown:
        await read_state(client, token, adv, "ad", "1792999999999999999")
    assert not unknown.value.deleted
    assert await writes(emu) == 0


async def test_revoked_token_raises_token_invalid(
    emu: Emu, client: TikTokClient, world: dict[str, str]
) -> None:
    token, adv = emu.access_token, world["adv"]
    await emu.ctl("POST", "revoke", {"access_token": token})
    with pytest.raises(TokenInvalidError):
        await apply_change(
            client, token, adv, "campaign", world["cbo"], Change("status", "DISABLE")
        )
