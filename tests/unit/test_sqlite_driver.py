"""SQLite's one-hop cursor (storage/sqlite_driver.py) gives what SQLAlchemy's stock aiosqlite
cursor gives, in one hand-off to aiosqlite's thread per statement instead of four."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, update
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

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


async def test_the_service_engine_hands_a_statement_over_once_and_a_session_end_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    async with engine.begin() as conn:
        await conn.run_sync(META.create_all)
        raw = await conn.get_raw_connection()
        assert isinstance(raw.dbapi_connection, OneHopConnection)
    hand_offs = 0
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal hand_offs
        hand_offs += 1
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    async with session_factory(engine)() as session:
        assert (await session.execute(select(ITEMS.c.id))).all() == []
    # The select, then the session's rollback. SQLAlchemy's own: cursor, execute, fetchall and
    # close, the session's rollback, and the pool's rollback on return.
    assert hand_offs == 2
    await engine.dispose()


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
