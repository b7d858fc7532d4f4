"""aiogram FSM storage in the service's database, so a conversation survives a restart."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StorageKey

from storage.uow import UnitOfWorkFactory

# What a chat's row holds: (state, data); no row reads as (None, {}).
Record = tuple[str | None, dict[str, Any]]


class DatabaseStorage(BaseStorage):
    """One row per chat key in `fsm_state`; each write is its own short transaction.

    Every update reads its chat's state, so a copy is kept in memory and dropped when the row
    changes (storage/changes.py). This storage is used without REDIS_URL only, that is by the
    one instance there is (README, Running several instances), so the copy is never another
    instance's stale view. A write that changes nothing is not made.
    """

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow
        self._keys = DefaultKeyBuilder(with_bot_id=True)
        self._copies = uow.changes.cache("fsm_state", "fsm_storage")

    async def _record(self, key: str) -> Record:
        hit, found = self._copies.get(key)
        if hit:
            return found  # type: ignore[no-any-return]
        token = self._copies.token()
        async with self._uow() as u:
            row = await u.fsm.get(key)
            record: Record = (row.state, dict(row.data)) if row else (None, {})
        self._copies.put(key, record, token)
        return record

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        """Store the state name (or clear it)."""
        value = state.state if isinstance(state, State) else state
        built = self._keys.build(key)
        if (await self._record(built))[0] == value:
            return
        async with self._uow() as u:
            await u.fsm.put(built, state=value, set_state=True)
            await u.commit()

    async def get_state(self, key: StorageKey) -> str | None:
        """The stored state name."""
        return (await self._record(self._keys.build(key)))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        """Replace the stored data."""
        built = self._keys.build(key)
        if (await self._record(built))[1] == data:
            return
        async with self._uow() as u:
            await u.fsm.put(built, data=dict(data), set_data=True)
            await u.commit()

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        """The stored data (a copy the caller may change)."""
        return copy.deepcopy((await self._record(self._keys.build(key)))[1])

    async def close(self) -> None:
        """Nothing to close: the engine is owned by the application."""
