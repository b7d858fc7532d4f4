"""A fleet for the scale benches: the TikTok emulator in its own process, one PostgreSQL database,
the emulator's login connected, and N service instances (`bench.sync_instance`) as OS processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select, update

from bench.sync import connect
from bench.tiktok_pull import emulator_credentials
from core.sync import Cadence
from core.tiktok import RetryPolicy, TikTokClient, build_limiter
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import AdAccount, SyncJob
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring

PG_ADMIN_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
FAR = timedelta(days=3650)


async def start_emulator(
    accounts: int, shape: str, qps: int, latency_ms: int
) -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    """`python -m sandbox.tiktok --fixture scale` sized by `accounts` and `shape`."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox.tiktok",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--fixture",
        "scale",
        "--scale-accounts",
        str(accounts),
        "--scale-shape",
        shape,
        "--qps",
        str(qps),
        "--latency-ms",
        str(latency_ms),
        stdout=asyncio.subprocess.PIPE,
    )
    # A big fixture takes a while to build before the emulator prints its credentials.
    return proc, await emulator_credentials(proc, wait_s=600)


@contextlib.asynccontextmanager
async def fresh_postgres(dsn: str = PG_ADMIN_DSN) -> AsyncIterator[str]:
    """A throw-away PostgreSQL database; yields its SQLAlchemy URL and drops it afterwards."""
    import asyncpg

    name = f"ttpulse_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(dsn, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@dataclass
class Fleet:
    """What the instances share: the emulator, the database, the keys, the environment."""

    info: dict[str, str]
    url: str
    keys: str
    uow: UnitOfWorkFactory
    redis_url: str
    emulator_pid: int = 0
    env_extra: dict[str, str] = field(default_factory=dict)

    def env(self, qps: float, cadence: Cadence, tick_seconds: float) -> dict[str, str]:
        """An instance's environment, as an operator would configure one."""
        env = dict(os.environ)
        env.update(
            BOT_TOKEN="42:BENCH",
            TELEGRAM_API_URL="http://127.0.0.1:9",
            DATABASE_URL=self.url,
            REDIS_URL=self.redis_url,
            ENCRYPTION_KEYS=self.keys,
            TIKTOK_APP_ID=self.info["app_id"],
            TIKTOK_APP_SECRET=self.info["secret"],
            TIKTOK_API_URL=self.info["tiktok_api_url"].split("/open_api")[0],
            TIKTOK_AUTH_URL=self.info["tiktok_auth_url"],
            TIKTOK_QPS=str(qps),
            SYNC_TODAY_MINUTES=str(cadence.today.total_seconds() / 60),
            SYNC_WINDOW_MINUTES=str(cadence.window.total_seconds() / 60),
            SYNC_TICK_SECONDS=str(tick_seconds),
            LOG_LEVEL="ERROR",
        )
        env.update(self.env_extra)
        return env

    async def emulator(self, path: str, method: str = "GET") -> dict[str, Any]:
        """A control call to the emulator (stats, reset_stats)."""
        base = self.info["tiktok_api_url"].split("/open_api")[0]
        async with aiohttp.ClientSession() as s, s.request(method, f"{base}/_emulator/{path}") as r:
            return json.loads(await r.read())


@contextlib.asynccontextmanager
async def fleet(
    accounts: int, shape: str, qps: int, latency_ms: int, redis_url: str, dsn: str = PG_ADMIN_DSN
) -> AsyncIterator[Fleet]:
    """Start the emulator, make the database, connect the scale login (every account tracked)."""
    proc, info = await start_emulator(accounts, shape, qps, latency_ms)
    try:
        async with fresh_postgres(dsn) as url:
            keys = generate_key_entry("bench")
            keyring = parse_keyring(keys)
            engine = create_engine(url)
            try:
                await upgrade(engine)
                uow = UnitOfWorkFactory(session_factory(engine), Vault(keyring))
                async with aiohttp.ClientSession() as session:
                    client = TikTokClient(
                        base_url=info["tiktok_api_url"].split("/open_api")[0],
                        app_id=info["app_id"],
                        secret=info["secret"],
                        session=session,
                        auth_url=info["tiktok_auth_url"],
                        limiter=build_limiter(info["app_id"], max(qps, 1) * 0.9 if qps else 1000),
                        retry=RetryPolicy(max_attempts=6, max_total_seconds=120),
                    )
                    await connect(uow, client, keyring)
                async with uow() as u:
                    await u.session.execute(update(AdAccount).values(tracked=True))
                    ids = list(await u.session.scalars(select(AdAccount.id)))
                    await u.connections.schedule_sync(ids, datetime.now(UTC) + FAR)
                    await u.commit()
                yield Fleet(info, url, keys, uow, redis_url, proc.pid)
            finally:
                await engine.dispose()
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        await proc.wait()


async def park_all(uow: UnitOfWorkFactory) -> None:
    """No job due (far in the future), no lease held."""
    async with uow() as u:
        await u.session.execute(
            update(SyncJob).values(
                due_at=datetime.now(UTC) + FAR, lease_owner=None, lease_until=None
            )
        )
        await u.commit()


async def make_due(uow: UnitOfWorkFactory, kinds: tuple[str, ...], when: datetime) -> None:
    """Jobs of these kinds due at `when` (the rest left as they are)."""
    async with uow() as u:
        await u.session.execute(update(SyncJob).where(SyncJob.kind.in_(kinds)).values(due_at=when))
        await u.commit()


async def syncs_since(uow: UnitOfWorkFactory, since: datetime, kinds: tuple[str, ...]) -> int:
    """Jobs of these kinds that finished well and started at or after `since`."""
    async with uow() as u:
        return int(
            await u.session.scalar(
                select(func.count())
                .select_from(SyncJob)
                .where(SyncJob.kind.in_(kinds), SyncJob.last_ok_at >= since)
            )
            or 0
        )


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system, from /proc; 0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Instance:
    """A running `bench.sync_instance` process."""

    proc: asyncio.subprocess.Process
    rss_mb: float = 0.0
    cpu_s: float = 0.0
    syncs: dict[str, int] = field(default_factory=dict)


async def start_instances(n: int, env: dict[str, str]) -> list[Instance]:
    """N instances, each ready (its sync tick scheduled) when this returns."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.sync_instance",
            env=env,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(n)
    ]
    for p in procs:
        assert p.stdout is not None
        line = await asyncio.wait_for(p.stdout.readline(), timeout=300)
        if line.strip() != b"ready":
            raise RuntimeError(f"an instance did not start: {line!r}")
    return [Instance(p) for p in procs]


async def stop_instances(instances: list[Instance]) -> None:
    """SIGTERM each, then read its peak RSS and CPU."""
    for inst in instances:
        with contextlib.suppress(ProcessLookupError):
            inst.proc.terminate()
    for inst in instances:
        assert inst.proc.stdout is not None
        out = (await asyncio.wait_for(inst.proc.stdout.read(), timeout=60)).decode()
        await inst.proc.wait()
        for part in out.split():
            key, _, value = part.partition("=")
            if key == "rss_mb":
                inst.rss_mb = float(value)
            elif key == "cpu_s":
                inst.cpu_s = float(value)
            elif key.startswith("syncs_"):
                inst.syncs[key.removeprefix("syncs_")] = int(value)
