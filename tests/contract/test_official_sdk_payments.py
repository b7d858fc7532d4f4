"""Money and Business Center assets through TikTok's own Python SDK (`business_api_client`,
unchanged, only its host pointed at the emulator): ad account and BC balances, their transaction
records, advertiser/update and bc/asset/get. The records must tell the balances' story
(funding − costs = balance; BC payments − transfers out = BC balance) and the costs the
reports' spend; what advertiser/update changes must read back in advertiser/info."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import ROUND_CEILING, Decimal
from typing import Any

import aiohttp
import business_api_client as sdk
import pytest
from business_api_client.tiktok_business.tiktok_exceptions import TiktokSDKError

from tests.contract.conftest import Emu
from tests.contract.raw_api import Api
from tests.contract.test_official_sdk import call, official, ok

WHOLE_YEAR = {"start_date": "2026-01-01", "end_date": "2026-11-30"}


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    """A fixed clock (12:00 UTC), so days and billing steps are the same on every run."""
    return {"fixture": "demo", "now": "2026-11-30T12:00:00Z"}


@pytest.fixture
async def plain() -> AsyncIterator[aiohttp.ClientSession]:
    """An untraced session for raw calls the SDK cannot make (fields, the bc_id budget form)."""
    async with aiohttp.ClientSession() as s:
        yield s


async def token_of(emu: Emu, user: str) -> str:
    """A token of a login for all its accounts (control API)."""
    return str((await emu.ctl("POST", "token", {"user": user}))["access_token"])


def bc_of(emu: Emu, bc_type: str) -> str:
    """The demo's Business Center of a type (NORMAL: the demo owner's; AGENCY: the agency's)."""
    return next(b.bc_id for b in emu.state.bcs.values() if b.type == bc_type)


def money(value: Any) -> Decimal:
    """A JSON money number as Decimal."""
    assert isinstance(value, int | float) and not isinstance(value, bool), value
    return Decimal(str(value))


async def pages(fn: Callable[..., Any], *args: Any, key: str, **kwargs: Any) -> list[Any]:
    """Every row of a paginated SDK call (page_info.total_page, spec §1.6)."""
    rows: list[Any] = []
    page, total = 1, 1
    while page <= total:
        data = ok(await call(fn, *args, page=page, page_size=50, **kwargs))
        rows += data[key]
        total = data["page_info"]["total_page"]
        page += 1
    return rows


async def transactions(api: sdk.ApiClient, bc_id: str, token: str, kind: str,
                       **filters: Any) -> list[dict[str, Any]]:
    """advertiser/transaction/get of one transfer type over 2026, every page."""
    filt = sdk.FilteringAdvertiserTransactionGet(transfer_type=kind, **{**WHOLE_YEAR, **filters})
    return await pages(sdk.BcPaymentApi(api).advertiser_transaction_get, bc_id, token,
                       key="transaction_list", filtering=filt)


async def report_spend(api: sdk.ApiClient, adv: str, token: str, first: str, last: str) -> Decimal:
    """The account's spend over local days from report/integrated/get (the SDK's call)."""
    data = ok(await call(
        sdk.ReportingApi(api).report_integrated_get, adv, "BASIC", ["advertiser_id"], token,
        data_level="AUCTION_ADVERTISER", start_date=first, end_date=last, metrics=["spend"],
    ))
    return sum((Decimal(r["metrics"]["spend"]) for r in data["list"]), Decimal(0))


async def test_records_tell_the_story_of_the_balances(emu: Emu, session: aiohttp.ClientSession
                                                      ) -> None:
    api = official(emu)
    token = await token_of(emu, "agency")
    bc_id = bc_of(emu, "AGENCY")
    pay = sdk.BcPaymentApi(api)

    async def state() -> tuple[dict[str, Decimal], dict[str, Decimal], dict[str, Decimal]]:
        rows = await pages(pay.advertiser_balance_get, bc_id, token, key="advertiser_account_list")
        balances = {r["advertiser_id"]: money(r["account_balance"]) for r in rows}
        funded: dict[str, Decimal] = dict.fromkeys(balances, Decimal(0))
        for kind in ("TRANS_TYPE_TRANSFER", "TRANS_TYPE_PAYMENT"):
            for r in await transactions(api, bc_id, token, kind):
                assert r["funds_type"] == "FUNDS_TYPE_CASH" and r["transfer_type"] == kind
                funded[r["advertiser_id"]] += money(r["amount"])
        costs: dict[str, Decimal] = dict.fromkeys(balances, Decimal(0))
        for r in await transactions(api, bc_id, token, "TRANS_TYPE_COST"):
            assert r["funds_type"] is None  # cost records involve no funds type (SDK docs)
            costs[r["advertiser_id"]] += money(r["amount"])
        return balances, funded, costs

    balances, funded, costs = await state()
    assert set(balances) == set(emu.state.bcs[bc_id].advertiser_ids)
    info = await Api(emu.api_url, token, session).get(
        "advertiser/info/", advertiser_ids=list(balances), fields=["advertiser_id", "balance"])
    assert {a["advertiser_id"]: money(a["balance"]) for a in info["data"]["list"]} == balances
    for adv in balances:
        assert funded[adv] > 0 and costs[adv] > 0
        assert funded[adv] - costs[adv] == balances[adv]

    # three hours of delivery later (billed hourly): the costs grew by what the balances lost
    await emu.ctl("POST", "clock", {"advance_seconds": 3 * 3600})
    later, funded_later, costs_later = await state()
    assert funded_later == funded
    for adv in balances:
        assert later[adv] < balances[adv]
        assert costs_later[adv] - costs[adv] == balances[adv] - later[adv]

    # Europe/London is UTC in November: a UTC day's cost record is the report's spend that day
    uk = next(a for a in balances if emu.state.advertisers[a].display_timezone == "Europe/London")
    by_day = {r["date"]: money(r["amount"])
              for r in await transactions(api, bc_id, token, "TRANS_TYPE_COST", keyword=uk)}
    for day in ("2026-11-29", "2026-11-30"):
        assert by_day[f"{day} 00:00:00"] == await report_spend(api, uk, token, day, day)

    # the BC: its payments minus its transfers out are its balance
    bc = ok(await call(pay.bc_balance_get, bc_id, token))
    assert bc["bc_id"] == bc_id and bc["currency"] == emu.state.bcs[bc_id].currency
    charged = ok(await call(pay.bc_transaction_get, bc_id, token, page_size=50, **WHOLE_YEAR))
    payments = sum((money(r["amount"]) for r in charged["list"]), Decimal(0))
    transfers = sum((money(r["amount"]) for r in
                     await transactions(api, bc_id, token, "TRANS_TYPE_TRANSFER")), Decimal(0))
    assert transfers > 0
    summary = charged["transaction_summary"]
    assert money(summary["amount_charged"]) == payments
    assert money(summary["amount_paid"]) == transfers
    assert payments - transfers == money(bc["account_balance"]) > 0
    assert all(r["currency"] == bc["currency"] and r["invoice_id"] for r in charged["list"])


async def test_transaction_pages_and_filters(emu: Emu) -> None:
    api = official(emu)
    token = await token_of(emu, "agency")
    bc_id = bc_of(emu, "AGENCY")
    pay = sdk.BcPaymentApi(api)
    filt = sdk.FilteringAdvertiserTransactionGet(transfer_type="TRANS_TYPE_COST", **WHOLE_YEAR)
    first = ok(await call(pay.advertiser_transaction_get, bc_id, token, filtering=filt,
                          page=1, page_size=3))
    info = first["page_info"]
    assert info["page_size"] == 3 and len(first["transaction_list"]) == 3
    seen: list[tuple[str, str]] = []
    for page in range(1, info["total_page"] + 1):
        data = ok(await call(pay.advertiser_transaction_get, bc_id, token, filtering=filt,
                             page=page, page_size=3))
        seen += [(r["date"], r["advertiser_id"]) for r in data["transaction_list"]]
    assert len(set(seen)) == len(seen) == info["total_number"]
    assert seen == sorted(seen, reverse=True)  # newest first
    past = ok(await call(pay.advertiser_transaction_get, bc_id, token, filtering=filt,
                         page=info["total_page"] + 1, page_size=3))
    assert past["transaction_list"] == []

    # one summed row per account
    rows = await transactions(api, bc_id, token, "TRANS_TYPE_COST")
    summed = await transactions(api, bc_id, token, "TRANS_TYPE_COST", summary_by_account=True)
    assert {r["advertiser_id"]: money(r["amount"]) for r in summed} == {
        a: sum((money(r["amount"]) for r in rows if r["advertiser_id"] == a), Decimal(0))
        for a in {r["advertiser_id"] for r in rows}
    }
    # no vouchers in this world; a keyword picks one account; the window bounds the dates
    assert await transactions(api, bc_id, token, "TRANS_TYPE_TRANSFER",
                              funds_type=["FUNDS_TYPE_GRANT"]) == []
    name = emu.state.advertisers[rows[0]["advertiser_id"]].name
    picked = await transactions(api, bc_id, token, "TRANS_TYPE_COST", keyword=name.upper())
    assert picked and {r["advertiser_name"] for r in picked} == {name}
    week = await transactions(api, bc_id, token, "TRANS_TYPE_COST", start_date="2026-11-24",
                              end_date="2026-11-30")
    assert week and all("2026-11-24" <= r["date"][:10] <= "2026-11-30" for r in week)
    assert await transactions(api, bc_id, token, "TRANS_TYPE_TAX") == []

    bad = [
        {"start_date": "2026-11-30", "end_date": "2026-11-01"},  # start after end
        {"start_date": "2025-01-01", "end_date": "2026-11-30"},  # more than a year
        {"transfer_type": "TRANS_TYPE_GIFT"},
        {"funds_type": ["FUNDS_TYPE_GOLD"]},
    ]
    for case in bad:
        with pytest.raises(TiktokSDKError, match="Error Code: 40002"):
            await call(pay.advertiser_transaction_get, bc_id, token,
                       filtering=sdk.FilteringAdvertiserTransactionGet(**case))
    with pytest.raises(TiktokSDKError, match="Error Code: 40002"):  # page_size 1..50
        await call(pay.advertiser_transaction_get, bc_id, token, page_size=51)
    with pytest.raises(TiktokSDKError, match="Error Code: 40002"):
        await call(pay.bc_transaction_get, bc_id, token, start_date="30/11/2026")


async def test_account_balances_by_business_center(emu: Emu, plain: aiohttp.ClientSession
                                                   ) -> None:
    api = official(emu)
    token = emu.access_token
    bc_id = bc_of(emu, "NORMAL")
    pay = sdk.BcPaymentApi(api)
    rows = await pages(pay.advertiser_balance_get, bc_id, token, key="advertiser_account_list")
    assert [r["advertiser_id"] for r in rows] == emu.state.bcs[bc_id].advertiser_ids
    same = await Api(emu.api_url, token, plain).get("bc/advertiser/balance/get/", bc_id=bc_id,
                                                    page_size=50)
    for row, other in zip(rows, same["data"]["advertiser_account_list"], strict=True):
        assert {k: row[k] for k in other} == other  # the same rows, plus the budget
        assert row["budget_mode"] == "UNLIMITED" and row["budget"] == 0
        assert row["currency"] == emu.state.advertisers[row["advertiser_id"]].currency

    one = ok(await call(pay.advertiser_balance_get, bc_id, token,
                        filtering=sdk.FilteringAdvertiserBalanceGet(keyword=rows[1]["advertiser_id"])))
    [only] = one["advertiser_account_list"]
    assert only["advertiser_id"] == rows[1]["advertiser_id"]
    assert only["transferable_amount"] == only["valid_cash_balance"]  # total_number is 1
    assert "transferable_amount" not in rows[0]
    approved = ok(await call(pay.advertiser_balance_get, bc_id, token,
                             filtering=sdk.FilteringAdvertiserBalanceGet(
                                 advertiser_status=["SHOW_ACCOUNT_STATUS_PUNISHED"])))
    assert approved["advertiser_account_list"] == []
    with pytest.raises(TiktokSDKError, match="Error Code: 40002"):
        await call(pay.advertiser_balance_get, bc_id, token,
                   filtering=sdk.FilteringAdvertiserBalanceGet(advertiser_status=["ACTIVE"]))
    with pytest.raises(TiktokSDKError, match="Error Code: 40002"):
        await call(pay.advertiser_balance_get, bc_id, token, page_size=51)

    # the extra fields a raw client asks for (the SDK has no `fields`)
    raw = Api(emu.api_url, token, plain)
    extra = await raw.get("advertiser/balance/get/", bc_id=bc_id, page_size=1,
                          fields=["balance_info", "budget_remaining", "max_transferable_amount",
                                  "budget_frequency_restriction"])
    [row] = extra["data"]["advertiser_account_list"]
    assert row["balance_info"]["account_balance"] == row["account_balance"]
    assert row["max_transferable_amount"]["cash_amount"] == row["cash_balance"]
    assert row["budget_remaining"] == 0
    assert row["budget_frequency_restriction"]["remaining_count"] == 10
    plain_row = (await raw.get("advertiser/balance/get/", bc_id=bc_id, page_size=1)
                 )["data"]["advertiser_account_list"][0]
    assert "balance_info" not in plain_row and "budget_remaining" not in plain_row


async def test_refusals(emu: Emu) -> None:
    api = official(emu)
    pay = sdk.BcPaymentApi(api)
    demo = await token_of(emu, "demo")
    normal, agency_bc = bc_of(emu, "NORMAL"), bc_of(emu, "AGENCY")
    # "only under a Business Center whose type is not NORMAL" (docs of advertiser/transaction/get)
    with pytest.raises(TiktokSDKError, match="Error Code: 40002"):
        await call(pay.advertiser_transaction_get, normal, demo)
    calls: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
        (pay.advertiser_balance_get, (agency_bc, demo)),
        (pay.advertiser_transaction_get, (agency_bc, demo)),
        (pay.bc_balance_get, (agency_bc, demo)),
        (pay.bc_transaction_get, (agency_bc, demo)),
        (sdk.BCApi(api).bc_asset_get, (agency_bc, "ADVERTISER", demo)),
        (pay.bc_balance_get, ("1234567890", demo)),
    ]
    for fn, args in calls:  # a Business Center the user is not in
        with pytest.raises(TiktokSDKError, match="Error Code: 40001"):
            await call(fn, *args)
    with pytest.raises(TiktokSDKError, match="Error Code: 40105"):
        await call(pay.bc_balance_get, normal, "not-a-token")


async def test_advertiser_update_reads_back(emu: Emu, session: aiohttp.ClientSession) -> None:
    api = official(emu)
    account = sdk.AccountApi(api)
    token = emu.access_token
    adv = next(a for a in emu.state.advertisers.values() if a.country == "US")
    body = sdk.AdvertiserUpdateBody(
        advertiser_id=adv.advertiser_id, advertiser_name="Glowly United States",
        contact_name="Maria Lopez", contact_email="maria@glowly.example",
        contact_number="+15550123489", address="1 Market St, San Francisco",
        promotion_link="https://glowly.example/",
    )
    assert ok(await call(account.advertiser_update, token, body=body)) == {}
    raw = Api(emu.api_url, token, session)
    [info] = (await raw.get("advertiser/info/", advertiser_ids=[adv.advertiser_id]))["data"]["list"]
    assert info["name"] == "Glowly United States"
    assert info["contacter"] == "M***"
    assert info["email"] == "m****@" + "*" * len("glowly.example")
    assert info["telephone_number"] == info["cellphone_number"] == "+1********89"
    assert info["address"] == "1 Market St, San Francisco"
    listed = ok(await call(sdk.AuthenticationApi(api).oauth2_advertiser_get, emu.app_id,
                           emu.secret, token))
    assert {a["advertiser_id"]: a["advertiser_name"] for a in listed["list"]}[
        adv.advertiser_id] == "Glowly United States"
    [row] = ok(await call(sdk.BcPaymentApi(api).advertiser_balance_get, adv.owner_bc_id, token,
                          filtering=sdk.FilteringAdvertiserBalanceGet(
                              keyword=adv.advertiser_id)))["advertiser_account_list"]
    assert row["advertiser_name"] == "Glowly United States" and row["contact_name"] == "M***"

    # a license: only where TikTok supports it (Brazil here), with an image of the account
    br = next(a for a in emu.state.advertisers.values() if a.country == "BR")
    image = next(i for i in emu.state.images.values() if i.advertiser_id == br.advertiser_id)
    ok(await call(account.advertiser_update, token, body=sdk.AdvertiserUpdateBody(
        advertiser_id=br.advertiser_id, license_no="12.345.678/0001-90",
        license_image_id=image.image_id, need_submit_certificate=True)))
    wanted = ["advertiser_id", "license_no", "license_url"]
    [br_info] = (await raw.get("advertiser/info/", advertiser_ids=[br.advertiser_id],
                               fields=wanted))["data"]["list"]
    assert br_info["license_no"] == "12.345.678/0001-90"
    assert image.image_id in br_info["license_url"]

    refused = [
        (40002, {"company": "Glowly Inc"}),  # company_name_editable is false
        (40002, {"license_no": "123"}),  # not supported for a US account
        (40002, {"contact_email": "not-an-email"}),
        (40002, {"license_image_id": image.image_id}),  # another account's image
        (40002, {"promotion_link": "https://x.example/" + "a" * 250}),
        (40012, {}),  # nothing to update
    ]
    for code, fields in refused:
        with pytest.raises(TiktokSDKError, match=f"Error Code: {code}"):
            await call(account.advertiser_update, token,
                       body=sdk.AdvertiserUpdateBody(advertiser_id=adv.advertiser_id, **fields))
    [after] = (await raw.get("advertiser/info/", advertiser_ids=[adv.advertiser_id],
                             fields=["advertiser_id", "company", "license_no"]))["data"]["list"]
    assert after == {"advertiser_id": adv.advertiser_id, "company": adv.company, "license_no": ""}
    demo = await token_of(emu, "demo")
    with pytest.raises(TiktokSDKError, match="Error Code: 40001"):  # not in the token
        await call(account.advertiser_update, demo, body=sdk.AdvertiserUpdateBody(
            advertiser_id=br.advertiser_id, advertiser_name="Mine now"))


async def test_business_center_budgets(emu: Emu, plain: aiohttp.ClientSession) -> None:
    """The bc_id form of advertiser/update (not in the SDK's body model): raw calls."""
    api = official(emu)
    token = await token_of(emu, "agency")
    bc_id = bc_of(emu, "AGENCY")
    raw = Api(emu.api_url, token, plain)
    uk = next(a for a in emu.state.bcs[bc_id].advertiser_ids
              if emu.state.advertisers[a].display_timezone == "Europe/London")
    month = await report_spend(api, uk, token, "2026-11-01", "2026-11-30")
    assert month > 0

    async def update(kind: str, *items: dict[str, Any]) -> list[dict[str, Any]]:
        reply = await raw.post("advertiser/update/", {"bc_id": bc_id, "budget_update_type": kind,
                                                      "advertiser_budgets": list(items)})
        assert reply["code"] == 0, reply
        return list(reply["data"]["list"])

    async def row() -> dict[str, Any]:
        body = await raw.get("advertiser/balance/get/", bc_id=bc_id, page_size=1,
                             filtering={"keyword": uk},
                             fields=["budget_remaining", "budget_frequency_restriction"])
        return dict(body["data"]["advertiser_account_list"][0])

    low = float(month)  # under 105% of the month's spend: refused for that account only
    [failed] = await update("UPDATE", {"advertiser_id": uk, "budget_mode": "MONTHLY_BUDGET",
                                       "budget": low})
    assert failed["status"] == "FAILED" and failed["error_msg"]
    assert (await row())["budget_mode"] == "UNLIMITED"

    budget = (month * 2).quantize(Decimal("0.01"))
    [done] = await update("UPDATE", {"advertiser_id": uk, "budget": float(budget)})
    assert done == {"advertiser_id": uk, "status": "SUCCESS", "error_msg": None,
                    "one_click_set_amount": None}
    got = await row()
    assert got["budget_mode"] == "MONTHLY_BUDGET"  # UPDATE's default mode
    assert money(got["budget"]) == budget and money(got["budget_cost"]) == month
    assert money(got["budget_remaining"]) == budget - month

    [inc] = await update("INCREMENTAL_UPDATE", {"advertiser_id": uk, "budget": 100})
    assert inc["status"] == "SUCCESS" and money((await row())["budget"]) == budget + 100
    [least] = await update("ONE_CLICK_SET", {"advertiser_id": uk})
    expected = (month * Decimal("1.05")).quantize(Decimal("0.01"), rounding=ROUND_CEILING)
    assert money(least["one_click_set_amount"]) == expected
    got = await row()
    assert money(got["budget"]) == expected
    assert got["budget_frequency_restriction"]["used_count"] == 3

    # six hours later the month's spend has grown, and so has the budget's cost
    await emu.ctl("POST", "clock", {"advance_seconds": 6 * 3600})
    grown = await report_spend(api, uk, token, "2026-11-01", "2026-11-30")
    assert money((await row())["budget_cost"]) == grown > month

    [reset] = await update("RESET", {"advertiser_id": uk})  # only a CUSTOM_BUDGET resets
    assert reset["status"] == "FAILED"
    [other] = await update("UPDATE", {"advertiser_id": "7000000000000000000", "budget": 10})
    assert other["status"] == "FAILED"  # not an account of this BC
    too_many = await raw.post("advertiser/update/", {
        "bc_id": bc_id, "budget_update_type": "ONE_CLICK_SET",
        "advertiser_budgets": [{"advertiser_id": a} for a in emu.state.bcs[bc_id].advertiser_ids]})
    assert too_many["code"] == 40002
    # a STANDARD member (no finance role) of the demo owner's BC may not set budgets
    normal = bc_of(emu, "NORMAL")
    refused = await raw.post("advertiser/update/", {
        "bc_id": normal, "advertiser_budgets": [{"advertiser_id": uk, "budget": 10}]})
    assert refused["code"] == 40001 and refused["data"] == {}
    both = await raw.post("advertiser/update/", {"bc_id": bc_id, "advertiser_id": uk,
                                                 "advertiser_budgets": []})
    assert both["code"] == 40002


async def test_business_center_assets(emu: Emu, plain: aiohttp.ClientSession) -> None:
    api = official(emu)
    token = emu.access_token
    bc_id = bc_of(emu, "NORMAL")
    bc_api = sdk.BCApi(api)
    ids = emu.state.bcs[bc_id].advertiser_ids
    accounts = await pages(bc_api.bc_asset_get, bc_id, "ADVERTISER", token, key="list")
    assert [a["asset_id"] for a in accounts] == ids
    for a in accounts:
        adv = emu.state.advertisers[a["asset_id"]]
        assert a["asset_type"] == "ADVERTISER" and a["asset_name"] == adv.name
        assert a["relation_type"] == "OWNER_BC" and a["relation_status"] == "BOUND"
        assert a["advertiser_role"] == "ADMIN" and a["catalog_role"] is None

    first = ok(await call(bc_api.bc_asset_get, bc_id, "ADVERTISER", token, page=2, page_size=1))
    assert first["page_info"]["total_number"] == len(ids)
    assert [a["asset_id"] for a in first["list"]] == ids[1:2]
    named = ok(await call(bc_api.bc_asset_get, bc_id, "ADVERTISER", token,
                          filtering=sdk.Filtering(keyword="glowly jp")))
    assert [a["asset_name"] for a in named["list"]] == ["Glowly JP"]

    # TikTok accounts: the BC_AUTH_TT identities authorised to this BC
    idents: set[str] = set()
    for adv in ids:
        found = ok(await call(sdk.IdentityApi(api).identity_get, adv, token,
                              identity_type="BC_AUTH_TT", identity_authorized_bc_id=bc_id))
        idents |= {i["identity_id"] for i in found["identity_list"]}
    tt = await pages(bc_api.bc_asset_get, bc_id, "TT_ACCOUNT", token, key="list")
    assert idents and {a["asset_id"] for a in tt} == idents
    assert all(a["tt_account_roles"] and a["owner_bc_name"] is None for a in tt)

    raw = Api(emu.api_url, token, plain)
    catalogs = (await raw.get("catalog/get/", bc_id=bc_id))["data"]["list"]
    cat_assets = await pages(bc_api.bc_asset_get, bc_id, "CATALOG", token, key="list")
    assert {a["asset_id"] for a in cat_assets} == {c["catalog_id"] for c in catalogs}
    pixels: set[str] = set()
    for adv in ids:
        pixels |= {p["pixel_id"] for p in (await raw.get(
            "pixel/list/", advertiser_id=adv))["data"]["pixels"]}
    px = await pages(bc_api.bc_asset_get, bc_id, "PIXEL", token, key="list")
    assert pixels and {a["asset_id"] for a in px} == pixels
    assert await pages(bc_api.bc_asset_get, bc_id, "LEAD", token, key="list") == []

    # another member's assets: the agency is a STANDARD member without these accounts
    agency = emu.state.users["agency"]
    theirs = ok(await call(bc_api.bc_asset_get, bc_id, "ADVERTISER", token,
                           filtering=sdk.Filtering(user_id=agency.core_user_id)))
    assert theirs["list"] == []
    bad: list[tuple[str, dict[str, Any]]] = [
        ("ADVERTISER", {"user_id": agency.core_user_id, "user_email": "x@example.com"}),
        ("PIXEL", {"user_email": "x@example.com"}),  # only with ADVERTISER
        ("ADVERTISER", {"user_id": "1"}),  # not a member
        ("SHOES", {}),
    ]
    for kind, filt in bad:
        with pytest.raises(TiktokSDKError, match="Error Code: 40002"):
            await call(bc_api.bc_asset_get, bc_id, kind, token, filtering=sdk.Filtering(**filt))
    with pytest.raises(TiktokSDKError, match="Error Code: 40002"):
        await call(bc_api.bc_asset_get, bc_id, "ADVERTISER", token, page_size=51)

