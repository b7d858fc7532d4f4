"""Ads: create / update / status update (spec §4.9, §4.10).

ACO (Automated Creative Optimization) ads, made by ``sandbox/tiktok/aco.py`` in ad groups whose
``creative_material_mode`` is ``DYNAMIC`` (``is_aco: true`` in ad/get), are treated as the
official SDK documents them (``business_api_client``, AdStatusUpdateBody, AdApi docstrings):

* ad/status/update takes ``ad_ids`` and/or ``aco_ad_ids`` ("Either ``ad_ids`` or
  ``aco_ad_ids`` has to be set", 1–20 each); ``aco_ad_ids`` are ACO ad ids and "only support
  ``ENABLE`` and ``DISABLE`` for ACO ads". The answer lists both (Go SDK bububa/tiktok-business
  ``model/ad/status_update.go``: ``{ad_ids, aco_ad_ids, status}``). The ACO ad's id is the
  ``ad_id`` ad/get lists with ``is_aco: true`` (a public client sends that id as
  ``aco_ad_ids``); its new status reads back in ad/get (``operation_status``,
  ``secondary_status``); ad/aco/get carries no status (Go SDK ``model/ad/aco/ad.go``).
  Guesses [U]: an ACO ad sent in ``ad_ids`` is switched like any ad (ENABLE/DISABLE only); an
  ordinary ad in ``aco_ad_ids`` is refused 40002; ``ad_ids`` answers ``[]`` when not sent.
* ad/update: "To update ACO ads, use the /ad/aco/update/ endpoint" -> an ACO ad is refused
  (40002 [U]: the code is not documented).
* ad/create in a ``DYNAMIC`` ad group: its ads come from /ad/aco/create/ (SDK AdAcoBody: the ad
  group "must be set as DYNAMIC"); ordinary creatives are refused with 40002 [U] (what TikTok
  answers is not documented to us).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sandbox.tiktok import catalogs
from sandbox.tiktok.api_entities import adgroup_of, earlier_create
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.entity_filters import material_mode
from sandbox.tiktok.entity_reads import ad_dict, ag_state
from sandbox.tiktok.entity_values import ACTIONS, AD_FORMATS, CTAS, IDENTITY_TYPES
from sandbox.tiktok.errors import (
    AD_NUMBER_LIMIT,
    NOT_EXIST,
    ApiError,
    param_error,
)
from sandbox.tiktok.model import (
    DELETE,
    DISABLE,
    ENABLE,
    Ad,
    AdGroup,
    Advertiser,
    History,
    fmt_time,
)
from sandbox.tiktok.params import EMOJI, Params, check_str_list

# ---------------------------------------------------------------- ads


def _creative(
    ctx: Ctx, adv: Advertiser, ag: AdGroup, raw: Any, index: int, patch: bool = False
) -> dict[str, Any]:
    """Validate one creative (spec §4.9 table); return the fields to store."""
    if not isinstance(raw, dict):
        raise param_error(f"creatives[{index}] should be an object.")
    p = Params(raw, from_query=False)
    pre = "creatives."
    out: dict[str, Any] = {}
    need = not patch

    def req(name: str) -> bool:
        """Raise when a needed field is missing."""
        if need and not p.has(name):
            raise param_error(f"{pre}{name} is required.")
        return p.has(name)

    if p.has("ad_name") or need:
        name = p.str("ad_name", required=need)
        if name is not None:
            if len(name) > 512:
                raise param_error(f"{pre}ad_name is too long. It should be at most 512 characters.")
            out["ad_name"] = name
    fmt = p.enum("ad_format", AD_FORMATS, required=need)
    if fmt:
        out["ad_format"] = fmt
    if (fmt in ("SINGLE_VIDEO", "SINGLE_IMAGE") or p.has("ad_text")) and req("ad_text"):
        text = p.req("ad_text")
        if not 1 <= len(text) <= 100:
            raise param_error(f"{pre}ad_text should be 1 to 100 characters.")
        if EMOJI.search(text):
            raise param_error(f"{pre}ad_text cannot contain emoji.")
        out["ad_text"] = text
    w = ctx.world
    if fmt == "SINGLE_VIDEO" and not p.has("tiktok_item_id"):
        req("video_id")
    if p.has("video_id"):
        vid = p.req("video_id")
        v = w.videos.get(vid)
        if v is None or v.advertiser_id != adv.advertiser_id:
            raise ApiError(40053, f"Invalid video id: {vid}.")
        out["video_id"] = vid
    if p.has("tiktok_item_id"):
        out["tiktok_item_id"] = p.req("tiktok_item_id")
    # spec §4.9: a video ad takes one cover image; an image ad is its images.
    if (fmt == "SINGLE_VIDEO" and "video_id" in out) or fmt == "SINGLE_IMAGE":
        req("image_ids")
    if p.has("image_ids"):
        imgs = check_str_list(f"{pre}image_ids", p.raw("image_ids"), True, 35, 1) or []
        if fmt == "SINGLE_VIDEO" and len(imgs) != 1:
            raise param_error(
                f"{pre}image_ids should contain exactly one cover image for video ads."
            )
        for img in imgs:
            rec = w.images.get(img)
            if rec is None or rec.advertiser_id != adv.advertiser_id:
                raise param_error(f"{pre}image_ids: image {img} does not exist.")
        out["image_ids"] = imgs
    if fmt == "SINGLE_VIDEO" or p.has("identity_id"):
        req("identity_id")
        req("identity_type")
    if p.has("identity_id"):
        itype = p.enum("identity_type", IDENTITY_TYPES, required=True)
        ident = w.identities.get(p.req("identity_id"))
        if (
            ident is None
            or ident.advertiser_id != adv.advertiser_id
            or ident.identity_type != itype
        ):
            raise param_error(f"{pre}identity_id does not exist.")
        if itype == "BC_AUTH_TT":
            out["identity_authorized_bc_id"] = p.req("identity_authorized_bc_id")
        out["identity_id"], out["identity_type"] = ident.identity_id, itype
    if ag.extra.get("catalog_id") and (need or p.has("product_set_id")):
        # A catalog ad group's ads show a product set of its catalog (sandbox/.../catalogs.py).
        set_id = p.req("product_set_id")
        cat = catalogs.catalog_for(ctx, adv, ag.extra.get("catalog_authorized_bc_id"),
                                   str(ag.extra["catalog_id"]))
        if cat is None or set_id not in {s.product_set_id for s in cat.sets}:
            raise ApiError(NOT_EXIST, f"Product set {set_id} does not exist.")
        out["catalog_id"], out["product_set_id"] = cat.catalog_id, set_id
    if p.has("call_to_action_id"):
        out["call_to_action_id"] = p.req("call_to_action_id")
    elif p.has("call_to_action"):
        out["call_to_action"] = p.enum("call_to_action", CTAS)
    elif need:
        raise param_error(f"{pre}call_to_action is required.")
    if (ag.extra.get("promotion_type", "WEBSITE") == "WEBSITE" and need) or p.has(
        "landing_page_url"
    ):
        url = p.str("landing_page_url", required=need)
        if url is not None:
            if not _web_url(url):
                raise param_error(f"{pre}landing_page_url should be a valid http(s) URL.")
            out["landing_page_url"] = url
    if p.has("display_name"):
        out["display_name"] = p.str("display_name", max_len=40, min_len=1)
    for f in (
        "deeplink",
        "deeplink_type",
        "fallback_type",
        "tracking_pixel_id",
        "impression_tracking_url",
        "click_tracking_url",
        "page_id",
        "card_id",
        "creative_authorized",
        "promotional_music_disabled",
        "dark_post_status",
        "utm_params",
        "music_id",
        "aigc_disclosure_type",
    ):
        if p.has(f):
            out[f] = p.raw(f)
    status = p.enum("operation_status", [ENABLE, DISABLE])
    if status:
        out["operation_status"] = status
    return out


def _web_url(url: str) -> bool:
    """An absolute http(s) URL with a host and no whitespace (TikTok's macros are fine)."""
    if any(ch.isspace() for ch in url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(host)


def _creatives(ctx: Ctx) -> list[Any]:
    """The body's `creatives`: 1 to 20 of them (spec §4.9, §4.10)."""
    creatives = ctx.params.json("creatives")
    if not isinstance(creatives, list) or not creatives:
        raise param_error("creatives is required.")
    if len(creatives) > 20:
        raise ApiError(
            ctx.emu.config.too_many_ids_code,
            "Invalid param: creatives can contain at most 20 items.",
        )
    return creatives


@route("ad/create/", "POST")
def ad_create(ctx: Ctx) -> Any:
    """Create up to 20 ads in an ad group (spec §4.9)."""
    p = ctx.params
    adv = ctx.advertiser()
    key, prior = earlier_create(ctx, "ad")
    if prior is not None:
        return {"ad_ids": prior, "creatives": [ad_dict(ctx, ctx.world.ads[a]) for a in prior]}
    ag = adgroup_of(ctx, adv, p.req("adgroup_id"))
    if material_mode(ag) == "DYNAMIC":  # [U] code: see the module docstring
        raise param_error(f"adgroup {ag.adgroup_id} is an ACO ad group (creative_material_mode "
                          "DYNAMIC): create its ads with /ad/aco/create/.")
    creatives = _creatives(ctx)
    limit = ctx.emu.config.max_ads_per_adgroup
    if limit and len(ag.ad_ids) + len(creatives) > limit:
        raise ApiError(AD_NUMBER_LIMIT, f"The ad group can contain at most {limit} ads.")
    specs = [_creative(ctx, adv, ag, c, i) for i, c in enumerate(creatives)]
    now = ctx.now
    ids = []
    for spec in specs:
        status = spec.pop("operation_status", ENABLE)
        name = spec.pop("ad_name", "").strip() or f"{ag.name}_{fmt_time(now)}"
        ad = Ad(
            ad_id=ctx.world.next_id("ad", 1_792_000_000_000_000),
            adgroup_id=ag.adgroup_id,
            campaign_id=ag.campaign_id,
            advertiser_id=adv.advertiser_id,
            name=name,
            status=History(now, status),
            create_time=now,
            modify_time=now,
            extra=spec,
        )
        ctx.world.add_ad(ad)
        ids.append(ad.ad_id)
    if key:
        ctx.world.idempotency[key] = ids
    return {"ad_ids": ids, "creatives": [ad_dict(ctx, ctx.world.ads[a]) for a in ids]}


@route("ad/update/", "POST")
def ad_update(ctx: Ctx) -> Any:
    """Update ads of one ad group (spec §4.10)."""
    p = ctx.params
    adv = ctx.advertiser()
    ag = adgroup_of(ctx, adv, p.req("adgroup_id"))
    creatives = _creatives(ctx)
    patch = p.bool("patch_update", False)
    w = ctx.world
    plans = []
    for i, raw in enumerate(creatives):
        ad_id = Params(raw if isinstance(raw, dict) else {}, False).req("ad_id")
        ad = w.ads.get(ad_id)
        if ad is None or ad.adgroup_id != ag.adgroup_id:
            raise param_error(f"creatives.ad_id {ad_id} does not exist in this ad group.")
        if ad.status.current() == DELETE:
            raise param_error(f"ad {ad_id} has been deleted and cannot be modified.")
        if ad.extra.get("is_aco"):  # official SDK: ACO ads are updated by /ad/aco/update/
            raise param_error(f"ad {ad_id} is an ACO ad: update it with /ad/aco/update/.")
        plans.append((ad, _creative(ctx, adv, ag, raw, i, patch=patch)))
    for ad, spec in plans:
        spec.pop("operation_status", None)
        name = spec.pop("ad_name", None)
        if name is not None and name.strip():
            ad.name = name
        ad.extra.update(spec)
        ad.modify_time = ctx.now
        w.touch(ad.campaign_id)
    ids = [ad.ad_id for ad, _ in plans]
    return {"ad_ids": ids, "creatives": [ad_dict(ctx, w.ads[a]) for a in ids]}


@route("ad/status/update/", "POST")
def ad_status(ctx: Ctx) -> Any:
    """Enable / pause / delete ads, or enable / pause ACO ads (``aco_ad_ids``); a pause stops
    spend at this second (spec §4.10; ACO rules in the module docstring)."""
    p = ctx.params
    adv = ctx.advertiser()
    # An empty list counts as not set: a public Postman-style request list for v1.3 sends
    # "ad_ids": [] together with aco_ad_ids ("POST — Ad Status Update") [U].
    ids = p.str_list("ad_ids", max_items=20) or []
    aco_ids = p.str_list("aco_ad_ids", max_items=20) or []
    if not ids and not aco_ids:
        raise param_error("Either ad_ids or aco_ad_ids has to be set.")
    action = p.enum("operation_status", ACTIONS, required=True)
    w = ctx.world
    ads = []
    for name, group in (("ad_id", ids), ("aco_ad_id", aco_ids)):
        for i in group:
            ad = w.ads.get(i)
            if ad is None or ad.advertiser_id != adv.advertiser_id:
                raise param_error(f"{name} {i} does not exist.")
            is_aco = bool(ad.extra.get("is_aco"))
            if name == "aco_ad_id" and not is_aco:
                raise param_error(f"aco_ad_id {i} is not an ACO ad.")  # [U]
            if is_aco and action == DELETE:
                raise param_error("Only ENABLE and DISABLE are supported for ACO ads.")
            if ad.status.current() == DELETE or DELETE in ag_state(ctx, w.adgroups[ad.adgroup_id]):
                raise param_error(f"ad {i} has been deleted and cannot be modified.")
            ads.append(ad)
    for ad in ads:
        ad.status.set(ctx.now, action)
        ad.modify_time = ctx.now
        w.touch(ad.campaign_id)
    return {"ad_ids": ids, "aco_ad_ids": aco_ids, "status": action}
