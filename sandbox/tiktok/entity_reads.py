"""Campaigns, ad groups and ads as TikTok lists them: status cascade, fields, get (spec §4)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from sandbox.tiktok.api_account import page_args, paginate
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.entity_filters import ad_filter, adgroup_filter, campaign_filter
from sandbox.tiktok.entity_values import EXTRA_FIELDS, OBJECTIVES, PRIMARY
from sandbox.tiktok.errors import param_error
from sandbox.tiktok.model import (
    DELETE,
    DISABLE,
    ENABLE,
    Ad,
    AdGroup,
    Advertiser,
    Campaign,
    History,
    fmt_time,
    json_number,
)
from sandbox.tiktok.params import Params, check_str_list, parse_utc

# ---------------------------------------------------------------- status cascade (spec §4.0)


def camp_state(c: Campaign) -> str:
    """ENABLE, DISABLE or DELETE for a campaign."""
    return c.status.current()


def ag_state(ctx: Ctx, ag: AdGroup) -> tuple[str, str]:
    """(own status, campaign status)."""
    return ag.status.current(), ctx.world.campaigns[ag.campaign_id].status.current()


def camp_secondary(c: Campaign) -> str:
    """Campaign secondary_status."""
    return {DELETE: "CAMPAIGN_STATUS_DELETE", DISABLE: "CAMPAIGN_STATUS_DISABLE"}.get(
        camp_state(c), "CAMPAIGN_STATUS_ENABLE"
    )


def ag_secondary(ctx: Ctx, ag: AdGroup) -> str:
    """Ad group secondary_status, parent states first."""
    own, camp = ag_state(ctx, ag)
    now = ctx.now
    if own == DELETE:
        return "ADGROUP_STATUS_DELETE"
    if camp == DELETE:
        return "ADGROUP_STATUS_CAMPAIGN_DELETE"
    if camp == DISABLE:
        return "ADGROUP_STATUS_CAMPAIGN_DISABLE"
    if own == DISABLE:
        return "ADGROUP_STATUS_DISABLE"
    if now < ag.schedule_start:
        return "ADGROUP_STATUS_NOT_START"
    if now >= ag.schedule_end:
        return "ADGROUP_STATUS_TIME_DONE"
    return "ADGROUP_STATUS_DELIVERY_OK"


def ad_secondary(ctx: Ctx, ad: Ad) -> str:
    """Ad secondary_status, parent states first."""
    w = ctx.world
    ag = w.adgroups[ad.adgroup_id]
    camp = w.campaigns[ad.campaign_id].status.current()
    own, agst = ad.status.current(), ag.status.current()
    if own == DELETE:
        return "AD_STATUS_DELETE"
    if camp == DELETE:
        return "AD_STATUS_CAMPAIGN_DELETE"
    if agst == DELETE:
        return "AD_STATUS_ADGROUP_DELETE"
    if camp == DISABLE:
        return "AD_STATUS_CAMPAIGN_DISABLE"
    if agst == DISABLE:
        return "AD_STATUS_ADGROUP_DISABLE"
    if own == DISABLE:
        return "AD_STATUS_DISABLE"
    if ctx.now < ag.schedule_start:
        return "AD_STATUS_NOT_START"
    if ctx.now >= ag.schedule_end:
        return "AD_STATUS_DONE"
    return "AD_STATUS_DELIVERY_OK"


def primary_match(primary: str, secondary: str) -> bool:
    """Does an object with this secondary status pass a primary_status filter."""
    deleted = secondary.endswith("DELETE")
    if primary == "STATUS_ALL":
        return True
    if primary == "STATUS_NOT_DELETE":
        return not deleted
    if primary == "STATUS_DELETE":
        return deleted
    if deleted:
        return False
    ok = secondary in (
        "CAMPAIGN_STATUS_ENABLE",
        "ADGROUP_STATUS_DELIVERY_OK",
        "AD_STATUS_DELIVERY_OK",
    )
    if primary == "STATUS_DELIVERY_OK":
        return ok
    if primary == "STATUS_DISABLE":
        return secondary.endswith("DISABLE")
    if primary == "STATUS_NOT_DELIVERY":
        return not ok
    if primary == "STATUS_TIME_DONE":
        return secondary.endswith(("TIME_DONE", "_DONE"))
    return False


def status_filter(filt: dict[str, Any], prefix: str) -> Callable[[str], bool]:
    """A predicate over secondary_status from primary_status/secondary_status filters."""
    primary = filt.get("primary_status")
    secondary = filt.get("secondary_status")
    if primary is not None and primary not in PRIMARY:
        raise param_error(f"filtering.primary_status must be one of {PRIMARY}.")
    if secondary is not None and (
        not isinstance(secondary, str) or not secondary.startswith(prefix)
    ):
        raise param_error("filtering.secondary_status is invalid.")

    def sec_ok(status: str) -> bool:
        """Match the secondary_status filter."""
        if secondary in (f"{prefix}ALL", None):
            return True
        if secondary == f"{prefix}NOT_DELETE":
            return not status.endswith("DELETE")
        return status == secondary

    # The default STATUS_NOT_DELETE hides deleted objects (spec §4.0, §10.6) unless a
    # secondary_status filter asks for something else.
    prim = primary or ("STATUS_ALL" if secondary else "STATUS_NOT_DELETE")
    return lambda s: primary_match(prim, s) and sec_ok(s)


# ---------------------------------------------------------------- serialisation


def campaign_dict(ctx: Ctx, c: Campaign) -> dict[str, Any]:
    """A campaign object (spec §4.1)."""
    out: dict[str, Any] = {
        "advertiser_id": c.advertiser_id,
        "campaign_id": c.campaign_id,
        "campaign_name": c.name,
        "campaign_type": "REGULAR_CAMPAIGN",
        "objective": "LANDING_PAGE",
        "objective_type": c.objective_type,
        "app_promotion_type": None,
        "virtual_objective_type": None,
        "sales_destination": None,
        "budget": json_number(c.budget.current()),
        "budget_mode": c.budget_mode,
        "budget_optimize_on": False,
        "bid_type": None,
        "deep_bid_type": None,
        "roas_bid": 0,
        "optimization_goal": None,
        "operation_status": ENABLE if camp_state(c) == ENABLE else DISABLE,
        "secondary_status": camp_secondary(c),
        "is_new_structure": True,
        "is_smart_performance_campaign": False,
        "is_search_campaign": False,
        "is_advanced_dedicated_campaign": False,
        "special_industries": [],
        "rta_id": None,
        "rta_bid_enabled": False,
        "rta_product_selection_enabled": False,
        "campaign_system_origin": "TT_ADS_PLATFORM",
        "po_number": None,
        "create_time": fmt_time(c.create_time),
        "modify_time": fmt_time(c.modify_time),
    }
    out.update(c.extra)
    return out


def adgroup_dict(ctx: Ctx, ag: AdGroup) -> dict[str, Any]:
    """An ad group object (spec §4.5)."""
    camp = ctx.world.campaigns[ag.campaign_id]
    out: dict[str, Any] = {
        "advertiser_id": ag.advertiser_id,
        "campaign_id": ag.campaign_id,
        "campaign_name": camp.name,
        "adgroup_id": ag.adgroup_id,
        "adgroup_name": ag.name,
        "operation_status": ENABLE if ag.status.current() == ENABLE else DISABLE,
        "secondary_status": ag_secondary(ctx, ag),
        "create_time": fmt_time(ag.create_time),
        "modify_time": fmt_time(ag.modify_time),
        "placement_type": "PLACEMENT_TYPE_NORMAL",
        "placements": ["PLACEMENT_TIKTOK"],
        "promotion_type": "WEBSITE",
        "optimization_goal": ag.optimization_goal,
        "optimization_event": None,
        "secondary_optimization_event": None,
        "billing_event": ag.billing_event,
        "bid_type": "BID_TYPE_NO_BID",
        "bid_price": 0,
        "conversion_bid_price": 0,
        "deep_bid_type": None,
        "deep_cpa_bid": 0,
        "roas_bid": 0,
        "budget_mode": ag.budget_mode,
        "budget": json_number(ag.budget.current()),
        "scheduled_budget": 0,
        "schedule_type": ag.schedule_type,
        "schedule_start_time": fmt_time(ag.schedule_start),
        "schedule_end_time": fmt_time(ag.schedule_end),
        "dayparting": "1" * 336,
        "pacing": "PACING_MODE_SMOOTH",
        "frequency": None,
        "frequency_schedule": None,
        "location_ids": ["6252001"],
        "zipcode_ids": [],
        "languages": [],
        "gender": "GENDER_UNLIMITED",
        "age_groups": None,
        "audience_ids": [],
        "excluded_audience_ids": [],
        "interest_category_ids": [],
        "interest_keyword_ids": [],
        "actions": [],
        "operating_systems": [],
        "network_types": [],
        "device_model_ids": [],
        "device_price_ranges": [],
        "carrier_ids": [],
        "pixel_id": None,
        "app_id": None,
        "identity_id": None,
        "identity_type": None,
        "creative_material_mode": "CUSTOM",
        "comment_disabled": False,
        "video_download_disabled": False,
        "share_disabled": False,
        "brand_safety_type": "NO_BRAND_SAFETY",
        "auto_targeting_enabled": False,
        "is_hfss": False,
        "is_new_structure": True,
        "bid_display_mode": "CPMV",
        "statistic_type": None,
        "skip_learning_phase": 0,
        "ios14_quota_type": "UNOCCUPIED",
        "inventory_filter_enabled": False,
        "search_result_enabled": False,
    }
    out.update(ag.extra)
    return out


def _media_defaults(ctx: Ctx, adv_id: str) -> tuple[str | None, str | None, str | None]:
    """The account's first video, image and custom identity (for fixture ads without them)."""
    w = ctx.world
    cached = w.media_defaults
    key = adv_id
    if key not in cached:
        vid = next((v.video_id for v in w.videos.values() if v.advertiser_id == adv_id), None)
        img = next((i.image_id for i in w.images.values() if i.advertiser_id == adv_id), None)
        ident = next(
            (
                i.identity_id
                for i in w.identities.values()
                if i.advertiser_id == adv_id and i.identity_type == "CUSTOMIZED_USER"
            ),
            None,
        )
        cached[key] = (vid, img, ident)
    return cached[key]


def ad_dict(ctx: Ctx, ad: Ad) -> dict[str, Any]:
    """An ad object (spec §4.8)."""
    w = ctx.world
    ag = w.adgroups[ad.adgroup_id]
    camp = w.campaigns[ad.campaign_id]
    vid, img, ident = _media_defaults(ctx, ad.advertiser_id)
    out: dict[str, Any] = {
        "advertiser_id": ad.advertiser_id,
        "campaign_id": ad.campaign_id,
        "campaign_name": camp.name,
        "adgroup_id": ad.adgroup_id,
        "adgroup_name": ag.name,
        "ad_id": ad.ad_id,
        "ad_name": ad.name,
        "ad_text": ad.name,
        "ad_texts": None,
        "ad_format": "SINGLE_VIDEO",
        "video_id": vid,
        "image_ids": [img] if img else [],
        "music_id": None,
        "tiktok_item_id": None,
        "identity_id": ident,
        "identity_type": "CUSTOMIZED_USER",
        "identity_authorized_bc_id": None,
        "call_to_action": "LEARN_MORE",
        "call_to_action_id": None,
        "card_id": None,
        "landing_page_url": "https://shop.example.com/",
        "landing_page_urls": None,
        "display_name": w.advertisers[ad.advertiser_id].name.split()[0],
        "app_name": None,
        "avatar_icon_web_uri": None,
        "profile_image_url": None,
        "deeplink": "",
        "deeplink_type": "NORMAL",
        "fallback_type": "UNSET",
        "utm_params": None,
        "impression_tracking_url": None,
        "click_tracking_url": None,
        "video_view_tracking_url": None,
        "tracking_pixel_id": ag.extra.get("pixel_id"),
        "tracking_app_id": None,
        "tracking_offline_event_set_ids": None,
        "page_id": None,
        "playable_url": None,
        "operation_status": ENABLE if ad.status.current() == ENABLE else DISABLE,
        "secondary_status": ad_secondary(ctx, ad),
        "creative_type": None,
        "creative_authorized": False,
        "is_aco": False,
        "is_new_structure": True,
        "optimization_event": ag.extra.get("optimization_event"),
        "vast_moat_enabled": False,
        "viewability_postbid_partner": "UNSET",
        "brand_safety_postbid_partner": "UNSET",
        "dark_post_status": "ON",
        "promotional_music_disabled": True,
        "item_duet_status": "ENABLE",
        "item_stitch_status": "ENABLE",
        "create_time": fmt_time(ad.create_time),
        "modify_time": fmt_time(ad.modify_time),
    }
    out.update(ad.extra)
    return out


def _shape(ctx: Ctx, rows: list[dict[str, Any]], fields: list[str] | None) -> list[dict[str, Any]]:
    """Apply ``fields`` and ``exclude_field_types_in_response`` (spec §4.0)."""
    exclude = ctx.params.str_list("exclude_field_types_in_response", allowed=["NULL_FIELD"]) or []
    out = []
    for row in rows:
        if fields:
            row = {k: row.get(k) for k in fields}
        if "NULL_FIELD" in exclude:
            row = {k: v for k, v in row.items() if v is not None}
        out.append(row)
    return out


def _check_fields(p: Params, allowed: Iterable[str]) -> list[str] | None:
    """The ``fields`` list, each a known field (unchecked while no object exists to learn from)."""
    known = sorted(set(allowed))
    return p.str_list("fields", allowed=known or None)


def _ids(filt: dict[str, Any], name: str, ctx: Ctx) -> set[str] | None:
    """An id filter of 1–100 ids (spec §1.6)."""
    if name not in filt:
        return None
    ids = check_str_list(
        f"filtering.{name}",
        filt[name],
        True,
        100,
        1,
        too_many_code=ctx.emu.config.too_many_ids_code,
    )
    return set(ids or [])


def _creation_window(filt: dict[str, Any]) -> tuple[float, float]:
    """creation_filter_start_time / _end_time (UTC, spec §4.1)."""
    lo = (
        parse_utc("filtering.creation_filter_start_time", filt["creation_filter_start_time"])
        if filt.get("creation_filter_start_time")
        else float("-inf")
    )
    hi = (
        parse_utc("filtering.creation_filter_end_time", filt["creation_filter_end_time"])
        if filt.get("creation_filter_end_time")
        else float("inf")
    )
    return lo, hi


def _objective_ok(filt: dict[str, Any], objective: str) -> bool:
    """objective_type filter; WEB_CONVERSIONS and CONVERSIONS match each other (spec §4.0)."""
    want = filt.get("objective_type")
    if want is None:
        return True
    if want not in OBJECTIVES:
        raise param_error("filtering.objective_type is invalid.")
    same = {"WEB_CONVERSIONS", "CONVERSIONS"}
    return want == objective or (want in same and objective in same)


def _list_response(
    ctx: Ctx, rows: list[dict[str, Any]], fields: list[str] | None, max_size: int = 1000
) -> dict[str, Any]:
    """Paginate and shape."""
    page, size = page_args(ctx.params, max_size, 10)
    part, info = paginate(rows, page, size)
    return {"list": _shape(ctx, part, fields), "page_info": info}


def _sorted(objs: list[Any]) -> list[Any]:
    """Newest first."""
    return sorted(objs, key=lambda o: (-o.create_time, o.__getattribute__(_id_attr(o))))


def _id_attr(o: Any) -> str:
    """The id attribute of an object."""
    return {"Campaign": "campaign_id", "AdGroup": "adgroup_id", "Ad": "ad_id"}[type(o).__name__]


# ---------------------------------------------------------------- get


@route("campaign/get/")
def campaign_get(ctx: Ctx) -> Any:
    """List campaigns (spec §4.1)."""
    p = ctx.params
    adv = ctx.advertiser()
    fields = _check_fields(p, campaign_dict(ctx, _probe_campaign(adv)).keys())
    filt = p.obj("filtering")
    ids = _ids(filt, "campaign_ids", ctx)
    ok = status_filter(filt, "CAMPAIGN_STATUS_")
    lo, hi = _creation_window(filt)
    name = str(filt.get("campaign_name", "")).lower()
    w = ctx.world
    wanted = campaign_filter(filt, w)  # the other filtering fields (entity_filters.py)
    out = []
    for cid in ids if ids is not None else w.campaigns_by_adv.get(adv.advertiser_id, []):
        c = w.campaigns.get(cid)
        if c is None or c.advertiser_id != adv.advertiser_id:
            continue
        if name and name not in c.name.lower():
            continue
        if not (lo <= c.create_time <= hi) or not _objective_ok(filt, c.objective_type):
            continue
        if wanted(c) and ok(camp_secondary(c)):
            out.append(c)
    rows = [campaign_dict(ctx, c) for c in _sorted(out)]
    return _list_response(ctx, rows, fields)


def _probe_campaign(adv: Advertiser) -> Campaign:
    """A throwaway campaign used to learn the field names."""
    return Campaign(
        "0",
        adv.advertiser_id,
        "",
        "TRAFFIC",
        "BUDGET_MODE_INFINITE",
        History(0, Decimal(0)),
        History(0, ENABLE),
        0,
        0,
    )


def _adgroups_of(ctx: Ctx, adv: Advertiser, camp_ids: set[str] | None) -> Iterable[AdGroup]:
    """Ad groups of an account, optionally of some campaigns."""
    w = ctx.world
    for cid in camp_ids if camp_ids is not None else w.campaigns_by_adv.get(adv.advertiser_id, []):
        c = w.campaigns.get(cid)
        if c is None or c.advertiser_id != adv.advertiser_id:
            continue
        for ag_id in c.adgroup_ids:
            yield w.adgroups[ag_id]


@route("adgroup/get/")
def adgroup_get(ctx: Ctx) -> Any:
    """List ad groups (spec §4.5)."""
    p = ctx.params
    adv = ctx.advertiser()
    filt = p.obj("filtering")
    camp_ids = _ids(filt, "campaign_ids", ctx)
    ag_ids = _ids(filt, "adgroup_ids", ctx)
    ok = status_filter(filt, "ADGROUP_STATUS_")
    lo, hi = _creation_window(filt)
    name = str(filt.get("adgroup_name", "")).lower()
    w = ctx.world
    wanted = adgroup_filter(filt, w)  # the other filtering fields (entity_filters.py)
    out = []
    for ag in _adgroups_of(ctx, adv, camp_ids):
        if ag_ids is not None and ag.adgroup_id not in ag_ids:
            continue
        if name and name not in ag.name.lower():
            continue
        if not wanted(ag) or not (lo <= ag.create_time <= hi):
            continue
        if not _objective_ok(filt, w.campaigns[ag.campaign_id].objective_type):
            continue
        if ok(ag_secondary(ctx, ag)):
            out.append(ag)
    rows = [adgroup_dict(ctx, ag) for ag in _sorted(out)]
    fields = _check_fields(p, _known_fields(ctx, "adgroup"))
    return _list_response(ctx, rows, fields)


def _known_fields(ctx: Ctx, kind: str) -> list[str]:
    """Field names of an object kind, learnt from any object of the world, plus extras."""
    w = ctx.world
    if kind == "adgroup":
        ag = next(iter(w.adgroups.values()), None)
        keys = list(adgroup_dict(ctx, ag).keys()) if ag else []
    else:
        ad = next(iter(w.ads.values()), None)
        keys = list(ad_dict(ctx, ad).keys()) if ad else []
    return keys + list(EXTRA_FIELDS) if keys else []


@route("ad/get/")
def ad_get(ctx: Ctx) -> Any:
    """List ads (spec §4.8)."""
    p = ctx.params
    adv = ctx.advertiser()
    filt = p.obj("filtering")
    camp_ids = _ids(filt, "campaign_ids", ctx)
    ag_ids = _ids(filt, "adgroup_ids", ctx)
    ad_ids = _ids(filt, "ad_ids", ctx)
    ok = status_filter(filt, "AD_STATUS_")
    lo, hi = _creation_window(filt)
    modified_after = (
        parse_utc("filtering.modified_after", filt["modified_after"])
        if filt.get("modified_after")
        else float("-inf")
    )
    w = ctx.world
    wanted = ad_filter(filt, w)  # the other filtering fields (entity_filters.py)
    out = []
    if ad_ids is not None:
        candidates: Iterable[Ad] = (w.ads[a] for a in ad_ids if a in w.ads)
    else:
        candidates = (w.ads[a] for ag in _adgroups_of(ctx, adv, camp_ids) for a in ag.ad_ids)
    for ad in candidates:
        if ad.advertiser_id != adv.advertiser_id:
            continue
        if camp_ids is not None and ad.campaign_id not in camp_ids:
            continue
        if ag_ids is not None and ad.adgroup_id not in ag_ids:
            continue
        if not (lo <= ad.create_time <= hi) or ad.modify_time < modified_after:
            continue
        if not _objective_ok(filt, w.campaigns[ad.campaign_id].objective_type):
            continue
        if wanted(ad) and ok(ad_secondary(ctx, ad)):
            out.append(ad)
    out = _sorted(out)
    page, size = page_args(p, 1000, 10)
    part, info = paginate(out, page, size)
    rows = [ad_dict(ctx, ad) for ad in part]
    fields = _check_fields(p, _known_fields(ctx, "ad"))
    return {"list": _shape(ctx, rows, fields), "page_info": info}
