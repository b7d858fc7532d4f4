"""A button's answer that Telegram refuses as too old is logged, not raised (the work it
answered was done); any other refusal, and the same refusal of another method, still raise.
Against the sandbox Bot API server, which refuses like Telegram (spec §2.4)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest

from bot.late_answers import LateAnswers
from sandbox.telegram.server import start_server


@pytest.fixture
async def bots() -> AsyncIterator[tuple[Bot, Bot]]:
    server = await start_server()
    plain = AiohttpSession(api=TelegramAPIServer.from_base(server.url))
    guarded = AiohttpSession(api=TelegramAPIServer.from_base(server.url))
    guarded.middleware(LateAnswers())
    try:
        yield Bot(server.token, session=plain), Bot(server.token, session=guarded)
    finally:
        await plain.close()
        await guarded.close()
        await server.stop()


async def test_a_too_late_answer_is_logged_not_raised(
    bots: tuple[Bot, Bot], caplog: pytest.LogCaptureFixture
) -> None:
    plain, guarded = bots
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await plain.answer_callback_query("123456", text="Done")
    assert await guarded.answer_callback_query("123456", text="Done") is True
    assert [r.getMessage() for r in caplog.records] == ["callback.answer_too_late"]


async def test_other_refusals_still_raise(bots: tuple[Bot, Bot]) -> None:
    _plain, guarded = bots
    with pytest.raises(TelegramBadRequest, match="MESSAGE_TOO_LONG"):
        await guarded.answer_callback_query("123456", text="x" * 201)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await guarded.send_message(987654321, "hello")
