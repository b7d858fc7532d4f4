"""Alert delivery against Telegram's global rate: the real Notifier and the sandbox Bot API server.

    python -m bench.alerts [--n 3000] [--scale 1] [--database-url URL]

Queues `n` alerts round-robin over ⌈n/3⌉ chats (each chat gets at most its burst of 3, so the
per-chat limit of 1/s never binds: only the global one does), starts the sandbox Telegram server
in this process, and runs the real Notifier (bot/notifier.py) with the real PacingMiddleware
until every alert is marked sent.

Telegram allows about 30 messages per second per bot (telegram-bot-platform.md §2.1); the
sandbox enforces it with a token bucket (sandbox/telegram/limits.py). `--scale` multiplies the
whole global rate: the sandbox's bucket is `30 × scale`/s and the pacer runs at
`29.5 × scale`/s, the value TELEGRAM_GLOBAL_RATE may take against a known token bucket (the
production default is 25). The ratio is what matters: `rate_share` = achieved messages per
second ÷ the sandbox's global rate (the pacer's own ceiling is 29.5/30 ≈ 0.983), `alerts_429` =
flood refusals from the sandbox (target 0). The default, `--scale 1`, measures at Telegram's
real numbers (3,000 alerts take about 100 s). A higher scale shortens the run but measures the
machine's CPU rather than the pacing: the notifier and the sandbox server share this process at
~10 ms of CPU per alert together (5 transactions, the HTTP call both sides), so `--scale 4`
(120/s) needs more than one core and falls short whenever anything else runs.

The last line is `alerts_rate_share=… alerts_429=…`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import tempfile
import time
from pathlib import Path

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from sqlalchemy import func, select

from bot.i18n import make_i18n
from bot.notifier import Notifier
from bot.pacing import PacingMiddleware
from bot.sent_ledger import SentLedger
from core.clock import SystemClock
from core.users import SignUp, register_user
from sandbox.telegram.server import start_server
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import OutboxMessage
from storage.uow import UnitOfWorkFactory

TELEGRAM_RATE = 30.0  # messages per second per bot (spec §2.1), the sandbox's default
PACED_RATE = 29.5
PER_CHAT = 3  # the sandbox's per-chat burst
FIRST_USER = 10_000


async def _queue(uow: UnitOfWorkFactory, n: int) -> int:
    """Sign up the chats and queue n text alerts round-robin; returns the number of chats."""
    chats = math.ceil(n / PER_CHAT)
    clock = SystemClock()
    for k in range(chats):
        form = SignUp(FIRST_USER + k, "B", None, None, "en", "UTC", None, False)
        await register_user(uow, clock, form)
    async with uow() as u:
        for i in range(n):
            user_id = FIRST_USER + i % chats
            await u.outbox.enqueue(
                user_id, "text", f"bench-{i}", {"text": f"alert {i}"}, clock.now()
            )
        await u.commit()
    return chats


async def measure_alerts(
    n: int = 3_000, scale: float = 1.0, database_url: str | None = None
) -> tuple[float, int]:
    """Deliver n alerts; returns (achieved rate ÷ the sandbox's global rate, 429 refusals)."""
    server_rate, paced_rate = TELEGRAM_RATE * scale, PACED_RATE * scale
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(database_url or f"sqlite+aiosqlite:///{Path(tmp)}/bench.db")
        await upgrade(engine)
        uow = UnitOfWorkFactory(session_factory(engine), None)
        server = await start_server(global_rate=server_rate)
        session = AiohttpSession(api=TelegramAPIServer.from_base(server.url))
        session.middleware(PacingMiddleware(global_rate=paced_rate))
        session.middleware(SentLedger(uow, SystemClock()))  # as the service records each send
        bot = Bot(
            server.token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
        )
        try:
            chats = await _queue(uow, n)
            for k in range(chats):
                server.engine.state.ensure_user(FIRST_USER + k, first_name="B")
            # Enough chats in hand for the rate: each alert holds its slot ~1-2 s at most.
            notifier = Notifier(
                uow, SystemClock(), bot, make_i18n(), window=max(100, int(paced_rate * 3))
            )
            started = time.monotonic()
            sent = 0
            while sent < n:
                done = await notifier.tick()
                if not done:
                    await asyncio.sleep(0.05)
                sent += done
            elapsed = time.monotonic() - started
            async with uow() as u:
                unsent = await u.session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.sent_at.is_(None))
                )
            assert unsent == 0, f"{unsent} alerts not marked sent"
            refusals = list(server.engine.state.refusals)
            flood = sum(1 for r in refusals if r["error_code"] == 429)
            return n / elapsed / server_rate, flood
        finally:
            await session.close()
            await server.stop()
            await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    """Entry point: print the ratio line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3_000)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    share, flood = asyncio.run(measure_alerts(args.n, args.scale, args.database_url))
    print(f"alerts_rate_share={share:.3f} alerts_429={flood}")


if __name__ == "__main__":
    main()
