"""The service's update throughput against bare aiogram, and 3 sync instances against 1.

    python -m bench.updates [--users 200] [--updates 3000] [--rounds 3] [--fsm-redis-url URL]
                            [--accounts 900] [--seconds 150] [--latency-ms 200] [--concurrency 1]
                            [--postgres-dsn DSN] [--skip-updates] [--skip-scale] [--by-kind]

Two measurements, each side by side in the same run:

1. **Updates.** The real dispatcher with every router and middleware, built as bot/app.py builds
   it (conversation state in the database as without REDIS_URL, or in Redis with
   `--fsm-redis-url`), on a real SQLite database of signed-up users with ad accounts and a
   week of stats, fed a mix of updates — /start of
   signed-up users, main-menu presses, stats from the menu, the stats summary, an account's
   campaigns, typed text — against bare aiogram: a Dispatcher with one trivial handler answering
   each update. Both run on the same Bot API session stub (an aiogram BaseSession answering
   every method locally and counting the calls), several rounds, alternating, a batch of
   distinct chats in flight at a time (as polling runs updates as tasks). Throughput is
   updates per second of the process's CPU time (steadier than wall time on a shared machine;
   the database thread's CPU is included); wall rates are printed beside it.
   `updates_ratio` = service ÷ bare (target ≥ 0.5).
   A third side shows what part of the gap is the answers themselves: bare aiogram making, for
   each update, the Bot API calls the service made for it (the same methods, texts and
   keyboards, built anew from a recorded round). No service that answers as this one does can
   beat it: `floor_ratio` = that side ÷ bare is the highest `updates_ratio` those answers allow.
   `--by-kind` adds, per kind of update, the CPU per update of the service and of that third
   side for the same updates: the excess is what the service spends besides its answers.
2. **Scale-out.** Account syncs per second against the TikTok emulator in its own process
   (200 ms per answer, a QPS limit far above what is asked), on one PostgreSQL database,
   by 1 and then by 3 separate OS processes each running the service's sync tick
   (core/sync.py, leases with SKIP LOCKED; `--concurrency` syncs in flight in each, 1 so that
   even three instances are bound by waiting, not by this machine's two cores, which the
   instances, the emulator and PostgreSQL share), after a first pass that is not counted:
   every account's sync made due at once, the rate is the accounts synced over the time until
   the last one finished (at most `--seconds`).
   `scale_ratio` = 3 instances ÷ 1 (target ≥ 2.5; less means a shared lock or a single queue
   serialises the instances).

The last line is `updates_ratio=… floor_ratio=… scale_ratio=…` (and the rates behind them).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import logging
import os
import tempfile
import time
from collections import Counter
from collections.abc import AsyncGenerator, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, Update, User
from sqlalchemy import text as sql

from bot.app import build_dispatcher, make_fsm
from bot.callbacks import MenuCb, StatsCb
from bot.i18n import make_i18n
from core.billing.plans import PlanBook
from core.charts import ChartRenderer
from core.clock import SystemClock
from core.settings import load_settings
from core.sync import Cadence
from core.users import SignUp, register_user
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import AdAccount, AdObject, MetricDaily, TikTokConnection
from storage.uow import UnitOfWorkFactory

BOT_ID = 42
# The update being handled, in each update's own task (drive sets it): whose a Bot API call is.
UPDATE_ID: ContextVar[int | None] = ContextVar("bench_update_id", default=None)
# Each recorded update's calls: the method's type and the fields it was made with.
Sent = dict[int, list[tuple[type[TelegramMethod[Any]], dict[str, Any]]]]
CAMPAIGNS = 5
DAYS = 8


class StubSession(BaseSession):
    """Answers every Bot API method locally (a sent or edited message comes back as a Message,
    anything else as True) and counts the calls by method."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()
        self.sent: Sent | None = None  # while recording: each update's calls
        self._ids = itertools.count(1000)
        self._me = User(id=BOT_ID, is_bot=True, first_name="Bench", username="bench_bot")

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's BaseSession signature
    ) -> TelegramType:
        name = method.__api_method__
        self.calls[name] += 1
        if self.sent is not None and (update_id := UPDATE_ID.get()) is not None:
            fields = method.model_dump(exclude_unset=True)
            self.sent.setdefault(update_id, []).append((type(method), fields))
        if name == "getMe":
            return self._me  # type: ignore[return-value]
        if name.startswith(("send", "edit", "copy", "forward")):
            chat_id = getattr(method, "chat_id", None)
            chat = Chat(id=chat_id if isinstance(chat_id, int) else 0, type="private")
            return Message(  # type: ignore[return-value]
                message_id=next(self._ids),
                date=datetime.now(UTC),
                chat=chat,
                text=getattr(method, "text", None),
                from_user=self._me,
            )
        return True  # type: ignore[return-value]

    async def stream_content(self, *args: Any, **kwargs: Any) -> AsyncGenerator[bytes, None]:
        yield b""

    async def close(self) -> None:
        pass


@dataclass(frozen=True)
class Seeded:
    """Who is in the database: each user's id and their one ad account's id."""

    users: list[tuple[int, int]]


async def seed(uow: UnitOfWorkFactory, n_users: int) -> Seeded:
    """Signed-up users, each with a connection, one tracked ad account, campaigns and a week of
    daily rows (so the stats screens read real sums)."""
    clock = SystemClock()
    today = datetime.now(UTC).date()
    users = []
    for n in range(n_users):
        uid = 10_000 + n
        lang = "ru" if n % 3 == 0 else "en"
        await register_user(
            uow, clock, SignUp(uid, f"User{n}", None, f"user{n}", lang, "UTC", None, False)
        )
        users.append(uid)
    out: list[tuple[int, int]] = []
    async with uow() as u:
        for n, uid in enumerate(users):
            conn = TikTokConnection(user_id=uid, display_name=f"Login {n}")
            u.session.add(conn)
            await u.session.flush()
            # Synced (data as of now), as an account with a week of stats is: a first sync
            # still loading would make the screens read its progress too.
            acc = AdAccount(
                connection_id=conn.id,
                advertiser_id=str(7_000_000 + n),
                name=f"Shop {n}",
                fresh_as_of=datetime.now(UTC),
            )
            u.session.add(acc)
            await u.session.flush()
            out.append((uid, acc.id))
            u.session.add_all(_account_rows(acc.id, today))
        await u.commit()
    return Seeded(out)


def _account_rows(account_id: int, today: date) -> list[Any]:
    rows: list[Any] = []
    for c in range(CAMPAIGNS):
        cid = f"{account_id}{c:03d}"
        rows.append(
            AdObject(
                ad_account_id=account_id,
                level="campaign",
                object_id=cid,
                name=f"Campaign {c}",
                operation_status="ENABLE",
            )
        )
        for d in range(DAYS):
            day = today - timedelta(days=d)
            for level, oid in (("campaign", cid),) + (
                (("advertiser", str(account_id)),) if c == 0 else ()
            ):
                rows.append(
                    MetricDaily(
                        ad_account_id=account_id,
                        level=level,
                        object_id=oid,
                        day=day,
                        spend=Decimal(10 + c + d),
                        impressions=1000 * (c + 1),
                        clicks=30 + d,
                        conversions=c + 1,
                        purchase_value=Decimal(25 + 2 * c),
                    )
                )
    return rows


class Mix:
    """The update stream: each user's /start, menu presses, stats and typed text, in turn."""

    def __init__(self, seeded: Seeded) -> None:
        self._users = seeded.users
        self._ids = itertools.count(1)
        self._campaigns = StatsCb(v="lvl", a=0, l="c").pack()

    def _message(self, uid: int, text: str) -> dict[str, Any]:
        return {
            "update_id": next(self._ids),
            "message": {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "text": text,
                "chat": {"id": uid, "type": "private", "first_name": "U"},
                "from": {
                    "id": uid,
                    "is_bot": False,
                    "first_name": f"User{uid - 10_000}",
                    "username": f"user{uid - 10_000}",
                    "language_code": "en",
                },
                **(
                    {"entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}
                    if text.startswith("/")
                    else {}
                ),
            },
        }

    def _press(self, uid: int, data: str) -> dict[str, Any]:
        return {
            "update_id": next(self._ids),
            "callback_query": {
                "id": str(next(self._ids)),
                "chat_instance": str(uid),
                "data": data,
                "from": {
                    "id": uid,
                    "is_bot": False,
                    "first_name": f"User{uid - 10_000}",
                    "username": f"user{uid - 10_000}",
                    "language_code": "en",
                },
                "message": {
                    "message_id": 7,
                    "date": int(time.time()),
                    "text": "menu",
                    "chat": {"id": uid, "type": "private", "first_name": "U"},
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "Bench"},
                },
            },
        }

    def kinds(self) -> list[tuple[str, Callable[[int, int], dict[str, Any]]]]:
        """The kinds of update, each made for a user and their account."""
        return [
            ("/start", lambda uid, acc: self._message(uid, "/start")),
            ("menu home", lambda uid, acc: self._press(uid, MenuCb(section="home").pack())),
            ("menu settings", lambda uid, acc: self._press(uid, MenuCb(section="settings").pack())),
            ("menu stats", lambda uid, acc: self._press(uid, MenuCb(section="stats").pack())),
            ("stats summary", lambda uid, acc: self._press(uid, StatsCb(v="sum", p="30d").pack())),
            (
                "stats campaigns",
                lambda uid, acc: self._press(uid, StatsCb(v="lvl", a=acc, l="c").pack()),
            ),
            ("typed text", lambda uid, acc: self._message(uid, "how are my ads doing?")),
        ]

    def batches(self, total: int, width: int) -> list[list[dict[str, Any]]]:
        """`total` updates in batches of `width` distinct chats (a chat's updates in order)."""
        kinds = self.kinds()
        out: list[list[dict[str, Any]]] = []
        batch: list[dict[str, Any]] = []
        users = itertools.cycle(self._users)
        for n in range(total):
            uid, acc = next(users)
            _, make = kinds[(n // len(self._users) + n) % len(kinds)]
            batch.append(make(uid, acc))
            if len(batch) == width:
                out.append(batch)
                batch = []
        if batch:
            out.append(batch)
        return out


def bare_dispatcher() -> Dispatcher:
    """aiogram with one trivial handler per update kind answering it, nothing else."""
    router = Router(name="bare")

    @router.message()
    async def answer(message: Message) -> None:
        await message.answer("ok")

    @router.callback_query()
    async def press(query: CallbackQuery) -> None:
        await query.answer()

    dp = Dispatcher()
    dp.include_router(router)
    return dp


def replay_dispatcher(sent: Sent) -> Dispatcher:
    """aiogram with one handler making, for each update, the calls the service made for it:
    each method built anew from its fields (texts, keyboards), then sent."""
    router = Router(name="replay")

    async def replay(event: TelegramObject, bot: Bot, event_update: Update) -> None:
        for method, fields in sent.get(event_update.update_id, ()):
            await bot(method.model_validate(fields))

    router.message.register(replay)
    router.callback_query.register(replay)
    dp = Dispatcher()
    dp.include_router(router)
    return dp


async def record(
    dp: Dispatcher, bot: Bot, stub: StubSession, batches: list[list[dict[str, Any]]]
) -> Dispatcher:
    """Drive the service once over `batches`, not counted, and return the dispatcher replaying
    the calls it made for each of those updates."""
    stub.sent = {}
    await drive(dp, bot, batches, {})
    replay, stub.sent = replay_dispatcher(stub.sent), None
    return replay


@dataclass
class Rate:
    """Updates over CPU and wall seconds."""

    updates: int = 0
    cpu_s: float = 0.0
    wall_s: float = 0.0

    @property
    def per_cpu_s(self) -> float:
        return self.updates / max(self.cpu_s, 1e-9)

    @property
    def per_wall_s(self) -> float:
        return self.updates / max(self.wall_s, 1e-9)


async def drive(
    dp: Dispatcher, bot: Bot, batches: list[list[dict[str, Any]]], deps: dict[str, Any]
) -> Rate:
    """Feed every batch (its updates concurrently, as polling runs them as tasks)."""
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    count = 0
    for batch in batches:
        await asyncio.gather(*(_feed(dp, bot, u, deps) for u in batch))
        count += len(batch)
    return Rate(count, time.process_time() - cpu, time.perf_counter() - wall)


async def _feed(dp: Dispatcher, bot: Bot, update: dict[str, Any], deps: dict[str, Any]) -> None:
    UPDATE_ID.set(update["update_id"])  # this update's own task: its calls are its own
    await dp.feed_raw_update(bot, update, **deps)


async def measure_updates(args: argparse.Namespace) -> dict[str, Any]:
    """Service vs bare dispatch on the same stub, alternating rounds; best round of each."""
    tmp = Path(tempfile.mkdtemp(prefix="ttpulse-bench-updates-"))
    engine = create_engine(args.database_url or f"sqlite+aiosqlite:///{tmp}/updates.db")
    try:
        await upgrade(engine)
        uow = UnitOfWorkFactory(session_factory(engine), None)
        seeded = await seed(uow, args.users)
        settings = load_settings(redis_url=args.fsm_redis_url or None)
        clock = SystemClock()
        charts = ChartRenderer()
        # As bot/app.py's start_service builds it (no TikTok app configured here: the screens
        # measured read the database only): conversation state in the database, or in Redis
        # with `--fsm-redis-url` (as instances sharing one bot run).
        storage, isolation = make_fsm(settings, uow)
        service = build_dispatcher(
            make_i18n(),
            storage,
            isolation,
            uow=uow,
            settings=settings,
            clock=clock,
            signer=None,
            tiktok=None,
            worker="bench",
            charts=charts,
            cadence=Cadence(),
            changer=None,
            plans=PlanBook(settings.plans_file),
        )
        bare = bare_dispatcher()
        stub = StubSession()
        bot = Bot(
            f"{BOT_ID}:BENCH",
            session=stub,
            default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
        )
        mix = Mix(seeded)
        # A warm-up round each (imports, caches, the database's pages).
        await drive(service, bot, mix.batches(min(args.updates, 200), args.width), {})
        await drive(bare, bot, mix.batches(min(args.updates, 200), args.width), {})
        # A round of the service recorded (not counted): what the replaying side sends.
        recorded = mix.batches(args.updates, args.width)
        replay = await record(service, bot, stub, recorded)
        await drive(replay, bot, recorded[:10], {})
        stub.calls.clear()
        best: dict[str, Rate] = {}
        calls: dict[str, Counter[str]] = {}
        sides = (("service", service), ("bare", bare), ("same calls", replay))
        for _ in range(args.rounds):
            for name, dp in sides:
                batches = recorded if dp is replay else mix.batches(args.updates, args.width)
                before = Counter(stub.calls)
                rate = await drive(dp, bot, batches, {})
                calls[name] = stub.calls - before
                if name not in best or rate.per_cpu_s > best[name].per_cpu_s:
                    best[name] = rate
        by_kind = await per_kind(service, bot, stub, mix, seeded, args) if args.by_kind else {}
        await charts.close()
        await storage.close()
    finally:
        await engine.dispose()
    return {**best, "calls": calls, "by_kind": by_kind}


async def per_kind(
    dp: Dispatcher, bot: Bot, stub: StubSession, mix: Mix, seeded: Seeded,
    args: argparse.Namespace,
) -> dict[str, tuple[float, float]]:
    """Per update kind, CPU milliseconds per update (every user once, best of the rounds) of the
    service and of bare aiogram making the service's calls for those updates: where the time
    goes, not part of the ratio."""
    out: dict[str, tuple[float, float]] = {}
    for name, make in mix.kinds():
        updates = [make(uid, acc) for uid, acc in seeded.users]
        batches = [updates[i : i + args.width] for i in range(0, len(updates), args.width)]
        replay = await record(dp, bot, stub, batches)  # (the service warm, too)
        sides = []
        for side in (dp, replay):
            rates = [await drive(side, bot, batches, {}) for _ in range(args.rounds)]
            sides.append(min(1000 * r.cpu_s / max(r.updates, 1) for r in rates))
        out[name] = (sides[0], sides[1])
    return out


def print_updates(result: dict[str, Any]) -> tuple[float, float]:
    """The side-by-side table; returns updates_ratio and floor_ratio."""
    service, bare, same = result["service"], result["bare"], result["same calls"]
    ratio, floor = service.per_cpu_s / bare.per_cpu_s, same.per_cpu_s / bare.per_cpu_s
    print(f"{'updates':34}{'service':>14}{'bare aiogram':>14}{'ratio':>8}"
          f"{'same calls':>14}{'ratio':>8}")
    for label, rate in (("CPU s (best round)", "per_cpu_s"), ("wall s (same round)", "per_wall_s")):
        s, b, c = (getattr(r, rate) for r in (service, bare, same))
        print(f"{'updates / ' + label:34}{s:>14,.0f}{b:>14,.0f}{s / b:>8.3f}"
              f"{c:>14,.0f}{c / b:>8.3f}")
    for name in ("service", "bare", "same calls"):
        shown = ", ".join(f"{m} {n}" for m, n in sorted(result["calls"][name].items()))
        print(f"  Bot API calls ({name}): {shown}")
    print(f"  the service runs at {service.per_cpu_s / same.per_cpu_s:.3f} of the rate of bare "
          "aiogram making the same calls")
    if result["by_kind"]:
        bare_ms = 1000 / bare.per_cpu_s
        print(f"  CPU ms per update by kind (bare aiogram: {bare_ms:.2f} ms)"
              f"{'service':>12}{'same calls':>12}{'excess':>9}")
        for kind, (ms, same) in result["by_kind"].items():
            print(f"    {kind:44}{ms:8.2f}{same:12.2f}{ms - same:9.2f}")
    return ratio, floor


async def _scale_phase(
    f: Any, n: int, env: dict[str, str], args: argparse.Namespace
) -> tuple[int, float, float, float]:
    """Every account's intraday sync made due at once, after `n` instances are up: (syncs
    done, seconds until the last, the instances' CPU seconds, the emulator's)."""
    from bench.fleet import (
        cpu_seconds,
        make_due,
        park_all,
        start_instances,
        stop_instances,
        syncs_since,
    )

    await park_all(f.uow)
    instances = await start_instances(n, env)
    try:
        started, clock = datetime.now(UTC), time.monotonic()
        base = [cpu_seconds(i.proc.pid) for i in instances] + [cpu_seconds(f.emulator_pid)]
        await make_due(f.uow, ("today",), started)
        # Until every account is synced (at most `seconds`): a fixed window that both sides
        # finish early measures the number of accounts, not the speed.
        done, took = 0, args.seconds
        while time.monotonic() - clock < args.seconds:
            await asyncio.sleep(0.5)
            done = await syncs_since(f.uow, started, ("today",))
            if done >= args.accounts:
                took = time.monotonic() - clock
                break
        spent = [cpu_seconds(i.proc.pid) for i in instances] + [cpu_seconds(f.emulator_pid)]
    finally:
        await stop_instances(instances)
    used = [b - a for a, b in zip(base, spent, strict=True)]
    return done, took, sum(used[:-1]), used[-1]


async def measure_scale(args: argparse.Namespace) -> dict[str, Any]:
    """Today-syncs per second by 1 instance, then by 3, on one PostgreSQL and one emulator."""
    from bench.fleet import fleet

    rates: dict[int, float] = {}
    counts: dict[int, int] = {}
    elapsed: dict[int, float] = {}
    cpu: dict[int, tuple[float, float]] = {}
    async with fleet(
        args.accounts, args.shape, args.qps, args.latency_ms, args.redis_url, args.postgres_dsn
    ) as f:
        env = f.env(args.qps, Cadence(), tick_seconds=1.0)
        # Few syncs in flight per instance, so that one instance waits on TikTok's answers
        # rather than on this machine's two cores: the ratio then shows serialisation between
        # instances (a shared lock, one queue), not the CPU three instances compete for.
        env["SYNC_CONCURRENCY"] = str(args.concurrency)
        # A first pass, not counted: both measured phases then update rows that exist, with
        # the planner's statistics of tables that hold them (a first write of every account's
        # rows into empty tables is another kind of work).
        await _scale_phase(f, 3, env, args)
        async with f.uow() as u:
            await u.session.execute(sql("ANALYZE"))
        for n in (1, 3):
            counts[n], elapsed[n], inst, emu = await _scale_phase(f, n, env, args)
            rates[n] = counts[n] / max(elapsed[n], 1e-9)
            cpu[n] = (inst, emu)
    return {"rates": rates, "counts": counts, "elapsed": elapsed, "cpu": cpu}


def print_scale(result: dict[str, Any], args: argparse.Namespace) -> float:
    """The side-by-side line; returns scale_ratio."""
    rates, counts = result["rates"], result["counts"]
    ratio = rates[3] / max(rates[1], 1e-9)
    print(
        f"{'account syncs (' + str(args.latency_ms) + ' ms answers)':34}"
        f"{'3 instances':>14}{'1 instance':>14}{'ratio':>8}"
    )
    print(f"{'syncs / s (all accounts synced)':34}{rates[3]:>14.2f}{rates[1]:>14.2f}{ratio:>8.3f}")
    took = result["elapsed"]
    print(
        f"  syncs done: {counts[3]} by 3 in {took[3]:.1f} s, {counts[1]} by 1 in {took[1]:.1f} s,"
        f" of {args.accounts} accounts (at most {args.seconds:.0f} s a phase)"
    )
    for n in (1, 3):
        inst, emu = result["cpu"][n]
        per = 1000 * (inst + emu) / max(counts[n], 1)
        print(
            f"  {n} instance(s): instances' CPU {inst:.1f} s, emulator's {emu:.1f} s "
            f"({per:.0f} ms a sync; the machine's load average {os.getloadavg()[0]:.1f})"
        )
    return ratio


async def main_async(args: argparse.Namespace) -> int:
    """Run both measurements and print them."""
    last = ""
    if not args.skip_updates:
        updates = await measure_updates(args)
        updates_ratio, floor_ratio = print_updates(updates)
        last = (
            f"updates_ratio={updates_ratio:.3f} floor_ratio={floor_ratio:.3f} "
            f"service_ups={updates['service'].per_cpu_s:.0f} "
            f"bare_ups={updates['bare'].per_cpu_s:.0f}"
        )
    if not args.skip_scale:
        scale = await measure_scale(args)
        scale_ratio = print_scale(scale, args)
        last += (
            f" scale_ratio={scale_ratio:.3f} syncs_per_s_1={scale['rates'][1]:.2f} "
            f"syncs_per_s_3={scale['rates'][3]:.2f}"
        )
    print(last.strip())
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(
        prog="python -m bench.updates",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--users", type=int, default=200, help="signed-up users in the database")
    ap.add_argument("--updates", type=int, default=3000, help="updates per round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per dispatcher (best counts)")
    ap.add_argument("--width", type=int, default=20, help="updates in flight (distinct chats)")
    ap.add_argument("--database-url", default="", help="the service's database (default SQLite)")
    ap.add_argument("--accounts", type=int, default=900, help="ad accounts for the scale part")
    ap.add_argument("--shape", default="2x2x3", help="campaigns x ad groups x ads per account")
    ap.add_argument("--seconds", type=float, default=150, help="each scale phase's longest wait")
    ap.add_argument("--latency-ms", type=int, default=200, help="the emulator's answer time")
    ap.add_argument("--qps", type=int, default=1000, help="the emulator's (high) QPS limit")
    ap.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/10",
        help="the instances' shared rate limiter",
    )
    ap.add_argument(
        "--postgres-dsn",
        default=os.environ.get(
            "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    ap.add_argument(
        "--fsm-redis-url", default="", help="keep the service's FSM in this Redis database"
    )
    ap.add_argument("--skip-scale", action="store_true", help="measure the updates only")
    ap.add_argument(
        "--concurrency", type=int, default=1, help="SYNC_CONCURRENCY of each scale instance"
    )
    ap.add_argument("--skip-updates", action="store_true", help="measure the scale-out only")
    ap.add_argument(
        "--by-kind", action="store_true", help="also print the service's CPU per update kind"
    )
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    logging.basicConfig(level=logging.ERROR)
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
