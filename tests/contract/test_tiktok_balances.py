"""Contract: account balances go down by exactly what delivery spends (spec §3.1, §3.2)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from sandbox.tiktok.model import Advertiser
from tests.contract.conftest import Emu
from tests.contract.raw_api import Api

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"fixture": "demo", "now": NOW}


async def balance(api: Api, adv_id: str) -> Decimal:
    """advertiser/info's balance (a JSON number, spec §3.1)."""
    body = await api.get(
        "advertiser/info/", advertiser_ids=[adv_id], fields=["advertiser_id", "balance"]
    )
    assert body["code"] == 0, body
    return Decimal(str(body["data"]["list"][0]["balance"]))


async def spend_today(api: Api, adv: Advertiser, emu: Emu) -> Decimal:
    """The account's spend of its own today so far, from report/integrated/get."""
    today = emu.clock.now().astimezone(adv.tz).date().isoformat()
    rows = await api.report_rows(
        advertiser_id=adv.advertiser_id,
        data_level="AUCTION_ADVERTISER",
        dimensions=["advertiser_id"],
        metrics=["spend"],
        start_date=today,
        end_date=today,
    )
    return Decimal(rows[0]["metrics"]["spend"]) if rows else Decimal(0)


async def bc_balances(api: Api, bc_id: str) -> dict[str, Decimal]:
    """bc/advertiser/balance/get, every page."""
    out: dict[str, Decimal] = {}
    page = 1
    while True:
        body = await api.get("bc/advertiser/balance/get/", bc_id=bc_id, page=page, page_size=1)
        assert body["code"] == 0, body
        for row in body["data"]["advertiser_account_list"]:
            out[row["advertiser_id"]] = Decimal(str(row["account_balance"]))
        if page >= body["data"]["page_info"]["total_page"]:
            return out
        page += 1


async def test_balance_drops_by_the_reported_spend(emu: Emu, api: Api) -> None:
    adv = next(a for a in emu.state.advertisers.values() if a.owner_bc_id)
    before, spent_before = await balance(api, adv.advertiser_id), await spend_today(api, adv, emu)
    assert before > 0
    await emu.ctl("POST", "clock", {"advance_seconds": 2 * 3600})  # same local day
    after, spent_after = await balance(api, adv.advertiser_id), await spend_today(api, adv, emu)
    assert spent_after > spent_before
    assert before - after == spent_after - spent_before
    # spend is billed hourly (config balance_refresh_seconds): half an hour later, no change yet
    await emu.ctl("POST", "clock", {"advance_seconds": 1800})
    assert await balance(api, adv.advertiser_id) == after
    # the Business Center sees the same balances
    by_bc = await bc_balances(api, adv.owner_bc_id)
    assert by_bc[adv.advertiser_id] == after
    assert set(by_bc) == set(emu.state.bcs[adv.owner_bc_id].advertiser_ids)


async def test_paused_accounts_stop_paying(emu: Emu, api: Api) -> None:
    adv = next(iter(emu.state.advertisers.values()))
    live = list(emu.state.campaigns_by_adv[adv.advertiser_id])
    for i in range(0, len(live), 20):
        body = await api.post(
            "campaign/status/update/",
            {
                "advertiser_id": adv.advertiser_id,
                "campaign_ids": live[i : i + 20],
                "operation_status": "DISABLE",
            },
        )
        assert body["code"] == 0, body
    before = await balance(api, adv.advertiser_id)
    await emu.ctl("POST", "clock", {"advance_seconds": 3600})
    assert await balance(api, adv.advertiser_id) == before


async def test_bc_balance_refusals(emu: Emu, api: Api) -> None:
    bc_id = next(iter(emu.state.bcs))
    too_big = await api.get("bc/advertiser/balance/get/", bc_id=bc_id, page_size=51)
    assert too_big["code"] == 40002
    foreign = await api.get("bc/advertiser/balance/get/", bc_id="999")
    assert (foreign["code"], foreign["data"]) == (40001, {})
