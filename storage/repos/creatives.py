"""Creatives repository: the user's library and where each file was uploaded.

Every read by id is scoped to its owner. A `CreativeUpload` row whose `tiktok_id` is empty is a
claim: one caller is uploading that creative to that ad account right now (`uploaded_at` is when
it claimed); the row gets TikTok's id when the upload is done.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from storage.models import Creative, CreativeUpload

PENDING = ""  # tiktok_id of a claimed upload that has not finished


class CreativesRepo:
    """Reads and writes creatives and their uploads."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    def _insert(self) -> Any:
        dialect = self._s.bind.dialect.name if self._s.bind is not None else "sqlite"
        return postgresql.insert if dialect == "postgresql" else sqlite.insert

    # The library ----------------------------------------------------------------------------

    async def add(self, values: dict[str, Any]) -> bool:
        """Insert a creative unless the user already has one with the same MD5; True if added."""
        stmt = (
            self._insert()(Creative)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["user_id", "md5"])
        )
        result = await self._s.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def by_md5(self, user_id: int, md5: str) -> Creative | None:
        """The user's creative with this checksum."""
        return await self._s.scalar(
            select(Creative).where(Creative.user_id == user_id, Creative.md5 == md5)
        )

    async def of_user(self, user_id: int, limit: int, offset: int) -> tuple[list[Creative], int]:
        """One page of the user's creatives, newest first (thumbnails not loaded), and the
        total count."""
        total = await self._s.scalar(
            select(func.count()).select_from(Creative).where(Creative.user_id == user_id)
        )
        rows = await self._s.scalars(
            select(Creative)
            .options(defer(Creative.thumbnail, raiseload=True))
            .where(Creative.user_id == user_id)
            .order_by(Creative.created_at.desc(), Creative.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(rows), int(total or 0)

    async def get(self, user_id: int, creative_id: int) -> Creative | None:
        """One of the user's creatives (None if someone else's or gone)."""
        return await self._s.scalar(
            select(Creative).where(Creative.id == creative_id, Creative.user_id == user_id)
        )

    async def remove(self, user_id: int, creative_id: int) -> bool:
        """Delete one of the user's creatives (its upload rows go by ON DELETE CASCADE)."""
        result = await self._s.execute(
            delete(Creative).where(Creative.id == creative_id, Creative.user_id == user_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # Uploads --------------------------------------------------------------------------------

    async def upload_for(self, creative_id: int, account_id: int) -> CreativeUpload | None:
        """The creative's upload row for one ad account (finished or claimed)."""
        return await self._s.scalar(
            select(CreativeUpload).where(
                CreativeUpload.creative_id == creative_id,
                CreativeUpload.ad_account_id == account_id,
            )
        )

    async def uploads_of(self, creative_id: int) -> list[CreativeUpload]:
        """Finished uploads of a creative."""
        rows = await self._s.scalars(
            select(CreativeUpload)
            .where(CreativeUpload.creative_id == creative_id, CreativeUpload.tiktok_id != PENDING)
            .order_by(CreativeUpload.id)
        )
        return list(rows)

    async def claim_upload(
        self, creative_id: int, account_id: int, now: datetime, stale_before: datetime
    ) -> bool:
        """Claim the upload of a creative to an ad account: a new pending row, or a pending row
        whose claimer went quiet before `stale_before`. False if someone else holds it (or it
        is done)."""
        stmt = (
            self._insert()(CreativeUpload)
            .values(
                creative_id=creative_id,
                ad_account_id=account_id,
                tiktok_id=PENDING,
                uploaded_at=now,
            )
            .on_conflict_do_nothing(index_elements=["creative_id", "ad_account_id"])
        )
        if (await self._s.execute(stmt)).rowcount:  # type: ignore[attr-defined]
            return True
        taken = await self._s.execute(
            update(CreativeUpload)
            .where(
                CreativeUpload.creative_id == creative_id,
                CreativeUpload.ad_account_id == account_id,
                CreativeUpload.tiktok_id == PENDING,
                CreativeUpload.uploaded_at < stale_before,
            )
            .values(uploaded_at=now)
        )
        return bool(taken.rowcount)  # type: ignore[attr-defined]

    async def renew_upload(
        self, creative_id: int, account_id: int, claimed_at: datetime, now: datetime
    ) -> bool:
        """Keep a claim alive while its upload runs (so it is not taken for abandoned); False
        if it is no longer this claim (finished, given back or taken over)."""
        result = await self._s.execute(
            update(CreativeUpload)
            .where(
                CreativeUpload.creative_id == creative_id,
                CreativeUpload.ad_account_id == account_id,
                CreativeUpload.tiktok_id == PENDING,
                CreativeUpload.uploaded_at == claimed_at,
            )
            .values(uploaded_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def record_upload(
        self, creative_id: int, account_id: int, tiktok_id: str, now: datetime
    ) -> None:
        """Store TikTok's id for the creative in that ad account (finishing a claim)."""
        stmt = self._insert()(CreativeUpload).values(
            creative_id=creative_id, ad_account_id=account_id, tiktok_id=tiktok_id, uploaded_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["creative_id", "ad_account_id"],
            set_={"tiktok_id": tiktok_id, "uploaded_at": now},
        )
        await self._s.execute(stmt)

    async def release_upload(self, creative_id: int, account_id: int, claimed_at: datetime) -> None:
        """Give back a claim that failed, so the next caller tries again at once."""
        await self._s.execute(
            delete(CreativeUpload).where(
                CreativeUpload.creative_id == creative_id,
                CreativeUpload.ad_account_id == account_id,
                CreativeUpload.tiktok_id == PENDING,
                CreativeUpload.uploaded_at == claimed_at,
            )
        )
