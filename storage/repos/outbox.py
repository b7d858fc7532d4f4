"""Outbox repository: alerts written first, delivered by the notifier."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage


class OutboxRepo:
    """Queues alerts once per event key and hands them to the notifier with a lease."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def enqueue(
        self, user_id: int, kind: str, dedup_key: str, params: dict[str, Any], now: datetime
    ) -> None:
        """Queue an alert; the same `dedup_key` twice is one alert."""
        existing = await self._s.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key)
        )
        if existing is None:
            self._s.add(
                OutboxMessage(
                    user_id=user_id,
                    kind=kind,
                    dedup_key=dedup_key,
                    params=params,
                    created_at=now,
                    next_attempt_at=now,
                )
            )
            await self._s.flush()

    async def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[OutboxMessage]:
        """Lease alerts that are due and neither sent nor given up."""
        free = or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now)
        pick = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.failed_at.is_(None),
                OutboxMessage.next_attempt_at <= now,
                free,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(
            await self._s.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(pick.scalar_subquery()), free)
                .values(lease_until=lease_until, attempts=OutboxMessage.attempts + 1)
                .returning(OutboxMessage.id)
            )
        )
        if not ids:
            return []
        return list(
            await self._s.scalars(
                select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)
            )
        )

    async def settle(
        self,
        message_id: int,
        *,
        sent_at: datetime | None = None,
        retry_at: datetime | None = None,
        failed_at: datetime | None = None,
        error: str | None = None,
    ) -> None:
        """Record the outcome of one delivery attempt."""
        values: dict[str, Any] = {"lease_until": None, "last_error": error[:300] if error else None}
        if sent_at is not None:
            values["sent_at"] = sent_at
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        if failed_at is not None:
            values["failed_at"] = failed_at
        await self._s.execute(
            update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
        )
