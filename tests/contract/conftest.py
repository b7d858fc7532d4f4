"""Contract-test fixtures: the TikTok emulator over HTTP and a schema check on every reply."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from core.tiktok import NoLimiter, RetryPolicy, TikTokClient
from tests.contract.raw_api import Api
from tests.contract.schemas import check_response

API_PREFIX = "/open_api/v1.3/"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ResponseChecker:
    """Collects every API reply seen by the traced session and checks it against the spec."""

    checked: list[tuple[str, str, int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def trace_config(self) -> aiohttp.TraceConfig:
        """An aiohttp trace hook that validates each reply body as it arrives."""
        config = aiohttp.TraceConfig()

        async def on_end(session: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any) -> None:
            url = params.url
            if API_PREFIX not in url.path:
                return
            path = url.path.split(API_PREFIX, 1)[1]
            body = await params.response.read()  # cached: the client reads the same bytes
            status = params.response.status
            self.checked.append((params.method, path, status))
            self.problems.extend(check_response(params.method, path, dict(url.query), status, body))

        config.on_request_end.append(on_end)
        return config

    def paths(self) -> set[str]:
        """Paths that got at least one reply."""
        return {p for _, p, _ in self.checked}


@dataclass
class Emu:
    """A running emulator plus a control-API helper."""

    server: Any
    control: aiohttp.ClientSession

    def __getattr__(self, name: str) -> Any:
        return getattr(self.server, name)

    async def ctl(self, method: str, name: str, payload: dict[str, Any] | None = None) -> Any:
        """Call the emulator control API (`/_emulator/<name>`)."""
        url = self.server.url.rstrip("/") + "/_emulator/" + name
        async with self.control.request(method, url, json=payload) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    async def stats(self) -> dict[str, Any]:
        """GET /_emulator/stats."""
        return await self.ctl("GET", "stats")

    async def requests(self) -> dict[str, int]:
        """API request counts per path relative to /open_api/v1.3/."""
        counts = (await self.stats())["requests"]
        return {k.split(API_PREFIX, 1)[-1]: v for k, v in counts.items()}


async def _start(**kwargs: Any) -> Any:
    try:
        from sandbox.tiktok.server import start_emulator
    except ImportError as exc:  # the emulator is developed in parallel
        pytest.skip(f"TikTok emulator not available yet: {exc}")
    return await start_emulator(host="127.0.0.1", port=0, **kwargs)


@dataclass
class ProcessEmulator:
    """The emulator run as its own process (``python -m sandbox.tiktok``), as TikTok is remote."""

    proc: asyncio.subprocess.Process
    app_id: str
    secret: str
    access_token: str
    url: str

    @classmethod
    async def start(cls) -> ProcessEmulator:
        """Start it and read the credentials it prints."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sandbox.tiktok", "--port", "0",
            cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        printed: dict[str, str] = {}
        while "tiktok_auth_url" not in printed:
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert line, "the emulator exited before printing its credentials"
            key, _, value = line.decode().strip().partition("=")
            printed[key] = value
        return cls(proc, printed["app_id"], printed["secret"], printed["access_token"],
                   printed["tiktok_api_url"])

    async def stop(self) -> None:
        """Stop the process."""
        self.proc.terminate()
        await self.proc.wait()


@pytest.fixture
async def emu_process() -> AsyncIterator[Emu]:
    """An emulator in a process of its own: its arrival stamps do not wait on the test's
    event loop (a loaded test process would otherwise bunch requests the client spaced)."""
    server = await ProcessEmulator.start()
    control = aiohttp.ClientSession()
    try:
        yield Emu(server, control)
    finally:
        await control.close()
        await server.stop()


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    """Override in a test module (or parametrize) to start the emulator differently."""
    return {"fixture": "demo"}


@pytest.fixture
async def emu(emulator_options: dict[str, Any]) -> AsyncIterator[Emu]:
    """A fresh emulator for one test."""
    server = await _start(**emulator_options)
    control = aiohttp.ClientSession()
    try:
        yield Emu(server, control)
    finally:
        await control.close()
        await server.stop()


@pytest.fixture
async def checker() -> AsyncIterator[ResponseChecker]:
    """Every reply in the test must match the spec schemas."""
    state = ResponseChecker()
    yield state
    assert not state.problems, "spec drift:\n" + "\n".join(state.problems[:40])


@pytest.fixture
async def session(checker: ResponseChecker) -> AsyncIterator[aiohttp.ClientSession]:
    """The one shared aiohttp session, traced by the checker."""
    async with aiohttp.ClientSession(trace_configs=[checker.trace_config()]) as s:
        yield s


FAST_RETRY = RetryPolicy(max_attempts=6, max_total_seconds=20, base_delay=0.05, max_delay=0.4)


@pytest.fixture
def client(emu: Emu, session: aiohttp.ClientSession) -> TikTokClient:
    """A client for the emulator's app, without a rate limiter (the emulator has none)."""
    return TikTokClient(
        base_url=emu.url,
        app_id=emu.app_id,
        secret=emu.secret,
        session=session,
        limiter=NoLimiter(),
        retry=FAST_RETRY,
        request_timeout=3.0,
        auth_url=emu.auth_url,
    )


@pytest.fixture
def api(emu: Emu, session: aiohttp.ClientSession) -> Api:
    """Raw Marketing API calls (as outside clients make them) through the traced session."""
    return Api(emu.api_url, emu.access_token, session)
