"""SQLite through aiosqlite, with a quick read run on the event loop's thread and any other
statement handed to aiosqlite's thread once, not four times.

SQLAlchemy's aiosqlite adapter (sqlalchemy/dialects/sqlite/aiosqlite.py) runs a statement as
four awaited calls on the connection's thread: open a cursor, execute, fetch every row, close
the cursor. Each hand-off goes out through a queue, wakes the thread, and comes back through
the event loop's self-pipe: ~0.2 ms of CPU a statement, where SQLite answers one of our
screens' reads in 5–40 µs (bench/README.md, "Updates, fourth pass"). So:

- A read (a statement that starts with SELECT) runs right here, in the event loop's thread,
  within a budget of CPU time (`INLINE_BUDGET_S`, kept by SQLite's progress handler) and
  without waiting for a lock (busy timeout 0 while it runs). A read over the budget is
  interrupted (a SELECT's interruption leaves its transaction as it was) and run again on the
  thread, as is every later run of the same SQL; so is a read that meets a lock (in WAL mode,
  only while a crashed writer's journal is recovered or beside a connection in exclusive
  locking mode), where the thread waits out the busy timeout instead of the loop.
- Any other statement runs as one function on the thread, through aiosqlite's
  `Connection._execute` (what its own cursors use; SQLAlchemy's adapter itself reaches into
  aiosqlite's queue and connection the same way).
- A commit or a rollback with no transaction open is not handed over at all: sqlite3 does
  nothing for it either (a read-only session's end, and the pool's reset on return after a
  session that ended its own transaction).

A connection is used by one session at a time, each of its calls awaited before the next; a
statement cancelled on the thread invalidates the connection (SQLAlchemy treats the
cancellation as a disconnect), so the loop's thread and aiosqlite's never use one connection at
once. Server-side cursors and `executemany` are SQLAlchemy's adapter unchanged.
"""

from __future__ import annotations

import sqlite3
import time
from collections import deque
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)

Outcome = tuple[Any, list[Any], int | None, int]  # description, rows, lastrowid, rowcount

# How much CPU a read may spend in SQLite on the event loop's thread before it moves to
# aiosqlite's (the thread's CPU time, not the wall clock: a read paused by a busy machine is not
# a slow read).
INLINE_BUDGET_S = 0.002
# SQLite calls the progress handler every this many virtual-machine instructions (~0.1–0.2
# ms): a screen's read, a few thousand, never calls it; a long one is checked often enough.
_PROGRESS_STEPS = 10_000
BUSY_TIMEOUT_MS = 60_000  # storage/db.py's busy_timeout, put back after a read run here
# The SQL of reads that went over the budget: they run on the thread from then on. Bounded
# (cleared when full): an expanding IN makes one SQL per list length.
_SLOW: set[str] = set()
_SLOW_MAX = 512


def _run(conn: sqlite3.Connection, operation: str, parameters: Any) -> Outcome:
    """On the connection's thread: the statement executed, its rows fetched, its cursor closed."""
    cursor = conn.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        if cursor.description:
            return cursor.description, cursor.fetchall(), -1, -1
        return None, [], cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


async def _inline(conn: sqlite3.Connection, operation: str, parameters: Any) -> Outcome | None:
    """On the event loop's thread: the read's outcome, or None when it went over the budget or
    met a lock (nothing done: the caller runs it on the thread)."""
    deadline = time.thread_time() + INLINE_BUDGET_S
    conn.execute("PRAGMA busy_timeout=0")
    conn.set_progress_handler(lambda: time.thread_time() > deadline, _PROGRESS_STEPS)
    try:
        return _run(conn, operation, parameters)
    except sqlite3.OperationalError as error:
        if error.sqlite_errorcode == sqlite3.SQLITE_INTERRUPT:
            if len(_SLOW) >= _SLOW_MAX:
                _SLOW.clear()
            _SLOW.add(operation)
            return None
        if error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
            return None
        raise
    finally:
        conn.set_progress_handler(None, 0)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """The adapter's client-side cursor: a quick read run here, any other statement in one
    hand-off (as its `execute` does in four: the same description, rows, lastrowid and
    rowcount afterwards)."""

    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        """Run the statement and keep its rows, as the stock cursor does."""
        try:
            conn: aiosqlite.Connection = self._connection
            outcome = None
            if operation[:6].upper() == "SELECT" and operation not in _SLOW:
                # Awaited, not called: SQLAlchemy's async engine requires every execution to
                # await (it checks); this coroutine finishes without yielding to the loop.
                outcome = self.await_(_inline(conn._conn, operation, parameters))
            if outcome is None:
                outcome = self.await_(conn._execute(_run, conn._conn, operation, parameters))
            self.description, rows, self.lastrowid, self.rowcount = outcome
            if self.description:
                self._rows = deque(rows)
        except Exception as error:
            self._adapt_connection._handle_exception(error)


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """The adapter's connection, handing out one-hop cursors (server-side ones unchanged), and
    ending a transaction only when one is open."""

    __slots__ = ()

    def commit(self) -> None:
        """Commit the open transaction, if any."""
        if self._in_transaction():
            super().commit()

    def rollback(self) -> None:
        """Roll back the open transaction, if any."""
        if self._in_transaction():
            super().rollback()

    def _in_transaction(self) -> bool:
        try:
            return bool(self._connection._conn.in_transaction)
        except ValueError:  # closed: the adapter's own call reports it, as it always has
            return True

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        """A cursor of the kind asked for."""
        if server_side:
            return super().cursor(server_side=True)
        return OneHopCursor(self)


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The adapter's module, whose connections are one-hop connections."""

    def connect(self, *args: Any, **kwargs: Any) -> AsyncAdapt_aiosqlite_connection:
        """A connection as the adapter makes it, its cursors one-hop."""
        connection = super().connect(*args, **kwargs)
        if type(connection) is AsyncAdapt_aiosqlite_connection:
            connection.__class__ = OneHopConnection  # the same slots: only methods differ
        return connection


def dbapi() -> AsyncAdapt_aiosqlite_dbapi:
    """The module to give `create_async_engine(module=…)` for an aiosqlite URL: one-hop where
    aiosqlite has the private call it needs, SQLAlchemy's own otherwise."""
    if callable(getattr(aiosqlite.Connection, "_execute", None)):
        return OneHopDBAPI(aiosqlite, sqlite3)
    return AsyncAdapt_aiosqlite_dbapi(aiosqlite, sqlite3)
