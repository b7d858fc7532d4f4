"""Outgoing-call pacing: stay under Telegram's flood limits, and wait out a 429 if one comes.

Telegram asks for at most about 1 message per second per chat after a short burst and about
30 per second overall (telegram-bot-platform.md §2.1); the exact algorithm is not public, so
we pace below it and still honour `retry_after` (aiogram does not retry by itself, §2.3).

Why the pacer provably stays under a token-bucket server (the sandbox's limits.py: per chat
`burst` then `rate`/s, globally a bucket of about one second's worth of `rate`):

- **Global: spacing, not bursts.** Calls leave at most one every `1/global_rate` seconds, slots
  reserved in order. If a call reaches the server at most J seconds after it leaves, any window
  of T seconds sees at most `1 + global_rate·(T + J)` arrivals, which is under the server's
  `capacity + server_rate·T` whenever `global_rate ≤ server_rate` and
  `global_rate·J ≤ capacity − 1` (J under ~1 s against a 30-token bucket).
- **Per chat: charged when the call completes, and only if it was accepted.** The server takes a
  token when the request arrives, and a refused call takes none. Our per-chat bucket reserves a
  token while a call is in flight and charges it at completion, i.e. no earlier than the server
  did, and refunds it on a refusal. A bucket's level only grows when its charges move earlier,
  so with the same burst and a rate no higher than the server's, ours is never fuller than the
  server's: no 429, whatever the network delay. Probing edits (editMessageText that end in
  "message is not modified") are refused by the server and so cost the chat nothing, exactly as
  the sandbox counts them; they still take a global slot (conservative).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from core.tiktok.ratelimit import GCRA_LUA

log = logging.getLogger(__name__)

# Methods that put or change a message in a chat count toward the per-chat limit.
_PACED_PREFIXES = ("send", "edit", "copy", "forward")


class _ChatBucket:
    """A per-chat token bucket: `burst` at once, then `rate`/s, charged when a call completes."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.level, self.stamp = float(burst), time.monotonic()
        self.in_flight = 0
        self.lock = asyncio.Lock()

    def _refill(self) -> None:
        """Add the tokens earned since the last look."""
        now = time.monotonic()
        self.level = min(float(self.burst), self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    async def acquire(self) -> None:
        """Wait until a token is free beyond those reserved by calls in flight, and reserve it."""
        async with self.lock:
            while True:
                self._refill()
                short = 1.0 + self.in_flight - self.level
                if short <= 0:
                    self.in_flight += 1
                    return
                await asyncio.sleep(short / self.rate)

    def release(self, charged: bool) -> None:
        """End a reservation; `charged` when the server may have counted the call."""
        self._refill()
        self.in_flight -= 1
        if charged:
            self.level -= 1.0

    def idle(self) -> bool:
        """True when nothing waits or flies and the bucket is full again."""
        if self.in_flight or self.lock.locked():
            return False
        return self.level + (time.monotonic() - self.stamp) * self.rate >= self.burst


class _Spacer:
    """Lets calls through at most `rate` per second, evenly spaced: no bursts at all."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_slot = 0.0

    async def take(self) -> None:
        """Reserve the next free slot and sleep until it comes."""
        now = time.monotonic()
        slot = max(now, self.next_slot)
        self.next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


class SharedLimits:
    """Telegram's limits for one bot token, shared by every instance through Redis (issue 15).

    The limits are per bot, not per process (§2.1), so N instances each pacing alone would send
    N times too much. Each message call also takes a slot from two GCRA schedules kept in Redis
    (the script of core/tiktok/ratelimit.py, on the Redis server's clock so all instances agree):
    the bot's global spacing at `global_rate`, and the chat's at `per_chat_rate` with a burst
    one smaller than the local bucket's. Unlike the local bucket these are charged when the call
    leaves, so a call delayed on the way by up to ~1 s could arrive close behind a later one;
    the spare token absorbs that (2 + r·(T + J) ≤ 3 + r·T for J ≤ 1/r). The local pacing still
    applies too. If Redis fails, calls go on with the local pacing alone (logged, at most
    once a minute): slower to notice than a flood, never a stop.
    """

    def __init__(
        self,
        redis: Any,
        bot_id: int,
        per_chat_rate: float,
        per_chat_burst: int,
        global_rate: float,
        owns_client: bool = False,
        key_prefix: str = "ttpulse:tg",
    ) -> None:
        self.redis, self._owns = redis, owns_client
        self._script = redis.register_script(GCRA_LUA)
        self._prefix = f"{key_prefix}:{bot_id}"
        self._chat_interval = int(1_000_000 / per_chat_rate)
        self._chat_tolerance = max(0, per_chat_burst - 2) * self._chat_interval
        self._global_interval = int(1_000_000 / global_rate)
        self._warned_at = -1e9

    async def _slot(self, key: str, interval_us: int, tolerance_us: int) -> None:
        try:
            wait_us = await self._script(keys=[key], args=[interval_us, tolerance_us, 5_000])
        except Exception as exc:  # any Redis failure: local pacing alone
            if time.monotonic() - self._warned_at > 60:
                self._warned_at = time.monotonic()
                log.warning("telegram.pacing_redis_unavailable", extra={"error": repr(exc)})
            return
        if int(wait_us) > 0:
            await asyncio.sleep(int(wait_us) / 1_000_000)

    async def chat(self, chat_id: Any) -> None:
        """Wait for the chat's shared slot."""
        await self._slot(f"{self._prefix}:chat:{chat_id}", self._chat_interval,
                         self._chat_tolerance)

    async def bot(self) -> None:
        """Wait for the bot's shared global slot."""
        await self._slot(f"{self._prefix}:global", self._global_interval, 0)

    async def aclose(self) -> None:
        """Close the Redis connection if it is ours."""
        if self._owns:
            await self.redis.aclose()


def _charged(exc: BaseException) -> bool:
    """Whether a failed call may still have counted at the server (unknown outcome)."""
    if isinstance(exc, (TelegramNetworkError, TelegramServerError)):
        return True
    # Any other Bot API answer is a refusal (400, 403, 429, ...): nothing was put in the chat.
    return not isinstance(exc, TelegramAPIError)


class PacingMiddleware(BaseRequestMiddleware):
    """Waits for a per-chat and a global slot before each message call; retries 429s a few times."""

    def __init__(
        self,
        per_chat_rate: float = 0.95,
        per_chat_burst: int = 3,
        global_rate: float = 25.0,
        retries: int = 3,
        max_retry_wait: float = 30.0,
        shared: SharedLimits | None = None,
    ) -> None:
        if per_chat_rate <= 0 or global_rate <= 0:
            raise ValueError("rates must be positive")
        self.shared = shared
        self._chat: dict[Any, _ChatBucket] = {}
        self._global = _Spacer(global_rate)
        self.global_rate = global_rate
        self._rate, self._burst, self._retries = per_chat_rate, per_chat_burst, retries
        # A longer flood wait is not slept here: the caller (e.g. the notifier) reschedules.
        self._max_retry_wait = max_retry_wait

    def _forget_idle(self, keep: int = 10_000) -> None:
        """Drop buckets of chats quiet long enough to be full again, so memory stays bounded."""
        if len(self._chat) < keep:
            return
        for chat in [c for c, b in self._chat.items() if b.idle()]:
            del self._chat[chat]

    def _bucket(self, chat_id: Any) -> _ChatBucket:
        """The chat's bucket, created full on first use."""
        bucket = self._chat.get(chat_id)
        if bucket is None:
            self._forget_idle()
            bucket = self._chat[chat_id] = _ChatBucket(self._rate, self._burst)
        return bucket

    async def _paced(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
        chat_id: Any,
    ) -> Response[TelegramType]:
        """One paced call: chat token reserved, global slot taken, charge settled at the end."""
        bucket = self._bucket(chat_id)
        await bucket.acquire()
        charged = True
        try:
            if self.shared is not None:
                await self.shared.chat(chat_id)
                await self.shared.bot()
            await self._global.take()
            return await make_request(bot, method)
        except BaseException as exc:
            charged = _charged(exc)
            raise
        finally:
            bucket.release(charged)

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
            try:
                if paced:
                    return await self._paced(make_request, bot, method, chat_id)
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self._retries or exc.retry_after > self._max_retry_wait:
                    raise
                log.warning(
                    "telegram.flood_wait", extra={"method": name, "retry_after": exc.retry_after}
                )
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")
