"""bot/pacing.py SharedLimits: slots from Redis shared by pacers; Redis down, local pacing only."""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis

from bot.pacing import PacingMiddleware, SharedLimits
from tests.services import REDIS_URL, redis_client


class Send:
    """A stand-in for a sendMessage call."""

    __api_method__ = "sendMessage"

    def __init__(self, chat_id: int) -> None:
        self.chat_id = chat_id


async def sent(bot: Any, method: Any) -> Any:
    return method.chat_id


async def test_two_pacers_share_one_chats_slots() -> None:
    client = await redis_client()
    await client.flushdb()
    await client.aclose()
    pacers = [
        PacingMiddleware(
            per_chat_rate=10.0,
            global_rate=1000.0,
            shared=SharedLimits(Redis.from_url(REDIS_URL), 42, 10.0, 3, 1000.0, owns_client=True),
        )
        for _ in range(2)
    ]
    try:
        started = time.monotonic()
        for _ in range(3):
            for pacer in pacers:
                await pacer(sent, None, Send(5))  # type: ignore[arg-type]
        took = time.monotonic() - started
    finally:
        for pacer in pacers:
            assert pacer.shared is not None
            await pacer.shared.aclose()
    # Six calls to one chat at 10/s with a shared burst of 2: at least 0.4 s. Each pacer alone
    # would have let its three through at once (its own burst of 3).
    assert took >= 0.35


async def test_redis_down_paces_locally_and_logs_once(caplog: Any) -> None:
    shared = SharedLimits(Redis.from_url("redis://127.0.0.1:1/0"), 42, 10.0, 3, 1000.0, True)
    pacer = PacingMiddleware(per_chat_rate=10.0, global_rate=1000.0, shared=shared)
    try:
        assert [await pacer(sent, None, Send(7)) for _ in range(3)] == [7, 7, 7]  # type: ignore[arg-type]
    finally:
        await shared.aclose()
    warned = [r for r in caplog.records if r.getMessage() == "telegram.pacing_redis_unavailable"]
    assert len(warned) == 1
