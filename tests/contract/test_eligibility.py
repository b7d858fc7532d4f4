"""Pre-flight parity: what core.eligibility allows, decided from the SYNCED structure, is
exactly what TikTok (the emulator, per spec §4.2-§4.7) accepts — for CBO and ABO campaigns,
daily, lifetime and unlimited budgets, and every bid strategy the emulator knows
(BID_TYPE_NO_BID, and BID_TYPE_CUSTOM billed CPC, CPM, CPV and OCPM).

Every synced campaign and ad group of one ad account is tried once for a budget and once for a
bid with raw API writes (no pre-flight of ours in the way): an allowed change must be accepted
and read back changed, a refused one must be refused by TikTok.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from core.changes import read_state
from core.eligibility import Blocked, blocked
from core.rules.world import World
from core.tiktok import TikTokClient, TikTokError
from tests.contract.conftest import Emu
from tests.contract.test_changes import usd_account, utc_text
from tests.contract.test_sync import NOW, connected_db, engines, sync_all  # noqa: F401

CENT = Decimal("0.01")


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"fixture": "demo", "now": NOW}


async def _structures(client: TikTokClient, token: str, adv: str) -> None:
    """Add what the demo lacks: a campaign budget cap without CBO, a lifetime CBO budget,
    lifetime and unlimited ad-group budgets, custom bids billed CPM and CPV."""
    start = utc_text(NOW + timedelta(minutes=5))
    end = utc_text(NOW + timedelta(days=30))

    async def campaign(name: str, mode: str, budget: int | None, cbo: bool) -> str:
        fields: dict[str, Any] = {
            "campaign_name": name,
            "objective_type": "TRAFFIC",
            "budget_mode": mode,
            "budget_optimize_on": cbo,
        }
        if budget is not None:
            fields["budget"] = Decimal(budget)
        return await client.create_campaign(token, adv, fields)

    capped = await campaign("Parity | ABO with a cap", "BUDGET_MODE_DAY", 300, False)
    lifetime_cbo = await campaign("Parity | CBO lifetime", "BUDGET_MODE_TOTAL", 3000, True)
    base: dict[str, Any] = {
        "schedule_type": "SCHEDULE_START_END",
        "schedule_start_time": start,
        "schedule_end_time": end,
        "optimization_goal": "CLICK",
        "billing_event": "CPC",
        "pacing": "PACING_MODE_SMOOTH",
        "placement_type": "PLACEMENT_TYPE_NORMAL",
        "placements": ["PLACEMENT_TIKTOK"],
        "promotion_type": "WEBSITE",
        "location_ids": ["6252001"],
        "bid_type": "BID_TYPE_NO_BID",
    }
    groups: list[dict[str, Any]] = [
        {"adgroup_name": "Lifetime", "budget_mode": "BUDGET_MODE_TOTAL", "budget": 900},
        {"adgroup_name": "Unlimited", "budget_mode": "BUDGET_MODE_INFINITE"},
        {
            "adgroup_name": "CPM bid",
            "budget_mode": "BUDGET_MODE_DAY",
            "budget": 60,
            "billing_event": "CPM",
            "bid_type": "BID_TYPE_CUSTOM",
            "bid_price": Decimal("4.00"),
        },
        {
            "adgroup_name": "CPV bid",
            "budget_mode": "BUDGET_MODE_DAY",
            "budget": 60,
            "optimization_goal": "VIDEO_VIEW",
            "billing_event": "CPV",
            "bid_type": "BID_TYPE_CUSTOM",
            "bid_price": Decimal("0.05"),
        },
    ]
    for extra in groups:
        await client.create_adgroup(token, adv, {**base, "campaign_id": capped, **extra})
    await client.create_adgroup(
        token,
        adv,
        {**base, "campaign_id": lifetime_cbo, "adgroup_name": "Under lifetime CBO"},
    )


def _more(value: Decimal | None, fallback: Decimal) -> Decimal:
    return ((value or fallback) * Decimal("1.1")).quantize(CENT, rounding=ROUND_HALF_UP)


async def _accepted(write: Any) -> bool:
    try:
        await write
    except TikTokError:
        return False
    return True


async def test_what_eligibility_allows_is_what_tiktok_accepts(
    emu: Emu,
    client: TikTokClient,
    tmp_path: Path,
    engines: list[Any],  # noqa: F811
) -> None:
    token = emu.access_token
    adv = await usd_account(client, token)
    await _structures(client, token, adv)
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", client, engines)
    await sync_all(db, client)
    [account] = [a for a in await db.accounts() if a.advertiser_id == adv]
    async with db.uow() as u:
        objects = await u.rules.objects([account.id])
    world = World()
    world.add_objects(objects)

    mismatches: list[str] = []
    seen: dict[str, set[str]] = {"budget": set(), "bid": set()}
    for obj in objects:
        if obj.level == "ad":
            # Ads carry neither (spec §4.9-§4.10: no budget or bid fields); never allowed.
            assert blocked("budget", world.shape(obj)) is Blocked.AD
            assert blocked("bid", world.shape(obj)) is Blocked.AD
            continue
        if obj.operation_status == "DELETE":
            continue
        update = client.update_campaign if obj.level == "campaign" else client.update_adgroup
        shape = world.shape(obj)

        # Budget: 10 % more (or 100 where there is none), above every known minimum.
        reason = blocked("budget", shape)
        seen["budget"].add(reason.value if reason else f"{obj.level}:{obj.budget_mode}")
        new = max(_more(obj.budget, Decimal(100)), Decimal(60))
        ok = await _accepted(update(token, adv, obj.object_id, {"budget": new}))
        if ok:
            state = await read_state(client, token, adv, obj.level, obj.object_id)
            ok = state.budget == new
        if ok != (reason is None):
            mismatches.append(f"budget {obj.level} {obj.name!r} {shape}: {reason} vs {ok}")

        # Bid: 10 % less, in the field the strategy uses; where there is no custom bid, both
        # fields are tried and both must be refused.
        reason = blocked("bid", shape)
        live = await read_state(client, token, adv, obj.level, obj.object_id)
        if reason is None:
            seen["bid"].add(f"custom:{live.bid_field}")
            lower = ((obj.bid or Decimal("0.56")) * Decimal("0.9")).quantize(CENT)
            field = live.bid_field or "bid_price"
            ok = await _accepted(update(token, adv, obj.object_id, {field: lower}))
            after = await read_state(client, token, adv, obj.level, obj.object_id)
            if not ok or after.bid != lower:
                mismatches.append(f"bid {obj.name!r} {shape}: allowed but not made")
        else:
            seen["bid"].add(reason.value)
            for name in ("bid_price", "conversion_bid_price"):
                if await _accepted(update(token, adv, obj.object_id, {name: Decimal("0.50")})):
                    mismatches.append(f"bid {obj.level} {obj.name!r} {shape}: {name} accepted")
    assert not mismatches, "\n".join(mismatches)
    # The walk covered every structure the issue names.
    assert {
        "campaign_budget",
        "adgroup_budgets",
        "unlimited",
        "campaign:BUDGET_MODE_DAY",
        "campaign:BUDGET_MODE_TOTAL",
        "adgroup:BUDGET_MODE_DAY",
        "adgroup:BUDGET_MODE_TOTAL",
    } <= seen["budget"], seen["budget"]
    assert {"no_custom_bid", "campaign_bid", "custom:bid_price", "custom:conversion_bid_price"} <= (
        seen["bid"]
    ), seen["bid"]
