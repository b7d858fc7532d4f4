"""Buy buttons of the web dashboard's billing page: the invoice goes into the chat, the payment
stays Telegram Stars' (bot/routers/billing.send_offer, the chat's own Buy)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.utils.i18n import I18n

from bot.routers.billing import send_offer
from core.billing import checkout
from core.billing.plans import PlanBook
from core.clock import Clock
from core.settings import Settings
from storage.models import User
from storage.uow import UnitOfWorkFactory


class WebInvoice:
    """`await invoice(user, plan, days, recurring)`: "sent", "subscribed" (a renewing
    subscription already exists) or "not_on_sale"."""

    def __init__(self, bot: Bot, settings: Settings, uow: UnitOfWorkFactory, plans: PlanBook,
                 clock: Clock, i18n: I18n) -> None:
        self._bot, self._settings, self._uow = bot, settings, uow
        self._plans, self._clock, self._i18n = plans, clock, i18n

    async def __call__(self, user: User, plan: str, days: int, recurring: bool) -> str:
        """Send the offer's invoice in the user's language."""
        try:
            with self._i18n.context(), self._i18n.use_locale(user.language):
                await send_offer(self._bot, self._settings, self._uow, self._plans,
                                 self._clock, user, plan, days, recurring)
        except checkout.AlreadySubscribed:
            return "subscribed"
        except checkout.NotOnSale:
            return "not_on_sale"
        return "sent"
