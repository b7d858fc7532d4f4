"""Conversation-state repository (backs the bot's FSM storage)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FsmRecord


class FsmRepo:
    """Reads and writes one conversation state record per key."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, key: str) -> FsmRecord | None:
        """The record for a key, if any."""
        return await self._s.get(FsmRecord, key)

    async def put(
        self,
        key: str,
        *,
        state: str | None = None,
        data: dict[str, Any] | None = None,
        set_state: bool = False,
        set_data: bool = False,
    ) -> None:
        """Create or update a record; an empty record is deleted."""
        row = await self._s.get(FsmRecord, key)
        if row is None:
            if not (state if set_state else None) and not (data if set_data else None):
                # Clearing what is not stored (every /start clears the conversation): no write.
                return
            row = FsmRecord(key=key, state=None, data={})
            self._s.add(row)
        if set_state:
            row.state = state
        if set_data:
            row.data = dict(data or {})
        if row.state is None and not row.data:
            # Through the ORM, so the change names its row (storage/changes.py drops that copy
            # only, where a DELETE statement drops every chat's).
            await self._s.delete(row)
