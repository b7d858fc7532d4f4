"""The Events API and an identity's TikTok posts through clients we did not write: TikTok's own
Python SDK (EventCallbackApi.pixel_track / pixel_batch, IdentityApi.identity_video_info)
unchanged, and the Events 2.0 body (``POST event/track/``, no SDK method) as RudderStack and
Segment send it. Web events sent for a pixel of the token's ad account show in what
pixel/event/stats/ reports for that pixel and local day — once per event_id, never for a test
event, never on a day no event was sent for — and every malformed or foreign request is refused
with TikTok's code; a Spark ad's post reads back from identity/video/info/."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import business_api_client as sdk
import pytest
from business_api_client.tiktok_business.tiktok_exceptions import TiktokSDKError

from tests.contract.conftest import Emu
from tests.contract.raw_api import Api
from tests.contract.test_official_sdk import call, official, ok

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SHA = hashlib.sha256(b"buyer@example.com").hexdigest()


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    """A fixed clock, so the local days and their baselines are the same on every run."""
    return {"fixture": "demo", "now": NOW.isoformat()}


async def _pixel_accounts(emu: Emu, api: Api) -> list[tuple[str, list[dict[str, Any]]]]:
    """The demo owner's accounts that have pixels, with their pixels (pixel/list/)."""
    out = []
    for adv in emu.state.users[emu.state.default_login].advertiser_ids:
        reply = await api.get("pixel/list/", advertiser_id=adv)
        assert reply["code"] == 0, reply
        if reply["data"]["pixels"]:
            out.append((adv, reply["data"]["pixels"]))
    assert len(out) >= 2, "the demo has pixels on several accounts"
    return out


def _local_days(emu: Emu, adv: str) -> tuple[date, date]:
    """The account's local today and yesterday at the emulator's now."""
    today = NOW.astimezone(emu.state.advertisers[adv].tz).date()
    return today, today - timedelta(days=1)


async def _statistics(api: Api, adv: str, pixel_id: str, day: date) -> dict[str, dict[str, Any]]:
    """pixel/event/stats/ for one pixel and local day: its ``statistics`` items by their label
    (the ``pixel_event_type`` of a standard event, the ``custom_event_type`` of a custom one),
    each label once."""
    reply = await api.get("pixel/event/stats/", advertiser_id=adv, pixel_ids=[pixel_id],
                          date_range={"start_date": day.isoformat(), "end_date": day.isoformat()})
    assert reply["code"] == 0, reply
    [entry] = reply["data"]["list"]
    assert entry["pixel_id"] == pixel_id
    items = entry["statistics"]
    out = {s.get("pixel_event_type") or s["custom_event_type"]: s for s in items}
    assert len(out) == len(items), items
    return out


async def _counts(api: Api, adv: str, pixel_id: str, day: date) -> dict[str, int]:
    """pixel/event/stats/ for one pixel and local day: event type (or custom name) -> count."""
    return {k: s["total_count"] for k, s in (await _statistics(api, adv, pixel_id, day)).items()}


async def _post(emu: Emu, path: str, body: Any, token: str | None = None) -> dict[str, Any]:
    """A raw JSON POST (the Events 2.0 body, or bodies the SDK's models would not build)."""
    headers = {"Access-Token": token or emu.access_token}
    async with emu.control.post(emu.api_url + path, json=body, headers=headers) as resp:
        assert resp.status == 200
        reply: dict[str, Any] = await resp.json()
        assert reply["request_id"] and "data" in reply
        return reply


def _track(code: str, event: str, event_id: str, when: datetime, **extra: Any) -> Any:
    """A PixelTrackBody as the SDK builds it, with a full context and properties."""
    return sdk.PixelTrackBody(
        pixel_code=code, event=event, event_id=event_id, timestamp=when.isoformat(),
        context=sdk.PixelContext(
            ip="13.57.97.131", user_agent="Mozilla/5.0",
            page=sdk.PixelContextPage(url="https://shop.example.com/checkout"),
            user=sdk.PixelContextUser(email=SHA, external_id=SHA),
            ad=sdk.PixelContextAd(callback="E.C.P.abc"),
        ),
        properties=sdk.PixelProperties(
            currency="USD", value=46.0,
            contents=[sdk.PixelContent(content_id="1077218", content_type="product",
                                       price=23.0, quantity=2)],
        ),
        **extra,
    )


async def test_sdk_events_show_in_the_day_they_happened_once_each(emu: Emu, api: Api) -> None:
    """pixel/track and pixel/batch add to today's CompletePayment (SHOPPING) count of that pixel
    (once per event_id), a ViewContent shows as its own entry, and yesterday keeps its
    baseline."""
    client = official(emu)
    events = sdk.EventCallbackApi(client)
    [(adv, pixels), *_] = await _pixel_accounts(emu, api)
    px = pixels[0]
    assert (px["events"][0]["event_code"], px["events"][0]["event_type"]) == (
        "CompletePayment", "SHOPPING")
    today, yesterday = _local_days(emu, adv)
    before_stats = await _statistics(api, adv, px["pixel_id"], today)
    before_today = await _counts(api, adv, px["pixel_id"], today)
    before_yesterday = await _counts(api, adv, px["pixel_id"], yesterday)
    when = NOW - timedelta(minutes=30)

    reply = await call(events.pixel_track, emu.access_token,
                       body=_track(px["pixel_code"], "CompletePayment", "order-1", when))
    assert ok(reply) == {}
    after = await _counts(api, adv, px["pixel_id"], today)
    assert after["SHOPPING"] == before_today["SHOPPING"] + 1

    # The same event_id again is a duplicate (TikTok deduplicates by event_id).
    await call(events.pixel_track, emu.access_token,
               body=_track(px["pixel_code"], "CompletePayment", "order-1", when))
    assert await _counts(api, adv, px["pixel_id"], today) == after

    batch = sdk.PixelBatchBody(pixel_code=px["pixel_code"], batch=[
        sdk.OpenApiv13pixelbatchBatch(type="track", event="CompletePayment", event_id="order-2",
                                      timestamp=when.isoformat()),
        sdk.OpenApiv13pixelbatchBatch(type="track", event="ViewContent", event_id="view-1",
                                      timestamp=when.isoformat(),
                                      properties=sdk.PixelProperties(description="socks")),
    ])
    assert ok(await call(events.pixel_batch, emu.access_token, body=batch)) == {}
    got = await _statistics(api, adv, px["pixel_id"], today)
    assert set(got) == {*before_stats, "ON_WEB_DETAIL"}
    paid, paid_before = got["SHOPPING"], before_stats["SHOPPING"]
    assert paid["total_count"] == before_today["SHOPPING"] + 2
    assert paid["server_event_total_count"] == paid_before["server_event_total_count"] + 2
    assert paid["browser_event_total_count"] == paid_before["browser_event_total_count"]
    assert got["ON_WEB_DETAIL"] == {"pixel_event_type": "ON_WEB_DETAIL", "total_count": 1,
                                    "browser_event_total_count": 0,
                                    "server_event_total_count": 1, "attributed_count": 0,
                                    "preview_count": 0}
    assert await _counts(api, adv, px["pixel_id"], yesterday) == before_yesterday
    # Receiving events sets nothing up: pixel/list still shows the pixel's configured events.
    listed = (await api.get("pixel/list/", advertiser_id=adv, pixel_id=px["pixel_id"]))["data"]
    assert listed["pixels"][0]["events"] == px["events"]


async def test_events_2_counts_by_local_day_and_skips_test_events(emu: Emu, api: Api) -> None:
    """event/track's data[] lands on each event's local day; a body with test_event_code is
    accepted and counted nowhere; a future event counts only once the clock reaches it."""
    [(adv, pixels), *_] = await _pixel_accounts(emu, api)
    px = pixels[-1]  # the never-fired test pixel: its baseline is 0 every day
    code = px["events"][0]["event_code"]  # the name the site sends
    kind = px["events"][0]["event_type"]  # the statistics item that counts it
    today, yesterday = _local_days(emu, adv)
    base = {d: await _counts(api, adv, px["pixel_id"], d) for d in (today, yesterday)}
    noon_yesterday = datetime.combine(yesterday, datetime.min.time().replace(hour=12),
                                      emu.state.advertisers[adv].tz)
    body = {
        "event_source": "web", "event_source_id": px["pixel_code"], "partner_name": "RudderStack",
        "data": [
            {"event": code, "event_time": int(noon_yesterday.timestamp()), "event_id": "r-1",
             "user": {"email": [SHA], "phone": SHA, "ip": "13.57.97.131"},
             "page": {"url": "https://shop.example.com/welcome"},
             "properties": {"content_type": "product", "currency": "EUR", "value": 10}},
            {"event": code, "event_time": int((NOW - timedelta(minutes=5)).timestamp()),
             "event_id": "r-2", "limited_data_use": False},
            {"event": code, "event_time": int((NOW + timedelta(hours=1)).timestamp()),
             "event_id": "r-3"},
        ],
    }
    reply = await _post(emu, "event/track/", body)
    assert (reply["code"], reply["data"]) == (0, {}), reply
    for day in (today, yesterday):
        assert (await _counts(api, adv, px["pixel_id"], day))[kind] == base[day][kind] + 1

    test_body = {**body, "test_event_code": "TEST123",
                 "data": [{**e, "event_id": f"t-{i}"} for i, e in enumerate(body["data"])]}
    assert (await _post(emu, "event/track/", test_body))["code"] == 0
    assert (await _counts(api, adv, px["pixel_id"], today))[kind] == base[today][kind] + 1

    await emu.ctl("POST", "clock", {"advance_seconds": 2 * 3600})
    assert (await _counts(api, adv, px["pixel_id"], today))[kind] == base[today][kind] + 2


async def test_foreign_unknown_and_unscoped_pixels_are_refused(emu: Emu, api: Api) -> None:
    """An unknown pixel code -> 40002; a pixel of an account the token does not reach -> 40001;
    a token whose consent withheld pixels -> 40001 before anything runs."""
    client = official(emu)
    events = sdk.EventCallbackApi(client)
    [(adv_a, pixels_a), (adv_b, _), *_] = await _pixel_accounts(emu, api)
    code = pixels_a[0]["pixel_code"]
    when = NOW - timedelta(minutes=1)
    with pytest.raises(TiktokSDKError, match="Error Code: 40002"):
        await call(events.pixel_track, emu.access_token,
                   body=_track("CUNKNOWN000", "CompletePayment", "x-1", when))

    only_b = await emu.ctl("POST", "token", {"advertiser_ids": [adv_b]})
    with pytest.raises(TiktokSDKError, match="Error Code: 40001") as refused:
        await call(events.pixel_track, only_b["access_token"],
                   body=_track(code, "CompletePayment", "x-2", when))
    assert f"pixel code: {code}" in str(refused.value)
    reply = await _post(emu, "event/track/", {
        "event_source": "web", "event_source_id": code,
        "data": [{"event": "CompletePayment", "event_time": int(when.timestamp())}],
    }, token=only_b["access_token"])
    assert reply["code"] == 40001 and reply["data"] == {}

    unscoped = await emu.ctl("POST", "token", {"withhold": ["pixels"]})
    with pytest.raises(TiktokSDKError, match="Error Code: 40001"):
        await call(events.pixel_batch, unscoped["access_token"], body=sdk.PixelBatchBody(
            pixel_code=code, batch=[sdk.OpenApiv13pixelbatchBatch(event="CompletePayment")]))
    reply = await _post(emu, "event/track/", {"event_source": "web", "event_source_id": code,
                                               "data": []}, token=unscoped["access_token"])
    assert reply["code"] == 40001

    today, _ = _local_days(emu, adv_a)
    base = await _counts(api, adv_a, pixels_a[0]["pixel_id"], today)
    reply = await _post(emu, "pixel/track/", {"pixel_code": code, "event": "CompletePayment"})
    assert reply["code"] == 0  # no timestamp: the time it arrived, i.e. today
    assert (await _counts(api, adv_a, pixels_a[0]["pixel_id"], today))["SHOPPING"] == (
        base["SHOPPING"] + 1)


async def test_malformed_events_are_refused_and_count_nothing(emu: Emu, api: Api) -> None:
    """TikTok's 40002 for every malformed body, in the endpoint's wording; the knobs for what
    the sources leave open; nothing refused reaches the stats."""
    [(adv, pixels), *_] = await _pixel_accounts(emu, api)
    px = pixels[0]
    code = px["pixel_code"]
    today, _ = _local_days(emu, adv)
    base = await _counts(api, adv, px["pixel_id"], today)
    stamp = (NOW - timedelta(minutes=3)).isoformat()
    good = {"event": "CompletePayment", "timestamp": stamp}
    bad_v1 = [
        ({"pixel_code": code, "event": "CompletePayment", "event_id": 273196}, "event_id"),
        ({"pixel_code": code, **good, "timestamp": "29.11.2026"}, "timestamp"),
        ({"pixel_code": code}, "event"),
        ({"event": "CompletePayment"}, "pixel_code"),
        ({"pixel_code": code, **good, "properties": {"currency": "QQQ"}}, "currency"),
        ({"pixel_code": code, **good, "properties": {"value": "46"}}, "value"),
        ({"pixel_code": code, **good, "context": {"user": {"email": 5}}}, "context.user.email"),
    ]
    for body, field in bad_v1:
        reply = await _post(emu, "pixel/track/", body)
        assert reply["code"] == 40002 and field in reply["message"], (body, reply)
        assert reply["data"] == {}

    content = {"content_id": 1077218}
    reply = await _post(emu, "pixel/batch/", {"pixel_code": code, "batch": [
        {**good, "properties": {"contents": [content]}}]})
    assert (reply["code"], reply["message"]) == (
        40002, "Batch.0.properties.contents.0.content_id: Not a valid string")
    for batch in ([], [good] * 51, [{**good, "type": "identify"}]):
        assert (await _post(emu, "pixel/batch/", {"pixel_code": code, "batch": batch}))[
            "code"] == 40002
    assert (await _post(emu, "pixel/batch/", {"pixel_code": code, "batch": [good] * 50}))[
        "code"] == 0  # 50 is the limit, not over it: these count

    at = int((NOW - timedelta(minutes=3)).timestamp())
    v2 = {"event_source": "web", "event_source_id": code}
    bad_v2 = [
        ({**v2, "data": [{"event": "Purchase", "event_time": str(at)}]}, "event_time"),
        ({**v2, "data": [{"event": "Purchase", "event_time": at * 1000}]}, "event_time"),
        ({**v2, "data": [{"event": "Purchase"}]}, "event_time"),
        ({**v2, "data": [{"event": "Purchase", "event_time": at}] * 1001}, "data"),
        ({"event_source_id": code, "data": [{"event": "Purchase", "event_time": at}]},
         "event_source"),
        ({**v2, "event_source": "offline", "data": [{"event": "Purchase", "event_time": at}]},
         "event_source_id"),
        ({**v2, "data": [{"event": "Purchase", "event_time": at, "user": {"email": [1]}}]},
         "data.0.user.email"),
    ]
    for body, field in bad_v2:
        reply = await _post(emu, "event/track/", body)
        assert reply["code"] == 40002 and field in reply["message"], (body["data"][:1], reply)
    assert (await _counts(api, adv, px["pixel_id"], today))["SHOPPING"] == (
        base["SHOPPING"] + 50)

    await emu.ctl("POST", "config", {"events_custom_names": False,
                                     "events_require_context": True})
    custom = await _post(emu, "pixel/track/", {"pixel_code": code, "event": "MyThing",
                                               "context": {"ip": "1.1.1.1"}})
    assert custom["code"] == 40002 and "MyThing" in custom["message"]
    bare = await _post(emu, "pixel/track/", {"pixel_code": code, "event": "CompletePayment"})
    assert bare["code"] == 40002 and "context" in bare["message"]
    no_page = await _post(emu, "event/track/", {**v2, "data": [
        {"event": "Purchase", "event_time": at, "user": {"ip": "1.1.1.1"}}]})
    assert no_page["code"] == 40002 and "page.url" in no_page["message"]
    await emu.ctl("POST", "config", {"events_epoch_timestamps": False})
    millis = await _post(emu, "pixel/track/", {"pixel_code": code, "event": "CompletePayment",
                                               "timestamp": str(at * 1000), "context": {}})
    assert millis["code"] == 40002
    await emu.ctl("POST", "config", {"events_epoch_timestamps": True})
    millis = await _post(emu, "pixel/track/", {"pixel_code": code, "event": "CompletePayment",
                                               "timestamp": str(at * 1000), "context": {}})
    assert millis["code"] == 0  # stape's template sends Unix milliseconds as a string
    assert (await _counts(api, adv, px["pixel_id"], today))["SHOPPING"] == (
        base["SHOPPING"] + 51)


async def _spark_ad(emu: Emu, api: Api, adv: str, ident: dict[str, Any], item: str) -> None:
    """A Spark ad of an identity's post, made through ad/create with tiktok_item_id."""
    groups = ok(await call(sdk.AdgroupApi(official(emu)).adgroup_get, adv, emu.access_token,
                           page_size=100))["list"]
    group = next(g for g in groups if not g.get("catalog_id"))
    reply = await api.post("ad/create/", {
        "advertiser_id": adv, "adgroup_id": group["adgroup_id"],
        "creatives": [{
            "ad_name": "Spark | post", "ad_format": "SINGLE_VIDEO", "ad_text": "Seen on TikTok",
            "tiktok_item_id": item, "identity_id": ident["identity_id"],
            "identity_type": ident["identity_type"], "call_to_action": "LEARN_MORE",
            "landing_page_url": "https://shop.example.com/",
            **({"identity_authorized_bc_id": ident["identity_authorized_bc_id"]}
               if ident["identity_type"] == "BC_AUTH_TT" else {}),
        }],
    })
    assert reply["code"] == 0, reply


async def test_a_spark_ads_post_reads_back_from_identity_video_info(emu: Emu, api: Api) -> None:
    """identity/video/info/ answers the post a Spark ad of the identity names, as the SDK asks
    for it: video_detail with the post's fields typed as TikTok types them; the errors."""
    client = official(emu)
    identities = sdk.IdentityApi(client)
    token = emu.access_token
    found = None
    for adv in emu.state.users[emu.state.default_login].advertiser_ids:
        listed = ok(await call(identities.identity_get, adv, token))["identity_list"]
        kinds = {i["identity_type"]: i for i in listed}
        if "TT_USER" in kinds and "BC_AUTH_TT" in kinds:
            found = adv, kinds
            break
    assert found, "a demo account has TikTok-account identities"
    adv, kinds = found
    tt, bct = kinds["TT_USER"], kinds["BC_AUTH_TT"]
    item = "7301234567890123456"
    await _spark_ad(emu, api, adv, tt, item)

    data = ok(await call(identities.identity_video_info, token, adv, "TT_USER",
                         tt["identity_id"], item))
    post = data["video_detail"]
    assert data["video_details"] == []
    assert post["item_id"] == item and post["item_type"] == "VIDEO"
    assert post["status"] == "ITEM_STATUS_HESITATE_RECOMMEND" and isinstance(post["text"], str)
    assert post["carousel_info"] is None and post["anchor_list"] == []
    video = post["video_info"]
    assert all(isinstance(video[k], int) for k in ("width", "height", "size", "bit_rate"))
    assert isinstance(video["duration"], float) and len(video["signature"]) == 32
    assert video["url"].startswith("https://") and "x-expires=" in video["poster_url"]
    library = {v.signature for v in emu.state.videos.values() if v.advertiser_id == adv}
    assert video["signature"] in library  # the clip is one of the account's own videos
    again = ok(await call(identities.identity_video_info, token, adv, "TT_USER",
                          tt["identity_id"], item))
    assert again["video_detail"]["video_info"]["signature"] == video["signature"]

    refusals = [
        (("TT_USER", tt["identity_id"], "7000000000000000001"), {}, 40007),
        (("CUSTOMIZED_USER", tt["identity_id"], item), {}, 40002),
        (("BC_AUTH_TT", bct["identity_id"], item), {}, 40002),
        (("BC_AUTH_TT", bct["identity_id"], item), {"identity_authorized_bc_id": "1"}, 40002),
        (("AUTH_CODE", tt["identity_id"], item), {}, 40002),
        (("TT_USER", bct["identity_id"], item), {}, 40002),
    ]
    for args, kw, code in refusals:
        with pytest.raises(TiktokSDKError, match=f"Error Code: {code}"):
            await call(identities.identity_video_info, token, adv, *args, **kw)
    # The BC identity's own posts are its own: the TT_USER's Spark post is not among them.
    with pytest.raises(TiktokSDKError, match="Error Code: 40007"):
        await call(identities.identity_video_info, token, adv, "BC_AUTH_TT",
                   bct["identity_id"], item,
                   identity_authorized_bc_id=bct["identity_authorized_bc_id"])
    # item_ids (≤20, bububa/tiktok-business; the SDK has no such argument): a raw query.
    url = emu.api_url + "identity/video/info/"
    base = {"advertiser_id": adv, "identity_type": "TT_USER", "identity_id": tt["identity_id"]}
    headers = {"Access-Token": token}
    for query, code in (({"item_ids": json.dumps([item, "7000000000000000001"])}, 0),
                        ({"item_ids": json.dumps([item]), "item_id": item}, 40002),
                        ({"item_ids": json.dumps([item] * 21)}, 40002),
                        ({"item_id": item, "item_type": "CAROUSEL"}, 40007)):
        async with emu.control.get(url, params={**base, **query}, headers=headers) as resp:
            reply = await resp.json()
        assert reply["code"] == code, (query, reply)
        if code == 0:
            assert [d["item_id"] for d in reply["data"]["video_details"]] == [item]

    # Another account of the same token: the identity is not that account's.
    other = next(a for a in emu.state.users[emu.state.default_login].advertiser_ids if a != adv)
    with pytest.raises(TiktokSDKError, match="Error Code: 40002"):
        await call(identities.identity_video_info, token, other, "TT_USER",
                   tt["identity_id"], item)
