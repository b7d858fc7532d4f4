"""The sandbox Telegram server's webhook delivery (spec §5.2, issue 15): parallel up to
max_connections, one chat in order, retries with back-off, getWebhookInfo's counters, repeats."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from sandbox.telegram.driver import SandboxClient
from sandbox.telegram.server import RunningServer


class Hook:
    """A webhook endpoint that records deliveries, holds each for `delay` s and can fail."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.status: Callable[[dict[str, Any]], int] = lambda _: 200
        self.received: list[dict[str, Any]] = []
        self.attempts: list[float] = []
        self.failure_headers: dict[str, str] = {}
        self.active: dict[int, int] = {}  # chat -> deliveries in flight
        self.max_parallel = 0
        self.max_per_chat = 0
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        chat = update["message"]["chat"]["id"]
        self.active[chat] = self.active.get(chat, 0) + 1
        self.max_per_chat = max(self.max_per_chat, self.active[chat])
        self.max_parallel = max(self.max_parallel, sum(self.active.values()))
        try:
            await asyncio.sleep(self.delay)
            status = self.status(update)
            self.attempts.append(time.monotonic())
            if status == 200:
                self.received.append(update)
                return web.json_response({})
            return web.json_response({}, status=status, headers=self.failure_headers)
        finally:
            self.active[chat] -= 1

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{self.runner.addresses[0][1]}/hook"

    def texts(self, chat: int) -> list[str]:
        return [u["message"]["text"] for u in self.received if u["message"]["chat"]["id"] == chat]


@pytest.fixture
def server_options() -> dict[str, Any]:
    """Flood control off; webhook retries 0.1 s apart."""
    return {"flood_enabled": False, "webhook_retry_base": 0.1}


@pytest.fixture
async def bot(server: RunningServer) -> AsyncIterator[Bot]:
    instance = Bot(
        server.token, session=AiohttpSession(api=TelegramAPIServer.from_base(server.url))
    )
    yield instance
    await instance.session.close()


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(server.url) as sandbox:
        yield sandbox


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    endpoint = Hook()
    yield endpoint
    if endpoint.runner is not None:
        await endpoint.runner.cleanup()


async def until(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_parallel_across_chats_in_order_within_one(
    bot: Bot, client: SandboxClient, hook: Hook
) -> None:
    hook.delay = 0.1
    await bot.set_webhook(await hook.start(), max_connections=4)
    users = [await client.user(7000 + n) for n in range(6)]
    for n in range(5):
        for user in users:
            await user.send(f"m{n}")
    await until(lambda: len(hook.received) == 30)
    assert hook.max_per_chat == 1  # a chat's next update only after the previous was answered
    assert 2 <= hook.max_parallel <= 4  # several chats at once, never over max_connections
    for user in users:
        assert hook.texts(user.user_id) == [f"m{n}" for n in range(5)]
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_chat_order_knob_off_lets_one_chat_run_in_parallel(
    bot: Bot, client: SandboxClient, hook: Hook
) -> None:
    await client.configure(webhook_chat_order=False)
    hook.delay = 0.1
    await bot.set_webhook(await hook.start(), max_connections=5)
    user = await client.user(7100)
    for n in range(5):
        await user.send(f"m{n}")
    await until(lambda: len(hook.received) == 5)
    assert hook.max_per_chat > 1


async def test_failures_are_retried_with_backoff_and_reported(
    bot: Bot, client: SandboxClient, hook: Hook
) -> None:
    failures = {"left": 3}

    def status(update: dict[str, Any]) -> int:
        if update["message"]["text"] == "first" and failures["left"] > 0:
            failures["left"] -= 1
            return 500
        return 200

    hook.status = status
    await bot.set_webhook(await hook.start())
    user = await client.user(7200)
    started = time.monotonic()
    await user.send("first")
    await user.send("second")
    await until(lambda: len(hook.received) == 2)
    # Three failures: 0.1 + 0.2 + 0.4 s of back-off before the fourth attempt.
    assert time.monotonic() - started >= 0.7
    assert hook.texts(7200) == ["first", "second"]  # the failed one kept its place
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert info.last_error_date is not None and info.pending_update_count == 0


async def test_refused_connections_are_retried(
    server: RunningServer, bot: Bot, client: SandboxClient, hook: Hook
) -> None:
    url = await hook.start()
    port = hook.runner.addresses[0][1]  # type: ignore[union-attr]
    await hook.runner.cleanup()  # type: ignore[union-attr]
    await bot.set_webhook(url)
    user = await client.user(7300)
    await user.send("while down")
    await until(lambda: (server.engine.state.webhook_retry.get(1, (0, 0))[0]) >= 2)
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1 and "Connection failed" in (info.last_error_message or "")
    hook2 = Hook()
    app = web.Application()
    app.router.add_post("/hook", hook2.handle)
    hook2.runner = web.AppRunner(app)
    await hook2.runner.setup()
    await web.TCPSite(hook2.runner, "127.0.0.1", port).start()
    try:
        await until(lambda: hook2.texts(7300) == ["while down"])
    finally:
        await hook2.runner.cleanup()


async def test_duplicates_knob_delivers_an_update_twice(
    bot: Bot, client: SandboxClient, hook: Hook
) -> None:
    await client.configure(webhook_duplicates=1)
    await bot.set_webhook(await hook.start())
    user = await client.user(7400)
    await user.send("once")
    await user.send("twice?")
    await until(lambda: len(hook.received) == 3)
    ids = [u["update_id"] for u in hook.received]
    assert ids[0] == ids[1] != ids[2]
    assert [d["update_id"] for d in await client.webhook_deliveries()] == ids
    assert (await client.configure())["webhook_duplicates"] == 0


async def test_drop_pending_and_allowed_updates(
    bot: Bot, client: SandboxClient, hook: Hook
) -> None:
    user = await client.user(7500)
    await user.send("old news")
    url = await hook.start()
    await bot.set_webhook(url, drop_pending_updates=True, allowed_updates=["callback_query"])
    await user.send("not allowed")
    await asyncio.sleep(0.3)
    assert hook.received == []
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 0 and info.allowed_updates == ["callback_query"]
    await bot.set_webhook(url, allowed_updates=["message"])
    await until(lambda: hook.texts(7500) == ["not allowed"])
    info = await bot.get_webhook_info()
    assert info.max_connections == 40 and info.url == url


async def test_a_retry_after_header_is_honoured(
    bot: Bot, client: SandboxClient, hook: Hook
) -> None:
    failed: list[int] = []

    def status(update: dict[str, Any]) -> int:
        if not failed:
            failed.append(update["update_id"])
            return 503
        return 200

    hook.status, hook.failure_headers = status, {"Retry-After": "1"}
    await bot.set_webhook(await hook.start())
    user = await client.user(7600)
    await user.send("draining instance")
    await until(lambda: hook.texts(7600) == ["draining instance"])
    assert hook.attempts[1] - hook.attempts[0] >= 0.95  # not the 0.1 s back-off
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 503 Service Unavailable"
