"""The sandbox Telegram Bot API server, driven by a real aiogram Bot over HTTP."""

from __future__ import annotations

import asyncio
import struct
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    Message,
    PreCheckoutQuery,
)
from aiohttp import web

from sandbox.telegram.driver import SandboxClient, SandboxError
from sandbox.telegram.server import RunningServer, start_server

USER = 5001


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """A valid RGB PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def make_bot(server: RunningServer, token: str | None = None) -> Bot:
    """An aiogram Bot pointed at the sandbox (spec §5.3)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.url))
    return Bot(token or server.token, session=session,
               default=DefaultBotProperties(parse_mode="HTML"))


@pytest.fixture
def server_options() -> dict[str, Any]:
    """Flood control off; a pre-checkout query times out after 3 s."""
    return {"flood_enabled": False, "pre_checkout_timeout": 3.0}


@pytest.fixture
async def bot(server: RunningServer) -> AsyncIterator[Bot]:
    """A real aiogram Bot talking HTTP to the sandbox."""
    instance = make_bot(server)
    yield instance
    await instance.session.close()


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[SandboxClient]:
    """The control API driver."""
    async with SandboxClient(server.url) as sandbox:
        yield sandbox


async def refusal_descriptions(client: SandboxClient) -> list[str]:
    """Descriptions in the refusal log."""
    return [r["description"] for r in await client.refusals()]


class Polling:
    """Runs a Dispatcher's long polling against the sandbox for the duration of a test."""

    def __init__(self, bot: Bot, *routers: Router) -> None:
        self.bot = bot
        self.dp = Dispatcher()
        self.dp.include_routers(*routers)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Dispatcher:
        self.task = asyncio.create_task(self.dp.start_polling(
            self.bot, handle_signals=False, close_bot_session=False, polling_timeout=2))
        return self.dp

    async def __aexit__(self, *exc: object) -> None:
        await self.dp.stop_polling()
        assert self.task is not None
        await asyncio.wait_for(self.task, 5)


# --------------------------------------------------------------------------- basics
async def test_get_me_reports_the_token_bot_id(bot: Bot, server: RunningServer) -> None:
    me = await bot.get_me()
    assert me.id == int(server.token.split(":")[0])
    assert me.is_bot and me.username == "ttpulse_sandbox_bot"


async def test_wrong_token_is_unauthorized(server: RunningServer) -> None:
    other = make_bot(server, token="42:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await other.get_me()
    finally:
        await other.session.close()


async def test_unknown_method_is_404(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as http, \
            http.post(f"{server.url}/bot{server.token}/sendTelepathy") as resp:
        assert resp.status == 404
        assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_start_server_picks_a_free_port() -> None:
    first = await start_server()
    second = await start_server()
    try:
        assert first.port != second.port and first.port > 0
        assert first.url == f"http://127.0.0.1:{first.port}"
    finally:
        await first.stop()
        await second.stop()


# --------------------------------------------------------------------------- refusals
async def test_text_limits_count_parsed_utf16(bot: Bot, client: SandboxClient) -> None:
    await client.user(USER)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "x" * 4097)
    # Tags don't count: raw length is far over 4096, parsed length exactly 4096.
    tagged = "<b>" + "x" * 4000 + "</b>" + "&amp;" * 96
    assert len(tagged) > 4096
    sent = await bot.send_message(USER, tagged)
    assert len(sent.text or "") == 4096
    # 2049 emoji are 2049 code points but 4098 UTF-16 units (§1).
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "😀" * 2049)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, "<b> </b>")
    assert len(await refusal_descriptions(client)) == 3


async def test_caption_over_1024_is_refused(bot: Bot, client: SandboxClient) -> None:
    await client.user(USER)
    photo = BufferedInputFile(tiny_png(), "chart.png")
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(USER, photo, caption="c" * 1025)
    sent = await bot.send_photo(USER, photo, caption="<i>" + "c" * 1024 + "</i>")
    assert sent.caption == "c" * 1024


@pytest.mark.parametrize(
    ("data", "ok"),
    [("d" * 64, True), ("d" * 65, False), ("ж" * 32, True), ("ж" * 33, False),
     ("😀" * 17, False)],
)
async def test_callback_data_is_limited_to_64_bytes(
    bot: Bot, client: SandboxClient, data: str, ok: bool
) -> None:
    await client.user(USER)
    markup = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="Go", callback_data=data)]])
    if ok:
        await bot.send_message(USER, "menu", reply_markup=markup)
    else:
        with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
            await bot.send_message(USER, "menu", reply_markup=markup)


async def test_button_needs_exactly_one_action(bot: Bot, client: SandboxClient) -> None:
    await client.user(USER)
    two = InlineKeyboardButton(text="Both", url="https://example.com", callback_data="x")
    with pytest.raises(TelegramBadRequest, match="exactly one"):
        await bot.send_message(USER, "menu",
                               reply_markup=InlineKeyboardMarkup(inline_keyboard=[[two]]))
    none = InlineKeyboardButton(text="Nothing")
    with pytest.raises(TelegramBadRequest, match="Text buttons are unallowed"):
        await bot.send_message(USER, "menu",
                               reply_markup=InlineKeyboardMarkup(inline_keyboard=[[none]]))


@pytest.mark.parametrize(
    "text",
    [
        "<div>unknown tag</div>",
        "<b>unclosed",
        "<b><i>crossed</b></i>",
        "a < b",
        "Tom & Jerry",
        "price&nbsp;10",
        "<span>plain span</span>",
        "</b>",
        "<!-- comment -->",
    ],
)
async def test_broken_html_is_refused(bot: Bot, client: SandboxClient, text: str) -> None:
    await client.user(USER)
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, text)
    [refusal] = await client.refusals()
    assert refusal["method"] == "sendMessage" and refusal["error_code"] == 400
    assert refusal["chat_id"] == USER


async def test_valid_html_is_parsed(bot: Bot, client: SandboxClient) -> None:
    user = await client.user(USER)
    html = ('<b>Bold</b> <i>it</i> <u>u</u> <s>s</s> <tg-spoiler>sp</tg-spoiler> '
            '<span class="tg-spoiler">sp2</span> <a href="https://x.io">link</a> '
            '<code>c</code> <pre><code class="language-python">p</code></pre> '
            '<blockquote expandable>q</blockquote> &lt;&gt;&amp;&quot; &#128512; &#x41;')
    sent = await bot.send_message(USER, html)
    assert sent.text == 'Bold it u s sp sp2 link c p q <>&" 😀 A'
    kinds = {e.type for e in sent.entities or []}
    assert {"bold", "italic", "text_link", "pre", "expandable_blockquote"} <= kinds
    view = await user.last_bot_message()
    assert view is not None and view.html == html and view.text == sent.text


async def test_edits_and_deletes(bot: Bot, client: SandboxClient) -> None:
    user = await client.user(USER)
    markup = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="A", callback_data="a")]])
    sent = await bot.send_message(USER, "<b>hello</b>", reply_markup=markup)
    with pytest.raises(TelegramBadRequest, match="message is not modified: specified new"):
        await bot.edit_message_text("<b>hello</b>", chat_id=USER, message_id=sent.message_id,
                                    reply_markup=markup)
    # Same text, different markup is a real change.
    await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id,
                                        reply_markup=None)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id)
    edited = await bot.edit_message_text("<b>hello</b> again", chat_id=USER,
                                         message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.edit_date is not None
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=999)
    assert await bot.delete_message(USER, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, sent.message_id)
    [view] = await user.bot_messages(include_deleted=True)
    assert view.deleted and view.edit_count == 2 and view.text == "hello again"


async def test_edit_text_without_markup_drops_the_keyboard(bot: Bot, client: SandboxClient
                                                           ) -> None:
    user = await client.user(USER)
    markup = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="A", callback_data="a")]])
    sent = await bot.send_message(USER, "one", reply_markup=markup)
    await bot.edit_message_text("two", chat_id=USER, message_id=sent.message_id)
    view = await user.last_bot_message()
    assert view is not None and view.buttons == []


async def test_flood_control_answers_429_with_retry_after(bot: Bot, client: SandboxClient
                                                          ) -> None:
    await client.user(USER)
    await client.configure(flood_enabled=True, per_chat_burst=3, per_chat_rate=1.0)
    for n in range(3):
        await bot.send_message(USER, f"burst {n}")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(USER, "one too many")
    assert caught.value.retry_after >= 1
    [refusal] = await client.refusals()
    assert refusal["error_code"] == 429 and refusal["retry_after"] >= 1
    assert refusal["description"].startswith("Too Many Requests: retry after ")
    # Another chat has its own bucket; the global 30/s bucket is not exhausted.
    await client.user(USER + 1)
    await bot.send_message(USER + 1, "other chat")


async def test_user_action_refills_the_chat_burst(bot: Bot, client: SandboxClient) -> None:
    user = await client.user(USER)
    await client.configure(flood_enabled=True, per_chat_burst=2, per_chat_rate=0.5)
    sent = await bot.send_message(USER, "one")
    await bot.edit_message_text("one, edited", chat_id=USER, message_id=sent.message_id)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(USER, "unprompted")
    await user.send("next please")  # replying to the user gets a fresh burst
    await bot.send_message(USER, "reply 1")
    await bot.send_message(USER, "reply 2")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(USER, "reply 3")
    assert caught.value.retry_after == 2
    await client.configure(user_action_refills=False, count_edits=False)
    await user.send("again")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(USER, "no refill now")
    # With count_edits off, edits pass even while sends are throttled.
    await bot.edit_message_text("one, edited twice", chat_id=USER, message_id=sent.message_id)


async def test_global_flood_limit(bot: Bot, client: SandboxClient) -> None:
    await client.configure(flood_enabled=True, per_chat_burst=100, global_rate=5.0)
    for uid in range(10):
        await client.user(USER + uid)
    sent, refused = 0, 0
    for uid in range(10):
        try:
            await bot.send_message(USER + uid, "broadcast")
            sent += 1
        except TelegramRetryAfter:
            refused += 1
    assert sent == 5 and refused == 5


async def test_callback_query_answered_twice(bot: Bot, client: SandboxClient) -> None:
    user = await client.user(USER)
    markup = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="Press me", callback_data="p")]])
    await bot.send_message(USER, "menu", reply_markup=markup)
    pressed = await user.press("Press")
    query_id = pressed["callback_query_id"]
    assert pressed["data"] == "p"
    with pytest.raises(TelegramBadRequest, match="MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(query_id, text="t" * 201)
    assert await bot.answer_callback_query(query_id, text="done")
    with pytest.raises(TelegramBadRequest, match="query is too old and response timeout"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query("12345")
    [answer] = await user.callback_answers()
    assert answer["text"] == "done" and answer["show_alert"] is False


async def test_chat_not_found_and_blocked(bot: Bot, client: SandboxClient) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(777, "hello?")
    user = await client.user(USER)
    await user.block()
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "hello?")
    updates = await bot.get_updates()
    member = updates[-1].my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"
    await user.send("/start")  # writing again unblocks
    await bot.send_message(USER, "welcome back")
    codes = [r["error_code"] for r in await client.refusals()]
    assert codes == [400, 403]


async def test_webhook_conflicts_with_get_updates(bot: Bot) -> None:
    assert await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="s3cret")
    with pytest.raises(TelegramConflictError):
        await bot.get_updates()
    info = await bot.get_webhook_info()
    assert info.url == "http://127.0.0.1:9/hook"
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == []


async def test_commands_per_language(bot: Bot, client: SandboxClient) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Start"),
                               BotCommand(command="stats", description="Stats")])
    await bot.set_my_commands([BotCommand(command="start", description="Старт")],
                              language_code="ru")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "stats"]
    assert [c.description for c in await bot.get_my_commands(language_code="ru")] == ["Старт"]
    assert await bot.get_my_commands(language_code="de") == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Name", description="x")])
    with pytest.raises(TelegramBadRequest, match="DESCRIPTION_INVALID"):
        await bot.set_my_commands([BotCommand(command="ok", description="")])
    stored = {entry["language_code"]: entry for entry in await client.commands()}
    assert stored["ru"]["commands"] == [{"command": "start", "description": "Старт"}]
    assert stored[""]["scope"] == {"type": "default"}
    assert await bot.delete_my_commands(language_code="ru")
    assert await bot.get_my_commands(language_code="ru") == []


async def test_press_unknown_label_lists_available(bot: Bot, client: SandboxClient) -> None:
    user = await client.user(USER)
    markup = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="Yes", callback_data="y"),
        InlineKeyboardButton(text="Docs", url="https://example.com/docs")]])
    sent = await bot.send_message(USER, "menu", reply_markup=markup)
    with pytest.raises(SandboxError) as caught:
        await user.press("Maybe")
    assert caught.value.status == 404 and caught.value.body["available"] == ["Docs", "Yes"]
    assert (await user.press("Docs"))["url"] == "https://example.com/docs"
    forged = await user.press_data("y:999", sent.message_id)
    updates = await bot.get_updates()
    assert updates[-1].callback_query is not None
    assert updates[-1].callback_query.data == "y:999" == forged["data"]


# --------------------------------------------------------------------------- happy paths
async def test_get_updates_long_poll_is_woken_and_honours_offset(
    bot: Bot, client: SandboxClient
) -> None:
    user = await client.user(USER)
    await user.send("first")
    [first] = await bot.get_updates(timeout=0)
    assert first.message is not None and first.message.text == "first"

    async def later() -> None:
        await asyncio.sleep(0.2)
        await user.send("/stats@ttpulse_sandbox_bot week")

    started = time.monotonic()
    sender = asyncio.create_task(later())
    updates = await bot.get_updates(offset=first.update_id + 1, timeout=5)
    await sender
    assert time.monotonic() - started < 2
    [second] = updates
    assert second.message is not None
    entity = (second.message.entities or [])[0]
    assert entity.type == "bot_command" and entity.length == len("/stats@ttpulse_sandbox_bot")
    # Idle long poll is held for `timeout` seconds and returns empty.
    started = time.monotonic()
    assert await bot.get_updates(offset=second.update_id + 1, timeout=1) == []
    assert 0.9 <= time.monotonic() - started < 3


async def test_dispatcher_gets_text_and_button_press(bot: Bot, client: SandboxClient) -> None:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        markup = InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text="📊 Stats", callback_data="stats")]])
        await message.answer(f"Hi, <b>{message.from_user.first_name}</b>!",  # type: ignore[union-attr]
                             reply_markup=markup)

    @router.callback_query(F.data == "stats")
    async def stats(query: CallbackQuery) -> None:
        await query.answer("Loading…")
        await query.message.edit_text("Spend: <b>$12.50</b>")  # type: ignore[union-attr]

    async with Polling(bot, router):
        user = await client.user(USER, first_name="Ann")
        await user.send("/start")
        menu = await user.expect("Hi, Ann!")
        assert menu.button_labels() == ["📊 Stats"]
        await user.press("Stats")
        edited = await user.expect("Spend: $12.50")
        assert edited.message_id == menu.message_id and edited.edit_count == 1
        assert (await user.callback_answers())[0]["text"] == "Loading…"
    assert await client.refusals() == []


async def test_a_press_on_a_stale_copy_carries_that_copy(bot: Bot, client: SandboxClient) -> None:
    router = Router()
    seen: list[tuple[str | None, str | None]] = []

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        markup = InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text="New", callback_data="new")]])
        await message.answer("<b>Templates</b>", reply_markup=markup)

    @router.callback_query(F.data == "new")
    async def new(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        seen.append((query.message.text, query.data))
        await query.answer()
        try:
            await query.message.edit_text("Name the template")
        except TelegramBadRequest as exc:
            seen.append((exc.message, None))

    async with Polling(bot, router):
        user = await client.user(USER)
        await user.send("/start")
        menu = await user.expect("Templates")
        await user.double_tap("New", seen=menu)
        await user.expect("Name the template")
        while len(seen) < 3:  # noqa: ASYNC110 - the second press's refusal arrives later
            await asyncio.sleep(0.05)
        # The pressed button is gone from the chat, yet a press on the stale copy found it.
        with pytest.raises(SandboxError, match="no button"):
            await user.press("New")
    # Both presses carried the message as the user saw it; the second edit changed nothing.
    assert seen[:2] == [("Templates", "new"), ("Templates", "new")]
    assert seen[2][0] is not None and "message is not modified" in seen[2][0]
    assert len(await refusal_descriptions(client)) == 1


async def test_expect_fails_with_transcript(client: SandboxClient) -> None:
    user = await client.user(USER)
    await user.send("anyone there?")
    with pytest.raises(AssertionError, match="anyone there"):
        await user.expect("never", timeout=0.3)


async def test_files_round_trip(bot: Bot, client: SandboxClient) -> None:
    user = await client.user(USER)
    png = tiny_png(40, 30)
    sent = await bot.send_photo(USER, BufferedInputFile(png, "chart.png"), caption="<b>Chart</b>")
    assert sent.photo and sent.photo[-1].width == 40 and sent.photo[-1].height == 30
    view = await user.last_bot_message()
    assert view is not None and view.kind == "photo" and view.text == "Chart"
    assert view.file is not None
    assert await client.download(view.file["download_path"]) == png
    # Resending by file_id works; changing the type does not (§1).
    again = await bot.send_photo(USER, sent.photo[-1].file_id)
    assert again.photo and again.photo[-1].file_id == sent.photo[-1].file_id
    with pytest.raises(TelegramBadRequest, match="can't use file of type Photo"):
        await bot.send_document(USER, sent.photo[-1].file_id)
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(USER, BufferedInputFile(b"not an image", "x.png"))

    doc = await bot.send_document(USER, BufferedInputFile(b"a,b\n1,2\n", "report.csv"))
    assert doc.document is not None and doc.document.file_name == "report.csv"

    # The user sends files; the bot downloads them through getFile + /file/.
    content = b"%PDF-1.4 fake"
    got = await user.send_file("document", "brief.pdf", content, caption="my brief")
    updates = await bot.get_updates()
    message = updates[-1].message
    assert message is not None and message.document is not None
    assert message.document.file_id == got["file_id"] and message.caption == "my brief"
    assert message.document.mime_type == "application/pdf"
    file = await bot.get_file(message.document.file_id)
    downloaded = await bot.download_file(file.file_path or "")
    assert downloaded is not None and downloaded.read() == content

    await user.send_file("photo", "me.png", tiny_png(10, 10))
    await user.send_file("video", "clip.mp4", b"\x00\x00\x00\x18ftypmp42", duration=3,
                         width=640, height=360)
    updates = await bot.get_updates(offset=updates[-1].update_id + 1)
    photo_msg, video_msg = updates[0].message, updates[1].message
    assert photo_msg is not None and photo_msg.photo and photo_msg.photo[-1].width == 10
    assert video_msg is not None and video_msg.video is not None
    assert video_msg.video.duration == 3 and video_msg.video.width == 640
    video_bytes = await bot.download(video_msg.video.file_id)
    assert video_bytes is not None and video_bytes.read().startswith(b"\x00\x00\x00\x18ftyp")


async def test_invoice_and_payment_flow(bot: Bot, client: SandboxClient) -> None:
    router = Router()
    paid: list[Message] = []

    @router.message(Command("buy"))
    async def buy(message: Message, command: CommandObject) -> None:
        await message.answer_invoice(title="Pro plan", description="30 days of Pro",
                                     payload=f"order:{command.args}", currency="XTR",
                                     prices=[LabeledPrice(label="Pro", amount=250)])

    @router.pre_checkout_query()
    async def checkout(query: PreCheckoutQuery) -> None:
        if query.invoice_payload == "order:bad":
            await query.answer(ok=False, error_message="Out of stock")
        else:
            await query.answer(ok=True)

    @router.message(F.successful_payment)
    async def on_paid(message: Message) -> None:
        paid.append(message)
        await message.answer("Thanks!")

    async with Polling(bot, router):
        user = await client.user(USER)
        await user.send("/buy 1")
        invoice = await user.wait_for(lambda m: m.kind == "invoice")
        assert invoice.invoice is not None and invoice.invoice["total_amount"] == 250
        assert invoice.invoice["payload"] == "order:1"
        assert invoice.buttons[0][0].pay
        result = await user.pay(invoice.message_id)
        assert result["ok"] and result["charge_id"]
        await user.expect("Thanks!")
        payment = paid[0].successful_payment
        assert payment is not None and payment.currency == "XTR"
        assert payment.total_amount == 250 and payment.invoice_payload == "order:1"
        assert payment.telegram_payment_charge_id == result["charge_id"]

        await user.send("/buy bad")
        invoice2 = await user.wait_for(lambda m: m.kind == "invoice" and m.seq > invoice.seq)
        declined = await user.press("Pay", invoice2.message_id)
        assert declined["ok"] is False and declined["error_message"] == "Out of stock"

        assert await bot.refund_star_payment(USER, result["charge_id"])
        with pytest.raises(TelegramBadRequest, match="CHARGE_ALREADY_REFUNDED"):
            await bot.refund_star_payment(USER, result["charge_id"])
    assert await refusal_descriptions(client) == ["Bad Request: CHARGE_ALREADY_REFUNDED"]


async def test_invoice_rules(bot: Bot, client: SandboxClient) -> None:
    await client.user(USER)
    ok: dict[str, Any] = {"title": "T", "description": "D", "payload": "p", "currency": "XTR",
                          "prices": [LabeledPrice(label="x", amount=1)]}
    await bot.send_invoice(USER, **ok)
    for change in ({"currency": "USD"}, {"title": "t" * 33}, {"description": ""},
                   {"payload": "я" * 65},
                   {"prices": [LabeledPrice(label="a", amount=1),
                               LabeledPrice(label="b", amount=2)]}):
        with pytest.raises(TelegramBadRequest):
            await bot.send_invoice(USER, **{**ok, **change})


async def test_webhook_delivery_with_secret_header(bot: Bot, client: SandboxClient) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                         await request.json()))
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="top-secret")
        user = await client.user(USER)
        await user.send("via webhook")
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.05)
        secret, update = received[0]
        assert secret == "top-secret" and update["message"]["text"] == "via webhook"
    finally:
        await runner.cleanup()


async def test_reset_keeps_config_and_update_ids_grow(bot: Bot, client: SandboxClient) -> None:
    user = await client.user(USER)
    await user.send("one")
    [before] = await bot.get_updates()
    await client.configure(per_chat_burst=7)
    await client.reset()
    assert (await client.configure())["per_chat_burst"] == 7
    assert await client.requests("sendMessage") == []
    user = await client.user(USER)
    await user.send("two")
    [after] = await bot.get_updates(offset=before.update_id + 1)
    assert after.update_id > before.update_id


async def test_requests_log_decodes_params(bot: Bot, client: SandboxClient) -> None:
    await client.user(USER)
    markup = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="A", callback_data="a")]])
    await bot.send_message(USER, "logged", reply_markup=markup)
    [entry] = await client.requests("sendMessage")
    assert entry["ok"] and entry["params"]["text"] == "logged"
    assert entry["params"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a"


async def test_webhook_reply_can_carry_a_method(
    server: RunningServer, bot: Bot, client: SandboxClient
) -> None:
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler

    router = Router()

    @router.message(F.text)
    async def echo(message: Message) -> Any:
        # Returned instead of awaited: aiogram puts it into the webhook reply (spec §5.2).
        return message.answer(f"echo: {message.text}")

    dp = Dispatcher()
    dp.include_router(router)
    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token="hook-secret",
                         handle_in_background=False).register(app, path="/hook")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook",
                              secret_token="hook-secret")
        user = await client.user(USER)
        await user.send("ping")
        reply = await user.expect("echo: ping")
        assert reply.from_bot
        assert await client.requests("sendMessage")
    finally:
        await runner.cleanup()
