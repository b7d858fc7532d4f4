"""E2E fixtures: a sandbox Telegram server, the service process, and a driver for users.

After every test: the service logged no traceback and no error, and the sandbox refused none of
its calls (no text over 4096, no bad HTML, no 65-byte callback data, no unchanged edit, no flood).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.telegram.server import RunningServer, start_server
from sandbox.tiktok.server import RunningEmulator, start_emulator
from tests.e2e.harness import TOKEN, SandboxClient, ServiceProcess


@pytest.fixture
async def telegram() -> AsyncIterator[RunningServer]:
    server = await start_server(token=TOKEN)
    yield server
    await server.stop()


@pytest.fixture
async def sandbox(telegram: RunningServer) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(telegram.url) as client:
        yield client


@pytest.fixture
async def tiktok() -> AsyncIterator[RunningEmulator]:
    emulator = await start_emulator(fixture="demo")
    yield emulator
    await emulator.stop()


@pytest.fixture
def service_env() -> dict[str, str]:
    """Extra environment for the service process; tests override it to change the setup."""
    return {}


@pytest.fixture
async def service(
    telegram: RunningServer,
    sandbox: SandboxClient,
    tmp_path: Path,
    service_env: dict[str, str],
    tiktok: RunningEmulator,
    request: pytest.FixtureRequest,
) -> AsyncIterator[ServiceProcess]:
    env = {
        "TIKTOK_API_URL": tiktok.url,
        "TIKTOK_AUTH_URL": tiktok.auth_url,
        "TIKTOK_APP_ID": tiktok.app_id,
        "TIKTOK_APP_SECRET": tiktok.secret,
        **service_env,
    }
    svc = ServiceProcess(telegram.url, tmp_path, **env)
    await svc.start()
    yield svc
    await svc.stop()
    log = svc.log()
    assert "Traceback" not in log, f"the service logged a traceback:\n{log}"
    errors = [e for e in svc.log_events() if e.get("level") in ("error", "critical", "raw")]
    assert errors == [], f"the service logged errors:\n{errors}"
    # A 403 is a user's own doing (they blocked the bot); everything else is the service's fault,
    # unless the test provoked it on purpose (marker allow_refusals(codes...)).
    marker = request.node.get_closest_marker("allow_refusals")
    allowed = {403, *(marker.args if marker else ())}
    refusals = [r for r in await sandbox.refusals() if r["error_code"] not in allowed]
    assert refusals == [], f"the sandbox refused some of the service's calls: {refusals}"
