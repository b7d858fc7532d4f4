"""Catalog management at the emulator, driven with raw HTTP as any outside client calls it
(TikTok's Python SDK in the venv has no catalog API): catalogs created, renamed and deleted
in a Business Center; products uploaded, reviewed, changed and deleted with the task log that
says how it went; product sets filtering products; feeds; event sources; a catalog an ad group
advertises kept from deletion. Shapes: sandbox/tiktok/catalog_admin.py and
catalog_products.py cite TikTok's SDK yml files and the Go SDK bububa/tiktok-business."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from sandbox.tiktok import catalogs as emu_catalogs
from sandbox.tiktok.server import start_emulator
from tests.contract.conftest import Emu
from tests.contract.raw_api import Api

NOW = "2026-11-30T12:00:00Z"
GOOD_IMAGE = "https://shop.example/img/{}.jpg"


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    """The demo world at a fixed instant (review times and schedules are then exact)."""
    return {"fixture": "demo", "now": NOW}


@pytest.fixture
async def raw(emu: Emu) -> AsyncIterator[Api]:
    """Raw calls with the demo owner's ready token (an untraced session: the contract schema
    table covers the read endpoints only)."""
    async with aiohttp.ClientSession() as session:
        yield Api(emu.api_url, emu.access_token, session)


def ok(reply: dict[str, Any]) -> Any:
    """The data of a success envelope."""
    assert reply["code"] == 0, reply
    assert reply["request_id"]
    return reply["data"]


def err(reply: dict[str, Any], code: int) -> str:
    """The message of an error envelope with this code (data {}, spec §1.5)."""
    assert reply["code"] == code, reply
    assert reply["data"] == {} and reply["request_id"]
    return str(reply["message"])


async def demo_bc(raw: Api) -> str:
    """The id of the demo owner's "Demo Media BC" (bc/get)."""
    data = ok(await raw.get("bc/get/"))
    return next(b["bc_info"]["bc_id"] for b in data["list"]
                if b["bc_info"]["name"] == emu_catalogs.DEMO_BC)


def product(sku: str, title: str, price: float = 19.9, **extra: Any) -> dict[str, Any]:
    """An E-commerce product with the nine required fields (Go SDK EcomProduct)."""
    body = {
        "sku_id": sku, "title": title, "description": f"{title}, 50 ml.",
        "availability": "IN_STOCK", "brand": "Glowly", "image_url": GOOD_IMAGE.format(sku),
        "product_detail": {"condition": "NEW"},
        "price_info": {"price": price, "currency": "USD"},
        "landing_page": {"landing_page_url": f"https://shop.example/p/{sku}"},
    }
    body.update(extra)
    return body


async def create_catalog(raw: Api, bc: str, name: str = "Spring drop") -> str:
    """catalog/create of an E-commerce catalog for the US in USD."""
    data = ok(await raw.post("catalog/create/", {
        "bc_id": bc, "name": name, "catalog_type": "ECOM",
        "catalog_conf": {"region_code": "US", "currency": "USD"}}))
    assert set(data) == {"catalog_id"}
    assert isinstance(data["catalog_id"], str) and data["catalog_id"].isdigit()
    return str(data["catalog_id"])


async def all_products(raw: Api, bc: str, cid: str, **params: Any) -> list[dict[str, Any]]:
    """Every product of catalog/product/get, page by page."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        data = ok(await raw.get("catalog/product/get/", bc_id=bc, catalog_id=cid, page=page,
                                page_size=10, **params))
        rows += data["list"]
        if page >= data["page_info"]["total_page"]:
            return rows
        page += 1


async def test_create_rename_delete_a_catalog(emu: Emu, raw: Api) -> None:
    """A created catalog is listed in its BC with what was asked, renamed in place, then gone;
    the fixture's catalogs answer as before; bad bodies, foreign BCs, a Standard member and a
    token without the catalogs scope are refused."""
    bc = await demo_bc(raw)
    before = ok(await raw.get("catalog/get/", bc_id=bc))["list"]
    cid = await create_catalog(raw, bc)
    listed = ok(await raw.get("catalog/get/", bc_id=bc))
    assert [c["catalog_id"] for c in listed["list"]] == [c["catalog_id"] for c in before] + [cid]
    assert listed["page_info"]["total_number"] == len(before) + 1
    made = listed["list"][-1]
    assert made["catalog_name"] == "Spring drop" and made["catalog_type"] == "ECOM"
    assert made["catalog_conf"]["region_code"] == "US"
    assert made["catalog_conf"]["currency"] == "USD"
    assert made["bc_info"]["bc_id"] == bc and made["bc_info"]["bc_name"] == emu_catalogs.DEMO_BC
    assert made["create_time"] == "2026-11-30 12:00:00"
    assert ok(await raw.get("catalog/overview/", bc_id=bc, catalog_id=cid)) == {
        "approved": 0, "processing": 0, "rejected": 0}
    assert ok(await raw.get("catalog/set/get/", bc_id=bc, catalog_id=cid))["list"] == []

    await emu.ctl("POST", "clock", {"advance_seconds": 60})
    renamed = ok(await raw.post("catalog/update/", {"bc_id": bc, "catalog_id": cid,
                                                    "name": "Spring drop 2027"}))
    assert renamed == {"catalog_id": cid}
    [one] = ok(await raw.get("catalog/get/", bc_id=bc, catalog_id=cid))["list"]
    assert one["catalog_name"] == "Spring drop 2027"
    assert one["update_time"] == "2026-11-30 12:01:00" and one["create_time"] != one["update_time"]

    assert ok(await raw.post("catalog/delete/", {"bc_id": bc, "catalog_id": cid})) == {
        "catalog_id": cid}
    assert ok(await raw.get("catalog/get/", bc_id=bc))["list"] == before
    err(await raw.get("catalog/overview/", bc_id=bc, catalog_id=cid), 40007)
    err(await raw.post("catalog/update/", {"bc_id": bc, "catalog_id": cid, "name": "x"}), 40007)
    us = before[0]["catalog_id"]
    assert ok(await raw.get("catalog/overview/", bc_id=bc, catalog_id=us)) == {
        "approved": 18, "processing": 4, "rejected": 2}

    good = {"bc_id": bc, "name": "X", "catalog_type": "ECOM",
            "catalog_conf": {"region_code": "US", "currency": "USD"}}
    for bad in ({"name": ""}, {"name": "n" * 129}, {"catalog_type": "SHOES"},
                {"catalog_conf": {"region_code": "US", "currency": "QQQ"}},
                {"catalog_conf": {"region_code": "usa", "currency": "USD"}},
                {"catalog_conf": {"currency": "USD", "region_code": "US", "channel": "WEB"}}):
        err(await raw.post("catalog/create/", {**good, **bad}), 40002)
    err(await raw.post("catalog/create/", {k: v for k, v in good.items()
                                           if k != "catalog_conf"}), 40002)
    foreign = next(b.bc_id for b in emu.state.bcs.values() if b.name == "Northwind Agency BC")
    err(await raw.post("catalog/create/", {**good, "bc_id": foreign}), 40001)

    async with aiohttp.ClientSession() as s:
        agency = (await emu.ctl("POST", "token", {"user": "agency"}))["access_token"]
        standard = Api(emu.api_url, agency, s)
        assert ok(await standard.get("catalog/get/", bc_id=bc))["list"] == before  # may read
        err(await standard.post("catalog/create/", good), 40001)  # a Standard member
        err(await standard.post("catalog/delete/", {"bc_id": bc, "catalog_id": us}), 40001)
        no_scope = (await emu.ctl("POST", "token", {"withhold": ["catalogs"]}))["access_token"]
        err(await Api(emu.api_url, no_scope, s).post("catalog/create/", good), 40001)
    assert len(ok(await raw.get("catalog/get/", bc_id=bc))["list"]) == len(before)


async def test_upload_review_update_delete_products(emu: Emu, raw: Api) -> None:
    """Uploaded products appear at once, in review; the log counts what was added and lists
    the errors and warnings; review ends approved or (bad image) rejected; re-uploads and
    updates change them and send them back to review; deletes remove them."""
    bc = await demo_bc(raw)
    cid = await create_catalog(raw, bc)
    body = {"bc_id": bc, "catalog_id": cid, "products": [
        product("S-1", "Glow serum", 24.5),
        product("S-2", "Night cream", 31, image_url="https://shop.example/img/S-2.gif"),
        product("S-3", "Lip oil", brand=""),
        product("S-1", "Glow serum again"),
    ]}
    task = ok(await raw.post("catalog/product/upload/", body))
    assert set(task) == {"feed_log_id"} and task["feed_log_id"].isdigit()
    log = ok(await raw.get("catalog/product/log/", bc_id=bc, catalog_id=cid,
                           feed_log_id=task["feed_log_id"]))["product_feed_log"]
    assert log["catalog_id"] == cid and log["process_status"] == "SUCCESS"
    assert (log["add_count"], log["update_count"], log["delete_count"]) == (2, 0, 0)
    assert (log["error_count"], log["warn_count"]) == (1, 1)
    assert log["start_time"] == "2026-11-30 12:00:00" and log["update_mode"] == "INCREASE"
    [error] = log["feed_log_data"]["error_affected_products"]
    assert error["field"] == "brand" and error["affected_product_count"] == 1
    assert error["affected_product_item_list"][0]["sku_id"] == "S-3"
    assert error["affected_product_item_list"][0]["index"] == 4  # "index 2 = the first"
    [warn] = log["feed_log_data"]["warn_affected_products"]
    assert warn["field"] == "sku_id" and warn["affected_product_item_list"][0]["index"] == 5

    rows = await all_products(raw, bc, cid)
    assert [r["sku_id"] for r in rows] == ["S-1", "S-2"]
    first = rows[0]
    assert first["title"] == "Glow serum" and isinstance(first["product_id"], str)
    assert first["audit_status"] == "PROCESSING" and first["audit"]["audit_status"] == "processing"
    assert first["price_info"] == {"price": 24.5, "currency": "USD"}
    assert first["price"] == {"price": "24.5", "price_unit": "USD"}
    assert first["ad_creation_eligible"] == "NOT_AVAILABLE"
    assert ok(await raw.get("catalog/overview/", bc_id=bc, catalog_id=cid)) == {
        "approved": 0, "processing": 2, "rejected": 0}

    await emu.ctl("POST", "clock", {"advance_seconds": 901})  # catalog_review_seconds: 900
    assert ok(await raw.get("catalog/overview/", bc_id=bc, catalog_id=cid)) == {
        "approved": 1, "processing": 0, "rejected": 1}
    s1, s2 = await all_products(raw, bc, cid)
    assert s1["audit_status"] == "APPROVED" and s1["ad_creation_eligible"] == "AVAILABLE"
    assert s2["audit_status"] == "REJECTED" and s2["audit"]["reject_info"][0]["reason"]
    assert s2["reject_infos"] and s2["ad_creation_eligible"] == "NOT_AVAILABLE"

    again = ok(await raw.post("catalog/product/upload/", {
        "bc_id": bc, "catalog_id": cid,
        "products": [product("S-2", "Night cream", 29)]}))
    log = ok(await raw.get("catalog/product/log/", bc_id=bc, catalog_id=cid,
                           feed_log_id=again["feed_log_id"]))["product_feed_log"]
    assert (log["add_count"], log["update_count"], log["error_count"]) == (0, 1, 0)
    changed = ok(await raw.post("catalog/product/update/", {
        "bc_id": bc, "catalog_id": cid, "products": [
            {"sku_id": "S-1", "title": "Glow serum 2.0", "price_info": {"sale_price": 20}},
            {"sku_id": "NOPE", "title": "Ghost"}]}))
    log = ok(await raw.get("catalog/product/log/", bc_id=bc, catalog_id=cid,
                           feed_log_id=changed["feed_log_id"]))["product_feed_log"]
    assert (log["update_count"], log["error_count"]) == (1, 1)
    s1, s2 = await all_products(raw, bc, cid)
    assert s1["title"] == "Glow serum 2.0" and s1["product_id"] == first["product_id"]
    assert s1["price_info"] == {"price": 24.5, "currency": "USD", "sale_price": 20}
    assert s1["audit_status"] == s2["audit_status"] == "PROCESSING"  # changed: reviewed again
    assert s2["price"]["price"] == "29" and s2["audit_status"] == "PROCESSING"

    by_sku = ok(await raw.get("catalog/product/get/", bc_id=bc, catalog_id=cid,
                              sku_ids=["S-2"]))["list"]
    assert [r["sku_id"] for r in by_sku] == ["S-2"]
    by_id = ok(await raw.get("catalog/product/get/", bc_id=bc, catalog_id=cid,
                             product_ids=[s1["product_id"]]))["list"]
    assert [r["sku_id"] for r in by_id] == ["S-1"]
    err(await raw.get("catalog/product/get/", bc_id=bc, catalog_id=cid, sku_ids=["S-1"],
                      product_ids=[s1["product_id"]]), 40002)

    gone = ok(await raw.post("catalog/product/delete/", {
        "bc_id": bc, "catalog_id": cid, "sku_ids": ["S-2", "S-9"]}))
    log = ok(await raw.get("catalog/product/log/", bc_id=bc, catalog_id=cid,
                           feed_log_id=gone["feed_log_id"]))["product_feed_log"]
    assert (log["delete_count"], log["error_count"]) == (1, 1)
    assert [r["sku_id"] for r in await all_products(raw, bc, cid)] == ["S-1"]
    assert ok(await raw.get("catalog/overview/", bc_id=bc, catalog_id=cid)) == {
        "approved": 0, "processing": 1, "rejected": 0}

    for bad in ({"products": []}, {"products": "S-1"}):
        err(await raw.post("catalog/product/upload/", {"bc_id": bc, "catalog_id": cid, **bad}),
            40002)
    err(await raw.post("catalog/product/delete/", {"bc_id": bc, "catalog_id": cid}), 40002)
    err(await raw.post("catalog/product/delete/", {"bc_id": bc, "catalog_id": cid,
                                                   "sku_ids": ["A", "A"]}), 40002)
    err(await raw.post("catalog/product/upload/", {"bc_id": bc, "catalog_id": "1",
                                                   "products": [product("A", "A")]}), 40007)
    err(await raw.get("catalog/product/log/", bc_id=bc, catalog_id=cid, feed_log_id="1"), 40007)
    await emu.ctl("POST", "config", {"catalog_upload_max_products": 1})
    err(await raw.post("catalog/product/upload/", {
        "bc_id": bc, "catalog_id": cid, "products": [product("A", "A"), product("B", "B")]}),
        40002)


async def test_product_sets_filter_the_products(emu: Emu, raw: Api) -> None:
    """A set created by conditions holds the products they match, in set/get's count, in
    set/product/get and in product/get by set, also for products uploaded afterwards; a
    fixture catalog keeps its sets; sets are renamed, refiltered and deleted."""
    bc = await demo_bc(raw)
    us = ok(await raw.get("catalog/get/", bc_id=bc))["list"][0]["catalog_id"]
    serums = {"and": [{"field": "title", "operation": "CONTAIN", "value": "serum"}]}
    made = ok(await raw.post("catalog/set/create/", {
        "bc_id": bc, "catalog_id": us, "product_set_name": "Serums", "conditions": serums}))
    assert set(made) == {"product_set_id", "product_set_name", "product_count"}
    assert made["product_set_name"] == "Serums"
    fixture_serums = [r for r in await all_products(raw, bc, us) if "serum" in r["title"].lower()]
    assert made["product_count"] == len(fixture_serums) == 3

    ok(await raw.post("catalog/product/upload/", {"bc_id": bc, "catalog_id": us, "products": [
        product("NEW-1", "Vitamin C Serum", 40), product("NEW-2", "Body lotion", 12)]}))
    sets = ok(await raw.get("catalog/set/get/", bc_id=bc, catalog_id=us))["list"]
    assert [(s["product_set_name"], s["product_count"]) for s in sets] == [
        ("All products", 24), ("Bestsellers", 8), ("New arrivals", 6), ("Serums", 4)]
    assert sets[3]["conditions"]["and"][0]["operation"] == "CONTAIN"
    assert ok(await raw.get("catalog/overview/", bc_id=bc, catalog_id=us)) == {
        "approved": 18, "processing": 6, "rejected": 2}

    # A fixture product changed by product/update goes back to review, keeping its id.
    [serum1] = ok(await raw.get("catalog/product/get/", bc_id=bc, catalog_id=us,
                                sku_ids=["SKU-0001"]))["list"]
    ok(await raw.post("catalog/product/update/", {"bc_id": bc, "catalog_id": us, "products": [
        {"sku_id": "SKU-0001", "title": "Glow serum #1 refill"}]}))
    [changed] = ok(await raw.get("catalog/product/get/", bc_id=bc, catalog_id=us,
                                 sku_ids=["SKU-0001"]))["list"]
    assert changed["product_id"] == serum1["product_id"] and changed["price"] == serum1["price"]
    assert (serum1["audit_status"], changed["audit_status"]) == ("APPROVED", "PROCESSING")
    assert changed["title"] == "Glow serum #1 refill"
    assert ok(await raw.get("catalog/overview/", bc_id=bc, catalog_id=us)) == {
        "approved": 17, "processing": 7, "rejected": 2}

    sid = made["product_set_id"]
    listed = ok(await raw.get("catalog/set/product/get/", bc_id=bc, catalog_id=us,
                              product_set_id=sid, page_size=3))
    assert listed["catalog_id"] == us and listed["product_set_id"] == sid
    assert listed["product_count"] == 4 and listed["page_info"]["total_page"] == 2
    page2 = ok(await raw.get("catalog/set/product/get/", bc_id=bc, catalog_id=us,
                             product_set_id=sid, page_size=3, page=2))
    in_set = listed["products"] + page2["products"]
    by_set = await all_products(raw, bc, us, product_set_id=sid)
    assert [p["product_id"] for p in in_set] == [p["product_id"] for p in by_set]
    assert [p["product_name"] for p in in_set] == [p["title"] for p in by_set]
    assert by_set[-1]["sku_id"] == "NEW-1" and all(sid in p["product_set_ids"] for p in by_set)

    pricey = {"and": [{"field": "price", "operation": "GTE", "value": "15"}],
              "or": [{"field": "brand", "operation": "EQ", "value": ["glowly", "Other"]}]}
    renamed = ok(await raw.post("catalog/set/update/", {
        "bc_id": bc, "catalog_id": us, "product_set_id": sid, "product_set_name": "15+",
        "conditions": pricey}))
    expected = [p for p in await all_products(raw, bc, us) if float(p["price"]["price"]) >= 15]
    assert renamed == {"product_set_id": sid, "product_set_name": "15+",
                       "product_count": len(expected)}
    assert 0 < len(expected) < 26
    filtered = await all_products(raw, bc, us, conditions=pricey)
    assert [p["sku_id"] for p in filtered] == [p["sku_id"] for p in expected]

    assert ok(await raw.post("catalog/set/delete/", {
        "bc_id": bc, "catalog_id": us, "product_set_ids": [sid]})) == {"product_set_ids": [sid]}
    assert len(ok(await raw.get("catalog/set/get/", bc_id=bc, catalog_id=us))["list"]) == 3
    err(await raw.get("catalog/set/product/get/", bc_id=bc, catalog_id=us, product_set_id=sid),
        40007)
    err(await raw.post("catalog/set/update/", {"bc_id": bc, "catalog_id": us,
                                               "product_set_id": sid, "product_set_name": "x"}),
        40007)
    base = {"bc_id": bc, "catalog_id": us, "product_set_name": "X", "conditions": serums}
    for bad in ({"product_set_name": "n" * 29}, {"conditions": {}},
                {"conditions": {"and": [{"field": "title", "operation": "LIKE", "value": "a"}]}},
                {"conditions": {"not": [{"field": "title", "operation": "EQ", "value": "a"}]}},
                {"conditions": {"and": [{"field": "price", "operation": "GT", "value": "x"}]}}):
        err(await raw.post("catalog/set/create/", {**base, **bad}), 40002)
    err(await raw.post("catalog/set/delete/", {"bc_id": bc, "catalog_id": us,
                                               "product_set_ids": []}), 40002)
    err(await raw.get("catalog/set/product/get/", bc_id=bc, catalog_id=us,
                      product_set_id=sets[0]["product_set_id"], page_size=101), 40002)


async def test_an_ad_group_advertises_a_created_catalog_and_keeps_it(
    emu: Emu, raw: Api
) -> None:
    """adgroup/create takes a catalog made with catalog/create; while the ad group lives the
    catalog cannot be deleted (knob catalog_delete_in_use), nor the set its ad shows."""
    bc = await demo_bc(raw)
    adv = emu.state.users[emu.state.default_login].advertiser_ids[0]
    assert adv in emu.state.bcs[bc].advertiser_ids
    cid = await create_catalog(raw, bc, "Launch catalog")
    ok(await raw.post("catalog/product/upload/", {"bc_id": bc, "catalog_id": cid,
                                                  "products": [product("L-1", "Glow serum")]}))
    made = ok(await raw.post("catalog/set/create/", {
        "bc_id": bc, "catalog_id": cid, "product_set_name": "All",
        "conditions": {"and": [{"field": "brand", "operation": "EQ", "value": "Glowly"}]}}))
    camp = ok(await raw.post("campaign/create/", {
        "advertiser_id": adv, "campaign_name": "Shop", "objective_type": "PRODUCT_SALES",
        "budget_mode": "BUDGET_MODE_INFINITE", "campaign_product_source": "CATALOG",
        "sales_destination": "WEBSITE"}))
    group = {
        "advertiser_id": adv, "campaign_id": camp["campaign_id"], "adgroup_name": "Shop AG",
        "budget_mode": "BUDGET_MODE_DAY", "budget": 50, "schedule_type": "SCHEDULE_FROM_NOW",
        "schedule_start_time": "2026-11-30 13:00:00", "optimization_goal": "CLICK",
        "billing_event": "CPC", "pacing": "PACING_MODE_SMOOTH",
        "placement_type": "PLACEMENT_TYPE_AUTOMATIC", "location_ids": ["6252001"],
        "promotion_type": "WEBSITE", "shopping_ads_type": "VIDEO", "product_source": "CATALOG",
        "catalog_id": cid, "catalog_authorized_bc_id": bc,
    }
    made_group = ok(await raw.post("adgroup/create/", group))
    image = next(i for i in emu.state.images.values() if i.advertiser_id == adv)
    ident = next(i for i in emu.state.identities.values() if i.advertiser_id == adv
                 and i.identity_type == "CUSTOMIZED_USER")
    creative = {"ad_name": "Shop ad", "ad_format": "SINGLE_IMAGE", "ad_text": "Shop now",
                "image_ids": [image.image_id], "identity_id": ident.identity_id,
                "identity_type": "CUSTOMIZED_USER", "call_to_action": "SHOP_NOW",
                "landing_page_url": "https://shop.example/",
                "product_set_id": made["product_set_id"]}
    ok(await raw.post("ad/create/", {"advertiser_id": adv, "adgroup_id": made_group["adgroup_id"],
                                     "creatives": [creative]}))

    err(await raw.post("catalog/set/delete/", {"bc_id": bc, "catalog_id": cid,
                                               "product_set_ids": [made["product_set_id"]]}),
        40002)
    err(await raw.post("catalog/delete/", {"bc_id": bc, "catalog_id": cid}), 40002)
    assert cid in [c["catalog_id"] for c in ok(await raw.get("catalog/get/", bc_id=bc))["list"]]
    await emu.ctl("POST", "config", {"catalog_delete_in_use": True})
    ok(await raw.post("catalog/delete/", {"bc_id": bc, "catalog_id": cid}))
    err(await raw.post("adgroup/create/", {**group, "adgroup_name": "Shop AG 2"}), 40007)


async def test_feeds_and_event_sources(emu: Emu, raw: Api) -> None:
    """A feed is created with a schedule, listed, counts the products uploaded with its id
    and logs those uploads; it is changed and deleted. A pixel of an account in the BC binds
    to a catalog, is listed and unbound; an unknown pixel or none at all is refused."""
    bc = await demo_bc(raw)
    cid = await create_catalog(raw, bc)
    sched = {"source": {"uri": "https://shop.example/feed.csv"}, "interval_type": "DAILY",
             "interval_count": 1, "timezone": "Etc/UTC", "hour": 3, "minute": 0}
    feed = ok(await raw.post("catalog/feed/create/", {
        "bc_id": bc, "catalog_id": cid, "feed_name": "Daily", "update_mode": "INCREMENTAL",
        "schedule_param": sched}))
    assert feed["feed_name"] == "Daily" and feed["status"] == "ON"
    assert feed["number_of_products"] == 0 and feed["feed_id"].isdigit()
    assert feed["next_update_time"] == "2026-12-01 12:00:00"
    fid = feed["feed_id"]
    ok(await raw.post("catalog/product/upload/", {"bc_id": bc, "catalog_id": cid,
                                                  "feed_id": fid,
                                                  "products": [product("F-1", "Toner")]}))
    ok(await raw.post("catalog/product/upload/", {"bc_id": bc, "catalog_id": cid,
                                                  "products": [product("F-2", "Cleanser")]}))
    [got] = ok(await raw.get("catalog/feed/get/", bc_id=bc, catalog_id=cid))["feed_list"]
    assert got["feed_id"] == fid and got["number_of_products"] == 1
    [entry] = ok(await raw.get("catalog/feed/log/", bc_id=bc, catalog_id=cid,
                               feed_id=fid))["feed_logs"]
    assert entry["update_status"]["add_count"] == 1
    assert entry["update_status"]["process_status"] == "SUCCESS"
    assert entry["update_time"]["start_time"] == "2026-11-30 12:00:00"
    changed = ok(await raw.post("catalog/feed/update/", {
        "bc_id": bc, "catalog_id": cid, "feed_id": fid, "feed_name": "Manual",
        "update_mode": "OVERWRITE"}))
    assert changed["feed_name"] == "Manual" and changed["status"] == "OFF"
    err(await raw.post("catalog/feed/create/", {
        "bc_id": bc, "catalog_id": cid, "feed_name": "X", "update_mode": "DAILY"}), 40002)
    err(await raw.post("catalog/feed/create/", {
        "bc_id": bc, "catalog_id": cid, "feed_name": "X", "update_mode": "INCREMENTAL",
        "schedule_param": {**sched, "hour": 24}}), 40002)
    assert ok(await raw.post("catalog/feed/delete/", {"bc_id": bc, "catalog_id": cid,
                                                      "feed_id": fid})) == {"feed_id": fid}
    assert ok(await raw.get("catalog/feed/get/", bc_id=bc, catalog_id=cid))["feed_list"] == []
    err(await raw.get("catalog/feed/get/", bc_id=bc, catalog_id=cid, feed_id=fid), 40007)
    err(await raw.post("catalog/product/upload/", {"bc_id": bc, "catalog_id": cid,
                                                   "feed_id": fid,
                                                   "products": [product("F-3", "Toner")]}),
        40007)

    adv = emu.state.users[emu.state.default_login].advertiser_ids[0]
    pixels = ok(await raw.get("pixel/list/", advertiser_id=adv))["pixels"]
    assert pixels
    bind = {"bc_id": bc, "catalog_id": cid, "advertiser_id": adv,
            "pixel_code": pixels[0]["pixel_code"]}
    assert ok(await raw.post("catalog/eventsource/bind/", bind)) == {}
    ok(await raw.post("catalog/eventsource/bind/", bind))  # twice: still one binding
    bound = ok(await raw.get("catalog/eventsource_bind/get/", bc_id=bc, catalog_id=cid))
    assert bound == {"catalog_id": cid, "event_sources": [
        {"app_id": "", "event_source_name": pixels[0]["pixel_name"],
         "pixel_code": pixels[0]["pixel_code"]}]}
    assert ok(await raw.post("catalog/eventsource/unbind/", bind)) == {}
    assert ok(await raw.get("catalog/eventsource_bind/get/", bc_id=bc,
                            catalog_id=cid))["event_sources"] == []
    err(await raw.post("catalog/eventsource/unbind/", bind), 40007)
    err(await raw.post("catalog/eventsource/bind/", {**bind, "pixel_code": "CNOPE"}), 40007)
    err(await raw.post("catalog/eventsource/bind/", {k: v for k, v in bind.items()
                                                     if k != "pixel_code"}), 40002)
    err(await raw.post("catalog/eventsource/bind/", {**bind, "advertiser_id": "1"}), 40001)


async def test_products_from_a_file_url(emu: Emu, raw: Api) -> None:
    """A CSV in TikTok's E-commerce template adds products (INCREMENTAL) or replaces them all
    (OVERWRITE); a file the emulator cannot read ends the task FAILED."""
    bc = await demo_bc(raw)
    cid = await create_catalog(raw, bc)
    ok(await raw.post("catalog/product/upload/", {"bc_id": bc, "catalog_id": cid,
                                                  "products": [product("OLD", "Old")]}))
    header = "sku_id,title,description,availability,condition,price,link,image_link,brand\n"
    rows = ("C-1,Eye gel,Cooling gel,in stock,new,12.00 USD,https://shop.example/p/1,"
            "https://shop.example/i/1.png,Glowly\n"
            "C-2,Face mask,Clay mask,out of stock,new,9 USD,https://shop.example/p/2,"
            "https://shop.example/i/2.png,Glowly\n")

    async def serve(request: web.Request) -> web.Response:
        return web.Response(text=header + rows, content_type="text/csv")

    app = web.Application()
    app.router.add_get("/feed.csv", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        url = f"http://127.0.0.1:{port}/feed.csv"
        task = ok(await raw.post("catalog/product/file/", {"bc_id": bc, "catalog_id": cid,
                                                           "file_url": url}))
        log = ok(await raw.get("catalog/product/log/", bc_id=bc, catalog_id=cid,
                               feed_log_id=task["feed_log_id"]))["product_feed_log"]
        assert (log["add_count"], log["error_count"], log["update_mode"]) == (2, 0, "INCREASE")
        skus = [(p["sku_id"], p["availability"]) for p in await all_products(raw, bc, cid)]
        assert skus == [("OLD", "IN_STOCK"), ("C-1", "IN_STOCK"), ("C-2", "OUT_OF_STOCK")]
        task = ok(await raw.post("catalog/product/file/", {
            "bc_id": bc, "catalog_id": cid, "file_url": url, "update_mode": "OVERWRITE"}))
        log = ok(await raw.get("catalog/product/log/", bc_id=bc, catalog_id=cid,
                               feed_log_id=task["feed_log_id"]))["product_feed_log"]
        assert (log["update_count"], log["delete_count"], log["update_mode"]) == (2, 1, "REPLACE")
        assert [p["sku_id"] for p in await all_products(raw, bc, cid)] == ["C-1", "C-2"]
    finally:
        await runner.cleanup()
    task = ok(await raw.post("catalog/product/file/", {
        "bc_id": bc, "catalog_id": cid, "file_url": "https://cdn.example/feed.csv"}))
    log = ok(await raw.get("catalog/product/log/", bc_id=bc, catalog_id=cid,
                           feed_log_id=task["feed_log_id"]))["product_feed_log"]
    assert log["process_status"] == "FAILED" and log["add_count"] == 0
    err(await raw.post("catalog/product/file/", {"bc_id": bc, "catalog_id": cid,
                                                 "file_url": "https://x/f.csv",
                                                 "update_mode": "MERGE"}), 40002)


async def test_the_saved_world_keeps_catalog_changes(tmp_path: Path) -> None:
    """With ``world_file`` (the offline demo), a created catalog, its products and sets, a
    renamed fixture catalog and a task log are there again after a restart (sandbox/keep.py)."""
    kept = str(tmp_path / "world.pickle")
    emu = await start_emulator(fixture="demo", now=NOW, world_file=kept)
    async with aiohttp.ClientSession() as session:
        raw = Api(emu.api_url, emu.access_token, session)
        bc = await demo_bc(raw)
        us = ok(await raw.get("catalog/get/", bc_id=bc))["list"][0]["catalog_id"]
        ok(await raw.post("catalog/update/", {"bc_id": bc, "catalog_id": us, "name": "US 2"}))
        cid = await create_catalog(raw, bc)
        task = ok(await raw.post("catalog/product/upload/", {
            "bc_id": bc, "catalog_id": cid, "products": [product("K-1", "Kept serum")]}))
        made = ok(await raw.post("catalog/set/create/", {
            "bc_id": bc, "catalog_id": cid, "product_set_name": "Kept", "conditions": {
                "and": [{"field": "sku_id", "operation": "START_WITH", "value": "K-"}]}}))
        before = ok(await raw.get("catalog/get/", bc_id=bc))["list"]
    token = emu.access_token
    await emu.stop()

    again = await start_emulator(fixture="demo", now=NOW, world_file=kept)
    try:
        assert again.access_token == token
        async with aiohttp.ClientSession() as session:
            raw = Api(again.api_url, token, session)
            assert ok(await raw.get("catalog/get/", bc_id=bc))["list"] == before
            assert [c["catalog_name"] for c in before] == [
                "US 2", "Glowly EU launch", "Spring drop"]
            [row] = ok(await raw.get("catalog/product/get/", bc_id=bc, catalog_id=cid))["list"]
            assert row["sku_id"] == "K-1" and row["product_set_ids"] == [made["product_set_id"]]
            log = ok(await raw.get("catalog/product/log/", bc_id=bc, catalog_id=cid,
                                   feed_log_id=task["feed_log_id"]))["product_feed_log"]
            assert log["add_count"] == 1
    finally:
        await again.stop()
