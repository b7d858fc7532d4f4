"""Mini Apps in the sandbox: web_app buttons and the menu button need HTTPS (as Telegram), and
pressing one (or /app in the terminal chat) gives a launch URL whose initData the bot's token
verifies — the same check the dashboard makes (core.web_auth)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, MenuButtonWebApp, WebAppInfo

from core.web_auth import init_data_user
from sandbox.telegram.chat import run_chat
from sandbox.telegram.driver import SandboxClient
from sandbox.telegram.server import RunningServer

TOKEN = "7100000009:WebAppSandboxToken"
USER = 6101


@pytest.fixture
def server_options() -> dict[str, Any]:
    """The bot's own token; flood control on, as by default."""
    return {"token": TOKEN}


@pytest.fixture
async def bot(server: RunningServer) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.url))
    bot = Bot(TOKEN, session=session)
    yield bot
    await bot.session.close()


def init_data_of(url: str) -> str:
    return parse_qs(urlsplit(url).fragment)["tgWebAppData"][0]


async def test_web_app_buttons_and_menu_button(server: RunningServer, bot: Bot) -> None:
    async with SandboxClient(server.url) as client:
        user = await client.user(USER, "Ann")
        plain = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
            text="Open", web_app=WebAppInfo(url="http://127.0.0.1/app/"))]])
        with pytest.raises(TelegramBadRequest, match="Only HTTPS links are allowed"):
            await bot.send_message(USER, "x", reply_markup=plain)
        with pytest.raises(TelegramBadRequest, match="Only HTTPS"):
            await bot.set_chat_menu_button(menu_button=MenuButtonWebApp(
                text="Dashboard", web_app=WebAppInfo(url="http://127.0.0.1/app/")))
        keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
            text="Open", web_app=WebAppInfo(url="https://dash.example/app/"))]])
        await bot.send_message(USER, "Dashboard", reply_markup=keyboard)
        pressed = await user.press("Open")
        url = pressed["web_app_url"]
        assert url.startswith("https://dash.example/app/#tgWebAppData=")
        who = init_data_user(TOKEN, init_data_of(url), datetime.now(UTC), timedelta(minutes=1))
        assert who is not None and who.user_id == USER
        # Signed by this bot's token only.
        assert init_data_user("1:other", init_data_of(url), datetime.now(UTC),
                              timedelta(minutes=1)) is None
        await bot.set_chat_menu_button(menu_button=MenuButtonWebApp(
            text="Dashboard", web_app=WebAppInfo(url="https://dash.example/menu/")))
        menu = await bot.get_chat_menu_button()
        assert isinstance(menu, MenuButtonWebApp) and menu.web_app.url.endswith("/menu/")
        assert (await user.web_app_url()).startswith("https://dash.example/menu/#tgWebAppData=")


async def test_terminal_chat_app_line_prints_a_signed_launch_url(server: RunningServer) -> None:
    out = io.StringIO()
    await asyncio.wait_for(
        run_chat(server.url, USER, "Ann", stdin=io.StringIO("/app\n/quit\n"), stdout=out,
                 reply_wait=0.5, poll_interval=0.2, app_url="http://127.0.0.1:8080/app/"),
        15,
    )
    line = next(x for x in out.getvalue().splitlines() if "#tgWebAppData=" in x)
    assert line.startswith("http://127.0.0.1:8080/app/#")
    who = init_data_user(TOKEN, init_data_of(line), datetime.now(UTC), timedelta(minutes=1))
    assert who is not None and who.user_id == USER
