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

Changed catalogs. catalog/create, product uploads, set edits and the like (catalog_admin.py,
catalog_products.py) keep their catalog as a plain record in ``World.catalogs``; a fixture
catalog is copied there (``record_of``) the first time it is changed, so it answers as before
until then and as changed afterwards. Reads here take the record when there is one:

* Products of a record have the fields of the Go SDK's ``product.Product``
  (bububa/tiktok-business model/catalog/product/product.go, the catalog/product/get item):
  ``image_url``, ``additional_image_urls``, ``video_url``, ``item_group_id``,
  ``google_product_category``, ``global_trade_item_number``, ``manufacturer_part_number``,
  ``profession`` (the upload's ``product_detail``), ``price_info`` {``price``, ``currency``,
  ``sale_price``, ``sale_price_effective_date``}, ``landing_page``, ``extra_info``, ``audit``
  {``audit_status`` approved | rejected | processing, ``reject_info`` [{``reason``,
  ``suggestion``, ``affected_placement``, ``affected_country``}]}, ``active_status``
  (ACTIVATED), ``ad_creation_eligible`` (AVAILABLE only when approved, active and in stock /
  available for order / preorder, as its comment says) and ``image_status`` (SUCCESS);
  fixture products answer these fields too, next to the older ones above.
* catalog/product/get also takes the Go SDK's ``sku_ids`` (at most 1000, not with
  ``product_ids``: 40002), ``product_set_ids`` (at most 100) and ``conditions``
  ({"and"|"or": [filter]}, the product-set filters of catalog_admin.py); ``product_ids`` may
  hold 1000 ids (GetRequest's comment). ``order`` is not emulated [U].
* A set of a record lists the products its ``conditions`` match (catalog_admin.py); a fixture
  set keeps the products it had (its ``conditions`` are ``{}``), less the deleted ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.tiktok.api_account import page_args, paginate
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import NO_PERMISSION, NOT_EXIST, ApiError, param_error
from sandbox.tiktok.model import DELETE, Advertiser, BusinessCenter, World, fmt_time

APPROVED, PROCESSING, REJECTED = "APPROVED", "PROCESSING", "REJECTED"
REJECT_REASON = "Image does not meet TikTok's product image requirements."
# TikTok's list of catalog product issues (ads.tiktok.com/help/article/list-of-catalog-product-
# issues-and-suggested-actions): an image link must end with .jpeg or .png.
BAD_IMAGE_REASON = "Image link is invalid and the image information cannot be downloaded"
BAD_IMAGE_SUGGESTION = "Check and update the image link. It must end with .jpeg or .png."
IMAGE_LINK = re.compile(r"^https?://\S+\.(jpe?g|png)(\?\S*)?$", re.IGNORECASE)
ITEMS = ("Glow serum", "Night cream", "Lip oil", "Face mask", "Eye gel", "Cleanser",
         "Toner", "Sun fluid")
# Go SDK product.Product: ad_creation_eligible needs one of these availabilities.
ELIGIBLE_AVAILABILITY = ("IN_STOCK", "AVAILABLE_FOR_ORDER", "PREORDER")


@dataclass(slots=True)
class ProductSet:
    """A product set: a name, the indexes of its products in the catalog and its filters."""

    product_set_id: str
    name: str
    products: list[int]
    conditions: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Catalog:
    """A catalog of a Business Center with its products' review statuses and sets.

    ``items`` holds a changed catalog's products (record form, catalog_products.py); None
    for a fixture catalog nobody changed, whose products are derived from their index."""

    catalog_id: str
    index: int
    name: str
    bc: BusinessCenter
    region_code: str
    currency: str
    created: float
    statuses: list[str]
    sets: list[ProductSet] = field(default_factory=list)
    updated: float = 0.0
    catalog_type: str = "ECOM"
    channel: str = "CLIENT"
    business_platform: str = "CLIENT"
    items: list[dict[str, Any]] | None = None


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


def _derived(world: World, bc: BusinessCenter, now: float) -> list[Catalog]:
    """A Business Center's fixture catalogs as nobody changed them."""
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
                      [APPROVED] * ok + [PROCESSING] * wait + [REJECTED] * bad,
                      updated=created + 3600 * n)
        for k, (set_name, first, end) in enumerate(sets, start=1):
            sid = _id(7_310_000_000_000_000_000, bc.bc_id, n, k)
            cat.sets.append(ProductSet(sid, set_name, list(range(first, end))))
        out.append(cat)
    return out


def catalogs_in(world: World, bc: BusinessCenter, now: float) -> list[Catalog]:
    """A Business Center's catalogs in a world (tests read them so too): the fixture's, as
    changed, then those catalog/create made, oldest first; deleted ones left out."""
    out = []
    for cat in _derived(world, bc, now):
        rec = world.catalogs.get(cat.catalog_id)
        if rec is None:
            out.append(cat)
        elif not rec["deleted"]:
            out.append(from_record(bc, rec, now))
    for rec in world.catalogs.values():
        if rec["bc_id"] == bc.bc_id and not rec["index"] and not rec["deleted"]:
            out.append(from_record(bc, rec, now))
    return out


def catalog_for(ctx: Ctx, adv: Advertiser, bc_id: str | None, catalog_id: str) -> Catalog | None:
    """A catalog an ad account may advertise: one of a Business Center the account belongs to
    (``catalog_authorized_bc_id``, else the account's own BC) [U]."""
    bc = ctx.world.bcs.get(bc_id or adv.owner_bc_id)
    if bc is None or adv.advertiser_id not in bc.advertiser_ids:
        return None
    return next((c for c in catalogs_of(ctx, bc) if c.catalog_id == catalog_id), None)


# ------------------------------------------------------------------ records (changed catalogs)


def item_status(item: dict[str, Any], now: float) -> str:
    """A stored product's review status at ``now``: a fixture product keeps its own; an
    uploaded one is in review until ``review_at``, then approved unless its image link is
    bad (catalog_products.py)."""
    if item.get("fixed_status"):
        return str(item["fixed_status"])
    if now < item["review_at"]:
        return PROCESSING
    return REJECTED if item.get("reject_reason") else APPROVED


def _fixture_item(cat: Catalog, i: int) -> dict[str, Any]:
    """Product ``i`` of a fixture catalog in record form (the values it always answered)."""
    name = ITEMS[i % len(ITEMS)]
    return {
        "product_id": _id(7_320_000_000_000_000_000, cat.bc.bc_id, cat.index, i + 1),
        "sku_id": f"SKU-{i + 1:04d}",
        "title": f"{name} #{i + 1}",
        "description": f"{name} from {cat.name}.",
        "brand": cat.name.split()[0],
        "availability": "IN_STOCK",
        "image_url": f"https://example.com/catalog/{cat.catalog_id}/{i + 1}.jpg",
        "price_info": {"price": f"{9 + i % 7}.99", "currency": cat.currency},
        "product_detail": {"condition": "NEW"},
        "landing_page": {"landing_page_url":
                         f"https://example.com/catalog/{cat.catalog_id}/p/{i + 1}"},
        "fixed_status": cat.statuses[i],
        "reject_reason": REJECT_REASON if cat.statuses[i] == REJECTED else "",
        "created": cat.created,
        "updated": cat.created,
        "review_at": cat.created,
    }


def _items(cat: Catalog) -> list[dict[str, Any]]:
    """A catalog's products in record form."""
    if cat.items is not None:
        return cat.items
    return [_fixture_item(cat, i) for i in range(len(cat.statuses))]


def record_of(world: World, cat: Catalog) -> dict[str, Any]:
    """The stored record of a catalog, made from the fixture's the first time it is changed."""
    rec = world.catalogs.get(cat.catalog_id)
    if rec is not None:
        return rec
    items = _items(cat)
    rec = {
        "catalog_id": cat.catalog_id, "bc_id": cat.bc.bc_id, "index": cat.index,
        "name": cat.name, "catalog_type": cat.catalog_type, "region_code": cat.region_code,
        "currency": cat.currency, "channel": cat.channel,
        "business_platform": cat.business_platform, "created": cat.created,
        "updated": cat.updated or cat.created, "deleted": False,
        "products": {it["sku_id"]: it for it in items},
        "sets": [{"product_set_id": s.product_set_id, "name": s.name, "conditions": {},
                  "members": [items[i]["sku_id"] for i in s.products], "created": cat.created}
                 for s in cat.sets],
        "feeds": [], "event_sources": [],
    }
    world.catalogs[cat.catalog_id] = rec
    return rec


def from_record(bc: BusinessCenter, rec: dict[str, Any], now: float) -> Catalog:
    """A Catalog read from its stored record at ``now``."""
    items = list(rec["products"].values())
    cat = Catalog(rec["catalog_id"], rec["index"], rec["name"], bc, rec["region_code"],
                  rec["currency"], rec["created"], [item_status(it, now) for it in items],
                  updated=rec["updated"], catalog_type=rec["catalog_type"],
                  channel=rec["channel"], business_platform=rec["business_platform"],
                  items=items)
    for s in rec["sets"]:
        if s["members"] is not None:
            keep = set(s["members"])
            members = [i for i, it in enumerate(items) if it["sku_id"] in keep]
        else:
            members = [i for i, it in enumerate(items) if matches(it, s["conditions"])]
        cat.sets.append(ProductSet(s["product_set_id"], s["name"], members, s["conditions"]))
    return cat


# ------------------------------------------------------------------ product-set filters

# Filter operations [U]: TikTok's product-set filters (ads.tiktok.com/help/article/list-of-
# supported-product-set-filters: is, is not, contains, does not contain, starts with, is any
# of, greater / less than) under the Go SDK's enum.FilterOperator names.
TEXT_OPS = ("EQ", "NOT_EQ", "IN", "NOT_IN", "CONTAIN", "NOT_CONTAIN", "DOES_NOT_CONTAIN",
            "START_WITH")
NUMBER_OPS = ("GT", "GTE", "LT", "LTE")
FILTER_OPS = TEXT_OPS + NUMBER_OPS
# Where a filter's field is looked up in a product record: the top level, then these objects.
NESTED = ("product_detail", "price_info", "extra_info", "landing_page")


def _field(item: dict[str, Any], name: str) -> Any:
    """A product's value of a filter field (``price`` is price_info.price) [U]."""
    if name in item and not isinstance(item[name], dict):
        return item[name]
    for key in NESTED:
        sub = item.get(key)
        if isinstance(sub, dict) and name in sub:
            return sub[name]
    return None


def check_conditions(conditions: Any, name: str = "conditions") -> dict[str, Any]:
    """Validate ``{"and"|"or": [{field, operation, value[, case_sensitive]}]}`` (the shape of
    TikTok's catalog/set/create docs as generated clients type it; catalog_set_update.yml:
    ``and`` / ``or`` lists of at least one object); the Go SDK's model.Filter spells the
    operation ``operator``, also taken [U]. Returns it normalised."""
    if not isinstance(conditions, dict) or not conditions:
        raise param_error(f"{name} should be an object with an and / or list.")
    out: dict[str, Any] = {}
    for key, filters in conditions.items():
        if key not in ("and", "or"):
            raise param_error(f"{name} takes and / or, not {key}.")
        if not isinstance(filters, list) or not filters:
            raise param_error(f"{name}.{key} should be a list of at least 1 filter.")
        norm = []
        for f in filters:
            if not isinstance(f, dict):
                raise param_error(f"{name}.{key} should be a list of objects.")
            fld = f.get("field")
            op = f.get("operation", f.get("operator"))
            value = f.get("value")
            if not isinstance(fld, str) or not fld:
                raise param_error(f"{name}.{key}[].field is required.")
            if op not in FILTER_OPS:
                raise param_error(f"{name}.{key}[].operation must be one of {list(FILTER_OPS)}.")
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(v, str | int | float) and not isinstance(v, bool)
                                     for v in values):
                raise param_error(f"{name}.{key}[].value should be a string or a list of them.")
            if op in NUMBER_OPS:
                try:
                    Decimal(str(values[0]))
                except InvalidOperation:
                    raise param_error(f"{name}.{key}[].value should be a number for {op}.") \
                        from None
            norm.append({"field": fld, "operation": op, "value": value,
                         "case_sensitive": bool(f.get("case_sensitive", False))})
        out[key] = norm
    return out


def _one(item: dict[str, Any], f: dict[str, Any]) -> bool:
    """Whether a product passes one filter."""
    got = _field(item, f["field"])
    op = f["operation"]
    values = f["value"] if isinstance(f["value"], list) else [f["value"]]
    if op in NUMBER_OPS:
        try:
            a, b = Decimal(str(got)), Decimal(str(values[0]))
        except InvalidOperation:
            return False
        return {"GT": a > b, "GTE": a >= b, "LT": a < b, "LTE": a <= b}[op]
    text = "" if got is None else str(got)
    wanted = [str(v) for v in values]
    if not f["case_sensitive"]:
        text, wanted = text.lower(), [w.lower() for w in wanted]
    if op in ("EQ", "IN"):
        return text in wanted
    if op in ("NOT_EQ", "NOT_IN"):
        return text not in wanted
    if op == "CONTAIN":
        return any(w in text for w in wanted)
    if op == "START_WITH":
        return any(text.startswith(w) for w in wanted)
    return not any(w in text for w in wanted)  # NOT_CONTAIN, DOES_NOT_CONTAIN


def matches(item: dict[str, Any], conditions: dict[str, Any]) -> bool:
    """Whether a product passes a set's conditions: every ``and`` filter and, when there are
    ``or`` filters, at least one of them; no conditions match everything."""
    if not all(_one(item, f) for f in conditions.get("and", [])):
        return False
    ors = conditions.get("or", [])
    return not ors or any(_one(item, f) for f in ors)


# ------------------------------------------------------------------ request helpers


def bc_of(ctx: Ctx, admin: bool = False) -> BusinessCenter:
    """The request's Business Center, which the token's user must belong to (as an ADMIN for
    changes: TikTok's catalog roles give Standard members catalog access only when assigned,
    and ad promotion only in this emulator, bc/asset/get's ``catalog_role``)."""
    bc_id = ctx.params.req("bc_id")
    bc = ctx.world.bcs.get(bc_id)
    assert ctx.token is not None
    user = ctx.world.users.get(ctx.token.login)
    if bc is None or user is None or bc_id not in user.bc_ids:
        raise ApiError(NO_PERMISSION, f"No permission to operate business center {bc_id}.")
    if admin and bc.roles.get(user.login) != "ADMIN":
        raise ApiError(NO_PERMISSION,
                       f"No permission to manage catalogs of business center {bc_id}.")
    return bc


def catalog_of(ctx: Ctx, admin: bool = False) -> Catalog:
    """The request's catalog, within its Business Center."""
    bc = bc_of(ctx, admin)
    cid = ctx.params.req("catalog_id")
    for cat in catalogs_of(ctx, bc):
        if cat.catalog_id == cid:
            return cat
    raise ApiError(NOT_EXIST, f"Catalog {cid} does not exist.")


_bc = bc_of
_catalog = catalog_of


def in_use(world: World, catalog_id: str) -> list[str]:
    """The ad groups (not deleted) that advertise a catalog."""
    return [g.adgroup_id for g in world.adgroups.values()
            if str(g.extra.get("catalog_id", "")) == catalog_id and g.status.current() != DELETE]


def public(cat: Catalog) -> dict[str, Any]:
    """A catalog as catalog/get answers it (catalog_get.yml response_rule)."""
    return {
        "catalog_id": cat.catalog_id,
        "catalog_name": cat.name,
        "catalog_type": cat.catalog_type,
        "catalog_conf": {"region_code": cat.region_code, "currency": cat.currency,
                         "channel": cat.channel, "business_platform": cat.business_platform},
        "bc_info": {"bc_id": cat.bc.bc_id, "bc_name": cat.bc.name, "picture_url": ""},
        "create_time": fmt_time(cat.created),
        "update_time": fmt_time(cat.updated or cat.created),
        "creative_asset_type": "",
    }


_public = public


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
                               "product_set_name": s.name, "conditions": s.conditions}
        if with_count:
            row["product_count"] = len(s.products)
        rows.append(row)
    return {"list": rows}


def _money(value: Any) -> int | float:
    """A price as a JSON number (Go SDK PriceInfo: float64)."""
    d = Decimal(str(value))
    return int(d) if d == d.to_integral_value() else float(d)


def product_row(cat: Catalog, i: int, status: str | None = None) -> dict[str, Any]:
    """One product of a catalog as catalog/product/get answers it: the fields this emulator
    always gave, then the Go SDK's product.Product fields (see the module docstring)."""
    item = _items(cat)[i]
    status = status or cat.statuses[i]
    price = item.get("price_info") or {}
    reason = item.get("reject_reason") or REJECT_REASON
    row: dict[str, Any] = {
        "product_id": item["product_id"],
        "sku_id": item["sku_id"],
        "title": item.get("title", ""),
        "description": item.get("description", ""),
        "brand": item.get("brand", ""),
        "availability": item.get("availability", ""),
        "image": item.get("image_url", ""),
        "price": {"price": str(price.get("price", "")),
                  "price_unit": price.get("currency") or cat.currency},
        "audit_status": status,
        "reject_infos": [{"reason": reason}] if status == REJECTED else [],
        "product_set_ids": [s.product_set_id for s in cat.sets if i in s.products],
    }
    active = item.get("active_status", "ACTIVATED")
    eligible = (status == APPROVED and active == "ACTIVATED"
                and row["availability"] in ELIGIBLE_AVAILABILITY)
    row.update({
        "image_url": item.get("image_url", ""),
        "additional_image_urls": list(item.get("additional_image_urls") or []),
        "video_url": item.get("video_url", ""),
        "item_group_id": item.get("item_group_id", ""),
        "google_product_category": item.get("google_product_category", ""),
        "global_trade_item_number": item.get("global_trade_item_number", ""),
        "manufacturer_part_number": item.get("manufacturer_part_number", ""),
        "profession": dict(item.get("product_detail") or {}),
        "price_info": {**{k: v for k, v in price.items() if k not in ("price", "sale_price")},
                       "currency": price.get("currency") or cat.currency,
                       **({"price": _money(price["price"])} if price.get("price") not in
                          (None, "") else {}),
                       **({"sale_price": _money(price["sale_price"])}
                          if price.get("sale_price") not in (None, "") else {})},
        "landing_page": dict(item.get("landing_page") or {}),
        "extra_info": dict(item.get("extra_info") or {}),
        "audit": {"audit_status": status.lower(),
                  **({"reject_info": [{
                      "reason": reason,
                      "suggestion": item.get("reject_suggestion") or BAD_IMAGE_SUGGESTION,
                      "affected_placement": [], "affected_country": [cat.region_code]}]}
                     if status == REJECTED else {})},
        "active_status": active,
        "ad_creation_eligible": "AVAILABLE" if eligible else "NOT_AVAILABLE",
        "image_status": "SUCCESS",
    })
    return row


_product = product_row


@route("catalog/product/get/")
def catalog_product_get(ctx: Ctx) -> Any:
    """A catalog's products, paged, optionally by ids, SKUs, product sets or filters [U]."""
    p = ctx.params
    cat = _catalog(ctx)
    ids = set(p.str_list("product_ids", max_items=1000) or [])
    skus = set(p.str_list("sku_ids", max_items=1000) or [])
    if ids and skus:
        raise param_error("product_ids and sku_ids cannot be used together.")
    set_ids = set(p.str_list("product_set_ids", max_items=100) or [])
    if p.has("product_set_id"):
        set_ids.add(p.req("product_set_id"))
    conditions = check_conditions(p.json("conditions")) if p.has("conditions") else {}
    page, size = page_args(p, ctx.emu.config.catalog_product_page_size_max, 20)
    items = _items(cat)
    rows = []
    for i in range(len(items)):
        row = _product(cat, i)
        if (ids and row["product_id"] not in ids) or (skus and row["sku_id"] not in skus):
            continue
        if set_ids and not set_ids & set(row["product_set_ids"]):
            continue
        # GetRequest: conditions are ignored when product_ids or sku_ids are given.
        if conditions and not ids and not skus and not matches(items[i], conditions):
            continue
        rows.append(row)
    out, info = paginate(rows, page, size)
    return {"list": out, "page_info": info}
