"""SQLite's one-hop cursor (storage/sqlite_driver.py) gives what SQLAlchemy's stock aiosqlite
cursor gives: a quick read without a hand-off to aiosqlite's thread, any other statement in one
instead of four; and a slow or locked read never holds the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import sqlite_driver
from storage.db import create_engine, session_factory
from storage.sqlite_driver import OneHopConnection

META = MetaData()
ITEMS = Table(
    "items",
    META,
    Column("id", Integer, primary_key=True),
    Column("name", String, unique=True),
    Column("qty", Integer),
)


@pytest.fixture(params=["one-hop", "stock"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    kwargs: dict[str, Any] = {}
    if request.param == "stock":
        kwargs["module"] = AsyncAdapt_aiosqlite_dbapi(aiosqlite, sqlite3)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db", **kwargs)
    async with engine.begin() as conn:
        await conn.run_sync(META.create_all)
    yield engine
    await engine.dispose()


async def test_reads_writes_and_errors_come_back_as_from_the_stock_cursor(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        made = await conn.execute(insert(ITEMS).values(name="pen", qty=3))
        assert made.inserted_primary_key == (1,)
        await conn.execute(insert(ITEMS), [{"name": "cup", "qty": 5}, {"name": "box", "qty": 0}])
        more = update(ITEMS).where(ITEMS.c.qty > 0).values(qty=ITEMS.c.qty + 1)
        changed = await conn.execute(more)
        assert changed.rowcount == 2
        rows = (await conn.execute(select(ITEMS.c.name, ITEMS.c.qty).order_by(ITEMS.c.id))).all()
        assert [tuple(r) for r in rows] == [("pen", 4), ("cup", 6), ("box", 0)]
        assert (await conn.execute(select(ITEMS.c.name))).keys() == ["name"]
        assert (await conn.execute(select(ITEMS).where(ITEMS.c.qty > 99))).all() == []
        streamed = await conn.stream(select(ITEMS.c.name).order_by(ITEMS.c.name))
        assert [r.name async for r in streamed] == ["box", "cup", "pen"]
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(ITEMS).values(name="pen", qty=1))
    async with engine.connect() as conn:
        assert (await conn.execute(select(ITEMS.c.qty).where(ITEMS.c.name == "pen"))).scalar() == 4


@pytest.fixture
async def counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Counted]:
    """The service's engine, with its hand-offs to aiosqlite's thread counted."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    async with engine.begin() as conn:
        await conn.run_sync(META.create_all)
        raw = await conn.get_raw_connection()
        assert isinstance(raw.dbapi_connection, OneHopConnection)
    result = Counted(engine)
    original = aiosqlite.Connection._execute

    async def count(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        result.hand_offs += 1
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", count)
    yield result
    await engine.dispose()


class Counted:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.hand_offs = 0


async def test_a_read_is_not_handed_over_and_a_write_once_with_its_commit(
    counted: Counted,
) -> None:
    async with session_factory(counted.engine)() as session:
        assert (await session.execute(select(ITEMS.c.id))).all() == []
    # SQLAlchemy's own: cursor, execute, fetchall and close, the session's rollback, and the
    # pool's rollback on return.
    assert counted.hand_offs == 0
    async with session_factory(counted.engine)() as session:
        await session.execute(insert(ITEMS).values(name="pen", qty=3))
        await session.commit()
    assert counted.hand_offs == 2  # the insert, the commit; no rollback after it
    async with counted.engine.connect() as conn:
        assert (await conn.execute(select(ITEMS.c.name))).scalars().all() == ["pen"]
    assert counted.hand_offs == 2


async def test_a_read_beside_an_open_write_runs_here_and_sees_what_was_committed(
    counted: Counted,
) -> None:
    async with counted.engine.begin() as conn:
        await conn.execute(insert(ITEMS).values(name="pen", qty=3))
    async with counted.engine.connect() as writer, counted.engine.connect() as reader:
        await writer.execute(update(ITEMS).values(qty=0))  # holds the write lock, uncommitted
        before = counted.hand_offs
        # WAL: the reader neither waits for the writer nor sees its uncommitted change.
        assert (await reader.execute(select(ITEMS.c.qty))).scalars().all() == [3]
        assert counted.hand_offs == before
        await writer.commit()
        assert (await reader.execute(select(ITEMS.c.qty))).scalars().all() == [0]
        # Its own write, then its own read of it, in one transaction of one connection.
        await reader.execute(update(ITEMS).values(qty=7))
        assert (await reader.execute(select(ITEMS.c.qty))).scalars().all() == [7]
        await reader.rollback()
        assert (await reader.execute(select(ITEMS.c.qty))).scalars().all() == [0]


# Five thousand rows made and counted: tens of thousands of SQLite instructions.
LONG_READ = (
    "SELECT count(*) FROM (WITH RECURSIVE n(x) AS "
    "(SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5000) SELECT x FROM n)"
)


async def test_a_read_over_the_budget_finishes_on_the_thread_and_goes_there_from_then_on(
    counted: Counted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_driver, "INLINE_BUDGET_S", 0.0)
    monkeypatch.setattr(sqlite_driver, "_SLOW", set())
    async with counted.engine.connect() as conn:
        assert (await conn.execute(text(LONG_READ))).scalar() == 5000
        assert counted.hand_offs == 1  # interrupted here, then run there
        # Its next run goes straight there, whatever the budget.
        monkeypatch.setattr(sqlite_driver, "INLINE_BUDGET_S", 10.0)
        assert (await conn.execute(text(LONG_READ))).scalar() == 5000
        assert counted.hand_offs == 2
        # A short read still runs here.
        assert (await conn.execute(select(ITEMS.c.id))).all() == []
        assert counted.hand_offs == 2
    assert {LONG_READ} == sqlite_driver._SLOW


async def test_a_read_that_meets_a_lock_gives_the_loop_back_at_once(tmp_path: Path) -> None:
    # A connection in exclusive locking mode keeps every other one out, readers in WAL mode too.
    blocker = sqlite3.connect(tmp_path / "t.db")
    blocker.execute("PRAGMA journal_mode=WAL")
    blocker.execute("CREATE TABLE items (id INTEGER PRIMARY KEY)")
    blocker.execute("PRAGMA locking_mode=EXCLUSIVE")
    blocker.execute("BEGIN EXCLUSIVE")
    reader = sqlite3.connect(tmp_path / "t.db")
    reader.execute("PRAGMA busy_timeout=60000")
    loop = asyncio.get_running_loop()
    started = loop.time()
    # Not a minute's wait on the loop's thread: nothing done, for the thread to wait instead.
    assert await sqlite_driver._inline(reader, "SELECT id FROM items", None) is None
    assert loop.time() - started < 1
    assert reader.execute("PRAGMA busy_timeout").fetchone() == (60000,)
    blocker.close()
    assert await sqlite_driver._inline(reader, "SELECT id FROM items", None) is not None
    reader.close()


async def test_a_transaction_left_open_is_rolled_back_on_return_to_the_pool(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    async with engine.begin() as conn:
        await conn.run_sync(META.create_all)

    def write_behind_its_back(sync_conn: Any) -> Any:
        # Straight on the driver: the Connection does not know a transaction began.
        driver = sync_conn.connection.dbapi_connection
        driver.cursor().execute("INSERT INTO items (name, qty) VALUES ('left open', 1)")
        assert driver.driver_connection.in_transaction
        return driver.driver_connection

    async with engine.connect() as conn:
        left = await conn.run_sync(write_behind_its_back)
    assert not left.in_transaction  # the pool's reset ended it
    async with engine.begin() as conn:  # and the write lock is free
        await conn.execute(insert(ITEMS).values(name="next", qty=2))
        assert (await conn.execute(select(ITEMS.c.name))).scalars().all() == ["next"]
    await engine.dispose()
