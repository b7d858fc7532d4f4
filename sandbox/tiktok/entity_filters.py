"""The ``filtering`` fields of campaign/get, adgroup/get and ad/get beyond ids, names, statuses,
creation times and objective_type (those stay in entity_reads.py; spec §4.1 / §4.5 / §4.8).

The upstream repository tiktok/tiktok-business-api-sdk holds no campaign_get.yml,
adgroup_get.yml or ad_get.yml (yml_files/ checked at commit f809c39), so the fields come from
its SDK models ``python_sdk/docs/Filtering{Campaign,Adgroup,Ad}Get.md`` (commit f809c39), the
installed official SDK's ``models/filtering_*_get.py`` (older: ad/get ``billing_events``,
campaign/get ``targeting_broaden_required``) and the Go SDK bububa/tiktok-business
``model/{campaign,adgroup,ad}/get.go`` (commit 051f6c0, whose comments give the enums):

* all three: ``campaign_system_origins`` (PROMOTE | TT_ADS_PLATFORM, default
  ["TT_ADS_PLATFORM"]), ``buying_types`` (default ["AUCTION", "RESERVATION_RF"];
  RESERVATION_TOP_VIEW alone), ``optimization_goal``;
* campaign/get: ``campaign_type``, ``campaign_product_source`` (only PRODUCT_SALES campaigns;
  with ``objective_type`` only PRODUCT_SALES), ``sales_destination``, ``creative_campaign_type``,
  ``is_smart_performance_campaign``, ``split_test_enabled``, ``gmv_max_promotion_types`` /
  ``store_ids`` (GMV Max campaigns: "use /gmv_max/campaign/get/"),
  ``targeting_broaden_required``;
* adgroup/get: ``billing_events``, ``bid_strategy``, ``promotion_type`` (the filter's own values,
  mapped from the ad group's), ``creative_material_mode``, ``split_test_enabled``;
* ad/get: ``ad_name``, ``billing_events``, ``creative_material_mode``, ``destination``.

An ad's optimization_goal, billing_event, creative_material_mode and destination are its ad
group's (destination also reads the ad's page_id / landing_page_url, as the Go SDK's
enum/destination.go says); a campaign's origin and buying type hold for its ad groups and ads.
Guesses are tagged [U] where they are made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.tiktok.entity_values import (
    BILLING,
    BUYING_TYPES,
    GOALS,
    PRODUCT_SOURCES,
    SALES_DESTINATIONS,
)
from sandbox.tiktok.errors import param_error
from sandbox.tiktok.model import Ad, AdGroup, Campaign, World
from sandbox.tiktok.params import check_str_list

# ``creative_material_mode`` values: CUSTOM, DYNAMIC (ACO) and SMART_CREATIVE (Go SDK
# bububa/tiktok-business model/ad/get.go, filter of ad/get; spec §4.5 / §4.8 list the filter).
MATERIAL_MODES = ("CUSTOM", "DYNAMIC", "SMART_CREATIVE")
ORIGINS = ("PROMOTE", "TT_ADS_PLATFORM")  # Go SDK enum/campaign_system_origin.go
DEFAULT_ORIGINS = ("TT_ADS_PLATFORM",)
DEFAULT_BUYING = ("AUCTION", "RESERVATION_RF")
CAMPAIGN_TYPES = ("REGULAR_CAMPAIGN", "IOS14_CAMPAIGN")
GMV_MAX_TYPES = ("PRODUCT_GMV_MAX", "LIVE_GMV_MAX")  # Go SDK enum/gmv_max_promotion_type.go
BID_STRATEGIES = ("BID_STRATEGY_COST_CAP", "BID_STRATEGY_BID_CAP",
                  "BID_STRATEGY_MAX_CONVERSION", "BID_STRATEGY_LOWEST_COST")
DESTINATIONS = ("APP", "TIKTOK_INSTANT_PAGE", "WEBSITE", "SOCIAL_MEDIA_APP", "PHONE_CALL")
# adgroup/get's promotion_type filter (Go SDK model/adgroup/get.go: "not the promotion_type of
# adgroup/create") -> the ad-group values it stands for [U: the mapping table is not given].
PROMOTION_FILTER = {
    "APP": ("APP_ANDROID", "APP_IOS"),
    "WEBSITE": ("WEBSITE",),
    "INSTANT_FORM": ("LEAD_GENERATION",),
    "LEAD_GEN_CLICK_TO_TT_DIRECT_MESSAGE": ("LEAD_GEN_CLICK_TO_TT_DIRECT_MESSAGE",),
    "LEAD_GEN_CLICK_TO_SOCIAL_MEDIA_APP_MESSAGE": ("LEAD_GEN_CLICK_TO_SOCIAL_MEDIA_APP_MESSAGE",),
    "LEAD_GEN_CLICK_TO_CALL": ("LEAD_GEN_CLICK_TO_CALL",),
}

CampaignTest = Callable[[Campaign], bool]
AdGroupTest = Callable[[AdGroup], bool]
AdTest = Callable[[Ad], bool]


# ---------------------------------------------------------------- what an object is


def material_mode(ag: AdGroup) -> str:
    """An ad group's ``creative_material_mode`` (``CUSTOM`` when not set, spec §4.6)."""
    return str(ag.extra.get("creative_material_mode") or "CUSTOM")


def origin(c: Campaign) -> str:
    """``campaign_system_origin`` as campaign/get answers it (API-made: TT_ADS_PLATFORM)."""
    return str(c.extra.get("campaign_system_origin") or "TT_ADS_PLATFORM")


def buying_type(c: Campaign) -> str:
    """A campaign's buying type: RF_REACH is reservation, the rest auction [U]."""
    return "RESERVATION_RF" if c.objective_type == "RF_REACH" else "AUCTION"


def split_test(c: Campaign) -> bool:
    """Whether a split test runs on the campaign (as reports.py's ``split_test``)."""
    return bool(c.extra.get("split_test_variable"))


def bid_strategy(ag: AdGroup) -> str:
    """An ad group's bid strategy (as reports.py: a custom bid is a cost cap) [U]."""
    custom = ag.extra.get("bid_type") == "BID_TYPE_CUSTOM"
    return str(ag.extra.get("bid_strategy")
               or ("BID_STRATEGY_COST_CAP" if custom else "BID_STRATEGY_LOWEST_COST"))


def destination(ag: AdGroup, ad: Ad) -> str | None:
    """An ad's destination (Go SDK enum/destination.go): APP for app ad groups, the lead
    types' own, TIKTOK_INSTANT_PAGE with a page_id, WEBSITE with a landing page."""
    promo = ag.extra.get("promotion_type")
    if promo in ("APP_ANDROID", "APP_IOS"):
        return "APP"
    if promo == "LEAD_GEN_CLICK_TO_SOCIAL_MEDIA_APP_MESSAGE":
        return "SOCIAL_MEDIA_APP"
    if promo == "LEAD_GEN_CLICK_TO_CALL":
        return "PHONE_CALL"
    if ad.extra.get("page_id"):
        return "TIKTOK_INSTANT_PAGE"
    # ad_dict answers a fixture ad without one with a shop landing page.
    return "WEBSITE" if ad.extra.get("landing_page_url", "https://") else None


# ---------------------------------------------------------------- reading the filter


def _one(filt: dict[str, Any], name: str, allowed: tuple[str, ...] | list[str]) -> str | None:
    """A single enum value of the filter, validated."""
    want = filt.get(name)
    if want is None:
        return None
    if want not in allowed:
        raise param_error(f"filtering.{name} must be one of {list(allowed)}.")
    return str(want)


def _many(filt: dict[str, Any], name: str, allowed: tuple[str, ...] | list[str] | None,
          max_items: int | None = None) -> list[str] | None:
    """A list of enum values (or strings) of the filter, validated."""
    return check_str_list(f"filtering.{name}", filt.get(name), max_items=max_items,
                          allowed=allowed) or None


def _flag(filt: dict[str, Any], name: str) -> bool | None:
    """A true / false filter."""
    want = filt.get(name)
    if want is not None and not isinstance(want, bool):
        raise param_error(f"filtering.{name} should be a boolean.")
    return want


def mode_wanted(filt: dict[str, Any]) -> str | None:
    """The ``filtering.creative_material_mode`` asked for, validated."""
    want = filt.get("creative_material_mode")
    if want is None:
        return None
    if want not in MATERIAL_MODES:
        raise param_error("filtering.creative_material_mode is invalid.")
    return str(want)


def _buying(filt: dict[str, Any]) -> tuple[str, ...]:
    """buying_types, RESERVATION_TOP_VIEW alone (spec §4.1); the default when not sent."""
    bt = _many(filt, "buying_types", BUYING_TYPES)
    if bt and "RESERVATION_TOP_VIEW" in bt and len(bt) > 1:
        raise param_error("filtering.buying_types: RESERVATION_TOP_VIEW must be used alone.")
    return tuple(bt) if bt else DEFAULT_BUYING


def _campaign_common(filt: dict[str, Any]) -> CampaignTest:
    """campaign_system_origins and buying_types, which every level filters on its campaign."""
    origins = tuple(_many(filt, "campaign_system_origins", ORIGINS) or DEFAULT_ORIGINS)
    buying = _buying(filt)
    return lambda c: origin(c) in origins and buying_type(c) in buying


def _all(tests: list[Callable[[Any], bool]]) -> Callable[[Any], bool]:
    """One predicate passing when every one of ``tests`` does."""
    return lambda obj: all(t(obj) for t in tests)


# ---------------------------------------------------------------- campaign/get


def campaign_filter(filt: dict[str, Any], world: World) -> CampaignTest:
    """The campaign/get tests of this module's fields, validated before anything is listed."""
    tests: list[CampaignTest] = [_campaign_common(filt)]
    goal = _one(filt, "optimization_goal", GOALS)
    if goal:
        tests.append(lambda c: goal in _campaign_goals(c, world))
    ctype = _one(filt, "campaign_type", CAMPAIGN_TYPES)
    if ctype:
        tests.append(lambda c: (c.extra.get("campaign_type") or "REGULAR_CAMPAIGN") == ctype)
    tests += _campaign_sales(filt)
    for name, read in (("is_smart_performance_campaign", _smart_performance),
                       ("split_test_enabled", split_test),
                       ("targeting_broaden_required", _broaden)):
        flag = _flag(filt, name)
        if flag is not None:
            tests.append(lambda c, f=flag, r=read: r(c) == f)
    creative = _many(filt, "creative_campaign_type", None)
    if creative:
        # Values not documented to us [U]: a campaign matches only one that carries a value.
        tests.append(lambda c: c.extra.get("creative_campaign_type") in creative)
    gmv = _many(filt, "gmv_max_promotion_types", GMV_MAX_TYPES)
    _many(filt, "store_ids", None, max_items=10)
    if gmv:
        # GMV Max campaigns are listed by /gmv_max/campaign/get/ (Go SDK): none here [U].
        tests.append(lambda c: False)
    return _all(tests)


def _campaign_goals(c: Campaign, world: World) -> set[str]:
    """The campaign's optimization_goal, else its ad groups' [U: which one TikTok matches]."""
    own = c.extra.get("optimization_goal")
    if own:
        return {str(own)}
    return {world.adgroups[g].optimization_goal for g in c.adgroup_ids}


def _smart_performance(c: Campaign) -> bool:
    """``is_smart_performance_campaign`` as campaign/get answers it."""
    return bool(c.extra.get("is_smart_performance_campaign", False))


def _broaden(c: Campaign) -> bool:
    """``targeting_broaden_required`` (installed SDK's FilteringCampaignGet): no campaign of
    the emulator asks for broader targeting [U]."""
    return bool(c.extra.get("targeting_broaden_required", False))


def _campaign_sales(filt: dict[str, Any]) -> list[CampaignTest]:
    """campaign_product_source and sales_destination."""
    tests: list[CampaignTest] = []
    source = _one(filt, "campaign_product_source", PRODUCT_SOURCES)
    if source:
        # Go SDK model/campaign/get.go: PRODUCT_SALES campaigns only; objective_type, if sent,
        # can only be PRODUCT_SALES.
        if filt.get("objective_type") not in (None, "PRODUCT_SALES"):
            raise param_error("filtering.objective_type must be PRODUCT_SALES when "
                              "campaign_product_source is set.")
        tests.append(lambda c: c.objective_type == "PRODUCT_SALES"
                     and c.extra.get("campaign_product_source") == source)
    sales = _one(filt, "sales_destination", SALES_DESTINATIONS)
    if sales:
        tests.append(lambda c: c.extra.get("sales_destination") == sales)
    return tests


# ---------------------------------------------------------------- adgroup/get and ad/get


def _group_tests(filt: dict[str, Any], world: World) -> list[AdGroupTest]:
    """What adgroup/get and ad/get both filter on the ad group (and its campaign)."""
    common = _campaign_common(filt)
    tests: list[AdGroupTest] = [lambda ag: common(world.campaigns[ag.campaign_id])]
    goal = _one(filt, "optimization_goal", GOALS)
    if goal:
        tests.append(lambda ag: ag.optimization_goal == goal)
    billing = _many(filt, "billing_events", BILLING)
    if billing:
        tests.append(lambda ag: ag.billing_event in billing)
    mode = mode_wanted(filt)  # the ad group's creative_material_mode (ACO = DYNAMIC)
    if mode:
        tests.append(lambda ag: material_mode(ag) == mode)
    return tests


def adgroup_filter(filt: dict[str, Any], world: World) -> AdGroupTest:
    """The adgroup/get tests of this module's fields, validated before anything is listed."""
    tests = _group_tests(filt, world)
    strategy = _one(filt, "bid_strategy", BID_STRATEGIES)
    if strategy:
        tests.append(lambda ag: bid_strategy(ag) == strategy)
    promo = _one(filt, "promotion_type", tuple(PROMOTION_FILTER))
    if promo:
        tests.append(lambda ag: ag.extra.get("promotion_type") in PROMOTION_FILTER[promo])
    split = _flag(filt, "split_test_enabled")
    if split is not None:  # the campaign's split test [U: ad-group level not modelled]
        tests.append(lambda ag: split_test(world.campaigns[ag.campaign_id]) == split)
    return _all(tests)


def ad_filter(filt: dict[str, Any], world: World) -> AdTest:
    """The ad/get tests of this module's fields, validated before anything is listed."""
    group = _all(_group_tests(filt, world))
    tests: list[AdTest] = [lambda ad: group(world.adgroups[ad.adgroup_id])]
    where = _one(filt, "destination", DESTINATIONS)
    if where:
        tests.append(lambda ad: destination(world.adgroups[ad.adgroup_id], ad) == where)
    name = filt.get("ad_name")
    if name is not None:
        if not isinstance(name, str):
            raise param_error("filtering.ad_name should be a string.")
        # A fuzzy match, as adgroup_name's and campaign_name's [U].
        tests.append(lambda ad: name.lower() in ad.name.lower())
    return _all(tests)
