"""The targeting reference endpoints through TikTok's own SDK (ToolApi, RecommendToolApi,
MeasurementApi's app endpoints), unchanged: the locations, languages and categories they list
agree with the emulator's ad groups and are what adgroup/create takes; their filters and
refusals come back as TikTok's envelope codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import business_api_client as sdk
import pytest
from business_api_client.tiktok_business.tiktok_exceptions import TiktokSDKError

from core.templates.draft import COMMON_GEOS
from sandbox.tiktok.fixtures import location_id
from tests.contract.conftest import Emu
from tests.contract.test_official_sdk import call, first_account, official, ok

TIKTOK = ["PLACEMENT_TIKTOK"]


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    """A fixed clock, so an ad group's schedule start is valid on every run."""
    return {"fixture": "demo", "now": "2026-11-30T12:00:00Z"}


async def refused(code: int, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """The SDK raises TikTok's envelope code as its exception."""
    with pytest.raises(TiktokSDKError, match=f"Error Code: {code}"):
        await call(fn, *args, **kwargs)


def account_in(emu: Emu, country: str) -> str:
    """The demo owner's ad account registered in a country."""
    world = emu.state
    return next(
        a for a in world.users[world.default_login].advertiser_ids
        if world.advertisers[a].country == country
    )


async def test_regions_list_the_markets_the_ad_groups_target(emu: Emu) -> None:
    api = official(emu)
    tools = sdk.ToolApi(api)
    token = emu.access_token
    adv = first_account(emu)
    data = ok(await call(tools.tool_region, adv, TIKTOK, "TRAFFIC", token))
    info = {r["location_id"]: r for r in data["region_info"]}
    assert all(isinstance(i, str) and i.isdigit() for i in info)
    us = info["6252001"]  # spec §4.5: the United States
    assert (us["name"], us["level"], us["region_code"], us["parent_id"]) == (
        "United States", "COUNTRY", "US", "0")
    assert us["area_type"] in ("ADMIN", "METROPOLITAN_OR_DMA")
    assert isinstance(us["support_below_18"], bool)
    assert us["next_level_ids"] and all(info[c]["parent_id"] == "6252001"
                                         for c in us["next_level_ids"])
    assert set(data["region_list"]) == {
        r["region_code"] for r in info.values() if r["level"] == "COUNTRY"}

    # Every location the emulator's own ad groups target is one the tool offers.
    world = emu.state
    for acc in world.users[world.default_login].advertiser_ids:
        groups = ok(await call(sdk.AdgroupApi(api).adgroup_get, acc, token, page_size=1000))
        used = {str(i) for g in groups["list"] for i in g["location_ids"]}
        assert used and used <= set(info), acc
        assert location_id(world.advertisers[acc].country) in info
    # and so is every country TTPulse offers as a button when a template picks its geo.
    assert {geo_id for _, geo_id in COMMON_GEOS} <= set(info)

    countries = ok(await call(tools.tool_region, adv, TIKTOK, "TRAFFIC", token,
                              level_range="TO_COUNTRY"))["region_info"]
    assert countries and {r["level"] for r in countries} == {"COUNTRY"}
    assert all(r["next_level_ids"] == [] for r in countries)
    provinces = ok(await call(tools.tool_region, adv, TIKTOK, "TRAFFIC", token,
                              level_range="TO_PROVINCE"))["region_info"]
    assert {r["level"] for r in provinces} == {"COUNTRY", "PROVINCE"}
    pulse = ok(await call(tools.tool_region, adv, TIKTOK, "RF_REACH", token,
                          rf_campaign_type="PULSE"))["region_info"]
    assert len(pulse) == 1  # "only one location ID will be returned"


async def test_region_refusals(emu: Emu) -> None:
    tools = sdk.ToolApi(official(emu))
    token = emu.access_token
    adv = first_account(emu)
    await refused(40002, tools.tool_region, adv, TIKTOK, "NOT_AN_OBJECTIVE", token)
    await refused(40002, tools.tool_region, adv, ["PLACEMENT_MOON"], "TRAFFIC", token)
    await refused(40002, tools.tool_region, adv, TIKTOK, "TRAFFIC", token, level_range="TO_MARS")
    await refused(40002, tools.tool_region, adv, TIKTOK, "TRAFFIC", token,
                  rf_campaign_type="PULSE")  # only with RF_REACH
    await refused(40002, tools.tool_region, adv, TIKTOK, "TRAFFIC", token,
                  brand_safety_type="THIRD_PARTY")  # the partner is required then
    await refused(40001, tools.tool_region, "1234567890", TIKTOK, "TRAFFIC", token)
    await refused(40105, tools.tool_language, adv, "not-a-token")


async def test_languages_cover_the_accounts_markets(emu: Emu) -> None:
    tools = sdk.ToolApi(official(emu))
    langs = ok(await call(tools.tool_language, first_account(emu), emu.access_token))
    codes = [lang["code"] for lang in langs["languages"]]
    assert len(codes) == len(set(codes)) and all(lang["name"] for lang in langs["languages"])
    assert {a.language for a in emu.state.advertisers.values()} <= set(codes)
    assert "en" in codes and all(isinstance(c, str) and c.islower() for c in codes)


async def test_interest_categories_form_a_tree_and_filter(emu: Emu) -> None:
    tools = sdk.ToolApi(official(emu))
    token = emu.access_token
    us = account_in(emu, "US")
    cats = ok(await call(tools.tool_interest_category, us, token))["interest_categories"]
    by_id = {c["interest_category_id"]: c for c in cats}
    assert len(by_id) == len(cats) > 5
    for c in cats:
        assert isinstance(c["interest_category_id"], str) and c["interest_category_name"]
        assert isinstance(c["level"], int) and isinstance(c["placements"], list)
        for child in c["sub_category_ids"]:
            assert by_id[child]["level"] == c["level"] + 1
    tops = [c for c in cats if c["level"] == 1]
    assert tops and any(c["sub_category_ids"] for c in tops)

    # version 2 with a placement: a category limited to other placements is left out.
    only_tiktok = [c["interest_category_id"] for c in cats if c["placements"] == TIKTOK]
    assert only_tiktok
    pangle = ok(await call(tools.tool_interest_category, us, token, version=2,
                           placements=["PLACEMENT_PANGLE"]))["interest_categories"]
    assert not {c["interest_category_id"] for c in pangle} & set(only_tiktok)
    assert all(not c["placements"] or "PLACEMENT_PANGLE" in c["placements"] for c in pangle)

    credit = ok(await call(tools.tool_interest_category, us, token,
                           special_industries=["CREDIT"]))["interest_categories"]
    assert credit and len(credit) < len(cats)
    assert all("CREDIT" in c["special_industries"] for c in credit)
    # Special ad categories are for accounts registered in the US or Canada.
    await refused(40002, tools.tool_interest_category, account_in(emu, "DE"), token,
                  special_industries=["CREDIT"])
    await refused(40002, tools.tool_interest_category, us, token, language="xx")
    await refused(40002, tools.tool_interest_category, us, token, version=3)


async def test_action_categories_carriers_and_device_models(emu: Emu) -> None:
    tools = sdk.ToolApi(official(emu))
    token = emu.access_token
    adv = first_account(emu)
    actions = ok(await call(tools.tool_action_category, adv, token))["action_categories"]
    by_id = {a["action_category_id"]: a for a in actions}
    assert {a["action_scene"] for a in actions} == {"VIDEO_RELATED", "CREATOR_RELATED"}
    assert all(a["name"] and isinstance(a["level"], int) for a in actions)
    assert all(c in by_id for a in actions for c in a["sub_category_ids"])

    countries = ok(await call(tools.tool_carrier, adv, token))["countries"]
    assert "US" in {c["country_code"] for c in countries}
    carriers = [x for c in countries for x in c["carriers"]]
    assert all(isinstance(x["carrier_id"], str) and x["name"] and isinstance(x["in_use"], bool)
               for x in carriers)
    assert all(v["hni_id"].isdigit() for x in carriers for v in x["value"])

    models = ok(await call(tools.tool_device_model, adv, token))["device_models"]
    by_model = {m["device_model_id"]: m for m in models}
    assert {m["level"] for m in models} == {"BRAND", "SERIES", "MODEL"}
    assert {m["os_type"] for m in models} <= {"ANDROID", "IOS"}
    assert all(c in by_model for m in models for c in m["child_device_ids"])
    assert all(by_model[c]["os_type"] == m["os_type"] for m in models
               for c in m["child_device_ids"])


async def test_interest_keyword_recommendations(emu: Emu) -> None:
    tools = sdk.ToolApi(official(emu))
    token = emu.access_token
    adv = first_account(emu)
    fuzzy = ok(await call(tools.tool_interest_keyword_recommend, adv, "Skincare", token))
    words = fuzzy["recommended_keywords"]
    assert words and all("skincare" in w["keyword"].lower() for w in words)
    assert all(w["language"] == "en" and w["status"] in ("EFFECTIVE", "INEFFECTIVE")
               and isinstance(w["keyword_id"], str) and "input_keyword" not in w for w in words)
    two = ok(await call(tools.tool_interest_keyword_recommend, adv, "skincare", token, limit=2))
    assert len(two["recommended_keywords"]) == 2
    similar = ok(await call(tools.tool_interest_keyword_recommend, adv, "skincare", token,
                            mode="SEMANTIC_RECOMMEND"))["recommended_keywords"]
    assert {w["keyword"] for w in words} < {w["keyword"] for w in similar}
    german = ok(await call(tools.tool_interest_keyword_recommend, adv, "haut", token,
                           language="de"))["recommended_keywords"]
    assert german and all(w["language"] == "de" for w in german)
    nothing = ok(await call(tools.tool_interest_keyword_recommend, adv, "zzzz", token))
    assert nothing["recommended_keywords"] == []
    await refused(40002, tools.tool_interest_keyword_recommend, adv, "coffee", token, limit=51)
    await refused(40002, tools.tool_interest_keyword_recommend, adv, "coffee", token,
                  mode="GUESS")


async def test_recommended_targeting_categories_are_listed_ones(emu: Emu) -> None:
    api = official(emu)
    token = emu.access_token
    adv = first_account(emu)
    recommend = sdk.RecommendToolApi(api).tool_targeting_category_recommend
    data = ok(await call(recommend, token, body=sdk.TargetingCategoryRecommendBody(
        advertiser_id=adv, region_codes=["US", "DE"])))
    interests = ok(await call(sdk.ToolApi(api).tool_interest_category, adv, token))
    actions = ok(await call(sdk.ToolApi(api).tool_action_category, adv, token))
    listed = {c["interest_category_id"] for c in interests["interest_categories"]}
    assert data["interest_categories"]
    assert {c["interest_category_id"] for c in data["interest_categories"]} <= listed
    assert all(c["interest_category_name"] for c in data["interest_categories"])
    assert {a["action_category_id"] for a in data["action_categories"]} <= {
        a["action_category_id"] for a in actions["action_categories"]}
    assert {a["scene"] for a in data["action_categories"]} <= {"VIDEO_RELATED", "CREATOR_RELATED"}
    await refused(40002, recommend, token, body=sdk.TargetingCategoryRecommendBody(
        advertiser_id=adv, region_codes=["XX"]))
    await refused(40002, recommend, token, body=sdk.TargetingCategoryRecommendBody(
        advertiser_id=adv, region_codes=["US"], app_id="999"))  # not an app of the account


async def test_an_ad_group_takes_what_the_tools_list(emu: Emu) -> None:
    """Targeting picked from the tools is accepted by adgroup/create and reads back."""
    api = official(emu)
    tools = sdk.ToolApi(api)
    token = emu.access_token
    adv = first_account(emu)
    regions = ok(await call(tools.tool_region, adv, TIKTOK, "TRAFFIC", token))["region_info"]
    province = next(r["location_id"] for r in regions if r["level"] == "PROVINCE")
    cats = ok(await call(tools.tool_interest_category, adv, token))["interest_categories"]
    interest = next(c["interest_category_id"] for c in cats if c["level"] == 2)
    language = ok(await call(tools.tool_language, adv, token))["languages"][0]["code"]
    keyword = ok(await call(tools.tool_interest_keyword_recommend, adv, "skincare", token))[
        "recommended_keywords"][0]["keyword_id"]
    carrier = ok(await call(tools.tool_carrier, adv, token))["countries"][0]["carriers"][0][
        "carrier_id"]
    device = ok(await call(tools.tool_device_model, adv, token))["device_models"][0][
        "device_model_id"]
    action = ok(await call(tools.tool_action_category, adv, token))["action_categories"][0]
    actions = [{"action_scene": action["action_scene"], "action_period": 7,
                "video_user_actions": ["WATCHED_TO_END"],
                "action_category_ids": [action["action_category_id"]]}]

    camp = ok(await call(sdk.CampaignCreationApi(api).campaign_create, token,
                         body=sdk.CampaignCreateBody(
                             advertiser_id=adv, campaign_name="SDK | Tools",
                             objective_type="TRAFFIC", budget_mode="BUDGET_MODE_DAY",
                             budget=50.0)))["campaign_id"]
    made = ok(await call(sdk.AdgroupApi(api).adgroup_create, token, body=sdk.AdgroupCreateBody(
        advertiser_id=adv, campaign_id=camp, adgroup_name="SDK | from the tools",
        promotion_type="WEBSITE", placement_type="PLACEMENT_TYPE_NORMAL", placements=TIKTOK,
        location_ids=[province], interest_category_ids=[interest], languages=[language],
        interest_keyword_ids=[keyword], carrier_ids=[carrier], device_model_ids=[device],
        actions=actions,
        budget_mode="BUDGET_MODE_DAY", budget=20.0, schedule_type="SCHEDULE_FROM_NOW",
        schedule_start_time="2026-11-30 13:00:00", optimization_goal="CLICK",
        billing_event="CPC", bid_type="BID_TYPE_NO_BID", pacing="PACING_MODE_SMOOTH",
    )))

    async def read_back() -> dict[str, Any]:
        groups = ok(await call(sdk.AdgroupApi(api).adgroup_get, adv, token, page_size=1000))
        [mine] = [g for g in groups["list"] if g["adgroup_id"] == made["adgroup_id"]]
        return mine

    mine = await read_back()
    assert mine["location_ids"] == [province]
    assert mine["interest_category_ids"] == [interest]
    assert mine["languages"] == [language]
    assert (mine["interest_keyword_ids"], mine["carrier_ids"], mine["device_model_ids"]) == (
        [keyword], [carrier], [device])
    assert mine["actions"] == actions

    # Ids sent as numbers come back as strings, as TikTok answers ids (spec §10.3), on an
    # update too; a targeting field left out of the update keeps its value.
    ok(await call(sdk.AdgroupApi(api).adgroup_update, token, body=sdk.AdgroupUpdateBody(
        advertiser_id=adv, adgroup_id=made["adgroup_id"], location_ids=[int(province)],
        interest_category_ids=[int(interest)])))
    mine = await read_back()
    assert (mine["location_ids"], mine["interest_category_ids"]) == ([province], [interest])
    assert mine["carrier_ids"] == [carrier]


async def test_apps_are_the_ones_the_ad_groups_promote(emu: Emu) -> None:
    api = official(emu)
    measure = sdk.MeasurementApi(api)
    token = emu.access_token
    adv = first_account(emu)
    # The demo accounts run no app campaigns: they have no apps.
    assert ok(await call(measure.app_list, adv, token)) == {"apps": []}
    await refused(40007, measure.app_optimization_event, "7001", adv, TIKTOK, "INSTALL", token)

    camp = ok(await call(sdk.CampaignCreationApi(api).campaign_create, token,
                         body=sdk.CampaignCreateBody(
                             advertiser_id=adv, campaign_name="SDK | App traffic",
                             objective_type="TRAFFIC", budget_mode="BUDGET_MODE_DAY",
                             budget=50.0)))["campaign_id"]
    ok(await call(sdk.AdgroupApi(api).adgroup_create, token, body=sdk.AdgroupCreateBody(
        advertiser_id=adv, campaign_id=camp, adgroup_name="SDK | app",
        promotion_type="APP_ANDROID", app_id="7001", operating_systems=["ANDROID"],
        placement_type="PLACEMENT_TYPE_NORMAL", placements=TIKTOK, location_ids=["6252001"],
        budget_mode="BUDGET_MODE_DAY", budget=20.0, schedule_type="SCHEDULE_FROM_NOW",
        schedule_start_time="2026-11-30 13:00:00", optimization_goal="CLICK",
        billing_event="CPC", pacing="PACING_MODE_SMOOTH",
    )))
    [app] = ok(await call(measure.app_list, adv, token))["apps"]
    assert (app["app_id"], app["advertiser_id"], app["platform"]) == ("7001", adv, "ANDROID")
    assert ok(await call(measure.app_list, adv, token, app_platform_ids=["other"])) == {
        "apps": []}
    ready = ok(await call(measure.app_optimization_event, "7001", adv, TIKTOK, "INSTALL", token))
    assert ready["optimization_events"] == []  # no ad group optimises for an install yet
    every = ok(await call(measure.app_optimization_event, "7001", adv, TIKTOK, "INSTALL", token,
                          available_only=False))["optimization_events"]
    assert [e["optimization_event"] for e in every] == ["ACTIVE"]
    assert every[0]["availability_status"] == "INACTIVE"
    await refused(40002, measure.app_optimization_event, "7001", adv, TIKTOK, "INSTALL", token,
                  objective="APP_PROMOTION")  # app_promotion_type is required then


async def test_apps_need_the_measurement_scope_the_tools_do_not(emu: Emu) -> None:
    api = official(emu)
    minted = await emu.ctl("POST", "token", {"withhold": ["pixels"]})
    token, adv = minted["access_token"], minted["advertiser_ids"][0]
    await refused(40001, sdk.MeasurementApi(api).app_list, adv, token)
    assert ok(await call(sdk.ToolApi(api).tool_language, adv, token))["languages"]


async def test_the_reference_sets_are_a_knob(emu: Emu) -> None:
    tools = sdk.ToolApi(official(emu))
    mine = [{"code": "eo", "name": "Esperanto"}]
    await emu.ctl("POST", "config", {"tool_reference": {"languages": mine}})
    langs = ok(await call(tools.tool_language, first_account(emu), emu.access_token))
    assert langs["languages"] == mine
