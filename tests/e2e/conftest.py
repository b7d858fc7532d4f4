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

# Per-chat pace of the e2e tests, on both sides: a screen a user walks through is dozens of
# messages and edits, and at Telegram's ~1/s per chat the tests would mostly wait. The sandbox
# still enforces (and the service still paces to) a per-chat bucket, just a faster one; tests
# marked `telegram_pace` keep Telegram's own numbers, and the flood test sets stricter ones.
FAST_CHAT_RATE = 20.0


@pytest.fixture
async def telegram(request: pytest.FixtureRequest) -> AsyncIterator[RunningServer]:
    server = await start_server(token=TOKEN)
    if request.node.get_closest_marker("telegram_pace") is None:
        server.engine.configure(per_chat_rate=FAST_CHAT_RATE)
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
    real_pace = request.node.get_closest_marker("telegram_pace") is not None
    env = {
        **({} if real_pace else {"TELEGRAM_CHAT_RATE": str(FAST_CHAT_RATE * 0.95)}),
        "TIKTOK_API_URL": tiktok.url,
        "TIKTOK_AUTH_URL": tiktok.auth_url,
        "TIKTOK_APP_ID": tiktok.app_id,
        "TIKTOK_APP_SECRET": tiktok.secret,
        **service_env,
    }
    fresh = request.node.get_closest_marker("fresh_interpreter") is not None
    svc = ServiceProcess(telegram.url, tmp_path, fresh_interpreter=fresh, **env)
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
