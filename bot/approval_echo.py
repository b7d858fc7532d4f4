"""Redraws the chat's message of a rule approval decided elsewhere (the web dashboard), so the
chat shows the decision as it would after a press there (bot/routers/rule_actions.py)."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n

from bot.views import alerts as view
from core.billing.plans import PlanBook
from core.clock import Clock
from core.rules.digests import message_of
from storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)


class ApprovalEcho:
    """`await echo(user_id, action_id)` after a decision: edit the alert (or the digest's page
    holding the action) that asked."""

    def __init__(self, bot: Bot, i18n: I18n, uow: UnitOfWorkFactory, clock: Clock,
                 plans: PlanBook | None = None) -> None:
        self._bot, self._i18n, self._uow, self._clock, self._plans = bot, i18n, uow, clock, plans

    async def __call__(self, user_id: int, action_id: int) -> None:
        """Edit the message in place; a failure is logged, never raised (the decision stands)."""
        message = await message_of(self._uow, user_id, action_id)
        if message is None or message.tg_message_id is None:
            return
        async with self._uow() as u:
            user = await u.users.get(user_id)
            if user is None:
                return
            with self._i18n.context(), self._i18n.use_locale(user.language):
                screen = await view.render(
                    u, message.kind, user_id, dict(message.params), self._clock.now(),
                    outbox_id=message.id, focus=action_id,
                    catalogue=self._plans.current() if self._plans is not None else None,
                )
        if screen is None:
            return
        text, markup = screen
        try:
            await self._bot.edit_message_text(text=text, chat_id=user_id,
                                              message_id=message.tg_message_id,
                                              reply_markup=markup)
        except TelegramAPIError as exc:  # deleted by the user, too old to edit, unchanged…
            log.info("approval_echo.not_edited", extra={"error": exc.message})
