"""The emulator through a client we did not write: TikTok's own Python SDK
(`tiktok-business-api-sdk`, the swagger-generated `business_api_client`), unchanged, pointed at
the emulator instead of business-api.tiktok.com. What it asks the way it asks it (its own query
encoding of lists, its own headers and bodies) must get TikTok's answers: the OAuth exchange,
the account lists, the entity pages, a campaign, ad group and video ad launched and the
campaign paused, a report read page by page with the same numbers our client reads, an
AUDIENCE report whose split adds up to them, and TikTok's error codes in the envelope."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import business_api_client as sdk
import pytest
from business_api_client.tiktok_business.tiktok_exceptions import TiktokSDKError

from core.tiktok import TikTokClient
from core.tiktok.reports import ReportLevel
from sandbox.tiktok import server as _routes  # noqa: F401 - registers every route module
from sandbox.tiktok.core import ROUTES
from tests.contract.conftest import Emu
from tests.contract.consent import obtain_auth_code
from tests.media import image

REDIRECT = "http://127.0.0.1:8080/oauth/tiktok/callback"
T = TypeVar("T")


def official(emu: Emu) -> sdk.ApiClient:
    """TikTok's SDK with only its host changed (Configuration.host is its documented knob)."""
    conf = sdk.Configuration()
    conf.host = emu.url
    return sdk.ApiClient(conf)


def first_account(emu: Emu) -> str:
    """The demo owner's first ad account (the one the ready token covers first)."""
    return emu.state.users[emu.state.default_login].advertiser_ids[0]


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """The SDK is synchronous (urllib3): run it off the loop the emulator answers on."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def ok(reply: dict[str, Any]) -> dict[str, Any]:
    """The `data` of a reply the SDK took as a success: it raises TiktokSDKError on any other
    envelope code (spec §1.2) and hands back the data and the request id."""
    assert reply["request_id"], reply
    return reply["data"]


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    """A fixed clock, so the report's days are the same on every run."""
    return {"fixture": "demo", "now": "2026-11-30T12:00:00Z"}


async def test_oauth_exchange_and_account_lists(emu: Emu, client: TikTokClient) -> None:
    api = official(emu)
    code, _state = await obtain_auth_code(emu, client.consent_url("sdk-state", REDIRECT))
    body = sdk.Oauth2AccessTokenBody(app_id=emu.app_id, secret=emu.secret, auth_code=code)
    grant = ok(await call(sdk.AuthenticationApi(api).oauth2_access_token, body=body))
    token, granted = grant["access_token"], grant["advertiser_ids"]
    assert token and granted and all(isinstance(i, str) for i in granted)
    with pytest.raises(TiktokSDKError):  # an auth code is good once (spec §2.2)
        await call(sdk.AuthenticationApi(api).oauth2_access_token, body=body)

    listed = ok(await call(sdk.AuthenticationApi(api).oauth2_advertiser_get, emu.app_id,
                           emu.secret, token))
    assert {a["advertiser_id"] for a in listed["list"]} == set(granted)
    assert all(a["advertiser_name"] for a in listed["list"])
    centers = ok(await call(sdk.BCApi(api).bc_get, token))
    assert centers["list"] and all(b["bc_info"]["bc_id"] for b in centers["list"])

    with pytest.raises(TiktokSDKError, match="Error Code: 40105"):  # spec §8.1
        await call(sdk.CampaignCreationApi(api).campaign_get, granted[0], "not-a-token")


async def test_entity_pages_list_what_our_client_lists(emu: Emu, client: TikTokClient) -> None:
    api = official(emu)
    token = emu.access_token
    adv = first_account(emu)
    campaigns = sdk.CampaignCreationApi(api)
    first = ok(await call(campaigns.campaign_get, adv, token, page=1, page_size=2))
    info = first["page_info"]
    assert info["page"] == 1 and info["page_size"] == 2 and len(first["list"]) == 2
    seen = {c["campaign_id"] for c in first["list"]}
    for page in range(2, info["total_page"] + 1):
        more = ok(await call(campaigns.campaign_get, adv, token, page=page, page_size=2))
        seen |= {c["campaign_id"] for c in more["list"]}
    assert len(seen) == info["total_number"]
    assert seen == {c.campaign_id for c in await client.get_campaigns(token, adv)}
    assert all(c["advertiser_id"] == adv and c["campaign_name"] for c in first["list"])

    two = sorted(seen)[:2]  # the SDK sends its filter model as a JSON query value
    picked = ok(await call(campaigns.campaign_get, adv, token,
                           filtering=sdk.FilteringCampaignGet(campaign_ids=two)))
    assert sorted(c["campaign_id"] for c in picked["list"]) == two

    groups = ok(await call(sdk.AdgroupApi(api).adgroup_get, adv, token, page_size=5))
    assert groups["list"] and {g["campaign_id"] for g in groups["list"]} <= seen
    ads = ok(await call(sdk.AdApi(api).ad_get, adv, token, page_size=5))
    assert ads["list"] and all(a["ad_id"] and a["adgroup_id"] for a in ads["list"])
    identities = ok(await call(sdk.IdentityApi(api).identity_get, adv, token))
    assert "identity_list" in identities


async def test_a_launch_made_with_the_sdk_reads_back(emu: Emu) -> None:
    """A campaign, an ad group and a video ad with its cover, as the SDK's models send them;
    then the campaign paused. Each reads back as it was made."""
    api = official(emu)
    token = emu.access_token
    adv = first_account(emu)
    campaigns = sdk.CampaignCreationApi(api)
    body = sdk.CampaignCreateBody(
        advertiser_id=adv, campaign_name="SDK | Traffic", objective_type="TRAFFIC",
        budget_mode="BUDGET_MODE_DAY", budget=50.0,
    )
    created = ok(await call(campaigns.campaign_create, token, body=body))
    campaign_id = created["campaign_id"]
    assert isinstance(campaign_id, str) and campaign_id.isdigit()

    group = ok(await call(sdk.AdgroupApi(api).adgroup_create, token, body=sdk.AdgroupCreateBody(
        advertiser_id=adv, campaign_id=campaign_id, adgroup_name="SDK | US | Broad",
        promotion_type="WEBSITE", placement_type="PLACEMENT_TYPE_AUTOMATIC",
        location_ids=["6252001"], budget_mode="BUDGET_MODE_DAY", budget=20.0,
        schedule_type="SCHEDULE_FROM_NOW", schedule_start_time="2026-11-30 13:00:00",
        optimization_goal="CLICK", billing_event="CPC", bid_type="BID_TYPE_NO_BID",
        pacing="PACING_MODE_SMOOTH", gender="GENDER_UNLIMITED", age_groups=["AGE_25_34"],
    )))
    adgroup_id = group["adgroup_id"]
    assert group["campaign_id"] == campaign_id and group["location_ids"] == ["6252001"]

    [identity] = ok(await call(sdk.IdentityApi(api).identity_get, adv, token))["identity_list"][:1]
    video = ok(await call(sdk.FileApi(api).ad_video_search, adv, token))["list"][0]
    creative = {
        "ad_name": "SDK | hook 1", "ad_format": "SINGLE_VIDEO", "ad_text": "Try it today",
        "identity_id": identity["identity_id"], "identity_type": identity["identity_type"],
        "video_id": video["video_id"], "call_to_action": "LEARN_MORE",
        "landing_page_url": "https://example.com/offer",
    }
    made = sdk.AdCreateBody(advertiser_id=adv, adgroup_id=adgroup_id, creatives=[creative])
    # A video ad needs its cover (spec §4.9): TikTok's "image_ids is required" comes back as
    # the SDK's exception; with the cover it is made.
    with pytest.raises(TiktokSDKError, match="image_ids"):
        await call(sdk.AdApi(api).ad_create, token, body=made)
    cover = ok(await call(sdk.FileApi(api).ad_image_upload, token, advertiser_id=adv,
                          upload_type="UPLOAD_BY_URL", image_url=video["video_cover_url"]))
    made.creatives = [{**creative, "image_ids": [cover["image_id"]]}]
    ad_ids = ok(await call(sdk.AdApi(api).ad_create, token, body=made))["ad_ids"]
    assert len(ad_ids) == 1
    ads = ok(await call(sdk.AdApi(api).ad_get, adv, token, page_size=1000))["list"]
    [ad] = [a for a in ads if a["ad_id"] == ad_ids[0]]
    assert (ad["adgroup_id"], ad["campaign_id"], ad["video_id"]) == (
        adgroup_id, campaign_id, video["video_id"])
    assert ad["ad_text"] == "Try it today" and ad["image_ids"] == [cover["image_id"]]

    pause = sdk.CampaignStatusUpdateBody(advertiser_id=adv, campaign_ids=[campaign_id],
                                         operation_status="DISABLE")
    done = ok(await call(campaigns.campaign_status_update, token, body=pause))
    assert campaign_id in done["campaign_ids"]
    pages = ok(await call(campaigns.campaign_get, adv, token, page_size=1000))
    [mine] = [c for c in pages["list"] if c["campaign_id"] == campaign_id]
    assert mine["campaign_name"] == "SDK | Traffic" and mine["operation_status"] == "DISABLE"
    assert Decimal(str(mine["budget"])) == Decimal(50)


async def test_report_pages_carry_the_numbers_our_client_reads(
    emu: Emu, client: TikTokClient
) -> None:
    api = official(emu)
    token = emu.access_token
    adv = first_account(emu)
    end = date(2026, 11, 29)
    start = end - timedelta(days=6)
    rows: list[dict[str, Any]] = []
    page, pages = 1, 1
    while page <= pages:
        data = ok(await call(
            sdk.ReportingApi(api).report_integrated_get, adv, "BASIC",
            ["campaign_id", "stat_time_day"], token, data_level="AUCTION_CAMPAIGN",
            start_date=start.isoformat(), end_date=end.isoformat(),
            metrics=["spend", "impressions", "clicks"], page=page, page_size=10,
        ))
        rows += data["list"]
        pages = data["page_info"]["total_page"]
        page += 1
    assert pages > 1, "the range must take several pages of 10 to test paging"
    theirs = {
        (r["dimensions"]["campaign_id"], r["dimensions"]["stat_time_day"][:10]):
            (Decimal(r["metrics"]["spend"]), int(r["metrics"]["impressions"]))
        for r in rows
    }
    assert len(theirs) == len(rows)  # no row twice across pages

    ours = await client.get_report(token, adv, ReportLevel.CAMPAIGN, start, end)
    assert ours, "the demo account has spend in the range"
    assert theirs == {
        (r.object_id, r.stat_time.date().isoformat()): (r.spend, r.impressions)
        for r in ours if r.stat_time is not None
    }


async def test_an_audience_report_splits_the_campaigns_spend_by_gender(
    emu: Emu, client: TikTokClient
) -> None:
    api = official(emu)
    token = emu.access_token
    adv = first_account(emu)
    day = date(2026, 11, 29)
    data = ok(await call(
        sdk.ReportingApi(api).report_integrated_get, adv, "AUDIENCE",
        ["campaign_id", "gender"], token, data_level="AUCTION_CAMPAIGN",
        start_date=day.isoformat(), end_date=day.isoformat(), metrics=["spend"], page_size=1000,
    ))
    split: dict[str, Decimal] = {}
    for r in data["list"]:
        assert r["dimensions"]["gender"] in ("MALE", "FEMALE", "NONE")
        cid = r["dimensions"]["campaign_id"]
        split[cid] = split.get(cid, Decimal(0)) + Decimal(r["metrics"]["spend"])
    ours = await client.get_report(token, adv, ReportLevel.CAMPAIGN, day, day)
    assert split and split == {r.object_id: r.spend for r in ours if r.spend}


async def test_an_image_uploaded_as_a_file_is_found_by_its_id(emu: Emu, tmp_path: Path) -> None:
    api = official(emu)
    token = emu.access_token
    adv = first_account(emu)
    content = image(720, 1280)
    path = tmp_path / "cover.png"
    path.write_bytes(content)
    signature = hashlib.md5(content).hexdigest()
    files = sdk.FileApi(api)
    # The SDK sends a file parameter as a multipart part read from the path (spec §5.2).
    uploaded = ok(await call(files.ad_image_upload, token, advertiser_id=adv,
                             upload_type="UPLOAD_BY_FILE", image_file=str(path),
                             image_signature=signature, file_name="cover.png"))
    assert uploaded["image_id"] and uploaded["signature"] == signature
    assert (uploaded["width"], uploaded["height"]) == (720, 1280)
    found = ok(await call(files.ad_image_info, adv, [uploaded["image_id"]], token))
    [one] = found["list"]
    assert one["image_id"] == uploaded["image_id"] and one["signature"] == signature
    with pytest.raises(TiktokSDKError, match="does not match the MD5"):
        await call(files.ad_image_upload, token, advertiser_id=adv, upload_type="UPLOAD_BY_FILE",
                   image_file=str(path), image_signature="0" * 32, file_name="other.png")


def test_every_endpoint_the_sdk_can_call_is_served() -> None:
    """Each path the official SDK's API classes call has a route in the emulator (its other
    tests drive them): a client built on the SDK finds no 40400 here."""
    called: set[str] = set()
    for module in Path(sdk.__file__).parent.joinpath("api").glob("*_api.py"):
        called |= set(re.findall(r"'/open_api/v1\.3/([a-z0-9_/]+)'", module.read_text()))
    assert len(called) > 40  # the SDK's paths were found at all
    assert sorted(called - set(ROUTES)) == []
