"""Data exports (/export): queued, claimed with a lease, sent, expired; plus the date spans
/mydata shows for the user's rows of a table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.inventory import TABLES
from storage.models import Base
from storage.models.privacy import DataExport
from storage.repos.privacy import owned_where

ACTIVE = ("queued", "building")


class ExportsRepo:
    """Reads and moves export requests; claims them with a lease like launches."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def active(self, user_id: int) -> DataExport | None:
        """The user's export still queued or being built, if any."""
        return await self._s.scalar(
            select(DataExport)
            .where(DataExport.user_id == user_id, DataExport.state.in_(ACTIVE))
            .order_by(DataExport.id)
            .limit(1)
        )

    async def requested_since(self, user_id: int, since: datetime) -> list[datetime]:
        """When the user's exports since `since` were asked for (failed ones do not count:
        they were our fault), oldest first."""
        rows = await self._s.scalars(
            select(DataExport.requested_at)
            .where(DataExport.user_id == user_id, DataExport.requested_at >= since,
                   DataExport.state != "failed")
            .order_by(DataExport.requested_at)
        )
        return list(rows)

    async def add(self, user_id: int, now: datetime, message_id: int | None) -> DataExport:
        """Stage a queued export (its progress shown in `message_id`)."""
        row = DataExport(user_id=user_id, state="queued", requested_at=now,
                         progress_message_id=message_id)
        self._s.add(row)
        await self._s.flush()
        return row

    async def latest(self, user_id: int) -> DataExport | None:
        """The user's newest export request, whatever its state."""
        return await self._s.scalar(
            select(DataExport).where(DataExport.user_id == user_id)
            .order_by(DataExport.id.desc()).limit(1)
        )

    async def get(self, export_id: int) -> DataExport | None:
        """One export by id, fresh from the database."""
        return await self._s.get(DataExport, export_id, populate_existing=True)

    async def claim(self, now: datetime, owner: str, lease_until: datetime) -> DataExport | None:
        """Lease one export to build: queued, or building with a lapsed lease (its worker died),
        or sent with a lapsed lease still on it (its worker died while delivering it)."""
        free = or_(DataExport.lease_until.is_(None), DataExport.lease_until < now)
        in_doubt = (DataExport.state == "sent") & DataExport.lease_owner.is_not(None)
        pick = (
            select(DataExport.id)
            .where(or_(DataExport.state.in_(ACTIVE), in_doubt), free)
            .order_by(DataExport.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        export_id = await self._s.scalar(
            update(DataExport)
            .where(DataExport.id == pick.scalar_subquery(), free)
            .values(lease_owner=owner, lease_until=lease_until, state="building",
                    attempts=DataExport.attempts + 1)
            .returning(DataExport.id)
        )
        if export_id is None:
            return None
        return await self.get(export_id)

    async def renew(self, export_id: int, owner: str, lease_until: datetime) -> bool:
        """Extend a held lease; False when another worker took the export over."""
        result = await self._s.execute(
            update(DataExport)
            .where(DataExport.id == export_id, DataExport.lease_owner == owner)
            .values(lease_until=lease_until)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def update(self, export_id: int, **values: Any) -> None:
        """Write fields of an export."""
        await self._s.execute(update(DataExport).where(DataExport.id == export_id).values(**values))

    async def release_all(self, owner: str) -> None:
        """Give back every lease this worker holds (clean shutdown)."""
        await self._s.execute(
            update(DataExport)
            .where(DataExport.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )

    async def by_token(self, token_hash: str) -> DataExport | None:
        """The export whose download link carries this token (by its hash)."""
        return await self._s.scalar(select(DataExport).where(DataExport.token == token_hash))

    async def expired_links(self, now: datetime) -> list[DataExport]:
        """Sent exports whose download link (or the web page's download, core.privacy.export
        FROM_WEB: an expiry without a token) has expired but whose file may still be kept."""
        rows = await self._s.scalars(
            select(DataExport).where(DataExport.state == "sent",
                                     DataExport.expires_at.is_not(None),
                                     DataExport.expires_at <= now)
        )
        return list(rows)

    async def needing_files(self, now: datetime) -> set[int]:
        """Exports whose file must stay: being built, or behind a link (or the web page's
        download) still valid."""
        rows = await self._s.scalars(
            select(DataExport.id).where(or_(
                DataExport.state.in_(ACTIVE),
                (DataExport.state == "sent") & DataExport.expires_at.is_not(None)
                & (DataExport.expires_at > now),
            ))
        )
        return set(rows)

    async def forget_before(self, before: datetime) -> int:
        """Delete finished export rows requested before `before` (they only served the rate
        limit and the link); how many went."""
        result = await self._s.execute(
            delete(DataExport).where(DataExport.requested_at < before,
                                     DataExport.state.not_in(ACTIVE))
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def span(self, table: str, user_id: int, column: str) -> tuple[Any, Any]:
        """The first and last value of a date column over the user's rows of a table."""
        t = Base.metadata.tables[table]
        row = (await self._s.execute(
            select(func.min(t.c[column]), func.max(t.c[column]))
            .where(owned_where(TABLES[table], user_id))
        )).one()
        return row[0], row[1]
