"""Audit log repository."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry


class AuditRepo:
    """Appends to and reads the audit log."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    def record(
        self,
        actor_id: int | None,
        action: str,
        target_type: str,
        target_id: object,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Stage one audit entry; `details` must never carry a secret."""
        self._s.add(
            AuditEntry(
                actor_id=actor_id,
                action=action,
                target_type=target_type,
                target_id=str(target_id),
                details=details or {},
            )
        )

    async def for_target(self, target_type: str, target_id: object) -> list[AuditEntry]:
        """Entries about one object, oldest first."""
        rows = await self._s.scalars(
            select(AuditEntry)
            .where(AuditEntry.target_type == target_type, AuditEntry.target_id == str(target_id))
            .order_by(AuditEntry.id)
        )
        return list(rows)
