""" "Tracking broken?" against the emulator (issue 17): a pixel silenced at the emulator while its
ads spend brings one alert (pixel, event, spend, campaigns), not one per read, and a "back to
normal" message when its events resume; silent ads that do not spend bring nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from core import pixel_watch
from core.features import set_feature
from core.sync import worker_id
from core.tiktok import TikTokClient
from storage.models import OutboxMessage
from tests.contract.feature_db import optional_calls
from tests.contract.test_sync import NOW, USER, Db, connected_db, sync_all

EU_PIXEL = "7317000000000000002"  # the demo's "Glowly EU pixel" (Etc/GMT-1: 13:00 at NOW)
EU_ADVERTISER = "7310000000000104730"


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"fixture": "demo", "now": NOW}


@pytest.fixture
async def db(db_url: str, client: TikTokClient) -> AsyncIterator[Db]:
    """On SQLite and on PostgreSQL (the claims, the seed's insert and the sums differ)."""
    engines: list[Any] = []
    yield await connected_db(db_url, client, engines)
    for engine in engines:
        await engine.dispose()


async def _travel(db: Db, emu: Any, client: TikTokClient, delta: timedelta) -> None:
    """Both clocks on by `delta`, then the due syncs (the spend the watch compares with)."""
    await emu.ctl("POST", "clock", {"advance_seconds": delta.total_seconds()})
    db.clock.set(db.clock.now() + delta)
    await sync_all(db, client)


async def _queued(db: Db) -> list[OutboxMessage]:
    async with db.uow() as u:
        return list(
            await u.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind.in_([pixel_watch.SILENT_KIND, pixel_watch.BACK_KIND]))
                .order_by(OutboxMessage.id)
            )
        )


async def _watch(db: Db, client: TikTokClient) -> int:
    return await pixel_watch.watch_due(db.uow, db.clock, client, worker_id())


async def test_a_silenced_pixel_alerts_once_and_says_when_it_is_back(
    db: Db, client: TikTokClient, emu: Any
) -> None:
    await sync_all(db, client)
    await set_feature(db.uow, db.clock, USER, "pixels", True)
    assert await _watch(db, client) == 0  # the first read only learns the counts
    await emu.ctl("POST", "pixel_silence", {"pixel_id": EU_PIXEL})

    await _travel(db, emu, client, timedelta(hours=2))
    assert await _watch(db, client) == 0  # silent 2 h: not yet (PIXEL_SILENT_HOURS 3)
    await _travel(db, emu, client, timedelta(hours=2))
    assert await _watch(db, client) == 1
    await _travel(db, emu, client, timedelta(minutes=40))
    assert await _watch(db, client) == 0  # the same incident: said once
    [alert] = await _queued(db)
    assert alert.kind == pixel_watch.SILENT_KIND
    p = alert.params
    assert p["pixel"] == "Glowly EU pixel" and p["event"] == "Complete payment"
    assert Decimal(p["spend"]) > 0 and p["currency"] and p["campaigns"]
    assert p["since"].startswith(NOW.date().isoformat())

    await emu.ctl("POST", "pixel_silence", {"pixel_id": EU_PIXEL, "silent": False})
    await _travel(db, emu, client, timedelta(hours=1))
    assert await _watch(db, client) == 1
    _silent, back = await _queued(db)
    assert back.kind == pixel_watch.BACK_KIND and back.params["pixel"] == "Glowly EU pixel"
    await _travel(db, emu, client, timedelta(minutes=40))
    assert await _watch(db, client) == 0
    assert len(await _queued(db)) == 2


async def test_silent_pixel_without_spend_says_nothing(
    db: Db, client: TikTokClient, emu: Any
) -> None:
    """The EU pixel's ad groups are paused: its events stop too, but nothing spends on it."""
    await sync_all(db, client)
    await set_feature(db.uow, db.clock, USER, "pixels", True)
    groups = [
        g.adgroup_id
        for g in await client.get_adgroups(
            emu.access_token, EU_ADVERTISER, fields=pixel_watch.ADGROUP_FIELDS
        )
        if str(g.raw.get("pixel_id")) == EU_PIXEL
    ]
    assert groups
    for i in range(0, len(groups), 20):
        await client.update_adgroup_status(
            emu.access_token, EU_ADVERTISER, groups[i : i + 20], "DISABLE"
        )
    assert await _watch(db, client) == 0
    await emu.ctl("POST", "pixel_silence", {"pixel_id": EU_PIXEL})
    await _travel(db, emu, client, timedelta(hours=5))
    assert await _watch(db, client) == 0
    assert await _queued(db) == []
    assert (await optional_calls(emu)).get("pixel/event/stats/", 0) >= 2
