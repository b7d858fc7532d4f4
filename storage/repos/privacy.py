"""Generic reads and erasure of one user's rows, driven by the data inventory
(storage/inventory.py): no hand-written table list here can drift from the models."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    delete,
    false,
    func,
    or_,
    select,
    true,
    tuple_,
    update,
)
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


def _child_links(parent: str) -> list[tuple[str, str]]:
    """(table, column) pairs whose rows belong under a row of `parent`: the inventory's owner
    links, and every cascading foreign key to it (rows the database would delete with the
    parent anyway, e.g. a tracker's daily rows of an ad account)."""
    links: set[tuple[str, str]] = set()
    for entry in TABLES.values():
        if entry.owner is not None and entry.owner.parent == parent:
            links.add((entry.name, entry.owner.column))
        for fk in _sql(entry.name).foreign_keys:
            if fk.column.table.name == parent and (fk.ondelete or "").upper() == "CASCADE":
                links.add((entry.name, fk.parent.name))
    return sorted(links)


def under_where(root: str, root_id: int) -> dict[str, ColumnElement[bool]]:
    """For each table with rows under one `root` row (the root itself included), the
    condition selecting those rows, following `_child_links` down from the root (a table
    reached along several paths takes the rows of each)."""
    reachable, todo = {root}, [root]
    while todo:
        for name, _column in _child_links(todo.pop()):
            if name not in reachable:
                reachable.add(name)
                todo.append(name)
    conds: dict[str, ColumnElement[bool]] = {root: _sql(root).c.id == root_id}
    for name in reversed(ERASE_ORDER):  # parents before children
        if name == root or name not in reachable:
            continue
        paths = [
            _sql(name).c[column].in_(select(_sql(parent).c.id).where(conds[parent]))
            for parent in conds
            for child, column in _child_links(parent)
            if child == name and parent != name
        ]
        conds[name] = or_(*paths)
    return conds


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
        if not TABLES[name].exported:
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

    async def erase_under_step(self, root: str, root_id: int, limit: int) -> tuple[str, int]:
        """Delete up to `limit` rows under one `root` row (not the root itself), children
        before parents, one table per call; (table, rows deleted), or ("", 0) when only the
        root is left. Idempotent: a run cut short is finished by calling again."""
        conds = under_where(root, root_id)
        for name in ERASE_ORDER:
            if name == root or name not in conds:
                continue
            t = _sql(name)
            key = list(t.primary_key.columns)
            batch = select(*key).where(conds[name]).limit(limit)
            target = key[0].in_(batch) if len(key) == 1 else tuple_(*key).in_(batch)
            n = (await self._s.execute(delete(t).where(target))).rowcount or 0
            if n:
                return name, n
        return "", 0

    async def claim_purges(self, table: str, owner: str, now: datetime, lease_until: datetime,
                           limit: int, *, only: ColumnElement[bool] | None = None) -> list[int]:
        """Lease rows of `table` whose purge_after has passed (SKIP LOCKED on PostgreSQL; the
        repeated lease condition keeps the claim atomic on SQLite); their ids."""
        t = _sql(table)
        free = or_(t.c.lease_until.is_(None), t.c.lease_until < now)
        due = (t.c.purge_after.is_not(None)) & (t.c.purge_after <= now)
        pick = (
            select(t.c.id).where(free, due, only if only is not None else true())
            .order_by(t.c.purge_after, t.c.id).limit(limit).with_for_update(skip_locked=True)
        )
        return list(await self._s.scalars(
            update(t).where(t.c.id.in_(pick.scalar_subquery()), free, due)
            .values(lease_owner=owner, lease_until=lease_until)
            .returning(t.c.id).execution_options(synchronize_session=False)
        ))

    async def holds(self, table: str, row_id: int, owner: str, lease_until: datetime) -> bool:
        """Extend this worker's lease on a row still to be purged; False if the lease was lost,
        the row is gone, or its purge was called off."""
        t = _sql(table)
        # A reconnect that clears purge_after mid-way stops the purge: the row is wanted again.
        result = await self._s.execute(
            update(t).where(t.c.id == row_id, t.c.lease_owner == owner,
                            t.c.purge_after.is_not(None))
            .values(lease_until=lease_until).execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)

    async def release_purge(self, table: str, row_id: int, owner: str) -> None:
        """Give a purge lease back (after a failure: the next run resumes the deletion)."""
        t = _sql(table)
        await self._s.execute(
            update(t).where(t.c.id == row_id, t.c.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )

    async def delete_root(self, table: str, row_id: int, owner: str) -> tuple[bool, int | None]:
        """Delete the row itself if this worker still holds its lease: (deleted, its
        credential_id — the sealed secret is the caller's to delete). Not deleted: another
        worker took the lease over, or finished first."""
        t = _sql(table)
        cred = t.c.credential_id if "credential_id" in t.c else None
        returned = [t.c.id] + ([cred] if cred is not None else [])
        row = (await self._s.execute(
            delete(t).where(t.c.id == row_id, t.c.lease_owner == owner,
                            t.c.purge_after.is_not(None))
            .returning(*returned).execution_options(synchronize_session=False)
        )).first()
        if row is None:
            return False, None
        return True, (row[1] if cred is not None else None)

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
