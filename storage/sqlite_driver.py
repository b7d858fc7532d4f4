"""SQLite through aiosqlite with one hand-off to its thread per statement, not four.

SQLAlchemy's aiosqlite adapter (sqlalchemy/dialects/sqlite/aiosqlite.py) runs a statement as
four awaited calls on the connection's thread: open a cursor, execute, fetch every row, close
the cursor. Each hand-off goes out through a queue and comes back through the event loop's
self-pipe, and together they cost more CPU than SQLite's own work on our typical read: a
session of three small queries took 1.3–1.6 ms of CPU, 0.85–0.9 ms with one hand-off each. Here
the four steps run as one function on the thread, through aiosqlite's `Connection._execute`
(what its own cursors use; SQLAlchemy's adapter itself reaches into aiosqlite's queue and
connection the same way). Everything else, server-side cursors and `executemany` included, is
SQLAlchemy's adapter unchanged.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)

Outcome = tuple[Any, list[Any], int | None, int]  # description, rows, lastrowid, rowcount


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


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """The adapter's client-side cursor, executing in one hand-off (as its `execute` does in
    four: the same description, rows, lastrowid and rowcount afterwards)."""

    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        """Run the statement and keep its rows, as the stock cursor does."""
        try:
            conn: aiosqlite.Connection = self._connection
            outcome = self.await_(conn._execute(_run, conn._conn, operation, parameters))
            self.description, rows, self.lastrowid, self.rowcount = outcome
            if self.description:
                self._rows = deque(rows)
        except Exception as error:
            self._adapt_connection._handle_exception(error)


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """The adapter's connection, handing out one-hop cursors (server-side ones unchanged)."""

    __slots__ = ()

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
