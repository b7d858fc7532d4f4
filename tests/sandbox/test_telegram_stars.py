"""Telegram Stars in the sandbox server: invoice links, subscriptions and their renewals by the
sandbox clock, refunds, transactions, balance, redelivery — driven by a real aiogram Bot."""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    StarTransactions,
    TransactionPartnerUser,
    Update,
)

from sandbox.telegram.chat import run_chat
from sandbox.telegram.driver import ChatUser, SandboxClient, SandboxError
from sandbox.telegram.server import RunningServer, start_server

USER = 7001
OTHER = 7002
PERIOD = 2592000


@pytest.fixture
def server_options() -> dict[str, Any]:
    """Flood control off; a pre-checkout query times out after 3 s."""
    return {"flood_enabled": False, "pre_checkout_timeout": 3.0}


def make_bot(server: RunningServer) -> Bot:
    """An aiogram Bot pointed at the sandbox."""
    return Bot(server.token, session=AiohttpSession(api=TelegramAPIServer.from_base(server.url)))


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


class Feed:
    """The bot's side: long-polls getUpdates through aiogram (so every update is parsed by
    aiogram's models), approves each pre-checkout query, and keeps the other updates."""

    def __init__(self, bot: Bot, user: ChatUser) -> None:
        self.bot = bot
        self.user = user
        self.updates: list[Update] = []
        self.pre_checkouts: list[Update] = []
        self.task: asyncio.Task[None] | None = None
        self._marks = itertools.count(1)

    async def _run(self) -> None:
        offset = 0
        while True:
            for update in await self.bot.get_updates(offset=offset, timeout=1):
                offset = update.update_id + 1
                if update.pre_checkout_query is not None:
                    self.pre_checkouts.append(update)
                    await self.bot.answer_pre_checkout_query(update.pre_checkout_query.id,
                                                             ok=True)
                else:
                    self.updates.append(update)

    async def __aenter__(self) -> Feed:
        self.task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    async def wait_for(
        self,
        predicate: Callable[[Update], bool],
        timeout: float = 5,  # noqa: ASYNC109 - seconds, as the driver's wait_for
    ) -> Update:
        """The first update kept so far that matches, waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            for update in self.updates:
                if predicate(update):
                    return update
            assert time.monotonic() < deadline, f"no matching update in {self.updates}"
            await asyncio.sleep(0.02)

    async def sync(self) -> list[Update]:
        """Every update delivered before now: the user sends a marker message, and updates
        arrive in order, so all that were queued before it have arrived when it does."""
        mark = f"sync-{next(self._marks)}"
        await self.user.send(mark)
        found = await self.wait_for(lambda u: u.message is not None and u.message.text == mark)
        return self.updates[:self.updates.index(found)]

    async def payments(self) -> list[Any]:
        """successful_payment objects delivered so far (after a sync)."""
        return [u.message.successful_payment for u in await self.sync()
                if u.message is not None and u.message.successful_payment is not None]

    async def subscription_states(self) -> list[str]:
        """States of the Update.subscription updates delivered so far (after a sync)."""
        return [u.subscription.state for u in await self.sync() if u.subscription is not None]


@pytest.fixture
async def user(client: SandboxClient) -> ChatUser:
    """The paying user."""
    return await client.user(USER, "Payer", username="payer")


@pytest.fixture
async def feed(bot: Bot, user: ChatUser) -> AsyncIterator[Feed]:
    """The bot's update loop for the test."""
    async with Feed(bot, user) as running:
        yield running


async def sub_link(bot: Bot, amount: int = 100, payload: str = "plan:pro") -> str:
    """A subscription invoice link."""
    return await bot.create_invoice_link(
        title="Pro", description="Pro plan, monthly", payload=payload, currency="XTR",
        prices=[LabeledPrice(label="Pro", amount=amount)], subscription_period=PERIOD)


async def one_time_link(bot: Bot, amount: int = 50, payload: str = "report:1") -> str:
    """A one-time invoice link."""
    return await bot.create_invoice_link(
        title="Report", description="One PDF report", payload=payload, currency="XTR",
        prices=[LabeledPrice(label="Report", amount=amount)])


def stamp(value: Any) -> int:
    """A date as aiogram gives it (a datetime, or unix time for some fields) as unix time."""
    return value if isinstance(value, int) else int(value.timestamp())


# --------------------------------------------------------------------------- links
async def test_invoice_links_pay_once_or_as_a_subscription(bot: Bot, user: ChatUser,
                                                           feed: Feed) -> None:
    once, monthly = await one_time_link(bot), await sub_link(bot)
    assert once.startswith("https://t.me/$") and monthly.startswith("https://t.me/$")
    assert once != monthly

    paid_once = await user.pay_link(once)
    paid_sub = await user.pay_link(monthly)
    assert paid_once["ok"] and paid_sub["ok"]
    # Each payment asked the bot first, with the link's terms.
    queries = [u.pre_checkout_query for u in feed.pre_checkouts]
    assert [(q.invoice_payload, q.total_amount, q.currency) for q in queries] == [
        ("report:1", 50, "XTR"), ("plan:pro", 100, "XTR")]

    messages = [u.message for u in await feed.sync() if u.message and u.message.successful_payment]
    first, second = (m.successful_payment for m in messages)
    assert first.telegram_payment_charge_id == paid_once["charge_id"]
    assert first.invoice_payload == "report:1" and first.total_amount == 50
    assert first.is_recurring is None and first.subscription_expiration_date is None
    assert second.telegram_payment_charge_id == paid_sub["charge_id"]
    assert second.is_recurring is True and second.is_first_recurring is True
    paid_at = stamp(messages[1].date)
    assert stamp(second.subscription_expiration_date) == paid_at + PERIOD
    assert paid_sub["subscription_expiration_date"] == paid_at + PERIOD
    # A one-time link can be paid again; a running subscription can't be bought twice.
    assert (await user.pay_link(once))["ok"]
    with pytest.raises(SandboxError) as again:
        await user.pay_link(monthly)
    assert again.value.status == 409


async def test_a_subscription_link_paid_twice_at_once_charges_once(bot: Bot, user: ChatUser,
                                                                    feed: Feed) -> None:
    link = await sub_link(bot)
    results = await asyncio.gather(user.pay_link(link), user.pay_link(link))
    # Both reached the bot's pre-checkout; only the first approved one became a subscription.
    assert len(feed.pre_checkouts) == 2
    assert sorted(r["ok"] for r in results) == [False, True]
    assert len(await feed.payments()) == 1 and len(await user.subscriptions()) == 1


@pytest.mark.parametrize(("change", "description"), [
    ({"subscription_period": PERIOD + 1}, "SUBSCRIPTION_PERIOD_INVALID"),
    ({"subscription_period": 604800}, "SUBSCRIPTION_PERIOD_INVALID"),
    ({"prices": [LabeledPrice(label="Pro", amount=10001)]}, "SUBSCRIPTION_PRICE_INVALID"),
    ({"currency": "USD", "provider_token": "284685063:TEST"}, "SUBSCRIPTION_CURRENCY_INVALID"),
    ({"currency": "USD", "subscription_period": None}, "PAYMENT_PROVIDER_INVALID"),
    # sendInvoice's checks, shared
    ({"title": "x" * 33}, "INVOICE_TITLE_INVALID"),
    ({"payload": ""}, "INVOICE_PAYLOAD_INVALID"),
    ({"prices": [LabeledPrice(label="A", amount=1), LabeledPrice(label="B", amount=1)]},
     "STARS_INVOICE_INVALID"),
])
async def test_create_invoice_link_refusals(bot: Bot, change: dict[str, Any],
                                            description: str) -> None:
    good: dict[str, Any] = {"title": "Pro", "description": "Pro plan", "payload": "p",
                            "currency": "XTR", "prices": [LabeledPrice(label="Pro", amount=10000)],
                            "subscription_period": PERIOD}
    assert (await bot.create_invoice_link(**good)).startswith("https://t.me/$")
    with pytest.raises(TelegramBadRequest) as refused:
        await bot.create_invoice_link(**{**good, **change})
    assert description in refused.value.message


async def test_pay_link_refusals_and_a_declined_checkout(bot: Bot, user: ChatUser,
                                                         client: SandboxClient) -> None:
    with pytest.raises(SandboxError) as garbled:
        await user.pay_link("https://t.me/ttpulse_bot?start=x")
    assert garbled.value.status == 400
    with pytest.raises(SandboxError) as unknown:
        await user.pay_link("https://t.me/$NoSuchInvoice")
    assert unknown.value.status == 404

    link = await sub_link(bot)

    async def decline() -> None:
        while True:
            for update in await bot.get_updates(timeout=1):
                if update.pre_checkout_query:
                    await bot.answer_pre_checkout_query(update.pre_checkout_query.id, ok=False,
                                                        error_message="Sold out")
                    return

    decliner = asyncio.create_task(decline())
    result = await user.pay_link(link)
    await decliner
    assert result == {**result, "ok": False, "error_message": "Sold out"}
    assert (await bot.get_star_transactions()).transactions == []
    assert await user.subscriptions() == []


# --------------------------------------------------------------------------- renewals
async def test_renewals_follow_the_clock_and_catch_up(bot: Bot, user: ChatUser, feed: Feed,
                                                      client: SandboxClient) -> None:
    first = await user.pay_link(await sub_link(bot))
    expires = first["subscription_expiration_date"]
    assert await feed.payments()  # the first payment

    moved = await client.advance_clock(PERIOD - 60)
    assert moved["events"] == []
    moved = await client.advance_clock(120)
    assert [e["event"] for e in moved["events"]] == ["renewed"]
    renewal = (await feed.payments())[-1]
    assert renewal.is_recurring is True and renewal.is_first_recurring is False
    assert stamp(renewal.subscription_expiration_date) == expires + PERIOD
    assert renewal.telegram_payment_charge_id not in (first["charge_id"], None)
    assert renewal.total_amount == 100 and renewal.invoice_payload == "plan:pro"

    # A jump over three more periods renews three times, each period after the last.
    await client.advance_clock(3 * PERIOD)
    payments = await feed.payments()
    assert [stamp(p.subscription_expiration_date) for p in payments] == [
        expires + n * PERIOD for n in range(5)]
    assert len({p.telegram_payment_charge_id for p in payments}) == 5
    # Renewals never ask the bot: one pre-checkout query, for the first payment.
    assert len(feed.pre_checkouts) == 1
    [sub] = await user.subscriptions()
    assert sub["state"] == "active" and sub["expires_at"] == expires + 4 * PERIOD
    renewed_at = [t.date for t in (await bot.get_star_transactions()).transactions][:4]
    assert [stamp(d) for d in renewed_at] == [expires + n * PERIOD for n in (3, 2, 1, 0)]


async def test_clock_file_and_background_renewals(tmp_path: Path) -> None:
    clock_file = tmp_path / "clock-offset"
    server = await start_server(flood_enabled=False, clock_offset_file=str(clock_file))
    bot = make_bot(server)
    try:
        async with SandboxClient(server.url) as client:
            user = await client.user(USER)
            async with Feed(bot, user) as feed:
                before = (await client.clock())["now"]
                first = await user.pay_link(await sub_link(bot))
                # The service's offset file moves the sandbox too; nothing else is called:
                # the background task notices and renews.
                clock_file.write_text(str(PERIOD + 30))
                update = await feed.wait_for(
                    lambda u: u.message is not None and u.message.successful_payment is not None
                    and u.message.successful_payment.is_first_recurring is False, timeout=3)
                payment = update.message.successful_payment
                assert stamp(payment.subscription_expiration_date) == (
                    first["subscription_expiration_date"] + PERIOD)
                clock = await client.clock()
                assert clock["offset"] == PERIOD + 30 and clock["now"] >= before + PERIOD + 30
                # set_clock sets the total offset; the file's part stays.
                clock = await client.set_clock(PERIOD + 40)
                assert clock["offset"] == PERIOD + 40 and clock["file_offset"] == PERIOD + 30
    finally:
        await bot.session.close()
        await server.stop()


async def test_message_dates_follow_the_clock(bot: Bot, user: ChatUser,
                                              client: SandboxClient) -> None:
    await client.set_clock(86400)
    sent = await bot.send_message(USER, "tomorrow")
    assert abs(stamp(sent.date) - (time.time() + 86400)) < 5
    with pytest.raises(SandboxError):
        await client.call("POST", "clock", {"advance": "soon"})


# --------------------------------------------------------------------------- user's UI
async def test_user_cancel_resume_and_a_failed_renewal(bot: Bot, user: ChatUser, feed: Feed,
                                                       client: SandboxClient) -> None:
    first = await user.pay_link(await sub_link(bot))
    charge = first["charge_id"]

    await user.subscription(charge, "cancel")
    update = await feed.wait_for(lambda u: u.subscription is not None)
    assert update.subscription.user.id == USER
    assert update.subscription.invoice_payload == "plan:pro"
    assert update.subscription.state == "canceled"
    await user.subscription(charge, "resume")
    assert await feed.subscription_states() == ["canceled", "active"]
    # Resumed: it renews.
    await client.advance_clock(PERIOD + 1)
    assert len(await feed.payments()) == 2

    await user.subscription(charge, "fail_next")
    moved = await client.advance_clock(PERIOD)
    assert [e["event"] for e in moved["events"]] == ["failed"]
    assert await feed.subscription_states() == ["canceled", "active", "failed"]
    assert len(await feed.payments()) == 2  # no charge for the failed renewal
    [sub] = await user.subscriptions()
    assert sub["state"] == "expired" and sub["failed"]
    # It has ended: nothing more happens, and it can't be re-enabled.
    assert (await client.advance_clock(PERIOD))["events"] == []
    with pytest.raises(SandboxError) as ended:
        await user.subscription(charge, "resume")
    assert ended.value.status == 409
    with pytest.raises(TelegramBadRequest):
        await bot.edit_user_star_subscription(USER, charge, is_canceled=False)
    # After it ended the same link can be bought again.
    assert (await user.pay_link(sub["link"]))["ok"]


async def test_canceled_subscription_is_not_renewed(bot: Bot, user: ChatUser, feed: Feed,
                                                    client: SandboxClient) -> None:
    first = await user.pay_link(await sub_link(bot))
    await user.subscription(first["charge_id"], "cancel")
    moved = await client.advance_clock(PERIOD + 1)
    assert [e["event"] for e in moved["events"]] == ["expired"]
    assert len(await feed.payments()) == 1
    assert (await user.subscriptions())[0]["state"] == "expired"
    assert len((await bot.get_star_transactions()).transactions) == 1


async def test_subscription_updates_can_be_switched_off(bot: Bot, user: ChatUser, feed: Feed,
                                                        client: SandboxClient) -> None:
    await client.configure(subscription_updates=False)
    first = await user.pay_link(await sub_link(bot))
    result = await user.subscription(first["charge_id"], "cancel")
    assert result["update_id"] is None and result["subscription"]["state"] == "canceled"
    assert await feed.subscription_states() == []


# --------------------------------------------------------------------------- the bot's edits
async def test_edit_user_star_subscription(bot: Bot, user: ChatUser, feed: Feed,
                                           client: SandboxClient) -> None:
    first = await user.pay_link(await sub_link(bot))
    await client.advance_clock(PERIOD + 1)
    renewal = (await feed.payments())[-1].telegram_payment_charge_id

    # Canceled by the bot through a renewal's charge id: no update (the bot knows), and the
    # user can't turn it back on by themselves.
    assert await bot.edit_user_star_subscription(USER, renewal, is_canceled=True) is True
    assert await feed.subscription_states() == []
    [sub] = await user.subscriptions()
    assert sub["state"] == "canceled" and sub["canceled_by"] == "bot"
    with pytest.raises(SandboxError) as locked:
        await user.subscription(first["charge_id"], "resume")
    assert locked.value.status == 409
    # is_canceled=False allows the user to re-enable it; it stays canceled until they do.
    assert await bot.edit_user_star_subscription(USER, first["charge_id"], is_canceled=False)
    assert (await user.subscriptions())[0]["state"] == "canceled"
    await user.subscription(first["charge_id"], "resume")
    await client.advance_clock(PERIOD)
    assert len(await feed.payments()) == 3


async def test_edit_user_star_subscription_refusals(bot: Bot, user: ChatUser,
                                                    client: SandboxClient, feed: Feed) -> None:
    await client.user(OTHER)
    mine = await user.pay_link(await sub_link(bot))
    once = await user.pay_link(await one_time_link(bot))
    refusals = [
        (USER, "stxNoSuchCharge", "CHARGE_ID_INVALID"),
        (OTHER, mine["charge_id"], "CHARGE_ID_INVALID"),  # another user's
        (USER, once["charge_id"], "CHARGE_ID_INVALID"),  # not a subscription
        (999999, mine["charge_id"], "USER_ID_INVALID"),
    ]
    for user_id, charge_id, description in refusals:
        with pytest.raises(TelegramBadRequest) as refused:
            await bot.edit_user_star_subscription(user_id, charge_id, is_canceled=True)
        assert description in refused.value.message, (user_id, charge_id)
    assert (await user.subscriptions())[0]["state"] == "active"


async def test_edit_with_the_first_charge_only_when_configured(bot: Bot, user: ChatUser,
                                                               feed: Feed,
                                                               client: SandboxClient) -> None:
    await client.configure(subscription_edit_any_charge=False)
    first = await user.pay_link(await sub_link(bot))
    await client.advance_clock(PERIOD + 1)
    renewal = (await feed.payments())[-1].telegram_payment_charge_id
    with pytest.raises(TelegramBadRequest, match="CHARGE_ID_INVALID"):
        await bot.edit_user_star_subscription(USER, renewal, is_canceled=True)
    assert await bot.edit_user_star_subscription(USER, first["charge_id"], is_canceled=True)


# --------------------------------------------------------------------------- money
async def test_refunds_transactions_and_balance(bot: Bot, user: ChatUser, feed: Feed,
                                                client: SandboxClient) -> None:
    once = await user.pay_link(await one_time_link(bot, amount=50))
    await client.advance_clock(10)
    monthly = await user.pay_link(await sub_link(bot, amount=100))
    await client.advance_clock(10)
    assert await bot.refund_star_payment(USER, once["charge_id"])
    with pytest.raises(TelegramBadRequest, match="CHARGE_ALREADY_REFUNDED"):
        await bot.refund_star_payment(USER, once["charge_id"])
    with pytest.raises(TelegramBadRequest, match="CHARGE_NOT_FOUND"):
        await bot.refund_star_payment(OTHER, monthly["charge_id"])

    listed = await bot.get_star_transactions()
    assert isinstance(listed, StarTransactions)
    refund, sub_payment, payment = listed.transactions  # newest first by default
    assert (refund.id, refund.amount, refund.source) == (once["charge_id"], 50, None)
    assert isinstance(refund.receiver, TransactionPartnerUser) and refund.receiver.user.id == USER
    assert (sub_payment.id, sub_payment.amount) == (monthly["charge_id"], 100)
    assert isinstance(sub_payment.source, TransactionPartnerUser)
    assert sub_payment.source.transaction_type == "invoice_payment"
    assert sub_payment.source.invoice_payload == "plan:pro"
    assert sub_payment.source.subscription_period == PERIOD
    assert sub_payment.source.user.username == "payer"
    assert (payment.id, payment.source.invoice_payload) == (once["charge_id"], "report:1")
    assert payment.source.subscription_period is None and payment.receiver is None
    assert stamp(refund.date) - stamp(payment.date) in (19, 20, 21)

    balance = await bot.get_my_star_balance()
    assert (balance.amount, balance.nanostar_amount) == (100, 0)

    # offset skips, limit cuts; the order is a knob since the docs promise none.
    [middle] = (await bot.get_star_transactions(offset=1, limit=1)).transactions
    assert middle.id == monthly["charge_id"]
    await client.configure(star_transactions_order="oldest_first")
    oldest = (await bot.get_star_transactions()).transactions
    assert [t.amount for t in oldest] == [50, 100, 50] and oldest[0].source is not None
    for limit in (0, 101):
        with pytest.raises(TelegramBadRequest):
            await bot.get_star_transactions(limit=limit)
    with pytest.raises(SandboxError):
        await client.configure(star_transactions_order="random")
    # The user saw the refund in the chat.
    assert any(m.kind == "refunded_payment" for m in await user.messages())


@pytest.mark.parametrize("cancels", [False, True])
async def test_refund_of_a_subscription_payment(bot: Bot, user: ChatUser, feed: Feed,
                                                client: SandboxClient, cancels: bool) -> None:
    await client.configure(refund_cancels_subscription=cancels)
    first = await user.pay_link(await sub_link(bot))
    assert await bot.refund_star_payment(USER, first["charge_id"])
    await client.advance_clock(PERIOD + 1)
    # By default (the docs don't say otherwise) a refund does not stop renewals.
    assert len(await feed.payments()) == (1 if cancels else 2)
    assert (await bot.get_my_star_balance()).amount == (0 if cancels else 100)


# --------------------------------------------------------------------------- faults
async def test_redeliver_repeats_an_update_unchanged(bot: Bot, user: ChatUser, feed: Feed,
                                                     client: SandboxClient) -> None:
    paid = await user.pay_link(await one_time_link(bot))
    new_id = await client.redeliver(paid["update_id"])
    assert new_id > paid["update_id"]
    delivered = [u for u in await feed.sync() if u.message and u.message.successful_payment]
    assert [u.update_id for u in delivered] == [paid["update_id"], new_id]
    original, again = delivered
    assert again.message == original.message
    assert again.message.successful_payment.telegram_payment_charge_id == paid["charge_id"]
    # Still one payment for the bot's books.
    assert len((await bot.get_star_transactions()).transactions) == 1
    with pytest.raises(SandboxError) as unknown:
        await client.redeliver(10**9)
    assert unknown.value.status == 404


async def test_dropped_payment_updates_are_still_charged(bot: Bot, user: ChatUser, feed: Feed,
                                                         client: SandboxClient) -> None:
    await client.configure(drop_payment_updates=2)
    link = await sub_link(bot)
    lost = await user.pay_link(link)
    assert lost["ok"] and lost["dropped"] and lost["update_id"] is None
    await client.advance_clock(PERIOD + 1)  # the renewal's update is the second one dropped
    await client.advance_clock(PERIOD)
    seen = [p.telegram_payment_charge_id for p in await feed.payments()]
    charged = [t.id for t in (await bot.get_star_transactions()).transactions]
    assert len(charged) == 3 and seen == [charged[0]]
    assert lost["charge_id"] in charged and lost["charge_id"] not in seen
    assert (await client.configure())["drop_payment_updates"] == 0


async def test_reset_forgets_stars_state(bot: Bot, user: ChatUser, feed: Feed,
                                         client: SandboxClient) -> None:
    link = await sub_link(bot)
    await user.pay_link(link)
    await client.advance_clock(3600)
    await client.reset()
    assert (await client.clock())["offset"] == 0
    assert await client.subscriptions() == []
    assert (await bot.get_star_transactions()).transactions == []
    assert (await bot.get_my_star_balance()).amount == 0
    user = await client.user(USER)
    with pytest.raises(SandboxError) as gone:
        await user.pay_link(link)
    assert gone.value.status == 404


# --------------------------------------------------------------------------- terminal chat
async def test_chat_pays_a_link_and_manages_the_subscription(
        server: RunningServer, bot: Bot, user: ChatUser, feed: Feed, tmp_path: Path) -> None:
    link = await sub_link(bot)
    await bot.send_invoice(USER, title="Old", description="An older invoice", payload="old",
                           currency="XTR", prices=[LabeledPrice(label="Old", amount=1)])
    await bot.send_message(USER, "Subscribe:", reply_markup=InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Pro monthly", url=link)]]))
    out = io.StringIO()
    script = "/pay\n/subs\n/unsub 1\n/subs\n/resub 1\n/subs\n/unsub 7\n"
    await asyncio.wait_for(
        run_chat(server.url, USER, stdin=io.StringIO(script), stdout=out,
                 downloads_dir=tmp_path, reply_wait=0.3, poll_interval=0.2), 15)
    text = out.getvalue()
    # /pay took the newest: the link in the button, not the older invoice.
    assert f"(paying invoice link {link}...)" in text
    assert "paid 100 XTR (charge stx" in text and ", subscription until " in text
    lines = [line for line in text.splitlines() if line.startswith("  [1] Pro")]
    assert [line.split(" — ")[2].split(",")[0] for line in lines] == [
        "active", "canceled by the user", "active"]
    assert "(no subscription 7; /subs lists them)" in text
    assert await feed.subscription_states() == ["canceled", "active"]
    assert [p.invoice_payload for p in await feed.payments()] == ["plan:pro"]
