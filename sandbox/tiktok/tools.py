"""Targeting reference data ("tool" endpoints): where an ad group may deliver and whom it may
target. Scope group "ads_management" (scopes.py; TikTok does not say which portal permission
covers the tools [U]). The data lives in sandbox/tiktok/tool_reference.py (what is real there and
what is a guess is said at its top); ``EmulatorConfig.tool_reference`` replaces any of its sets.

Endpoints, their parameters and methods as the official SDK sends them (business_api_client
ToolApi, RecommendToolApi); response fields from two independent public sources that agree: the
Go SDK bububa/tiktok-business (model/tool/*.go, its field comments quote TikTok's docs) and a
generated TypeScript typing of TikTok's v1.3 tool endpoints (found in the code index, repository
not named there):

* ``GET tool/region/``: ``advertiser_id``, ``placements`` (JSON list, required),
  ``objective_type`` (required); ``level_range`` ALL | TO_COUNTRY | TO_PROVINCE | TO_CITY |
  TO_DISTRICT (default ALL [U]), ``language`` (names' language; an unsupported one falls back to
  en, as the docs say — the emulator's names are English only), ``promotion_type``,
  ``promotion_target_type`` (LEAD_GENERATION only), ``operating_system``,
  ``brand_safety_type`` / ``brand_safety_partner`` (the partner required with THIRD_PARTY),
  ``rf_campaign_type`` (RF_REACH only; PULSE answers one location: the account's country [U]).
  ``data``: ``region_list`` (ISO codes of the countries) and ``region_info`` [{location_id, name,
  parent_id ("0" at the top), region_code, next_level_ids, area_type, level,
  support_below_18}]. Which locations TikTok offers per objective, placement, OS or brand
  safety is not public [U]: the emulator offers the same set for every valid combination.
* ``GET tool/language/``: ``data.languages`` [{code, name}].
* ``GET tool/interest_category/``: ``version`` 1 | 2 (default 2; both answer the same tree [U]),
  ``placements`` (version 2 only: categories whose ``placements`` is empty or shares one),
  ``special_industries`` (categories supporting all of them), ``language`` (one of the 16 the
  SDK lists). ``data.interest_categories`` [{interest_category_id, interest_category_name,
  level, sub_category_ids, special_industries, placements}].
* ``GET tool/action_category/``: ``special_industries``, ``language``.
  ``data.action_categories`` [{action_category_id, name, description, level,
  sub_category_ids, special_industries, action_scene}] (the Go SDK spells the last
  "actiotn_scene", a typo; the TypeScript typing has ``action_scene``).
* ``GET tool/carrier/``: ``data.countries`` [{country_code, carriers: [{carrier_id, name,
  in_use, value: [{hni_id, in_use}]}]}] (``hni_id`` a string as in the Go SDK; the TypeScript
  typing says number [U]).
* ``GET tool/device_model/``: ``data.device_models`` [{device_model_id, device_model_name,
  child_device_ids, is_active, level BRAND | SERIES | MODEL, os_type}].
* ``GET tool/interest_keyword/recommend/``: ``keyword`` (the SDK requires it) or ``keywords``
  (JSON list of up to 10, Go SDK; wins over ``keyword``), ``mode`` FUZZ_MATCH (default: keywords
  containing the seed) | SEMANTIC_RECOMMEND (keywords on the same subject as those [U]),
  ``language`` (default en), ``limit`` 1..50 (default 50; counts the answers of all seeds
  together [U]), ``audience_type`` GENERAL_INTEREST |
  PURCHASE_INTENTION. ``data.recommended_keywords`` [{keyword, keyword_id, language, status
  EFFECTIVE | INEFFECTIVE}], plus ``input_keyword`` when several seeds were sent.
* ``POST tool/targeting_category/recommend/`` (the official SDK posts a JSON body; the Go SDK
  sends a GET [U]): ``advertiser_id``, ``region_codes`` (required, country codes the emulator
  knows), ``app_id`` (an app of the account, sandbox/tiktok/apps.py). ``data``:
  ``interest_categories`` [{interest_category_id, interest_category_name, placements,
  special_industries}] and ``action_categories`` [{action_category_id, action_category_name,
  description, scene, special_industries}]. What TikTok recommends ("based on the industry's
  history") is not reproducible: a fixed set of top-level categories [U].

Unknown enum values, malformed JSON lists and missing required parameters answer 40002 like
the rest of the emulator; ``special_industries`` from an account registered outside the US and
Canada answers 40002 too (the SDK: "only supported for advertisers registered in America or
Canada"; the code is a guess [U]).
"""

from __future__ import annotations

from typing import Any

from sandbox.tiktok import apps
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.entity_values import OBJECTIVES, PLACEMENTS, PROMOTION
from sandbox.tiktok.errors import param_error
from sandbox.tiktok.model import Advertiser
from sandbox.tiktok.params import Params
from sandbox.tiktok.tool_reference import DEFAULTS

SPECIAL_INDUSTRIES = ["HOUSING", "EMPLOYMENT", "CREDIT"]
# The languages category names come in (ToolApi.tool_interest_category's docstring).
CATEGORY_LANGUAGES = [
    "en", "zh", "ja", "de", "es", "fr", "id", "it", "ko", "ru", "th", "tr", "vi", "ar", "pt", "ms",
]
# Interest keyword languages (ToolApi.tool_interest_keyword_recommend's docstring).
KEYWORD_LANGUAGES = [
    "fr", "id", "it", "ja", "ms", "ar", "vi", "en", "ru", "es", "th", "tr", "hi", "zh", "de", "ko",
]
LEVEL_RANGES = {
    "ALL": ("COUNTRY", "PROVINCE", "CITY", "DISTRICT"),
    "TO_COUNTRY": ("COUNTRY",),
    "TO_PROVINCE": ("COUNTRY", "PROVINCE"),
    "TO_CITY": ("COUNTRY", "PROVINCE", "CITY"),
    "TO_DISTRICT": ("COUNTRY", "PROVINCE", "CITY", "DISTRICT"),
}
BRAND_SAFETY = [
    "NO_BRAND_SAFETY", "EXPANDED_INVENTORY", "STANDARD_INVENTORY", "LIMITED_INVENTORY",
    "THIRD_PARTY",
]
# Keys of the reference rows that only the emulator uses.
PRIVATE = ("recommended", "topic")


def reference(ctx: Ctx, name: str) -> list[dict[str, Any]]:
    """One reference set: the emulator's `tool_reference` knob, else the defaults."""
    override = ctx.emu.config.tool_reference.get(name)
    return override if override is not None else DEFAULTS[name]


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """A reference row without the emulator-only keys."""
    return {k: v for k, v in row.items() if k not in PRIVATE}


def location_ids(ctx: Ctx) -> set[str]:
    """Every location id tool/region lists (what adgroup/create's location_ids may hold)."""
    return {str(r["location_id"]) for r in reference(ctx, "regions")}


def _special(adv: Advertiser, p: Params) -> list[str]:
    """``special_industries``: US and Canadian accounts only (the SDK's note)."""
    wanted = p.str_list("special_industries", allowed=SPECIAL_INDUSTRIES) or []
    if wanted and adv.country not in ("US", "CA"):
        raise param_error(
            "special_industries is only supported for advertisers registered in the US or Canada."
        )
    return wanted


def _with_children(rows: list[dict[str, Any]], id_key: str, child_key: str) -> list[dict[str, Any]]:
    """Rows whose child id lists name only the rows that are answered."""
    kept = {r[id_key] for r in rows}
    return [{**r, child_key: [c for c in r[child_key] if c in kept]} for r in rows]


@route("tool/region/")
def tool_region(ctx: Ctx) -> Any:
    """The locations an ad group of this objective and placement may target."""
    p = ctx.params
    adv = ctx.advertiser()
    p.str_list("placements", required=True, allowed=PLACEMENTS)
    objective = p.enum("objective_type", OBJECTIVES, required=True)
    levels = LEVEL_RANGES[p.enum("level_range", LEVEL_RANGES, default="ALL") or "ALL"]
    p.str("language")  # names are English; an unsupported language falls back to en (docs)
    p.enum("promotion_type", PROMOTION)
    if objective == "LEAD_GENERATION":
        p.enum("promotion_target_type", ["INSTANT_PAGE", "EXTERNAL_WEBSITE"])
    p.enum("operating_system", ["ANDROID", "IOS"])
    p.enum("shopping_ads_type", ["VIDEO", "LIVE", "PRODUCT_SHOPPING_ADS"])
    safety = p.enum("brand_safety_type", BRAND_SAFETY)
    partner = p.enum("brand_safety_partner", ["IAS", "OPEN_SLATE"])
    if safety == "THIRD_PARTY" and partner is None:
        raise param_error("brand_safety_partner is required when brand_safety_type is THIRD_PARTY.")
    rf = p.enum("rf_campaign_type", ["STANDARD", "PULSE"])
    if rf is not None and objective != "RF_REACH":
        raise param_error("rf_campaign_type is only supported when objective_type is RF_REACH.")
    rows = [r for r in reference(ctx, "regions") if r["level"] in levels]
    if rf == "PULSE":
        rows = [r for r in rows if r["level"] == "COUNTRY" and r["region_code"] == adv.country][:1]
    info = [{**_public(r), "next_level_ids": []} for r in rows]
    by_id = {r["location_id"]: r for r in info}
    for r in info:
        parent = by_id.get(r["parent_id"])
        if parent is not None:
            parent["next_level_ids"].append(r["location_id"])
    countries = [r["region_code"] for r in info if r["level"] == "COUNTRY"]
    return {"region_list": countries, "region_info": info}


@route("tool/language/")
def tool_language(ctx: Ctx) -> Any:
    """The audience languages adgroup/create's ``languages`` takes."""
    ctx.advertiser()
    return {"languages": [_public(r) for r in reference(ctx, "languages")]}


@route("tool/interest_category/")
def tool_interest_category(ctx: Ctx) -> Any:
    """The interest category tree (``interest_category_ids`` of adgroup/create)."""
    p = ctx.params
    adv = ctx.advertiser()
    version = p.int("version", 2)
    if version not in (1, 2):
        raise param_error("version must be one of [1, 2].")
    placements = p.str_list("placements", allowed=PLACEMENTS) or []
    special = _special(adv, p)
    p.enum("language", CATEGORY_LANGUAGES, default="en")
    rows = [
        _public(r)
        for r in reference(ctx, "interest_categories")
        if set(special) <= set(r["special_industries"])
        and (
            version != 2
            or not placements
            or not r["placements"]
            or set(placements) & set(r["placements"])
        )
    ]
    out = _with_children(rows, "interest_category_id", "sub_category_ids")
    return {"interest_categories": out}


@route("tool/action_category/")
def tool_action_category(ctx: Ctx) -> Any:
    """The behaviour categories (``action_category_ids`` of an ad group's ``actions``)."""
    p = ctx.params
    adv = ctx.advertiser()
    special = _special(adv, p)
    p.enum("language", CATEGORY_LANGUAGES, default="en")
    rows = [
        _public(r)
        for r in reference(ctx, "action_categories")
        if set(special) <= set(r["special_industries"])
    ]
    return {"action_categories": _with_children(rows, "action_category_id", "sub_category_ids")}


@route("tool/carrier/")
def tool_carrier(ctx: Ctx) -> Any:
    """Mobile carriers per country (``carrier_ids`` of adgroup/create)."""
    ctx.advertiser()
    return {"countries": [_public(r) for r in reference(ctx, "carriers")]}


@route("tool/device_model/")
def tool_device_model(ctx: Ctx) -> Any:
    """Device brands, series and models (``device_model_ids`` of adgroup/create)."""
    ctx.advertiser()
    return {"device_models": [_public(r) for r in reference(ctx, "device_models")]}


@route("tool/interest_keyword/recommend/")
def tool_interest_keyword_recommend(ctx: Ctx) -> Any:
    """Interest keywords ("additional interests") for one or more seed keywords."""
    p = ctx.params
    ctx.advertiser()
    seeds = p.str_list("keywords", max_items=10)
    single = p.str("keyword")
    if not seeds:
        if not single or not single.strip():
            raise param_error("keyword is required.")
        seeds = [single]
    mode = p.enum("mode", ["FUZZ_MATCH", "SEMANTIC_RECOMMEND"], default="FUZZ_MATCH")
    language = p.enum("language", KEYWORD_LANGUAGES, default="en")
    limit = p.int("limit", 50, lo=1, hi=50)
    p.enum("audience_type", ["GENERAL_INTEREST", "PURCHASE_INTENTION"], default="GENERAL_INTEREST")
    assert limit is not None
    pool = [k for k in reference(ctx, "interest_keywords") if k["language"] == language]
    out: list[dict[str, Any]] = []
    for seed in seeds:
        needle = seed.strip().lower()
        hits = [k for k in pool if needle and needle in str(k["keyword"]).lower()]
        if mode == "SEMANTIC_RECOMMEND":
            topics = {k.get("topic") for k in hits}
            hits = [k for k in pool if k.get("topic") in topics]
        for k in hits:
            row = _public(k)
            if len(seeds) > 1:
                row = {"input_keyword": seed, **row}
            out.append(row)
    return {"recommended_keywords": out[:limit]}


@route("tool/targeting_category/recommend/", "POST")
def tool_targeting_category_recommend(ctx: Ctx) -> Any:
    """Recommended interest and action categories for some countries (and an app)."""
    p = ctx.params
    adv = ctx.advertiser()
    codes = p.str_list("region_codes", required=True) or []
    known = {r["region_code"] for r in reference(ctx, "regions") if r["level"] == "COUNTRY"}
    bad = [c for c in codes if c not in known]
    if bad:
        raise param_error(f"region_codes contains unknown codes {bad}.")
    app_id = p.str("app_id")
    if app_id is not None and app_id not in {a["app_id"] for a in apps.account_apps(ctx, adv)}:
        raise param_error(f"app_id {app_id} is not an app of this advertiser.")
    interests = [
        {
            "interest_category_id": r["interest_category_id"],
            "interest_category_name": r["interest_category_name"],
            "placements": r["placements"],
            "special_industries": r["special_industries"],
        }
        for r in reference(ctx, "interest_categories")
        if r.get("recommended")
    ]
    actions = [
        {
            "action_category_id": r["action_category_id"],
            "action_category_name": r["name"],
            "description": r["description"],
            "scene": r["action_scene"],
            "special_industries": r["special_industries"],
        }
        for r in reference(ctx, "action_categories")
        if r.get("recommended")
    ]
    return {"interest_categories": interests, "action_categories": actions}
