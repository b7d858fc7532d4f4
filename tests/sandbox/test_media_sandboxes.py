"""The sandboxes' media additions: big files stood in for by a declared size and video thumbnails
(Telegram), the asset-library search and a reply lost after an upload (TikTok)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest

from sandbox.telegram.driver import SandboxClient, SandboxError
from sandbox.telegram.server import RunningServer, start_server
from sandbox.tiktok.server import RunningEmulator, start_emulator
from tests.media import image, mp4

USER = 5101
US = "7310000000000000001"  # Glowly US (demo fixture)


@pytest.fixture
async def telegram() -> AsyncIterator[tuple[Bot, SandboxClient]]:
    server: RunningServer = await start_server(flood_enabled=False)
    bot = Bot(server.token, session=AiohttpSession(api=TelegramAPIServer.from_base(server.url)))
    async with SandboxClient(server.url) as client:
        yield bot, client
    await bot.session.close()
    await server.stop()


async def test_a_declared_size_stands_in_for_a_big_file_and_getfile_refuses_it(
    telegram: tuple[Bot, SandboxClient],
) -> None:
    bot, client = telegram
    user = await client.user(USER)
    big = 25 * 1024 * 1024
    thumb = image(320, 180, "JPEG")
    await user.send_file(
        "video", "long.mp4", mp4(90.0), "video/mp4", duration=90, width=1080, height=1920,
        declared_size=big, thumbnail_b64=base64.b64encode(thumb).decode(),
    )  # fmt: skip
    [update] = await bot.get_updates()
    video = update.message.video if update.message else None
    assert video is not None and video.file_size == big
    assert video.thumbnail is not None and (video.thumbnail.width, video.thumbnail.height) == (
        320,
        180,
    )
    # telegram-bot-platform §1: getFile serves at most 20 MB — the thumbnail comes, the video not.
    got = await bot.download(video.thumbnail.file_id)
    assert got is not None and got.read() == thumb
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(video.file_id)
    with pytest.raises(SandboxError, match="declared_size"):
        await user.send_file("video", "x.mp4", b"12345", declared_size=3)


@pytest.fixture
async def emu() -> AsyncIterator[tuple[RunningEmulator, aiohttp.ClientSession]]:
    running = await start_emulator(fixture="demo")
    async with aiohttp.ClientSession() as session:
        yield running, session
    await running.stop()


async def _call(
    emu: tuple[RunningEmulator, aiohttp.ClientSession],
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    form: aiohttp.FormData | None = None,
    timeout: float = 10,  # noqa: ASYNC109 - a plain HTTP helper
) -> dict[str, Any]:
    running, session = emu
    query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (params or {}).items()}
    async with session.request(
        method,
        running.api_url + path,
        params=query,
        data=form,
        headers={"Access-Token": running.access_token},
        timeout=aiohttp.ClientTimeout(total=timeout),
    ) as resp:
        return await resp.json()


def _video_form(data: bytes, name: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("advertiser_id", US)
    form.add_field("video_signature", hashlib.md5(data).hexdigest())
    form.add_field("file_name", name)
    form.add_field("video_file", data, filename=name, content_type="video/mp4")
    return form


async def test_search_lists_the_library_newest_first_with_the_spec_filters(
    emu: tuple[RunningEmulator, aiohttp.ClientSession],
) -> None:
    data = mp4(5.0)
    up = await _call(emu, "POST", "file/video/ad/upload/", form=_video_form(data, "new.mp4"))
    new_id = up["data"][0]["video_id"]
    found = await _call(emu, "GET", "file/video/ad/search/", params={"advertiser_id": US})
    assert found["code"] == 0, found
    rows, info = found["data"]["list"], found["data"]["page_info"]
    assert rows[0]["video_id"] == new_id and rows[0]["signature"] == hashlib.md5(data).hexdigest()
    assert info["page_size"] == 20 and info["total_number"] == len(rows) >= 2

    one = await _call(
        emu, "GET", "file/video/ad/search/",
        params={"advertiser_id": US, "filtering": {"video_ids": [new_id]}, "page_size": 100},
    )  # fmt: skip
    assert [r["video_id"] for r in one["data"]["list"]] == [new_id]
    tall = await _call(
        emu, "GET", "file/video/ad/search/",
        params={"advertiser_id": US, "filtering": {"ratio": [0.56]}},
    )  # fmt: skip
    assert len(tall["data"]["list"]) == len(rows)  # every video here is 720×1280
    wide = await _call(
        emu, "GET", "file/video/ad/search/",
        params={"advertiser_id": US, "filtering": {"width": 1920}},
    )  # fmt: skip
    assert wide["data"]["list"] == []
    images = await _call(emu, "GET", "file/image/ad/search/", params={"advertiser_id": US})
    assert images["code"] == 0 and images["data"]["list"]

    too_big = await _call(
        emu, "GET", "file/video/ad/search/", params={"advertiser_id": US, "page_size": "101"}
    )
    assert too_big["code"] == 40002
    by_name = await _call(
        emu, "GET", "file/video/ad/search/",
        params={"advertiser_id": US, "filtering": {"file_name": "new.mp4"}},
    )  # fmt: skip
    assert by_name["code"] == 40002  # spec §5.3 has no name filter


async def test_a_lost_reply_still_uploads_and_the_retry_meets_40911(
    emu: tuple[RunningEmulator, aiohttp.ClientSession],
) -> None:
    running, session = emu
    async with session.post(
        f"{running.url}/_emulator/config",
        json={"fault_queue": ["lost_reply"], "timeout_seconds": 1.0},
    ) as resp:
        assert resp.status == 200
    data = mp4(4.0)
    with pytest.raises(TimeoutError):
        await _call(
            emu, "POST", "file/video/ad/upload/", form=_video_form(data, "lost.mp4"), timeout=0.3
        )
    copies = [v for v in running.state.videos.values() if v.file_name == "lost.mp4"]
    assert len(copies) == 1 and copies[0].signature == hashlib.md5(data).hexdigest()
    again = await _call(emu, "POST", "file/video/ad/upload/", form=_video_form(data, "lost.mp4"))
    assert again["code"] == 40911 and again["data"] == {}
