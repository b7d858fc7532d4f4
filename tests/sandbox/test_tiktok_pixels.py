"""Pixels and their events at the emulator: pixel/list with TikTok's params and paging, event
stats over a date range whose counts move with the ads' conversions on the emulator clock, one
demo pixel whose event never fired (spec §9; tiktok-openapi/pixel_list.yml,
pixel_event_stats.yml)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from sandbox.tiktok.server import start_emulator
from tests.sandbox.test_tiktok_emulator import NOW, Api, err, ok


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    """A fresh demo emulator frozen at NOW, with a client."""
    emu = await start_emulator(fixture="demo", now=NOW)
    async with aiohttp.ClientSession() as session:
        yield Api(emu, session)
    await emu.stop()


async def _pixel_account(api: Api) -> tuple[str, list[dict]]:
    """The first demo account with pixels, and its pixels."""
    accounts = ok(await api.get("oauth2/advertiser/get/", app_id=api.emu.app_id,
                                secret=api.emu.secret))["list"]
    for a in sorted(accounts, key=lambda x: int(x["advertiser_id"])):
        data = ok(await api.get("pixel/list/", advertiser_id=a["advertiser_id"]))
        if data["pixels"]:
            return str(a["advertiser_id"]), data["pixels"]
    raise AssertionError("no demo account has a pixel")


async def _stats(api: Api, adv: str, ids: list[str], start: str, end: str) -> dict:
    return await api.get("pixel/event/stats/", advertiser_id=adv, pixel_ids=ids,
                         date_range={"start_date": start, "end_date": end})


async def test_list_pages_filters_and_fields(api: Api) -> None:
    """Documented params: paging ≤20, filters by id / code / name, order, and the fields."""
    adv, pixels = await _pixel_account(api)
    assert len(pixels) == 2  # the tracked pixel and the never-fired test pixel
    px = pixels[0]
    for key in ("pixel_id", "pixel_code", "pixel_name", "create_time", "events"):
        assert key in px
    assert "activity_status" not in px  # no source names it: not answered
    assert px["events"][0]["optimization_event"] == "COMPLETE_PAYMENT"
    assert pixels[1]["events"][0]["optimization_event"] == "ON_WEB_REGISTER"
    one = ok(await api.get("pixel/list/", advertiser_id=adv, page_size=1))
    assert one["page_info"]["total_number"] == 2 and len(one["pixels"]) == 1
    err(await api.get("pixel/list/", advertiser_id=adv, page_size=21), 40002)
    err(await api.get("pixel/list/", advertiser_id=adv, order_by="NEWEST"), 40002)
    latest = ok(await api.get("pixel/list/", advertiser_id=adv, order_by="LATEST_CREATE"))
    assert [p["pixel_id"] for p in latest["pixels"]] == [p["pixel_id"] for p in pixels][::-1]
    by_code = ok(await api.get("pixel/list/", advertiser_id=adv, code=pixels[1]["pixel_code"]))
    assert [p["pixel_id"] for p in by_code["pixels"]] == [pixels[1]["pixel_id"]]
    by_name = ok(await api.get("pixel/list/", advertiser_id=adv, name="landing TEST"))
    assert [p["pixel_name"] for p in by_name["pixels"]] == ["Landing test pixel"]
    err(await api.get("pixel/list/"), 40002)


async def test_stats_count_conversions_and_move_with_the_clock(api: Api) -> None:
    """The tracked pixel's event fired; the test pixel's never did; counts grow with time."""
    adv, pixels = await _pixel_account(api)
    ids = [p["pixel_id"] for p in pixels]
    data = ok(await _stats(api, adv, ids, "2026-11-23", "2026-11-29"))
    counts = {e["pixel_id"]: e["statistics"][0]["total_count"] for e in data["list"]}
    assert counts[ids[0]] > 0
    assert counts[ids[1]] == 0
    today = ok(await _stats(api, adv, ids[:1], "2026-11-29", "2026-11-29"))
    before = today["list"][0]["statistics"][0]["total_count"]
    await api.control("clock", {"advance_seconds": 6 * 3600})
    later = ok(await _stats(api, adv, ids[:1], "2026-11-29", "2026-11-29"))
    assert later["list"][0]["statistics"][0]["total_count"] > before
    silent = ok(await _stats(api, adv, ids[1:], "2026-11-29", "2026-11-29"))
    assert silent["list"][0]["statistics"][0]["total_count"] == 0


async def test_stats_refuse_bad_params(api: Api) -> None:
    """Missing / malformed params and an unknown pixel are refused with TikTok's codes."""
    adv, pixels = await _pixel_account(api)
    pid = pixels[0]["pixel_id"]
    err(await api.get("pixel/event/stats/", advertiser_id=adv, pixel_ids=[pid]), 40002)
    err(await api.get("pixel/event/stats/", advertiser_id=adv,
                      date_range={"start_date": "2026-11-28", "end_date": "2026-11-29"}), 40002)
    err(await _stats(api, adv, [pid], "2026-11-29", "2026-11-28"), 40002)
    err(await _stats(api, adv, [pid], "2026-10-01", "2026-11-29"), 40002)
    err(await _stats(api, adv, [pid], "29.11.2026", "2026-11-29"), 40002)
    err(await _stats(api, adv, ["123"], "2026-11-28", "2026-11-29"), 40007)
