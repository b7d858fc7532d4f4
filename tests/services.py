"""Real PostgreSQL and Redis for tests: a fresh database per test, a clear skip or failure."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

PG_ADMIN_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _redis_url() -> str:
    """TEST_REDIS_URL's database, one further down per pytest-xdist worker (tests flush it)."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", … under `-n`
    if not worker.startswith("gw"):
        return url
    base, db = url.rsplit("/", 1)
    return f"{base}/{(int(db) - int(worker[2:])) % 16}"


REDIS_URL = _redis_url()


def unavailable(what: str, exc: BaseException) -> None:
    """Skip locally, but fail in CI (TTPULSE_REQUIRE_SERVICES=1): both backends must be tested."""
    message = f"{what} is not reachable ({type(exc).__name__}: {exc})"
    if os.environ.get("TTPULSE_REQUIRE_SERVICES"):
        pytest.fail(message)
    pytest.skip(message)


@asynccontextmanager
async def fresh_postgres() -> AsyncIterator[str]:
    """Create a throw-away database; yields its SQLAlchemy URL and drops it afterwards."""
    import asyncpg

    name = f"ttpulse_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL", exc)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def redis_client():  # type: ignore[no-untyped-def]
    """A connected Redis client on a test database, or a skip/failure."""
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, RedisError) as exc:
        await client.aclose()
        unavailable("Redis", exc)
    return client
