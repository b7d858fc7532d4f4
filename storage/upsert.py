"""Bulk INSERT ... ON CONFLICT DO UPDATE for SQLite and PostgreSQL (one statement, executemany)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

# SQLite allows 32766 bound parameters per statement; batches stay well under it on both.
BATCH = 1000


async def upsert(
    session: AsyncSession,
    model: type[DeclarativeBase],
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
) -> int:
    """Insert rows, or update every non-key column of the row with the same `keys`."""
    if not rows:
        return 0
    table = model.__table__  # type: ignore[attr-defined]
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = list(rows[0])
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={c: stmt.excluded[c] for c in columns if c not in keys},
    )
    for start in range(0, len(rows), BATCH):
        await session.execute(stmt, list(rows[start : start + BATCH]))
    return len(rows)
