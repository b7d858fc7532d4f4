"""Catalogs, their product sets and products (spec §9 "Catalog / DPA"; tiktok-openapi/
catalog_get.yml and, in TikTok's SDK (tiktok/tiktok-business-api-sdk, yml_files/),
catalog_overview.yml, catalog_set_get.yml, catalog_set_product_get.yml). Scope-guarded as group
"catalogs" by the path table (scopes.py).

Catalogs belong to a Business Center (catalog_get.yml: ``bc_id`` required). The emulator keeps
no catalog registry: each Business Center's catalogs are derived from its id and the world's
seed, so every emulator answers the same. The demo's "Demo Media BC" has a US store catalog
(most products approved, a few in review, two rejected) and an EU catalog whose every product is
still in review (the case of a product set with nothing to deliver yet); every other Business
Center has one catalog.

Endpoints (all GET, all need ``bc_id`` of a Business Center the token's user belongs to, else
40001 as bc/advertiser/balance/get):
* ``catalog/get/``: optional ``catalog_id`` (the SDK's after-response plugin filters the list
  by it: an unknown id gives an empty list), ``page`` (default 1), ``page_size`` (default 10,
  maximum not declared -> ``catalog_page_size_max``). ``data.list`` + ``page_info``; an item
  has the response_rule's fields ``catalog_id``, ``catalog_name``, ``catalog_type``,
  ``catalog_conf`` {``region_code``, ``currency``, ``channel``, ``business_platform``: the
  fields of catalog/create's CatalogcreateCatalogConf}, ``bc_info`` {``bc_id``, ``bc_name``,
  ``picture_url``}, ``create_time``, ``update_time``, ``creative_asset_type``.
* ``catalog/overview/``: required ``catalog_id``; ``data`` {``approved``, ``processing``,
  ``rejected``}: product counts by review (audit) status (catalog_overview.yml response_rule).
* ``catalog/set/get/``: required ``catalog_id``; optional ``product_set_id``,
  ``return_product_count`` (default true). ``data.list`` (catalog_set_get.yml).
* ``catalog/product/get/``: required ``catalog_id``; optional ``product_ids`` (JSON list),
  ``product_set_id``, ``page`` (default 1), ``page_size`` (default 20, maximum
  ``catalog_product_page_size_max``). ``data.list`` + ``page_info``.

Uncertain [U], as played here:
* catalog_set_get.yml declares ``data.list`` only (a JSON-decoded ``result_list``): an item is
  ``product_set_id``, ``product_set_name`` (the names of catalog/set/update's body, SDK
  SetUpdateBody), ``catalog_id``, ``product_count`` (only with ``return_product_count``) and
  ``conditions``.
* catalog/product/get has no file in the SDK; the item fields follow catalog/product's own
  (catalog_product_delete.yml products[]: ``product_id``, ``title``, ``description``,
  ``brand``, ``availability``, ``image``, ``price`` {``price``, ``price_unit``},
  ``audit_status``, ``reject_infos``, ``product_set_ids``) plus ``sku_id``. ``audit_status`` is
  spelt as the overview's keys: APPROVED | PROCESSING | REJECTED.
* An unknown ``catalog_id`` on overview / set / product calls answers 40007 "Catalog … does not
  exist." (the code other unknown objects get).
* Shopping ads (api_entities.py): adgroup/create of a PRODUCT_SALES / CATALOG_SALES campaign
  with ``product_source`` CATALOG needs ``catalog_id`` (SDK AdgroupCreateBody: ``catalog_id``,
  ``catalog_authorized_bc_id``, ``product_source``, ``shopping_ads_type``) of a catalog of a
  Business Center the account is in (``catalog_for``), else 40007; its ads' creatives need a
  ``product_set_id`` of that catalog (ad/get lists ``catalog_id``, ``product_set_id``, spec
  §4.8), else 40007. The enums' values (shopping_ads_type VIDEO | LIVE |
  PRODUCT_SHOPPING_ADS, product_source CATALOG | STORE | SHOWCASE) are not in the SDK's model
  [U]. A set without approved products is accepted (TikTok would not deliver it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.tiktok.api_account import page_args, paginate
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import NO_PERMISSION, NOT_EXIST, ApiError
from sandbox.tiktok.model import Advertiser, BusinessCenter, World, fmt_time

APPROVED, PROCESSING, REJECTED = "APPROVED", "PROCESSING", "REJECTED"
REJECT_REASON = "Image does not meet TikTok's product image requirements."
ITEMS = ("Glow serum", "Night cream", "Lip oil", "Face mask", "Eye gel", "Cleanser",
         "Toner", "Sun fluid")


@dataclass(slots=True)
class ProductSet:
    """A product set: a name and the indexes of its products in the catalog."""

    product_set_id: str
    name: str
    products: list[int]


@dataclass(slots=True)
class Catalog:
    """A catalog of a Business Center with its products' review statuses and sets."""

    catalog_id: str
    index: int
    name: str
    bc: BusinessCenter
    region_code: str
    currency: str
    created: float
    statuses: list[str]
    sets: list[ProductSet] = field(default_factory=list)


# The demo Business Center's catalogs: (name, region, currency, approved, processing, rejected,
# sets as (name, first product, last product + 1)).
DEMO_BC = "Demo Media BC"
DEMO_CATALOGS = (
    ("Glowly Store US", "US", "USD", 18, 4, 2,
     (("All products", 0, 24), ("Bestsellers", 0, 8), ("New arrivals", 18, 24))),
    ("Glowly EU launch", "DE", "EUR", 0, 6, 0, (("All products", 0, 6),)),
)


def _id(base: int, bc_id: str, *parts: int) -> str:
    """A stable 19-digit id from a kind's base, the Business Center and small indexes."""
    n = int(bc_id) % 10**12
    for part in parts:
        n = n * 100 + part
    return str(base + n)


def catalogs_of(ctx: Ctx, bc: BusinessCenter) -> list[Catalog]:
    """A Business Center's catalogs (derived, so every emulator answers the same)."""
    return catalogs_in(ctx.world, bc, ctx.now)


def catalogs_in(world: World, bc: BusinessCenter, now: float) -> list[Catalog]:
    """A Business Center's catalogs in a world (tests read them so too)."""
    created = min((a.create_time for a in world.advertisers.values()
                   if a.owner_bc_id == bc.bc_id), default=now - 86_400 * 90)
    if bc.name == DEMO_BC:
        specs = DEMO_CATALOGS
    else:
        specs = ((f"{bc.name} catalog", bc.registered_area or "US", bc.currency or "USD",
                  9, 0, 1, (("All products", 0, 10),)),)
    out = []
    for n, (name, region, currency, ok, wait, bad, sets) in enumerate(specs, start=1):
        cid = _id(7_300_000_000_000_000_000, bc.bc_id, n)
        cat = Catalog(cid, n, name, bc, region, currency, created + 3600 * n,
                      [APPROVED] * ok + [PROCESSING] * wait + [REJECTED] * bad)
        for k, (set_name, first, end) in enumerate(sets, start=1):
            sid = _id(7_310_000_000_000_000_000, bc.bc_id, n, k)
            cat.sets.append(ProductSet(sid, set_name, list(range(first, end))))
        out.append(cat)
    return out


def catalog_for(ctx: Ctx, adv: Advertiser, bc_id: str | None, catalog_id: str) -> Catalog | None:
    """A catalog an ad account may advertise: one of a Business Center the account belongs to
    (``catalog_authorized_bc_id``, else the account's own BC) [U]."""
    bc = ctx.world.bcs.get(bc_id or adv.owner_bc_id)
    if bc is None or adv.advertiser_id not in bc.advertiser_ids:
        return None
    return next((c for c in catalogs_of(ctx, bc) if c.catalog_id == catalog_id), None)


def _bc(ctx: Ctx) -> BusinessCenter:
    """The request's Business Center, which the token's user must belong to."""
    bc_id = ctx.params.req("bc_id")
    bc = ctx.world.bcs.get(bc_id)
    assert ctx.token is not None
    user = ctx.world.users.get(ctx.token.login)
    if bc is None or user is None or bc_id not in user.bc_ids:
        raise ApiError(NO_PERMISSION, f"No permission to operate business center {bc_id}.")
    return bc


def _catalog(ctx: Ctx) -> Catalog:
    """The request's catalog, within its Business Center."""
    bc = _bc(ctx)
    cid = ctx.params.req("catalog_id")
    for cat in catalogs_of(ctx, bc):
        if cat.catalog_id == cid:
            return cat
    raise ApiError(NOT_EXIST, f"Catalog {cid} does not exist.")


def _public(cat: Catalog) -> dict[str, Any]:
    """A catalog as catalog/get answers it (catalog_get.yml response_rule)."""
    return {
        "catalog_id": cat.catalog_id,
        "catalog_name": cat.name,
        "catalog_type": "ECOM",
        "catalog_conf": {"region_code": cat.region_code, "currency": cat.currency,
                         "channel": "CLIENT", "business_platform": "CLIENT"},
        "bc_info": {"bc_id": cat.bc.bc_id, "bc_name": cat.bc.name, "picture_url": ""},
        "create_time": fmt_time(cat.created),
        "update_time": fmt_time(cat.created),
        "creative_asset_type": "",
    }


@route("catalog/get/")
def catalog_get(ctx: Ctx) -> Any:
    """A Business Center's catalogs, or one of them (catalog_get.yml)."""
    p = ctx.params
    bc = _bc(ctx)
    cid = p.str("catalog_id")
    page, size = page_args(p, ctx.emu.config.catalog_page_size_max, 10)
    rows = [_public(c) for c in catalogs_of(ctx, bc) if not cid or c.catalog_id == cid]
    out, info = paginate(rows, page, size)
    return {"list": out, "page_info": info}


@route("catalog/overview/")
def catalog_overview(ctx: Ctx) -> Any:
    """Product counts by review status (catalog_overview.yml)."""
    cat = _catalog(ctx)
    return {key.lower(): cat.statuses.count(key) for key in (APPROVED, PROCESSING, REJECTED)}


@route("catalog/set/get/")
def catalog_set_get(ctx: Ctx) -> Any:
    """A catalog's product sets, with product counts unless asked not to (catalog_set_get.yml)."""
    p = ctx.params
    cat = _catalog(ctx)
    set_id = p.str("product_set_id")
    with_count = p.bool("return_product_count", default=True)
    rows = []
    for s in cat.sets:
        if set_id and s.product_set_id != set_id:
            continue
        row: dict[str, Any] = {"catalog_id": cat.catalog_id, "product_set_id": s.product_set_id,
                               "product_set_name": s.name, "conditions": {}}
        if with_count:
            row["product_count"] = len(s.products)
        rows.append(row)
    return {"list": rows}


def _product(cat: Catalog, i: int) -> dict[str, Any]:
    """One product of a catalog as catalog/product/get answers it [U]."""
    status = cat.statuses[i]
    return {
        "product_id": _id(7_320_000_000_000_000_000, cat.bc.bc_id, cat.index, i + 1),
        "sku_id": f"SKU-{i + 1:04d}",
        "title": f"{ITEMS[i % len(ITEMS)]} #{i + 1}",
        "description": f"{ITEMS[i % len(ITEMS)]} from {cat.name}.",
        "brand": cat.name.split()[0],
        "availability": "IN_STOCK",
        "image": f"https://example.com/catalog/{cat.catalog_id}/{i + 1}.jpg",
        "price": {"price": f"{9 + i % 7}.99", "price_unit": cat.currency},
        "audit_status": status,
        "reject_infos": [{"reason": REJECT_REASON}] if status == REJECTED else [],
        "product_set_ids": [s.product_set_id for s in cat.sets if i in s.products],
    }


@route("catalog/product/get/")
def catalog_product_get(ctx: Ctx) -> Any:
    """A catalog's products, paged, optionally by ids or one product set [U]."""
    p = ctx.params
    cat = _catalog(ctx)
    ids = set(p.str_list("product_ids", max_items=100) or [])
    set_id = p.str("product_set_id")
    page, size = page_args(p, ctx.emu.config.catalog_product_page_size_max, 20)
    rows = [_product(cat, i) for i in range(len(cat.statuses))]
    rows = [r for r in rows if (not ids or r["product_id"] in ids)
            and (not set_id or set_id in r["product_set_ids"])]
    out, info = paginate(rows, page, size)
    return {"list": out, "page_info": info}
