"""aiogram FSM storage in the service's database, so a conversation survives a restart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StorageKey

from storage.uow import UnitOfWorkFactory


class DatabaseStorage(BaseStorage):
    """One row per chat key in `fsm_state`; each call is its own short transaction."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow
        self._keys = DefaultKeyBuilder(with_bot_id=True)

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        """Store the state name (or clear it)."""
        value = state.state if isinstance(state, State) else state
        async with self._uow() as u:
            await u.fsm.put(self._keys.build(key), state=value, set_state=True)
            await u.commit()

    async def get_state(self, key: StorageKey) -> str | None:
        """The stored state name."""
        async with self._uow() as u:
            row = await u.fsm.get(self._keys.build(key))
            return row.state if row else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        """Replace the stored data."""
        async with self._uow() as u:
            await u.fsm.put(self._keys.build(key), data=dict(data), set_data=True)
            await u.commit()

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        """The stored data (a copy)."""
        async with self._uow() as u:
            row = await u.fsm.get(self._keys.build(key))
            return dict(row.data) if row else {}

    async def close(self) -> None:
        """Nothing to close: the engine is owned by the application."""
