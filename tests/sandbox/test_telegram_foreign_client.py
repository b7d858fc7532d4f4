"""The sandbox Bot API server through a client we did not write: python-telegram-bot, unchanged,
pointed at the sandbox with its documented `base_url`. It parses every reply into its own strict
types, so a field the sandbox leaves out or shapes differently from Telegram breaks it: a chat
with a keyboard, a press answered and the message edited, a photo and a document, an error as
its exception, updates by long polling and by webhook, a Stars invoice paid, refunded and
declined (telegram-bot-platform §1, §2, §4, §5)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken

from sandbox.telegram.driver import SandboxClient
from sandbox.telegram.server import RunningServer
from tests.media import image

USER = 5101


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[SandboxClient]:
    """The sandbox's control API, to play the user."""
    async with SandboxClient(server.url) as sandbox:
        yield sandbox


def ptb(server: RunningServer, token: str | None = None) -> Bot:
    """python-telegram-bot's Bot; `base_url` and `base_file_url` are its documented knobs for
    a local Bot API server."""
    return Bot(token or server.token, base_url=f"{server.url}/bot",
               base_file_url=f"{server.url}/file/bot")


async def test_a_chat_with_a_keyboard_a_press_and_an_edit(
    server: RunningServer, client: SandboxClient
) -> None:
    user = await client.user(USER, language_code="ru")
    async with ptb(server) as bot:
        me = await bot.get_me()
        assert me.id == int(server.token.split(":")[0]) and me.is_bot and me.username

        await user.send("/start")
        [start] = await bot.get_updates(timeout=2)
        assert start.message is not None and start.message.text == "/start"
        assert start.message.from_user is not None and start.message.from_user.id == USER
        assert start.message.from_user.language_code == "ru"
        assert start.message.entities[0].type == "bot_command"

        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Pause", callback_data="p:1")]])
        sent = await bot.send_message(USER, "<b>Campaign</b> is live", parse_mode="HTML",
                                      reply_markup=markup)
        assert sent.text == "Campaign is live" and sent.chat.id == USER
        assert sent.entities[0].type == "bold"
        assert sent.reply_markup is not None
        assert sent.reply_markup.inline_keyboard[0][0].callback_data == "p:1"

        await user.press("Pause")
        [press] = await bot.get_updates(offset=start.update_id + 1, timeout=2)
        query = press.callback_query
        assert query is not None and query.data == "p:1" and query.from_user.id == USER
        assert query.message is not None and query.message.message_id == sent.message_id
        assert await bot.answer_callback_query(query.id, text="Paused ✓")
        edited = await bot.edit_message_text("Campaign is paused", chat_id=USER,
                                             message_id=sent.message_id)
        assert not isinstance(edited, bool) and edited.text == "Campaign is paused"
        assert edited.edit_date is not None
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_text("Campaign is paused", chat_id=USER,
                                        message_id=sent.message_id)
    answers = await user.callback_answers()
    assert [a["text"] for a in answers] == ["Paused ✓"]
    [shown] = [m for m in await user.bot_messages() if m.message_id == sent.message_id]
    assert shown.text == "Campaign is paused"


async def test_files_and_errors(server: RunningServer, client: SandboxClient) -> None:
    user = await client.user(USER)
    chart = image(640, 360)
    async with ptb(server) as bot:
        photo = await bot.send_photo(USER, chart, caption="Spend, 7 days")
        assert photo.caption == "Spend, 7 days" and photo.photo
        biggest = max(photo.photo, key=lambda p: p.width)
        assert (biggest.width, biggest.height) == (640, 360)
        got = await bot.get_file(biggest.file_id)
        assert bytes(await got.download_as_bytearray()) == chart

        doc = await bot.send_document(USER, b"date,spend\n2026-11-30,12.50\n",
                                      filename="stats.csv")
        assert doc.document is not None and doc.document.file_name == "stats.csv"

        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(USER, "x" * 4097)
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(999_999_999, "hi")
        await user.block()
        with pytest.raises(Forbidden, match=r"(?i)blocked"):
            await bot.send_message(USER, "hi")
    with pytest.raises(InvalidToken):  # PTB checks the token with getMe as it starts
        async with ptb(server, token="42:WRONG"):
            pass


async def test_updates_pushed_to_a_webhook_with_its_secret(
    server: RunningServer, client: SandboxClient
) -> None:
    got: list[Update] = []
    headers: list[str | None] = []
    arrived = asyncio.Event()
    bot = ptb(server)

    async def hook(request: web.Request) -> web.Response:
        headers.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        got.append(Update.de_json(await request.json(), bot))
        arrived.set()
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with bot:
            url = f"http://127.0.0.1:{port}/hook"
            assert await bot.set_webhook(url, secret_token="s3cret", max_connections=5,
                                         allowed_updates=["message", "callback_query"])
            info = await bot.get_webhook_info()
            assert info.url == url and info.max_connections == 5
            assert set(info.allowed_updates or ()) == {"message", "callback_query"}
            user = await client.user(USER)
            await user.send("hello")
            await asyncio.wait_for(arrived.wait(), 10)
            [update] = got
            assert update.message is not None and update.message.text == "hello"
            assert headers == ["s3cret"]
            with pytest.raises(Conflict, match=r"(?i)webhook is active"):  # spec §2: 409
                await bot.get_updates()
            assert await bot.delete_webhook()
            assert (await bot.get_webhook_info()).url == ""
    finally:
        await runner.cleanup()


async def test_a_stars_invoice_paid_refunded_and_one_declined(
    server: RunningServer, client: SandboxClient
) -> None:
    user = await client.user(USER)
    async with ptb(server) as bot:
        sent = await bot.send_invoice(
            chat_id=USER, title="Pro", description="Pro plan, 30 days", payload="plan:pro",
            currency="XTR", prices=[LabeledPrice("Pro", 250)],
        )
        assert sent.invoice is not None and sent.invoice.total_amount == 250
        assert sent.invoice.currency == "XTR"

        # The user pays; Telegram asks the bot first and waits for its answer (§4).
        paying = asyncio.create_task(user.pay(sent.message_id))
        [asked] = await bot.get_updates(timeout=5)
        query = asked.pre_checkout_query
        assert query is not None and query.from_user.id == USER
        assert (query.total_amount, query.currency, query.invoice_payload) == (
            250, "XTR", "plan:pro")
        assert await bot.answer_pre_checkout_query(query.id, ok=True)
        assert (await paying)["ok"]
        [paid] = await bot.get_updates(offset=asked.update_id + 1, timeout=5)
        assert paid.message is not None and paid.message.successful_payment is not None
        payment = paid.message.successful_payment
        assert (payment.total_amount, payment.currency, payment.invoice_payload) == (
            250, "XTR", "plan:pro")
        charge = payment.telegram_payment_charge_id
        listed = await bot.get_star_transactions()
        assert [t.amount for t in listed.transactions if t.id == charge] == [250]
        assert await bot.refund_star_payment(USER, charge)
        with pytest.raises(BadRequest, match=r"(?i)refunded"):
            await bot.refund_star_payment(USER, charge)
        [refunded] = await bot.get_updates(offset=paid.update_id + 1, timeout=5)
        assert refunded.message is not None and refunded.message.refunded_payment is not None
        back = refunded.message.refunded_payment
        assert (back.telegram_payment_charge_id, back.total_amount) == (charge, 250)

        again = await bot.send_invoice(
            chat_id=USER, title="Pro", description="Pro plan, 30 days", payload="plan:pro:2",
            currency="XTR", prices=[LabeledPrice("Pro", 250)],
        )
        paying = asyncio.create_task(user.pay(again.message_id))
        [asked] = await bot.get_updates(offset=refunded.update_id + 1, timeout=5)
        assert asked.pre_checkout_query is not None
        await bot.answer_pre_checkout_query(asked.pre_checkout_query.id, ok=False,
                                            error_message="This plan is sold out")
        declined = await paying
        assert not declined["ok"] and declined["error_message"] == "This plan is sold out"
        assert await bot.get_updates(offset=asked.update_id + 1, timeout=1) == ()
