"""Shared fixtures of the sandbox tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sandbox.telegram.server import RunningServer, start_server


@pytest.fixture
def server_options() -> dict[str, Any]:
    """How the sandbox Bot API server starts (a module overrides this): flood control off."""
    return {"flood_enabled": False}


@pytest.fixture
async def server(server_options: dict[str, Any]) -> AsyncIterator[RunningServer]:
    """A sandbox Bot API server started with `server_options`."""
    running = await start_server(**server_options)
    yield running
    await running.stop()
