"""Per-app request-rate limiters (spec §8.2: the QPS limit is per developer app).

Both limiters hand out evenly spaced request slots (GCRA / virtual scheduling): each
`acquire()` reserves the next free slot and sleeps until it, so any one-second window holds
at most `rate` requests (plus `burst - 1`). Set `rate` a little under the app's QPS so
network jitter cannot push two slots into the same server-side second.

A slot is only a plan: if the event loop stalls (GC, a busy CPU), several overdue slots
fire together. TikTok counts a sliding one-second window of what arrives, so a send-time
guard also keeps the requests actually released in any one second at or under `rate`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from typing import Any, Protocol

logger = logging.getLogger(__name__)


class RateLimiter(Protocol):
    """Anything the client can await before sending a request."""

    async def acquire(self) -> None:
        """Wait until one more request may be sent."""


class NoLimiter:
    """A limiter that never waits (tests, tools)."""

    async def acquire(self) -> None:
        """Return immediately."""


class SendWindow:
    """At most `limit` releases in any sliding `window` seconds, measured when they happen."""

    def __init__(self, limit: int, window: float = 1.0) -> None:
        self.limit = max(1, limit)
        self.window = window
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def try_release(self, now: float) -> float:
        """Record a release and return 0, or return seconds until one is possible."""
        with self._lock:
            while self._sent and self._sent[0] <= now - self.window:
                self._sent.popleft()
            if len(self._sent) < self.limit:
                self._sent.append(now)
                return 0.0
            return self._sent[0] + self.window - now

    async def wait(self) -> None:
        """Wait until a release fits in the window, and record it."""
        while True:
            delay = self.try_release(time.monotonic())
            if delay <= 0:
                return
            await asyncio.sleep(delay)


class TokenBucketLimiter:
    """In-process limiter shared by every coroutine (and thread) holding it."""

    def __init__(self, rate: float, burst: int = 1) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1, burst)
        self._interval = 1.0 / rate
        self._tat = 0.0  # theoretical arrival time of the next free slot (monotonic clock)
        self._lock = threading.Lock()
        self._window = SendWindow(int(rate) + self.burst - 1)

    def reserve(self, now: float | None = None) -> float:
        """Reserve the next slot; return seconds to wait before using it."""
        with self._lock:
            now = time.monotonic() if now is None else now
            tat = max(self._tat, now)
            wait = max(0.0, tat - (self.burst - 1) * self._interval - now)
            self._tat = tat + self._interval
            return wait

    async def acquire(self) -> None:
        """Wait for a slot, then for room in the send-time window."""
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)
        await self._window.wait()


# KEYS[1] = TAT key; ARGV = interval_us, tolerance_us, extra ttl_ms. Uses the Redis server clock
# so every process agrees on time. Returns microseconds to wait for the reserved slot.
# (bot/pacing.py shares Telegram's limits across instances with the same script.)
GCRA_LUA = _GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
local new_tat = tat + interval
local ttl = math.floor((new_tat - now) / 1000) + tonumber(ARGV[3])
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', ttl)
return wait
"""


class RedisRateLimiter:
    """Limiter shared across processes through Redis (one key per app).

    Falls back to an in-process bucket at the same rate if Redis is unreachable, so an
    outage of Redis slows nothing down but loses cross-process coordination.
    """

    def __init__(
        self,
        redis: Any,
        app_id: str,
        rate: float,
        *,
        burst: int = 1,
        key_prefix: str = "ttpulse:tiktok:qps",
        owns_client: bool = False,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.redis = redis
        self._owns_client = owns_client
        self.rate = rate
        self.burst = max(1, burst)
        self.key = f"{key_prefix}:{app_id}"
        self._interval_us = int(1_000_000 / rate)
        self._tolerance_us = (self.burst - 1) * self._interval_us
        self._script = redis.register_script(_GCRA_LUA)
        self._fallback = TokenBucketLimiter(rate, burst)
        # Shared slots come from Redis; stall bursts are capped per process.
        self._window = SendWindow(int(rate) + self.burst - 1)

    async def reserve(self) -> float:
        """Reserve the next shared slot; return seconds to wait before using it."""
        wait_us = await self._script(
            keys=[self.key], args=[self._interval_us, self._tolerance_us, 5_000]
        )
        return int(wait_us) / 1_000_000

    async def aclose(self) -> None:
        """Close the Redis connection if this limiter created it."""
        if self._owns_client:
            await self.redis.aclose()

    async def acquire(self) -> None:
        """Wait for a shared slot (or a local one when Redis fails)."""
        try:
            wait = await self.reserve()
        except Exception as exc:  # any Redis failure: degrade to the local bucket
            logger.warning("tiktok.ratelimit.redis_unavailable", extra={"error": repr(exc)})
            await self._fallback.acquire()
            return
        if wait > 0:
            await asyncio.sleep(wait)
        await self._window.wait()


_process_limiters: dict[str, TokenBucketLimiter] = {}
_process_lock = threading.Lock()


def process_limiter(app_id: str, rate: float, burst: int = 1) -> TokenBucketLimiter:
    """The one in-process limiter for `app_id` (created on first use)."""
    with _process_lock:
        limiter = _process_limiters.get(app_id)
        if limiter is None or limiter.rate != rate or limiter.burst != burst:
            limiter = TokenBucketLimiter(rate, burst)
            _process_limiters[app_id] = limiter
        return limiter


def build_limiter(
    app_id: str,
    qps: float,
    *,
    redis_url: str | None = None,
    headroom: float = 0.9,
    burst: int = 1,
    key_prefix: str = "ttpulse:tiktok:qps",
) -> RateLimiter:
    """Pick the limiter for an app: Redis-shared when `redis_url` is set, else in-process.

    `qps` is the app's limit; the limiter runs at `qps * headroom` to stay under it.
    """
    rate = max(0.1, qps * headroom)
    if redis_url:
        from redis.asyncio import Redis

        client = Redis.from_url(redis_url)
        return RedisRateLimiter(
            client, app_id, rate, burst=burst, key_prefix=key_prefix, owns_client=True
        )
    return process_limiter(app_id, rate, burst)
