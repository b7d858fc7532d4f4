"""A button's answer that came too late is logged, not raised.

Telegram accepts answerCallbackQuery only for a while after the press (roughly 10-15 s,
telegram-bot-platform.md §2.4: "query is too old and response timeout expired or query ID is
invalid"). Handlers whose work can take long answer first and show progress (the launch's
pre-flight, Run now); this middleware keeps a late answer elsewhere from turning work that
was done into a handler failure: the user already sees the result in the message.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, Response, TelegramMethod
from aiogram.methods.base import TelegramType

log = logging.getLogger(__name__)


def too_old(exc: TelegramBadRequest) -> bool:
    """Whether Telegram refused a callback answer because its time had passed (or it was
    answered already); matched by substring, as the wording has changed (spec §2.4)."""
    return "query is too old" in exc.message.lower()


class LateAnswers(BaseRequestMiddleware):
    """answerCallbackQuery refused as too old counts as answered (logged as a warning)."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """Pass the call on; swallow only a too-late callback answer."""
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            if not isinstance(method, AnswerCallbackQuery) or not too_old(exc):
                raise
            log.warning("callback.answer_too_late", extra={"text": bool(method.text)})
            # The chain hands back the method's result (aiogram's make_request returns
            # `response.result`), which for answerCallbackQuery is True.
            return True  # type: ignore[return-value]
