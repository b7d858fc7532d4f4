"""``GET bc/asset/get/``: the assets of a Business Center a member can reach (official SDK
BCApi.bc_asset_get; spec §3.2 "Related": ``bc_id``, ``asset_type``, page_size ≤50 [C]).

Request (the SDK's): ``bc_id`` and ``asset_type`` required — ``ADVERTISER``, ``CATALOG``,
``PIXEL``, ``LEAD``, ``TT_ACCOUNT`` (the BC_AUTH_TT identities), ``TIKTOK_SHOP``,
``STOREFRONT``; ``filtering`` {``keyword``, ``user_id``, ``user_email``} (``user_id`` and
``user_email`` not both; ``user_email`` only with ADVERTISER, for a member whose invitation is
pending; without either, the token's own user); ``page`` ≥1, ``page_size`` 1..50 (default 10).
Response ``data``: ``list`` + ``page_info``; an asset has ``asset_type``, ``asset_id``,
``asset_name``, ``relation_type`` (OWNER_BC | OWNER_PARTNER | OWNER_INDIVIDUAL),
``relation_status`` (ADVERTISER, PIXEL, TIKTOK_SHOP only: BOUND ...), ``advertiser_status``,
``advertiser_account_type`` and ``advertiser_role`` (ADMIN | OPERATOR | ANALYST) for ADVERTISER,
``catalog_role`` and ``ad_creation_eligible`` for CATALOG, ``pixel_code`` for PIXEL,
``tt_account_roles`` for TT_ACCOUNT, ``owner_bc_name`` (null for TT_ACCOUNT): the Go SDK
(bububa/tiktok-business model/bc/asset_get.go, comments translated from TikTok's docs) [L].

The world has no asset assignments, so what a member reaches is derived [U]: the BC's ad accounts
that are among the member's own accounts (ADMIN for a BC admin, OPERATOR otherwise), the BC's
catalogs (catalogs.py; ADMIN / AD_PROMOTE likewise), the pixels of those ad accounts (pixels.py),
the BC_AUTH_TT identities authorised to the BC (identities of ``identity_get``), and no leads,
shops or storefronts. No member has a pending invitation, so ``user_email`` finds nothing. An
unknown ``user_id`` (not a member of the BC) is refused with 40002 [U].
"""

from __future__ import annotations

from typing import Any

from sandbox.tiktok.api_account import page_args, paginate
from sandbox.tiktok.catalogs import catalogs_of
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import NO_PERMISSION, ApiError, param_error
from sandbox.tiktok.model import BusinessCenter, User
from sandbox.tiktok.pixels import account_pixels, as_listed

ASSET_TYPES = ("CATALOG", "ADVERTISER", "PIXEL", "LEAD", "TT_ACCOUNT", "TIKTOK_SHOP", "STOREFRONT")
FIELD_ORDER = ("asset_type", "asset_id", "asset_name", "relation_type", "relation_status",
               "advertiser_status", "advertiser_account_type", "advertiser_role", "catalog_role",
               "ad_creation_eligible", "store_role", "pixel_code", "tt_account_roles",
               "owner_bc_name")


def _member(ctx: Ctx, bc: BusinessCenter, filt: dict[str, Any]) -> User | None:
    """The member whose assets are listed (None: a pending invitee, who has none here)."""
    assert ctx.token is not None
    user_id, email = filt.get("user_id"), filt.get("user_email")
    if user_id and email:
        raise param_error("filtering.user_id and filtering.user_email cannot be set together.")
    if email:
        return None
    if not user_id:
        return ctx.world.users[ctx.token.login]
    for user in ctx.world.users.values():
        if user.core_user_id == str(user_id) and user.login in bc.roles:
            return user
    raise param_error(f"filtering.user_id {user_id} is not a member of the Business Center.")


def _assets(ctx: Ctx, bc: BusinessCenter, kind: str, user: User) -> list[dict[str, Any]]:
    """The assets of one type the member reaches."""
    w = ctx.world
    admin = bc.roles.get(user.login) == "ADMIN"
    accounts = [w.advertisers[a] for a in bc.advertiser_ids
                if a in w.advertisers and a in user.advertiser_ids]
    base = {"relation_status": None, "advertiser_status": None, "advertiser_account_type": None,
            "advertiser_role": None, "catalog_role": None, "ad_creation_eligible": None,
            "store_role": None, "pixel_code": None, "tt_account_roles": None}
    out: list[dict[str, Any]] = []
    if kind == "ADVERTISER":
        for adv in accounts:
            owned = adv.owner_bc_id == bc.bc_id
            owner = w.bcs.get(adv.owner_bc_id)
            out.append({**base, "asset_type": kind, "asset_id": adv.advertiser_id,
                        "asset_name": adv.name,
                        "relation_type": "OWNER_BC" if owned else
                        ("OWNER_PARTNER" if owner else "OWNER_INDIVIDUAL"),
                        "relation_status": "BOUND", "advertiser_status": adv.status,
                        "advertiser_account_type": "AUCTION",
                        "advertiser_role": "ADMIN" if admin else "OPERATOR",
                        "owner_bc_name": owner.name if owner else None})
    elif kind == "CATALOG":
        for cat in catalogs_of(ctx, bc):
            out.append({**base, "asset_type": kind, "asset_id": cat.catalog_id,
                        "asset_name": cat.name, "relation_type": "OWNER_BC",
                        "catalog_role": "ADMIN" if admin else "AD_PROMOTE",
                        "ad_creation_eligible": "AVAILABLE" if "APPROVED" in cat.statuses
                        else "NOT_AVAILABLE",
                        "owner_bc_name": bc.name})
    elif kind == "PIXEL":
        for adv in accounts:
            for px in account_pixels(ctx, adv):
                shown = as_listed(px)
                out.append({**base, "asset_type": kind, "asset_id": shown["pixel_id"],
                            "asset_name": shown["pixel_name"], "relation_type": "OWNER_BC",
                            "relation_status": "BOUND", "pixel_code": shown["pixel_code"],
                            "owner_bc_name": bc.name})
    elif kind == "TT_ACCOUNT":
        seen: set[str] = set()
        mine = set(user.advertiser_ids)
        for ident in w.identities.values():
            if (ident.identity_type == "BC_AUTH_TT" and ident.identity_authorized_bc_id == bc.bc_id
                    and ident.advertiser_id in mine and ident.identity_id not in seen):
                seen.add(ident.identity_id)
                out.append({**base, "asset_type": kind, "asset_id": ident.identity_id,
                            "asset_name": ident.display_name, "relation_type": "OWNER_BC",
                            "tt_account_roles": ["POST"], "owner_bc_name": None})
    return [{k: a.get(k) for k in FIELD_ORDER} for a in out]


@route("bc/asset/get/")
def bc_asset_get(ctx: Ctx) -> Any:
    """Assets of one type in a Business Center that a member can reach, page_size ≤50."""
    p = ctx.params
    assert ctx.token is not None
    bc_id = p.req("bc_id")
    kind = p.enum("asset_type", ASSET_TYPES, required=True)
    assert kind is not None
    filt = p.obj("filtering")
    page, size = page_args(p, 50, 10)
    bc = ctx.world.bcs.get(bc_id)
    me = ctx.world.users.get(ctx.token.login)
    if bc is None or me is None or bc_id not in me.bc_ids:
        raise ApiError(NO_PERMISSION, f"No permission to operate business center {bc_id}.")
    if filt.get("user_email") and kind != "ADVERTISER":
        raise param_error("filtering.user_email can be used only with asset_type ADVERTISER.")
    user = _member(ctx, bc, filt)
    items = _assets(ctx, bc, kind, user) if user is not None else []
    keyword = str(filt.get("keyword") or "").lower()
    if keyword:
        items = [a for a in items if keyword in a["asset_name"].lower() or keyword in a["asset_id"]]
    rows, info = paginate(items, page, size)
    return {"list": rows, "page_info": info}
