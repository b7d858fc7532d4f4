"""Catalogs at the emulator: catalog/get by Business Center with paging and the catalog_id
filter, product counts by review status, product sets with counts, paged products; another
Business Center's catalogs refused (spec §9; tiktok-openapi/catalog_get.yml, SDK
catalog_overview.yml, catalog_set_get.yml)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from sandbox.tiktok.server import start_emulator
from tests.sandbox.test_tiktok_emulator import NOW, US, Api, err, ok


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    """A fresh demo emulator frozen at NOW, with a client."""
    emu = await start_emulator(fixture="demo", now=NOW)
    async with aiohttp.ClientSession() as session:
        yield Api(emu, session)
    await emu.stop()


async def _bcs(api: Api) -> dict[str, str]:
    """The token user's Business Centers: name -> id."""
    data = ok(await api.get("bc/get/"))
    return {b["bc_info"]["name"]: b["bc_info"]["bc_id"] for b in data["list"]}


async def test_catalogs_of_a_business_center(api: Api) -> None:
    """catalog/get lists a BC's catalogs with the response_rule's fields, pages them and
    filters by catalog_id; bc_id is required."""
    bc = (await _bcs(api))["Demo Media BC"]
    data = ok(await api.get("catalog/get/", bc_id=bc))
    names = [c["catalog_name"] for c in data["list"]]
    assert names == ["Glowly Store US", "Glowly EU launch"]
    first = data["list"][0]
    for key in ("catalog_id", "catalog_type", "catalog_conf", "bc_info", "create_time",
                "update_time"):
        assert key in first
    assert first["bc_info"]["bc_id"] == bc and first["catalog_conf"]["currency"] == "USD"
    assert data["page_info"]["total_number"] == 2
    one = ok(await api.get("catalog/get/", bc_id=bc, page_size=1, page=2))
    assert [c["catalog_name"] for c in one["list"]] == ["Glowly EU launch"]
    assert one["page_info"]["total_page"] == 2
    only = ok(await api.get("catalog/get/", bc_id=bc, catalog_id=first["catalog_id"]))
    assert [c["catalog_id"] for c in only["list"]] == [first["catalog_id"]]
    assert ok(await api.get("catalog/get/", bc_id=bc, catalog_id="1"))["list"] == []
    err(await api.get("catalog/get/"), 40002)
    err(await api.get("catalog/get/", bc_id=bc, page_size=51), 40002)


async def test_overview_sets_and_products(api: Api) -> None:
    """Counts by review status add up to the products; sets carry product counts; products page
    and say their audit status."""
    bc = (await _bcs(api))["Demo Media BC"]
    cat = ok(await api.get("catalog/get/", bc_id=bc))["list"][0]["catalog_id"]
    counts = ok(await api.get("catalog/overview/", bc_id=bc, catalog_id=cat))
    assert counts == {"approved": 18, "processing": 4, "rejected": 2}
    sets = ok(await api.get("catalog/set/get/", bc_id=bc, catalog_id=cat))["list"]
    assert [(s["product_set_name"], s["product_count"]) for s in sets] == [
        ("All products", 24), ("Bestsellers", 8), ("New arrivals", 6)]
    bare = ok(await api.get("catalog/set/get/", bc_id=bc, catalog_id=cat,
                            return_product_count="false"))["list"]
    assert "product_count" not in bare[0]
    page = ok(await api.get("catalog/product/get/", bc_id=bc, catalog_id=cat, page_size=10,
                            page=3))
    assert page["page_info"] == {"page": 3, "page_size": 10, "total_number": 24,
                                 "total_page": 3}
    assert [p["audit_status"] for p in page["list"]] == ["PROCESSING"] * 2 + ["REJECTED"] * 2
    assert page["list"][-1]["reject_infos"]
    in_set = ok(await api.get("catalog/product/get/", bc_id=bc, catalog_id=cat,
                              product_set_id=sets[2]["product_set_id"]))
    assert in_set["page_info"]["total_number"] == 6
    err(await api.get("catalog/product/get/", bc_id=bc, catalog_id=cat, page_size=101), 40002)
    err(await api.get("catalog/overview/", bc_id=bc, catalog_id="123"), 40007)
    err(await api.get("catalog/overview/", bc_id=bc), 40002)


async def test_foreign_business_center_refused(api: Api) -> None:
    """A Business Center the token's user is not in: 40001, as bc/advertiser/balance/get."""
    foreign = next(b.bc_id for b in api.emu.state.bcs.values()
                   if b.name == "Northwind Agency BC")
    err(await api.get("catalog/get/", bc_id=foreign), 40001)
    err(await api.get("catalog/overview/", bc_id=foreign, catalog_id="1"), 40001)


async def test_shopping_ads_take_a_catalog_and_a_set_of_it(api: Api) -> None:
    """adgroup/create of a PRODUCT_SALES campaign with product_source CATALOG needs a catalog
    of the account's Business Center (else 40007); its ads need a set of that catalog."""
    bc = (await _bcs(api))["Demo Media BC"]
    cats = ok(await api.get("catalog/get/", bc_id=bc))["list"]
    sets = ok(await api.get("catalog/set/get/", bc_id=bc, catalog_id=cats[0]["catalog_id"]))
    other = ok(await api.get("catalog/set/get/", bc_id=bc, catalog_id=cats[1]["catalog_id"]))
    camp = ok(await api.post("campaign/create/", {
        "advertiser_id": US, "campaign_name": "Shop", "objective_type": "PRODUCT_SALES",
        "budget_mode": "BUDGET_MODE_INFINITE", "campaign_product_source": "CATALOG",
        "sales_destination": "WEBSITE"}))
    body = {
        "advertiser_id": US, "campaign_id": camp["campaign_id"], "adgroup_name": "Shop AG",
        "budget_mode": "BUDGET_MODE_DAY", "budget": 50, "schedule_type": "SCHEDULE_FROM_NOW",
        "schedule_start_time": "2026-11-29 12:00:00", "optimization_goal": "CLICK",
        "billing_event": "CPC", "pacing": "PACING_MODE_SMOOTH",
        "placement_type": "PLACEMENT_TYPE_AUTOMATIC", "location_ids": ["6252001"],
        "promotion_type": "WEBSITE", "shopping_ads_type": "VIDEO", "product_source": "CATALOG",
        "catalog_id": cats[0]["catalog_id"], "catalog_authorized_bc_id": bc,
    }
    err(await api.post("adgroup/create/", {**body, "catalog_id": "7300000000000000099"}), 40007)
    err(await api.post("adgroup/create/", {k: v for k, v in body.items() if k != "catalog_id"}),
        40002)
    err(await api.post("adgroup/create/", {**body, "product_source": "SHELF"}), 40002)
    group = ok(await api.post("adgroup/create/", body))
    got = ok(await api.get("adgroup/get/", advertiser_id=US,
                           filtering={"adgroup_ids": [group["adgroup_id"]]}))["list"][0]
    assert got["catalog_id"] == cats[0]["catalog_id"] and got["product_source"] == "CATALOG"
    image = next(i for i in api.emu.state.images.values() if i.advertiser_id == US)
    ident = next(i for i in api.emu.state.identities.values() if i.advertiser_id == US
                 and i.identity_type == "CUSTOMIZED_USER")
    creative = {"ad_name": "Shop ad", "ad_format": "SINGLE_IMAGE", "ad_text": "Shop now",
                "image_ids": [image.image_id], "identity_id": ident.identity_id,
                "identity_type": "CUSTOMIZED_USER", "call_to_action": "SHOP_NOW",
                "landing_page_url": "https://shop.example/",
                "product_set_id": sets["list"][1]["product_set_id"]}
    ad = {"advertiser_id": US, "adgroup_id": group["adgroup_id"]}
    missing = {k: v for k, v in creative.items() if k != "product_set_id"}
    err(await api.post("ad/create/", {**ad, "creatives": [missing]}), 40002)
    foreign = {**creative, "product_set_id": other["list"][0]["product_set_id"]}
    err(await api.post("ad/create/", {**ad, "creatives": [foreign]}), 40007)
    made = ok(await api.post("ad/create/", {**ad, "creatives": [creative]}))
    assert made["creatives"][0]["product_set_id"] == sets["list"][1]["product_set_id"]
