"""Generic reads and erasure of one user's rows, driven by the data inventory
(storage/inventory.py): no hand-written table list here can drift from the models."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, false, func, or_, select, update
from sqlalchemy import Table as SqlTable
from sqlalchemy.ext.asyncio import AsyncSession

from storage.inventory import TABLES, Erase, Retention, Table
from storage.models import Base

# Children before parents: deleting in this order never trips a foreign key.
ERASE_ORDER = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name in TABLES]


def _sql(name: str) -> SqlTable:
    return Base.metadata.tables[name]


def owned_where(entry: Table, user_id: int) -> ColumnElement[bool]:
    """The condition selecting `entry`'s rows that belong to the user."""
    t = _sql(entry.name)
    if entry.owner_note == "audit":  # what the user did, and what was done to their record
        return or_(
            t.c.actor_id == user_id,
            (t.c.target_type == "user") & (t.c.target_id == str(user_id)),
        )
    if entry.owner_note == "fsm_key":  # aiogram's "fsm:<bot>:<chat>:<user>" keys
        return or_(t.c.key.like(f"fsm:%:{user_id}"), t.c.key.like(f"fsm:%:{user_id}:%"))
    assert entry.owner is not None, entry.name
    if entry.owner.parent is None:
        return t.c[entry.owner.column] == user_id
    parent = TABLES[entry.owner.parent]
    ids = select(_sql(parent.name).c.id).where(owned_where(parent, user_id))
    return t.c[entry.owner.column].in_(ids)


def owned_rows(entry: Table, user_id: int, exported_only: bool = True) -> Select[Any]:
    """The user's rows of one table: the columns the inventory exports (or all of them)."""
    t = _sql(entry.name)
    cols = [t.c[n] for n, c in entry.columns.items() if c.export or not exported_only]
    order = list(t.primary_key.columns)
    return select(*cols).where(owned_where(entry, user_id)).order_by(*order)


class PrivacyRepo:
    """Counts, reads and erases a user's rows across every inventoried table."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def counts(self, user_id: int, tables: Iterable[str] = TABLES) -> dict[str, int]:
        """How many rows of each table belong to the user (tables with none left out)."""
        out: dict[str, int] = {}
        for name in tables:
            t = _sql(name)
            n = await self._s.scalar(
                select(func.count()).select_from(t).where(owned_where(TABLES[name], user_id))
            )
            if n:
                out[name] = int(n)
        return out

    async def rows(self, name: str, user_id: int) -> list[dict[str, Any]]:
        """The user's rows of one table, exported columns only, in primary-key order (none for a
        table the inventory does not export)."""
        if not any(c.export for c in TABLES[name].columns.values()):
            return []
        result = await self._s.execute(owned_rows(TABLES[name], user_id))
        return [dict(r._mapping) for r in result]

    async def erase(self, user_id: int, pseudonym: int,
                    retentions: Iterable[Retention] = tuple(Retention),
                    tables: Iterable[str] | None = None) -> dict[str, int]:
        """Erase the user's rows of the tables with these retentions (and among `tables`, if
        given), as the inventory says: rows deleted, or kept with the id pseudonymised and free
        text anonymised. Idempotent. Returns rows touched per table."""
        wanted = set(retentions)
        only = set(tables) if tables is not None else None
        touched: dict[str, int] = {}
        for name in ERASE_ORDER:
            entry = TABLES[name]
            if entry.retention not in wanted or (only is not None and name not in only):
                continue
            t = _sql(name)
            where = owned_where(entry, user_id)
            if entry.keeps_rows:
                n = await self._keep_pseudonymised(entry, user_id, pseudonym)
            else:
                n = (await self._s.execute(delete(t).where(where))).rowcount or 0
            if n:
                touched[name] = n
        return touched

    async def _keep_pseudonymised(self, entry: Table, user_id: int, pseudonym: int) -> int:
        t = _sql(entry.name)
        values: dict[str, Any] = {}
        for name, col in entry.columns.items():
            if col.erase is Erase.ANONYMISE:
                values[name] = _neutral(t, name)
            elif col.erase is Erase.PSEUDONYMISE and name != "target_id":
                values[name] = pseudonym
        n = 0
        if entry.owner_note == "audit":
            # target_id names the user only where the target is the user record itself.
            n += (await self._s.execute(
                update(t).where((t.c.target_type == "user") & (t.c.target_id == str(user_id)))
                .values(target_id=str(pseudonym), details={})
            )).rowcount or 0
            where = t.c.actor_id == user_id
        else:
            where = owned_where(entry, user_id) if entry.owner else false()
        n += (await self._s.execute(update(t).where(where).values(**values))).rowcount or 0
        return n


def _neutral(t: SqlTable, name: str) -> Any:
    """The value an anonymised column gets: None where allowed, else an empty value."""
    column = t.c[name]
    if column.nullable:
        return None
    python_type = column.type.python_type
    return python_type()
