"""Automated Creative Optimization (ACO) ads: ``POST /ad/aco/create/``, ``GET /ad/aco/get/``,
``POST /ad/aco/update/``, ``POST /ad/aco/material_status/update/`` (spec §9, "also in the SDK").

Where each shape comes from:

* Requests: TikTok's official Python SDK (``business_api_client/api/ad_aco_api.py`` for the
  methods, paths and query parameters; models ``ad_aco_body*.py``, ``ad_aco_update_body.py``,
  ``material_status_update_body.py``) and its docs in tiktok/tiktok-business-api-sdk
  (``python_sdk/docs/AdAco*.md``, ``MaterialStatusUpdateBody.md``). Those docs say the ad group
  "must be set as ``DYNAMIC``" (``creative_material_mode``), that media identities are
  ``CUSTOMIZED_USER`` only unless the media is a Spark post (``tiktok_item_id`` with an
  ``AUTH_CODE``/``TT_USER`` identity), that ``call_to_action_id`` wins over
  ``call_to_action_list``, that a blank ``ad_name`` is generated as creative name + creation
  time (``adcreative20210111190739``), ``card_list`` and ``deeplink_list`` hold at most one item,
  display names are 1–40 characters, and ``adgroup_ids`` of get is 1–100 ids.
* Responses: the upstream repository's ``yml_files/`` holds no ``ad_aco_*`` file (checked at
  commit f809c39), so they follow the Go SDK bububa/tiktok-business ``model/ad/aco/*.go``
  (commit 051f6c0): create and update answer ``data`` = the ACO ad object
  (``advertiser_id, adgroup_id, media_info_list[].media_info{material_id,
  material_operation_status, material_name, identity_id, identity_type, tiktok_item_id,
  aigc_disclosure_type, image_info[]{web_uri, file_name}, video_info{video_id, file_name}},
  title_list[]{title, material_id, material_operation_status}, deeplink_list,
  display_name_list, avatar_icon_list, page_list, card_list, landing_page_urls,
  common_material``); get answers ``data.list[]`` of them; material status answers
  ``{ad_group_id, material_ids, material_status[]}``; update takes ``patch_update`` (only the
  lists sent change). The Go SDK's ``file_name`` is "" when none was sent; its material status
  takes ONE material id per call (its doc: "您只能传入一个素材 ID").

Guesses, tagged [U] where they are made below: the CTA list answers as ``call_to_action_list``
(the request's name; the Go SDK's JSON tag says ``call_to_action``); the size limits of the
lists; one ACO ad per ad group (created again = refused, use update); a video needs its cover
image as in ad/create (spec §4.9); ad groups of the account without ACO creatives are left out
of get; a deleted ad group (or one under a deleted campaign) is refused by get as an unknown one
and its materials are forgotten when it is deleted (api_entities.drop_aco); the last enabled
video/image or ad text cannot be disabled; ``material_status`` answers as a list. TikTok
generates the ads from these materials: here that is one ad in ``World.ads`` with
``is_aco: true`` (ad/get, ad/status/update, delivery and reports see it like any ad [U]: how
many ads TikTok lists for one ACO ad group is not documented to us), showing the first enabled
video or image, the enabled texts as ``ad_texts``, the first as ``ad_text``; its report
attribute ``is_aco`` is "true".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandbox.tiktok.api_ads import _web_url
from sandbox.tiktok.api_entities import adgroup_of
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.entity_reads import ag_state
from sandbox.tiktok.entity_values import CTAS
from sandbox.tiktok.errors import ApiError, param_error
from sandbox.tiktok.model import DELETE, DISABLE, ENABLE, Ad, AdGroup, Advertiser, History
from sandbox.tiktok.params import EMOJI, Params, check_str_list

# List sizes [U]: Ads Manager's ACO takes up to 10 videos, 10 images and 5 ad texts; the API
# docs we could read give no numbers except card_list / deeplink_list [0, 1].
MAX_VIDEOS = 10
MAX_IMAGES = 10
MAX_TITLES = 5
MAX_CTAS = 5
MAX_LANDING_PAGES = 10
MAX_DISPLAY_NAMES = 5
MAX_AVATARS = 1
MAX_PAGES = 1
# The lists an ACO ad carries besides media and texts, as the request names them.
PLAIN_LISTS = ("call_to_action_list", "deeplink_list", "display_name_list", "avatar_icon_list",
               "page_list", "card_list", "landing_page_urls")
SPARK_IDENTITIES = ("AUTH_CODE", "TT_USER")  # official SDK AdAcoBodyCommonMaterial
AIGC = ("SELF_DISCLOSURE", "NOT_DECLARED")
FALLBACKS = ("APP_INSTALL", "WEBSITE", "UNSET")
DEEPLINK_TYPES = ("NORMAL", "DEFERRED_DEEPLINK")


# ---------------------------------------------------------------- request parsing


def _objects(p: Params, name: str, max_items: int, wrapper: str | None = None) -> list[Any]:
    """A body list of objects (each ``{wrapper: {...}}`` when ``wrapper``), at most
    ``max_items``; the inner objects."""
    value = p.json(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise param_error(f"{name} should be a list.")
    if len(value) > max_items:
        raise param_error(f"{name} can contain at most {max_items} items.")
    out = []
    for i, item in enumerate(value):
        inner = item.get(wrapper) if wrapper and isinstance(item, dict) else item
        if not isinstance(inner, dict):
            where = f"{name}[{i}]" + (f".{wrapper}" if wrapper else "")
            raise param_error(f"{where} should be an object.")
        out.append(inner)
    return out


def _identity(ctx: Ctx, adv: Advertiser, where: str, ident_id: str, itype: str | None,
              allowed: tuple[str, ...]) -> tuple[str, str]:
    """An identity of this account of one of the ``allowed`` types."""
    if itype is None:
        raise param_error(f"{where}.identity_type is required.")
    if itype not in allowed:
        raise param_error(f"{where}.identity_type must be one of {list(allowed)}.")
    ident = ctx.world.identities.get(ident_id)
    if ident is None or ident.advertiser_id != adv.advertiser_id or ident.identity_type != itype:
        raise param_error(f"{where}.identity_id {ident_id} does not exist.")
    return ident_id, itype


def _image(ctx: Ctx, adv: Advertiser, where: str, raw: Any) -> dict[str, str]:
    """One ``{web_uri, file_name}`` naming an image of this account."""
    if not isinstance(raw, dict):
        raise param_error(f"{where} should be an object.")
    p = Params(raw, from_query=False)
    uri = p.str("web_uri", required=True)
    img = ctx.world.images.get(uri or "")
    if img is None or img.advertiser_id != adv.advertiser_id:
        raise param_error(f"{where}.web_uri: image {uri} does not exist.")
    return {"web_uri": img.image_id, "file_name": p.str("file_name") or ""}


def _material_id(ctx: Ctx, ag_id: str, key: str) -> str:
    """The material id of an ad text or Spark post of an ad group: the same on every update."""
    w = ctx.world
    if (ag_id, key) not in w.aco_material_ids:
        w.aco_material_ids[(ag_id, key)] = w.next_id("aco_material", 1_795_000_000_000_000)
    return w.aco_material_ids[(ag_id, key)]


def _media(ctx: Ctx, adv: Advertiser, ag: AdGroup, raw: dict[str, Any], i: int,
           common: dict[str, Any]) -> dict[str, Any]:
    """One media material: a video with its cover, an image, or a Spark post."""
    where = f"media_info_list[{i}].media_info"
    p = Params(raw, from_query=False)
    w = ctx.world
    item_id = p.str("tiktok_item_id")
    ident_id = p.str("identity_id") or common.get("identity_id")
    itype = p.str("identity_type") if p.has("identity_id") else common.get("identity_type")
    out: dict[str, Any] = {
        "material_id": "", "material_operation_status": ENABLE, "material_name": "",
        "identity_id": None, "identity_type": None, "tiktok_item_id": item_id,
        "aigc_disclosure_type": p.enum("aigc_disclosure_type", AIGC, default="NOT_DECLARED"),
        "image_info": [], "video_info": None,
    }
    covers = p.json("image_info")
    if covers is not None and not isinstance(covers, list):
        raise param_error(f"{where}.image_info should be a list.")
    images = [_image(ctx, adv, f"{where}.image_info[{k}]", c) for k, c in enumerate(covers or [])]
    video = p.json("video_info")
    if item_id:
        # A Spark post: TikTok's own post under an authorized identity (official SDK docs).
        if not ident_id:
            raise param_error(f"{where}.identity_id is required for Spark Ads (tiktok_item_id).")
        out["identity_id"], out["identity_type"] = _identity(
            ctx, adv, where, ident_id, itype, SPARK_IDENTITIES)
        out["material_id"] = _material_id(ctx, ag.adgroup_id, "item:" + item_id)
        out["material_name"] = item_id
        out["image_info"] = images[:1]
        return out
    if not ident_id:
        raise param_error(f"{where}.identity_id is required when tiktok_item_id is not used.")
    out["identity_id"], out["identity_type"] = _identity(
        ctx, adv, where, ident_id, itype, ("CUSTOMIZED_USER",))
    if video is not None:
        if not isinstance(video, dict):
            raise param_error(f"{where}.video_info should be an object.")
        vp = Params(video, from_query=False)
        vid = vp.str("video_id")
        if not vid:
            raise param_error(f"{where}.video_info.video_id is required.")
        v = w.videos.get(vid)
        if v is None or v.advertiser_id != adv.advertiser_id:
            raise ApiError(40053, f"Invalid video id: {vid}.")  # as ad/create (spec §8.1)
        # A video takes exactly one cover image, as in ad/create (spec §4.9) [U].
        if len(images) != 1:
            raise param_error(f"{where}.image_info should contain exactly one cover image "
                              "for a video.")
        out.update(material_id=v.material_id, material_name=v.file_name, image_info=images,
                   video_info={"video_id": v.video_id, "file_name": vp.str("file_name") or ""})
        return out
    if len(images) != 1:
        raise param_error(f"{where}.image_info should contain exactly one image "
                          "when video_info is not given.")
    img = w.images[images[0]["web_uri"]]
    out.update(material_id=img.material_id, material_name=img.file_name, image_info=images)
    return out


def _titles(ctx: Ctx, ag: AdGroup, p: Params) -> list[dict[str, Any]]:
    """The ad texts: 1–100 characters each, no emoji, no repeats (spec §4.9's ad_text rules)."""
    out = []
    for i, raw in enumerate(_objects(p, "title_list", MAX_TITLES)):
        text = Params(raw, from_query=False).str("title", required=True) or ""
        if not 1 <= len(text) <= 100:
            raise param_error(f"title_list[{i}].title should be 1 to 100 characters.")
        if EMOJI.search(text):
            raise param_error(f"title_list[{i}].title cannot contain emoji.")
        if any(t["title"] == text for t in out):
            raise param_error(f"title_list[{i}].title repeats an earlier ad text.")
        out.append({"title": text, "material_id": _material_id(ctx, ag.adgroup_id, "text:" + text),
                    "material_operation_status": ENABLE})
    return out


def _plain_list(ctx: Ctx, adv: Advertiser, p: Params, name: str) -> list[dict[str, Any]]:
    """One of the other creative lists, checked and answered as TikTok answers it."""
    out: list[dict[str, Any]] = []
    if name == "call_to_action_list":
        for i, raw in enumerate(_objects(p, name, MAX_CTAS)):
            q = Params(raw, from_query=False)
            out.append({"call_to_action": q.enum("call_to_action", CTAS, required=True)})
            if out[-1] in out[:-1]:
                raise param_error(f"{name}[{i}].call_to_action repeats an earlier one.")
    elif name == "deeplink_list":
        for raw in _objects(p, name, 1):
            q = Params(raw, from_query=False)
            out.append({"deeplink": q.str("deeplink", required=True),
                        "deeplink_type": q.enum("deeplink_type", DEEPLINK_TYPES,
                                                default="NORMAL")})
    elif name == "display_name_list":
        for i, raw in enumerate(_objects(p, name, MAX_DISPLAY_NAMES)):
            q = Params(raw, from_query=False)
            row = {f: q.str(f, max_len=40, min_len=1) for f in ("app_name", "landing_page_name")}
            if row["app_name"] is None and row["landing_page_name"] is None:
                raise param_error(f"{name}[{i}] needs app_name or landing_page_name.")
            out.append(row)
    elif name == "avatar_icon_list":
        for i, raw in enumerate(_objects(p, name, MAX_AVATARS, wrapper="avatar_icon")):
            out.append({"avatar_icon": _image(ctx, adv, f"{name}[{i}].avatar_icon", raw)})
    elif name == "page_list":
        for raw in _objects(p, name, MAX_PAGES):
            out.append({"page_id": Params(raw, from_query=False).str("page_id", required=True)})
    elif name == "card_list":
        for raw in _objects(p, name, 1):
            out.append({"card_id": Params(raw, from_query=False).str("card_id", required=True)})
    else:  # landing_page_urls
        for i, raw in enumerate(_objects(p, name, MAX_LANDING_PAGES)):
            url = Params(raw, from_query=False).str("landing_page_url", required=True) or ""
            if not _web_url(url):
                raise param_error(f"{name}[{i}].landing_page_url should be a valid http(s) URL.")
            out.append({"landing_page_url": url})
    return out


def _common(p: Params) -> dict[str, Any]:
    """``common_material`` as sent, checked (official SDK AdAcoBodyCommonMaterial)."""
    c = Params(p.obj("common_material"), from_query=False)
    name = c.str("ad_name", max_len=512)
    if name and EMOJI.search(name):
        raise param_error("common_material.ad_name cannot contain emoji.")
    tracking = c.json("tracking_info")
    if tracking is not None and not isinstance(tracking, dict):
        raise param_error("common_material.tracking_info should be an object.")
    t = Params(tracking or {}, from_query=False)
    for f in ("impression_tracking_urls", "click_tracking_urls", "tracking_offline_event_set_ids"):
        t.str_list(f)
    return {
        "ad_name": name,
        "call_to_action_id": c.str("call_to_action_id"),
        "creative_authorized": c.bool("creative_authorized", False),
        "fallback_type": c.enum("fallback_type", FALLBACKS),
        "identity_id": c.str("identity_id"),
        "identity_type": c.str("identity_type"),
        "is_smart_creative": c.bool("is_smart_creative", False),
        "playable_url": c.str("playable_url"),
        "tracking_info": tracking,
    }


def _materials(ctx: Ctx, adv: Advertiser, ag: AdGroup, prior: dict[str, Any] | None,
               patch: bool) -> dict[str, Any]:
    """What a create or update sets: the lists sent (with ``patch``, the others as they were),
    checked together; material statuses carry over for materials kept."""
    p = ctx.params
    keep = prior if patch and prior is not None else None
    rec: dict[str, Any] = {}
    rec["common_material"] = (
        keep["common_material"] if keep and not p.has("common_material") else _common(p))
    common = rec["common_material"]
    if keep and not p.has("media_info_list"):
        rec["media"] = keep["media"]
    else:
        raws = _objects(p, "media_info_list", MAX_VIDEOS + MAX_IMAGES, wrapper="media_info")
        rec["media"] = [_media(ctx, adv, ag, r, i, common) for i, r in enumerate(raws)]
    rec["titles"] = keep["titles"] if keep and not p.has("title_list") else _titles(ctx, ag, p)
    for name in PLAIN_LISTS:
        rec[name] = keep[name] if keep and not p.has(name) else _plain_list(ctx, adv, p, name)
    media = rec["media"]
    if not media:
        raise param_error("media_info_list is required.")
    videos = [m for m in media if m["video_info"] or m["tiktok_item_id"]]
    if len(videos) > MAX_VIDEOS or len(media) - len(videos) > MAX_IMAGES:
        raise param_error(f"media_info_list can hold at most {MAX_VIDEOS} videos and "
                          f"{MAX_IMAGES} images.")
    ids = [m["material_id"] for m in media]
    if len(set(ids)) != len(ids):
        raise param_error("media_info_list uses the same video or image twice.")
    if not rec["titles"]:
        raise param_error("title_list is required.")
    if common["call_to_action_id"]:
        rec["call_to_action_list"] = []  # the official SDK: "this field will be ignored"
    elif not rec["call_to_action_list"]:
        raise param_error("call_to_action_list or common_material.call_to_action_id is required.")
    # As ad/create asks a landing page of a WEBSITE ad group's ads (spec §4.9).
    if ag.extra.get("promotion_type", "WEBSITE") == "WEBSITE" and not rec["landing_page_urls"]:
        raise param_error("landing_page_urls is required for a WEBSITE ad group.")
    if prior is not None:
        was = {m["material_id"]: m["material_operation_status"]
               for m in prior["media"] + prior["titles"]}
        for m in media + rec["titles"]:
            m["material_operation_status"] = was.get(m["material_id"], ENABLE)
    _enabled_left(rec)
    return rec


def _enabled_left(rec: dict[str, Any]) -> None:
    """At least one video or image and one ad text stay enabled [U]."""
    if not any(m["material_operation_status"] == ENABLE for m in rec["media"]):
        raise param_error("at least one video or image material must stay enabled.")
    if not any(t["material_operation_status"] == ENABLE for t in rec["titles"]):
        raise param_error("at least one ad text must stay enabled.")


# ---------------------------------------------------------------- answers and the generated ad


def _answer(rec: dict[str, Any]) -> dict[str, Any]:
    """The ACO ad object (Go SDK model/ad/aco/ad.go)."""
    out: dict[str, Any] = {
        "advertiser_id": rec["advertiser_id"],
        "adgroup_id": rec["adgroup_id"],
        "media_info_list": [{"media_info": dict(m)} for m in rec["media"]],
        "title_list": [dict(t) for t in rec["titles"]],
    }
    for name in PLAIN_LISTS:
        out[name] = [dict(x) for x in rec[name]]
    out["common_material"] = dict(rec["common_material"])
    return out


def _drop_nulls(value: Any) -> Any:
    """``exclude_field_types_in_response=["NULL_FIELD"]``: no null fields, at any depth [U]."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _ad_fields(ctx: Ctx, rec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The generated ad's name and the fields ad/get shows for it [U]."""
    media = [m for m in rec["media"] if m["material_operation_status"] == ENABLE]
    texts = [t["title"] for t in rec["titles"] if t["material_operation_status"] == ENABLE]
    first = media[0]
    common = rec["common_material"]
    ctas = [c["call_to_action"] for c in rec["call_to_action_list"]]
    urls = [u["landing_page_url"] for u in rec["landing_page_urls"]]
    names = rec["display_name_list"][0] if rec["display_name_list"] else {}
    link = rec["deeplink_list"][0] if rec["deeplink_list"] else {}
    avatar = rec["avatar_icon_list"][0]["avatar_icon"]["web_uri"] if rec["avatar_icon_list"] \
        else None
    tracking = common["tracking_info"] or {}
    is_video = bool(first["video_info"] or first["tiktok_item_id"])
    extra = {
        "is_aco": True,
        "ad_format": "SINGLE_VIDEO" if is_video else "SINGLE_IMAGE",
        "video_id": first["video_info"]["video_id"] if first["video_info"] else None,
        "image_ids": [i["web_uri"] for i in first["image_info"]],
        "tiktok_item_id": first["tiktok_item_id"],
        "identity_id": first["identity_id"],
        "identity_type": first["identity_type"],
        "ad_text": texts[0],
        "ad_texts": texts,
        "call_to_action": ctas[0] if ctas else None,
        "call_to_action_id": common["call_to_action_id"],
        "landing_page_url": urls[0] if urls else None,
        "landing_page_urls": urls or None,
        "display_name": names.get("landing_page_name"),
        "app_name": names.get("app_name"),
        "avatar_icon_web_uri": avatar,
        "deeplink": link.get("deeplink", ""),
        "deeplink_type": link.get("deeplink_type", "NORMAL"),
        "fallback_type": common["fallback_type"] or "UNSET",
        "page_id": rec["page_list"][0]["page_id"] if rec["page_list"] else None,
        "card_id": rec["card_list"][0]["card_id"] if rec["card_list"] else None,
        "playable_url": common["playable_url"],
        "creative_authorized": common["creative_authorized"],
        "impression_tracking_url": (tracking.get("impression_tracking_urls") or [None])[0],
        "click_tracking_url": (tracking.get("click_tracking_urls") or [None])[0],
        "tracking_pixel_id": tracking.get("tracking_pixel_id"),
        "tracking_app_id": tracking.get("tracking_app_id"),
        "tracking_offline_event_set_ids": tracking.get("tracking_offline_event_set_ids"),
        "aigc_disclosure_type": first["aigc_disclosure_type"],
    }
    name = (common["ad_name"] or "").strip()
    if not name:  # official SDK: creative name + creation time, e.g. adcreative20210111190739
        name = "adcreative" + datetime.fromtimestamp(ctx.now, UTC).strftime("%Y%m%d%H%M%S")
    return name, extra


def _sync_ad(ctx: Ctx, ag: AdGroup, rec: dict[str, Any]) -> None:
    """Make or refresh the ad TikTok generates from the materials."""
    w = ctx.world
    name, extra = _ad_fields(ctx, rec)
    ad = w.ads.get(rec.get("ad_id") or "")
    if ad is None:
        ad = Ad(
            ad_id=w.next_id("ad", 1_792_000_000_000_000),
            adgroup_id=ag.adgroup_id,
            campaign_id=ag.campaign_id,
            advertiser_id=ag.advertiser_id,
            name=name,
            status=History(ctx.now, ENABLE),
            create_time=ctx.now,
            modify_time=ctx.now,
            extra=extra,
        )
        w.add_ad(ad)
        rec["ad_id"] = ad.ad_id
        return
    if (common_name := (rec["common_material"]["ad_name"] or "").strip()):
        ad.name = common_name
    ad.extra = extra
    ad.modify_time = ctx.now
    w.touch(ad.campaign_id)


def _aco_group(ctx: Ctx, adv: Advertiser, ag_id: str) -> AdGroup:
    """An ACO ad group of this account (``creative_material_mode`` DYNAMIC, official SDK)."""
    ag = adgroup_of(ctx, adv, ag_id)
    if ag.extra.get("creative_material_mode") != "DYNAMIC":
        raise param_error(f"adgroup {ag_id} is not an ACO ad group: its "
                          "creative_material_mode must be DYNAMIC.")
    return ag


def _live_group(ctx: Ctx, adv: Advertiser, ag_id: str) -> AdGroup:
    """An ad group of this account that is not deleted (nor under a deleted campaign).

    What ad/aco/get answers for a deleted ad group is documented nowhere we could read (no
    ad_aco_get.yml upstream; the Go SDK's model/ad/aco/get.go says nothing): it is refused as
    an unknown ad group, 40002 [U]; its materials are forgotten when it is deleted
    (api_entities.drop_aco).
    """
    ag = adgroup_of(ctx, adv, ag_id, writable=False)  # another account's id -> 40002
    if DELETE in ag_state(ctx, ag):
        raise param_error(f"adgroup_id {ag_id} does not exist.")
    return ag


# ---------------------------------------------------------------- routes


@route("ad/aco/create/", "POST")
def aco_create(ctx: Ctx) -> Any:
    """Give an ACO ad group its creative materials; TikTok makes the ads from them."""
    adv = ctx.advertiser()
    ag = _aco_group(ctx, adv, ctx.params.req("adgroup_id"))
    if ag.adgroup_id in ctx.world.aco_groups:
        # One ACO ad per ad group; more materials go through /ad/aco/update/ [U].
        raise param_error(f"adgroup {ag.adgroup_id} already has ACO creatives; "
                          "use /ad/aco/update/.")
    rec = _materials(ctx, adv, ag, None, patch=False)
    rec.update(advertiser_id=adv.advertiser_id, adgroup_id=ag.adgroup_id, ad_id="")
    _sync_ad(ctx, ag, rec)
    ctx.world.aco_groups[ag.adgroup_id] = rec
    return _answer(rec)


@route("ad/aco/update/", "POST")
def aco_update(ctx: Ctx) -> Any:
    """Replace an ACO ad group's materials (with ``patch_update``, only the lists sent)."""
    adv = ctx.advertiser()
    ag = _aco_group(ctx, adv, ctx.params.req("adgroup_id"))
    prior = ctx.world.aco_groups.get(ag.adgroup_id)
    if prior is None:
        raise param_error(f"adgroup {ag.adgroup_id} has no ACO creatives; "
                          "use /ad/aco/create/ first.")
    rec = _materials(ctx, adv, ag, prior, patch=ctx.params.bool("patch_update", False))
    rec.update(advertiser_id=adv.advertiser_id, adgroup_id=ag.adgroup_id, ad_id=prior["ad_id"])
    _sync_ad(ctx, ag, rec)
    ctx.world.aco_groups[ag.adgroup_id] = rec
    return _answer(rec)


@route("ad/aco/get/")
def aco_get(ctx: Ctx) -> Any:
    """The ACO materials of 1–100 ad groups of the account."""
    p = ctx.params
    adv = ctx.advertiser()
    ids = p.str_list("adgroup_ids", required=True, max_items=100) or []
    exclude = p.str_list("exclude_field_types_in_response", allowed=["NULL_FIELD"]) or []
    w = ctx.world
    out = []
    for ag_id in dict.fromkeys(ids):
        _live_group(ctx, adv, ag_id)
        rec = w.aco_groups.get(ag_id)
        if rec is not None:  # an ad group without ACO creatives is left out [U]
            out.append(_answer(rec))
    if "NULL_FIELD" in exclude:
        out = [_drop_nulls(r) for r in out]
    return {"list": out}


@route("ad/aco/material_status/update/", "POST")
def aco_material_status(ctx: Ctx) -> Any:
    """Switch one material (video, image or ad text) of an ACO ad group on or off."""
    p = ctx.params
    adv = ctx.advertiser()
    ag = _aco_group(ctx, adv, p.req("ad_group_id"))
    # One material id per call (Go SDK docs); the official SDK types it as a list.
    ids = check_str_list("material_ids", p.json("material_ids"), True, 1) or []
    status = p.enum("material_status", [ENABLE, DISABLE], required=True)
    rec = ctx.world.aco_groups.get(ag.adgroup_id)
    if rec is None:
        raise param_error(f"adgroup {ag.adgroup_id} has no ACO creatives.")
    found = [m for m in rec["media"] + rec["titles"] if m["material_id"] in ids]
    if len(found) != len(ids):
        raise param_error(f"material_ids {ids} are not materials of adgroup {ag.adgroup_id}.")
    before = [m["material_operation_status"] for m in found]
    for m in found:
        m["material_operation_status"] = status
    try:
        _enabled_left(rec)
    except ApiError:
        for m, was in zip(found, before, strict=True):
            m["material_operation_status"] = was
        raise
    _sync_ad(ctx, ag, rec)
    return {"ad_group_id": ag.adgroup_id, "material_ids": ids, "material_status": [status]}

