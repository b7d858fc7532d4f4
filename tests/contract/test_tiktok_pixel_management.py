"""Pixel management and offline event sets as a client we did not write drives them: raw JSON
over HTTP with the bodies of TikTok's own files (tiktok-business-api-sdk yml_files
pixel_create / pixel_update / pixel_event_create|update|delete / offline_create|update|delete|get
and its SDKs' MeasurementApi models — the installed Python SDK has no such methods), and the
Events API through the installed SDK unchanged. What is made or changed shows where a client
looks next: a made pixel in pixel/list/ (its code taken by the Events API, its id by an ad
group), an edited or deleted event in pixel/list/ and pixel/event/stats/, an offline event set
in offline/get/; every refusal comes with TikTok's code and ``data: {}``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import business_api_client as sdk
import pytest

from core.tiktok import TikTokClient
from core.tiktok.pixels import event_counts, list_pixels
from tests.contract.conftest import Emu
from tests.contract.raw_api import Api
from tests.contract.test_official_sdk import call, first_account, official, ok

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
STAMP = "2026-11-30 12:00:00"  # NOW as pixel/list and offline/get show times (UTC)


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    """A fixed clock, so local days and creation times are the same on every run."""
    return {"fixture": "demo", "now": NOW.isoformat()}


async def _post(emu: Emu, path: str, body: dict[str, Any],
                token: str | None = None) -> dict[str, Any]:
    """A raw JSON POST (the paths the installed SDK has no method for); the whole envelope."""
    headers = {"Access-Token": token or emu.access_token}
    async with emu.control.post(emu.api_url + path, json=body, headers=headers) as resp:
        assert resp.status == 200
        reply: dict[str, Any] = await resp.json()
    assert reply["request_id"] and "data" in reply, reply
    if reply["code"] != 0:
        assert reply["data"] == {} and reply["message"], reply
    return reply


async def _get(emu: Emu, path: str, token: str | None = None, **params: Any) -> dict[str, Any]:
    """A raw GET with lists and objects as JSON text (spec §1.4); the whole envelope."""
    query = {k: json.dumps(v) if isinstance(v, list | dict) else str(v)
             for k, v in params.items()}
    headers = {"Access-Token": token or emu.access_token}
    async with emu.control.get(emu.api_url + path, params=query, headers=headers) as resp:
        assert resp.status == 200
        reply: dict[str, Any] = await resp.json()
    assert reply["request_id"], reply
    if reply["code"] != 0:
        assert reply["data"] == {} and reply["message"], reply
    return reply


def _ok(reply: dict[str, Any]) -> Any:
    """The data of a success."""
    assert reply["code"] == 0, reply
    return reply["data"]


def _refused(reply: dict[str, Any], code: int, *words: str) -> None:
    """A refusal with this code whose message names each of `words`."""
    assert reply["code"] == code, reply
    for word in words:
        assert word in reply["message"], (word, reply)


async def _pixels(api: Api, adv: str, **params: Any) -> list[dict[str, Any]]:
    """pixel/list/ (schema-checked by the traced session)."""
    reply = await api.get("pixel/list/", advertiser_id=adv, **params)
    assert reply["code"] == 0, reply
    pixels: list[dict[str, Any]] = reply["data"]["pixels"]
    return pixels


async def _stats(api: Api, adv: str, pixel_id: str, day: date) -> dict[str, Any]:
    """pixel/event/stats/ for one pixel and day: its entry."""
    reply = await api.get("pixel/event/stats/", advertiser_id=adv, pixel_ids=[pixel_id],
                          date_range={"start_date": day.isoformat(),
                                      "end_date": day.isoformat()})
    assert reply["code"] == 0, reply
    [entry] = reply["data"]["list"]
    assert entry["pixel_id"] == pixel_id
    return dict(entry)


def _stat(total: int, *, browser: int = 0, **label: str) -> dict[str, Any]:
    """One ``statistics`` item: ``label`` (pixel_event_type= or custom_event_type=) with
    ``total`` events, ``browser`` of them from the browser (all attributed), none previews."""
    return {**label, "total_count": total, "browser_event_total_count": browser,
            "server_event_total_count": total - browser, "attributed_count": browser,
            "preview_count": 0}


def _other_account(emu: Emu, adv: str) -> str:
    """Another ad account of the demo's owner."""
    return next(a for a in emu.state.users[emu.state.default_login].advertiser_ids if a != adv)


def _today(emu: Emu, adv: str) -> date:
    """The account's local today at NOW."""
    return NOW.astimezone(emu.state.advertisers[adv].tz).date()


async def test_a_made_pixel_lists_takes_events_and_serves_an_ad_group(emu: Emu, api: Api) -> None:
    """pixel/create answers the yml's fields; the pixel lists (newest last, DEVELOPER mode),
    its code takes Events API events (the SDK's pixel_track), an event set up on it counts
    them, and an ad group naming it adds the event it optimises for."""
    adv = first_account(emu)
    before = await _pixels(api, adv)
    made = _ok(await _post(emu, "pixel/create/", {
        "advertiser_id": adv, "pixel_name": "Shop pixel", "partner_name": "Shopify"}))
    assert set(made) == {"pixel_id", "pixel_code", "pixel_name", "pixel_category",
                         "partner_name", "advanced_matching_fields"}
    pid, code = made["pixel_id"], made["pixel_code"]
    assert isinstance(pid, str) and pid.isdigit() and isinstance(code, str) and code
    assert (made["pixel_name"], made["pixel_category"], made["partner_name"]) == (
        "Shop pixel", "ONLINE_STORE", "Shopify")
    assert made["advanced_matching_fields"] == {"phone_number": False, "email": False}
    assert pid not in {p["pixel_id"] for p in before}

    listed = await _pixels(api, adv)
    assert [p["pixel_id"] for p in listed] == [p["pixel_id"] for p in before] + [pid]
    assert (await _pixels(api, adv, order_by="LATEST_CREATE"))[0]["pixel_id"] == pid
    [mine] = await _pixels(api, adv, code=code)
    assert (mine["pixel_id"], mine["pixel_name"], mine["create_time"]) == (pid, "Shop pixel", STAMP)
    assert mine["pixel_setup_mode"] == "DEVELOPER" and code in mine["pixel_script"]
    assert mine["events"] == []
    assert [p["pixel_id"] for p in await _pixels(api, adv, name="shop PIX")] == [pid]

    # Its code is a pixel the Events API knows: a purchase arrives before any event is set up
    # and shows as an entry of its own; set up, the purchase event counts it.
    events = sdk.EventCallbackApi(official(emu))
    when = NOW - timedelta(minutes=20)
    body = sdk.PixelTrackBody(pixel_code=code, event="CompletePayment", event_id="o-1",
                              timestamp=when.isoformat())
    assert ok(await call(events.pixel_track, emu.access_token, body=body)) == {}
    today = _today(emu, adv)
    entry = await _stats(api, adv, pid, today)
    assert entry["statistics"] == [_stat(1, pixel_event_type="SHOPPING")]
    assert _ok(await _post(emu, "pixel/event/create/", {
        "advertiser_id": adv, "pixel_id": pid,
        "pixel_events": [{"event_type": "SHOPPING", "event_name": "Purchase",
                          "currency": "USD", "currency_value": "25.5"}]})) == {}
    [shopping] = (await _pixels(api, adv, pixel_id=pid))[0]["events"]
    assert (shopping["event_type"], shopping["optimization_event"], shopping["event_code"]) == (
        "SHOPPING", "COMPLETE_PAYMENT", "CompletePayment")
    assert (shopping["name"], shopping["currency_value"], shopping["statistic_type"]) == (
        "Purchase", "25.5", "EVERY_TIME")
    assert shopping["event_id"].isdigit()
    entry = await _stats(api, adv, pid, today)
    assert entry["statistics"] == [{
        "pixel_event_type": "SHOPPING", "total_count": 1, "browser_event_total_count": 0,
        "server_event_total_count": 1, "attributed_count": 0, "preview_count": 0}]

    # An ad group takes the made pixel's id; the event it optimises for joins the pixel.
    client = official(emu)
    campaign = ok(await call(sdk.CampaignCreationApi(client).campaign_create, emu.access_token,
                             body=sdk.CampaignCreateBody(
                                 advertiser_id=adv, campaign_name="Shop | Conversions",
                                 objective_type="WEB_CONVERSIONS", budget_mode="BUDGET_MODE_DAY",
                                 budget=100.0)))
    group = ok(await call(sdk.AdgroupApi(client).adgroup_create, emu.access_token,
                          body=sdk.AdgroupCreateBody(
                              advertiser_id=adv, campaign_id=campaign["campaign_id"],
                              adgroup_name="Shop | cart", promotion_type="WEBSITE",
                              placement_type="PLACEMENT_TYPE_AUTOMATIC",
                              location_ids=["6252001"], budget_mode="BUDGET_MODE_DAY",
                              budget=30.0, schedule_type="SCHEDULE_FROM_NOW",
                              schedule_start_time="2026-11-30 13:00:00",
                              optimization_goal="CONVERT", billing_event="OCPM",
                              bid_type="BID_TYPE_NO_BID", pacing="PACING_MODE_SMOOTH",
                              pixel_id=pid,
                              optimization_event="ON_WEB_CART")))
    assert group["pixel_id"] == pid
    [after] = await _pixels(api, adv, pixel_id=pid)
    assert [e["optimization_event"] for e in after["events"]] == ["COMPLETE_PAYMENT",
                                                                   "ON_WEB_CART"]
    assert after["events"][0] == shopping and after["pixel_name"] == "Shop pixel"
    assert [p["pixel_id"] for p in await _pixels(api, adv)].count(pid) == 1


async def _adgroup_with(emu: Emu, adv: str, pixel_id: str) -> dict[str, Any]:
    """adgroup/create/ of a website-conversion ad group tracking `pixel_id` (raw JSON with the
    official SDK's AdgroupCreateBody fields); the whole envelope."""
    campaign = _ok(await _post(emu, "campaign/create/", {
        "advertiser_id": adv, "campaign_name": f"Pixel {pixel_id}",
        "objective_type": "WEB_CONVERSIONS", "budget_mode": "BUDGET_MODE_DAY", "budget": 100.0}))
    return await _post(emu, "adgroup/create/", {
        "advertiser_id": adv, "campaign_id": campaign["campaign_id"],
        "adgroup_name": "Pixel check", "promotion_type": "WEBSITE",
        "placement_type": "PLACEMENT_TYPE_AUTOMATIC", "location_ids": ["6252001"],
        "budget_mode": "BUDGET_MODE_DAY", "budget": 30.0, "schedule_type": "SCHEDULE_FROM_NOW",
        "schedule_start_time": "2026-11-30 13:00:00", "optimization_goal": "CONVERT",
        "billing_event": "OCPM", "bid_type": "BID_TYPE_NO_BID", "pacing": "PACING_MODE_SMOOTH",
        "pixel_id": pixel_id, "optimization_event": "SHOPPING"})


async def test_an_ad_group_tracks_only_a_pixel_the_account_may_use(emu: Emu, api: Api) -> None:
    """adgroup/create's pixel_id: the account's own pixel (pixel/list), or one of an account of
    the same Business Center (its PIXEL asset; knob adgroup_pixel_bc_shared); an unknown pixel,
    another BC's pixel or (knob off) a BC sibling's pixel is refused with 40002 [U]."""
    adv = first_account(emu)
    sibling = next(a for a in emu.state.users[emu.state.default_login].advertiser_ids
                   if a != adv and any(adv in bc.advertiser_ids and a in bc.advertiser_ids
                                       for bc in emu.state.bcs.values()))
    stranger = next(a for a in emu.state.advertisers
                    if not any(adv in bc.advertiser_ids and a in bc.advertiser_ids
                               for bc in emu.state.bcs.values()))
    own = (await _pixels(api, adv))[0]["pixel_id"]
    theirs = (await _pixels(api, sibling))[0]["pixel_id"]
    foreign = next(str(g.extra["pixel_id"]) for g in emu.state.adgroups.values()
                   if g.advertiser_id == stranger and g.extra.get("pixel_id"))
    assert len({own, theirs, foreign}) == 3
    made = _ok(await _post(emu, "pixel/create/", {"advertiser_id": sibling,
                                                   "pixel_name": "Sibling pixel"}))["pixel_id"]

    assert _ok(await _adgroup_with(emu, adv, own))["pixel_id"] == own
    # The BC's pixels: the BC asset list shows them, and an ad group of another of its
    # accounts may track them.
    bc = next(b for b in emu.state.bcs.values() if adv in b.advertiser_ids)
    assets = await _get(emu, "bc/asset/get/", bc_id=bc.bc_id, asset_type="PIXEL", page_size=50)
    assert {theirs, made} <= {a["asset_id"] for a in _ok(assets)["list"]}
    assert _ok(await _adgroup_with(emu, adv, theirs))["pixel_id"] == theirs
    assert _ok(await _adgroup_with(emu, adv, made))["pixel_id"] == made
    # Tracked here, a shared pixel lists in this account as its owner lists it.
    shared = {p["pixel_id"]: p for p in await _pixels(api, sibling)}
    here = {p["pixel_id"]: p for p in await _pixels(api, adv)}
    for pid in (theirs, made):
        for key in ("pixel_name", "pixel_code", "create_time"):
            assert here[pid][key] == shared[pid][key], (pid, key)
    for refused in ("1", "7317999999999999999", foreign):
        _refused(await _adgroup_with(emu, adv, refused), 40002, "pixel_id", refused)
    groups = [g for g in emu.state.adgroups.values() if g.advertiser_id == adv]
    assert foreign not in {str(g.extra.get("pixel_id")) for g in groups}

    # Knob off: only the account's own pixels (TikTok links a BC pixel to chosen accounts).
    await emu.ctl("POST", "config", {"adgroup_pixel_bc_shared": False})
    other = _ok(await _post(emu, "pixel/create/", {"advertiser_id": sibling,
                                                    "pixel_name": "Not shared"}))["pixel_id"]
    assert other not in {p["pixel_id"] for p in await _pixels(api, adv)}
    _refused(await _adgroup_with(emu, adv, other), 40002, "pixel_id", other)
    assert _ok(await _adgroup_with(emu, adv, own))["pixel_id"] == own


async def test_pixel_update_renames_and_sets_matching(emu: Emu, api: Api) -> None:
    """pixel/update renames a pixel (one the ad groups track too) and sets its matching (a
    field left out is true, the yml's default), leaving the rest as listed; bad bodies are
    refused 40002, an unknown pixel 40007, a foreign account or a token without the pixels
    scope 40001; nothing refused changes anything."""
    adv = first_account(emu)
    [px, *_] = await _pixels(api, adv)
    assert _ok(await _post(emu, "pixel/update/", {
        "advertiser_id": adv, "pixel_id": px["pixel_id"], "pixel_name": "Checkout pixel",
        "advanced_matching_fields": {"email": False}})) == {}
    [shown] = await _pixels(api, adv, pixel_id=px["pixel_id"])
    assert shown["pixel_name"] == "Checkout pixel"
    assert shown["advanced_matching_fields"] == {"phone_number": True, "email": False}
    changed = ("pixel_name", "advanced_matching_fields")
    assert {k: v for k, v in shown.items() if k not in changed} == {
        k: v for k, v in px.items() if k not in changed}
    assert [p["pixel_id"] for p in await _pixels(api, adv, name="checkout")] == [px["pixel_id"]]

    base = {"advertiser_id": adv, "pixel_id": px["pixel_id"]}
    _refused(await _post(emu, "pixel/update/", {**base, "pixel_name": ""}), 40002,
             "pixel_name cannot be empty.")
    _refused(await _post(emu, "pixel/update/", base), 40002, "pixel_name")
    _refused(await _post(emu, "pixel/update/", {**base, "pixel_name": "x" * 41}), 40002,
             "pixel_name", "40")
    _refused(await _post(emu, "pixel/update/", {**base, "pixel_name": "ok",
                                               "advanced_matching_fields": {"email": "yes"}}),
             40002, "advanced_matching_fields.email")
    _refused(await _post(emu, "pixel/update/", {**base, "pixel_id": "7317999999999999999",
                                               "pixel_name": "ok"}), 40007, "7317999999999999999")
    _refused(await _post(emu, "pixel/create/", {"advertiser_id": adv, "pixel_name": "Refused",
                                               "pixel_category": "SHOPPING"}), 40002,
             "pixel_category")
    _refused(await _post(emu, "pixel/create/", {"advertiser_id": adv, "pixel_name": "  "}),
             40002, "pixel_name cannot be empty.")
    other = _other_account(emu, adv)
    only_other = await emu.ctl("POST", "token", {"advertiser_ids": [other]})
    _refused(await _post(emu, "pixel/update/", {**base, "pixel_name": "ok"},
                         token=only_other["access_token"]), 40001, adv)
    unscoped = await emu.ctl("POST", "token", {"withhold": ["pixels"]})
    _refused(await _post(emu, "pixel/create/", {"advertiser_id": adv, "pixel_name": "Refused"},
                         token=unscoped["access_token"]), 40001, "Pixels")
    # Nothing refused changed anything.
    assert (await _pixels(api, adv, pixel_id=px["pixel_id"]))[0]["pixel_name"] == "Checkout pixel"
    assert not await _pixels(api, adv, name="refused") and not emu.state.pixels_made


async def test_events_set_up_edited_and_deleted_show_in_list_and_stats(
    emu: Emu, api: Api
) -> None:
    """On a pixel the ad groups track: an event set up (with rules) lists and counts the
    Events API's events of its code; renaming the purchase event keeps its counts; deleting it
    takes it (and its ad groups' conversions) out of pixel/list and the stats; all-or-nothing
    creation, duplicates and bad enums are refused 40002, unknown ids 40007."""
    adv = first_account(emu)
    others = [a for a in emu.state.users[emu.state.default_login].advertiser_ids if a != adv]
    elsewhere = [await _pixels(api, a) for a in others]
    [px, *_] = await _pixels(api, adv)
    pid = px["pixel_id"]
    [purchase] = px["events"]
    assert purchase["event_code"] == "CompletePayment" and purchase["event_id"].isdigit()
    today = _today(emu, adv)
    yesterday = today - timedelta(days=1)  # a whole day of the ad groups' conversions
    base = await _stats(api, adv, pid, yesterday)
    [paid] = base["statistics"]
    assert paid["total_count"] > 0
    assert paid == {
        "pixel_event_type": "SHOPPING", "total_count": paid["total_count"],
        "browser_event_total_count": paid["total_count"], "server_event_total_count": 0,
        "attributed_count": paid["total_count"], "preview_count": 0}
    [paid_today] = (await _stats(api, adv, pid, today))["statistics"]
    assert paid_today["pixel_event_type"] == "SHOPPING"
    # At most 10 pixels a call (the Go SDK's comment on pixel_ids).
    day = {"start_date": today.isoformat(), "end_date": today.isoformat()}
    reply = await _get(emu, "pixel/event/stats/", advertiser_id=adv, pixel_ids=[pid] * 11,
                       date_range=day)
    _refused(reply, 40002, "pixel_ids", "10")
    assert _ok(await _get(emu, "pixel/event/stats/", advertiser_id=adv, pixel_ids=[pid] * 10,
                          date_range=day))["list"][0]["statistics"] == [paid_today]

    rule = {"trigger": "TRIGGERTYPE_PAGEVIEW", "operator": "OPERATORTYPE_CONTAINS",
            "value": "/thanks", "variable": "PAGE_URL"}
    good = {"event_type": "ON_WEB_REGISTER", "statistic_type": "ONCE", "rules": [rule]}
    bad_bodies = [
        ({"pixel_events": [good, {"event_type": "SHOPPING"}]}, "event_type"),  # purchase exists
        ({"pixel_events": [good, good]}, "event_type"),
        ({"pixel_events": [{"event_type": "PURCHASE"}]}, "event_type"),
        ({"pixel_events": [{"event_name": "no type"}]}, "event_type"),
        ({"pixel_events": [{**good, "currency": "EUR"}]}, "currency"),
        ({"pixel_events": [{**good, "rules": [{**rule, "trigger": "HOVER"}]}]}, "trigger"),
        ({"pixel_events": [{**good, "rules": [{k: v for k, v in rule.items()
                                                if k != "value"}]}]}, "value"),
        ({"pixel_events": []}, "pixel_events"),
        ({}, "pixel_events"),
    ]
    for extra, word in bad_bodies:
        reply = await _post(emu, "pixel/event/create/", {"advertiser_id": adv, "pixel_id": pid,
                                                         **extra})
        _refused(reply, 40002, word)
    _refused(await _post(emu, "pixel/event/create/", {
        "advertiser_id": adv, "pixel_id": "7317999999999999999", "pixel_events": [good]}),
        40007)
    assert (await _pixels(api, adv, pixel_id=pid))[0]["events"] == [purchase]

    assert _ok(await _post(emu, "pixel/event/create/", {
        "advertiser_id": adv, "pixel_id": pid, "pixel_events": [good]})) == {}
    [_, register] = (await _pixels(api, adv, pixel_id=pid))[0]["events"]
    assert (register["event_type"], register["event_code"], register["statistic_type"]) == (
        "ON_WEB_REGISTER", "CompleteRegistration", "ONCE")
    assert register["rules"] == [rule] and register["currency"] == "USD"
    sent = {"event_source": "web", "event_source_id": px["pixel_code"], "data": [
        {"event": "CompleteRegistration", "event_time": int((NOW - timedelta(minutes=5))
                                                             .timestamp()), "event_id": "r-1"}]}
    assert _ok(await _post(emu, "event/track/", sent)) == {}
    assert (await _stats(api, adv, pid, today))["statistics"] == [
        paid_today, _stat(1, pixel_event_type="ON_WEB_REGISTER")]

    # Rename the purchase event and give it a value: listed so, counted as before.
    assert _ok(await _post(emu, "pixel/event/update/", {
        "advertiser_id": adv, "event_id": purchase["event_id"], "event_name": "Order paid",
        "currency": "INR", "currency_value": "499"})) == {}
    [renamed, _] = (await _pixels(api, adv, pixel_id=pid))[0]["events"]
    assert (renamed["name"], renamed["currency"], renamed["currency_value"]) == (
        "Order paid", "INR", "499")
    assert renamed["event_id"] == purchase["event_id"]
    assert (await _stats(api, adv, pid, yesterday))["statistics"] == [
        paid, _stat(0, pixel_event_type="ON_WEB_REGISTER")]
    _refused(await _post(emu, "pixel/event/update/", {
        "advertiser_id": adv, "event_id": purchase["event_id"], "currency": "EUR"}), 40002,
        "currency")
    _refused(await _post(emu, "pixel/event/update/", {
        "advertiser_id": adv, "event_id": purchase["event_id"], "currency_value": "-1"}), 40002,
        "currency_value")

    # Delete both: gone from pixel/list and from the stats' configured events.
    for event in (purchase, register):
        assert _ok(await _post(emu, "pixel/event/delete/", {
            "advertiser_id": adv, "event_id": event["event_id"]})) == {}
    assert (await _pixels(api, adv, pixel_id=pid))[0]["events"] == []
    assert (await _stats(api, adv, pid, yesterday))["statistics"] == []
    entry = await _stats(api, adv, pid, today)
    # What still arrives through the Events API shows as an item of its own.
    assert entry["statistics"] == [_stat(1, pixel_event_type="ON_WEB_REGISTER")]
    for path in ("pixel/event/update/", "pixel/event/delete/"):
        _refused(await _post(emu, path, {"advertiser_id": adv, "event_id": register["event_id"],
                                         "event_name": "x"}), 40007, register["event_id"])
    _refused(await _post(emu, "pixel/event/delete/", {"advertiser_id": adv}), 40002, "event_id")
    # A purchase event set up again takes the ad groups' conversions back, under a new id.
    assert _ok(await _post(emu, "pixel/event/create/", {
        "advertiser_id": adv, "pixel_id": pid, "pixel_events": [{"event_type": "SHOPPING"}]})
    ) == {}
    [again] = (await _pixels(api, adv, pixel_id=pid))[0]["events"]
    assert again["event_id"] not in (purchase["event_id"], register["event_id"])
    assert (await _stats(api, adv, pid, yesterday))["statistics"] == [paid]
    # The other accounts' pixels are as they were.
    assert [await _pixels(api, a) for a in others] == elsewhere
    assert any(p["events"] for listed in elsewhere for p in listed)


async def test_offline_event_sets_made_listed_updated_and_deleted(emu: Emu) -> None:
    """offline/create answers {event_set_id}; offline/get lists the set with the yml's fields
    and filters; offline/update answers the set changed; offline/track, offline/batch and
    Events 2.0 report to it; offline/delete takes it away; bad bodies 40002, unknown sets
    40007, foreign accounts 40001."""
    adv = first_account(emu)
    other = _other_account(emu, adv)
    assert _ok(await _get(emu, "offline/get/", advertiser_id=adv)) == {"event_set_list": []}
    made = _ok(await _post(emu, "offline/create/", {
        "advertiser_id": adv, "name": "Stores EU", "description": "POS purchases",
        "auto_tracking": True}))
    assert set(made) == {"event_set_id"} and made["event_set_id"].isdigit()
    set_id = made["event_set_id"]
    second = _ok(await _post(emu, "offline/create/", {
        "advertiser_id": other, "name": "Call centre", "description": ""}))["event_set_id"]

    listed = _ok(await _get(emu, "offline/get/", advertiser_id=adv))["event_set_list"]
    assert listed == [{"event_set_id": set_id, "advertiser_id": adv, "name": "Stores EU",
                       "description": "POS purchases", "auto_tracking": True,
                       "create_time": STAMP, "update_time": STAMP}]
    everywhere = _ok(await _get(emu, "offline/get/"))["event_set_list"]
    assert [s["event_set_id"] for s in everywhere] == [set_id, second]
    assert everywhere[1]["auto_tracking"] is False and everywhere[1]["description"] == ""
    assert _ok(await _get(emu, "offline/get/", event_set_ids=[second]))["event_set_list"] == [
        everywhere[1]]
    assert [s["event_set_id"] for s in _ok(await _get(emu, "offline/get/", name="stores"))[
        "event_set_list"]] == [set_id]

    for body, word in (
        ({"advertiser_id": adv, "name": "x"}, "description"),
        ({"advertiser_id": adv, "description": "x"}, "name"),
        ({"advertiser_id": adv, "name": "x", "description": "x", "auto_tracking": "maybe"},
         "auto_tracking"),
    ):
        _refused(await _post(emu, "offline/create/", body), 40002, word)

    updated = _ok(await _post(emu, "offline/update/", {
        "advertiser_id": adv, "event_set_id": set_id, "name": "Stores EU+UK",
        "auto_tracking": False}))
    assert updated == {**listed[0], "name": "Stores EU+UK", "auto_tracking": False}
    assert _ok(await _get(emu, "offline/get/", advertiser_id=adv))["event_set_list"] == [updated]
    _refused(await _post(emu, "offline/update/", {"advertiser_id": adv, "event_set_id": second,
                                                  "name": "mine"}), 40007, second)

    stamp = (NOW - timedelta(hours=2)).isoformat()
    event = {"event": "CompletePayment", "event_id": "pos-1", "timestamp": stamp,
             "context": {"user": {"email": "e" * 64}},
             "properties": {"currency": "EUR", "value": 30.0}}
    assert _ok(await _post(emu, "offline/track/", {"event_set_id": set_id, **event})) == {}
    assert _ok(await _post(emu, "offline/batch/", {"event_set_id": set_id, "batch": [
        {**event, "event_id": "pos-2"}, {**event, "event": "Contact", "event_id": "pos-3"}]}
    )) == {}
    assert _ok(await _post(emu, "event/track/", {"event_source": "offline",
                                                  "event_source_id": set_id, "data": [
        {"event": "CompletePayment", "event_time": int(NOW.timestamp()) - 60,
         "event_id": "pos-4"}]})) == {}
    kept = emu.state.offline_events[set_id]
    assert [(name, eid) for _ts, name, eid in kept] == [
        ("CompletePayment", "pos-1"), ("CompletePayment", "pos-2"), ("Contact", "pos-3"),
        ("CompletePayment", "pos-4")]
    _refused(await _post(emu, "offline/track/", {"event_set_id": set_id,
                                                 **{k: v for k, v in event.items()
                                                    if k != "properties"}}), 40002,
             "properties")
    _refused(await _post(emu, "offline/track/", {**event, "event_set_id": "123"}), 40002,
             "event_set_id")
    only_other = await emu.ctl("POST", "token", {"advertiser_ids": [other]})
    _refused(await _post(emu, "offline/track/", {"event_set_id": set_id, **event},
                         token=only_other["access_token"]), 40002, "event_set_id")
    _refused(await _get(emu, "offline/get/", token=only_other["access_token"],
                        advertiser_id=adv), 40001, adv)
    _refused(await _post(emu, "offline/delete/", {"advertiser_id": adv, "event_set_id": set_id},
                         token=only_other["access_token"]), 40001, adv)
    assert len(emu.state.offline_events[set_id]) == 4

    assert _ok(await _post(emu, "offline/delete/", {"advertiser_id": adv,
                                                    "event_set_id": set_id})) == {}
    assert _ok(await _get(emu, "offline/get/", advertiser_id=adv)) == {"event_set_list": []}
    _refused(await _post(emu, "offline/delete/", {"advertiser_id": adv, "event_set_id": set_id}),
             40007, set_id)
    _refused(await _post(emu, "event/track/", {"event_source": "offline",
                                               "event_source_id": set_id, "data": [
        {"event": "CompletePayment", "event_time": int(NOW.timestamp())}]}), 40002,
        "event_source_id")
    unscoped = await emu.ctl("POST", "token", {"withhold": ["pixels"]})
    _refused(await _get(emu, "offline/get/", token=unscoped["access_token"],
                        advertiser_id=adv), 40001)


async def test_made_pixels_events_and_sets_outlive_a_restart(tmp_path: Path) -> None:
    """With `world_file` (the offline demo's), what pixel management and offline event sets
    made or changed is kept: the next run lists the same pixel, events and set."""
    from sandbox.tiktok.server import start_emulator

    kept = str(tmp_path / "world.pickle")
    first = await start_emulator(fixture="demo", now=NOW.isoformat(), world_file=kept)
    adv = first.state.users[first.state.default_login].advertiser_ids[0]
    async with aiohttp.ClientSession() as session:
        api = Api(first.api_url, first.access_token, session)
        pid = _ok(await api.post("pixel/create/", {"advertiser_id": adv,
                                                   "pixel_name": "Kept pixel"}))["pixel_id"]
        _ok(await api.post("pixel/event/create/", {"advertiser_id": adv, "pixel_id": pid,
                                                   "pixel_events": [{"event_type": "FORM"}]}))
        [derived, *_] = await _pixels(api, adv)
        _ok(await api.post("pixel/update/", {"advertiser_id": adv,
                                             "pixel_id": derived["pixel_id"],
                                             "pixel_name": "Renamed"}))
        _ok(await api.post("pixel/event/delete/", {"advertiser_id": adv,
                                                   "event_id": derived["events"][0]["event_id"]}))
        set_id = _ok(await api.post("offline/create/", {
            "advertiser_id": adv, "name": "Kept set", "description": "d"}))["event_set_id"]
        before = await _pixels(api, adv)
        sets = _ok(await api.get("offline/get/", advertiser_id=adv))
    await first.stop()

    again = await start_emulator(fixture="demo", now=NOW.isoformat(), world_file=kept)
    try:
        async with aiohttp.ClientSession() as session:
            api = Api(again.api_url, again.access_token, session)
            after = await _pixels(api, adv)
            assert after == before
            shown = {p["pixel_id"]: p for p in after}
            assert [e["event_type"] for e in shown[pid]["events"]] == ["FORM"]
            assert shown[derived["pixel_id"]]["pixel_name"] == "Renamed"
            assert shown[derived["pixel_id"]]["events"] == []
            assert _ok(await api.get("offline/get/", advertiser_id=adv)) == sets
            assert [s["event_set_id"] for s in sets["event_set_list"]] == [set_id]
    finally:
        await again.stop()


async def test_our_client_reads_the_counts_of_more_pixels_than_one_stats_call_takes(
    emu: Emu, api: Api, client: TikTokClient
) -> None:
    """TTPulse's client reads counts from the documented ``statistics`` (by event type, joined
    to the events pixel/list sets up) and asks at most 10 pixels per call: an account with a
    dozen more pixels gets every one's purchases, each under the optimisation event an ad group
    would name."""
    adv = first_account(emu)
    codes: dict[str, str] = {}
    for n in range(12):
        made = _ok(await _post(emu, "pixel/create/", {"advertiser_id": adv,
                                                      "pixel_name": f"Shop {n}"}))
        _ok(await _post(emu, "pixel/event/create/", {
            "advertiser_id": adv, "pixel_id": made["pixel_id"],
            "pixel_events": [{"event_type": "SHOPPING", "event_name": "Purchase"}]}))
        codes[made["pixel_id"]] = made["pixel_code"]
    events = sdk.EventCallbackApi(official(emu))
    for n, code in enumerate(codes.values()):
        for k in range(n % 3 + 1):  # 1, 2 or 3 purchases per pixel
            body = sdk.PixelTrackBody(pixel_code=code, event="CompletePayment",
                                      event_id=f"{code}-{k}",
                                      timestamp=(NOW - timedelta(minutes=5)).isoformat())
            ok(await call(events.pixel_track, emu.access_token, body=body))
    pixels = await list_pixels(client, emu.access_token, adv)
    made_pixels = [p for p in pixels if p.pixel_id in codes]
    assert [e.kind for p in made_pixels for e in p.events] == ["COMPLETE_PAYMENT"] * 12
    today = _today(emu, adv)
    counts = await event_counts(client, emu.access_token, adv, pixels, today, today)
    assert {pid: counts[(pid, "COMPLETE_PAYMENT")] for pid in codes} == {
        pid: n % 3 + 1 for n, pid in enumerate(codes)}
    assert len(pixels) > 10  # more than one call's worth, all of them answered
