"""Contract: campaigns, ad groups, ads, creatives and identities against the emulator."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import business_api_client as sdk
import pytest

from core.tiktok import Advertiser, InvalidRequestError, TikTokClient
from tests.contract.conftest import Emu, ResponseChecker
from tests.contract.raw_api import Api
from tests.contract.test_official_sdk import call, ok
from tests.contract.test_official_sdk_aco import Setup, _setup


def tiny_png(width: int = 4, height: int = 4) -> bytes:
    """A valid PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


async def usd_advertiser(client: TikTokClient, token: str) -> Advertiser:
    """The first demo ad account that bills in USD."""
    ids = [a.advertiser_id for a in await client.get_authorized_advertisers(token)]
    advertisers = await client.get_advertisers(token, ids)
    return next(a for a in advertisers if a.currency == "USD")


def utc_text(when: datetime) -> str:
    """A UTC time as the API writes it (spec §1.7)."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


async def test_listings_with_fields_and_filters(emu: Emu, client: TikTokClient) -> None:
    token = emu.access_token
    ids = [a.advertiser_id for a in await client.get_authorized_advertisers(token)]
    for adv_id in ids:
        campaigns = await client.get_campaigns(token, adv_id)
        adgroups = await client.get_adgroups(token, adv_id)
        ads = await client.get_ads(token, adv_id)
        assert campaigns and adgroups and ads
        camp_ids = {c.campaign_id for c in campaigns}
        assert all(c.advertiser_id == adv_id and c.budget is not None for c in campaigns)
        assert all(isinstance(c.budget, Decimal) for c in campaigns)
        assert {g.campaign_id for g in adgroups} <= camp_ids
        assert {a.adgroup_id for a in ads} <= {g.adgroup_id for g in adgroups}
    adv_id = ids[0]
    every = await client.get_campaigns(token, adv_id, include_deleted=True)
    visible = await client.get_campaigns(token, adv_id)
    assert len(every) >= len(visible)
    some = sorted(c.campaign_id for c in visible)[:2]
    picked = await client.get_campaigns(
        token,
        adv_id,
        fields=["campaign_id", "campaign_name", "budget", "operation_status"],
        filtering={"campaign_ids": some},
    )
    assert sorted(c.campaign_id for c in picked) == some
    assert set(picked[0].raw) <= {"campaign_id", "campaign_name", "budget", "operation_status"}
    ads = await client.get_ads(
        token,
        adv_id,
        filtering={"campaign_ids": some},
        fields=["ad_id", "adgroup_id", "campaign_id", "ad_name"],
    )
    assert ads and {a.campaign_id for a in ads} <= set(some)


async def test_write_flow_and_pagination_over_1000(
    emu: Emu, client: TikTokClient, checker: ResponseChecker
) -> None:
    token = emu.access_token
    adv = await usd_advertiser(client, token)
    adv_id = adv.advertiser_id

    video = await client.upload_video_file(
        token, adv_id, b"\x00\x00\x00\x18ftypmp42" * 64, "contract_clip.mp4"
    )
    assert video.video_id and video.signature and video.width
    by_url = await client.upload_video_url(
        token, adv_id, "https://cdn.example.com/hook.mp4", "contract_url_clip.mp4"
    )
    assert by_url.video_id != video.video_id
    cover = await client.upload_image_file(token, adv_id, tiny_png(720, 1280), "contract_cover.png")
    assert (cover.width, cover.height) == (720, 1280)
    avatar = await client.upload_image_url(
        token, adv_id, "https://cdn.example.com/avatar.png", "contract_avatar.png"
    )
    videos = await client.get_video_info(token, adv_id, [video.video_id, by_url.video_id])
    assert {v.video_id for v in videos} == {video.video_id, by_url.video_id}
    images = await client.get_image_info(token, adv_id, [cover.image_id, avatar.image_id])
    assert {i.image_id for i in images} == {cover.image_id, avatar.image_id}

    identity_id = await client.create_identity(token, adv_id, "Contract Brand", avatar.image_id)
    identities = await client.get_identities(token, adv_id, identity_type="CUSTOMIZED_USER")
    assert identity_id in {i.identity_id for i in identities}

    campaign_id = await client.create_campaign(
        token,
        adv_id,
        {
            "campaign_name": "Contract | traffic",
            "objective_type": "TRAFFIC",
            "budget_mode": "BUDGET_MODE_DAY",
            "budget": Decimal("100"),
        },
    )
    start = datetime.now(UTC) + timedelta(minutes=5)
    adgroup_id = await client.create_adgroup(
        token,
        adv_id,
        {
            "campaign_id": campaign_id,
            "adgroup_name": "Contract | broad",
            "budget_mode": "BUDGET_MODE_DAY",
            "budget": 50,
            "schedule_type": "SCHEDULE_FROM_NOW",
            "schedule_start_time": utc_text(start),
            "optimization_goal": "CLICK",
            "billing_event": "CPC",
            "pacing": "PACING_MODE_SMOOTH",
            "bid_type": "BID_TYPE_NO_BID",
            "placement_type": "PLACEMENT_TYPE_NORMAL",
            "placements": ["PLACEMENT_TIKTOK"],
            "promotion_type": "WEBSITE",
            "location_ids": ["6252001"],
        },
    )
    creative: dict[str, Any] = {
        "ad_format": "SINGLE_VIDEO",
        "ad_text": "Contract test ad",
        "video_id": video.video_id,
        "image_ids": [cover.image_id],
        "identity_id": identity_id,
        "identity_type": "CUSTOMIZED_USER",
        "call_to_action": "LEARN_MORE",
        "landing_page_url": "https://shop.example.com/contract",
    }
    n_ads = 1010
    ad_ids = await client.create_ads(
        token,
        adv_id,
        adgroup_id,
        [{**creative, "ad_name": f"Contract ad {i}"} for i in range(n_ads)],
    )
    assert len(set(ad_ids)) == n_ads

    await emu.ctl("POST", "reset_stats")
    ads = await client.get_ads(token, adv_id, filtering={"adgroup_ids": [adgroup_id]})
    assert sorted(a.ad_id for a in ads) == sorted(ad_ids)
    assert (await emu.requests())["ad/get/"] == 2  # 1010 ads = pages of 1000 + 10

    changed = await client.update_campaign(
        token, adv_id, campaign_id, {"campaign_name": "Contract | renamed"}
    )
    assert changed.get("campaign_id") == campaign_id
    await client.update_adgroup(token, adv_id, adgroup_id, {"budget": 60})
    groups = await client.get_adgroups(token, adv_id, filtering={"adgroup_ids": [adgroup_id]})
    assert groups[0].budget == Decimal(60)
    updated = await client.update_ads(
        token, adv_id, adgroup_id, [{"ad_id": a, "ad_name": f"Renamed {a}"} for a in ad_ids[:25]]
    )
    assert list(updated) == list(ad_ids[:25])

    paused = await client.update_ad_status(token, adv_id, ad_ids[:45], "DISABLE")
    assert set(paused.ids) == set(ad_ids[:45]) and paused.status == "DISABLE"
    fresh = await client.get_ads(token, adv_id, filtering={"ad_ids": list(ad_ids[:45])})
    assert {a.operation_status for a in fresh} == {"DISABLE"}
    assert {a.ad_name for a in fresh if a.ad_id == ad_ids[0]} == {f"Renamed {ad_ids[0]}"}
    group_status = await client.update_adgroup_status(token, adv_id, [adgroup_id], "DISABLE")
    assert group_status.ids == (adgroup_id,)
    camp_status = await client.update_campaign_status(token, adv_id, [campaign_id], "DELETE")
    assert camp_status.ids == (campaign_id,) and camp_status.status == "DELETE"
    visible = await client.get_campaigns(token, adv_id, filtering={"campaign_ids": [campaign_id]})
    assert visible == []  # deleted objects are hidden by default, spec §4.0
    hidden = await client.get_campaigns(
        token, adv_id, include_deleted=True, filtering={"campaign_ids": [campaign_id]}
    )
    assert [c.campaign_name for c in hidden] == ["Contract | renamed"]
    assert {
        "file/video/ad/upload/",
        "file/image/ad/upload/",
        "identity/create/",
        "ad/create/",
        "ad/update/",
        "ad/status/update/",
    } <= checker.paths()


async def test_validation_error_is_not_retried(emu: Emu, client: TikTokClient) -> None:
    token = emu.access_token
    adv = await usd_advertiser(client, token)
    await emu.ctl("POST", "reset_stats")
    with pytest.raises(InvalidRequestError) as info:
        await client.create_campaign(
            token,
            adv.advertiser_id,
            {
                "campaign_name": "Too cheap",
                "objective_type": "TRAFFIC",
                "budget_mode": "BUDGET_MODE_DAY",
                "budget": 1,
            },
        )
    assert info.value.code == 40002 and "budget" in info.value.message
    assert (await emu.requests()) == {"campaign/create/": 1}


async def test_upload_signature_and_duplicate_name(emu: Emu, client: TikTokClient) -> None:
    token = emu.access_token
    adv = await usd_advertiser(client, token)
    await client.upload_image_file(token, adv.advertiser_id, tiny_png(), "dup.png")
    with pytest.raises(InvalidRequestError) as info:
        await client.upload_image_file(token, adv.advertiser_id, tiny_png(), "dup.png")
    assert info.value.code == 40911


FIXED_CLOCK = {"fixture": "demo", "now": "2026-11-30T12:00:00Z"}


async def _listed(api: Api, path: str, adv: str, key: str, **filtering: Any) -> set[str]:
    """The ids (``key``) a get answers for this filtering, every page in one."""
    body = await api.get(path, advertiser_id=adv, page_size=1000, filtering=filtering)
    assert body["code"] == 0, body
    return {str(row[key]) for row in body["data"]["list"]}


async def _refused_filter(api: Api, path: str, adv: str, **filtering: Any) -> None:
    """The get refuses this filtering with TikTok's parameter error."""
    body = await api.get(path, advertiser_id=adv, filtering=filtering)
    assert body["code"] == 40002 and body["data"] == {}, body
    assert next(iter(filtering)) in body["message"]


async def _filter_scene(emu: Emu) -> tuple[Setup, str, str, str, str]:
    """The ACO setup's campaign plus an app ad group (INSTALL, OCPM, a cost cap) with one ad,
    and in the CUSTOM (website) group an ad with a landing page and one with an instant page:
    (setup, app group, app ad, website ad, instant-page ad)."""
    s = await _setup(emu)
    app_group = ok(await call(sdk.AdgroupApi(s.api).adgroup_create, s.token,
                              body=sdk.AdgroupCreateBody(
        advertiser_id=s.adv, campaign_id=s.campaign_id, adgroup_name="App group",
        promotion_type="APP_ANDROID", placement_type="PLACEMENT_TYPE_AUTOMATIC",
        location_ids=["6252001"], budget_mode="BUDGET_MODE_DAY", budget=20.0,
        schedule_type="SCHEDULE_FROM_NOW", schedule_start_time="2026-11-30 13:00:00",
        optimization_goal="INSTALL", billing_event="OCPM", bid_type="BID_TYPE_CUSTOM",
        conversion_bid_price=1.0, pacing="PACING_MODE_SMOOTH")))["adgroup_id"]
    creative = {
        "ad_format": "SINGLE_VIDEO", "ad_text": "Try it today",
        "identity_id": s.identity["identity_id"], "identity_type": "CUSTOMIZED_USER",
        "video_id": s.video["video_id"], "image_ids": [s.cover], "call_to_action": "LEARN_MORE",
    }
    made = []
    for group, extra in ((app_group, {"ad_name": "Filter | app"}),
                         (s.custom_group, {"ad_name": "Filter | site",
                                           "landing_page_url": "https://example.com/offer"}),
                         (s.custom_group, {"ad_name": "Filter | page", "page_id": "7301",
                                           "landing_page_url": "https://example.com/offer"})):
        ids = ok(await call(sdk.AdApi(s.api).ad_create, s.token, body=sdk.AdCreateBody(
            advertiser_id=s.adv, adgroup_id=group, creatives=[{**creative, **extra}])))["ad_ids"]
        made.append(str(ids[0]))
    return s, str(app_group), made[0], made[1], made[2]


@pytest.mark.parametrize("emulator_options", [FIXED_CLOCK])
async def test_ad_get_honours_every_documented_filter(emu: Emu, api: Api) -> None:
    """FilteringAdGet (SDK repo python_sdk/docs, the installed SDK's billing_events; Go SDK
    model/ad/get.go): optimization_goal, billing_events and destination are the ad group's,
    campaign_system_origins and buying_types the campaign's, ad_name a fuzzy match."""
    s, _app_group, app_ad, site_ad, page_ad = await _filter_scene(emu)
    mine = {"campaign_ids": [s.campaign_id]}

    async def ads(**filtering: Any) -> set[str]:
        return await _listed(api, "ad/get/", s.adv, "ad_id", **mine, **filtering)

    assert await ads() == {app_ad, site_ad, page_ad}
    assert await ads(optimization_goal="INSTALL") == {app_ad}
    assert await ads(optimization_goal="CLICK") == {site_ad, page_ad}
    assert await ads(billing_events=["OCPM"]) == {app_ad}
    assert await ads(billing_events=["CPC", "CPM"]) == {site_ad, page_ad}
    assert await ads(destination="APP") == {app_ad}
    assert await ads(destination="WEBSITE") == {site_ad}
    assert await ads(destination="TIKTOK_INSTANT_PAGE") == {page_ad}
    assert await ads(destination="PHONE_CALL") == set()
    assert await ads(campaign_system_origins=["PROMOTE"]) == set()
    assert await ads(campaign_system_origins=["TT_ADS_PLATFORM", "PROMOTE"]) == {
        app_ad, site_ad, page_ad}
    assert await ads(buying_types=["RESERVATION_TOP_VIEW"]) == set()
    assert await ads(buying_types=["AUCTION"]) == {app_ad, site_ad, page_ad}
    assert await ads(ad_name="filter | P") == {page_ad}
    for bad in ({"optimization_goal": "NOPE"}, {"destination": "MOON"},
                {"billing_events": ["CPX"]}, {"campaign_system_origins": ["ELSEWHERE"]},
                {"ad_name": 7}):
        await _refused_filter(api, "ad/get/", s.adv, **bad)


@pytest.mark.parametrize("emulator_options", [FIXED_CLOCK])
async def test_adgroup_get_honours_every_documented_filter(emu: Emu, api: Api) -> None:
    """FilteringAdgroupGet (SDK repo python_sdk/docs; Go SDK model/adgroup/get.go):
    bid_strategy, promotion_type (the filter's own values), campaign_system_origins,
    split_test_enabled, beside the goal / billing / material-mode filters."""
    s, app_group, *_ = await _filter_scene(emu)
    mine = {"campaign_ids": [s.campaign_id]}
    web = {s.aco_group, s.custom_group}

    async def groups(**filtering: Any) -> set[str]:
        return await _listed(api, "adgroup/get/", s.adv, "adgroup_id", **mine, **filtering)

    assert await groups() == web | {app_group}
    assert await groups(bid_strategy="BID_STRATEGY_COST_CAP") == {app_group}
    assert await groups(bid_strategy="BID_STRATEGY_LOWEST_COST") == web
    assert await groups(promotion_type="APP") == {app_group}
    assert await groups(promotion_type="WEBSITE") == web
    assert await groups(promotion_type="INSTANT_FORM") == set()
    assert await groups(optimization_goal="INSTALL", billing_events=["OCPM"]) == {app_group}
    assert await groups(campaign_system_origins=["PROMOTE"]) == set()
    assert await groups(split_test_enabled=True) == set()
    assert await groups(split_test_enabled=False) == web | {app_group}
    assert await groups(creative_material_mode="DYNAMIC") == {s.aco_group}
    for bad in ({"bid_strategy": "BID_STRATEGY_CHEAP"}, {"promotion_type": "APP_ANDROID"},
                {"optimization_goal": "NOPE"}, {"campaign_system_origins": ["ELSEWHERE"]},
                {"split_test_enabled": "yes"}):
        await _refused_filter(api, "adgroup/get/", s.adv, **bad)


@pytest.mark.parametrize("emulator_options", [FIXED_CLOCK])
async def test_campaign_get_honours_every_documented_filter(emu: Emu, api: Api) -> None:
    """FilteringCampaignGet (SDK repo python_sdk/docs, the installed SDK's
    targeting_broaden_required; Go SDK model/campaign/get.go)."""
    s, *_ = await _filter_scene(emu)
    shop = await api.post("campaign/create/", {
        "advertiser_id": s.adv, "campaign_name": "Filter | shop", "objective_type":
        "PRODUCT_SALES", "budget_mode": "BUDGET_MODE_INFINITE", "campaign_product_source":
        "CATALOG", "sales_destination": "WEBSITE", "campaign_type": "IOS14_CAMPAIGN"})
    assert shop["code"] == 0, shop
    shop_id = str(shop["data"]["campaign_id"])
    both = {s.campaign_id, shop_id}

    async def camps(**filtering: Any) -> set[str]:
        return both & await _listed(api, "campaign/get/", s.adv, "campaign_id", **filtering)

    assert await camps() == both
    assert await camps(optimization_goal="INSTALL") == {s.campaign_id}  # its app ad group
    assert await camps(campaign_type="IOS14_CAMPAIGN") == {shop_id}
    assert await camps(campaign_type="REGULAR_CAMPAIGN") == {s.campaign_id}
    assert await camps(campaign_product_source="CATALOG") == {shop_id}
    assert await camps(campaign_product_source="STORE") == set()
    assert await camps(sales_destination="WEBSITE") == {shop_id}
    assert await camps(campaign_system_origins=["PROMOTE"]) == set()
    assert await camps(buying_types=["RESERVATION_TOP_VIEW"]) == set()
    assert await camps(is_smart_performance_campaign=True) == set()
    assert await camps(is_smart_performance_campaign=False) == both
    assert await camps(split_test_enabled=False) == both
    assert await camps(targeting_broaden_required=True) == set()
    assert await camps(creative_campaign_type=["SOMETHING"]) == set()
    assert await camps(gmv_max_promotion_types=["PRODUCT_GMV_MAX"]) == set()
    for bad in ({"campaign_type": "ODD_CAMPAIGN"}, {"optimization_goal": "NOPE"},
                {"campaign_product_source": "CATALOG", "objective_type": "TRAFFIC"},
                {"sales_destination": "MOON"}, {"campaign_system_origins": ["ELSEWHERE"]},
                {"is_smart_performance_campaign": "no"},
                {"gmv_max_promotion_types": ["ALL_GMV_MAX"]}):
        await _refused_filter(api, "campaign/get/", s.adv, **bad)
