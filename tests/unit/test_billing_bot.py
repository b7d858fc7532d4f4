"""The billing handlers through the real dispatcher (raw updates in, Bot API calls recorded):
Buy sends a Stars invoice or a subscription's invoice link, the pre-checkout answer refuses a
stale price in the payer's language, a successful_payment delivered twice is recorded once, a
refund and Update.subscription change the plan's renewal, cancelling renewal shows Telegram's
refusal and changes nothing, and /paysupport starts a support ticket."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import (
    AnswerCallbackQuery,
    AnswerPreCheckoutQuery,
    CreateInvoiceLink,
    EditMessageText,
    EditUserStarSubscription,
    SendInvoice,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, Message
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.callbacks import BillingCb
from bot.i18n import make_i18n
from bot.notifier import Notifier
from bot.screens import plain
from core.billing import limits
from core.billing.limits import Usage
from core.billing.payload import decode
from core.billing.plans import PlanBook
from core.clock import FixedClock
from core.settings import Settings
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import OutboxMessage, Payment
from storage.uow import UnitOfWorkFactory
from storage.vault import generate_key_entry
from tests.unit.billing_fakes import (
    CATALOGUE,
    FakeEnforcer,
    enforcer,  # noqa: F401 - fixture
    payload,
    sign_up,
)
from tests.unit.test_dispatcher import DP, RecordingSession

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ANN, IVAN = 61, 62
_ids = itertools.count(500)


class Session(RecordingSession):
    """Answers like Telegram: a link for createInvoiceLink, a Message for sends, and the
    refusals this test sets for editUserStarSubscription."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse_edit: str | None = None

    async def make_request(self, bot: Bot, method: TelegramMethod[TelegramType],
                           timeout: int | None = None) -> TelegramType:  # noqa: ASYNC109
        self.calls.append(method)
        if isinstance(method, CreateInvoiceLink):
            return "https://t.me/$abc"  # type: ignore[return-value]
        if isinstance(method, EditUserStarSubscription) and self.refuse_edit:
            raise TelegramBadRequest(method=method, message=self.refuse_edit)
        if isinstance(method, SendMessage | SendInvoice):
            chat = Chat(id=int(method.chat_id), type="private")
            return Message(message_id=next(_ids), date=NOW, chat=chat,  # type: ignore[return-value]
                           text="x").as_(bot)
        return True  # type: ignore[return-value]


class Chat_:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow, self.session = uow, Session()
        self.bot = Bot("42:TEST", session=self.session)
        self.settings = Settings(encryption_keys=SecretStr(generate_key_entry("t")))
        self.clock = FixedClock(NOW)

    async def feed(self, **update: Any) -> list[TelegramMethod[Any]]:
        self.session.calls.clear()
        await DP.feed_raw_update(self.bot, {"update_id": next(_ids), **update}, uow=self.uow,
                                 settings=self.settings, clock=self.clock, plans=PlanBook(),
                                 worker="w")
        return list(self.session.calls)

    def _from(self, uid: int) -> dict[str, Any]:
        return {"id": uid, "is_bot": False, "first_name": "Ann", "language_code": "en"}

    def message(self, uid: int, **fields: Any) -> dict[str, Any]:
        return {"message_id": next(_ids), "date": int(self.clock.now().timestamp()),
                "chat": {"id": uid, "type": "private"}, "from": self._from(uid), **fields}

    async def press(self, uid: int, data: str) -> list[TelegramMethod[Any]]:
        return await self.feed(callback_query={
            "id": str(next(_ids)), "chat_instance": "x", "data": data, "from": self._from(uid),
            "message": {"message_id": 5, "date": 0, "text": "Billing",
                        "chat": {"id": uid, "type": "private"}, "from": {
                            "id": 42, "is_bot": True, "first_name": "TTPulse"}},
        })

    def signed(self, uid: int, **kw: Any) -> str:
        return payload(uid, key=self.settings.keyring.current.secret, **kw)

    async def pay(self, uid: int, charge_id: str, body: str, stars: int,
                  recurring: bool = False) -> list[TelegramMethod[Any]]:
        paid: dict[str, Any] = {
            "currency": "XTR", "total_amount": stars, "invoice_payload": body,
            "telegram_payment_charge_id": charge_id, "provider_payment_charge_id": ""}
        if recurring:
            paid |= {"is_recurring": True, "is_first_recurring": True,
                     "subscription_expiration_date": int(
                         (self.clock.now() + timedelta(days=30)).timestamp())}
        return await self.feed(message=self.message(uid, successful_payment=paid))


@pytest.fixture
async def chat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Chat_]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    await upgrade(engine)
    uow = UnitOfWorkFactory(session_factory(engine), None)
    await sign_up(uow, FixedClock(NOW), ANN, zone="Europe/Berlin")
    await sign_up(uow, FixedClock(NOW), IVAN, language="ru")

    async def usage(uow: UnitOfWorkFactory, catalogue: Any, clock: Any, user_id: int) -> Usage:
        return Usage(CATALOGUE.free, 1, 0, 0, 0)  # the limits branch counts for real

    monkeypatch.setattr(limits, "usage", usage)
    yield Chat_(uow)
    await engine.dispose()


async def test_buy_sends_a_stars_invoice_or_a_subscription_link(chat: Chat_) -> None:
    calls = await chat.press(ANN, BillingCb(action="buy", plan="pro", days=90).pack())
    [invoice] = [c for c in calls if isinstance(c, SendInvoice)]
    assert (invoice.currency, len(invoice.prices), invoice.prices[0].amount) == ("XTR", 1, 1500)
    assert invoice.title == "TTPulse Pro · 90 days" and invoice.chat_id == ANN
    offer = decode(invoice.payload, [chat.settings.keyring.current.secret])
    assert offer is not None and (offer.user_id, offer.plan, offer.days, offer.recurring,
                                  offer.stars) == (ANN, "pro", 90, False, 1500)

    calls = await chat.press(ANN, BillingCb(action="buy", plan="agency", days=30, r=1).pack())
    [link] = [c for c in calls if isinstance(c, CreateInvoiceLink)]
    assert (link.subscription_period, link.currency, link.prices[0].amount) == (
        2592000, "XTR", 2000)
    [sent] = [c for c in calls if isinstance(c, SendMessage)]
    assert sent.reply_markup.inline_keyboard[0][0].url == "https://t.me/$abc"  # type: ignore[union-attr]

    # An offer no longer sold: said, and the current plans are shown instead.
    calls = await chat.press(ANN, BillingCb(action="buy", plan="pro", days=60).pack())
    assert not any(isinstance(c, SendInvoice) for c in calls)
    [alert] = [c for c in calls if isinstance(c, AnswerCallbackQuery)]
    assert alert.show_alert and "no longer available" in str(alert.text)
    assert any(isinstance(c, EditMessageText) and "Plans" in c.text for c in calls)


async def test_pre_checkout_refuses_a_stale_price_in_the_payers_language(chat: Chat_) -> None:
    async def ask(uid: int, body: str, amount: int) -> AnswerPreCheckoutQuery:
        calls = await chat.feed(pre_checkout_query={
            "id": "q1", "from": chat._from(uid), "currency": "XTR", "total_amount": amount,
            "invoice_payload": body})
        [answer] = calls
        assert isinstance(answer, AnswerPreCheckoutQuery)
        return answer

    assert (await ask(ANN, chat.signed(ANN), 550)).ok
    stale = await ask(IVAN, chat.signed(IVAN, stars=450), 450)
    assert not stale.ok and stale.error_message == (
        "Цена Pro изменилась — актуальная в /billing.")
    forged = await ask(ANN, payload(ANN), 550)  # signed with a key that is not ours
    assert not forged.ok and "not issued by TTPulse" in str(forged.error_message)


async def _count(chat: Chat_, model: type) -> int:
    async with chat.uow() as u:
        return int(await u.session.scalar(select(func.count()).select_from(model)))


async def test_a_payment_delivered_twice_is_recorded_once(
    chat: Chat_, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    body = chat.signed(ANN)
    assert await chat.pay(ANN, "stx1", body, 550) == []  # the receipt goes through the outbox
    assert await chat.pay(ANN, "stx1", body, 550) == []
    assert await _count(chat, Payment) == 1 and await _count(chat, OutboxMessage) == 1
    assert enforcer.calls == [(ANN, "pro")]

    refund = {"currency": "XTR", "total_amount": 550, "invoice_payload": body,
              "telegram_payment_charge_id": "stx1"}
    await chat.feed(message=chat.message(ANN, refunded_payment=refund))
    await chat.feed(message=chat.message(ANN, refunded_payment=refund))
    async with chat.uow() as u:
        row = await u.billing.charge("stx1")
        assert row is not None and row.refunded_at == NOW
    assert enforcer.calls == [(ANN, "pro"), (ANN, "free")]


async def test_renewal_follows_telegram_and_a_refused_cancel_changes_nothing(
    chat: Chat_, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    body = chat.signed(ANN, recurring=True)
    await chat.pay(ANN, "sub1", body, 500, recurring=True)
    calls = await chat.press(ANN, BillingCb(action="home").pack())
    [screen] = [c for c in calls if isinstance(c, EditMessageText)]
    assert "renews on 31 Dec 2026, 10:00" in plain(screen.text)

    calls = await chat.press(ANN, BillingCb(action="cancel").pack())
    [confirm] = [c for c in calls if isinstance(c, EditMessageText)]
    assert "Cancel renewal of Pro?" in plain(confirm.text)
    chat.session.refuse_edit = "Bad Request: SUBSCRIPTION_EXPIRED"
    calls = await chat.press(ANN, BillingCb(action="cancel_ok").pack())
    [shown] = [c for c in calls if isinstance(c, EditMessageText)]
    assert plain(shown.text).startswith(
        "Telegram refused the change: Bad Request: SUBSCRIPTION_EXPIRED. Nothing was changed")
    assert "renews on" in plain(shown.text)

    chat.session.refuse_edit = None
    calls = await chat.press(ANN, BillingCb(action="cancel_ok").pack())
    [edit] = [c for c in calls if isinstance(c, EditUserStarSubscription)]
    assert (edit.user_id, edit.telegram_payment_charge_id, edit.is_canceled) == (ANN, "sub1", True)
    [shown] = [c for c in calls if isinstance(c, EditMessageText)]
    assert plain(shown.text).startswith("✅ Renewal cancelled. Pro stays until 31 Dec 2026")
    assert "▶ Resume renewal" in [b.text for row in shown.reply_markup.inline_keyboard  # type: ignore[union-attr]
                                  for b in row]

    # The user switches renewal back on in Telegram: Update.subscription says so.
    await chat.feed(subscription={"user": chat._from(ANN), "invoice_payload": body,
                                  "state": "active"})
    async with chat.uow() as u:
        row = await u.billing.entitlement(ANN)
        assert row is not None and row.renews


async def test_cancelling_renewal_names_the_end_of_all_the_paid_time(
    chat: Chat_, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    # Ann subscribed to Pro (its period ends 31 Dec) and bought 90 more days of Pro once: her
    # Pro runs to 31 Mar whatever the subscription does, so cancelling must not say "then Free".
    await chat.pay(ANN, "sub1", chat.signed(ANN, recurring=True), 500, recurring=True)
    await chat.pay(ANN, "one1", chat.signed(ANN, days=90), 1500)
    calls = await chat.press(ANN, BillingCb(action="cancel").pack())
    [confirm] = [c for c in calls if isinstance(c, EditMessageText)]
    assert "You keep Pro until 31 Mar 2027, 11:00" in plain(confirm.text)
    calls = await chat.press(ANN, BillingCb(action="cancel_ok").pack())
    [shown] = [c for c in calls if isinstance(c, EditMessageText)]
    assert plain(shown.text).startswith(
        "✅ Renewal cancelled. Pro stays until 31 Mar 2027, 11:00")
    assert "Paid until: 31 Mar 2027, 11:00" in plain(shown.text)


async def test_a_new_subscription_stops_the_one_it_replaces_or_says_how_to(
    chat: Chat_, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    await chat.pay(ANN, "pro1", chat.signed(ANN, recurring=True), 500, recurring=True)
    upgrade = chat.signed(ANN, plan="agency", recurring=True)
    calls = await chat.pay(ANN, "agency1", upgrade, 2000, recurring=True)
    # Queued with the charge, not done by the handler: a crash right after recording the payment
    # (before any call to Telegram) cannot leave both subscriptions renewing.
    assert not [c for c in calls if isinstance(c, EditUserStarSubscription)]
    await chat.pay(ANN, "agency1", upgrade, 2000, recurring=True)  # delivered again: once
    notifier = Notifier(chat.uow, chat.clock, chat.bot, make_i18n())
    chat.session.calls.clear()
    await notifier.tick()
    [edit] = [c for c in chat.session.calls if isinstance(c, EditUserStarSubscription)]
    assert (edit.user_id, edit.telegram_payment_charge_id, edit.is_canceled) == (ANN, "pro1", True)
    told = [c.text for c in chat.session.calls if isinstance(c, SendMessage)]
    assert len(told) == 3  # two receipts, then the earlier subscription is said to be stopped
    assert "will not renew" in told[-1] and "charged twice" in told[-1]

    # Telegram refuses to stop the replaced one: the user is told how to stop it themselves.
    await chat.pay(IVAN, "pro2", chat.signed(IVAN, recurring=True), 500, recurring=True)
    chat.session.refuse_edit = "Bad Request: SUBSCRIPTION_NOT_FOUND"
    await chat.pay(IVAN, "agency2", chat.signed(IVAN, plan="agency", recurring=True),
                   2000, recurring=True)
    chat.session.calls.clear()
    await notifier.tick()
    [told_ru] = [c.text for c in chat.session.calls
                 if isinstance(c, SendMessage) and "«Мои звёзды»" in c.text]
    assert "/paysupport" in told_ru and "SUBSCRIPTION_NOT_FOUND" in told_ru
    async with chat.uow() as u:
        kinds = list(await u.session.scalars(select(OutboxMessage.kind).where(
            OutboxMessage.kind == "billing_supersede", OutboxMessage.sent_at.is_not(None))))
    assert len(kinds) == 2


@pytest.mark.parametrize("refused", [None, "Bad Request: SUBSCRIPTION_EXPIRED"])
async def test_deleting_the_account_stops_its_subscription(
    chat: Chat_, refused: str | None, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    """Telegram charges a subscription every period until the bot or the user stops it: a
    deleted account's is stopped first, or the goodbye says it could not be and what to do."""
    await chat.pay(ANN, "sub1", chat.signed(ANN, recurring=True), 500, recurring=True)
    await chat.feed(message=chat.message(ANN, text="/delete_account"))
    chat.session.refuse_edit = refused
    calls = await chat.feed(message=chat.message(ANN, text="DELETE"))
    [edit, *_] = [c for c in calls if isinstance(c, EditUserStarSubscription)]
    assert (edit.user_id, edit.telegram_payment_charge_id, edit.is_canceled) == (ANN, "sub1", True)
    [goodbye] = [plain(c.text) for c in calls if isinstance(c, SendMessage)]
    assert goodbye.startswith("Your account is deleted.")
    if refused is None:
        assert goodbye.endswith("⭐ The Stars subscription no longer renews.")
    else:
        assert "⚠️ Telegram did not stop the Stars subscription (" + refused in goodbye
        assert "Settings → My Stars" in goodbye
    # Without a subscription, nothing is asked of Telegram and nothing is said of one.
    await chat.feed(message=chat.message(IVAN, text="/delete_account"))
    calls = await chat.feed(message=chat.message(IVAN, text="УДАЛИТЬ"))
    assert not [c for c in calls if isinstance(c, EditUserStarSubscription)]
    [goodbye] = [plain(c.text) for c in calls if isinstance(c, SendMessage)]
    assert "Stars" not in goodbye


async def test_paysupport_opens_a_ticket_and_the_menu_opens_billing(chat: Chat_) -> None:
    calls = await chat.feed(message=chat.message(ANN, text="/paysupport",
                                                 entities=[{"type": "bot_command", "offset": 0,
                                                            "length": 11}]))
    [said] = calls
    assert isinstance(said, SendMessage) and "Help with a payment" in said.text
    key = StorageKey(bot_id=42, chat_id=ANN, user_id=ANN)
    assert await DP.storage.get_state(key) == "SupportStates:question"
    await DP.storage.set_state(key, None)

    calls = await chat.press(ANN, "mn:billing")
    [screen] = [c for c in calls if isinstance(c, EditMessageText)]
    assert "Plan: Free" in plain(screen.text) and "Ad accounts tracked: 1 of 2" in plain(
        screen.text)


async def test_billing_from_a_receipt_comes_below_it_and_the_receipt_stays(
    chat: Chat_, enforcer: FakeEnforcer  # noqa: F811
) -> None:
    body = chat.signed(ANN, recurring=True)
    await chat.pay(ANN, "sub2", body, 500, recurring=True)
    calls = await chat.press(ANN, BillingCb(action="open").pack())
    assert not [c for c in calls if isinstance(c, EditMessageText)]
    [sent] = [c for c in calls if isinstance(c, SendMessage)]
    assert "renews on 31 Dec 2026, 10:00" in plain(sent.text)
    calls = await chat.press(ANN, BillingCb(action="offers").pack())
    [sent] = [c for c in calls if isinstance(c, SendMessage)]
    assert "Agency" in plain(sent.text)
