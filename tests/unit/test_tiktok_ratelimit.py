"""Unit tests: in-process and Redis-shared request-rate limiters."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.tiktok.ratelimit import (
    RedisRateLimiter,
    SendWindow,
    TokenBucketLimiter,
    build_limiter,
    process_limiter,
)
from tests.services import REDIS_URL, redis_client


def _max_in_window(stamps: list[float], window: float = 1.0) -> int:
    stamps = sorted(stamps)
    best, lo = 0, 0
    for hi, t in enumerate(stamps):
        while t - stamps[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def test_bucket_spaces_slots_evenly() -> None:
    bucket = TokenBucketLimiter(rate=10)
    waits = [bucket.reserve(now=100.0) for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    # after idling the schedule restarts at "now", no stored-up burst
    assert bucket.reserve(now=200.0) == 0.0
    assert bucket.reserve(now=200.0) == pytest.approx(0.1)


def test_bucket_burst() -> None:
    bucket = TokenBucketLimiter(rate=10, burst=3)
    waits = [bucket.reserve(now=0.0) for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.2])


async def test_bucket_shared_by_coroutines() -> None:
    limiter = process_limiter(f"app-{uuid.uuid4()}", 50)
    stamps: list[float] = []

    async def call() -> None:
        await limiter.acquire()
        stamps.append(time.monotonic())

    await asyncio.gather(*(call() for _ in range(60)))
    assert _max_in_window(stamps) <= 51


def test_send_window_caps_bursts_after_a_stall() -> None:
    window = SendWindow(3)
    assert [window.try_release(10.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert window.try_release(10.5) == pytest.approx(0.5)
    assert window.try_release(11.0) == 0.0


async def test_bucket_after_event_loop_stall() -> None:
    """Overdue slots released after a stall still fit the sliding one-second window."""
    limiter = TokenBucketLimiter(rate=20)
    stamps: list[float] = []

    async def call() -> None:
        await limiter.acquire()
        stamps.append(time.monotonic())

    tasks = [asyncio.create_task(call()) for _ in range(40)]
    await asyncio.sleep(0.2)
    time.sleep(0.6)  # noqa: ASYNC251 - simulate a blocked event loop on purpose
    await asyncio.gather(*tasks)
    # Stamps are taken just after each release, a few microseconds late and not by the same
    # amount, so two releases exactly one second apart can look closer; allow 5 ms for that.
    assert _max_in_window(stamps, window=0.995) <= 20


def test_process_limiter_is_per_app() -> None:
    a = process_limiter("same-app", 5)
    assert process_limiter("same-app", 5) is a
    assert process_limiter("other-app", 5) is not a


@pytest.fixture
async def redis() -> AsyncIterator[Any]:
    """A Redis connection (skips locally, fails in CI when Redis is unreachable)."""
    client = await redis_client()
    yield client
    await client.aclose()


async def test_redis_limiter_shared_between_instances(redis: Any) -> None:
    """Two limiters on two connections (as in two processes) on one key share one rate: the
    slots they are granted, taken in turn, are 1/20 s apart, not each limiter's own 20/s."""
    prefix = f"test:ttpulse:{uuid.uuid4().hex}"
    other = await redis_client()
    try:
        a = RedisRateLimiter(redis, "app", 20, key_prefix=prefix)
        b = RedisRateLimiter(other, "app", 20, key_prefix=prefix)
        # A slot is `wait` after the moment Redis granted it, which lies between the local
        # clock before and after the call: each slot is known within that call's round trip.
        # The widest reading of two neighbours' gap must still reach the interval, however
        # the event loop stalls (a stall only widens the bounds).
        slots: list[tuple[float, float]] = []
        for i in range(40):
            before = time.monotonic()
            wait = await (a if i % 2 else b).reserve()
            slots.append((before + wait, time.monotonic() + wait))
        gaps = [later[1] - earlier[0] for earlier, later in itertools.pairwise(slots)]
        assert min(gaps) >= 0.05 * 0.99
        assert slots[-1][1] - slots[0][0] >= 39 * 0.05 * 0.99
        ttl = await redis.pttl(f"{prefix}:app")
        assert 0 < ttl <= 10_000
    finally:
        await redis.delete(f"{prefix}:app")
        await other.aclose()


async def test_redis_limiter_acquire_waits_for_its_shared_slot(redis: Any) -> None:
    """acquire() sleeps until its slot: 10 calls at 20/s through two limiters take ≥ 0.45 s."""
    prefix = f"test:ttpulse:{uuid.uuid4().hex}"
    try:
        a = RedisRateLimiter(redis, "app", 20, key_prefix=prefix)
        b = RedisRateLimiter(redis, "app", 20, key_prefix=prefix)
        start = time.monotonic()
        await asyncio.gather(*((a if i % 2 else b).acquire() for i in range(10)))
        assert time.monotonic() - start >= 9 * 0.05 * 0.99
    finally:
        await redis.delete(f"{prefix}:app")


async def test_redis_limiter_falls_back_when_redis_down() -> None:
    from redis.asyncio import Redis

    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    limiter = RedisRateLimiter(dead, "app", 100, key_prefix=f"test:{uuid.uuid4().hex}")
    await asyncio.wait_for(limiter.acquire(), 5)
    await dead.aclose()


def test_build_limiter_picks_backend() -> None:
    local = build_limiter("app-build", 10)
    assert isinstance(local, TokenBucketLimiter) and local.rate == pytest.approx(9.0)
    shared = build_limiter("app-build", 10, redis_url=REDIS_URL, key_prefix="test:build")
    assert isinstance(shared, RedisRateLimiter)
    assert shared.key == "test:build:app-build" and shared.rate == pytest.approx(9.0)
