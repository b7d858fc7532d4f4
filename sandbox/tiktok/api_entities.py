"""Campaigns and ad groups: create / update / status update (spec §4)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.tiktok import catalogs, pixels
from sandbox.tiktok.audiences import existing_ids
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.entity_filters import MATERIAL_MODES, material_mode
from sandbox.tiktok.entity_reads import adgroup_dict, ag_state, camp_state, campaign_dict
from sandbox.tiktok.entity_values import (
    ACTIONS,
    AGES,
    APP_PROMOTION_TYPES,
    BID_TYPES,
    BILLING,
    BUDGET_MODES,
    GENDERS,
    GOALS,
    IDENTITY_TYPES,
    OBJECTIVES,
    PACING,
    PLACEMENT_TYPES,
    PLACEMENTS,
    PRODUCT_SOURCES,
    PROMOTION,
    SALES_DESTINATIONS,
    SCHEDULE,
    TEN_YEARS,
    VIRTUAL_OBJECTIVES,
)
from sandbox.tiktok.errors import (
    NOT_EXIST,
    NOTHING_TO_UPDATE,
    ApiError,
    param_error,
)
from sandbox.tiktok.model import (
    DELETE,
    DISABLE,
    ENABLE,
    AdGroup,
    Advertiser,
    Campaign,
    History,
)
from sandbox.tiktok.params import Params, check_str_list

# ---------------------------------------------------------------- helpers for writes


def earlier_create(ctx: Ctx, kind: str) -> tuple[tuple[str, str, str] | None, Any]:
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


def adgroup_of(ctx: Ctx, adv: Advertiser, adgroup_id: str, writable: bool = True) -> AdGroup:
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
    key, prior = earlier_create(ctx, "campaign")
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
        "campaign_product_source",  # read back, and filtered on by campaign/get
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


def status_ids(ctx: Ctx, name: str) -> tuple[list[str], str]:
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
    ids, action = status_ids(ctx, "campaign_ids")
    camps = [_campaign_of(ctx, adv, i) for i in ids]
    for c in camps:
        c.status.set(ctx.now, action)
        c.modify_time = ctx.now
        ctx.world.touch(c.campaign_id)
        if action == DELETE:  # its ad groups are deleted with it (secondary_status cascade)
            drop_aco(ctx, c.adgroup_ids)
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
    key, prior = earlier_create(ctx, "adgroup")
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
    if p.has("pixel_id") and p.raw("pixel_id") not in ("", None):
        # The pixel must be one the account may use: its own (pixel/list answers it) or one a
        # Business Center shares with it (pixels.usable_by; config adgroup_pixel_bc_shared).
        # TikTok's code for a foreign or unknown pixel is not documented: 40002 [U].
        pixel_id = str(p.raw("pixel_id"))
        if not pixels.usable_by(ctx, adv, pixel_id):
            raise param_error(f"pixel_id {pixel_id} does not exist or this ad account has no "
                              "permission to use it.")
    p.enum("gender", GENDERS)
    p.str_list("age_groups", allowed=AGES)
    p.str_list("languages")
    p.enum("identity_type", IDENTITY_TYPES)
    # CUSTOM, DYNAMIC (ACO, aco.py) or SMART_CREATIVE (Go SDK bububa/tiktok-business
    # model/adgroup/create.go; the official SDK's AdgroupCreateBody): anything else is 40002.
    p.enum("creative_material_mode", MATERIAL_MODES)
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
        **_targeting(p),
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


# Targeting by ids (spec §4.6; the official SDK's adgroup bodies): TikTok answers ids as
# strings (spec §10.3), whatever a client sent.
TARGETING_IDS = ("audience_ids", "excluded_audience_ids", "interest_category_ids",
                 "interest_keyword_ids", "carrier_ids", "device_model_ids")
# Targeting given as lists of values or objects, kept as sent.
TARGETING_LISTS = ("actions", "network_types", "device_price_ranges")


def _targeting(p: Params) -> dict[str, Any]:
    """The targeting an ad group create or update sent, to read back as TikTok answers it."""
    out: dict[str, Any] = {f: p.str_list(f) for f in TARGETING_IDS if p.has(f)}
    for f in TARGETING_LISTS:
        if p.has(f):
            value = p.json(f)
            if not isinstance(value, list):
                raise param_error(f"{f} should be a list.")
            out[f] = value
    return out


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
    ag = adgroup_of(ctx, adv, p.req("adgroup_id"))
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
    mode = _new_material_mode(ctx, ag, p)
    changed = False
    if mode is not None:
        ag.extra["creative_material_mode"] = mode
        changed = True
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
    targeting = _targeting(p)
    if p.has("location_ids"):
        targeting["location_ids"] = p.str_list("location_ids", min_items=1, max_items=3000)
    if targeting:
        ag.extra.update(targeting)
        changed = True
    for f in (
        "bid_price",
        "conversion_bid_price",
        "age_groups",
        "gender",
        "languages",
        "dayparting",
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


def _new_material_mode(ctx: Ctx, ag: AdGroup, p: Params) -> str | None:
    """``creative_material_mode`` of an update, checked; None when not sent.

    Updatable in the official SDK the emulator serves (business_api_client as installed:
    AdgroupUpdateBody.creative_material_mode, "CUSTOM (custom), DYNAMIC (automated)"); the
    upstream repository holds no adgroup_update.yml, and its newest SDK (commit bc53341) and the
    Go SDK (model/adgroup/update.go) no longer list the field [U: whether TikTok still takes
    it]. The mode decides which endpoints make the group's ads (ad/create for CUSTOM /
    SMART_CREATIVE, ad/aco/create for DYNAMIC: api_ads.py, aco.py), so it changes only while
    the group has no ad that is not deleted [U: what TikTok answers; refused here, 40002].
    """
    mode = p.enum("creative_material_mode", MATERIAL_MODES)
    if mode is None or mode == material_mode(ag):
        return mode
    w = ctx.world
    if any(w.ads[a].status.current() != DELETE for a in ag.ad_ids):
        raise param_error(f"creative_material_mode cannot be changed: adgroup {ag.adgroup_id} "
                          "already has ads.")
    return mode


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
    ids, action = status_ids(ctx, "adgroup_ids")
    partial = ctx.params.bool("allow_partial_success", False)
    done, errors = [], []
    for i in ids:
        try:
            ag = adgroup_of(ctx, adv, i)
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
    if action == DELETE:
        drop_aco(ctx, [ag.adgroup_id for ag in done])
    out: dict[str, Any] = {"adgroup_ids": [ag.adgroup_id for ag in done], "status": action}
    if partial:
        out["error_list"] = errors
    return out


def drop_aco(ctx: Ctx, adgroup_ids: list[str]) -> None:
    """Forget the ACO materials (aco.py) of deleted ad groups: deletion cannot be undone, so
    ad/aco/get no longer serves them (it refuses a deleted ad group as an unknown one)."""
    for ag_id in adgroup_ids:
        ctx.world.aco_groups.pop(ag_id, None)


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
