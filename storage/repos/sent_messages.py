"""The bot's own messages per private chat (bot/sent_ledger.py records them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import SentMessage
from storage.upsert import upsert


class SentMessagesRepo:
    """Records each message the bot made; answers what an in-doubt alert's probe needs."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(
        self, user_id: int, message_id: int, asked_at: datetime, answered_at: datetime,
        outbox_id: int | None = None,
    ) -> None:
        """Record one message (again: the same row)."""
        row = {"user_id": user_id, "message_id": message_id, "asked_at": asked_at,
               "answered_at": answered_at, "outbox_id": outbox_id}
        await upsert(self._s, SentMessage, [row], ("user_id", "message_id"))

    async def of_alert(self, user_id: int, outbox_id: int) -> int | None:
        """The message that delivered this alert, if its sender lived to record it."""
        return await self._s.scalar(
            select(func.min(SentMessage.message_id)).where(
                SentMessage.user_id == user_id, SentMessage.outbox_id == outbox_id
            )
        )

    async def last_before(self, user_id: int, moment: datetime) -> int | None:
        """The highest id of the chat's messages answered before `moment` (made before it)."""
        return await self._s.scalar(
            select(func.max(SentMessage.message_id)).where(
                SentMessage.user_id == user_id, SentMessage.answered_at < moment
            )
        )

    async def first_after(self, user_id: int, moment: datetime) -> int | None:
        """The lowest id of the chat's messages asked for after `moment` (made after it)."""
        return await self._s.scalar(
            select(func.min(SentMessage.message_id)).where(
                SentMessage.user_id == user_id, SentMessage.asked_at > moment
            )
        )

    async def ids_above(self, user_id: int, above: int) -> set[int]:
        """Ids of the chat's recorded messages greater than `above`."""
        return set(
            await self._s.scalars(
                select(SentMessage.message_id).where(
                    SentMessage.user_id == user_id, SentMessage.message_id > above
                )
            )
        )

    async def purge(self, older_than: datetime) -> int:
        """Forget messages answered before `older_than`, but each chat's newest: it is where a
        probe starts even in a chat quiet for longer."""
        same_chat = aliased(SentMessage)
        newest = (
            select(func.max(same_chat.message_id))
            .where(same_chat.user_id == SentMessage.user_id)
            .scalar_subquery()
        )
        return (
            await self._s.execute(
                delete(SentMessage).where(
                    SentMessage.answered_at < older_than, SentMessage.message_id < newest
                )
            )
        ).rowcount or 0
