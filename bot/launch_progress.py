"""The launch runner's progress shown in the chat: one message (the approved proposal) edited
at most about once a second (design.md, Long work), in the owner's language."""

from __future__ import annotations

import contextlib
import logging
import time

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n

from bot.views import launch as view
from storage.models import Launch

log = logging.getLogger(__name__)
EVERY_SECONDS = 1.0


class ProgressEditor:
    """Edits each running launch's message; a failed edit is skipped, never fatal (the final
    summary goes through the outbox, which is what must not be lost)."""

    def __init__(self, bot: Bot, i18n: I18n) -> None:
        self._bot, self._i18n = bot, i18n
        self._last: dict[int, float] = {}

    async def progress(self, launch: Launch, done: int, total: int) -> None:
        """Show `done` of `total`, unless the last edit was under a second ago (the last step
        is always shown)."""
        if launch.progress_message_id is None:
            return
        now = time.monotonic()
        if done < total and now - self._last.get(launch.id, 0.0) < EVERY_SECONDS:
            return
        self._last[launch.id] = now
        locale = str(launch.params.get("locale") or self._i18n.default_locale)
        # A launch claimed already "running" is being resumed after a crash or restart: say
        # so (and the text then differs from the last edit before the crash).
        with self._i18n.context(), self._i18n.use_locale(locale):
            text = view.progress(launch.template_name, done, total, launch.state == "running")
        with contextlib.suppress(TelegramAPIError):
            await self._bot.edit_message_text(
                text, chat_id=launch.user_id, message_id=launch.progress_message_id
            )
        if done >= total:
            self._last.pop(launch.id, None)
