"""What the optional-feature contract tests share: the demo world at NOW, a signed-up user
connected to it on SQLite, and the requests made to optional endpoints, counted at the
emulator. Test modules import the fixtures by name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.tiktok import TikTokClient
from tests.contract.test_sync import NOW, Db, connected_db

OPTIONAL_PREFIXES = ("comment/", "blockedword/", "pixel/", "event/", "offline/", "dmp/",
                     "catalog/")


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"fixture": "demo", "now": NOW}


@pytest.fixture
async def db(tmp_path: Any, client: TikTokClient) -> AsyncIterator[Db]:
    engines: list[Any] = []
    yield await connected_db(f"sqlite+aiosqlite:///{tmp_path}/c.db", client, engines)
    for engine in engines:
        await engine.dispose()


async def optional_calls(emu: Any) -> dict[str, int]:
    """Requests so far to comment, pixel, audience and catalog endpoints, by path."""
    return {p: n for p, n in (await emu.requests()).items() if p.startswith(OPTIONAL_PREFIXES)}
