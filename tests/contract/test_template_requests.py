"""Contract: the request bodies built from a template are accepted by the TikTok emulator, and
the emulator refuses bodies missing a required field or carrying a bad enum (40002)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core.templates.model import (
    BILLING_BY_GOAL,
    CATALOG_OBJECTIVES,
    GOALS_BY_OBJECTIVE,
    AdGroupSpec,
    AdSpec,
    CampaignSpec,
    CatalogTarget,
    Template,
)
from core.templates.naming import NameValues, expand
from core.templates.requests import (
    Account,
    Media,
    ad_creative,
    adgroup_body,
    campaign_body,
    request_id,
)
from core.templates.validate import check_for_launch, validate
from core.tiktok import Advertiser, InvalidRequestError, TikTokClient
from core.tiktok import catalogs as catalog_api
from tests.contract.conftest import Emu
from tests.contract.test_tiktok_entities import tiny_png, usd_advertiser

URL = "https://trk.example.com/AbCd?campaign_id=__CAMPAIGN_ID__&adgroup_id=__AID__&ad_id=__CID__"
PIXEL = "7317000000000000001"


def conversions() -> Template:
    """A conversion campaign in two geos: one broad, one narrowed with a custom bid."""
    return Template(
        name="Glowly conversions",
        campaign=CampaignSpec("WEB_CONVERSIONS", "BUDGET_MODE_DAY", Decimal("300")),
        adgroups=(
            AdGroupSpec(geo="US", location_ids=("6252001",), optimization_event="COMPLETE_PAYMENT"),
            AdGroupSpec(
                geo="DACH",
                location_ids=("2921044", "2782113", "2658434"),
                languages=("de",),
                gender="GENDER_FEMALE",
                age_groups=("AGE_25_34", "AGE_35_44"),
                placement_type="PLACEMENT_TYPE_NORMAL",
                placements=("PLACEMENT_TIKTOK",),
                optimization_event="COMPLETE_PAYMENT",
                bid_type="BID_TYPE_CUSTOM",
                bid=Decimal("18.40"),
                budget_mode="BUDGET_MODE_TOTAL",
                budget=Decimal("700"),
                schedule_type="SCHEDULE_START_END",
                run_days=14,
                pacing="PACING_MODE_FAST",
                comments_disabled=True,
            ),
        ),
        ad=AdSpec(
            texts=("Glow in 7 days", "Your skin, but better"),
            landing_url=URL,
            identity_name="Glowly",
            call_to_action="SHOP_NOW",
        ),
    )


async def media(client: TikTokClient, token: str, adv: str, name: str) -> Media:
    """Upload a video and its cover; the Media of one creative."""
    video = await client.upload_video_file(token, adv, b"\x00\x00\x00\x18ftypmp42" * 64, name)
    cover = await client.upload_image_file(token, adv, tiny_png(720, 1280), f"{name}.png")
    return Media(video.video_id, (cover.image_id,))


async def identity(client: TikTokClient, token: str, adv: str, t: Template) -> str:
    """The account's custom identity named as the template says."""
    avatar = await client.upload_image_file(token, adv, tiny_png(100, 100), "avatar.png")
    return await client.create_identity(token, adv, t.ad.identity_name, avatar.image_id)


async def launch(
    client: TikTokClient,
    token: str,
    adv: Advertiser,
    t: Template,
    creatives: list[tuple[str, Media]],
    launch_id: str,
) -> tuple[str, list[str], list[str]]:
    """What a bulk launch does in one account: campaign, an ad group per geo, an ad per
    creative; returns the campaign id, ad group ids and ad ids."""
    account = Account(adv.advertiser_id, adv.currency or "USD", pixel_id=PIXEL)
    now = datetime.now(UTC)
    day = now.date()
    ident = await identity(client, token, adv.advertiser_id, t)
    rid = request_id(launch_id, adv.advertiser_id, "campaign")
    name = expand(t.naming.campaign, NameValues(date=day, account=adv.name, n=1))
    campaign_id = await client.create_campaign(
        token, adv.advertiser_id, campaign_body(t, account, name=name, request_id=rid)
    )
    adgroup_ids: list[str] = []
    ad_ids: list[str] = []
    for i, g in enumerate(t.adgroups):
        values = NameValues(date=day, account=adv.name, geo=g.geo, n=i + 1)
        body = adgroup_body(
            t,
            i,
            account,
            campaign_id=campaign_id,
            name=expand(t.naming.adgroup, values),
            start=now + timedelta(minutes=5),
            request_id=request_id(launch_id, adv.advertiser_id, "adgroup", str(i)),
        )
        adgroup_id = await client.create_adgroup(token, adv.advertiser_id, body)
        adgroup_ids.append(adgroup_id)
        items = [
            ad_creative(
                t,
                name=expand(t.naming.ad, replace(values, creative=creative, n=k + 1)),
                media=m,
                identity_id=ident,
                text_index=k,
            )
            for k, (creative, m) in enumerate(creatives)
        ]
        ad_ids += await client.create_ads(token, adv.advertiser_id, adgroup_id, items)
    return campaign_id, adgroup_ids, ad_ids


async def test_a_template_launch_is_accepted_and_reads_back(emu: Emu, client: TikTokClient) -> None:
    token = emu.access_token
    adv = await usd_advertiser(client, token)
    t = conversions()
    assert validate(t) == []
    assert check_for_launch(t, currency="USD", tracker_connected=True) == []
    creatives = [
        ("hook_a.mp4", await media(client, token, adv.advertiser_id, "hook_a.mp4")),
        ("hook_b 🔥.mp4", await media(client, token, adv.advertiser_id, "hook_b.mp4")),
    ]
    campaign_id, adgroup_ids, ad_ids = await launch(client, token, adv, t, creatives, "L1")
    assert len(adgroup_ids) == 2 and len(ad_ids) == 4

    [campaign] = await client.get_campaigns(
        token, adv.advertiser_id, filtering={"campaign_ids": [campaign_id]}
    )
    today = datetime.now(UTC).date().isoformat()
    assert campaign.campaign_name == f"{today} {adv.name}"
    assert (campaign.objective_type, campaign.budget) == ("WEB_CONVERSIONS", Decimal(300))

    groups = {
        g.adgroup_id: g
        for g in await client.get_adgroups(
            token, adv.advertiser_id, filtering={"campaign_ids": [campaign_id]}
        )
    }
    us, dach = groups[adgroup_ids[0]], groups[adgroup_ids[1]]
    assert (us.adgroup_name, dach.adgroup_name) == (f"US {today}", f"DACH {today}")
    assert us.raw["location_ids"] == ["6252001"] and us.bid_type == "BID_TYPE_NO_BID"
    assert dach.raw["location_ids"] == ["2921044", "2782113", "2658434"]
    assert (dach.budget_mode, dach.budget) == ("BUDGET_MODE_TOTAL", Decimal(700))
    assert dach.conversion_bid_price == Decimal("18.40")
    assert dach.raw["placements"] == ["PLACEMENT_TIKTOK"]
    assert dach.raw["age_groups"] == ["AGE_25_34", "AGE_35_44"]
    assert dach.schedule_end_time and dach.schedule_start_time
    assert dach.schedule_end_time - dach.schedule_start_time == timedelta(days=14)

    ads = await client.get_ads(token, adv.advertiser_id, filtering={"ad_ids": ad_ids})
    assert {a.landing_page_url for a in ads} == {URL}  # macros left for TikTok to fill in
    by_name = {(a.adgroup_id, a.ad_name): a for a in ads}
    first = by_name[(adgroup_ids[0], "hook_a.mp4 1")]
    second = by_name[(adgroup_ids[0], "hook_b .mp4 2")]  # the emoji TikTok refuses is gone
    assert (first.ad_text, second.ad_text) == ("Glow in 7 days", "Your skin, but better")
    assert {a.call_to_action for a in ads} == {"SHOP_NOW"}
    assert {a.identity_type for a in ads} == {"CUSTOMIZED_USER"}


async def test_a_resumed_launch_does_not_duplicate(emu: Emu, client: TikTokClient) -> None:
    token = emu.access_token
    adv = await usd_advertiser(client, token)
    t = conversions()
    account = Account(adv.advertiser_id, "USD", pixel_id=PIXEL)
    body = campaign_body(
        t, account, name="Resumed", request_id=request_id("L2", adv.advertiser_id, "campaign")
    )
    first = await client.create_campaign(token, adv.advertiser_id, body)
    again = await client.create_campaign(token, adv.advertiser_id, body)
    assert first == again
    found = await client.get_campaigns(
        token, adv.advertiser_id, filtering={"campaign_name": "Resumed"}
    )
    assert [c.campaign_id for c in found] == [first]


async def _catalog(client: TikTokClient, token: str) -> CatalogTarget:
    """The demo Business Center's first catalog and product set (shopping ads, issue 17)."""
    [bc] = [b for b in await client.get_business_centers(token) if b.name == "Demo Media BC"]
    [cat, *_] = await catalog_api.list_catalogs(client, token, bc.bc_id)
    [first, *_] = await catalog_api.product_sets(client, token, bc.bc_id, cat.catalog_id)
    return CatalogTarget(bc.bc_id, cat.catalog_id, first.product_set_id)


@pytest.mark.parametrize(
    ("objective", "goal", "custom_bid"),
    [
        (objective, goal, custom)
        for objective, goals in GOALS_BY_OBJECTIVE.items()
        for goal in goals
        for custom in (False, True)
    ],
)
async def test_every_objective_and_goal_launches(
    emu: Emu, client: TikTokClient, objective: str, goal: str, custom_bid: bool
) -> None:
    token = emu.access_token
    adv = await usd_advertiser(client, token)
    base = conversions()
    geo = replace(
        base.adgroups[0],
        optimization_goal=goal,
        optimization_event=base.adgroups[0].optimization_event if goal == "CONVERT" else None,
        billing_event=BILLING_BY_GOAL[goal][0],
        bid_type="BID_TYPE_CUSTOM" if custom_bid else "BID_TYPE_NO_BID",
        bid=Decimal("2.35") if custom_bid else None,
    )
    t = replace(
        base,
        campaign=CampaignSpec(objective, "BUDGET_MODE_INFINITE"),
        adgroups=(geo,),
        catalog=await _catalog(client, token) if objective in CATALOG_OBJECTIVES else None,
    )
    assert validate(t) == []
    creatives = [("clip.mp4", await media(client, token, adv.advertiser_id, "clip.mp4"))]
    _, adgroup_ids, ad_ids = await launch(client, token, adv, t, creatives, f"L-{objective}")
    assert len(ad_ids) == 1
    [group] = await client.get_adgroups(
        token, adv.advertiser_id, filtering={"adgroup_ids": adgroup_ids}
    )
    assert (group.optimization_goal, group.billing_event) == (goal, BILLING_BY_GOAL[goal][0])
    if custom_bid:
        assert Decimal("2.35") in (group.bid_price, group.conversion_bid_price)


# ---- what the emulator refuses (spec §4.11: 40002 for a missing field or a bad enum) ---------

DROP = object()


def changed(body: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """The body with one key set, or removed when value is DROP."""
    out = {k: v for k, v in body.items() if k != key}
    if value is not DROP:
        out[key] = value
    return out


@pytest.mark.parametrize(
    ("level", "key", "value"),
    [
        ("campaign", "objective_type", DROP),
        ("campaign", "budget_mode", "BUDGET_MODE_WEEKLY"),
        ("campaign", "optimization_goal", "CONVERSIONS"),
        ("adgroup", "optimization_goal", DROP),
        ("adgroup", "pacing", DROP),
        ("adgroup", "schedule_start_time", DROP),
        ("adgroup", "gender", "GENDER_ANY"),
        ("adgroup", "age_groups", ["AGE_18_PLUS"]),
        ("adgroup", "languages", "de"),
        ("adgroup", "conversion_bid_price", 0),
        ("adgroup", "comment_disabled", "yes"),
        ("ad", "call_to_action", DROP),
        ("ad", "call_to_action", "BUY_IT"),
        ("ad", "identity_id", DROP),
        ("ad", "ad_format", "VERTICAL_VIDEO"),
        ("ad", "ad_text", "Glow 🚀"),
        ("ad", "landing_page_url", "https://"),
    ],
)
async def test_the_emulator_refuses_a_bad_body(
    emu: Emu, client: TikTokClient, level: str, key: str, value: Any
) -> None:
    token = emu.access_token
    adv = await usd_advertiser(client, token)
    adv_id = adv.advertiser_id
    t = conversions()
    account = Account(adv_id, "USD", pixel_id=PIXEL)
    good_campaign = campaign_body(t, account, name="Refusals")
    if level == "campaign":
        with pytest.raises(InvalidRequestError) as info:
            await client.create_campaign(token, adv_id, changed(good_campaign, key, value))
    else:
        campaign_id = await client.create_campaign(token, adv_id, good_campaign)
        start = datetime.now(UTC) + timedelta(minutes=5)
        good_group = adgroup_body(t, 1, account, campaign_id=campaign_id, name="G", start=start)
        if level == "adgroup":
            with pytest.raises(InvalidRequestError) as info:
                await client.create_adgroup(token, adv_id, changed(good_group, key, value))
        else:
            adgroup_id = await client.create_adgroup(token, adv_id, good_group)
            creative = ad_creative(
                t,
                name="A",
                media=await media(client, token, adv_id, "clip.mp4"),
                identity_id=await identity(client, token, adv_id, t),
            )
            with pytest.raises(InvalidRequestError) as info:
                await client.create_ads(token, adv_id, adgroup_id, [changed(creative, key, value)])
    assert info.value.code == 40002
    assert key in info.value.message
