"""Audit log repository."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
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

    async def activity(
        self,
        user_id: int,
        actions: Collection[str],
        prefixes: Collection[str],
        limit: int,
        offset: int = 0,
    ) -> tuple[list[AuditEntry], int]:
        """The user's entries with these actions (or action prefixes), newest first, one page;
        and how many there are. The user's own (actor), those about their user record, and the
        purges of connections and trackers they once connected (done by the system, no actor)."""
        a = AuditEntry

        def connected(kind: str, actions: tuple[str, ...], system: tuple[str, ...]
                      ) -> ColumnElement[bool]:
            # What the system did (no actor: a revocation seen at TikTok, a purge) to something
            # this user had connected.
            theirs = select(a.target_id).where(
                a.actor_id == user_id, a.target_type == kind, a.action.in_(actions)
            )
            return and_(
                a.actor_id.is_(None),
                a.target_type == kind,
                a.action.in_(system),
                a.target_id.in_(theirs),
            )

        named = or_(a.action.in_(list(actions)), *(a.action.startswith(p) for p in prefixes))
        about_user = a.target_type == "user"
        whose = or_(
            # Their own actions, except an operator's on another user's record.
            and_(a.actor_id == user_id, or_(~about_user, a.target_id == str(user_id))),
            and_(about_user, a.target_id == str(user_id)),
            connected("connection", ("tiktok.connected", "tiktok.reconnected"),
                      ("tiktok.revoked", "tiktok.purged")),
            connected("tracker", ("tracker.connected",), ("tracker.purged",)),
        )
        where = (named, whose)
        total = int(await self._s.scalar(select(func.count()).select_from(a).where(*where)) or 0)
        rows = await self._s.scalars(
            select(a).where(*where).order_by(a.created_at.desc(), a.id.desc())
            .limit(limit).offset(offset)
        )
        return list(rows), total
