"""With `state_file`, a tracker emulator holds after a restart the costs pushed to it before,
as a real tracker does (sandbox/keep.py): the demo's trackers no longer forget them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import aiohttp

from core.trackers.base import CostItem
from sandbox.tiktok.server import RunningEmulator, start_emulator
from sandbox.trackers.model import CUT_OFF
from sandbox.trackers.server import RunningTracker, start_tracker
from tests.contract.test_tracker_clients import (
    NOW,
    ZONES,
    campaign_values,
    cid,
    client,
    costs_of,
    held_by_day,
    push_days,
)

KIND = "keitaro"


async def _tiktok(tmp_path: Path) -> RunningEmulator:
    return await start_emulator(fixture="demo", now=NOW.isoformat(),
                                world_file=str(tmp_path / "world.pickle"))


async def _push(tracker: RunningTracker) -> list[CostItem]:
    """Push a cost per TikTok campaign for two settled days; returns what was pushed."""
    async with aiohttp.ClientSession() as session:
        api = client(tracker, session)
        camp, tz = cid(KIND, 1), ZONES[KIND]
        days = push_days(tracker, tz)
        values = await campaign_values(tracker, api, camp, "ad_campaign_id", days, tz)
        items = [CostItem(camp, day, tz, Decimal(f"{12 + n}.34"), "USD", "ad_campaign_id", value)
                 for day in days for n, value in enumerate(values)]
        assert all(o.ok for o in await api.push_costs(items))
    return items


async def test_pushed_costs_are_held_after_a_restart(tmp_path: Path) -> None:
    kept = str(tmp_path / "tracker.pickle")
    tiktok = await _tiktok(tmp_path)
    tracker = await start_tracker(KIND, tiktok=tiktok, state_file=kept)
    items = await _push(tracker)
    days = sorted({i.day for i in items})
    held = await held_by_day(tracker, cid(KIND, 1), "ad_campaign_id", days[0], days[-1],
                             ZONES[KIND])
    port = tracker.base_url.rsplit(":", 1)[1]
    await tracker.stop()
    await tiktok.stop()

    tiktok = await _tiktok(tmp_path)
    again = await start_tracker(KIND, tiktok=tiktok, state_file=kept, port=int(port),
                                api_key=tracker.api_key)
    try:
        assert again.costs(cid(KIND, 1)) == costs_of(items)
        # ... on the same clicks: each day's and campaign's cost where it was.
        assert await held_by_day(again, cid(KIND, 1), "ad_campaign_id", days[0], days[-1],
                                 ZONES[KIND]) == held
    finally:
        await again.stop()
        await tiktok.stop()


async def test_costs_are_not_held_over_another_tiktok_world(tmp_path: Path) -> None:
    """Costs sit on clicks of TikTok's delivery: over a world built anew, they are dropped."""
    kept = str(tmp_path / "tracker.pickle")
    tiktok = await _tiktok(tmp_path)
    tracker = await start_tracker(KIND, tiktok=tiktok, state_file=kept)
    await _push(tracker)
    port = tracker.base_url.rsplit(":", 1)[1]
    await tracker.stop()
    await tiktok.stop()

    # No world kept: built anew an hour later (the fixture's objects are made relative to it).
    fresh = await start_emulator(fixture="demo", now=(NOW + timedelta(hours=1)).isoformat())
    again = await start_tracker(KIND, tiktok=fresh, state_file=kept, port=int(port))
    try:
        assert again.costs(cid(KIND, 1)) == {}
    finally:
        await again.stop()
        await fresh.stop()


async def test_a_cost_update_still_queued_at_stop_is_kept_as_failed(tmp_path: Path) -> None:
    """A restart cuts a queued update off: after it, the task says so instead of running."""
    kept = str(tmp_path / "tracker.pickle")
    tiktok = await _tiktok(tmp_path)
    tracker = await start_tracker("binom2", tiktok=tiktok, state_file=kept, cost_delay_s=3600)
    camp = tracker.world.campaigns[int(cid("binom2", 1))]
    tracker.world.schedule(camp, lambda: 1)
    port = tracker.base_url.rsplit(":", 1)[1]
    await tracker.stop()

    again = await start_tracker("binom2", tiktok=tiktok, state_file=kept, port=int(port))
    try:
        again.finish_tasks()
        [task] = again.world.tasks
        assert (task.status, task.error) == ("failed", CUT_OFF)
    finally:
        await again.stop()
        await tiktok.stop()
