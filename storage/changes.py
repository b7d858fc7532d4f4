"""What committed transactions changed, told to the in-process caches that keep copies of rows.

Every update reads the same few rows (its user, its conversation state); a copy kept in memory
saves the database round trips, as long as no copy outlives a change. So every session made
by `storage.db.session_factory` reports the rows of *watched* tables it changed:

- ORM flushes name the rows (their primary keys), for new, changed and deleted objects;
- a DML statement (`update(User)…`, `table.delete()…`) names the table only: every copy of
  that table is dropped.

On commit the copies are dropped at once in this process (before `commit()` returns), and the
change is handed to a bus (storage/change_bus.py, Redis pub/sub) for the other instances.
While a bus is required but not connected, nothing is cached (a lost message would leave a
stale copy). Instances share REDIS_URL by contract (README, Running several instances); a
process without it is the only one, and local invalidation is complete. Writes made outside
the service (an operator's SQL, a test writing the file directly) are not seen: copies live
`max_age` seconds at most, which bounds that case.
"""

from __future__ import annotations

import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# table name -> primary keys changed, or None: the whole table (a DML statement).
Changed = dict[str, set[Any] | None]
Publish = Callable[[Changed], Awaitable[None]]

# The tables copies are kept of, anywhere. Fixed here rather than learnt from the caches made:
# an instance that never read a user must still tell the others it changed one.
WATCHED = frozenset({"users", "fsm_state"})

_PENDING = "ttpulse.changes.pending"  # this transaction's changes, in session.info
_COMMITTED = "ttpulse.changes.committed"  # committed, not yet handed to the bus


class RowCache(Generic[K, V]):
    """Copies of one table's rows (or what was derived from them), least recently used first
    out; a copy is dropped when its row changes, and is never older than `max_age`."""

    def __init__(self, changes: Changes, max_entries: int = 50_000, max_age: float = 30.0):
        self._changes = changes
        self._max_entries = max_entries
        self._max_age = max_age
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()
        # Bumped by every invalidation: a copy loaded before one is not stored (the load may
        # have read the row just before the change committed).
        self._epoch = 0

    def get(self, key: K) -> tuple[bool, V | None]:
        """(True, the copy) when one is held and fresh, else (False, None)."""
        item = self._items.get(key)
        if item is None:
            return False, None
        if time.monotonic() - item[0] > self._max_age or not self._changes.caching:
            del self._items[key]
            return False, None
        self._items.move_to_end(key)
        return True, item[1]

    def token(self) -> int:
        """Taken before reading the row from the database; `put` needs it."""
        return self._epoch

    def put(self, key: K, value: V, token: int) -> None:
        """Keep a copy read after `token` was taken, unless anything changed since."""
        if token != self._epoch or not self._changes.caching:
            return
        self._items[key] = (time.monotonic(), value)
        self._items.move_to_end(key)
        if len(self._items) > self._max_entries:
            self._items.popitem(last=False)

    def invalidate(self, keys: set[Any] | None) -> None:
        """Drop the copies of these rows (None: all)."""
        self._epoch += 1
        if keys is None:
            self._items.clear()
            return
        for key in keys:
            self._items.pop(key, None)


class Changes:
    """One database's watched tables and their caches; one per engine (see `for_engine`)."""

    def __init__(self) -> None:
        self._caches: dict[str, list[RowCache[Any, Any]]] = {}
        self._named: dict[tuple[str, str], RowCache[Any, Any]] = {}
        self._publish: Publish | None = None
        self._bus_required = False
        self._bus_up = False

    @property
    def caching(self) -> bool:
        """Whether copies may be kept: always without a bus, only while it listens with one."""
        return not self._bus_required or self._bus_up

    def cache(self, table: str, purpose: str, **kwargs: Any) -> RowCache[Any, Any]:
        """The cache of `table`'s rows kept for `purpose` (made on first use: every unit of work
        factory over this database shares it), dropped on their changes."""
        found = self._named.get((table, purpose))
        if table not in WATCHED:
            raise ValueError(f"{table} is not in storage.changes.WATCHED")
        if found is None:
            found = self._named[(table, purpose)] = RowCache(self, **kwargs)
            self._caches.setdefault(table, []).append(found)
        return found

    def require_bus(self, publish: Publish) -> None:
        """Other instances share the database: changes go out through `publish`, and nothing is
        cached until `bus_up(True)` says the bus hears theirs."""
        self._publish = publish
        self._bus_required = True
        self.bus_up(False)

    def bus_up(self, up: bool) -> None:
        """The bus (dis)connected; while it is down nothing is cached, and messages missed while
        it was down are unknown, so every copy is dropped either way."""
        self._bus_up = up
        self.drop_all()

    def drop_all(self) -> None:
        """Drop every copy (what changed is unknown)."""
        self.apply(dict.fromkeys(self._caches))

    def apply(self, changed: Changed) -> None:
        """Drop the copies of changed rows (this process's commits and the bus's messages)."""
        for table, keys in changed.items():
            for cache in self._caches.get(table, ()):
                cache.invalidate(keys)

    async def publish(self, changed: Changed) -> None:
        """Tell the other instances (a no-op without a bus)."""
        if self._publish is not None and changed:
            await self._publish(changed)


def row_snapshot(obj: Any) -> dict[str, Any]:
    """An ORM object's column values (what `detached` rebuilds it from)."""
    return {attr.key: getattr(obj, attr.key) for attr in inspect(obj).mapper.column_attrs}


def detached(cls: type[V], snapshot: dict[str, Any]) -> V:
    """A detached object of `cls` with these column values, as a closed session leaves one."""
    # Straight into the instance's state, as a query's load fills it: the constructor sets
    # each column through its attribute events (3× the time, on every update's user).
    obj: V = inspect(cls).class_manager.new_instance()
    instance_state(obj).dict.update(snapshot)
    make_transient_to_detached(obj)
    return obj


_BY_ENGINE: weakref.WeakKeyDictionary[Engine, Changes] = weakref.WeakKeyDictionary()


def for_engine(engine: Engine) -> Changes:
    """The change hub of an engine (its sync engine), made on first use."""
    found = _BY_ENGINE.get(engine)
    if found is None:
        found = _BY_ENGINE[engine] = Changes()
    return found


class TrackedSession(Session):
    """A Session that reports its committed changes of watched tables (events below)."""


def _changes_of(session: Session) -> Changes | None:
    bind = session.bind
    engine = bind.engine if bind is not None else None
    return _BY_ENGINE.get(engine) if engine is not None else None


def _note(session: Session, table: str, key: Any | None, whole: bool = False) -> None:
    pending: Changed = session.info.setdefault(_PENDING, {})
    if whole:
        pending[table] = None
    elif table not in pending:
        pending[table] = {key}
    elif (keys := pending[table]) is not None:
        keys.add(key)


@event.listens_for(TrackedSession, "after_flush")
def _flushed(session: Session, _ctx: UOWTransaction) -> None:
    changes = _changes_of(session)
    if changes is None:
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table in WATCHED:
            identity = inspect(obj).identity
            if identity is None or len(identity) != 1:
                _note(session, table, None, whole=True)
            else:
                _note(session, table, identity[0])


@event.listens_for(TrackedSession, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    changes = _changes_of(state.session)
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if changes is not None and table in WATCHED:
        _note(state.session, table, None, whole=True)


@event.listens_for(TrackedSession, "after_commit")
def _committed(session: Session) -> None:
    pending: Changed | None = session.info.pop(_PENDING, None)
    changes = _changes_of(session)
    if not pending or changes is None:
        return
    changes.apply(pending)
    out: Changed = session.info.setdefault(_COMMITTED, {})
    for table, keys in pending.items():
        if keys is None or out.get(table, set()) is None:
            out[table] = None
        else:
            out.setdefault(table, set()).update(keys)  # type: ignore[union-attr]


@event.listens_for(TrackedSession, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


async def publish_committed(session: Session) -> None:
    """Hand what the session committed to the bus (UnitOfWork calls it after commit)."""
    out: Changed | None = session.info.pop(_COMMITTED, None)
    changes = _changes_of(session)
    if out and changes is not None:
        await changes.publish(out)
