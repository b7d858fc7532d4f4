"""Campaigns, ad groups and ads: get / create / update / status update (spec §4)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from sandbox.tiktok import catalogs
from sandbox.tiktok.api_account import page_args, paginate
from sandbox.tiktok.audiences import existing_ids
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import (
    AD_NUMBER_LIMIT,
    NOT_EXIST,
    NOTHING_TO_UPDATE,
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
    Campaign,
    History,
    fmt_time,
    json_number,
)
from sandbox.tiktok.params import EMOJI, Params, check_str_list, parse_utc

OBJECTIVES = [
    "APP_PROMOTION",
    "WEB_CONVERSIONS",
    "REACH",
    "TRAFFIC",
    "VIDEO_VIEWS",
    "ENGAGEMENT",
    "LEAD_GENERATION",
    "PRODUCT_SALES",
    "RF_REACH",
    "CONVERSIONS",
    "APP_INSTALL",
    "CATALOG_SALES",
    "SHOP_PURCHASES",
]
BUDGET_MODES = [
    "BUDGET_MODE_INFINITE",
    "BUDGET_MODE_DAY",
    "BUDGET_MODE_TOTAL",
    "BUDGET_MODE_DYNAMIC_DAILY_BUDGET",
]
PRIMARY = [
    "STATUS_NOT_DELETE",
    "STATUS_ALL",
    "STATUS_DELETE",
    "STATUS_DELIVERY_OK",
    "STATUS_DISABLE",
    "STATUS_NOT_DELIVERY",
    "STATUS_TIME_DONE",
    "STATUS_RF_CLOSED",
    "STATUS_FROZEN",
]
BUYING_TYPES = ["AUCTION", "RESERVATION_RF", "RESERVATION_TOP_VIEW"]
GOALS = [
    "CLICK",
    "CONVERT",
    "INSTALL",
    "IN_APP_EVENT",
    "SHOW",
    "VIDEO_VIEW",
    "REACH",
    "LEAD_GENERATION",
    "VALUE",
    "FOLLOWERS",
    "PROFILE_VIEWS",
    "PAGE_VISIT",
    "PAGE_VISITS",
    "ENGAGED_VIEW",
    "TRAFFIC_LANDING_PAGE_VIEW",
    "CONVERSATION",
]
BILLING = ["CPC", "CPM", "CPV", "OCPM", "OCPC", "GD"]
PACING = ["PACING_MODE_SMOOTH", "PACING_MODE_FAST"]
SCHEDULE = ["SCHEDULE_FROM_NOW", "SCHEDULE_START_END"]
PLACEMENT_TYPES = ["PLACEMENT_TYPE_AUTOMATIC", "PLACEMENT_TYPE_NORMAL"]
PLACEMENTS = [
    "PLACEMENT_TIKTOK",
    "PLACEMENT_PANGLE",
    "PLACEMENT_GLOBAL_APP_BUNDLE",
    "PLACEMENT_TOPBUZZ",
    "PLACEMENT_HELO",
]
PROMOTION = [
    "WEBSITE",
    "APP_ANDROID",
    "APP_IOS",
    "LEAD_GENERATION",
    "LEAD_GEN_CLICK_TO_TT_DIRECT_MESSAGE",
    "LEAD_GEN_CLICK_TO_SOCIAL_MEDIA_APP_MESSAGE",
    "LEAD_GEN_CLICK_TO_CALL",
    "WEBSITE_OR_DISPLAY",
    "EXTERNAL_OR_DISPLAY",
    "TIKTOK_SHOP",
    "VIDEO_SHOPPING",
    "LIVE_SHOPPING",
    "GAME",
]
BID_TYPES = ["BID_TYPE_NO_BID", "BID_TYPE_CUSTOM"]
GENDERS = ["GENDER_UNLIMITED", "GENDER_MALE", "GENDER_FEMALE"]
AGES = ["AGE_13_17", "AGE_18_24", "AGE_25_34", "AGE_35_44", "AGE_45_54", "AGE_55_100"]
AD_FORMATS = ["SINGLE_VIDEO", "SINGLE_IMAGE", "CAROUSEL_ADS", "CATALOG_CAROUSEL", "LIVE_CONTENT"]
CTAS = [
    "LEARN_MORE",
    "SHOP_NOW",
    "SIGN_UP",
    "DOWNLOAD_NOW",
    "CONTACT_US",
    "APPLY_NOW",
    "BOOK_NOW",
    "ORDER_NOW",
    "PLAY_GAME",
    "WATCH_NOW",
    "READ_MORE",
    "VIEW_NOW",
    "GET_QUOTE",
    "SUBSCRIBE",
    "INSTALL_NOW",
    "CALL_NOW",
    "LISTEN_NOW",
    "INTERESTED",
    "GET_TICKETS_NOW",
    "GET_SHOWTIMES",
    "PREORDER_NOW",
    "VISIT_STORE",
    "EXPERIENCE_NOW",
    "SEND_MESSAGE",
    "VIEW_PROFILE",
    "WATCH_LIVE",
]
IDENTITY_TYPES = ["CUSTOMIZED_USER", "AUTH_CODE", "TT_USER", "BC_AUTH_TT"]
# Optional campaign enums (spec §4.2).
SALES_DESTINATIONS = ["TIKTOK_SHOP", "WEBSITE", "APP", "WEB_AND_APP"]
VIRTUAL_OBJECTIVES = ["SALES"]
APP_PROMOTION_TYPES = ["APP_INSTALL", "APP_RETARGETING", "APP_PREREGISTRATION"]
PRODUCT_SOURCES = ["CATALOG", "STORE"]
ACTIONS = [ENABLE, DISABLE, DELETE]
TEN_YEARS = 3650 * 86400
# Fields a create may add to an object beyond the usual ones.
EXTRA_FIELDS = (
    "aigc_disclosure_type",
    "click_attribution_window",
    "view_attribution_window",
    "included_custom_actions",
    "excluded_custom_actions",
    "deep_cpa_bid",
)


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


def _buying_types(filt: dict[str, Any]) -> None:
    """Validate buying_types (spec §4.1: RESERVATION_TOP_VIEW must be alone)."""
    if "buying_types" in filt:
        bt = check_str_list("filtering.buying_types", filt["buying_types"], allowed=BUYING_TYPES)
        if bt and "RESERVATION_TOP_VIEW" in bt and len(bt) > 1:
            raise param_error("filtering.buying_types: RESERVATION_TOP_VIEW must be used alone.")


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
    _buying_types(filt)
    lo, hi = _creation_window(filt)
    name = str(filt.get("campaign_name", "")).lower()
    w = ctx.world
    out = []
    for cid in ids if ids is not None else w.campaigns_by_adv.get(adv.advertiser_id, []):
        c = w.campaigns.get(cid)
        if c is None or c.advertiser_id != adv.advertiser_id:
            continue
        if name and name not in c.name.lower():
            continue
        if not (lo <= c.create_time <= hi) or not _objective_ok(filt, c.objective_type):
            continue
        if ok(camp_secondary(c)):
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
    _buying_types(filt)
    lo, hi = _creation_window(filt)
    name = str(filt.get("adgroup_name", "")).lower()
    goal = filt.get("optimization_goal")
    billing = check_str_list(
        "filtering.billing_events", filt.get("billing_events"), allowed=BILLING
    )
    w = ctx.world
    out = []
    for ag in _adgroups_of(ctx, adv, camp_ids):
        if ag_ids is not None and ag.adgroup_id not in ag_ids:
            continue
        if name and name not in ag.name.lower():
            continue
        if (goal and ag.optimization_goal != goal) or (billing and ag.billing_event not in billing):
            continue
        if not (lo <= ag.create_time <= hi):
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
    _buying_types(filt)
    lo, hi = _creation_window(filt)
    modified_after = (
        parse_utc("filtering.modified_after", filt["modified_after"])
        if filt.get("modified_after")
        else float("-inf")
    )
    w = ctx.world
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
        if ok(ad_secondary(ctx, ad)):
            out.append(ad)
    out = _sorted(out)
    page, size = page_args(p, 1000, 10)
    part, info = paginate(out, page, size)
    rows = [ad_dict(ctx, ad) for ad in part]
    fields = _check_fields(p, _known_fields(ctx, "ad"))
    return {"list": _shape(ctx, rows, fields), "page_info": info}


# ---------------------------------------------------------------- helpers for writes


def _idempotent(ctx: Ctx, kind: str) -> tuple[tuple[str, str, str] | None, Any]:
    """Body request_id: a retry with the same id returns the first result (spec §4.2, §4.6),
    for the creates the ``idempotent_creates`` knob names; elsewhere it is ignored."""
    if kind not in ctx.emu.config.idempotent_creates:
        return None, None
    rid = ctx.params.str("request_id")
    if not rid:
        return None, None
    if not rid.isdigit():
        raise param_error("request_id should be a stringified 64-bit integer.")
    key = (ctx.params.req("advertiser_id"), kind, rid)
    return key, ctx.world.idempotency.get(key)


def _min_budget(ctx: Ctx, adv: Advertiser, level: str, mode: str, budget: Decimal) -> None:
    """Budget minimums per currency (spec §4.2 [U]: configurable)."""
    cfg = ctx.emu.config
    usd = (
        cfg.min_campaign_daily_budget_usd
        if level == "campaign"
        else cfg.min_adgroup_daily_budget_usd
    )
    minimum = (Decimal(usd) * adv.rate).quantize(Decimal("0.01"))
    if (
        mode in ("BUDGET_MODE_DAY", "BUDGET_MODE_DYNAMIC_DAILY_BUDGET", "BUDGET_MODE_TOTAL")
        and budget < minimum
    ):
        raise param_error(f"budget should be at least {minimum} {adv.currency}.")


def _campaign_of(ctx: Ctx, adv: Advertiser, campaign_id: str, writable: bool = True) -> Campaign:
    """A campaign of this account; deleted ones cannot be changed (spec §4.0)."""
    c = ctx.world.campaigns.get(campaign_id)
    if c is None or c.advertiser_id != adv.advertiser_id:
        raise param_error(f"campaign_id {campaign_id} does not exist.")
    if writable and camp_state(c) == DELETE:
        raise param_error(f"campaign {campaign_id} has been deleted and cannot be modified.")
    return c


def _adgroup_of(ctx: Ctx, adv: Advertiser, adgroup_id: str, writable: bool = True) -> AdGroup:
    """An ad group of this account; deleted (or under a deleted campaign) cannot be changed."""
    ag = ctx.world.adgroups.get(adgroup_id)
    if ag is None or ag.advertiser_id != adv.advertiser_id:
        raise param_error(f"adgroup_id {adgroup_id} does not exist.")
    if writable and DELETE in ag_state(ctx, ag):
        raise param_error(f"adgroup {adgroup_id} has been deleted and cannot be modified.")
    return ag


# ---------------------------------------------------------------- campaigns


@route("campaign/create/", "POST")
def campaign_create(ctx: Ctx) -> Any:
    """Create a campaign (spec §4.2)."""
    p = ctx.params
    adv = ctx.advertiser()
    key, prior = _idempotent(ctx, "campaign")
    if prior is not None:
        return campaign_dict(ctx, ctx.world.campaigns[prior])
    name = p.name("campaign_name", required=True)
    objective = p.enum("objective_type", OBJECTIVES, required=True)
    mode = p.enum(
        "budget_mode",
        BUDGET_MODES,
        required=objective != "RF_REACH",
        default="BUDGET_MODE_INFINITE",
    )
    if objective == "RF_REACH" and mode != "BUDGET_MODE_INFINITE":
        raise param_error("budget_mode must be BUDGET_MODE_INFINITE for RF_REACH.")
    budget = p.decimal("budget", required=mode != "BUDGET_MODE_INFINITE") or Decimal(0)
    assert mode is not None and objective is not None and name is not None
    _min_budget(ctx, adv, "campaign", mode, budget)
    status = p.enum("operation_status", [ENABLE, DISABLE], default=ENABLE)
    cbo = p.bool("budget_optimize_on", False)
    p.enum("app_promotion_type", APP_PROMOTION_TYPES, required=objective == "APP_PROMOTION")
    p.enum("campaign_type", ["REGULAR_CAMPAIGN", "IOS14_CAMPAIGN"])
    # The optional enums of spec §4.2 / §4.0 are checked like the required ones.
    p.enum("bid_type", BID_TYPES)
    p.enum("optimization_goal", GOALS)
    p.enum("sales_destination", SALES_DESTINATIONS)
    p.enum("virtual_objective_type", VIRTUAL_OBJECTIVES)
    p.enum("campaign_product_source", PRODUCT_SOURCES)
    if p.has("special_industries"):
        check_str_list(
            "special_industries",
            p.json("special_industries"),
            allowed=["HOUSING", "EMPLOYMENT", "CREDIT"],
        )
    now = ctx.now
    extra: dict[str, Any] = {"budget_optimize_on": cbo}
    for f in (
        "campaign_type",
        "app_promotion_type",
        "bid_type",
        "optimization_goal",
        "deep_bid_type",
        "roas_bid",
        "special_industries",
        "po_number",
        "sales_destination",
        "virtual_objective_type",
        "is_search_campaign",
    ):
        if p.has(f):
            extra[f] = p.json(f) if f == "special_industries" else p.raw(f)
    c = Campaign(
        campaign_id=ctx.world.next_id("campaign", 1_790_000_000_000_000),
        advertiser_id=adv.advertiser_id,
        name=name,
        objective_type=objective,
        budget_mode=mode,
        budget=History(now, budget),
        status=History(now, status),
        create_time=now,
        modify_time=now,
        extra=extra,
    )
    ctx.world.add_campaign(c)
    if key:
        ctx.world.idempotency[key] = c.campaign_id
    return campaign_dict(ctx, c)


@route("campaign/update/", "POST")
def campaign_update(ctx: Ctx) -> Any:
    """Update name / budget (spec §4.3)."""
    p = ctx.params
    adv = ctx.advertiser()
    c = _campaign_of(ctx, adv, p.req("campaign_id"))
    if p.has("objective_type") and p.raw("objective_type") != c.objective_type:
        raise param_error("objective_type cannot be updated.")
    if p.has("budget_mode") and p.raw("budget_mode") != c.budget_mode:
        raise param_error("budget_mode cannot be updated.")
    changed = False
    name = p.name("campaign_name", required=False)
    if name is not None:
        c.name = name
        changed = True
    budget = p.decimal("budget")
    if budget is not None:
        if c.budget_mode == "BUDGET_MODE_INFINITE":
            raise param_error("budget cannot be set when budget_mode is BUDGET_MODE_INFINITE.")
        _min_budget(ctx, adv, "campaign", c.budget_mode, budget)
        c.budget.set(ctx.now, budget)
        changed = True
    for f in ("po_number", "roas_bid", "special_industries"):
        if p.has(f):
            c.extra[f] = p.json(f) if f == "special_industries" else p.raw(f)
            changed = True
    if not changed:
        raise ApiError(NOTHING_TO_UPDATE, "Nothing to update.")
    c.modify_time = ctx.now
    ctx.world.touch(c.campaign_id)
    return campaign_dict(ctx, c)


def _status_ids(ctx: Ctx, name: str) -> tuple[list[str], str]:
    """ids (1–20) and the action of a status update (spec §4.4)."""
    p = ctx.params
    ids = p.str_list(name, required=True, max_items=20, min_items=1) or []
    action = p.enum("operation_status", ACTIONS, required=True)
    assert action is not None
    return ids, action


@route("campaign/status/update/", "POST")
def campaign_status(ctx: Ctx) -> Any:
    """Enable / pause / delete campaigns; children follow by cascade (spec §4.4)."""
    adv = ctx.advertiser()
    ids, action = _status_ids(ctx, "campaign_ids")
    camps = [_campaign_of(ctx, adv, i) for i in ids]
    for c in camps:
        c.status.set(ctx.now, action)
        c.modify_time = ctx.now
        ctx.world.touch(c.campaign_id)
    return {
        "campaign_ids": ids,
        "status": action,
        "campaign_list": [
            {"campaign_id": i, "status": action, "postback_window_mode": None} for i in ids
        ],
    }


# ---------------------------------------------------------------- ad groups


def _schedule(ctx: Ctx, p: Params, mode: str, stype: str) -> tuple[float, float]:
    """Schedule start/end (spec §4.6)."""
    now = ctx.now
    start = p.time("schedule_start_time", required=True)
    assert start is not None
    if start < now - 12 * 3600:
        raise param_error("schedule_start_time cannot be more than 12 hours in the past.")
    if mode == "BUDGET_MODE_TOTAL" and stype != "SCHEDULE_START_END":
        raise param_error("BUDGET_MODE_TOTAL requires schedule_type SCHEDULE_START_END.")
    if stype == "SCHEDULE_START_END":
        end = p.time("schedule_end_time", required=True)
        assert end is not None
        if end <= start:
            raise param_error("schedule_end_time must be later than schedule_start_time.")
    else:
        end = start + TEN_YEARS
    return start, end


@route("adgroup/create/", "POST")
def adgroup_create(ctx: Ctx) -> Any:
    """Create an ad group (spec §4.6)."""
    p = ctx.params
    adv = ctx.advertiser()
    key, prior = _idempotent(ctx, "adgroup")
    if prior is not None:
        return adgroup_dict(ctx, ctx.world.adgroups[prior])
    camp = _campaign_of(ctx, adv, p.req("campaign_id"))
    name = p.name("adgroup_name", required=True)
    cbo = bool(camp.extra.get("budget_optimize_on"))
    mode = p.enum("budget_mode", BUDGET_MODES, required=not cbo, default="BUDGET_MODE_INFINITE")
    budget = p.decimal("budget", required=not cbo and mode != "BUDGET_MODE_INFINITE") or Decimal(0)
    assert mode is not None and name is not None
    if cbo:
        # Under CBO the ad-group budget fields are ignored (spec §4.6).
        mode, budget = "BUDGET_MODE_INFINITE", Decimal(0)
    else:
        _min_budget(ctx, adv, "adgroup", mode, budget)
    stype = p.enum("schedule_type", SCHEDULE, required=True)
    assert stype is not None
    start, end = _schedule(ctx, p, mode, stype)
    goal = p.enum("optimization_goal", GOALS, required=True)
    billing = p.enum("billing_event", BILLING, required=True)
    p.enum("pacing", PACING, required=True)
    ptype = p.enum("placement_type", PLACEMENT_TYPES, default="PLACEMENT_TYPE_NORMAL")
    placements = p.str_list("placements", allowed=PLACEMENTS)
    if ptype == "PLACEMENT_TYPE_NORMAL" and not placements:
        raise param_error("placements is required when placement_type is PLACEMENT_TYPE_NORMAL.")
    locations = p.str_list("location_ids", max_items=3000) or []
    zipcodes = p.str_list("zipcode_ids", max_items=3000) or []
    if not locations and not zipcodes:
        raise param_error("location_ids is required.")
    if len(locations) + len(zipcodes) > 3000:
        raise param_error("location_ids and zipcode_ids can contain at most 3000 items in total.")
    promo = p.enum(
        "promotion_type",
        PROMOTION,
        required=camp.objective_type not in ("REACH", "VIDEO_VIEWS", "ENGAGEMENT"),
    )
    shopping = _shopping(ctx, adv, camp, p)
    bid_type = p.enum("bid_type", BID_TYPES, default="BID_TYPE_NO_BID")
    if bid_type == "BID_TYPE_CUSTOM":
        field_name = "conversion_bid_price" if billing == "OCPM" else "bid_price"
        bid = p.decimal(field_name, required=True)
        assert bid is not None
        if bid <= 0:
            raise param_error(f"{field_name} should be greater than 0.")
        cap = budget if budget else camp.budget.current()
        if cap and bid >= cap:
            raise param_error(f"{field_name} must be lower than the budget.")
    if (
        goal in ("CONVERT", "VALUE")
        and camp.objective_type in ("WEB_CONVERSIONS", "CONVERSIONS")
        and promo == "WEBSITE"
    ):
        p.req("pixel_id")
        p.req("optimization_event")
    p.enum("gender", GENDERS)
    p.str_list("age_groups", allowed=AGES)
    p.str_list("languages")
    p.enum("identity_type", IDENTITY_TYPES)
    for flag in ("comment_disabled", "video_download_disabled", "share_disabled"):
        p.bool(flag)
    if p.has("dayparting"):
        dp = p.req("dayparting")
        if len(dp) != 336 or set(dp) - {"0", "1"}:
            raise param_error("dayparting should be 336 characters of 0 and 1.")
    _check_audiences(ctx, adv.advertiser_id)
    now = ctx.now
    extra: dict[str, Any] = {
        "promotion_type": promo,
        "placement_type": ptype,
        "placements": placements or [],
        "location_ids": locations,
        "zipcode_ids": zipcodes,
        "bid_type": bid_type,
        "pacing": p.raw("pacing"),
        **shopping,
    }
    for f in (
        "bid_price",
        "conversion_bid_price",
        "pixel_id",
        "optimization_event",
        "gender",
        "age_groups",
        "languages",
        "dayparting",
        "identity_id",
        "identity_type",
        "audience_ids",
        "excluded_audience_ids",
        "interest_category_ids",
        "operating_systems",
        "app_id",
        "comment_disabled",
        "video_download_disabled",
        "share_disabled",
        "frequency",
        "frequency_schedule",
        "creative_material_mode",
        "brand_safety_type",
        "bid_display_mode",
        "deep_bid_type",
        "roas_bid",
        "secondary_optimization_event",
        "click_attribution_window",
        "view_attribution_window",
        "search_result_enabled",
    ):
        if p.has(f):
            extra[f] = p.json(f) if isinstance(p.raw(f), str) and p.raw(f)[:1] in "[{" else p.raw(f)
    ag = AdGroup(
        adgroup_id=ctx.world.next_id("adgroup", 1_791_000_000_000_000),
        campaign_id=camp.campaign_id,
        advertiser_id=adv.advertiser_id,
        name=name,
        budget_mode=mode,
        budget=History(now, budget),
        status=History(now, p.enum("operation_status", [ENABLE, DISABLE], default=ENABLE)),
        schedule_type=stype,
        schedule_start=start,
        schedule_end=end,
        optimization_goal=goal or "CLICK",
        billing_event=billing or "CPC",
        create_time=now,
        modify_time=now,
        extra=extra,
    )
    ctx.world.add_adgroup(ag)
    if key:
        ctx.world.idempotency[key] = ag.adgroup_id
    return adgroup_dict(ctx, ag)


SHOPPING_OBJECTIVES = ("PRODUCT_SALES", "CATALOG_SALES")


def _shopping(ctx: Ctx, adv: Advertiser, camp: Campaign, p: Params) -> dict[str, Any]:
    """The catalog fields of a shopping-ads ad group (sandbox/tiktok/catalogs.py says what is
    uncertain): product_source CATALOG needs a catalog the account may use."""
    source = p.enum("product_source", ["CATALOG", "STORE", "SHOWCASE"])
    kind = p.enum("shopping_ads_type", ["VIDEO", "LIVE", "PRODUCT_SHOPPING_ADS"])
    if source != "CATALOG":
        return {k: v for k, v in (("product_source", source), ("shopping_ads_type", kind)) if v}
    if camp.objective_type not in SHOPPING_OBJECTIVES:
        raise param_error("product_source CATALOG needs a PRODUCT_SALES campaign.")
    catalog_id = p.req("catalog_id")
    bc_id = p.str("catalog_authorized_bc_id")
    if catalogs.catalog_for(ctx, adv, bc_id, catalog_id) is None:
        raise ApiError(NOT_EXIST, f"Catalog {catalog_id} does not exist.")
    out = {"product_source": source, "shopping_ads_type": kind or "VIDEO",
           "catalog_id": catalog_id}
    if bc_id:
        out["catalog_authorized_bc_id"] = bc_id
    return out


IMMUTABLE_AG = (
    "placement_type",
    "placements",
    "bid_display_mode",
    "brand_safety_partner",
    "campaign_id",
    "budget_mode",
    "optimization_goal",
    "billing_event",
)


@route("adgroup/update/", "POST")
def adgroup_update(ctx: Ctx) -> Any:
    """Update an ad group's mutable fields (spec §4.7)."""
    p = ctx.params
    adv = ctx.advertiser()
    ag = _adgroup_of(ctx, adv, p.req("adgroup_id"))
    _check_audiences(ctx, adv.advertiser_id)
    full = adgroup_dict(ctx, ag)
    for f in IMMUTABLE_AG:
        if not p.has(f):
            continue
        sent = p.json(f) if f == "placements" else p.raw(f)
        if sent != full.get(f):
            raise param_error(f"{f} cannot be updated.")
    _check_bid_field(ag, p)
    _check_bid_below_budget(ctx, ag, p)
    changed = False
    name = p.name("adgroup_name", required=False)
    if name is not None:
        ag.name = name
        changed = True
    budget = p.decimal("budget")
    if budget is not None:
        if ctx.world.campaigns[ag.campaign_id].extra.get("budget_optimize_on"):
            # Spec §4.6: under CBO the budget is the campaign's; the ad group has none.
            raise param_error(
                "budget cannot be set on an ad group whose campaign has budget optimization on."
            )
        if ag.budget_mode == "BUDGET_MODE_INFINITE":
            raise param_error("budget cannot be set when budget_mode is BUDGET_MODE_INFINITE.")
        _min_budget(ctx, adv, "adgroup", ag.budget_mode, budget)
        ag.budget.set(ctx.now, budget)
        changed = True
    if p.has("schedule_end_time"):
        end = p.time("schedule_end_time")
        assert end is not None
        if end <= ag.schedule_start:
            raise param_error("schedule_end_time must be later than schedule_start_time.")
        ag.schedule_end = end
        changed = True
    if p.has("schedule_start_time"):
        start = p.time("schedule_start_time")
        assert start is not None
        if ctx.now >= ag.schedule_start and start != ag.schedule_start:
            raise param_error("schedule_start_time cannot be changed after delivery started.")
        ag.schedule_start = start
        changed = True
    for f in (
        "bid_price",
        "conversion_bid_price",
        "location_ids",
        "age_groups",
        "gender",
        "languages",
        "dayparting",
        "audience_ids",
        "excluded_audience_ids",
        "interest_category_ids",
        "pacing",
        "frequency",
        "frequency_schedule",
        "comment_disabled",
        "deep_cpa_bid",
        "roas_bid",
        "operating_systems",
    ):
        if p.has(f):
            raw = p.raw(f)
            ag.extra[f] = p.json(f) if isinstance(raw, str) and raw[:1] in "[{" else raw
            changed = True
    if not changed:
        raise ApiError(NOTHING_TO_UPDATE, "Nothing to update.")
    ag.modify_time = ctx.now
    ctx.world.touch(ag.campaign_id)
    return adgroup_dict(ctx, ag)


def _check_bid_field(ag: AdGroup, p: Params) -> None:
    """Only the bid the ad group's strategy uses can be sent (spec §4.6: bid_price with
    BID_TYPE_CUSTOM billed CPC/CPM/CPV, conversion_bid_price with BID_TYPE_CUSTOM billed OCPM;
    BID_TYPE_NO_BID — lowest cost — has no bid). A bid the strategy would ignore is refused
    rather than stored unseen, so a client never takes it for a change that happened."""
    custom = ag.extra.get("bid_type") == "BID_TYPE_CUSTOM"
    used = "conversion_bid_price" if ag.billing_event == "OCPM" else "bid_price"
    for field_name in ("bid_price", "conversion_bid_price"):
        if not p.has(field_name):
            continue
        if not custom:
            raise param_error(f"{field_name} can only be set when bid_type is BID_TYPE_CUSTOM.")
        if field_name != used:
            raise param_error(
                f"{field_name} cannot be set when billing_event is {ag.billing_event}; use {used}."
            )


def _check_bid_below_budget(ctx: Ctx, ag: AdGroup, p: Params) -> None:
    """A custom bid stays below the ad group's (or campaign's) budget after this update.

    Spec §4.6 ("bids must be below campaign/ad-group budget") and §4.11 ("bid ≥ budget" is a
    40002): checked on update as on create, whichever of the two the update changes, before
    anything is changed (an update is all or nothing).
    """
    if ag.extra.get("bid_type") != "BID_TYPE_CUSTOM":
        return
    field_name = "conversion_bid_price" if ag.billing_event == "OCPM" else "bid_price"
    bid = p.decimal(field_name)
    if bid is None:
        raw = ag.extra.get(field_name)
        bid = Decimal(str(raw)) if raw is not None else None
    elif bid <= 0:
        raise param_error(f"{field_name} should be greater than 0.")
    budget = p.decimal("budget")
    cap = budget if budget is not None else ag.budget.current()
    cap = cap or ctx.world.campaigns[ag.campaign_id].budget.current()
    if bid is not None and cap and bid >= cap:
        raise param_error(f"{field_name} must be lower than the budget.")


@route("adgroup/status/update/", "POST")
def adgroup_status(ctx: Ctx) -> Any:
    """Enable / pause / delete ad groups (spec §4.7)."""
    adv = ctx.advertiser()
    ids, action = _status_ids(ctx, "adgroup_ids")
    partial = ctx.params.bool("allow_partial_success", False)
    done, errors = [], []
    for i in ids:
        try:
            ag = _adgroup_of(ctx, adv, i)
        except ApiError as exc:
            if not partial:
                raise
            errors.append({"adgroup_id": i, "error_message": exc.message})
            continue
        done.append(ag)
    for ag in done:
        ag.status.set(ctx.now, action)
        ag.modify_time = ctx.now
        ctx.world.touch(ag.campaign_id)
    out: dict[str, Any] = {"adgroup_ids": [ag.adgroup_id for ag in done], "status": action}
    if partial:
        out["error_list"] = errors
    return out


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


@route("ad/create/", "POST")
def ad_create(ctx: Ctx) -> Any:
    """Create up to 20 ads in an ad group (spec §4.9)."""
    p = ctx.params
    adv = ctx.advertiser()
    key, prior = _idempotent(ctx, "ad")
    if prior is not None:
        return {"ad_ids": prior, "creatives": [ad_dict(ctx, ctx.world.ads[a]) for a in prior]}
    ag = _adgroup_of(ctx, adv, p.req("adgroup_id"))
    creatives = p.json("creatives")
    if not isinstance(creatives, list) or not creatives:
        raise param_error("creatives is required.")
    if len(creatives) > 20:
        raise ApiError(
            ctx.emu.config.too_many_ids_code,
            "Invalid param: creatives can contain at most 20 items.",
        )
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
    ag = _adgroup_of(ctx, adv, p.req("adgroup_id"))
    creatives = p.json("creatives")
    if not isinstance(creatives, list) or not creatives:
        raise param_error("creatives is required.")
    if len(creatives) > 20:
        raise ApiError(
            ctx.emu.config.too_many_ids_code,
            "Invalid param: creatives can contain at most 20 items.",
        )
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
    """Enable / pause / delete ads; a pause stops spend at this second (spec §4.10)."""
    adv = ctx.advertiser()
    ids, action = _status_ids(ctx, "ad_ids")
    w = ctx.world
    ads = []
    for i in ids:
        ad = w.ads.get(i)
        if ad is None or ad.advertiser_id != adv.advertiser_id:
            raise param_error(f"ad_id {i} does not exist.")
        if ad.status.current() == DELETE or DELETE in ag_state(ctx, w.adgroups[ad.adgroup_id]):
            raise param_error(f"ad {i} has been deleted and cannot be modified.")
        ads.append(ad)
    for ad in ads:
        ad.status.set(ctx.now, action)
        ad.modify_time = ctx.now
        w.touch(ad.campaign_id)
    return {"ad_ids": ids, "aco_ad_ids": [], "status": action}


def _check_audiences(ctx: Ctx, adv_id: str) -> None:
    """audience_ids / excluded_audience_ids must be audiences of the account (spec §4.6) [U:
    the refusal's code and text]."""
    known: set[str] | None = None
    for f in ("audience_ids", "excluded_audience_ids"):
        ids = ctx.params.str_list(f, max_items=100) or []
        if ids and known is None:
            known = existing_ids(ctx, adv_id)
        missing = [i for i in ids if known is not None and i not in known]
        if missing:
            raise param_error(f"{f}: audience {missing[0]} does not exist in this account.")
