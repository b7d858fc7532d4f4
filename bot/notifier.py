"""The notifier: delivers queued alerts (the outbox) within Telegram's limits.

Each alert is written to the outbox first (in the same transaction as the event), then leased
here, rendered in the owner's language at delivery time, sent, and marked sent. A 429 waits the
`retry_after` Telegram asked for (telegram-bot-platform.md §2.3), a 5xx or network error backs
off, a blocked user is given up on; nothing is dropped silently, and one event is one message.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.utils.i18n import I18n

from bot.views import alerts as view
from core.clock import Clock
from storage.models import OutboxMessage
from storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 12


class Notifier:
    """Delivers due outbox messages; `tick()` is called by the scheduler."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, bot: Bot, i18n: I18n) -> None:
        self._uow, self._clock, self._bot, self._i18n = uow, clock, bot, i18n

    async def tick(self, limit: int = 25) -> int:
        """Send what is due; returns how many were sent."""
        now = self._clock.now()
        async with self._uow() as u:
            batch = await u.outbox.claim(now, now + LEASE, limit)
            await u.commit()
        sent = 0
        for message in batch:
            sent += await self._deliver(message)
        return sent

    async def _render(self, message: OutboxMessage) -> view.Screen | None:
        async with self._uow() as u:
            user = await u.users.get(message.user_id)
            if user is None:
                return None
            with self._i18n.context(), self._i18n.use_locale(user.language):
                return await view.render(u, message.kind, message.user_id, message.params)

    async def _deliver(self, message: OutboxMessage) -> int:
        now = self._clock.now()
        outcome: dict[str, object] = {}
        try:
            screen = await self._render(message)
            if screen is None:
                outcome = {"failed_at": now, "error": "nothing to send (user or object gone)"}
            else:
                text, markup = screen
                await self._bot.send_message(message.user_id, text, reply_markup=markup)
                outcome = {"sent_at": self._clock.now()}
        except TelegramRetryAfter as exc:
            outcome = {"retry_at": now + timedelta(seconds=exc.retry_after), "error": "429"}
        except (TelegramServerError, TelegramNetworkError) as exc:
            backoff = timedelta(seconds=min(600, 5 * 2 ** min(message.attempts, 7)))
            if message.attempts >= MAX_ATTEMPTS:
                outcome = {"failed_at": now, "error": exc.message}
            else:
                outcome = {"retry_at": now + backoff, "error": exc.message}
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            outcome = {"failed_at": now, "error": exc.message}
        async with self._uow() as u:
            await u.outbox.settle(message.id, **outcome)  # type: ignore[arg-type]
            await u.commit()
        if "failed_at" in outcome:
            log.warning(
                "notify.given_up",
                extra={"outbox_id": message.id, "error": str(outcome.get("error"))},
            )
        return 1 if "sent_at" in outcome else 0
