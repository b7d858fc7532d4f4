"""The bot's side of the billing page: a Buy press sends the chat's own Stars invoice into the
chat (sendInvoice, XTR); renewal changes answer in the chat's words."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.i18n import make_i18n
from bot.views.common import local_when
from bot.web_invoice import WebInvoice
from core.billing import account
from core.billing.payload import Offer
from core.billing.plans import PlanBook
from core.settings import load_settings
from storage.vault import generate_key_entry
from tests.web.conftest import Dash


class Bot:
    """What the bot was asked to send."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def send_invoice(self, **kw: Any) -> None:
        self.calls.append(("send_invoice", kw))

    async def create_invoice_link(self, **kw: Any) -> str:
        self.calls.append(("create_invoice_link", kw))
        return "https://t.me/$invoice"

    async def send_message(self, chat_id: int, text: str, **kw: Any) -> None:
        self.calls.append(("send_message", {"chat_id": chat_id, "text": text}))


async def test_buy_sends_the_chats_invoice_and_renewal_says_why_not(dash: Dash) -> None:
    bot = Bot()
    settings = load_settings(encryption_keys=generate_key_entry("k"), _env_file=None)
    plans = PlanBook()
    invoices = WebInvoice(bot, settings, dash.uow, plans, dash.clock,  # type: ignore[arg-type]
                          make_i18n())
    async with dash.uow() as u:
        user = await u.users.get(dash.mine.user_id)
    assert user is not None
    paid = next(p for p in plans.current().plans if p.periods)
    days, price = next(iter(paid.periods.items()))
    assert await invoices(user, paid.code, days, False) == "sent"
    kind, sent = bot.calls[-1]
    assert kind == "send_invoice" and sent["chat_id"] == user.id
    assert sent["currency"] == "XTR" and sent["prices"][0].amount == price
    assert await invoices(user, "no-such-plan", 30, False) == "not_on_sale"
    assert await invoices.renewal(user, True) == "You have no subscription that renews."


async def test_cancelling_renewal_names_the_end_of_all_the_paid_time(dash: Dash) -> None:
    class Telegram(Bot):
        async def edit_user_star_subscription(self, *args: Any) -> bool:
            return True

    settings = load_settings(encryption_keys=generate_key_entry("k"), _env_file=None)
    i18n = make_i18n()
    invoices = WebInvoice(Telegram(), settings, dash.uow, PlanBook(), dash.clock,  # type: ignore[arg-type]
                          i18n)
    uid, now = dash.mine.user_id, dash.clock.now()
    plans = PlanBook().current()
    # A Pro subscription (30 days) and 90 more days of Pro bought once: Pro runs 120 days.
    for charge, days, recurring in (("sub1", 30, True), ("one1", 90, False)):
        await account.record_charge(dash.uow, plans, dash.clock, uid, account.Paid(
            charge_id=charge, provider_charge_id=None, stars=1, payload=charge, paid_at=now,
            offer=Offer(uid, "pro", days, recurring, 1, now), is_recurring=recurring,
            expires_at=now + timedelta(days=30) if recurring else None,
            is_first_recurring=recurring))
    async with dash.uow() as u:
        user = await u.users.get(uid)
    assert user is not None
    said = await invoices.renewal(user, True)
    with i18n.context(), i18n.use_locale("en"):
        end = local_when(now + timedelta(days=120), user.time_zone)
    assert said == f"✅ Renewal cancelled. Pro stays until {end}."
