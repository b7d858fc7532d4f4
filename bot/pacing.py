"""Outgoing-call pacing: stay under Telegram's flood limits, and wait out a 429 if one comes.

Telegram asks for at most about 1 message per second per chat after a short burst and about
30 per second overall (telegram-bot-platform.md §2.1); the exact algorithm is not public, so
we pace below it and still honour `retry_after` (aiogram does not retry by itself, §2.3).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

log = logging.getLogger(__name__)

# Methods that put or change a message in a chat count toward the per-chat limit.
_PACED_PREFIXES = ("send", "edit", "copy", "forward")


class _Bucket:
    """A token bucket: `burst` at once, then `rate` per second."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = float(burst), time.monotonic()
        self.lock = asyncio.Lock()

    async def take(self) -> None:
        async with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens < 1:
                wait = (1 - self.tokens) / self.rate
                await asyncio.sleep(wait)
                self.tokens, self.stamp = 1.0, time.monotonic()
            self.tokens -= 1


class PacingMiddleware(BaseRequestMiddleware):
    """Waits for a per-chat and a global slot before each message call; retries 429s a few times."""

    def __init__(
        self,
        per_chat_rate: float = 0.9,
        per_chat_burst: int = 3,
        global_rate: float = 25.0,
        retries: int = 3,
    ) -> None:
        self._chat: dict[Any, _Bucket] = {}
        self._global = _Bucket(global_rate, int(global_rate))
        self._rate, self._burst, self._retries = per_chat_rate, per_chat_burst, retries

    def _forget_idle(self, keep: int = 10_000) -> None:
        """Drop buckets of chats quiet long enough to be full again, so memory stays bounded."""
        if len(self._chat) < keep:
            return
        now = time.monotonic()
        idle = [
            c
            for c, b in self._chat.items()
            if not b.lock.locked() and b.tokens + (now - b.stamp) * b.rate >= b.burst
        ]
        for chat in idle:
            del self._chat[chat]

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """Pace message calls, then send; on 429 sleep `retry_after` and resend."""
        name = method.__api_method__
        chat_id = getattr(method, "chat_id", None)
        paced = name.startswith(_PACED_PREFIXES) and chat_id is not None
        for attempt in range(self._retries + 1):
            if paced:
                bucket = self._chat.get(chat_id)
                if bucket is None:
                    self._forget_idle()
                    bucket = self._chat[chat_id] = _Bucket(self._rate, self._burst)
                await bucket.take()
                await self._global.take()
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self._retries:
                    raise
                log.warning(
                    "telegram.flood_wait", extra={"method": name, "retry_after": exc.retry_after}
                )
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")
