"""Comments at the emulator: generated over time on its clock, listed with TikTok's required
params and paging, hidden/shown and replied to (spec §9; tiktok-openapi/comment_list.yml)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from sandbox.tiktok.server import start_emulator
from tests.sandbox.test_tiktok_emulator import NOW, US, Api, err, ok


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    """A fresh demo emulator frozen at NOW, with a client."""
    emu = await start_emulator(fixture="demo", now=NOW)
    async with aiohttp.ClientSession() as session:
        yield Api(emu, session)
    await emu.stop()


async def _adgroup(api: Api) -> str:
    groups = ok(await api.get("adgroup/get/", advertiser_id=US, page_size=100))["list"]
    return str(groups[0]["adgroup_id"])


async def _list(api: Api, group: str, **extra: object) -> dict:
    params = {"advertiser_id": US, "start_time": "2026-11-28", "end_time": "2026-11-29",
              "search_field": "ADGROUP_ID", "search_value": group, **extra}
    return await api.get("comment/list/", **params)


async def test_list_needs_tiktoks_params_and_pages(api: Api) -> None:
    """Required params refused when missing; pages of page_size; documented fields."""
    group = await _adgroup(api)
    err(await api.get("comment/list/", advertiser_id=US, start_time="2026-11-28",
                      end_time="2026-11-29", search_value=group), 40002)
    first = ok(await _list(api, group, page_size=5))
    info = first["page_info"]
    assert info["page_size"] == 5 and info["total_number"] > 5
    assert len(first["comments"]) == 5
    c = first["comments"][0]
    for key in ("comment_id", "content", "create_time", "ad_id", "ad_name", "adgroup_id",
                "comment_status", "user_name", "likes", "replies", "original_comment_id"):
        assert key in c
    times = [x["create_time"] for x in first["comments"]]
    assert times == sorted(times, reverse=True)  # CREATE_TIME DESC by default
    assert max(times) <= "2026-11-29 12:00:00"  # nothing after the emulator's now
    err(await _list(api, group, page_size=101), 40002)
    again = ok(await _list(api, group, page_size=5))
    assert again["comments"] == first["comments"]  # deterministic


async def test_comments_keep_arriving_as_the_clock_moves(api: Api) -> None:
    """Advance the clock a few hours: more comments, some with the demo rule's words."""
    group = await _adgroup(api)
    before = ok(await _list(api, group, page_size=100))["page_info"]["total_number"]
    await api.control("clock", {"advance_seconds": 6 * 3600})
    after = ok(await _list(api, group, page_size=100))
    assert after["page_info"]["total_number"] > before
    texts = " ".join(c["content"].lower() for c in after["comments"])
    assert "scam" in texts or "fake" in texts


async def test_hide_show_and_reply(api: Api) -> None:
    """HIDDEN then PUBLIC reads back in the list; a reply is listed under the comment."""
    group = await _adgroup(api)
    c = ok(await _list(api, group))["comments"][0]
    body = {"advertiser_id": US, "comment_ids": [c["comment_id"]], "operation": "HIDDEN"}
    ok(await api.post("comment/status/update/", body))
    hidden = ok(await _list(api, group, comment_status=["HIDDEN"]))["comments"]
    assert [h["comment_id"] for h in hidden] == [c["comment_id"]]
    ok(await api.post("comment/status/update/", {**body, "operation": "PUBLIC"}))
    assert ok(await _list(api, group, comment_status=["HIDDEN"]))["comments"] == []
    err(await api.post("comment/status/update/", {**body, "comment_ids": ["1"]}), 40007)
    reply = ok(await api.post("comment/post/", _post_body(c, "Thanks! DM us")))["comment"]
    assert reply["reply_to_comment_id"] == c["comment_id"]
    replies = ok(await _list(api, group, comment_type=["REPLY"]))["comments"]
    assert [r["content"] for r in replies] == ["Thanks! DM us"]


def _post_body(c: dict, text: str) -> dict:
    """comment_post.yml's body replying to a listed comment (every required field)."""
    return {"advertiser_id": US, "ad_id": c["ad_id"], "tiktok_item_id": c["tiktok_item_id"],
            "comment_id": c["comment_id"], "comment_type": "REPLY", "text": text,
            "identity_type": c["identity_type"], "identity_id": c["identity_id"]}


def _pinned(comments: list[dict]) -> list[str]:
    return [c["comment_id"] for c in comments if c["is_pinned"]]


async def test_pin_one_comment_a_video(api: Api) -> None:
    """comment_pin "status": PIN / UNPIN through comment/status/update, read back as
    is_pinned; a second pin on the same ad replaces the first (or is refused with
    comment_pin_replaces off); hidden comments and replies cannot be pinned; hiding unpins."""
    group = await _adgroup(api)
    comments = ok(await _list(api, group, page_size=100))["comments"]
    by_ad: dict[str, list[dict]] = {}
    for c in comments:
        by_ad.setdefault(c["ad_id"], []).append(c)
    first, second = next(v for v in by_ad.values() if len(v) >= 2)[:2]
    body = {"advertiser_id": US, "comment_ids": [first["comment_id"]], "operation": "PIN"}
    ok(await api.post("comment/status/update/", body))
    assert _pinned(ok(await _list(api, group, page_size=100))["comments"]) == [
        first["comment_id"]]
    err(await api.post("comment/status/update/",
                       {**body, "comment_ids": [first["comment_id"], second["comment_id"]]}),
        40002)
    ok(await api.post("comment/status/update/", {**body, "comment_ids": [second["comment_id"]]}))
    assert _pinned(ok(await _list(api, group, page_size=100))["comments"]) == [
        second["comment_id"]]
    await api.control("config", {"comment_pin_replaces": False})
    err(await api.post("comment/status/update/", body), 40002)
    ok(await api.post("comment/status/update/",
                      {**body, "comment_ids": [second["comment_id"]], "operation": "HIDDEN"}))
    assert _pinned(ok(await _list(api, group, page_size=100))["comments"]) == []
    err(await api.post("comment/status/update/", {**body, "comment_ids": [second["comment_id"]]}),
        40002)  # hidden
    ok(await api.post("comment/status/update/", body))
    ok(await api.post("comment/status/update/", {**body, "operation": "UNPIN"}))
    assert _pinned(ok(await _list(api, group, page_size=100))["comments"]) == []
    reply = ok(await api.post("comment/post/", _post_body(first, "Thanks")))["comment"]
    err(await api.post("comment/status/update/", {**body, "comment_ids": [reply["comment_id"]]}),
        40002)


async def test_pin_endpoint_or_none_by_knob(api: Api) -> None:
    """comment_pin "endpoint": POST comment/pin/ (action PIN / UNPIN) and no PIN operation;
    "none": neither, as TikTok's SDK enum (HIDDEN / PUBLIC) reads."""
    group = await _adgroup(api)
    c = ok(await _list(api, group))["comments"][0]
    status = {"advertiser_id": US, "comment_ids": [c["comment_id"]], "operation": "PIN"}
    pin = {"advertiser_id": US, "comment_id": c["comment_id"], "action": "PIN"}
    err(await api.post("comment/pin/", pin), 40400)
    await api.control("config", {"comment_pin": "endpoint"})
    err(await api.post("comment/status/update/", status), 40002)
    ok(await api.post("comment/pin/", pin))
    assert _pinned(ok(await _list(api, group))["comments"]) == [c["comment_id"]]
    ok(await api.post("comment/pin/", {**pin, "action": "UNPIN"}))
    assert _pinned(ok(await _list(api, group))["comments"]) == []
    err(await api.post("comment/pin/", {**pin, "comment_id": "1"}), 40007)
    await api.control("config", {"comment_pin": "none"})
    err(await api.post("comment/status/update/", status), 40002)
    err(await api.post("comment/pin/", pin), 40400)
