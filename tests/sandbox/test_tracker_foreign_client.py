"""The Keitaro emulator through a client we did not write: `keitaropy`, a published wrapper of
Keitaro's Admin API (requests, the `Api-Key` header), unchanged, given the emulator's
/admin_api/v1 as its host. Campaigns (all, one, the deleted), a campaign's streams and the
traffic sources read as Keitaro answers them, and errors come back in Keitaro's `error` body
(trackers-binom-keitaro §1). No such client exists for Binom 1 or 2 in the registries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from keitaropy import Keitaro

from sandbox.tiktok.server import RunningEmulator, start_emulator
from sandbox.trackers.server import RunningTracker, start_tracker


@pytest.fixture
async def keitaro() -> AsyncIterator[RunningTracker]:
    """The Keitaro emulator on a frozen TikTok demo world."""
    tiktok: RunningEmulator = await start_emulator(fixture="demo", now="2026-11-29T12:00:00Z")
    tracker = await start_tracker("keitaro", tiktok=tiktok)
    yield tracker
    await tracker.stop()
    await tiktok.stop()


def reads(url: str, key: str) -> dict[str, Any]:
    """What keitaropy reads (it is synchronous: run off the emulator's loop)."""
    api = Keitaro(key, url + "/admin_api/v1")
    first = api.campaigns.get()[0]["id"]
    return {
        "campaigns": api.campaigns.get(),
        "one": api.campaigns.get(first),
        "deleted": api.campaigns.get_deleted(),
        "streams": api.streams.get_campaign_streams(first),
        "sources": api.sources.get(),
        "missing": api.campaigns.get(999_999),
        "wrong key": Keitaro("not-the-key", url + "/admin_api/v1").campaigns.get(),
    }


async def test_keitaropy_reads_campaigns_streams_and_sources(keitaro: RunningTracker) -> None:
    got = await asyncio.to_thread(reads, keitaro.url, keitaro.api_key)
    campaigns = got["campaigns"]
    assert campaigns and all(isinstance(c["id"], int) and c["name"] for c in campaigns)
    assert {c["state"] for c in campaigns} <= {"active", "disabled"}
    assert got["one"] == campaigns[0]
    deleted = got["deleted"]
    assert deleted and {c["state"] for c in deleted} == {"deleted"}
    assert not {c["id"] for c in deleted} & {c["id"] for c in campaigns}
    streams = got["streams"]
    assert streams and {s["campaign_id"] for s in streams} == {campaigns[0]["id"]}
    assert any(s["name"] == "TikTok" for s in got["sources"])
    for refused in (got["missing"], got["wrong key"]):  # 404 and 401, §1.4: {"error": "..."}
        assert list(refused) == ["error"] and refused["error"], refused
