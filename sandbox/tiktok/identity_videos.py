"""The TikTok posts of an identity: ``GET identity/video/info/`` (spec §6 "Related"; TikTok's
SDK IdentityApi.identity_video_info). Scope: "identity/" is ads management (scopes.py).

Request (the SDK): ``advertiser_id``, ``identity_type`` (AUTH_CODE | TT_USER | BC_AUTH_TT — the
SDK's enum: a CUSTOMIZED_USER identity has no TikTok account, so no posts), ``identity_id``,
``item_id`` (required by the SDK), ``identity_authorized_bc_id`` (required with BC_AUTH_TT).
bububa/tiktok-business (model/identity/video_info.go, comments translated from TikTok's Chinese
docs) adds ``item_type`` VIDEO (default) | CAROUSEL and ``item_ids`` (≤20, instead of
``item_id``) [L].

Answer: ``data.video_detail`` (one post, for ``item_id``) and ``data.video_details`` (a list,
for ``item_ids``; ``[]`` otherwise) — the Go SDK's VideoInfoResult, and a client's probe of the
real API ("video_details: empty array in probe") [L]. A post (Go SDK ttvideo.ItemInfo; the probe;
another client's checks): ``item_id`` (a 19-digit string), ``item_type`` "VIDEO", ``text``,
``status`` "ITEM_STATUS_HESITATE_RECOMMEND" (public; the value a Spark Ads client checks for),
``auth_info`` ({} for TT_USER / BC_AUTH_TT, the authorization's ``ad_auth_status``,
``auth_start_time``, ``auth_end_time``, ``invite_start_time`` for AUTH_CODE), ``anchor_list``
[], ``carousel_info`` null for a VIDEO post, ``video_info`` {``url``, ``poster_url`` (signed,
``x-expires``), ``duration``, ``bit_rate``, ``format``, ``width``, ``height``, ``size``,
``signature``} [L].

Which posts an identity has (the emulator's world, [U] in its numbers): six posts per identity,
the same on every run of a seed, each made from one of the ad account's library videos (its
size, duration, dimensions and MD5 signature: the clip the advertiser also posted); and every
post a Spark ad of that identity names in ``tiktok_item_id`` (ad/create takes it), so a
launched Spark ad's post always reads back. An unknown post -> 40007 [U]; an identity that is
not the account's, or not of the given type, or a BC_AUTH_TT one under another Business Center
-> 40002 (as ad/create refuses such an identity_id).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sandbox.tiktok.api_account import CDN
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import NOT_EXIST, ApiError, param_error
from sandbox.tiktok.model import Advertiser, Identity, Video, fmt_time

POST_IDENTITY_TYPES = ("AUTH_CODE", "TT_USER", "BC_AUTH_TT")
ITEM_TYPES = ("VIDEO", "CAROUSEL")
POSTS_PER_IDENTITY = 6
MAX_ITEM_IDS = 20  # Go SDK: "最大数量：20"
DAY = 86_400


def _roll(*parts: object) -> int:
    """A stable number from some parts (same seed, same posts)."""
    return int(hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest(), 16)


def _post(ctx: Ctx, adv: Advertiser, ident: Identity, item_id: str, n: int) -> dict[str, Any]:
    """One post of an identity, made from one of the account's library videos."""
    w = ctx.world
    vids = sorted((v for v in w.videos.values() if v.advertiser_id == adv.advertiser_id),
                  key=lambda v: v.video_id)
    video: Video | None = vids[n % len(vids)] if vids else None
    expires = int(ctx.now) + 3600  # the Go SDK: preview links last one hour
    duration = video.duration if video else 15.0
    size = video.size if video else 3_000_000
    auth: dict[str, Any] = {}
    if ident.identity_type == "AUTH_CODE":
        start = adv.create_time + DAY
        auth = {
            "ad_auth_status": "AUTHORIZED",
            "invite_start_time": fmt_time(start),
            "auth_start_time": fmt_time(start),
            "auth_end_time": fmt_time(start + 365 * DAY),
        }
    return {
        "item_id": item_id,
        "item_type": "VIDEO",
        "text": f"{ident.display_name}: behind the scenes #{n + 1}",
        "status": "ITEM_STATUS_HESITATE_RECOMMEND",
        "auth_info": auth,
        "anchor_list": [],
        "carousel_info": None,
        "video_info": {
            "url": f"{CDN}/obj/tos-alisg-pve-0037/{item_id}.mp4?x-expires={expires}",
            "poster_url": f"{CDN}/obj/tos-alisg-p-0037/{item_id}~tplv-noop.image"
                          f"?x-expires={expires}",
            "duration": duration,
            "bit_rate": int(size * 8 / max(duration, 1)),
            "format": video.format if video else "mp4",
            "width": video.width if video else 720,
            "height": video.height if video else 1280,
            "size": size,
            "signature": video.signature if video else f"{_roll(item_id):032x}"[-32:],
        },
    }


def identity_posts(ctx: Ctx, adv: Advertiser, ident: Identity) -> dict[str, dict[str, Any]]:
    """An identity's posts by item id: its own six, then those its Spark ads name."""
    seed = ctx.world.seed
    ids = [f"7{_roll(seed, ident.identity_id, 'post', i) % 10**18:018d}"
           for i in range(POSTS_PER_IDENTITY)]
    w = ctx.world
    for g in w.adgroups_of(adv.advertiser_id):
        for ad_id in g.ad_ids:
            extra = w.ads[ad_id].extra
            item = extra.get("tiktok_item_id")
            mine = str(extra.get("identity_id", "")) == ident.identity_id
            if item and mine and str(item) not in ids:
                ids.append(str(item))
    return {item: _post(ctx, adv, ident, item, n) for n, item in enumerate(ids)}


@route("identity/video/info/")
def identity_video_info(ctx: Ctx) -> Any:
    """The posts of an AUTH_CODE / TT_USER / BC_AUTH_TT identity, by item id."""
    p = ctx.params
    adv = ctx.advertiser()
    itype = p.enum("identity_type", POST_IDENTITY_TYPES, required=True)
    ident_id = p.req("identity_id")
    bc_id = p.str("identity_authorized_bc_id")
    if itype == "BC_AUTH_TT" and not bc_id:
        raise param_error("identity_authorized_bc_id is required when identity_type is BC_AUTH_TT.")
    ident = ctx.world.identities.get(ident_id)
    if (
        ident is None
        or ident.advertiser_id != adv.advertiser_id
        or ident.identity_type != itype
        or (itype == "BC_AUTH_TT" and ident.identity_authorized_bc_id != bc_id)
    ):
        raise param_error(f"identity_id {ident_id} does not exist.")
    item_type = p.enum("item_type", ITEM_TYPES, default="VIDEO")
    item_id = p.str("item_id")
    item_ids = p.str_list("item_ids", max_items=MAX_ITEM_IDS, min_items=1)
    if (item_id is None) == (item_ids is None):
        raise param_error("pass exactly one of item_id and item_ids.")
    posts = identity_posts(ctx, adv, ident)
    found = {k: v for k, v in posts.items() if v["item_type"] == item_type}
    if item_id is not None:
        if item_id not in found:
            raise ApiError(NOT_EXIST, f"TikTok post {item_id} does not exist.")
        return {"video_detail": found[item_id], "video_details": []}
    assert item_ids is not None
    # Posts the identity does not have are left out of the list [U].
    return {"video_detail": None, "video_details": [found[i] for i in item_ids if i in found]}
