"""Catalog management: create, rename and delete catalogs; create, change and delete product
sets and list a set's products; feeds; bind event sources (spec §9 "Catalog / DPA").
Scope-guarded as group "catalogs" by the path table (scopes.py). Reads of catalogs, sets and
products are in catalogs.py, products' changes in catalog_products.py.

Sources. TikTok's SDK (tiktok/tiktok-business-api-sdk, yml_files/): catalog_create.yml,
catalog_update.yml, catalog_delete.yml, catalog_set_update.yml, catalog_set_delete.yml,
catalog_set_product_get.yml, catalog_feed_create|get|update|delete|log.yml,
catalog_eventsource_bind.yml (paths, bodies, required fields, enums, limits, response_rule).
The Go SDK bububa/tiktok-business model/catalog/ (create.go, update.go, delete.go, set/*.go,
feed/*.go, eventsource/*.go) for catalog/set/create/, which TikTok's SDK has no file for, and
for the response objects the yml files only name. Set filters: TikTok's docs as generated
clients type them ({"and"|"or": [{field, operation, value}]}).

* ``POST catalog/create/`` {``bc_id``, ``name`` (1-128), ``catalog_type`` (AUTO |
  DESTINATION | ECOM | ENTERTAINMENT | FLIGHT | HOTEL, and the Go SDK's MINI_SERIES),
  ``catalog_conf`` {``region_code``, ``currency`` (CatalogCurrency enum), ``channel``?
  (CLIENT | BUSINESS_PLATFORM | PARTNER), ``business_platform``?}, ``creative_asset_type``?
  (VIDEO)} -> ``{"catalog_id"}``. The catalog is then in catalog/get of its Business Center
  (newest last), with no products and no sets, and ad groups of the BC's accounts may use it.
* ``POST catalog/update/`` {``bc_id``, ``catalog_id``, ``name`` (1-100)} -> ``{"catalog_id"}``.
* ``POST catalog/delete/`` {``bc_id``, ``catalog_id``} -> ``{"catalog_id"}``.
* ``POST catalog/set/create/`` {``bc_id``, ``catalog_id``, ``product_set_name`` (1-28),
  ``conditions``} -> {``product_set_id``, ``product_set_name``, ``product_count``} (Go SDK
  set.CreateResult). ``POST catalog/set/update/`` {``bc_id``, ``catalog_id``,
  ``product_set_id``, ``product_set_name``?, ``conditions``?} -> the same three fields
  (catalog_set_update.yml response_rule). ``POST catalog/set/delete/`` {``bc_id``,
  ``catalog_id``, ``product_set_ids`` (1-10)} -> ``{"product_set_ids"}``.
* ``GET catalog/set/product/get/`` {``bc_id``, ``catalog_id``, ``product_set_id``, ``page``
  (default 1), ``page_size`` (1-100, default 20)} -> {``catalog_id``, ``product_set_id``,
  ``product_count``, ``products`` [{``product_id``, ``product_name``, ``sku_id``}],
  ``page_info``} (catalog_set_product_get.yml); the same products catalog/product/get lists
  with that ``product_set_id``, in the same order.
* Feeds: ``POST catalog/feed/create/`` and ``/update/`` {``bc_id``, ``catalog_id``,
  (``feed_id``,) ``feed_name``, ``update_mode`` (INCREMENTAL | OVERWRITE | SUPPLEMENT),
  ``schedule_param``? {``source`` {``uri``, ``username``, ``password``}, ``interval_type``
  (HOURLY | DAILY | MONTHLY), ``interval_count`` (1-30), ``timezone``, ``day_of_month``
  (1-31), ``hour`` (0-23), ``minute`` (0-59)}} -> the feed {``feed_id``, ``feed_name``,
  ``status``, ``last_update_param``, ``next_update_time``, ``number_of_products``};
  ``GET catalog/feed/get/`` (``feed_id``?) -> ``{"feed_list"}``; ``POST catalog/feed/delete/``
  -> ``{"feed_id"}``; ``GET catalog/feed/log/`` -> ``{"feed_logs"}``: the feed's last 10
  product tasks (uploads with its ``feed_id``), newest first, each {``update_status``
  {``add_count``, ``update_count``, ``remove_count``, ``error_count``, ``warn_count``,
  ``process_status``}, ``update_time`` {``start_time``, ``end_time``}} (Go SDK feed.Log).
* ``POST catalog/eventsource/bind/`` and ``/unbind/`` {``advertiser_id``, ``bc_id``,
  ``catalog_id``, ``app_id``?, ``pixel_code``?} (at least one of the two, the Go SDK's
  BindRequest) -> ``{}`` (the yml files have no response_rule). The account must be in the
  token (40001) and in the catalog's Business Center; the pixel / app must be the account's
  (pixel/list, app/list), else 40007. ``GET catalog/eventsource_bind/get/`` (sic, an
  underscore) {``bc_id``, ``catalog_id``} -> {``catalog_id``, ``event_sources`` [{``app_id``,
  ``event_source_name`` (the app's or pixel's name), ``pixel_code``}]}.

Uncertain [U], as played here:
* Only a Business Center ADMIN may create, change or delete catalogs, sets and feeds (TikTok's
  catalog roles: "Create/Remove catalogs: Admin"; Standard members manage only catalogs they
  are assigned, which this emulator does not model); others get 40001. A Business Center
  holds at most 2,000 catalogs (TikTok's help: "One Business Center can handle up to 2,000
  catalogs") -> 40002.
* ``region_code``: two capital letters (the list of catalog/available_country/get is not
  emulated). ``channel`` defaults to CLIENT, ``business_platform`` to CLIENT (what the
  fixture catalogs always answered).
* Deleting a catalog that a (not deleted) ad group advertises, or a product set an ad shows,
  is refused with 40002 unless the ``catalog_delete_in_use`` knob allows it; TikTok's docs
  found say nothing either way. A deleted catalog's id answers 40007 afterwards.
* Unknown ``product_set_id`` / ``feed_id``: 40007. Set names need not be unique. A set update
  with neither a name nor conditions is 40002 (nothing to change). Changing a fixture set's
  conditions makes it a filtered set like the others.
* Feeds are never fetched (the emulator is offline): ``status`` is ON when a schedule with a
  source uri is set, ``next_update_time`` one interval after the feed was saved, and
  ``number_of_products`` counts the catalog's products uploaded with the feed's id. Deleting a
  feed keeps its products.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.tiktok import catalogs
from sandbox.tiktok.api_account import page_args, paginate
from sandbox.tiktok.apps import account_apps
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import NO_PERMISSION, NOT_EXIST, ApiError, param_error
from sandbox.tiktok.model import DELETE, fmt_time
from sandbox.tiktok.pixels import account_pixels, as_listed, pixel_code

CATALOG_TYPES = ("AUTO", "DESTINATION", "ECOM", "ENTERTAINMENT", "FLIGHT", "HOTEL",
                 "MINI_SERIES")
CHANNELS = ("CLIENT", "BUSINESS_PLATFORM", "PARTNER")
# catalog_create.yml catalog_conf.currency: the CatalogCurrency enum.
CURRENCIES = frozenset((
    "AED", "ALL", "AOA", "ARS", "AUD", "BAM", "BDT", "BGN", "BHD", "BND", "BOB", "BRL", "BWP",
    "BYN", "CAD", "CHF", "CLP", "CNY", "COP", "CRC", "CZK", "DKK", "DZD", "EGP", "EUR", "GBP",
    "GHS", "GTQ", "GYD", "HKD", "HNL", "HRK", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK",
    "JOD", "JPY", "KES", "KHR", "KRW", "KWD", "KZT", "LAK", "LBP", "LKR", "LYD", "MAD", "MDL",
    "MKD", "MMK", "MNT", "MOP", "MUR", "MVR", "MWK", "MXN", "MYR", "NGN", "NIO", "NOK", "NPR",
    "NZD", "OMNI", "OMR", "PEN", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "SAR",
    "SDG", "SEK", "SGD", "SLL", "SRD", "SSP", "SYP", "THB", "TND", "TRY", "TWD", "TZS", "UAH",
    "UGX", "USD", "UYU", "UZS", "VEF", "VND", "XAF", "YER", "ZAR", "ZMW",
))
REGION = re.compile(r"^[A-Z]{2}$")
MAX_CATALOGS_PER_BC = 2000
UPDATE_MODES = ("INCREMENTAL", "OVERWRITE", "SUPPLEMENT")
INTERVALS = {"HOURLY": 3600, "DAILY": 86_400, "MONTHLY": 30 * 86_400}


# ------------------------------------------------------------------ catalogs


@route("catalog/create/", "POST")
def catalog_create(ctx: Ctx) -> Any:
    """Create a catalog in a Business Center (catalog_create.yml)."""
    p = ctx.params
    bc = catalogs.bc_of(ctx, admin=True)
    name = p.name("name", required=True, max_len=128)
    ctype = p.enum("catalog_type", CATALOG_TYPES, required=True)
    conf = p.obj("catalog_conf")
    if not p.has("catalog_conf"):
        raise param_error("catalog_conf is required.")
    region = conf.get("region_code")
    if not isinstance(region, str) or not REGION.match(region):
        raise param_error("catalog_conf.region_code should be a two-letter region code.")
    currency = conf.get("currency")
    if currency not in CURRENCIES:
        raise param_error("catalog_conf.currency is not a supported currency.")
    channel = conf.get("channel") or "CLIENT"
    if channel not in CHANNELS:
        raise param_error(f"catalog_conf.channel must be one of {list(CHANNELS)}.")
    platform = conf.get("business_platform") or "CLIENT"
    if not isinstance(platform, str):
        raise param_error("catalog_conf.business_platform should be a string.")
    p.enum("creative_asset_type", ["VIDEO"])
    if len(catalogs.catalogs_of(ctx, bc)) >= MAX_CATALOGS_PER_BC:
        raise param_error(f"A Business Center can have at most {MAX_CATALOGS_PER_BC} catalogs.")
    cid = ctx.world.next_id("catalog", 7_309_000_000_000_000_000)
    ctx.world.catalogs[cid] = {
        "catalog_id": cid, "bc_id": bc.bc_id, "index": 0, "name": name, "catalog_type": ctype,
        "region_code": region, "currency": currency, "channel": channel,
        "business_platform": platform, "created": ctx.now, "updated": ctx.now,
        "deleted": False, "products": {}, "sets": [], "feeds": [], "event_sources": [],
    }
    return {"catalog_id": cid}


def _admin_record(ctx: Ctx) -> tuple[catalogs.Catalog, dict[str, Any]]:
    """The request's catalog (a BC admin's) and its stored record."""
    cat = catalogs.catalog_of(ctx, admin=True)
    return cat, catalogs.record_of(ctx.world, cat)


@route("catalog/update/", "POST")
def catalog_update(ctx: Ctx) -> Any:
    """Rename a catalog (catalog_update.yml: the name is all it changes)."""
    name = ctx.params.name("name", required=True, max_len=100)
    _cat, rec = _admin_record(ctx)
    rec["name"] = name
    rec["updated"] = ctx.now
    return {"catalog_id": rec["catalog_id"]}


@route("catalog/delete/", "POST")
def catalog_delete(ctx: Ctx) -> Any:
    """Delete a catalog, unless an ad group still advertises it [U] (catalog_delete.yml)."""
    cat = catalogs.catalog_of(ctx, admin=True)
    users = catalogs.in_use(ctx.world, cat.catalog_id)
    if users and not ctx.emu.config.catalog_delete_in_use:
        raise param_error(f"Catalog {cat.catalog_id} is used by ad groups {users[:5]}; "
                          "delete them first.")
    rec = catalogs.record_of(ctx.world, cat)
    rec["deleted"] = True
    rec["updated"] = ctx.now
    return {"catalog_id": cat.catalog_id}


# ------------------------------------------------------------------ product sets


def _set_name(ctx: Ctx, required: bool) -> str | None:
    """``product_set_name``: 1-28 characters (catalog_set_update.yml)."""
    return ctx.params.name("product_set_name", required=required, max_len=28)


def _set_row(cat: catalogs.Catalog, set_id: str) -> dict[str, Any]:
    """A set as set/create and set/update answer it (Go SDK set.CreateResult)."""
    s = next(s for s in cat.sets if s.product_set_id == set_id)
    return {"product_set_id": s.product_set_id, "product_set_name": s.name,
            "product_count": len(s.products)}


def _reread(ctx: Ctx, cat: catalogs.Catalog) -> catalogs.Catalog:
    """A catalog read again from its record after a change."""
    return catalogs.from_record(cat.bc, ctx.world.catalogs[cat.catalog_id], ctx.now)


@route("catalog/set/create/", "POST")
def set_create(ctx: Ctx) -> Any:
    """Create a product set of the products the conditions match (Go SDK set.CreateRequest)."""
    p = ctx.params
    name = _set_name(ctx, required=True)
    if not p.has("conditions"):
        raise param_error("conditions is required.")
    conditions = catalogs.check_conditions(p.json("conditions"))
    cat, rec = _admin_record(ctx)
    sid = ctx.world.next_id("catalog_set", 7_319_000_000_000_000_000)
    rec["sets"].append({"product_set_id": sid, "name": name, "conditions": conditions,
                        "members": None, "created": ctx.now})
    rec["updated"] = ctx.now
    return _set_row(_reread(ctx, cat), sid)


def _one(rows: list[dict[str, Any]], key: str, value: str, what: str) -> dict[str, Any]:
    """The row of a record's list (sets, feeds) whose `key` is `value`, else 40007."""
    for row in rows:
        if row[key] == value:
            return row
    raise ApiError(NOT_EXIST, f"{what} {value} does not exist.")


def _stored_set(rec: dict[str, Any], set_id: str) -> dict[str, Any]:
    """A set of a record by id, else 40007."""
    return _one(rec["sets"], "product_set_id", set_id, "Product set")


@route("catalog/set/update/", "POST")
def set_update(ctx: Ctx) -> Any:
    """Rename a product set and / or change its conditions (catalog_set_update.yml)."""
    p = ctx.params
    set_id = p.req("product_set_id")
    name = _set_name(ctx, required=False)
    conditions = catalogs.check_conditions(p.json("conditions")) if p.has("conditions") else None
    if name is None and conditions is None:
        raise param_error("Give product_set_name or conditions to update.")
    cat, rec = _admin_record(ctx)
    s = _stored_set(rec, set_id)
    if name is not None:
        s["name"] = name
    if conditions is not None:
        s["conditions"], s["members"] = conditions, None
    rec["updated"] = ctx.now
    return _set_row(_reread(ctx, cat), set_id)


@route("catalog/set/delete/", "POST")
def set_delete(ctx: Ctx) -> Any:
    """Delete product sets, unless an ad still shows one [U] (catalog_set_delete.yml)."""
    p = ctx.params
    ids = p.str_list("product_set_ids", required=True, max_items=10, min_items=1)
    assert ids is not None
    cat, rec = _admin_record(ctx)
    for sid in ids:
        _stored_set(rec, sid)
    shown = {str(a.extra.get("product_set_id")) for a in ctx.world.ads.values()
             if a.status.current() != DELETE and a.extra.get("catalog_id") == cat.catalog_id}
    busy = [sid for sid in ids if sid in shown]
    if busy and not ctx.emu.config.catalog_delete_in_use:
        raise param_error(f"Product sets {busy} are used by ads; delete the ads first.")
    rec["sets"] = [s for s in rec["sets"] if s["product_set_id"] not in ids]
    rec["updated"] = ctx.now
    return {"product_set_ids": ids}


@route("catalog/set/product/get/")
def set_product_get(ctx: Ctx) -> Any:
    """A product set's products, paged (catalog_set_product_get.yml)."""
    p = ctx.params
    cat = catalogs.catalog_of(ctx)
    set_id = p.req("product_set_id")
    page, size = page_args(p, 100, 20)
    found = next((s for s in cat.sets if s.product_set_id == set_id), None)
    if found is None:
        raise ApiError(NOT_EXIST, f"Product set {set_id} does not exist.")
    rows = []
    for i in found.products:
        row = catalogs.product_row(cat, i)
        rows.append({"product_id": row["product_id"], "product_name": row["title"],
                     "sku_id": row["sku_id"]})
    out, info = paginate(rows, page, size)
    return {"catalog_id": cat.catalog_id, "product_set_id": set_id,
            "product_count": len(rows), "products": out, "page_info": info}


# ------------------------------------------------------------------ feeds


def _schedule(ctx: Ctx) -> dict[str, Any] | None:
    """``schedule_param``, checked against catalog_feed_create.yml's bounds."""
    p = ctx.params
    if not p.has("schedule_param"):
        return None
    sched = p.obj("schedule_param")
    out: dict[str, Any] = {}
    src = sched.get("source")
    if src is not None:
        if not isinstance(src, dict) or not isinstance(src.get("uri", ""), str):
            raise param_error("schedule_param.source should be an object with a uri.")
        uri = str(src.get("uri", ""))
        if uri and not uri.startswith(("http://", "https://", "ftp://", "sftp://")):
            raise param_error("schedule_param.source.uri should start with http, https, ftp "
                              "or sftp.")
        out["source"] = {k: str(v) for k, v in src.items()
                         if k in ("uri", "username", "password")}
    kind = sched.get("interval_type")
    if kind is not None and kind not in INTERVALS:
        raise param_error(f"schedule_param.interval_type must be one of {list(INTERVALS)}.")
    if kind is not None:
        out["interval_type"] = kind
    for key, lo, hi in (("interval_count", 1, 30), ("day_of_month", 1, 31), ("hour", 0, 23),
                        ("minute", 0, 59)):
        if key in sched and sched[key] is not None:
            value = sched[key]
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise param_error(f"schedule_param.{key} should be an integer {lo}-{hi}.")
            out[key] = value
    if "timezone" in sched:
        if not isinstance(sched["timezone"], str):
            raise param_error("schedule_param.timezone should be a string.")
        out["timezone"] = sched["timezone"]
    if (kind or "timezone" in out) and not out.get("source", {}).get("uri"):
        # Go SDK Source.URI: required when interval_type or timezone is given.
        raise param_error("schedule_param.source.uri is required with a schedule.")
    return out


def _feed_public(ctx: Ctx, rec: dict[str, Any], feed: dict[str, Any]) -> dict[str, Any]:
    """A feed as feed/create, /update and /get answer it (Go SDK feed.Feed) [U]."""
    sched = feed["schedule"] or {}
    on = bool(sched.get("source", {}).get("uri")) and bool(sched.get("interval_type"))
    step = INTERVALS.get(sched.get("interval_type", ""), 0) * int(sched.get("interval_count", 1))
    count = sum(1 for it in rec["products"].values() if it.get("feed_id") == feed["feed_id"])
    return {"feed_id": feed["feed_id"], "feed_name": feed["feed_name"],
            "status": "ON" if on else "OFF", "update_mode": feed["update_mode"],
            "last_update_param": {**sched, "uri": sched.get("source", {}).get("uri", "")},
            "next_update_time": fmt_time(feed["saved"] + step) if on else None,
            "number_of_products": count}


def _feed_of(rec: dict[str, Any], feed_id: str) -> dict[str, Any]:
    """A feed of a catalog by id, else 40007."""
    return _one(rec["feeds"], "feed_id", feed_id, "Feed")


@route("catalog/feed/create/", "POST")
def feed_create(ctx: Ctx) -> Any:
    """Create a feed (catalog_feed_create.yml)."""
    p = ctx.params
    name = p.name("feed_name", required=True, max_len=100)
    mode = p.enum("update_mode", UPDATE_MODES, required=True)
    sched = _schedule(ctx)
    _cat, rec = _admin_record(ctx)
    feed = {"feed_id": ctx.world.next_id("catalog_feed", 7_349_000_000_000_000_000),
            "feed_name": name, "update_mode": mode, "schedule": sched, "saved": ctx.now}
    rec["feeds"].append(feed)
    return _feed_public(ctx, rec, feed)


@route("catalog/feed/update/", "POST")
def feed_update(ctx: Ctx) -> Any:
    """Change a feed (catalog_feed_update.yml: the whole feed is sent again)."""
    p = ctx.params
    feed_id = p.req("feed_id")
    name = p.name("feed_name", required=True, max_len=100)
    mode = p.enum("update_mode", UPDATE_MODES, required=True)
    sched = _schedule(ctx)
    _cat, rec = _admin_record(ctx)
    feed = _feed_of(rec, feed_id)
    feed.update({"feed_name": name, "update_mode": mode, "schedule": sched, "saved": ctx.now})
    return _feed_public(ctx, rec, feed)


@route("catalog/feed/get/")
def feed_get(ctx: Ctx) -> Any:
    """A catalog's feeds, or one of them (catalog_feed_get.yml)."""
    cat = catalogs.catalog_of(ctx)
    rec = ctx.world.catalogs.get(cat.catalog_id, {"feeds": [], "products": {}})
    feed_id = ctx.params.str("feed_id")
    feeds = [_feed_of(rec, feed_id)] if feed_id else rec["feeds"]
    return {"feed_list": [_feed_public(ctx, rec, f) for f in feeds]}


@route("catalog/feed/delete/", "POST")
def feed_delete(ctx: Ctx) -> Any:
    """Delete a feed; its products stay [U] (catalog_feed_delete.yml)."""
    feed_id = ctx.params.req("feed_id")
    _cat, rec = _admin_record(ctx)
    _feed_of(rec, feed_id)
    rec["feeds"] = [f for f in rec["feeds"] if f["feed_id"] != feed_id]
    return {"feed_id": feed_id}


@route("catalog/feed/log/")
def feed_log(ctx: Ctx) -> Any:
    """A feed's last 10 product tasks, newest first (catalog_feed_log.yml, Go SDK feed.Log)."""
    cat = catalogs.catalog_of(ctx)
    feed_id = ctx.params.req("feed_id")
    _feed_of(ctx.world.catalogs.get(cat.catalog_id, {"feeds": []}), feed_id)
    logs = [g for g in ctx.world.catalog_logs.values()
            if g["catalog_id"] == cat.catalog_id and g["feed_id"] == feed_id]
    logs.sort(key=lambda g: (g["start_time"], int(g["feed_log_id"])), reverse=True)
    return {"feed_logs": [{
        "update_status": {"add_count": g["add_count"], "update_count": g["update_count"],
                          "remove_count": g["delete_count"], "error_count": g["error_count"],
                          "warn_count": g["warn_count"], "process_status": g["process_status"]},
        "update_time": {"start_time": fmt_time(g["start_time"]),
                        "end_time": fmt_time(g["end_time"])},
    } for g in logs[:10]]}


# ------------------------------------------------------------------ event sources


def _event_source(ctx: Ctx) -> tuple[catalogs.Catalog, dict[str, Any], list[dict[str, Any]]]:
    """The request's catalog, its record and the event sources named (checked as the
    account's: its pixels by code, its apps by id)."""
    p = ctx.params
    adv = ctx.advertiser()
    app_id, code = p.str("app_id"), p.str("pixel_code")
    if not app_id and not code:
        raise param_error("Give app_id or pixel_code (or both).")
    cat, rec = _admin_record(ctx)
    if adv.advertiser_id not in cat.bc.advertiser_ids:
        raise ApiError(NO_PERMISSION, f"Advertiser {adv.advertiser_id} is not in business "
                       f"center {cat.bc.bc_id}.")
    named = []
    if code:
        px = next((x for x in account_pixels(ctx, adv) if pixel_code(x) == code), None)
        if px is None:
            raise ApiError(NOT_EXIST, f"Pixel {code} does not exist.")
        named.append({"pixel_code": code, "event_source_name": as_listed(px)["pixel_name"]})
    if app_id:
        app = next((a for a in account_apps(ctx, adv) if a["app_id"] == app_id), None)
        if app is None:
            raise ApiError(NOT_EXIST, f"App {app_id} does not exist.")
        named.append({"app_id": app_id, "event_source_name": str(app.get("app_name", ""))})
    return cat, rec, named


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two event sources are the same pixel or the same app."""
    key = "pixel_code" if "pixel_code" in a else "app_id"
    return a.get(key) == b.get(key)


@route("catalog/eventsource/bind/", "POST")
def eventsource_bind(ctx: Ctx) -> Any:
    """Bind an ad account's app and / or pixel to a catalog (catalog_eventsource_bind.yml)."""
    _cat, rec, named = _event_source(ctx)
    for src in named:
        if not any(_same(src, e) for e in rec["event_sources"]):
            rec["event_sources"].append(src)
    rec["updated"] = ctx.now
    return {}


@route("catalog/eventsource/unbind/", "POST")
def eventsource_unbind(ctx: Ctx) -> Any:
    """Unbind event sources from a catalog (catalog_eventsource_unbind.yml); one that is not
    bound is 40007 [U]."""
    _cat, rec, named = _event_source(ctx)
    for src in named:
        if not any(_same(src, e) for e in rec["event_sources"]):
            raise ApiError(NOT_EXIST, "The event source is not bound to the catalog.")
    rec["event_sources"] = [e for e in rec["event_sources"]
                            if not any(_same(src, e) for src in named)]
    rec["updated"] = ctx.now
    return {}


@route("catalog/eventsource_bind/get/")
def eventsource_bind_get(ctx: Ctx) -> Any:
    """A catalog's bound event sources (catalog_eventsource_bind_get.yml: the path has an
    underscore; items {app_id, event_source_name, pixel_code})."""
    cat = catalogs.catalog_of(ctx)
    rec = ctx.world.catalogs.get(cat.catalog_id, {"event_sources": []})
    return {"catalog_id": cat.catalog_id, "event_sources": [
        {"app_id": e.get("app_id", ""), "event_source_name": e["event_source_name"],
         "pixel_code": e.get("pixel_code", "")} for e in rec["event_sources"]]}
