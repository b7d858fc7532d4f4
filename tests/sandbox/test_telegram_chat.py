"""The terminal chat client, driven by a scripted stdin against a tiny aiogram bot."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiohttp import web

from sandbox.telegram.chat import deep_link_payload, run_chat
from sandbox.telegram.driver import SandboxClient
from sandbox.telegram.server import RunningServer
from sandbox.telegram.web_page import PageParser

USER = 6001


def tiny_png() -> bytes:
    """A valid 2x2 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + b"\x00\xff\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


CONSENT_PAGE = """<!doctype html><html><head><title>Consent</title>
<style>body {color: red}</style></head><body>
<h1>Allow TTPulse to read your ad accounts?</h1>
<p>Scopes: reporting &amp; campaigns.</p>
<a href="/privacy">Privacy policy</a>
<form method="post" action="/consent/decide">
  <input type="hidden" name="state" value="st8">
  <button type="submit" name="decision" value="allow">Authorize</button>
  <button type="submit" name="decision" value="deny">Cancel</button>
</form></body></html>"""


def web_app(bot_username: str) -> web.Application:
    """A consent page: Authorize redirects to the bot's t.me deep link."""

    async def consent(request: web.Request) -> web.Response:
        return web.Response(text=CONSENT_PAGE, content_type="text/html")

    async def privacy(request: web.Request) -> web.Response:
        return web.Response(text="<p>We keep nothing.</p><a href='/consent'>Back</a>",
                            content_type="text/html")

    async def decide(request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("decision") == "allow":
            raise web.HTTPFound(f"https://t.me/{bot_username}?start=ok_{form.get('state')}")
        return web.Response(text="<p>Cancelled.</p>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/consent", consent)
    app.router.add_get("/privacy", privacy)
    app.router.add_post("/consent/decide", decide)
    return app


def echo_router(page_url: str) -> Router:
    """Echo with a callback button and a URL button; /start PAYLOAD confirms the link."""
    router = Router()

    @router.message(CommandStart(deep_link=True))
    async def linked(message: Message, command: CommandObject) -> None:
        await message.answer(f"Linked: <code>{command.args}</code>")

    @router.message(F.text == "photo")
    async def photo(message: Message) -> None:
        await message.answer_photo(BufferedInputFile(tiny_png(), "chart.png"), caption="Chart")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        markup = InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text="Ping", callback_data="ping"),
            InlineKeyboardButton(text="Connect", url=page_url),
        ]])
        await message.answer(f"Echo: <b>{message.text}</b>", reply_markup=markup)

    @router.callback_query(F.data == "ping")
    async def ping(query: CallbackQuery) -> None:
        await query.answer("pong")
        await query.message.edit_text("Pong!")  # type: ignore[union-attr]

    return router


@pytest.fixture
async def page_url(server: RunningServer) -> AsyncIterator[str]:
    """URL of the consent page."""
    runner = web.AppRunner(web_app(server.engine.config.bot_username))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/consent"
    await runner.cleanup()


@pytest.fixture
async def bot(server: RunningServer, page_url: str) -> AsyncIterator[Bot]:
    """The echo bot, long polling the sandbox."""
    instance = Bot(server.token,
                   session=AiohttpSession(api=TelegramAPIServer.from_base(server.url)),
                   default=DefaultBotProperties(parse_mode="HTML"))
    dp = Dispatcher()
    dp.include_router(echo_router(page_url))
    task = asyncio.create_task(dp.start_polling(instance, handle_signals=False,
                                                polling_timeout=2))
    yield instance
    await dp.stop_polling()
    await asyncio.wait_for(task, 5)


async def test_scripted_chat_session(
    server: RunningServer, bot: Bot, page_url: str, tmp_path: Path
) -> None:
    script = "\n".join([
        "hello",
        "1",            # press Ping on the echo
        "photo",
        "hi again",
        "7",            # no button 7: the chat says how to send it as text
        "'7",           # … and so it is sent
        "2",            # the Connect URL button opens the consent page
        "1",            # follow the Privacy policy link
        "/open 2",      # back to the consent page through the button
        "2",            # Authorize: redirect to t.me/<bot>?start=ok_st8
        "/quit",
        "never read",
    ]) + "\n"
    out = io.StringIO()
    downloads = tmp_path / "downloads"
    await asyncio.wait_for(
        run_chat(server.url, USER, "Ann", stdin=io.StringIO(script), stdout=out,
                 downloads_dir=downloads, reply_wait=3.0, poll_interval=0.2),
        25,
    )
    text = out.getvalue()
    assert "Echo: **hello**" in text
    assert "[1] Ping  [2] Connect ↗" in text
    assert "(notice from bot: pong)" in text
    assert "has buttons 1-2; to send 7 as text, type '7)" in text and "Echo: **7**" in text
    assert "edited] Pong!" in text
    saved = list(downloads.iterdir())
    assert len(saved) == 1 and saved[0].read_bytes() == tiny_png()
    assert f"saved to {saved[0]}" in text
    assert "title: Consent" in text
    assert "Scopes: reporting & campaigns." in text
    assert "color: red" not in text
    assert "We keep nothing." in text
    assert "[2] button: Authorize" in text and "[3] button: Cancel" in text
    assert "Linked: ok_st8" in text
    assert "(bye)" in text

    async with SandboxClient(server.url) as client:
        user = await client.user(USER, "Ann")
        sent = [m.text for m in await user.messages() if not m.from_bot]
        assert sent == ["hello", "photo", "hi again", "7", "/start ok_st8"]
        assert await client.refusals() == []


async def test_chat_pays_an_invoice_and_handles_eof(server: RunningServer,
                                                    tmp_path: Path) -> None:
    async with SandboxClient(server.url) as client:
        await client.user(USER)
    bot = Bot(server.token, session=AiohttpSession(api=TelegramAPIServer.from_base(server.url)))
    try:
        await bot.send_invoice(USER, title="Pro", description="Pro plan", payload="p1",
                               currency="XTR", prices=[{"label": "Pro", "amount": 5}])

        async def approve() -> None:
            for _ in range(100):
                updates = await bot.get_updates(timeout=0)
                for update in updates:
                    if update.pre_checkout_query:
                        await bot.answer_pre_checkout_query(update.pre_checkout_query.id,
                                                            ok=True)
                        return
                await asyncio.sleep(0.05)

        approver = asyncio.create_task(approve())
        out = io.StringIO()
        await asyncio.wait_for(
            run_chat(server.url, USER, stdin=io.StringIO("/pay\n"), stdout=out,
                     downloads_dir=tmp_path, reply_wait=0.5, poll_interval=0.2),
            15,
        )
        await approver
    finally:
        await bot.session.close()
    text = out.getvalue()
    assert "INVOICE Pro — Pro plan — 5 ⭐ (XTR). Type /pay 1 to pay." in text
    assert "[1] Pay ⭐️5 (pay)" in text
    assert "paid 5 XTR (charge stx" in text


async def test_a_long_chat_kept_from_an_earlier_run_starts_with_its_last_messages(
    server: RunningServer, tmp_path: Path
) -> None:
    async with SandboxClient(server.url) as client:
        await client.user(USER)
    bot = Bot(server.token, session=AiohttpSession(api=TelegramAPIServer.from_base(server.url)))
    try:
        for n in range(10):
            await bot.send_message(USER, f"earlier {n}")
    finally:
        await bot.session.close()
    out = io.StringIO()
    await asyncio.wait_for(
        run_chat(server.url, USER, stdin=io.StringIO("/history\n"), stdout=out,
                 downloads_dir=tmp_path, reply_wait=0.2, poll_interval=0.2),
        15,
    )
    text = out.getvalue()
    assert "(4 earlier messages: /history shows them)" in text
    # The last six once at start and once in /history; the four before them only in /history.
    assert [text.count(f"earlier {n}") for n in range(10)] == [1] * 4 + [2] * 6


def test_page_parser_extracts_links_and_forms() -> None:
    parser = PageParser("http://h/consent")
    parser.feed(CONSENT_PAGE)
    labels = [(c.kind, c.label, c.method, c.url) for c in parser.choices]
    assert labels == [
        ("link", "Privacy policy", "GET", "http://h/privacy"),
        ("form", "Authorize", "POST", "http://h/consent/decide"),
        ("form", "Cancel", "POST", "http://h/consent/decide"),
    ]
    assert parser.choices[1].fields == [("state", "st8"), ("decision", "allow")]


def test_deep_link_payload() -> None:
    assert deep_link_payload("https://t.me/ttpulse_bot?start=abc-1") == "/start abc-1"
    assert deep_link_payload("https://t.me/ttpulse_bot") == "/start"
    assert deep_link_payload("tg://resolve?domain=ttpulse_bot&start=x") == "/start x"
    assert deep_link_payload("https://example.com/?start=x") is None
