"""With `world_file`, the emulator's world outlives its restart, as TikTok's does: what was
paused stays paused, and a finished day's spend does not move (sandbox/keep.py)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sandbox.tiktok.server import RunningEmulator, start_emulator
from tests.sandbox.test_tiktok_emulator import US, Api, ok

FIRST, LATER = "2026-11-29T12:00:00Z", "2026-11-29T15:37:11Z"  # the same day, hours apart


async def _look(emu: RunningEmulator) -> tuple[dict[str, str], str]:
    """Each US campaign's status, and the account's spend on a finished day."""
    async with aiohttp.ClientSession() as session:
        api = Api(emu, session)
        listed = ok(await api.get("campaign/get/", advertiser_id=US, page_size=1000))
        report = ok(await api.get(
            "report/integrated/get/", advertiser_id=US, report_type="BASIC",
            data_level="AUCTION_ADVERTISER", dimensions=["advertiser_id", "stat_time_day"],
            metrics=["spend"], start_date="2026-11-27", end_date="2026-11-27",
        ))
    statuses = {c["campaign_id"]: c["operation_status"] for c in listed["list"]}
    return statuses, report["list"][0]["metrics"]["spend"]


async def _pause(emu: RunningEmulator, campaign_id: str) -> None:
    async with aiohttp.ClientSession() as session:
        ok(await Api(emu, session).post("campaign/status/update/", {
            "advertiser_id": US, "campaign_ids": [campaign_id], "operation_status": "DISABLE"}))


async def _started(at: str, **knobs: Any) -> tuple[dict[str, str], str]:
    emu = await start_emulator(fixture="demo", now=at, **knobs)
    try:
        return await _look(emu)
    finally:
        await emu.stop()


async def test_a_pause_and_past_spend_survive_a_restart(tmp_path: Path) -> None:
    kept = str(tmp_path / "world.pickle")
    emu = await start_emulator(fixture="demo", now=FIRST, world_file=kept)
    statuses, spend = await _look(emu)
    campaign = next(c for c, s in statuses.items() if s == "ENABLE")
    await _pause(emu, campaign)
    token = emu.access_token
    await emu.stop()

    again = await start_emulator(fixture="demo", now=LATER, world_file=kept)
    try:
        after, spend_after = await _look(again)
        assert after == {**statuses, campaign: "DISABLE"}
        assert spend_after == spend
        assert again.access_token == token
    finally:
        await again.stop()
    # Without it, the world is built anew at each start: the pause is gone, and the fixture's
    # objects, made relative to the start, spent another amount on the same finished day.
    fresh, fresh_spend = await _started(LATER)
    assert fresh == statuses
    assert fresh_spend != spend


async def test_a_world_of_another_seed_or_an_unreadable_file_is_not_taken_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    built = await _started(FIRST)
    kept = tmp_path / "world.pickle"
    emu = await start_emulator(fixture="demo", now=FIRST, world_file=str(kept), seed=7)
    statuses, _ = await _look(emu)
    await _pause(emu, next(c for c, s in statuses.items() if s == "ENABLE"))
    await emu.stop()
    assert await _started(FIRST, world_file=str(kept)) == built  # the default seed's own world
    kept.write_bytes(b"not a pickle")
    with caplog.at_level(logging.WARNING):
        assert await _started(FIRST, world_file=str(kept)) == built
    assert "sandbox.state_unreadable" in caplog.text
