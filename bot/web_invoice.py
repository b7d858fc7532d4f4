"""Buy buttons of the web dashboard's billing page: the invoice goes into the chat, the payment
stays Telegram Stars' (bot/routers/billing.send_offer, the chat's own Buy); and cancelling or
allowing a subscription's renewal, which only the bot can ask of Telegram."""

from __future__ import annotations

from aiogram import Bot
from aiogram.utils.i18n import I18n

from bot.routers.billing import editor, send_offer
from bot.views import billing as view
from core.billing import checkout, overview, subscription
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

    async def renewal(self, user: User, cancel: bool) -> str:
        """Stop (or allow again) the subscription's renewal through Telegram, as the chat's
        Cancel / Resume renewal do; what happened, in the chat's words (Telegram HTML)."""
        change = subscription.cancel if cancel else subscription.resume
        outcome = await change(self._uow, self._clock, user.id, editor(self._bot, user.id))
        catalogue = self._plans.current()
        with self._i18n.context(), self._i18n.use_locale(user.language):
            if not (outcome.done and outcome.subscription is not None):
                return view.renewal_problem(outcome)
            if cancel:
                standing, _sub = await overview.standing(self._uow, catalogue, self._clock,
                                                         user.id)
                return view.canceled(outcome.subscription, catalogue, user.time_zone, standing)
            return view.resumed()
