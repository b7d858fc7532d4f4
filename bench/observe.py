"""What seeing inside costs: the metrics middlewares per update and per Bot API request, and the
lease claims (which now read the lapsed leases they take over) per claimed job.

    python -m bench.observe [--updates 20000] [--requests 20000] [--jobs 2000] [--claims-only]

Each part runs with and without the instrumentation in the same process, measured in CPU time
(time.process_time), best of 5; a whole dispatcher's per-update time is noisy on a shared
machine, so the update middleware is also timed alone. `--claims-only` measures only the
claims, which an older checkout can run too, for the side-by-side number: run this file by
path with that checkout first on the path (`PYTHONPATH=/tmp/old python bench/observe.py
--claims-only`). The last line is `update_overhead_us=… request_overhead_us=…
claim_us_per_job=…` (the middleware alone, the two request middlewares, one claimed job).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any


def _best(runs: int, fn: Callable[[], Awaitable[float]]) -> float:
    return min(asyncio.run(fn()) for _ in range(runs))


async def _updates(n: int, instrumented: bool) -> float:
    """CPU seconds to feed `n` message updates to a dispatcher with one trivial handler."""
    from aiogram import Bot, Dispatcher, Router
    from aiogram.types import Chat, Message, Update, User

    from bot.metrics import Metrics, UpdateMetrics

    dp, router = Dispatcher(), Router()

    @router.message()
    async def handler(message: Message) -> None:
        return None

    dp.include_router(router)
    if instrumented:
        dp.update.outer_middleware(UpdateMetrics(Metrics()))
    bot = Bot("42:" + "A" * 35)
    user, chat = User(id=1, is_bot=False, first_name="A"), Chat(id=1, type="private")
    now = datetime.now(UTC)
    updates = [
        Update(
            update_id=i,
            message=Message(message_id=i, date=now, chat=chat, from_user=user, text="hi"),
        )
        for i in range(n)
    ]
    start = time.process_time()
    for u in updates:
        await dp.feed_update(bot, u)
    spent = time.process_time() - start
    await bot.session.close()
    return spent


async def _middleware_alone(n: int) -> float:
    """CPU seconds of UpdateMetrics itself around a handler that does nothing, per update."""
    from aiogram.types import Chat, Message, Update, User

    from bot.metrics import Metrics, UpdateMetrics

    async def handler(event: Any, data: dict[str, Any]) -> None:
        return None

    middleware = UpdateMetrics(Metrics())
    user, chat = User(id=1, is_bot=False, first_name="A"), Chat(id=1, type="private")
    now = datetime.now(UTC)
    updates = [
        Update(
            update_id=i,
            message=Message(message_id=i, date=now, chat=chat, from_user=user, text="hi"),
        )
        for i in range(n)
    ]
    start = time.process_time()
    for u in updates:
        await middleware(handler, u, {})
    middle = time.process_time() - start
    start = time.process_time()
    for u in updates:
        await handler(u, {})
    return (middle - (time.process_time() - start)) / n


async def _requests(n: int, instrumented: bool) -> float:
    """CPU seconds for `n` getMe calls through the session's middlewares to a stub."""
    from aiogram import Bot
    from aiogram.client.session.base import BaseSession
    from aiogram.methods import GetMe
    from aiogram.types import User

    from bot.metrics import BotApiAsked, BotApiMetrics, Metrics
    from bot.pacing import PacingMiddleware

    me = User(id=42, is_bot=True, first_name="B")

    class Stub(BaseSession):
        async def make_request(self, bot: Any, method: Any, timeout: Any = None) -> Any:  # noqa: ASYNC109
            return me

        async def stream_content(self, *a: Any, **k: Any) -> Any:  # pragma: no cover
            raise NotImplementedError  # abstract in BaseSession; the bench downloads no file

        async def close(self) -> None:
            return None

    session = Stub()
    metrics = Metrics()
    if instrumented:
        session.middleware(BotApiAsked())
    session.middleware(PacingMiddleware())
    if instrumented:
        session.middleware(BotApiMetrics(metrics))
    bot = Bot("42:" + "A" * 35, session=session)
    start = time.process_time()
    for _ in range(n):
        await bot(GetMe())
    return time.process_time() - start


async def _claims(jobs: int) -> float:
    """CPU seconds per claimed job: claim `jobs` sync jobs 50 at a time (half of them with a
    lapsed lease from a dead worker), then release them, on SQLite."""
    from core.clock import SystemClock
    from core.users import SignUp, register_user
    from storage.db import create_engine, session_factory
    from storage.migrate import upgrade
    from storage.models import AdAccount, SyncJob, TikTokConnection
    from storage.uow import UnitOfWorkFactory

    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await upgrade(engine)
        uow = UnitOfWorkFactory(session_factory(engine), None)
        await register_user(
            uow, SystemClock(), SignUp(1, "B", None, None, "en", "UTC", None, False)
        )
        async with uow() as u:
            conn = TikTokConnection(user_id=1, display_name="b", status="active")
            u.session.add(conn)
            await u.session.flush()
            for i in range(jobs):
                acc = AdAccount(connection_id=conn.id, advertiser_id=str(i), name="a")
                u.session.add(acc)
                await u.session.flush()
                dead = i % 2 == 0
                u.session.add(
                    SyncJob(
                        ad_account_id=acc.id,
                        kind="today",
                        due_at=now - timedelta(minutes=1),
                        lease_owner="dead" if dead else None,
                        lease_until=now - timedelta(seconds=5) if dead else None,
                    )
                )
            await u.commit()
        start, claimed = time.process_time(), 0
        while True:
            async with uow() as u:
                got = await u.sync.claim("me", now, now + timedelta(minutes=10), 50)
                await u.commit()
            if not got:
                break
            claimed += len(got)
        spent = time.process_time() - start
        await engine.dispose()
    assert claimed == jobs, claimed
    return spent / jobs


def main() -> None:
    """Run the parts and print their numbers."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--claims-only", action="store_true")
    args = parser.parse_args()
    claim_us = _best(args.runs, lambda: _claims(args.jobs)) * 1e6
    if args.claims_only:
        print(f"claim_us_per_job={claim_us:.1f}")
        return
    bare = _best(args.runs, lambda: _updates(args.updates, False)) / args.updates * 1e6
    seen = _best(args.runs, lambda: _updates(args.updates, True)) / args.updates * 1e6
    alone = _best(args.runs, lambda: _middleware_alone(args.updates)) * 1e6
    print(
        f"update: {bare:.1f} µs bare, {seen:.1f} µs with UpdateMetrics (CPU per update "
        f"through a dispatcher); the middleware alone: {alone:.1f} µs"
    )
    r_bare = _best(args.runs, lambda: _requests(args.requests, False)) / args.requests * 1e6
    r_seen = _best(args.runs, lambda: _requests(args.requests, True)) / args.requests * 1e6
    print(
        f"Bot API request: {r_bare:.1f} µs paced only, {r_seen:.1f} µs with the metrics "
        "middlewares (CPU per request, stub session)"
    )
    print(
        f"update_overhead_us={alone:.1f} request_overhead_us={r_seen - r_bare:.1f} "
        f"claim_us_per_job={claim_us:.1f}"
    )


if __name__ == "__main__":
    main()
