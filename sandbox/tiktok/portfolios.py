"""Creative portfolios (interactive add-ons, CTAs, cards): ``POST creative/portfolio/create/``
(official SDK CreativeAssetApi.creative_portfolio_create, PortfolioCreateBody and
OpenApiv13creativeportfoliocreate* models), ``GET creative/portfolio/get/``, ``GET
creative/portfolio/list/`` and ``POST creative/portfolio/delete/`` (not in the Python SDK: raw).

Where the shapes come from: TikTok's docs "Create a portfolio" (id 1739091950439426), "Get a
portfolio by ID" (1739092113671170), "Get portfolios within an ad account" (1766324010279938) and
"Delete portfolios" (1834560049625089), mirrored in public repositories [C]; TikTok's
yml_files/creative_portfolio_{create,get,list}.yml in tiktok/tiktok-business-api-sdk (list:
page_size 1..100, default 20; the filter's type enum) [C]; the Go SDK bububa/tiktok-business
model/creative/portfolio/*.go (comments translated from the docs) [L].

* create: ``advertiser_id``, ``creative_portfolio_type`` (default CTA), ``portfolio_content``
  (object[]; the Go SDK's single object is taken as a one-item list). ``data``:
  ``creative_portfolio_id``. Each type's required content fields are the docs'
  ("Required when creative_portfolio_type is ..."); image ids (``image_id``,
  ``pop_up_window_image_id``, ``badge_image_info.image_id``) must be images of the account
  (file/image/ad/upload/), a Display Card's 750x421, an Inventory Card's 800x600, a badge
  448x448, a Superlike icon within 50 KB (docs). One content item for every type but CTA (whose
  doc example carries several) [U]. Not checked [U]: that CTA ``asset_ids`` came from
  creative/cta/recommend/, that catalogs / stores / identities of Product Cards exist, the four
  approved products a Product Tile needs.
* get: ``creative_portfolio_id``, ``creative_portfolio_type`` (as created: STICKER for both
  sticker kinds) and ``portfolio_content`` — the list as sent (the doc's table says object in its
  v1.2/v1.3 comparison but object[] in the response table and its example: a list here).
* list: ``creative_portfolios`` + ``page_info``; each portfolio flattens its content into the
  entry (yml response_rule; the doc example: ``image_id``, ``card_type`` next to
  ``creative_portfolio_id``), with the fields the doc returns for its type, a STICKER listed as
  COUNTDOWN_STICKER / REMINDER_COUNTDOWN_STICKER / LIVE_REMINDER_COUNTDOWN_STICKER /
  GIFTCODE_STICKER by its ``sticker_type``. CTA portfolios are never listed ("CTA portfolio ID
  and type filtering are not supported"); Product Card / Product Tiles ones only by
  ``creative_portfolio_ids`` ("You cannot use creative_portfolio_types to filter" them).
  ``creative_portfolio_preview_url``: a link of the emulator's [U] ("" for Product Tiles and
  Inventory Cards; a Superlike's is the default heart image, docs). ``thumbnail_id``: the badge
  image of a Pop-up Showcase, an id of the emulator's for the others [U]. ``content_url`` is ""
  for website info cards made through the API (docs). A sticker's ``predefined_placement`` is
  null [U]. Newest first [U].
* delete: ``advertiser_id``, ``creative_portfolio_ids`` (1..100); "if any creative portfolio ID
  is invalid, the entire deletion process will fail" (unknown, deleted, another account's, or a
  Product Card / Product Tile / CTA one): 40002. ``data`` {}.

Errors: an account outside the token 40001; everything else 40002 (texts [U]).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sandbox.tiktok.api_account import page_args, paginate
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import param_error
from sandbox.tiktok.model import Advertiser
from sandbox.tiktok.params import parse_utc

CREATE_TYPES = ("CTA", "CARD", "WEB_INFO_CARD", "DOWNLOAD_CARD", "INVENTORY_CARD", "PRODUCT_CARD",
                "PRODUCT_TILE", "STICKER", "PREMIUM_BADGE", "GESTURE", "SUPER_LIKE")
# creative_portfolio_list.yml: the filter enum's values marked is_valid true.
LIST_FILTER_TYPES = ("CARD", "COUNTDOWN_STICKER", "CTA", "DESTINATION_CARD", "DOWNLOAD_CARD",
                     "FLIGHT_CARD", "GESTURE", "GIFTCODE_STICKER", "HOTEL_CARD", "INVENTORY_CARD",
                     "LIVE_REMINDER_COUNTDOWN_STICKER", "MEDIA_CARD", "PREMIUM_BADGE",
                     "PRODUCT_CARD", "PRODUCT_SHOWCASE_TILE", "PRODUCT_TILE",
                     "REMINDER_COUNTDOWN_STICKER", "SUPER_LIKE", "WEB_INFO_CARD")
NOT_BY_TYPE = ("CTA", "PRODUCT_CARD", "PRODUCT_TILE")
STICKER_TYPES = {"COUNTDOWN": "COUNTDOWN_STICKER", "REMINDER_COUNTDOWN":
                 "REMINDER_COUNTDOWN_STICKER", "LIVE_REMINDER_COUNTDOWN":
                 "LIVE_REMINDER_COUNTDOWN_STICKER", "GIFTCODE": "GIFTCODE_STICKER"}
REMINDER_TIMES = {"REMINDER_COUNTDOWN": ("ONE_MINUTE_EARLIER", "ONE_HOUR_EARLIER",
                                         "ONE_DAY_EARLIER"),
                  "LIVE_REMINDER_COUNTDOWN": ("ONE_MINUTE_AFTER", "FIVE_MINUTES_AFTER",
                                              "TEN_MINUTES_AFTER")}
COLORS = ("ORANGE", "BLACK", "RED", "BLUE")
GESTURE_TYPES = ("CLICK", "STRAIGHT_SLIDE", "CURVED_SLIDE")
LAYOUTS = ("TYPE_1", "TYPE_2")
TAGS = ("CATEGORIES", "FILESIZE", "RATING", "RANKING", "COMMENT_VOLUME")
PRODUCT_SOURCES = ("UNSET", "CATALOG", "STORE", "SHOWCASE")
PRODUCT_SPECIFIC_TYPES = ("ALL", "PRODUCT_SET", "CUSTOMIZED_PRODUCTS")
IDENTITY_TYPES = ("CUSTOMIZED_USER", "AUTH_CODE", "TT_USER", "BC_AUTH_TT")
# What list/ returns of a portfolio's content, by listed type (the doc's "Returned only when").
LIST_FIELDS: dict[str, tuple[str, ...]] = {
    "CARD": ("card_type", "image_id"),
    "WEB_INFO_CARD": ("image_id", "title", "selling_points"),
    "DOWNLOAD_CARD": ("layouts", "description", "tags", "category_label", "app_id"),
    "INVENTORY_CARD": ("image_id", "description"),
    "PRODUCT_CARD": ("card_show_price", "card_tags", "card_image_index"),
    "PRODUCT_TILE": ("card_image_index",),
    "PREMIUM_BADGE": ("call_to_action_text", "badge_show_time", "badge_position",
                      "badge_image_info"),
    "GESTURE": ("gesture_type", "pop_up_window_image_id", "call_to_action_text",
                "badge_show_time", "badge_position", "slide_length", "slide_dimension",
                "interactive_music_id"),
    "SUPER_LIKE": ("image_id", "pop_up_window_image_id"),
    **{t: ("sticker_param",) for t in STICKER_TYPES.values()},
}
THUMBNAIL_TYPES = ("DOWNLOAD_CARD", "PRODUCT_CARD", "PRODUCT_TILE", "PREMIUM_BADGE")
PREVIEW = "https://sf16-sg.tiktokcdn.com/obj/ad-creative-portfolio-sg"
SUPER_LIKE_HEART = f"{PREVIEW}/default_super_like_heart.png"
PORTFOLIO_BASE = 7_430_000_000_000_000_000


# ---------------------------------------------------------------- content checks


def _need(c: dict[str, Any], key: str, kind: str) -> Any:
    """A content field the type requires."""
    value = c.get(key)
    if value is None or value == "" or value == []:
        raise param_error(f"portfolio_content.{key} is required when creative_portfolio_type "
                          f"is {kind}.")
    return value


def _string(value: Any, key: str, hi: int | None = None) -> str:
    """A content string of at most ``hi`` characters."""
    if not isinstance(value, str):
        raise param_error(f"portfolio_content.{key} should be a string.")
    if hi is not None and len(value) > hi:
        raise param_error(f"portfolio_content.{key} should be at most {hi} characters long.")
    return value


def _one_of(value: Any, key: str, allowed: tuple[str, ...]) -> str:
    """A content enum value."""
    if value not in allowed:
        raise param_error(f"portfolio_content.{key} should be one of {list(allowed)}.")
    return str(value)


def _list_of(value: Any, key: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    """A content list of strings (of an enum)."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise param_error(f"portfolio_content.{key} should be a list of strings.")
    if allowed is not None and any(v not in allowed for v in value):
        raise param_error(f"portfolio_content.{key} should be among {list(allowed)}.")
    return value


def _image(ctx: Ctx, adv: Advertiser, iid: Any, key: str,
           size: tuple[int, int] | None = None, max_bytes: int | None = None) -> None:
    """An image id of the account's library, with the type's dimensions / weight."""
    img = ctx.world.images.get(iid) if isinstance(iid, str) else None
    if img is None or img.advertiser_id != adv.advertiser_id:
        raise param_error(f"portfolio_content.{key} {iid} does not exist in the ad account.")
    if size is not None and (img.width, img.height) != size:
        raise param_error(f"portfolio_content.{key} should be {size[0]}x{size[1]} pixels; "
                          f"image {iid} is {img.width}x{img.height}.")
    if max_bytes is not None and img.size > max_bytes:
        raise param_error(f"portfolio_content.{key} should be within {max_bytes // 1024} KB.")


def _guide_text(c: dict[str, Any], kind: str) -> None:
    """call_to_action_text: ≤27 characters (CJK twice), no emoji or { } @ #."""
    text = _string(_need(c, "call_to_action_text", kind), "call_to_action_text")
    width = sum(2 if "\u2e80" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" else 1
                for ch in text)
    if width > 27:
        raise param_error("portfolio_content.call_to_action_text should be at most 27 "
                          "characters long.")
    if any(ch in "{}@#" or ord(ch) >= 0x1F000 for ch in text):
        raise param_error("portfolio_content.call_to_action_text cannot contain emoji or "
                          "{, }, @, #.")


def _badge(c: dict[str, Any], kind: str, angle: bool) -> None:
    """badge_show_time and badge_position of a Gesture or Pop-up Showcase."""
    show = _need(c, "badge_show_time", kind)
    if isinstance(show, bool) or not isinstance(show, int) or show < 3:
        raise param_error("portfolio_content.badge_show_time should be an integer number of "
                          "seconds; the first three seconds cannot be used.")
    pos = _need(c, "badge_position", kind)
    if not isinstance(pos, dict):
        raise param_error("portfolio_content.badge_position should be an object.")
    for axis in ("position_x", "position_y"):
        value = pos.get(axis)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise param_error(f"portfolio_content.badge_position.{axis} is required, 0-1.")
    if angle:
        value = pos.get("angle")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 360:
            raise param_error("portfolio_content.badge_position.angle is required, 0-360.")


def _sticker(c: dict[str, Any]) -> None:
    """sticker_param of a Countdown or Gift Code Sticker."""
    sp = _need(c, "sticker_param", "STICKER")
    if not isinstance(sp, dict):
        raise param_error("portfolio_content.sticker_param should be an object.")
    stype = _one_of(sp.get("sticker_type"), "sticker_param.sticker_type", tuple(STICKER_TYPES))
    title = _string(sp.get("title"), "sticker_param.title")
    limit = 20 if stype == "GIFTCODE" else 54
    if not title or len(title.encode()) > limit or (stype != "GIFTCODE" and "#" in title):
        raise param_error(f"portfolio_content.sticker_param.title is required, at most {limit} "
                          "UTF-8 bytes" + ("" if stype == "GIFTCODE" else ", without #") + ".")
    if stype == "GIFTCODE":
        code = sp.get("giftcode")
        if code is not None and (not isinstance(code, str) or len(code.encode()) > 10):
            raise param_error("portfolio_content.sticker_param.giftcode is at most 10 bytes.")
    else:
        parse_utc("portfolio_content.sticker_param.cutoff_time",
                  _string(sp.get("cutoff_time"), "sticker_param.cutoff_time"))
    if sp.get("color") is not None:
        _one_of(sp["color"], "sticker_param.color",
                ("BLACK", "BLUE") if stype == "GIFTCODE" else COLORS)
    if stype in REMINDER_TIMES:
        _one_of(sp.get("reminder_time"), "sticker_param.reminder_time", REMINDER_TIMES[stype])
    if stype == "REMINDER_COUNTDOWN":
        _string(sp.get("landing_page_url"), "sticker_param.landing_page_url")
    if stype == "LIVE_REMINDER_COUNTDOWN":
        _string(sp.get("live_tiktok_user_id"), "sticker_param.live_tiktok_user_id")


def _product(c: dict[str, Any], kind: str) -> None:
    """A Product Card's or Product Tiles' product source and identity."""
    source = _one_of(_need(c, "product_source", kind), "product_source",
                     ("CATALOG",) if kind == "PRODUCT_TILE" else PRODUCT_SOURCES)
    _string(_need(c, "identity_id", kind), "identity_id")
    _one_of(_need(c, "identity_type", kind), "identity_type", IDENTITY_TYPES)
    if c["identity_type"] == "BC_AUTH_TT":
        _need(c, "identity_authorized_bc_id", kind)
    if source == "CATALOG":
        for key in ("catalog_id", "catalog_authorized_bc_id"):
            _string(_need(c, key, kind), key)
        how = _one_of(_need(c, "product_specific_type", kind), "product_specific_type",
                      PRODUCT_SPECIFIC_TYPES)
        if how == "PRODUCT_SET" and not (c.get("product_set_id") or c.get("item_group_ids")):
            raise param_error("portfolio_content.product_set_id or item_group_ids is required "
                              "when product_specific_type is PRODUCT_SET.")
        if how == "CUSTOMIZED_PRODUCTS":
            skus = _list_of(_need(c, "sku_ids", kind), "sku_ids")
            if len(skus) > 20:
                raise param_error("portfolio_content.sku_ids: at most 20 products.")
    if source == "STORE":
        for key in ("store_id", "store_authorized_bc_id"):
            _string(_need(c, key, kind), key)
        _list_of(_need(c, "item_group_ids", kind), "item_group_ids")


def _check(ctx: Ctx, adv: Advertiser, kind: str, c: dict[str, Any]) -> None:
    """One content item against its type's documented requirements."""
    if kind == "CTA":
        _string(_need(c, "asset_content", kind), "asset_content")
        _list_of(_need(c, "asset_ids", kind), "asset_ids")
    elif kind == "CARD":
        _one_of(_need(c, "card_type", kind), "card_type", ("IMAGE",))
        _image(ctx, adv, _need(c, "image_id", kind), "image_id", size=(750, 421))
    elif kind == "WEB_INFO_CARD":
        _image(ctx, adv, _need(c, "image_id", kind), "image_id")
        _string(_need(c, "title", kind), "title", 25)
        points = _list_of(_need(c, "selling_points", kind), "selling_points")
        if len(points) > 5 or any(len(p) > 25 for p in points):
            raise param_error("portfolio_content.selling_points: at most 5, each at most 25 "
                              "characters.")
    elif kind == "INVENTORY_CARD":
        _image(ctx, adv, _need(c, "image_id", kind), "image_id", size=(800, 600))
        _string(_need(c, "description", kind), "description", 40)
    elif kind == "SUPER_LIKE":
        _image(ctx, adv, _need(c, "image_id", kind), "image_id", max_bytes=50 * 1024)
        if c.get("pop_up_window_image_id") is not None:
            _image(ctx, adv, c["pop_up_window_image_id"], "pop_up_window_image_id")
    elif kind == "PREMIUM_BADGE":
        _guide_text(c, kind)
        _badge(c, kind, angle=True)
        info = _need(c, "badge_image_info", kind)
        if not isinstance(info, dict):
            raise param_error("portfolio_content.badge_image_info should be an object.")
        _image(ctx, adv, info.get("image_id"), "badge_image_info.image_id", size=(448, 448))
    elif kind == "GESTURE":
        gesture = _one_of(_need(c, "gesture_type", kind), "gesture_type", GESTURE_TYPES)
        _image(ctx, adv, _need(c, "pop_up_window_image_id", kind), "pop_up_window_image_id")
        _guide_text(c, kind)
        _badge(c, kind, angle=gesture != "CLICK")
        _string(_need(c, "interactive_music_id", kind), "interactive_music_id")
        if gesture == "STRAIGHT_SLIDE":
            _need(c, "slide_length", kind)
        if gesture == "CURVED_SLIDE":
            dim = _need(c, "slide_dimension", kind)
            if not isinstance(dim, dict) or not all(
                    dim.get(k) is not None for k in ("dimension_width", "dimension_height")):
                raise param_error("portfolio_content.slide_dimension needs dimension_width and "
                                  "dimension_height.")
    elif kind == "DOWNLOAD_CARD":
        layouts = _list_of(_need(c, "layouts", kind), "layouts", LAYOUTS)
        tags = _list_of(_need(c, "tags", kind), "tags", TAGS)
        if len(tags) < (2 if "TYPE_2" in layouts else 1):
            raise param_error("portfolio_content.tags: at least one tag for a Type 1 Download "
                              "Card, two for a Type 2.")
        if "TYPE_1" in layouts:
            _string(_need(c, "description", kind), "description")
        if "CATEGORIES" in tags:
            _string(_need(c, "category_label", kind), "category_label")
        for key in ("app_id", "profile_image", "call_to_action", "mobile_app_id"):
            _string(_need(c, key, kind), key)
        _need(c, "country_code", kind)  # a list in the official SDK, a string in the Go SDK
    elif kind == "STICKER":
        _sticker(c)
    else:
        _product(c, kind)


# ---------------------------------------------------------------- shapes


def listed_type(rec: dict[str, Any]) -> str:
    """The type list/ shows: a STICKER by its sticker_type."""
    if rec["type"] != "STICKER":
        return str(rec["type"])
    sp = rec["content"][0].get("sticker_param") or {}
    return STICKER_TYPES.get(sp.get("sticker_type"), "COUNTDOWN_STICKER")


def _list_entry(pid: str, rec: dict[str, Any]) -> dict[str, Any]:
    """One creative_portfolios entry: ids, type, preview and the type's content fields."""
    kind = listed_type(rec)
    content = rec["content"][0]
    preview = ("" if kind in ("PRODUCT_TILE", "INVENTORY_CARD")
               else SUPER_LIKE_HEART if kind == "SUPER_LIKE" else f"{PREVIEW}/{pid}.png")
    out: dict[str, Any] = {"creative_portfolio_id": pid, "creative_portfolio_type": kind,
                           "creative_portfolio_preview_url": preview}
    for key in LIST_FIELDS.get(kind, ()):
        if key in content:
            out[key] = content[key]
    if "sticker_param" in out:
        out["sticker_param"] = {**out["sticker_param"], "predefined_placement": None}
    if kind == "WEB_INFO_CARD":
        out["content_url"] = ""  # "For website info cards created via API ... an empty string"
    if kind in THUMBNAIL_TYPES:
        badge = content.get("badge_image_info") or {}
        out["thumbnail_id"] = badge.get("image_id") or (
            f"tos-alisg-p-0051/{hashlib.md5(pid.encode()).hexdigest()}")
    return out


def _alive(ctx: Ctx, adv: Advertiser, pid: str) -> dict[str, Any] | None:
    """The account's portfolio of that id, unless deleted."""
    rec = ctx.world.portfolios.get(pid)
    if rec is None or rec["advertiser_id"] != adv.advertiser_id or rec["deleted"] is not None:
        return None
    return rec


# ---------------------------------------------------------------- routes


@route("creative/portfolio/create/", "POST")
def portfolio_create(ctx: Ctx) -> Any:
    """Create one creative portfolio in an ad account (CreativeAssetApi)."""
    p = ctx.params
    adv = ctx.advertiser()
    kind = p.enum("creative_portfolio_type", CREATE_TYPES, default="CTA")
    assert kind is not None
    raw = p.json("portfolio_content")
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise param_error("portfolio_content is required: a list of objects.")
    if kind != "CTA" and len(items) > 1:
        raise param_error(f"portfolio_content: a {kind} portfolio has one content item.")
    content = [{k: v for k, v in item.items() if v is not None} for item in items]
    for item in content:
        _check(ctx, adv, kind, item)
    pid = str(PORTFOLIO_BASE + len(ctx.world.portfolios) * 7919 + ctx.world.seed % 1000 + 1)
    ctx.world.portfolios[pid] = {"advertiser_id": adv.advertiser_id, "type": kind,
                                 "content": content, "create_time": ctx.now, "deleted": None}
    return {"creative_portfolio_id": pid}


@route("creative/portfolio/get/")
def portfolio_get(ctx: Ctx) -> Any:
    """One portfolio of the account by id, its content as created."""
    adv = ctx.advertiser()
    pid = ctx.params.req("creative_portfolio_id")
    rec = _alive(ctx, adv, pid)
    if rec is None:
        raise param_error(f"creative_portfolio_id {pid} does not exist.")
    return {"creative_portfolio_id": pid, "creative_portfolio_type": rec["type"],
            "portfolio_content": [dict(c) for c in rec["content"]]}


@route("creative/portfolio/list/")
def portfolio_list(ctx: Ctx) -> Any:
    """The account's portfolios (no CTA), filtered by types or ids, page_size ≤ 100."""
    p = ctx.params
    adv = ctx.advertiser()
    filt = p.obj("filtering")
    types = filt.get("creative_portfolio_types")
    if types is not None and (not isinstance(types, list)
                              or any(t not in LIST_FILTER_TYPES for t in types)):
        raise param_error(f"filtering.creative_portfolio_types should be among "
                          f"{list(LIST_FILTER_TYPES)}.")
    ids = filt.get("creative_portfolio_ids")
    if ids is not None:
        if not isinstance(ids, list) or not all(isinstance(i, str | int) for i in ids):
            raise param_error("filtering.creative_portfolio_ids should be a list of ids.")
        if len(ids) > 100:
            raise param_error("filtering.creative_portfolio_ids: at most 100 ids.")
        ids = [str(i) for i in ids]
    page, size = page_args(p, 100, 20)
    chosen = []
    for pid, rec in ctx.world.portfolios.items():
        if _alive(ctx, adv, pid) is None or rec["type"] == "CTA":
            continue
        kind = listed_type(rec)
        if ids is not None and pid not in ids:
            continue
        if types is not None and (kind in NOT_BY_TYPE or kind not in types):
            continue
        chosen.append((rec["create_time"], pid, rec))
    chosen.sort(key=lambda t: (t[0], t[1]), reverse=True)
    rows, info = paginate([_list_entry(pid, rec) for _, pid, rec in chosen], page, size)
    return {"creative_portfolios": rows, "page_info": info}


@route("creative/portfolio/delete/", "POST")
def portfolio_delete(ctx: Ctx) -> Any:
    """Delete portfolios of the account; one invalid id fails the whole call."""
    p = ctx.params
    adv = ctx.advertiser()
    ids = p.str_list("creative_portfolio_ids", required=True, min_items=1, max_items=100) or []
    for pid in ids:
        rec = _alive(ctx, adv, pid)
        if rec is None:
            raise param_error(f"creative_portfolio_id {pid} does not exist or was deleted.")
        if rec["type"] in NOT_BY_TYPE:
            raise param_error(f"creative_portfolio_id {pid}: {rec['type']} portfolios cannot be "
                              "deleted with this endpoint.")
    for pid in ids:
        ctx.world.portfolios[pid]["deleted"] = ctx.now
    return {}
