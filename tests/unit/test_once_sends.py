"""An update handled a second time (its first handler's instance died) sends nothing twice:
the same send at the same place gets the first one's result, kept in Redis; anything else
is sent. Against the sandbox Bot API server and a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest

from bot.once_sends import OnceSends, SendInDoubt, handling
from sandbox.telegram.driver import ChatUser, SandboxClient
from sandbox.telegram.server import start_server
from tests.services import redis_client

USER = 5001


@pytest.fixture
async def setup() -> AsyncIterator[tuple[Bot, ChatUser]]:
    server = await start_server()
    server.engine.configure(per_chat_burst=10)  # a few sends in a row to one chat
    redis = await redis_client()
    await redis.flushdb()
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.url))
    session.middleware(OnceSends(redis, 42))
    async with SandboxClient(server.url) as sandbox:
        user = await sandbox.user(USER)
        try:
            yield Bot(server.token, session=session), user
        finally:
            await session.close()
            await redis.aclose()
            await server.stop()


async def texts(user: ChatUser) -> list[str]:
    return [m.text for m in await user.bot_messages()]


async def test_a_second_handling_of_an_update_does_not_send_again(
    setup: tuple[Bot, ChatUser],
) -> None:
    bot, user = setup
    with handling(700):  # the first handling: its instance dies after this send
        first = await bot.send_message(USER, "Commands: /help")
    with handling(700):  # Telegram's retry, handled by another instance
        again = await bot.send_message(USER, "Commands: /help")
        more = await bot.send_message(USER, "and this one was not sent before")
    assert await texts(user) == ["Commands: /help", "and this one was not sent before"]
    # The handler goes on with the message as the first send returned it.
    assert again.message_id == first.message_id and again.chat.id == USER
    assert more.message_id != first.message_id


async def test_other_updates_and_other_sends_are_sent(setup: tuple[Bot, ChatUser]) -> None:
    bot, user = setup
    with handling(800):
        await bot.send_message(USER, "Paused 3 ads")
    with handling(801):  # another update: the same words are a new message
        await bot.send_message(USER, "Paused 3 ads")
    with handling(800):  # the same update taking another path: a different send is made
        await bot.send_message(USER, "Nothing to pause")
    await bot.send_message(USER, "Paused 3 ads")  # outside any update (a tick): always sent
    assert await texts(user) == ["Paused 3 ads", "Paused 3 ads", "Nothing to pause", "Paused 3 ads"]


class KilledAsTelegramAnswers(BaseRequestMiddleware):
    """The instance dies once Telegram has taken the message, before its answer is kept."""

    armed = True

    async def __call__(self, make_request: Any, bot: Bot, method: Any) -> Any:
        result = await make_request(bot, method)
        if self.armed:
            raise asyncio.CancelledError  # what a SIGKILL leaves behind: nothing after this
        return result


async def test_a_send_cut_off_in_flight_is_not_made_again(setup: tuple[Bot, ChatUser]) -> None:
    bot, user = setup
    killer = KilledAsTelegramAnswers()
    bot.session.middleware(killer)
    with handling(900), pytest.raises(asyncio.CancelledError):
        await bot.send_message(USER, "Approve pausing 3 ads?")
    killer.armed = False
    with handling(900), pytest.raises(SendInDoubt):  # the retry, on another instance
        await bot.send_message(USER, "Approve pausing 3 ads?")
    with handling(901):  # the next update is answered as usual
        await bot.send_message(USER, "Approve pausing 3 ads?")
    assert await texts(user) == ["Approve pausing 3 ads?", "Approve pausing 3 ads?"]


async def test_a_send_telegram_refused_may_be_made_by_a_later_handling(
    setup: tuple[Bot, ChatUser],
) -> None:
    bot, user = setup
    with handling(950), pytest.raises(TelegramBadRequest):
        await bot.send_message(USER, "")  # refused: nothing reached the chat
    with handling(950), pytest.raises(TelegramBadRequest):  # not "in doubt": sent and refused
        await bot.send_message(USER, "")
    assert await texts(user) == []
