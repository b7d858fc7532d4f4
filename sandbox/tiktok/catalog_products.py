"""Catalog products: upload, update and delete them, and the task log that says how it went
(spec §9 "Catalog / DPA"). Scope-guarded as group "catalogs" by the path table (scopes.py).

Sources. Paths and request bodies: TikTok's SDK (tiktok/tiktok-business-api-sdk, yml_files/)
catalog_product_delete.yml, catalog_product_file.yml, catalog_product_log.yml; the Go SDK
bububa/tiktok-business model/catalog/product/ (upload.go, update.go, delete.go, file.go, log.go,
ecom_product.go, product.go) for catalog/product/upload/ and /update/, which TikTok's SDK has
no file for, and for every field's meaning and limits (quoted from TikTok's docs there).

* ``POST catalog/product/upload/`` {``bc_id``, ``catalog_id``, ``feed_id``?, ``products``:
  [EcomProduct]} -> ``{"feed_log_id"}``. A product is the Go SDK's EcomProduct: ``sku_id``
  (≤100 chars, unique: "multiple instances of the same ID will be ignored", so the first one
  counts and the others are warned about), ``title`` (≤500), ``description`` (≤10,000),
  ``availability`` (IN_STOCK | AVAILABLE_FOR_ORDER | PREORDER | OUT_OF_STOCK |
  DISCONTINUED), ``brand`` (≤150), ``image_url``, ``additional_image_urls`` (≤10),
  ``video_url``, ``item_group_id``, ``google_product_category``, ``global_trade_item_number``,
  ``manufacturer_part_number``, ``product_detail`` {``condition`` NEW | REFURBISHED | USED,
  ``age_group``, ``color``, ``gender`` MALE | FEMALE | UNISEX, ``material``, ``pattern``,
  ``product_category``, ``shipping``, ``shipping_weight``, ``size``, ``tax``}, ``price_info``
  {``price``, ``currency``, ``sale_price``, ``sale_price_effective_date``}, ``landing_page``
  {``landing_page_url``, app links}, ``extra_info`` {``custom_label_0..4``}. The nine fields
  TikTok requires (ads.tiktok.com/help "Catalog Product Parameters": sku_id, title,
  description, availability, condition, price, link, image_link, brand) are required here.
  A product with the same ``sku_id`` as one in the catalog replaces it ("use the same id to
  replace the same product").
* ``POST catalog/product/update/``: the same body; each product names an existing
  ``sku_id`` and the fields it sends replace those fields (objects field by field); the
  product as changed is checked as an upload is (an unknown ``sku_id`` is an error of the
  task) [U].
* ``POST catalog/product/delete/`` {``bc_id``, ``catalog_id``, ``feed_id``?, ``sku_ids``
  (≤1000, no duplicates)}; the other catalog types' id lists (hotel_ids, flight_ids, ...) are
  taken but only E-commerce products are emulated.
* ``GET catalog/product/log/`` {``bc_id``, ``catalog_id``, ``feed_log_id``, ``language``?}
  -> ``product_feed_log`` {``catalog_id``, ``feed_id``, ``add_count``, ``update_count``,
  ``delete_count``, ``error_count``, ``warn_count``, ``process_status``, ``update_mode``,
  ``start_time``, ``end_time``, ``feed_log_data`` {``download_path``,
  ``error_affected_products``, ``warn_affected_products``: [{``affected_product_count``,
  ``affected_product_item_list`` (first five), ``field``, ``issue``, ``suggestion``}]}}
  (catalog_product_log.yml response_rule). An item's ``index`` is its place in the uploaded
  list counted as the Go SDK's comment says ("index 2 is the first product") [L].
* ``POST catalog/product/file/`` {``bc_id``, ``catalog_id``, ``file_url``, ``update_mode``
  INCREMENTAL | OVERWRITE, ``feed_id``?} -> ``{"feed_log_id"}``: a CSV in TikTok's
  E-commerce template (Go SDK ``csv`` tags: sku_id, title, description, availability,
  condition, price, link, image_link, brand, ...; prices "30 USD" or "30", availability
  "in stock" or IN_STOCK). The emulator is offline: it reads a file only from a loopback
  address (127.0.0.1 / localhost, where a test serves it); any other URL ends the task
  FAILED with a download error [U].

Uncertain [U], as played here:
* TikTok handles these tasks asynchronously; the emulator finishes them at once (the log says
  SUCCESS, start_time = end_time = now), so the products are in catalog/product/get right
  after the call. A task whose every product failed is still SUCCESS (the log's counts say
  what happened); only an unreadable file makes it FAILED.
* Review: a product added or changed is PROCESSING for ``catalog_review_seconds`` (config,
  900), then APPROVED, or REJECTED when its image link is not an http(s) .jpg/.jpeg/.png link
  (TikTok's list of catalog product issues: "It must end with .jpeg or .png").
* At most ``catalog_upload_max_products`` (config, 5000) products per call -> 40002.
* ``update_mode`` in the log: INCREASE for JSON uploads, updates, deletes and INCREMENTAL
  files, REPLACE for OVERWRITE files (the Go SDK's log enum). ``download_path`` is ``{}``:
  no error file is published. Messages are English whatever ``language`` asks.
* Only a Business Center ADMIN may change products (TikTok's catalog roles: uploading needs
  Catalog Management permission, which this emulator gives BC admins only; others get 40001).
"""

from __future__ import annotations

import csv
import io
import urllib.parse
import urllib.request
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.tiktok import catalogs
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import NOT_EXIST, ApiError, param_error
from sandbox.tiktok.model import fmt_time

AVAILABILITY = ("IN_STOCK", "AVAILABLE_FOR_ORDER", "PREORDER", "OUT_OF_STOCK", "DISCONTINUED")
CONDITION = ("NEW", "REFURBISHED", "USED")
AGE_GROUP = ("NEW_BORN", "INFANT", "TODDLER", "KIDS", "ADULT")
GENDER = ("MALE", "FEMALE", "UNISEX")
LANGUAGES = ("en", "zh-CN", "ja-JP", "de", "es", "fr", "hi-IN", "id", "it", "ko", "ms", "ru",
             "th", "tr", "vi")
# Top-level string fields of an EcomProduct and their length limits (Go SDK ecom_product.go).
TEXT_FIELDS = {"sku_id": 100, "title": 500, "description": 10_000, "brand": 150,
               "image_url": 2000, "video_url": 2000, "item_group_id": 100,
               "google_product_category": 250, "global_trade_item_number": 50,
               "manufacturer_part_number": 70}
OBJECT_FIELDS = ("product_detail", "price_info", "landing_page", "extra_info")
REQUIRED = ("sku_id", "title", "description", "availability", "brand", "image_url")
SUGGEST_REQUIRED = "Add the missing field and upload the product again."
DELETE_ID_LISTS = ("sku_ids", "hotel_ids", "flight_ids", "destination_ids", "media_title_ids",
                   "vehicle_ids", "series_ids")


class Issues:
    """The problems of one task, grouped by (field, issue) as the log shows them."""

    def __init__(self) -> None:
        """No problems yet."""
        self.errors: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self.warns: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self.bad: set[int] = set()
        self.warned: set[int] = set()

    def add(self, pos: int, product: Any, fld: str, issue: str, suggestion: str,
            warn: bool = False) -> None:
        """Note one problem of the product at ``pos`` (0-based) in the request."""
        raw = product if isinstance(product, dict) else {}
        item = {"index": pos + 2, "sku_id": str(raw.get("sku_id", "")),
                "title": str(raw.get("title", "")),
                "value": str(raw.get(fld, "")) if not isinstance(raw.get(fld), dict) else ""}
        (self.warns if warn else self.errors).setdefault((fld, issue, suggestion), []).append(item)
        (self.warned if warn else self.bad).add(pos)

    @staticmethod
    def _rows(groups: dict[tuple[str, str, str], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """Grouped problems as the log lists them (first five products of each)."""
        return [{"field": f, "issue": i, "suggestion": s, "affected_product_count": len(items),
                 "affected_product_item_list": items[:5]}
                for (f, i, s), items in groups.items()]

    def data(self) -> dict[str, Any]:
        """``feed_log_data``."""
        return {"download_path": {}, "error_affected_products": self._rows(self.errors),
                "warn_affected_products": self._rows(self.warns)}


def _price(value: Any) -> str | None:
    """A non-negative price as a decimal string, or None when it is not one."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not d.is_finite() or d < 0:
        return None
    return str(d.normalize()) if d != d.to_integral_value() else str(int(d))


def _check(pos: int, prod: Any, issues: Issues) -> dict[str, Any] | None:
    """A product of a request, cleaned (record fields), or None with its problems noted."""
    if not isinstance(prod, dict):
        issues.add(pos, prod, "products", "A product should be an object.",
                   "Send each product as a JSON object.")
        return None
    out: dict[str, Any] = {}
    ok = True
    for name, limit in TEXT_FIELDS.items():
        if name not in prod or prod[name] in (None, ""):
            if name in REQUIRED:
                issues.add(pos, prod, name, f"Required field '{name}' is missing.",
                           SUGGEST_REQUIRED)
                ok = False
            continue
        value = prod[name]
        if not isinstance(value, str | int) or isinstance(value, bool):
            issues.add(pos, prod, name, f"'{name}' should be a string.", "Send text.")
            ok = False
        elif len(str(value)) > limit:
            issues.add(pos, prod, name, f"'{name}' is longer than {limit} characters.",
                       f"Shorten '{name}'.")
            ok = False
        else:
            out[name] = str(value)
    value = prod.get("availability")
    if value not in AVAILABILITY:
        issues.add(pos, prod, "availability",
                   "Required field 'availability' is missing." if value in (None, "")
                   else f"'availability' must be one of {list(AVAILABILITY)}.",
                   SUGGEST_REQUIRED)
        ok = False
    else:
        out["availability"] = value
    extra = prod.get("additional_image_urls")
    if extra is not None:
        if not isinstance(extra, list) or not all(isinstance(u, str) for u in extra):
            issues.add(pos, prod, "additional_image_urls", "Should be a list of URLs.",
                       "Send a list of image URLs.")
            ok = False
        elif len(extra) > 10:
            issues.add(pos, prod, "additional_image_urls", "At most 10 additional images.",
                       "Remove some additional images.")
            ok = False
        else:
            out["additional_image_urls"] = list(extra)
    for name in OBJECT_FIELDS:
        value = prod.get(name)
        if value is None:
            continue
        if not isinstance(value, dict):
            issues.add(pos, prod, name, f"'{name}' should be an object.", "Send an object.")
            ok = False
            continue
        out[name] = dict(value)
    detail = out.get("product_detail", {})
    price = out.get("price_info", {})
    page = out.get("landing_page", {})
    cond = detail.get("condition")
    if cond not in CONDITION:
        issues.add(pos, prod, "condition",
                   "Required field 'condition' is missing." if cond in (None, "")
                   else f"'condition' must be one of {list(CONDITION)}.", SUGGEST_REQUIRED)
        ok = False
    for name, allowed in (("age_group", AGE_GROUP), ("gender", GENDER)):
        if detail.get(name) not in (None, "") and detail.get(name) not in allowed:
            issues.add(pos, prod, name, f"'{name}' must be one of {list(allowed)}.",
                       f"Fix '{name}'.")
            ok = False
    amount = _price(price.get("price"))
    if amount is None:
        issues.add(pos, prod, "price", "Required field 'price' is missing or not a "
                   "non-negative number.", SUGGEST_REQUIRED)
        ok = False
    else:
        price["price"] = amount
    if price.get("sale_price") not in (None, ""):
        sale = _price(price["sale_price"])
        if sale is None:
            issues.add(pos, prod, "sale_price", "'sale_price' should be a number.",
                       "Fix 'sale_price'.")
            ok = False
        else:
            price["sale_price"] = sale
    url = page.get("landing_page_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        issues.add(pos, prod, "landing_page_url",
                   "Invalid or inaccurate product link.",
                   "Check that product links begin with https:// or http://.")
        ok = False
    return out if ok else None


def _review(ctx: Ctx, item: dict[str, Any]) -> None:
    """Put a new or changed product (back) in review."""
    item["review_at"] = ctx.now + ctx.emu.config.catalog_review_seconds
    item["fixed_status"] = ""
    bad = not catalogs.IMAGE_LINK.match(str(item.get("image_url", "")))
    item["reject_reason"] = catalogs.BAD_IMAGE_REASON if bad else ""
    item["reject_suggestion"] = catalogs.BAD_IMAGE_SUGGESTION if bad else ""
    item["updated"] = ctx.now


def _target(ctx: Ctx) -> tuple[catalogs.Catalog, dict[str, Any], str]:
    """The request's catalog (changes need a BC admin), its record and ``feed_id``."""
    cat = catalogs.catalog_of(ctx, admin=True)
    rec = catalogs.record_of(ctx.world, cat)
    feed_id = ctx.params.str("feed_id") or ""
    if feed_id and not any(f["feed_id"] == feed_id for f in rec["feeds"]):
        raise ApiError(NOT_EXIST, f"Feed {feed_id} does not exist.")
    return cat, rec, feed_id


def _products(ctx: Ctx) -> list[Any]:
    """The request's ``products`` list."""
    products = ctx.params.json("products")
    if not isinstance(products, list) or not products:
        raise param_error("products should be a list of at least 1 product.")
    limit = ctx.emu.config.catalog_upload_max_products
    if len(products) > limit:
        raise param_error(f"products can contain at most {limit} items.")
    return products


def _log(ctx: Ctx, rec: dict[str, Any], feed_id: str, mode: str, issues: Issues,
         counts: dict[str, int], status: str = "SUCCESS") -> dict[str, Any]:
    """Record a finished product task; its ``feed_log_id`` is the answer."""
    log_id = ctx.world.next_id("catalog_feed_log", 7_339_000_000_000_000_000)
    ctx.world.catalog_logs[log_id] = {
        "feed_log_id": log_id, "catalog_id": rec["catalog_id"], "feed_id": feed_id,
        "add_count": counts.get("add", 0), "update_count": counts.get("update", 0),
        "delete_count": counts.get("delete", 0), "error_count": len(issues.bad),
        "warn_count": len(issues.warned - issues.bad), "process_status": status,
        "update_mode": mode, "start_time": ctx.now, "end_time": ctx.now,
        "feed_log_data": issues.data(),
    }
    rec["updated"] = ctx.now
    return {"feed_log_id": log_id}


def put_products(ctx: Ctx, rec: dict[str, Any], products: list[Any], feed_id: str,
                 issues: Issues, replace_all: bool = False) -> dict[str, int]:
    """Add or replace products by ``sku_id`` (an upload); ``replace_all`` (OVERWRITE) then
    deletes the catalog's products the upload did not name. Returns the counts."""
    counts = {"add": 0, "update": 0, "delete": 0}
    seen: set[str] = set()
    named = {str(p["sku_id"]) for p in products if isinstance(p, dict) and p.get("sku_id")}
    for pos, prod in enumerate(products):
        clean = _check(pos, prod, issues)
        if clean is None:
            continue
        sku = clean["sku_id"]
        if sku in seen:
            issues.add(pos, prod, "sku_id", "IDs cannot be duplicated.",
                       "Check that your IDs are not duplicated, such as SKU ID.", warn=True)
            continue
        seen.add(sku)
        old = rec["products"].get(sku)
        item = {**clean, "feed_id": feed_id,
                "product_id": old["product_id"] if old else
                ctx.world.next_id("catalog_product", 7_329_000_000_000_000_000),
                "created": old["created"] if old else ctx.now}
        _review(ctx, item)
        rec["products"][sku] = item
        counts["update" if old else "add"] += 1
    if replace_all:
        # A product the file named but could not take keeps its old version [U].
        for sku in [s for s in rec["products"] if s not in seen | named]:
            del rec["products"][sku]
            counts["delete"] += 1
    return counts


@route("catalog/product/upload/", "POST")
def product_upload(ctx: Ctx) -> Any:
    """Upload products as JSON (Go SDK product.UploadRequest): a finished task's log id."""
    _cat, rec, feed_id = _target(ctx)
    products = _products(ctx)
    issues = Issues()
    counts = put_products(ctx, rec, products, feed_id, issues)
    return _log(ctx, rec, feed_id, "INCREASE", issues, counts)


@route("catalog/product/update/", "POST")
def product_update(ctx: Ctx) -> Any:
    """Change products named by ``sku_id``: the fields sent replace theirs [U]."""
    _cat, rec, feed_id = _target(ctx)
    products = _products(ctx)
    issues = Issues()
    counts = {"update": 0}
    for pos, prod in enumerate(products):
        sku = prod.get("sku_id") if isinstance(prod, dict) else None
        old = rec["products"].get(str(sku)) if sku not in (None, "") else None
        if old is None:
            issues.add(pos, prod, "sku_id", "The product does not exist in the catalog."
                       if sku not in (None, "") else "Required field 'sku_id' is missing.",
                       "Upload the product with /catalog/product/upload/ first.")
            continue
        # The product as it would be, checked as an upload is (objects merged key by key).
        merged = {k: v for k, v in old.items() if k in TEXT_FIELDS or k in OBJECT_FIELDS
                  or k in ("availability", "additional_image_urls")}
        for key, value in prod.items():
            both = key in OBJECT_FIELDS and isinstance(value, dict)
            merged[key] = {**(old.get(key) or {}), **value} if both else value
        clean = _check(pos, merged, issues)
        if clean is None:
            continue
        item = {**old, **clean}
        _review(ctx, item)
        rec["products"][item["sku_id"]] = item
        counts["update"] += 1
    return _log(ctx, rec, feed_id, "INCREASE", issues, counts)


@route("catalog/product/delete/", "POST")
def product_delete(ctx: Ctx) -> Any:
    """Delete products by ``sku_ids`` (catalog_product_delete.yml)."""
    p = ctx.params
    _cat, rec, feed_id = _target(ctx)
    lists = {name: p.str_list(name, max_items=1000) for name in DELETE_ID_LISTS}
    given = {k: v for k, v in lists.items() if v}
    if not given:
        raise param_error("sku_ids is required.")
    if len(given) > 1:
        raise param_error("Pass one list of product ids only.")
    name, ids = next(iter(given.items()))
    if len(set(ids)) != len(ids):
        raise param_error(f"{name} cannot contain duplicated ids.")
    issues = Issues()
    counts = {"delete": 0}
    for pos, sku in enumerate(ids):
        if name == "sku_ids" and sku in rec["products"]:
            del rec["products"][sku]
            counts["delete"] += 1
        else:
            issues.add(pos, {"sku_id": sku}, name[:-1], "The product does not exist in the "
                       "catalog.", "Check the id with /catalog/product/get/.")
    return _log(ctx, rec, feed_id, "INCREASE", issues, counts)


def log_public(log: dict[str, Any]) -> dict[str, Any]:
    """A task log as catalog/product/log answers it (catalog_product_log.yml)."""
    return {**{k: v for k, v in log.items() if k not in ("feed_log_id", "start_time",
                                                           "end_time")},
            "start_time": fmt_time(log["start_time"]), "end_time": fmt_time(log["end_time"])}


@route("catalog/product/log/")
def product_log(ctx: Ctx) -> Any:
    """How a product task went (catalog_product_log.yml)."""
    p = ctx.params
    cat = catalogs.catalog_of(ctx)
    log_id = p.req("feed_log_id")
    p.enum("language", LANGUAGES)
    p.str("advertiser_id")
    log = ctx.world.catalog_logs.get(log_id)
    if log is None or log["catalog_id"] != cat.catalog_id:
        raise ApiError(NOT_EXIST, f"Feed log {log_id} does not exist.")
    return {"product_feed_log": log_public(log)}


# ------------------------------------------------------------------ file upload

# The E-commerce CSV template's columns (Go SDK ecom_product.go ``csv`` tags) -> record paths.
CSV_COLUMNS = {
    "sku_id": ("sku_id",), "title": ("title",), "description": ("description",),
    "availability": ("availability",), "brand": ("brand",), "image_link": ("image_url",),
    "video_link": ("video_url",), "item_group_id": ("item_group_id",),
    "google_product_category": ("google_product_category",),
    "global_trade_item_number": ("global_trade_item_number",),
    "manufacturer_part_number": ("manufacturer_part_number",),
    "condition": ("product_detail", "condition"), "age_group": ("product_detail", "age_group"),
    "color": ("product_detail", "color"), "gender": ("product_detail", "gender"),
    "material": ("product_detail", "material"), "pattern": ("product_detail", "pattern"),
    "product_type": ("product_detail", "product_category"),
    "shipping": ("product_detail", "shipping"),
    "shipping_weight": ("product_detail", "shipping_weight"),
    "size": ("product_detail", "size"), "tax": ("product_detail", "tax"),
    "price": ("price_info", "price"), "sale_price": ("price_info", "sale_price"),
    "sale_price_effective_date": ("price_info", "sale_price_effective_date"),
    "link": ("landing_page", "landing_page_url"),
    **{f"custom_label_{n}": ("extra_info", f"custom_label_{n}") for n in range(5)},
}
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _csv_products(text: str) -> list[dict[str, Any]]:
    """CSV rows in the template's columns as upload products (enum words as TikTok's help
    spells them, "in stock", become the API's IN_STOCK; "30 USD" gives price and currency)."""
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        prod: dict[str, Any] = {}
        for col, value in row.items():
            path = CSV_COLUMNS.get((col or "").strip())
            if path is None or value in (None, ""):
                continue
            value = value.strip()
            if path[-1] in ("availability", "condition", "age_group", "gender"):
                value = value.upper().replace(" ", "_")
            if path[-1] in ("price", "sale_price") and " " in value:
                value, currency = value.split(" ", 1)
                prod.setdefault("price_info", {})["currency"] = currency.strip()
            if len(path) == 1:
                prod[path[0]] = value
            else:
                prod.setdefault(path[0], {})[path[1]] = value
        extra = row.get("additional_image_link")
        if extra:
            prod["additional_image_urls"] = [u.strip() for u in extra.split(",") if u.strip()]
        out.append(prod)
    return out


def _download(url: str) -> str | None:
    """The file's text, from a loopback address only (the emulator is offline) [U]."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK:
        return None
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            data: bytes = resp.read(50 * 1024 * 1024)
    except (OSError, ValueError):
        return None
    return data.decode("utf-8-sig", errors="replace")


@route("catalog/product/file/", "POST")
def product_file(ctx: Ctx) -> Any:
    """Upload products from a CSV file URL (catalog_product_file.yml)."""
    p = ctx.params
    _cat, rec, feed_id = _target(ctx)
    url = p.req("file_url")
    mode = p.enum("update_mode", ["INCREMENTAL", "OVERWRITE"], default="INCREMENTAL")
    log_mode = "REPLACE" if mode == "OVERWRITE" else "INCREASE"
    issues = Issues()
    text = _download(url)
    if text is None:
        issues.add(0, {}, "file_url", "Bad format of feed file or link",
                   "Please update the file format to CSV and check the accuracy of the link.")
        return _log(ctx, rec, feed_id, log_mode, issues, {}, status="FAILED")
    counts = put_products(ctx, rec, _csv_products(text), feed_id, issues,
                          replace_all=mode == "OVERWRITE")
    return _log(ctx, rec, feed_id, log_mode, issues, counts)
