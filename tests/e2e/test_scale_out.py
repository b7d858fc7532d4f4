"""Three instances on PostgreSQL + Redis behind sandbox.balancer, in webhook mode (issue 15):
an update handled once and a chat's updates in order whichever instance gets them; SIGTERM of
one mid-traffic loses nothing; SIGKILL of one holding a sync lease leaves the sync to another;
Telegram's limits shared through Redis."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from redis.asyncio import Redis

from bot.pacing import PacingMiddleware, SharedLimits
from core.clock import SystemClock
from core.users import SignUp, register_user
from sandbox.balancer import RunningBalancer, start_balancer
from sandbox.telegram.driver import ChatUser, SandboxClient
from sandbox.telegram.server import RunningServer
from sandbox.tiktok.server import RunningEmulator
from storage.db import create_engine, session_factory
from storage.uow import UnitOfWorkFactory
from storage.vault import generate_key_entry
from tests.e2e.conftest import FAST_CHAT_RATE
from tests.e2e.harness import TOKEN, ServiceProcess, generous_plans, sign_up
from tests.e2e.test_accounts import follow, open_consent
from tests.services import REDIS_URL, fresh_postgres, redis_client

SECRET = "e2e_scale_secret-15"
GRACE = 6.0
SYNC_LEASE = 5.0


class Cluster:
    """N service processes sharing one PostgreSQL and one Redis behind one balancer."""

    def __init__(
        self,
        telegram: RunningServer,
        tiktok: RunningEmulator,
        workdir: Path,
        db_url: str,
        real_pace: bool = False,
    ) -> None:
        keys = generate_key_entry("scale")
        env = {
            "DATABASE_URL": db_url,
            "REDIS_URL": REDIS_URL,
            "WEBHOOK_SECRET": SECRET,
            "ENCRYPTION_KEYS": keys,  # one keyring: any instance reads what another wrote
            **({} if real_pace else {"TELEGRAM_CHAT_RATE": str(FAST_CHAT_RATE * 0.95)}),
            "TIKTOK_API_URL": tiktok.url,
            "TIKTOK_AUTH_URL": tiktok.auth_url,
            "TIKTOK_APP_ID": tiktok.app_id,
            "TIKTOK_APP_SECRET": tiktok.secret,
            "SHUTDOWN_GRACE_SECONDS": str(GRACE),
            "SYNC_LEASE_SECONDS": str(SYNC_LEASE),
            "EXPORT_DIR": str(workdir / "exports"),
            **generous_plans(workdir),
        }
        self.instances: list[ServiceProcess] = []
        for n in range(3):
            (workdir / f"i{n}").mkdir()
            self.instances.append(ServiceProcess(telegram.url, workdir / f"i{n}", **env))
        self.balancer: RunningBalancer | None = None
        self.killed: set[int] = set()

    async def start(self) -> None:
        self.balancer = await start_balancer([i.url for i in self.instances], health_interval=0.2)
        for instance in self.instances:
            # Every instance (and the OAuth redirect) is reached through the balancer.
            instance.env["PUBLIC_URL"] = self.balancer.url
        # All at once: one migrates the fresh database, the others wait on its lock.
        await asyncio.gather(*(i.start() for i in self.instances))

    async def stop(self) -> None:
        for n, instance in enumerate(self.instances):
            if n not in self.killed:
                await instance.stop()
        if self.balancer is not None:
            await self.balancer.stop()

    def events(self, name: str) -> list[dict[str, object]]:
        return [e for i in self.instances for e in i.log_events() if e.get("event") == name]


@contextlib.asynccontextmanager
async def running_cluster(
    telegram: RunningServer,
    tiktok: RunningEmulator,
    sandbox: SandboxClient,
    workdir: Path,
    real_pace: bool = False,
    env: dict[str, str] | None = None,
    harmless: Callable[[dict[str, Any]], bool] = lambda refusal: False,
) -> AsyncIterator[Cluster]:
    """Three instances on a fresh PostgreSQL and an empty Redis (`env` added to each); once
    they stop, no surviving instance logged a traceback and none logged an error, and the
    sandbox refused nothing but blocked chats (403) and what `harmless` allows."""
    client = await redis_client()
    await client.flushdb()
    await client.aclose()
    async with fresh_postgres() as db_url:
        group = Cluster(telegram, tiktok, workdir, db_url, real_pace)
        for instance in group.instances:
            instance.env.update(env or {})
        try:
            await group.start()
            yield group
        finally:
            await group.stop()
        for n, instance in enumerate(group.instances):
            log = instance.log()
            if n not in group.killed:
                assert "Traceback" not in log, f"instance {n} logged a traceback:\n{log}"
            errors = [e for e in instance.log_events() if e.get("level") in ("error", "critical")]
            assert errors == [], f"instance {n} logged errors:\n{errors}"
        refusals = [
            r for r in await sandbox.refusals() if r["error_code"] != 403 and not harmless(r)
        ]
        assert refusals == [], f"the sandbox refused some calls: {refusals}"


@pytest.fixture
async def cluster(
    telegram: RunningServer,
    tiktok: RunningEmulator,
    sandbox: SandboxClient,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Cluster]:
    real_pace = request.node.get_closest_marker("telegram_pace") is not None
    async with running_cluster(telegram, tiktok, sandbox, tmp_path, real_pace) as group:
        yield group


async def replies(user: ChatUser, count: int, within: float = 60) -> list[str]:
    """Wait until the bot has sent `count` messages to the user; their texts, oldest first."""
    deadline = time.monotonic() + within
    while True:
        texts = [m.text for m in await user.bot_messages()]
        if len(texts) >= count or time.monotonic() > deadline:
            return texts
        await asyncio.sleep(0.1)


HELP, CANCEL = "Commands", "There is nothing to cancel"


async def test_sign_up_through_the_balancer_once_each_in_order(
    cluster: Cluster, sandbox: SandboxClient, telegram: RunningServer
) -> None:
    users = [await sandbox.user(1500 + n, language_code="en") for n in range(6)]
    await asyncio.gather(*(sign_up(u) for u in users))
    assert cluster.balancer is not None
    served = [b.served for b in cluster.balancer.balancer.backends]
    assert all(s > 0 for s in served), served  # every instance took part
    setters = await sandbox.requests("setWebhook")
    assert len(setters) == 3 and all(
        s["params"]["url"] == f"{cluster.balancer.url}/telegram/webhook" for s in setters
    )

    # A chat's rapid updates, answered in the order sent, whichever instance takes each.
    rapid = users[0]
    before = len(await rapid.bot_messages())
    commands = ["/help", "/cancel"] * 4
    for command in commands:
        await rapid.send(command)
    texts = (await replies(rapid, before + len(commands)))[before:]
    assert len(texts) == len(commands)
    assert [HELP in t for t in texts] == [c == "/help" for c in commands]
    assert all(CANCEL in t for t, c in zip(texts, commands, strict=True) if c == "/cancel")

    # Telegram re-sends updates whose answer came too late: each is handled once.
    await sandbox.configure(webhook_duplicates=4)
    twice = users[1]
    before = len(await twice.bot_messages())
    for command in ("/help", "/cancel", "/help", "/cancel"):
        await twice.send(command)
    await replies(twice, before + 4)
    await asyncio.sleep(1.0)  # room for a wrongly handled repeat to answer
    assert len(await twice.bot_messages()) == before + 4
    assert (await sandbox.configure())["webhook_duplicates"] == 0
    repeats = [d for d in telegram.engine.state.webhook_deliveries if d["status"] == 200]
    ids = [d["update_id"] for d in repeats]
    assert len(ids) - len(set(ids)) == 4  # four updates did arrive twice
    assert len(cluster.events("webhook.duplicate")) == 4
    # Operators see them too: the instances' /metrics add up to the same four.
    counted = 0.0
    async with aiohttp.ClientSession() as http:
        for instance in cluster.instances:
            async with http.get(f"{instance.url}/metrics") as resp:
                assert resp.status == 200  # loopback, no METRICS_TOKEN: allowed
                for line in (await resp.text()).splitlines():
                    if line.startswith('ttpulse_webhook_deliveries_total{outcome="duplicates"}'):
                        counted += float(line.rsplit(" ", 1)[1])
    assert counted == 4


async def test_sigterm_mid_traffic_loses_no_update(
    cluster: Cluster, sandbox: SandboxClient, telegram: RunningServer
) -> None:
    users = [await sandbox.user(1600 + n, language_code="en") for n in range(6)]
    rounds = 8

    async def chat(user: ChatUser) -> None:
        for n in range(rounds):
            await user.send("/help" if n % 2 == 0 else "/cancel")
            await asyncio.sleep(0.15)

    traffic = asyncio.gather(*(chat(u) for u in users))
    await asyncio.sleep(0.6)
    victim = cluster.instances[0]
    assert victim.proc is not None
    stopped_at = time.monotonic()
    victim.proc.send_signal(signal.SIGTERM)
    await traffic
    code = await asyncio.wait_for(victim.proc.wait(), GRACE + 10)
    took = time.monotonic() - stopped_at
    cluster.killed.add(0)  # already stopped
    assert code == 0 and took < GRACE + 10
    for user in users:
        texts = await replies(user, rounds)
        assert len(texts) == rounds, (user.user_id, texts)
        assert [HELP in t for t in texts] == [n % 2 == 0 for n in range(rounds)]
    assert cluster.balancer is not None
    backends = cluster.balancer.balancer.backends
    print("sigterm:", f"exit {took:.1f}s", [(b.served, b.refused) for b in backends])
    assert backends[0].served > 0  # it was taking traffic when told to stop
    events = [e.get("event") for e in victim.log_events()]
    assert "service.draining" in events and "service.stopped" in events, victim.log()[-2000:]
    assert "Traceback" not in victim.log()
    hook_state = telegram.engine.state
    assert hook_state.webhook.get("url")  # the stopping instance left the webhook in place
    for _ in range(100):  # the last answers may still be on their way back
        if not [u for u in hook_state.updates if telegram.engine.update_allowed(u)]:
            break
        await asyncio.sleep(0.05)
    assert not [u for u in hook_state.updates if telegram.engine.update_allowed(u)]


async def _leased_sync(db: asyncpg.Connection) -> tuple[int, str] | None:
    row = await db.fetchrow(
        "SELECT id, lease_owner FROM sync_jobs WHERE lease_owner IS NOT NULL "
        "AND lease_until > now() ORDER BY id LIMIT 1"
    )
    return None if row is None else (int(row["id"]), str(row["lease_owner"]))


async def test_sigkill_with_a_sync_lease_another_instance_finishes(
    cluster: Cluster, sandbox: SandboxClient, tiktok: RunningEmulator
) -> None:
    tiktok.emulator.config.latency_ms = 700  # a sync takes seconds: time to kill mid-way
    user = await sandbox.user(1700, language_code="en")
    await sign_up(user)
    await follow(await open_consent(user))
    await user.expect("✅ TikTok connected.", timeout=30)
    dsn = cluster.instances[0].env["DATABASE_URL"].replace("postgresql+asyncpg", "postgresql")
    db = await asyncpg.connect(dsn)
    try:
        held = None
        for _ in range(300):
            held = await _leased_sync(db)
            if held:
                break
            await asyncio.sleep(0.05)
        assert held is not None, "no instance ever leased a sync"
        job_id, owner = held
        pid = int(owner.split(":")[1])
        [victim] = [n for n, i in enumerate(cluster.instances) if i.proc and i.proc.pid == pid]
        cluster.instances[victim].proc.kill()  # type: ignore[union-attr]
        cluster.killed.add(victim)
        killed_at = time.monotonic()
        row: Any = None
        for _ in range(600):
            row = await db.fetchrow(
                "SELECT lease_owner, last_ok_at FROM sync_jobs WHERE id = $1", job_id
            )
            if row["last_ok_at"] is not None and row["lease_owner"] is None:
                break
            await asyncio.sleep(0.1)
        assert row["last_ok_at"] is not None, "nobody finished the killed instance's sync"
        took = time.monotonic() - killed_at
        assert took >= SYNC_LEASE - 1  # taken over only once the lease expired
    finally:
        await db.close()


ALERT_USERS, ALERTS_EACH = 100, 1


@pytest.mark.telegram_pace
async def test_three_instances_alert_burst_stays_under_one_bots_limits(
    cluster: Cluster, telegram: RunningServer, sandbox: SandboxClient
) -> None:
    """An alert burst to many chats at Telegram's own limits, taken by three instances'
    notifiers at once: each alert delivered once, no 429. (On this machine the notifiers' own
    pace stays under 30/s, so the sharing of the limits is shown by the next test.)"""
    db_url = cluster.instances[0].env["DATABASE_URL"]
    engine = create_engine(db_url)
    uow = UnitOfWorkFactory(session_factory(engine), None)
    clock = SystemClock()
    first = 90_000
    try:
        for k in range(ALERT_USERS):
            await sandbox.user(first + k, language_code="en")
            form = SignUp(first + k, "U", None, None, "en", "UTC", None, False)
            await register_user(uow, clock, form)
        started = time.monotonic()
        async with uow() as u:
            for n in range(ALERT_USERS * ALERTS_EACH):
                text = {"text": f"Alert #{n:03d}"}
                await u.outbox.enqueue(first + n % ALERT_USERS, "text", f"b-{n}", text, clock.now())
            await u.commit()
        state = telegram.engine.state

        def delivered() -> list[str]:
            return [
                m.text or ""
                for chat in range(first, first + ALERT_USERS)
                for m in state.chats.get(chat, [])
                if m.from_bot and (m.text or "").startswith("Alert #")
            ]

        total = ALERT_USERS * ALERTS_EACH
        for _ in range(1200):
            if len(delivered()) >= total:
                break
            await asyncio.sleep(0.05)
        took = time.monotonic() - started
    finally:
        await engine.dispose()
    texts = delivered()
    assert sorted(texts) == sorted(f"Alert #{n:03d}" for n in range(total))  # once each
    assert await sandbox.refusals() == []  # no 429
    assert total / took <= 25.5  # never over one bot's pace
    print(f"alert burst: {total} alerts in {took:.1f} s ({total / took:.1f}/s)")


@pytest.mark.telegram_pace
async def test_three_pacers_share_telegrams_limits_through_redis(
    telegram: RunningServer, sandbox: SandboxClient
) -> None:
    """Three instances' pacing (each its own process state, only Redis shared) sending bursts
    to one chat and to many chats at Telegram's own limits: no 429 at the sandbox."""
    client = await redis_client()
    await client.flushdb()
    await client.aclose()
    chat_users = [await sandbox.user(1800 + n) for n in range(91)]
    bots: list[Bot] = []
    for _ in range(3):
        session = AiohttpSession(api=TelegramAPIServer.from_base(telegram.url))
        shared = SharedLimits(
            Redis.from_url(REDIS_URL), int(TOKEN.split(":")[0]), 0.95, 3, 25.0, owns_client=True
        )
        session.middleware(
            PacingMiddleware(per_chat_rate=0.95, global_rate=25.0, shared=shared, retries=0)
        )
        bots.append(Bot(TOKEN, session=session))
    try:
        one_chat = chat_users[0].user_id
        started = time.monotonic()
        await asyncio.gather(
            *(b.send_message(one_chat, f"{n}-{k}") for n, b in enumerate(bots) for k in range(3))
        )
        one_chat_took = time.monotonic() - started
        started = time.monotonic()
        await asyncio.gather(
            *(
                b.send_message(u.user_id, f"to {u.user_id}")
                for n, b in enumerate(bots)
                for u in chat_users[1 + n * 30 : 1 + (n + 1) * 30]
            )
        )
        many_took = time.monotonic() - started
    finally:
        for b in bots:
            for m in list(b.session.middleware):
                if isinstance(m, PacingMiddleware) and m.shared is not None:
                    await m.shared.aclose()
            await b.session.close()
    assert await sandbox.refusals() == []  # no 429: the three stayed under one bot's limits
    # 9 to one chat: a burst of 2 shared, then ~1/s: at least 6 s (alone, each would burst).
    assert one_chat_took >= 6.0
    # 90 across chats at 25/s shared: about 3.6 s. Alone, each would send 25/s: 75/s together,
    # over the sandbox's 30/s bucket (429s) and done in about 1.2 s.
    assert many_took >= 3.0
