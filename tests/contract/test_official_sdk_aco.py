"""Automated Creative Optimization through TikTok's own Python SDK (`business_api_client`,
unchanged, only its host pointed at the emulator): ad/aco/create on a DYNAMIC ad group with the
account's own video, cover, image and identity; ad/aco/get reading it back with material ids;
the ad TikTok generates from it in ad/get (`is_aco: true`); ad/aco/update; one material switched
off and on by ad/aco/material_status/update; and the refusals (another account's materials, a
non-ACO ad group, missing required fields, a second create, an unknown material)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp
import business_api_client as sdk
import pytest
from business_api_client.tiktok_business.tiktok_exceptions import TiktokSDKError

from tests.contract.conftest import Emu
from tests.contract.test_official_sdk import call, first_account, official, ok


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    """A fixed clock, so schedules and names are the same on every run."""
    return {"fixture": "demo", "now": "2026-11-30T12:00:00Z"}


@dataclass
class Setup:
    """What an ACO launch needs, made through the SDK."""

    api: sdk.ApiClient
    token: str
    adv: str
    campaign_id: str
    aco_group: str
    custom_group: str
    identity: dict[str, Any]
    video: dict[str, Any]
    cover: str
    image: str


async def _group(api: sdk.ApiClient, token: str, adv: str, campaign_id: str, name: str,
                 mode: str) -> str:
    """An ad group with this creative_material_mode."""
    body = sdk.AdgroupCreateBody(
        advertiser_id=adv, campaign_id=campaign_id, adgroup_name=name,
        promotion_type="WEBSITE", placement_type="PLACEMENT_TYPE_AUTOMATIC",
        location_ids=["6252001"], budget_mode="BUDGET_MODE_DAY", budget=20.0,
        schedule_type="SCHEDULE_FROM_NOW", schedule_start_time="2026-11-30 13:00:00",
        optimization_goal="CLICK", billing_event="CPC", bid_type="BID_TYPE_NO_BID",
        pacing="PACING_MODE_SMOOTH", creative_material_mode=mode,
    )
    group = ok(await call(sdk.AdgroupApi(api).adgroup_create, token, body=body))
    assert group["creative_material_mode"] == mode
    return str(group["adgroup_id"])


async def _setup(emu: Emu) -> Setup:
    """A campaign with a DYNAMIC and a CUSTOM ad group, and the account's media."""
    api, token, adv = official(emu), emu.access_token, first_account(emu)
    camp = ok(await call(sdk.CampaignCreationApi(api).campaign_create, token,
                         body=sdk.CampaignCreateBody(
                             advertiser_id=adv, campaign_name="SDK | ACO",
                             objective_type="TRAFFIC", budget_mode="BUDGET_MODE_DAY",
                             budget=50.0)))
    aco_group = await _group(api, token, adv, camp["campaign_id"], "ACO group", "DYNAMIC")
    custom_group = await _group(api, token, adv, camp["campaign_id"], "Custom group", "CUSTOM")
    identities = ok(await call(sdk.IdentityApi(api).identity_get, adv, token))["identity_list"]
    identity = next(i for i in identities if i["identity_type"] == "CUSTOMIZED_USER")
    videos = ok(await call(sdk.FileApi(api).ad_video_search, adv, token))["list"]
    files = sdk.FileApi(api)
    cover = ok(await call(files.ad_image_upload, token, advertiser_id=adv,
                          upload_type="UPLOAD_BY_URL", image_url=videos[0]["video_cover_url"]))
    image = ok(await call(files.ad_image_upload, token, advertiser_id=adv,
                          upload_type="UPLOAD_BY_URL", image_url=videos[1]["video_cover_url"]))
    return Setup(api, token, adv, camp["campaign_id"], aco_group, custom_group, identity,
                 videos[0], cover["image_id"], image["image_id"])


def _media(s: Setup, video_id: str | None = None, image: str | None = None,
           identity_id: str | None = None) -> sdk.AdAcoBodyMediaInfoList:
    """A video with its cover, or (``image``) an image material, as the SDK's models send it."""
    ident = identity_id or s.identity["identity_id"]
    if image is not None:
        return sdk.AdAcoBodyMediaInfoList(media_info=sdk.AdAcoBodyMediaInfo(
            identity_id=ident, identity_type="CUSTOMIZED_USER",
            image_info=[sdk.AdAcoBodyMediaInfoImageInfo(web_uri=image, file_name="still")]))
    return sdk.AdAcoBodyMediaInfoList(media_info=sdk.AdAcoBodyMediaInfo(
        identity_id=ident, identity_type="CUSTOMIZED_USER",
        video_info=sdk.AdAcoBodyMediaInfoVideoInfo(video_id=video_id or s.video["video_id"],
                                                   file_name="hook"),
        image_info=[sdk.AdAcoBodyMediaInfoImageInfo(web_uri=s.cover)]))


def _body(s: Setup, **over: Any) -> dict[str, Any]:
    """The keyword arguments of a complete AdAcoBody."""
    kw: dict[str, Any] = {
        "advertiser_id": s.adv, "adgroup_id": s.aco_group,
        "media_info_list": [_media(s), _media(s, image=s.image)],
        "title_list": [sdk.AdAcoBodyTitleList(title="Try it today"),
                       sdk.AdAcoBodyTitleList(title="Made for you")],
        "call_to_action_list": [sdk.AdAcoBodyCallToActionList(call_to_action="LEARN_MORE"),
                                sdk.AdAcoBodyCallToActionList(call_to_action="SHOP_NOW")],
        "landing_page_urls": [sdk.AdAcoBodyLandingPageUrls(
            landing_page_url="https://example.com/offer")],
        "display_name_list": [sdk.AdAcoBodyDisplayNameList(landing_page_name="Example")],
        "common_material": sdk.AdAcoBodyCommonMaterial(ad_name="SDK | ACO ad"),
    }
    kw.update(over)
    return kw


async def _refused(fn: Any, *args: Any, match: str, **kwargs: Any) -> None:
    """The call comes back as the SDK's exception carrying this text."""
    with pytest.raises(TiktokSDKError, match=match):
        await call(fn, *args, **kwargs)


async def test_aco_create_reads_back_in_aco_get_and_ad_get(emu: Emu) -> None:
    s = await _setup(emu)
    aco = sdk.AdAcoApi(s.api)
    made = ok(await call(aco.ad_aco_create, s.token, body=sdk.AdAcoBody(**_body(s))))
    assert made["advertiser_id"] == s.adv and made["adgroup_id"] == s.aco_group
    media = [m["media_info"] for m in made["media_info_list"]]
    assert len(media) == 2
    video, still = media
    assert video["video_info"] == {"video_id": s.video["video_id"], "file_name": "hook"}
    assert video["image_info"] == [{"web_uri": s.cover, "file_name": ""}]
    assert still["video_info"] is None and still["image_info"][0]["web_uri"] == s.image
    assert all(m["identity_id"] == s.identity["identity_id"] for m in media)
    titles = made["title_list"]
    assert [t["title"] for t in titles] == ["Try it today", "Made for you"]
    ids = [m["material_id"] for m in media + titles]
    assert all(isinstance(i, str) and i for i in ids) and len(set(ids)) == 4
    assert {m["material_operation_status"] for m in media + titles} == {"ENABLE"}
    assert [c["call_to_action"] for c in made["call_to_action_list"]] == ["LEARN_MORE",
                                                                        "SHOP_NOW"]
    assert made["common_material"]["ad_name"] == "SDK | ACO ad"
    # A video's or image's material id is the one the account's library gives it.
    files = sdk.FileApi(s.api)
    vinfo = ok(await call(files.ad_video_info, s.adv, [s.video["video_id"]], s.token))["list"]
    iinfo = ok(await call(files.ad_image_info, s.adv, [s.image], s.token))["list"]
    assert (video["material_id"], still["material_id"]) == (vinfo[0]["material_id"],
                                                            iinfo[0]["material_id"])

    got = ok(await call(aco.ad_aco_get, s.adv, [s.aco_group, s.custom_group], s.token))
    assert got["list"] == [made]  # the CUSTOM ad group has no ACO creatives

    ads = ok(await call(sdk.AdApi(s.api).ad_get, s.adv, s.token, page_size=1000))["list"]
    [ad] = [a for a in ads if a["adgroup_id"] == s.aco_group]
    assert ad["is_aco"] is True and ad["campaign_id"] == s.campaign_id
    assert ad["ad_name"] == "SDK | ACO ad" and ad["video_id"] == s.video["video_id"]
    assert ad["ad_texts"] == ["Try it today", "Made for you"]
    assert ad["landing_page_url"] == "https://example.com/offer"
    assert not any(a["is_aco"] for a in ads if a["adgroup_id"] != s.aco_group)

    bare = ok(await call(aco.ad_aco_get, s.adv, [s.aco_group], s.token,
                         exclude_field_types_in_response=["NULL_FIELD"]))["list"][0]
    assert "video_info" not in bare["media_info_list"][1]["media_info"]
    assert "call_to_action_id" not in bare["common_material"]

    await _refused(aco.ad_aco_create, s.token, body=sdk.AdAcoBody(**_body(s)),
                   match="40002.*already has ACO")  # one ACO ad per ad group: update it


async def test_aco_update_and_material_status(emu: Emu) -> None:
    s = await _setup(emu)
    aco = sdk.AdAcoApi(s.api)
    made = ok(await call(aco.ad_aco_create, s.token, body=sdk.AdAcoBody(**_body(s))))
    first_text = made["title_list"][0]

    switch = sdk.MaterialStatusUpdateBody(advertiser_id=s.adv, ad_group_id=s.aco_group,
                                          material_ids=[first_text["material_id"]],
                                          material_status="DISABLE")
    done = ok(await call(aco.ad_aco_material_status_update, s.token, body=switch))
    assert done["ad_group_id"] == s.aco_group
    assert done["material_ids"] == [first_text["material_id"]]
    assert done["material_status"] == ["DISABLE"]
    got = ok(await call(aco.ad_aco_get, s.adv, [s.aco_group], s.token))["list"][0]
    status = {t["title"]: t["material_operation_status"] for t in got["title_list"]}
    assert status == {"Try it today": "DISABLE", "Made for you": "ENABLE"}
    ads = ok(await call(sdk.AdApi(s.api).ad_get, s.adv, s.token, page_size=1000))["list"]
    [ad] = [a for a in ads if a["adgroup_id"] == s.aco_group]
    assert ad["ad_texts"] == ["Made for you"] and ad["ad_text"] == "Made for you"

    # The last enabled ad text stays on.
    last = sdk.MaterialStatusUpdateBody(advertiser_id=s.adv, ad_group_id=s.aco_group,
                                        material_ids=[got["title_list"][1]["material_id"]],
                                        material_status="DISABLE")
    await _refused(aco.ad_aco_material_status_update, s.token, body=last, match="40002")
    await _refused(aco.ad_aco_material_status_update, s.token, match="40002",
                   body=sdk.MaterialStatusUpdateBody(advertiser_id=s.adv,
                                                     ad_group_id=s.aco_group,
                                                     material_ids=["123"],
                                                     material_status="ENABLE"))

    # A full update: one text kept (its id and DISABLE status carry over), one new, the image
    # dropped; the generated ad follows.
    body = sdk.AdAcoUpdateBody(**_body(
        s, media_info_list=[_media(s)],
        title_list=[sdk.AdAcoBodyTitleList(title="Try it today"),
                    sdk.AdAcoBodyTitleList(title="New angle")]))
    updated = ok(await call(aco.ad_aco_update, s.token, body=body))
    assert len(updated["media_info_list"]) == 1
    texts = {t["title"]: t for t in updated["title_list"]}
    assert texts["Try it today"]["material_id"] == first_text["material_id"]
    assert texts["Try it today"]["material_operation_status"] == "DISABLE"
    assert texts["New angle"]["material_operation_status"] == "ENABLE"
    assert ok(await call(aco.ad_aco_get, s.adv, [s.aco_group], s.token))["list"] == [updated]
    ads = ok(await call(sdk.AdApi(s.api).ad_get, s.adv, s.token, page_size=1000))["list"]
    [ad] = [a for a in ads if a["adgroup_id"] == s.aco_group]
    assert ad["ad_texts"] == ["New angle"]

    back = sdk.MaterialStatusUpdateBody(advertiser_id=s.adv, ad_group_id=s.aco_group,
                                        material_ids=[first_text["material_id"]],
                                        material_status="ENABLE")
    ok(await call(aco.ad_aco_material_status_update, s.token, body=back))
    got = ok(await call(aco.ad_aco_get, s.adv, [s.aco_group], s.token))["list"][0]
    assert {t["material_operation_status"] for t in got["title_list"]} == {"ENABLE"}

    # Update before create: the CUSTOM ad group is no ACO ad group at all.
    await _refused(aco.ad_aco_update, s.token, match="40002.*DYNAMIC",
                   body=sdk.AdAcoUpdateBody(**_body(s, adgroup_id=s.custom_group)))


async def test_aco_refusals(emu: Emu) -> None:
    s = await _setup(emu)
    aco = sdk.AdAcoApi(s.api)
    create = aco.ad_aco_create
    world = emu.state
    theirs_video = next(v for v in world.videos.values() if v.advertiser_id != s.adv)
    theirs_image = next(i for i in world.images.values() if i.advertiser_id != s.adv)
    theirs_ident = next(i for i in world.identities.values()
                        if i.advertiser_id != s.adv and i.identity_type == "CUSTOMIZED_USER")

    def body(**over: Any) -> sdk.AdAcoBody:
        return sdk.AdAcoBody(**_body(s, **over))

    # Another account's video, image and identity (ad/create answers a foreign video 40053).
    await _refused(create, s.token, match="40053",
                   body=body(media_info_list=[_media(s, video_id=theirs_video.video_id)]))
    await _refused(create, s.token, match="40002.*image",
                   body=body(media_info_list=[_media(s, image=theirs_image.image_id)]))
    await _refused(create, s.token, match="40002.*identity_id",
                   body=body(media_info_list=[_media(s, identity_id=theirs_ident.identity_id)]))
    # A CUSTOM ad group, an unknown one, another account.
    await _refused(create, s.token, match="40002.*DYNAMIC", body=body(adgroup_id=s.custom_group))
    await _refused(create, s.token, match="40002", body=body(adgroup_id="1"))
    await _refused(create, s.token, match="40001",
                   body=body(advertiser_id="7000000000000000000"))
    # Missing required fields.
    await _refused(create, s.token, match="40002.*adgroup_id", body=body(adgroup_id=None))
    await _refused(create, s.token, match="40002.*media_info_list",
                   body=body(media_info_list=None))
    await _refused(create, s.token, match="40002.*title_list", body=body(title_list=None))
    await _refused(create, s.token, match="40002.*call_to_action",
                   body=body(call_to_action_list=None))
    await _refused(create, s.token, match="40002.*landing_page_urls",
                   body=body(landing_page_urls=None))
    no_cover = sdk.AdAcoBodyMediaInfoList(media_info=sdk.AdAcoBodyMediaInfo(
        identity_id=s.identity["identity_id"], identity_type="CUSTOMIZED_USER",
        video_info=sdk.AdAcoBodyMediaInfoVideoInfo(video_id=s.video["video_id"])))
    await _refused(create, s.token, match="40002.*cover", body=body(media_info_list=[no_cover]))
    await _refused(create, s.token, match="40002.*call_to_action",
                   body=body(call_to_action_list=[
                       sdk.AdAcoBodyCallToActionList(call_to_action="NOT_A_CTA")]))
    # Nothing was made by the refused calls; a CTA portfolio instead of a CTA list is enough.
    assert ok(await call(aco.ad_aco_get, s.adv, [s.aco_group], s.token))["list"] == []
    made = ok(await call(create, s.token, body=body(
        call_to_action_list=None,
        common_material=sdk.AdAcoBodyCommonMaterial(call_to_action_id="7080120957230238722"))))
    assert made["call_to_action_list"] == []
    assert made["common_material"]["call_to_action_id"] == "7080120957230238722"

    # get: adgroup_ids is required, 1–100 of this account's ad groups.
    await _refused(aco.ad_aco_get, s.adv, [], s.token, match="40002")
    await _refused(aco.ad_aco_get, s.adv, [str(i) for i in range(101)], s.token,
                   match="400(02|11)")
    foreign = next(g.adgroup_id for g in world.adgroups.values() if g.advertiser_id != s.adv)
    await _refused(aco.ad_aco_get, s.adv, [foreign], s.token, match="40002")
    # material status: one material id per call, of this ad group.
    both = [t["material_id"] for t in made["title_list"]]
    await _refused(aco.ad_aco_material_status_update, s.token, match="40002",
                   body=sdk.MaterialStatusUpdateBody(advertiser_id=s.adv,
                                                     ad_group_id=s.aco_group,
                                                     material_ids=both,
                                                     material_status="DISABLE"))
    await _refused(aco.ad_aco_material_status_update, s.token, match="40002",
                   body=sdk.MaterialStatusUpdateBody(advertiser_id=s.adv,
                                                     ad_group_id=s.aco_group,
                                                     material_ids=both[:1],
                                                     material_status="PAUSE"))
    await _refused(aco.ad_aco_get, s.adv, [s.aco_group], "not-a-token", match="40105")


async def test_the_generated_ad_delivers_and_reports_like_any_ad(emu: Emu) -> None:
    s = await _setup(emu)
    made = ok(await call(sdk.AdAcoApi(s.api).ad_aco_create, s.token,
                         body=sdk.AdAcoBody(**_body(s))))
    assert made["adgroup_id"] == s.aco_group
    ads = ok(await call(sdk.AdApi(s.api).ad_get, s.adv, s.token, page_size=1000))["list"]
    [ad] = [a for a in ads if a["adgroup_id"] == s.aco_group]
    # Two days pass (the emulator's clock knob).
    async with aiohttp.ClientSession() as http, http.post(
        f"{emu.url}/_emulator/clock", json={"advance_seconds": 2 * 86400}
    ) as reply:
        assert reply.status == 200
    data = ok(await call(
        sdk.ReportingApi(s.api).report_integrated_get, s.adv, "BASIC",
        ["ad_id", "stat_time_day"], s.token, data_level="AUCTION_AD",
        start_date="2026-12-01", end_date="2026-12-01", metrics=["spend", "impressions"],
        page_size=1000,
    ))
    [row] = [r for r in data["list"] if r["dimensions"]["ad_id"] == ad["ad_id"]]
    assert Decimal(row["metrics"]["spend"]) > 0 and int(row["metrics"]["impressions"]) > 0
    # is_aco is an ad-group attribute (report_catalogue.csv): "true" for the ACO ad group only.
    groups = ok(await call(
        sdk.ReportingApi(s.api).report_integrated_get, s.adv, "BASIC",
        ["adgroup_id", "stat_time_day"], s.token, data_level="AUCTION_ADGROUP",
        start_date="2026-12-01", end_date="2026-12-01", metrics=["is_aco"], page_size=1000,
    ))["list"]
    flags = {r["dimensions"]["adgroup_id"]: r["metrics"]["is_aco"] for r in groups}
    assert flags[s.aco_group] == "true"
    assert {f for g, f in flags.items() if g != s.aco_group} == {"false"}


async def test_a_spark_post_is_a_material_under_its_tiktok_identity(emu: Emu) -> None:
    s = await _setup(emu)
    aco = sdk.AdAcoApi(s.api)
    identities = ok(await call(sdk.IdentityApi(s.api).identity_get, s.adv, s.token,
                               identity_type="TT_USER"))["identity_list"]
    tt_user = identities[0]["identity_id"]
    item = "7300000000000000001"

    def spark(identity_id: str, identity_type: str) -> sdk.AdAcoBodyMediaInfoList:
        return sdk.AdAcoBodyMediaInfoList(media_info=sdk.AdAcoBodyMediaInfo(
            tiktok_item_id=item, identity_id=identity_id, identity_type=identity_type))

    # A Spark post needs a TikTok identity (AUTH_CODE / TT_USER), not a custom one.
    await _refused(aco.ad_aco_create, s.token, match="40002.*identity_type",
                   body=sdk.AdAcoBody(**_body(s, media_info_list=[
                       spark(s.identity["identity_id"], "CUSTOMIZED_USER")])))
    made = ok(await call(aco.ad_aco_create, s.token, body=sdk.AdAcoBody(**_body(
        s, media_info_list=[spark(tt_user, "TT_USER")]))))
    [media] = [m["media_info"] for m in made["media_info_list"]]
    assert media["tiktok_item_id"] == item and media["identity_id"] == tt_user
    assert media["identity_type"] == "TT_USER" and media["material_id"]
    ads = ok(await call(sdk.AdApi(s.api).ad_get, s.adv, s.token, page_size=1000))["list"]
    [ad] = [a for a in ads if a["adgroup_id"] == s.aco_group]
    assert (ad["tiktok_item_id"], ad["identity_id"], ad["video_id"]) == (item, tt_user, None)


async def test_a_patch_update_changes_only_the_lists_sent(emu: Emu) -> None:
    """``patch_update`` (Go SDK UpdateRequest; the official SDK's model cannot send it, so the
    request goes out as plain JSON)."""
    s = await _setup(emu)
    made = ok(await call(sdk.AdAcoApi(s.api).ad_aco_create, s.token,
                         body=sdk.AdAcoBody(**_body(s))))
    body = {"advertiser_id": s.adv, "adgroup_id": s.aco_group, "patch_update": True,
            "title_list": [{"title": "Only this text"}]}
    async with aiohttp.ClientSession() as http, http.post(
        f"{emu.url}/open_api/v1.3/ad/aco/update/", json=body,
        headers={"Access-Token": s.token},
    ) as reply:
        answer = await reply.json()
    assert answer["code"] == 0, answer
    patched = answer["data"]
    assert [t["title"] for t in patched["title_list"]] == ["Only this text"]
    assert patched["media_info_list"] == made["media_info_list"]
    assert patched["landing_page_urls"] == made["landing_page_urls"]
    # Without patch_update the body is the whole ACO ad: a texts-only update is refused.
    body["patch_update"] = False
    async with aiohttp.ClientSession() as http, http.post(
        f"{emu.url}/open_api/v1.3/ad/aco/update/", json=body,
        headers={"Access-Token": s.token},
    ) as reply:
        refused = await reply.json()
    assert refused["code"] == 40002 and "media_info_list" in refused["message"]
    assert refused["data"] == {}


async def test_aco_ads_switch_by_aco_ad_ids_and_filter_by_material_mode(emu: Emu) -> None:
    s = await _setup(emu)
    ads_api = sdk.AdApi(s.api)
    made = ok(await call(sdk.AdAcoApi(s.api).ad_aco_create, s.token,
                         body=sdk.AdAcoBody(**_body(s))))
    # filtering.creative_material_mode: the ad group's mode (DYNAMIC = ACO) picks the ads.
    dynamic = ok(await call(ads_api.ad_get, s.adv, s.token, page_size=1000,
                            filtering={"creative_material_mode": "DYNAMIC"}))["list"]
    [aco_ad] = dynamic
    assert aco_ad["adgroup_id"] == s.aco_group and aco_ad["is_aco"] is True
    custom = ok(await call(ads_api.ad_get, s.adv, s.token, page_size=1000,
                           filtering={"creative_material_mode": "CUSTOM"}))["list"]
    assert custom and not any(a["is_aco"] for a in custom)
    every = ok(await call(ads_api.ad_get, s.adv, s.token, page_size=1000))["list"]
    assert {a["ad_id"] for a in every} == {a["ad_id"] for a in custom} | {aco_ad["ad_id"]}
    await _refused(ads_api.ad_get, s.adv, s.token,
                   filtering={"creative_material_mode": "ROBOT"}, match="40002")
    groups = sdk.AdgroupApi(s.api)
    dyn_groups = ok(await call(groups.adgroup_get, s.adv, s.token, page_size=1000,
                               filtering={"creative_material_mode": "DYNAMIC"}))["list"]
    assert [g["adgroup_id"] for g in dyn_groups] == [s.aco_group]
    custom_groups = ok(await call(groups.adgroup_get, s.adv, s.token, page_size=1000,
                                  filtering={"creative_material_mode": "CUSTOM"}))["list"]
    assert s.custom_group in {g["adgroup_id"] for g in custom_groups}
    assert s.aco_group not in {g["adgroup_id"] for g in custom_groups}

    # aco_ad_ids switch the ACO ad; the status reads back in ad/get, the materials stay.
    pause = sdk.AdStatusUpdateBody(advertiser_id=s.adv, ad_ids=[], aco_ad_ids=[aco_ad["ad_id"]],
                                   operation_status="DISABLE")
    done = ok(await call(ads_api.ad_status_update, s.token, body=pause))
    assert done == {"ad_ids": [], "aco_ad_ids": [aco_ad["ad_id"]], "status": "DISABLE"}
    [back] = ok(await call(ads_api.ad_get, s.adv, s.token,
                           filtering={"ad_ids": [aco_ad["ad_id"]]}))["list"]
    assert (back["operation_status"], back["secondary_status"]) == ("DISABLE",
                                                                     "AD_STATUS_DISABLE")
    got = ok(await call(sdk.AdAcoApi(s.api).ad_aco_get, s.adv, [s.aco_group], s.token))["list"]
    assert got == [made]
    resume = sdk.AdStatusUpdateBody(advertiser_id=s.adv, aco_ad_ids=[aco_ad["ad_id"]],
                                    operation_status="ENABLE")
    assert ok(await call(ads_api.ad_status_update, s.token, body=resume))["status"] == "ENABLE"
    [back] = ok(await call(ads_api.ad_get, s.adv, s.token,
                           filtering={"ad_ids": [aco_ad["ad_id"]]}))["list"]
    assert back["operation_status"] == "ENABLE"

    # The refusals: DELETE is not for ACO ads; an ordinary ad is no ACO ad; one list is needed.
    for body, match in (
        (sdk.AdStatusUpdateBody(advertiser_id=s.adv, aco_ad_ids=[aco_ad["ad_id"]],
                                operation_status="DELETE"), "40002.*ENABLE and DISABLE"),
        (sdk.AdStatusUpdateBody(advertiser_id=s.adv, ad_ids=[aco_ad["ad_id"]],
                                operation_status="DELETE"), "40002.*ENABLE and DISABLE"),
        (sdk.AdStatusUpdateBody(advertiser_id=s.adv, aco_ad_ids=[custom[0]["ad_id"]],
                                operation_status="DISABLE"), "40002.*not an ACO ad"),
        (sdk.AdStatusUpdateBody(advertiser_id=s.adv, operation_status="DISABLE"),
         "40002.*aco_ad_ids"),
    ):
        await _refused(ads_api.ad_status_update, s.token, body=body, match=match)
    [back] = ok(await call(ads_api.ad_get, s.adv, s.token,
                           filtering={"ad_ids": [aco_ad["ad_id"]]}))["list"]
    assert back["operation_status"] == "ENABLE"  # nothing changed by the refused calls


async def test_ordinary_ad_calls_leave_aco_ad_groups_to_the_aco_endpoints(emu: Emu) -> None:
    s = await _setup(emu)
    ads_api = sdk.AdApi(s.api)
    creative = {
        "ad_name": "SDK | custom", "ad_format": "SINGLE_VIDEO", "ad_text": "Try it today",
        "identity_id": s.identity["identity_id"], "identity_type": "CUSTOMIZED_USER",
        "video_id": s.video["video_id"], "image_ids": [s.cover], "call_to_action": "LEARN_MORE",
        "landing_page_url": "https://example.com/offer",
    }
    # The same creative is made in the CUSTOM ad group and refused in the DYNAMIC one.
    made = ok(await call(ads_api.ad_create, s.token, body=sdk.AdCreateBody(
        advertiser_id=s.adv, adgroup_id=s.custom_group, creatives=[creative])))
    assert len(made["ad_ids"]) == 1
    await _refused(ads_api.ad_create, s.token, body=sdk.AdCreateBody(
        advertiser_id=s.adv, adgroup_id=s.aco_group, creatives=[creative]),
        match="40002.*/ad/aco/create/")
    ok(await call(sdk.AdAcoApi(s.api).ad_aco_create, s.token, body=sdk.AdAcoBody(**_body(s))))
    [aco_ad] = [a for a in ok(await call(ads_api.ad_get, s.adv, s.token, page_size=1000))["list"]
                if a["adgroup_id"] == s.aco_group]
    assert aco_ad["is_aco"] is True
    await _refused(ads_api.ad_update, s.token, body=sdk.AdUpdateBody(
        advertiser_id=s.adv, adgroup_id=s.aco_group,
        creatives=[{"ad_id": aco_ad["ad_id"], "ad_name": "renamed"}]),
        match="40002.*/ad/aco/update/")
    [back] = ok(await call(ads_api.ad_get, s.adv, s.token,
                           filtering={"ad_ids": [aco_ad["ad_id"]]}))["list"]
    assert back["ad_name"] == "SDK | ACO ad"


async def test_adgroup_create_refuses_an_unknown_creative_material_mode(emu: Emu) -> None:
    """creative_material_mode is CUSTOM, DYNAMIC or SMART_CREATIVE (Go SDK
    model/adgroup/create.go); anything else is TikTok's parameter error and makes nothing."""
    s = await _setup(emu)
    groups = sdk.AdgroupApi(s.api)
    before = ok(await call(groups.adgroup_get, s.adv, s.token, page_size=1000))["page_info"]
    with pytest.raises(TiktokSDKError, match=r"40002.*creative_material_mode"):
        await _group(s.api, s.token, s.adv, s.campaign_id, "Robot group", "ROBOT")
    after = ok(await call(groups.adgroup_get, s.adv, s.token, page_size=1000))["page_info"]
    assert after["total_number"] == before["total_number"]
    smart = await _group(s.api, s.token, s.adv, s.campaign_id, "Smart group", "SMART_CREATIVE")
    [got] = ok(await call(groups.adgroup_get, s.adv, s.token,
                          filtering={"adgroup_ids": [smart]}))["list"]
    assert got["creative_material_mode"] == "SMART_CREATIVE"


async def test_adgroup_update_switches_the_material_mode_while_the_group_has_no_ads(
    emu: Emu,
) -> None:
    """AdgroupUpdateBody.creative_material_mode (the installed SDK): applied and validated; the
    mode decides which endpoint makes the ads, so it changes only while there are none."""
    s = await _setup(emu)
    groups = sdk.AdgroupApi(s.api)

    def update(group: str, mode: str) -> sdk.AdgroupUpdateBody:
        return sdk.AdgroupUpdateBody(advertiser_id=s.adv, adgroup_id=group,
                                     creative_material_mode=mode)

    await _refused(groups.adgroup_update, s.token, body=update(s.custom_group, "ROBOT"),
                   match="40002.*creative_material_mode")
    done = ok(await call(groups.adgroup_update, s.token, body=update(s.custom_group, "DYNAMIC")))
    assert done["creative_material_mode"] == "DYNAMIC"
    [got] = ok(await call(groups.adgroup_get, s.adv, s.token,
                          filtering={"adgroup_ids": [s.custom_group]}))["list"]
    assert got["creative_material_mode"] == "DYNAMIC"
    # Now an ACO ad group: its ads come from ad/aco/create; then the mode is fixed.
    ok(await call(sdk.AdAcoApi(s.api).ad_aco_create, s.token,
                  body=sdk.AdAcoBody(**_body(s, adgroup_id=s.custom_group))))
    await _refused(groups.adgroup_update, s.token, body=update(s.custom_group, "CUSTOM"),
                   match="40002.*already has ads")
    # The other way: an ordinary ad keeps a CUSTOM group out of ACO.
    plain = await _group(s.api, s.token, s.adv, s.campaign_id, "Plain group", "CUSTOM")
    creative = {
        "ad_name": "SDK | plain", "ad_format": "SINGLE_VIDEO", "ad_text": "Try it today",
        "identity_id": s.identity["identity_id"], "identity_type": "CUSTOMIZED_USER",
        "video_id": s.video["video_id"], "image_ids": [s.cover], "call_to_action": "LEARN_MORE",
        "landing_page_url": "https://example.com/offer",
    }
    ok(await call(sdk.AdApi(s.api).ad_create, s.token, body=sdk.AdCreateBody(
        advertiser_id=s.adv, adgroup_id=plain, creatives=[creative])))
    await _refused(groups.adgroup_update, s.token, body=update(plain, "DYNAMIC"),
                   match="40002.*already has ads")
    [got] = ok(await call(groups.adgroup_get, s.adv, s.token,
                          filtering={"adgroup_ids": [plain]}))["list"]
    assert got["creative_material_mode"] == "CUSTOM"


async def _aco_made(s: Setup) -> dict[str, Any]:
    """ACO creatives on the setup's DYNAMIC ad group, served by ad/aco/get."""
    aco = sdk.AdAcoApi(s.api)
    made = ok(await call(aco.ad_aco_create, s.token, body=sdk.AdAcoBody(**_body(s))))
    assert ok(await call(aco.ad_aco_get, s.adv, [s.aco_group], s.token))["list"] == [made]
    return made


async def test_a_deleted_aco_ad_group_is_no_longer_served(emu: Emu) -> None:
    """adgroup/status/update DELETE: ad/aco/get refuses the group as an unknown one [U] and the
    world forgets its materials."""
    s = await _setup(emu)
    await _aco_made(s)
    ok(await call(sdk.AdgroupApi(s.api).adgroup_status_update, s.token,
                  body=sdk.AdgroupStatusUpdateBody(advertiser_id=s.adv,
                                                   adgroup_ids=[s.aco_group],
                                                   operation_status="DELETE")))
    aco = sdk.AdAcoApi(s.api)
    await _refused(aco.ad_aco_get, s.adv, [s.aco_group], s.token, match="40002.*not exist")
    await _refused(aco.ad_aco_get, s.adv, [s.custom_group, s.aco_group], s.token,
                   match="40002.*not exist")
    assert s.aco_group not in emu.state.aco_groups
    assert ok(await call(aco.ad_aco_get, s.adv, [s.custom_group], s.token))["list"] == []


async def test_deleting_the_campaign_deletes_its_aco_materials(emu: Emu) -> None:
    """campaign/status/update DELETE deletes its ad groups (ADGROUP_STATUS_CAMPAIGN_DELETE):
    their ACO materials go with them."""
    s = await _setup(emu)
    await _aco_made(s)
    ok(await call(sdk.CampaignCreationApi(s.api).campaign_status_update, s.token,
                  body=sdk.CampaignStatusUpdateBody(advertiser_id=s.adv,
                                                    campaign_ids=[s.campaign_id],
                                                    operation_status="DELETE")))
    await _refused(sdk.AdAcoApi(s.api).ad_aco_get, s.adv, [s.aco_group], s.token,
                   match="40002.*not exist")
    assert s.aco_group not in emu.state.aco_groups
