# ruff: noqa: F811 - pytest fixtures imported by name come back as parameters
"""Business Center administration and creative portfolios through TikTok's own Python SDK
(`business_api_client`, unchanged, only its host pointed at the emulator), raw HTTP where the SDK
has no call: bc/transfer/ moves money that every balance and record then agrees on;
bc/image/upload/ + bc/advertiser/create/ make an ad account that shows wherever the BC's accounts
show; creative/portfolio/create/ makes portfolios that list, get and delete as TikTok's docs say."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import business_api_client as sdk
import pytest
from business_api_client.tiktok_business.tiktok_exceptions import TiktokSDKError

from tests.contract.conftest import Emu
from tests.contract.raw_api import Api
from tests.contract.test_official_sdk import call, first_account, official, ok
from tests.contract.test_official_sdk_payments import (  # noqa: F401 - fixtures by name
    WHOLE_YEAR,
    bc_of,
    emulator_options,
    money,
    pages,
    plain,
    report_spend,
    token_of,
    transactions,
)
from tests.media import image


def raw(emu: Emu, token: str, session: aiohttp.ClientSession) -> Api:
    """Raw calls with a token."""
    return Api(emu.api_url, token, session)


async def balances(emu: Emu, token: str, bc_id: str, session: aiohttp.ClientSession
                   ) -> dict[str, dict[str, Decimal]]:
    """Each account's balance by the three endpoints that answer it."""
    api = official(emu)
    rows = await pages(sdk.BcPaymentApi(api).advertiser_balance_get, bc_id, token,
                       key="advertiser_account_list")
    out: dict[str, dict[str, Decimal]] = {
        r["advertiser_id"]: {"advertiser/balance/get": money(r["account_balance"])} for r in rows}
    listed = await raw(emu, token, session).get("bc/advertiser/balance/get/", bc_id=bc_id,
                                                page_size=50)
    assert listed["code"] == 0, listed
    for r in listed["data"]["advertiser_account_list"]:
        out[r["advertiser_id"]]["bc/advertiser/balance/get"] = money(r["account_balance"])
    info = await raw(emu, token, session).get("advertiser/info/", advertiser_ids=list(out),
                                              fields=["advertiser_id", "balance"])
    assert info["code"] == 0, info
    for a in info["data"]["list"]:
        out[a["advertiser_id"]]["advertiser/info"] = money(a["balance"])
    return out


def one(views: dict[str, Decimal]) -> Decimal:
    """The balance the three endpoints agree on."""
    assert len(views) == 3 and len(set(views.values())) == 1, views
    return next(iter(views.values()))


async def ledger(emu: Emu, token: str, bc_id: str, adv: str) -> tuple[Decimal, Decimal]:
    """(Σ TRANSFER + PAYMENT records, Σ COST records) of one account over 2026."""
    api = official(emu)
    funded = Decimal(0)
    for kind in ("TRANS_TYPE_TRANSFER", "TRANS_TYPE_PAYMENT"):
        funded += sum((money(r["amount"]) for r in await transactions(api, bc_id, token, kind)
                       if r["advertiser_id"] == adv), Decimal(0))
    costs = sum((money(r["amount"]) for r in
                 await transactions(api, bc_id, token, "TRANS_TYPE_COST")
                 if r["advertiser_id"] == adv), Decimal(0))
    return funded, costs


async def bc_cash(emu: Emu, token: str, bc_id: str) -> Decimal:
    """bc/balance/get's cash balance."""
    got = ok(await call(sdk.BcPaymentApi(official(emu)).bc_balance_get, bc_id, token))
    assert money(got["cash_balance"]) == money(got["account_balance"])
    return money(got["account_balance"])


async def transfer(emu: Emu, token: str, **body: Any) -> dict[str, Any]:
    """bc/transfer/ through the SDK's BcTransferBody."""
    return ok(await call(sdk.BcPaymentApi(official(emu)).bc_transfer, token,
                         body=sdk.BcTransferBody(**body)))


async def test_a_transfer_moves_money_that_every_endpoint_agrees_on(
        emu: Emu, plain: aiohttp.ClientSession) -> None:
    token = await token_of(emu, "agency")
    bc_id = bc_of(emu, "AGENCY")
    uk = next(a for a in emu.state.bcs[bc_id].advertiser_ids
              if emu.state.advertisers[a].currency == "GBP")
    br = next(a for a in emu.state.bcs[bc_id].advertiser_ids
              if emu.state.advertisers[a].currency == "BRL")
    before = one((await balances(emu, token, bc_id, plain))[uk])
    bc_before = await bc_cash(emu, token, bc_id)
    paid_before = ok(await call(sdk.BcPaymentApi(official(emu)).bc_transaction_get, bc_id, token,
                                **WHOLE_YEAR))["transaction_summary"]["amount_paid"]

    done = await transfer(emu, token, bc_id=bc_id, advertiser_id=uk, transfer_type="RECHARGE",
                          cash_amount=123.45)
    assert done["bc_id"] == bc_id and done["advertiser_id"] == uk
    [info] = done["transaction_infos"]
    assert info["transaction_type"] == "CASH" and isinstance(info["transaction_id"], str)
    assert info["remitter_account"] == {"account_type": "BC", "account_id": bc_id}
    assert info["payee_account"] == {"account_type": "ADVERTISER", "account_id": uk}

    after = await balances(emu, token, bc_id, plain)
    assert one(after[uk]) == before + Decimal("123.45")
    assert await bc_cash(emu, token, bc_id) == bc_before - Decimal("123.45")
    moved = [r for r in await transactions(official(emu), bc_id, token, "TRANS_TYPE_TRANSFER")
             if r["advertiser_id"] == uk and r["date"] == "2026-11-30 12:00:00"]
    assert [money(r["amount"]) for r in moved] == [Decimal("123.45")]
    assert moved[0]["funds_type"] == "FUNDS_TYPE_CASH" and moved[0]["currency"] == "GBP"
    summary = ok(await call(sdk.BcPaymentApi(official(emu)).bc_transaction_get, bc_id, token,
                            **WHOLE_YEAR))["transaction_summary"]
    assert money(summary["amount_paid"]) == money(paid_before) + Decimal("123.45")
    funded, costs = await ledger(emu, token, bc_id, uk)
    assert funded - costs == one(after[uk])

    # delivery goes on: the spend is billed against the new balance and the records still add up
    await emu.ctl("POST", "clock", {"advance_seconds": 2 * 3600})
    later = one((await balances(emu, token, bc_id, plain))[uk])
    assert later < one(after[uk])
    funded, costs = await ledger(emu, token, bc_id, uk)
    assert funded - costs == later

    # a REFUND takes money back to the BC
    await transfer(emu, token, bc_id=bc_id, advertiser_id=uk, transfer_type="REFUND",
                   cash_amount=23.451)  # rounded to two decimals
    assert one((await balances(emu, token, bc_id, plain))[uk]) == later - Decimal("23.45")
    assert await bc_cash(emu, token, bc_id) == bc_before - Decimal("100.00")
    funded, costs = await ledger(emu, token, bc_id, uk)
    assert funded - costs == later - Decimal("23.45")

    # the documented limits
    bc_now = await bc_cash(emu, token, bc_id)
    refusals = [
        ({"advertiser_id": uk, "transfer_type": "RECHARGE", "cash_amount": float(bc_now) + 1},
         "40002"),
        ({"advertiser_id": uk, "transfer_type": "REFUND",
          "cash_amount": float(later) + 1000}, "40002"),
        ({"advertiser_id": br, "transfer_type": "RECHARGE", "cash_amount": 10}, "40002"),
        ({"advertiser_id": uk, "transfer_type": "RECHARGE", "grant_amount": 10}, "40002"),
        ({"advertiser_id": uk, "transfer_type": "RECHARGE"}, "40002"),
        ({"advertiser_id": uk, "transfer_type": "RECHARGE", "cash_amount": -5}, "40002"),
        ({"advertiser_id": first_account(emu), "transfer_type": "RECHARGE",
          "cash_amount": 5}, "40002"),
    ]
    for body, code in refusals:
        with pytest.raises(TiktokSDKError, match=f"Error Code: {code}"):
            await transfer(emu, token, bc_id=bc_id, **body)
    api = raw(emu, token, plain)
    level = await api.post("bc/transfer/", {"bc_id": bc_id, "transfer_level": "BC",
                                            "transfer_type": "RECHARGE", "cash_amount": 5})
    assert level["code"] == 40002 and level["data"] == {}
    # a BC the user is not in, and a BC where the user is a standard member (no finance role)
    demo_bc = bc_of(emu, "NORMAL")
    with pytest.raises(TiktokSDKError, match="Error Code: 40001"):
        await transfer(emu, emu.access_token, bc_id=bc_id, advertiser_id=uk,
                       transfer_type="RECHARGE", cash_amount=5)
    with pytest.raises(TiktokSDKError, match="Error Code: 40001"):
        await transfer(emu, token, bc_id=demo_bc, advertiser_id=first_account(emu),
                       transfer_type="RECHARGE", cash_amount=5)
    assert await bc_cash(emu, token, bc_id) == bc_now  # nothing moved by the refusals


async def test_the_normal_bc_funds_its_account_and_balances_agree(
        emu: Emu, plain: aiohttp.ClientSession) -> None:
    token = emu.access_token
    bc_id = bc_of(emu, "NORMAL")
    us = next(a for a in emu.state.bcs[bc_id].advertiser_ids
              if emu.state.advertisers[a].currency == "USD")
    before = one((await balances(emu, token, bc_id, plain))[us])
    bc_before = await bc_cash(emu, token, bc_id)
    await transfer(emu, token, bc_id=bc_id, advertiser_id=us, transfer_type="RECHARGE",
                   cash_amount=250)
    assert one((await balances(emu, token, bc_id, plain))[us]) == before + 250
    assert await bc_cash(emu, token, bc_id) == bc_before - 250


async def test_a_created_account_shows_wherever_the_bcs_accounts_show(
        emu: Emu, plain: aiohttp.ClientSession, tmp_path: Path) -> None:
    api = official(emu)
    bcs = sdk.BCApi(api)
    token = await token_of(emu, "agency")
    bc_id = bc_of(emu, "AGENCY")
    path = tmp_path / "licence.png"
    path.write_bytes(image(600, 400))
    cert = ok(await call(bcs.bc_image_upload, token, bc_id=bc_id, image_file=str(path)))
    assert isinstance(cert["image_id"], str) and cert["image_url"].startswith("https://")

    body = sdk.AdvertiserCreateBody(
        bc_id=bc_id,
        advertiser_info=sdk.OpenApiv13bcadvertisercreateAdvertiserInfo(
            name="Northwind DE", currency="GBP", timezone="Europe/London"),
        customer_info=sdk.OpenApiv13bcadvertisercreateCustomerInfo(
            company="Northwind GmbH", industry=291905, registered_area="DE"),
        qualification_info=sdk.OpenApiv13bcadvertisercreateQualificationInfo(
            promotion_link="https://northwind.example.com",
            qualification_image_ids=[cert["image_id"]]),
        contact_info=sdk.OpenApiv13bcadvertisercreateContactInfo(
            name="Jane Roe", email="jane@northwind.example.com", number="+4915112345678"),
    )
    made = ok(await call(bcs.bc_advertiser_create, token, body=body))
    adv = made["advertiser_id"]
    assert isinstance(adv, str) and adv.isdigit()
    assert adv not in emu.state.users["demo"].advertiser_ids

    http = raw(emu, token, plain)
    info = await http.get("advertiser/info/", advertiser_ids=[adv])
    assert info["code"] == 0, info
    [row] = info["data"]["list"]
    assert (row["name"], row["company"], row["currency"]) == ("Northwind DE", "Northwind GmbH",
                                                              "GBP")
    assert (row["display_timezone"], row["timezone"], row["country"]) == (
        "Europe/London", "Etc/GMT", "DE")
    assert row["owner_bc_id"] == bc_id and row["balance"] == 0 and row["industry"] == "291905"
    assert row["email"] != "jane@northwind.example.com" and "*" in row["email"]  # masked
    views = await balances(emu, token, bc_id, plain)
    assert one(views[adv]) == 0
    assets = ok(await call(bcs.bc_asset_get, bc_id, "ADVERTISER", token, page_size=50))
    assert adv in {a["asset_id"] for a in assets["list"]}
    campaigns = ok(await call(sdk.CampaignCreationApi(api).campaign_get, adv, token))
    assert campaigns["list"] == [] and campaigns["page_info"]["total_number"] == 0
    assert await report_spend(api, adv, token, "2026-11-30", "2026-11-30") == 0
    listed = ok(await call(sdk.AuthenticationApi(api).oauth2_advertiser_get, emu.app_id,
                           emu.secret, token))
    assert adv in {a["advertiser_id"] for a in listed["list"]}

    # funded by the BC: its only money is the transfer, and the BC's balance pays for it
    bc_before = await bc_cash(emu, token, bc_id)
    await transfer(emu, token, bc_id=bc_id, advertiser_id=adv, transfer_type="RECHARGE",
                   cash_amount=50)
    assert one((await balances(emu, token, bc_id, plain))[adv]) == 50
    assert await bc_cash(emu, token, bc_id) == bc_before - 50
    assert await ledger(emu, token, bc_id, adv) == (Decimal(50), Decimal(0))

    # the certificate is the account's licence image for advertiser/update
    update = sdk.AdvertiserUpdateBody(advertiser_id=adv, license_image_id=cert["image_id"])
    ok(await call(sdk.AccountApi(api).advertiser_update, token, body=update))
    info = await http.get("advertiser/info/", advertiser_ids=[adv], fields=["license_url"])
    assert cert["image_id"] in info["data"]["list"][0]["license_url"]

    # the documented refusals
    def variant(**changes: Any) -> sdk.AdvertiserCreateBody:
        fields = {"bc_id": bc_id, "advertiser_info": body.advertiser_info,
                  "customer_info": body.customer_info,
                  "qualification_info": body.qualification_info}
        return sdk.AdvertiserCreateBody(**{**fields, **changes})

    bad = [
        variant(advertiser_info=sdk.OpenApiv13bcadvertisercreateAdvertiserInfo(
            name="X", currency="USD", timezone="Europe/London")),  # not the BC's currency
        variant(advertiser_info=sdk.OpenApiv13bcadvertisercreateAdvertiserInfo(
            name="X", currency="GBP", timezone="Mars/Olympus")),
        variant(qualification_info=None),  # an AGENCY BC needs it
        variant(qualification_info=sdk.OpenApiv13bcadvertisercreateQualificationInfo(
            promotion_link="https://x.example.com", qualification_image_ids=["nope"])),
        variant(customer_info=sdk.OpenApiv13bcadvertisercreateCustomerInfo(
            company="Y", industry=291905, registered_area="BR")),  # licence no., billing info
        variant(tied_to_billing_group=True),
    ]
    for wrong in bad:
        with pytest.raises(TiktokSDKError, match="Error Code: 40002"):
            await call(bcs.bc_advertiser_create, token, body=wrong)
    with pytest.raises(TiktokSDKError, match="Error Code: 40002"):  # a NORMAL BC
        await call(bcs.bc_advertiser_create, emu.access_token,
                   body=variant(bc_id=bc_of(emu, "NORMAL")))
    with pytest.raises(TiktokSDKError, match="Error Code: 40001"):  # not a member
        await call(bcs.bc_advertiser_create, emu.access_token, body=variant())
    with pytest.raises(TiktokSDKError, match="Error Code: 40001"):
        await call(bcs.bc_image_upload, emu.access_token, bc_id=bc_id, image_file=str(path))
    text = tmp_path / "licence.txt"
    text.write_bytes(b"not an image")
    with pytest.raises(TiktokSDKError, match="Error Code: 40908"):
        await call(bcs.bc_image_upload, token, bc_id=bc_id, image_file=str(text))
    assert len(emu.state.bcs[bc_id].advertiser_ids) == len(views)  # no account half-made


async def test_without_the_knob_only_a_new_consent_reaches_the_new_account(
        emu: Emu, plain: aiohttp.ClientSession) -> None:
    await emu.ctl("POST", "config", {"bc_created_account_in_token": False})
    token = await token_of(emu, "agency")
    bc_id = bc_of(emu, "AGENCY")
    body = sdk.AdvertiserCreateBody(
        bc_id=bc_id,
        advertiser_info=sdk.OpenApiv13bcadvertisercreateAdvertiserInfo(
            name="Northwind IE", currency="GBP", timezone="Europe/Dublin"),
        customer_info=sdk.OpenApiv13bcadvertisercreateCustomerInfo(
            company="Northwind Ltd", industry=291905, registered_area="IE"),
        qualification_info=sdk.OpenApiv13bcadvertisercreateQualificationInfo(
            promotion_link="https://northwind.example.com"),
    )
    adv = ok(await call(sdk.BCApi(official(emu)).bc_advertiser_create, token, body=body))[
        "advertiser_id"]
    refused = await raw(emu, token, plain).get("advertiser/info/", advertiser_ids=[adv])
    assert refused["code"] == 40001
    fresh = await token_of(emu, "agency")
    info = await raw(emu, fresh, plain).get("advertiser/info/", advertiser_ids=[adv])
    assert info["code"] == 0 and info["data"]["list"][0]["name"] == "Northwind IE"


async def test_portfolios_list_get_and_delete_as_created(
        emu: Emu, plain: aiohttp.ClientSession, tmp_path: Path) -> None:
    api = official(emu)
    token = emu.access_token
    adv = first_account(emu)
    files = sdk.FileApi(api)

    async def upload(name: str, width: int, height: int) -> str:
        content = image(width, height)
        path = tmp_path / name
        path.write_bytes(content)
        got = ok(await call(files.ad_image_upload, token, advertiser_id=adv,
                            upload_type="UPLOAD_BY_FILE", image_file=str(path),
                            image_signature=hashlib.md5(content).hexdigest(), file_name=name))
        return str(got["image_id"])

    card_image = await upload("card.png", 750, 421)
    square = await upload("square.png", 800, 800)
    creative = sdk.CreativeAssetApi(api)

    async def create(kind: str | None, *content: dict[str, Any]) -> str:
        items = [sdk.OpenApiv13creativeportfoliocreatePortfolioContent(**c) for c in content]
        body = sdk.PortfolioCreateBody(advertiser_id=adv, creative_portfolio_type=kind,
                                       portfolio_content=items)
        made = ok(await call(creative.creative_portfolio_create, token, body=body))
        assert isinstance(made["creative_portfolio_id"], str)
        return str(made["creative_portfolio_id"])

    card = await create("CARD", {"card_type": "IMAGE", "image_id": card_image})
    cta = await create(None, {"asset_content": "Learn More", "asset_ids": ["201781", "201535"]},
                       {"asset_content": "Download Now", "asset_ids": ["201902"]})
    param = sdk.OpenApiv13creativeportfoliocreateStickerParam(
        sticker_type="COUNTDOWN", title="Black Friday", cutoff_time="2026-12-01 00:00:00",
        color="BLACK", position_x=196, position_y=148)
    sticker = await create("STICKER", {"sticker_param": param})
    # the SDK's content model has no title / selling_points: a website info card goes raw
    http = raw(emu, token, plain)
    web_card = {"image_id": square, "title": "Glowly serum",
                "selling_points": ["Vegan", "Free shipping"]}
    made = await http.post("creative/portfolio/create/", {
        "advertiser_id": adv, "creative_portfolio_type": "WEB_INFO_CARD",
        "portfolio_content": [web_card]})
    assert made["code"] == 0, made
    web = made["data"]["creative_portfolio_id"]
    got = await http.get("creative/portfolio/get/", advertiser_id=adv, creative_portfolio_id=web)
    assert got["data"]["portfolio_content"] == [web_card]
    long_title = await http.post("creative/portfolio/create/", {
        "advertiser_id": adv, "creative_portfolio_type": "WEB_INFO_CARD",
        "portfolio_content": [{**web_card, "title": "A title far longer than 25 chars"}]})
    assert long_title["code"] == 40002
    got = await http.get("creative/portfolio/get/", advertiser_id=adv, creative_portfolio_id=cta)
    assert got["code"] == 0, got
    assert got["data"] == {"creative_portfolio_id": cta, "creative_portfolio_type": "CTA",
                           "portfolio_content": [
                               {"asset_content": "Learn More", "asset_ids": ["201781", "201535"]},
                               {"asset_content": "Download Now", "asset_ids": ["201902"]}]}
    got = await http.get("creative/portfolio/get/", advertiser_id=adv,
                         creative_portfolio_id=sticker)
    assert got["data"]["creative_portfolio_type"] == "STICKER"
    assert got["data"]["portfolio_content"][0]["sticker_param"]["title"] == "Black Friday"

    listed = await http.get("creative/portfolio/list/", advertiser_id=adv)
    assert listed["code"] == 0, listed
    by_id = {p["creative_portfolio_id"]: p for p in listed["data"]["creative_portfolios"]}
    assert set(by_id) == {card, web, sticker}  # a CTA portfolio is never listed
    assert listed["data"]["page_info"] == {"page": 1, "page_size": 20, "total_number": 3,
                                           "total_page": 1}
    assert by_id[card]["creative_portfolio_type"] == "CARD"
    assert (by_id[card]["card_type"], by_id[card]["image_id"]) == ("IMAGE", card_image)
    assert by_id[card]["creative_portfolio_preview_url"].startswith("https://")
    assert by_id[web]["selling_points"] == ["Vegan", "Free shipping"]
    assert by_id[web]["content_url"] == ""
    assert by_id[sticker]["creative_portfolio_type"] == "COUNTDOWN_STICKER"
    assert by_id[sticker]["sticker_param"]["cutoff_time"] == "2026-12-01 00:00:00"

    typed = await http.get("creative/portfolio/list/", advertiser_id=adv,
                           filtering={"creative_portfolio_types": ["COUNTDOWN_STICKER", "CTA"]})
    assert [p["creative_portfolio_id"] for p in typed["data"]["creative_portfolios"]] == [sticker]
    picked = await http.get("creative/portfolio/list/", advertiser_id=adv,
                            filtering={"creative_portfolio_ids": [card, cta]})
    assert [p["creative_portfolio_id"] for p in picked["data"]["creative_portfolios"]] == [card]
    seen: set[str] = set()
    for page in (1, 2, 3):
        one_page = await http.get("creative/portfolio/list/", advertiser_id=adv, page=page,
                                  page_size=1)
        assert one_page["data"]["page_info"]["total_page"] == 3
        seen |= {p["creative_portfolio_id"] for p in one_page["data"]["creative_portfolios"]}
    assert seen == {card, web, sticker}

    # delete: all or nothing
    failed = await http.post("creative/portfolio/delete/",
                             {"advertiser_id": adv, "creative_portfolio_ids": [card, "123"]})
    assert failed["code"] == 40002 and failed["data"] == {}
    gone = await http.post("creative/portfolio/delete/",
                           {"advertiser_id": adv, "creative_portfolio_ids": [card]})
    assert gone["code"] == 0 and gone["data"] == {}
    after = await http.get("creative/portfolio/list/", advertiser_id=adv)
    assert {p["creative_portfolio_id"] for p in after["data"]["creative_portfolios"]} == {
        web, sticker}
    again = await http.get("creative/portfolio/get/", advertiser_id=adv,
                           creative_portfolio_id=card)
    assert again["code"] == 40002
    twice = await http.post("creative/portfolio/delete/",
                            {"advertiser_id": adv, "creative_portfolio_ids": [card]})
    assert twice["code"] == 40002

    # the documented requirements and the usual refusals
    for kind, content in (
        ("CARD", {"card_type": "IMAGE", "image_id": square}),  # not 750x421
        ("CARD", {"card_type": "IMAGE"}),
        ("PREMIUM_BADGE", {"call_to_action_text": "Click here"}),  # no badge
        ("CTA", {"asset_content": "Learn More"}),
    ):
        with pytest.raises(TiktokSDKError, match="Error Code: 40002"):
            await create(kind, content)
    with pytest.raises(TiktokSDKError, match="Error Code: 40002"):
        await create("CARD")  # no content
    other = await token_of(emu, "agency")
    foreign = await raw(emu, other, plain).get("creative/portfolio/list/", advertiser_id=adv)
    assert foreign["code"] == 40001
    too_big = await http.get("creative/portfolio/list/", advertiser_id=adv, page_size=101)
    assert too_big["code"] == 40002
    bad_type = await http.get("creative/portfolio/list/", advertiser_id=adv,
                              filtering={"creative_portfolio_types": ["STICKER"]})
    assert bad_type["code"] == 40002
