"""Every message the bot makes in a private chat is recorded, so nothing it sent is mistaken
for an alert's lost copy.

An alert whose send was cut off (bot/notifier.py) is looked for by editing the chat's messages
into the alert's text: "not modified" means the copy is there. An edit of any other message of
the bot would succeed and overwrite it (a reply to a command turned into the alert). Here each
send's message id is kept with when it was asked for and answered, and which alert it delivered,
in the database every instance shares, before the send's caller goes on. The probe edits none
of these, starts after the last one made before the lost send began, and stops at the first one
made after that send's lease ended (later than any copy could be).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.once_sends import is_send
from core.clock import Clock
from storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)
# An in-doubt alert is retried within about two hours (bot/notifier.py: at most 12 attempts,
# backing off to 10 minutes), so two days of each chat's messages are more than any probe looks
# at, and no more is kept (data minimisation); each chat's newest stays, where a probe starts.
KEEP = timedelta(days=2)
_alert: ContextVar[int | None] = ContextVar("ttpulse_alert", default=None)


@contextlib.contextmanager
def delivering(outbox_id: int) -> Iterator[None]:
    """Mark the sends made inside as the delivery of this alert."""
    token = _alert.set(outbox_id)
    try:
        yield
    finally:
        _alert.reset(token)


class SentLedger(BaseRequestMiddleware):
    """Records the message ids of sends to private chats (sent_messages)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """Send, then record what was made."""
        chat_id = getattr(method, "chat_id", None)
        # A private chat's id is its user's, a positive number (groups and channels: negative).
        if not is_send(method) or not isinstance(chat_id, int) or chat_id <= 0:
            return await make_request(bot, method)
        asked = self._clock.now()
        result = await make_request(bot, method)
        made: list[Any] = result if isinstance(result, list) else [result]  # sendMediaGroup
        ids = [m.message_id for m in made if isinstance(getattr(m, "message_id", None), int)]
        if ids:
            answered = self._clock.now()
            try:
                async with self._uow() as u:
                    for message_id in ids:
                        await u.sent.add(chat_id, message_id, asked, answered, _alert.get())
                    await u.commit()
            except Exception as exc:  # the message is out; failing its caller would not help
                log.warning("sent_ledger.unrecorded", extra={"error": repr(exc)})
        return result


async def forget_old(uow: UnitOfWorkFactory, clock: Clock) -> int:
    """Drop recorded messages older than KEEP (any instance; a delete is idempotent)."""
    async with uow() as u:
        n = await u.sent.purge(clock.now() - KEEP)
        await u.commit()
    return n
