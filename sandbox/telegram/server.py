"""Offline Telegram Bot API server: build_app / start_server (spec §5.3 wire format)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox import keep
from sandbox.telegram import state as state_module
from sandbox.telegram.botapi import handle_bot_api, handle_file_download
from sandbox.telegram.control import add_control_routes
from sandbox.telegram.engine import ENGINE_KEY, Engine
from sandbox.telegram.login import add_login_routes
from sandbox.telegram.state import DEFAULT_TOKEN, SandboxConfig, SandboxState
from sandbox.telegram.webhook_delivery import webhook_loop


def build_app(config: SandboxConfig | None = None) -> web.Application:
    """The aiohttp application: Bot API, file downloads, the Login Widget's /auth pages and
    the /_sandbox/ control API."""
    config = config or SandboxConfig()
    # Uploads up to the 50 MB Bot API limit (spec §1) plus multipart overhead.
    app = web.Application(client_max_size=60 * 1024 * 1024)
    engine = app[ENGINE_KEY] = Engine(config)
    if config.state_file:
        _keep_state(app, engine, Path(config.state_file))
    add_control_routes(app)
    add_login_routes(app)  # oauth.telegram.org's Login Widget pages
    app.router.add_get("/file/bot{token}/{path:.+}", handle_file_download)
    app.router.add_route("*", "/bot{token}/{method}", handle_bot_api)
    app.cleanup_ctx.append(_webhook_ctx)
    app.cleanup_ctx.append(_renewals_ctx)
    app.on_shutdown.append(_release_long_polls)
    return app


def _keep_state(app: web.Application, engine: Engine, path: Path) -> None:
    """Take up what the last run knew (sandbox/keep.py), and keep saving it as it goes on."""
    key = (keep.shape(state_module, *SandboxState.KEPT),)
    kept = keep.load(path, key)
    if kept is not None:
        engine.state.take_up(kept)
    saved: object = None

    async def save_now(last: bool) -> None:
        # Files can be large (a demo's videos): written again only when something changed.
        nonlocal saved
        if (changes := engine.state.changes()) != saved or last:
            keep.save(path, key, engine.state.kept())
            saved = changes

    app.cleanup_ctx.append(keep.saving(save_now))


async def _release_long_polls(app: web.Application) -> None:
    # Answer waiting getUpdates at once instead of holding shutdown for `timeout` seconds.
    engine = app[ENGINE_KEY]
    engine.closing = True
    engine.state.wake()


async def _webhook_ctx(app: web.Application) -> Any:
    task = asyncio.create_task(webhook_loop(app), name="sandbox-telegram-webhook")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    engine: Engine = app[ENGINE_KEY]
    for record in engine.state.pre_checkouts.values():
        if not record.future.done():
            record.future.cancel()


async def _renewals_ctx(app: web.Application) -> Any:
    # Subscription periods end by the sandbox clock: renew (or end) them as they fall due.
    task = asyncio.create_task(app[ENGINE_KEY].renewal_loop(), name="sandbox-telegram-renewals")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@dataclass
class RunningServer:
    """A started sandbox server; `url` is the base to give TelegramAPIServer.from_base."""

    url: str
    token: str
    host: str
    port: int
    app: web.Application
    runner: web.AppRunner

    @property
    def engine(self) -> Engine:
        """The in-process engine (state, config) for white-box use."""
        return self.app[ENGINE_KEY]

    async def stop(self) -> None:
        """Stop listening and release everything."""
        await self.runner.cleanup()


def make_config(token: str = DEFAULT_TOKEN, **knobs: Any) -> SandboxConfig:
    """A SandboxConfig from keyword knobs, rejecting unknown names."""
    known = {f.name for f in fields(SandboxConfig)}
    unknown = set(knobs) - known
    if unknown:
        raise TypeError(f"unknown sandbox knobs: {sorted(unknown)}")
    return SandboxConfig(token=token, **knobs)


async def start_server(
    host: str = "127.0.0.1", port: int = 0, token: str = DEFAULT_TOKEN, **knobs: Any
) -> RunningServer:
    """Start the server in the running loop; port 0 picks a free port."""
    config = make_config(token, **knobs)
    config.bot_id  # noqa: B018 - fail early on a token without a numeric bot id
    app = build_app(config)
    # Long polls hold requests open; don't wait for them on shutdown.
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = port
    for address in runner.addresses:
        if isinstance(address, tuple):
            bound_port = int(address[1])
            break
    url_host = f"[{host}]" if ":" in host else host
    return RunningServer(f"http://{url_host}:{bound_port}", token, host, bound_port, app, runner)
