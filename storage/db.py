"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import sqlite_driver
from storage.changes import TrackedSession

SQLITE_MMAP_BYTES = 4 << 30
# Connections kept open to a SQLite file. SQLAlchemy's default (5, closing any beyond them when
# they come back) made every burst of more than five concurrent sessions — polling runs each
# update as a task, beside the sync workers and the ticks — open and close connections: each
# one a new aiosqlite thread, a file open and the pragmas below (bench/README.md, "Updates,
# second pass"). An idle SQLite connection costs a thread and a few pages of cache.
SQLITE_POOL_SIZE = 20
SQLITE_MAX_OVERFLOW = 20


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the notifier, scheduler and handlers read while one writer writes;
    # busy_timeout makes a second writer wait (a big sync step can hold the write lock for
    # seconds) instead of failing with "database is locked".
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={sqlite_driver.BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    # Read the file through a memory map (shared by every connection, kept by the OS page
    # cache) instead of each connection's 2 MB page cache: the metric tables grow by ~20 MB
    # an ad account, and with the default cache every upsert's index lookups went back to
    # read(): a full `bench.sync` slowed down as the file grew (our CPU per account 2.5-2.7 s,
    # 1.95 s with the map; bench/README.md, "Sync, sixth pass"). SQLite caps the size at its
    # compile-time maximum (2 GB by default); beyond it, reads go through the page cache.
    cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cur.close()


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; for a SQLite file, its folder is created and WAL is switched on."""
    parsed = make_url(url)
    # A failed statement's error names its SQL, never its values: those can be a user's name,
    # email or message, and errors end up in the logs (README, Operations: what is logged).
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs.setdefault("pool_size", SQLITE_POOL_SIZE)
            kwargs.setdefault("max_overflow", SQLITE_MAX_OVERFLOW)
        if parsed.get_driver_name() == "aiosqlite":
            # Its rollback, the pool's reset on return included, is handed to the connection's
            # thread only when a transaction is open (storage/sqlite_driver.py).
            kwargs.setdefault("module", sqlite_driver.dbapi())
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    return create_async_engine(url, **kwargs)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit and report what they changed to
    the caches of rows (storage/changes.py)."""
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=TrackedSession)


async def ping(engine: AsyncEngine) -> None:
    """Raise if the database cannot answer a trivial query."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
