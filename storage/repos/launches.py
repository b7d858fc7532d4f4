"""Bulk launches and their planned items."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from storage import leases
from storage.models import Creative, Launch, LaunchItem, Template

RUNNABLE = ("approved", "scheduled", "running")
NOT_STARTED = ("proposed", "rejected", "expired")


class LaunchesRepo:
    """Reads and moves launches; claims runnable ones with a lease."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, launch: Launch, items: Sequence[LaunchItem]) -> None:
        """Stage a launch with its whole plan."""
        self._s.add(launch)
        await self._s.flush()  # the launch's id, for its items
        for item in items:
            item.launch_id = launch.id
        self._s.add_all(items)

    async def creatives(self, user_id: int, ids: Sequence[int]) -> list[Creative]:
        """The user's creatives among `ids` (others' ids are simply not found)."""
        return list(
            await self._s.scalars(
                select(Creative).where(Creative.user_id == user_id, Creative.id.in_(list(ids)))
            )
        )

    async def choices(
        self, user_id: int, limit: int | None = None
    ) -> tuple[list[Template], list[Creative]]:
        """The user's templates (by name) and creatives (newest first), to launch from: all of
        them by default (a launch may use any; the screens page them)."""
        templates = await self._s.scalars(
            select(Template).where(Template.user_id == user_id).order_by(Template.name).limit(limit)
        )
        creatives = await self._s.scalars(
            select(Creative)
            .where(Creative.user_id == user_id)
            .order_by(Creative.id.desc())
            .limit(limit)
            .options(defer(Creative.thumbnail))  # not shown when picking; a library can be big
        )
        return list(templates), list(creatives)

    async def get(self, user_id: int, launch_id: int) -> Launch | None:
        """One of the user's launches (None if someone else's or gone)."""
        return await self._s.scalar(
            select(Launch).where(Launch.id == launch_id, Launch.user_id == user_id)
        )

    async def of_user(self, user_id: int, limit: int, offset: int = 0) -> list[Launch]:
        """The user's launches, newest first."""
        return list(
            await self._s.scalars(
                select(Launch)
                .where(Launch.user_id == user_id)
                .order_by(Launch.id.desc())
                .limit(limit)
                .offset(offset)
            )
        )

    async def made_since(self, user_id: int, since: datetime) -> list[Launch]:
        """The user's launches proposed since `since` and not rejected or expired, newest
        first."""
        return list(
            await self._s.scalars(
                select(Launch)
                .where(
                    Launch.user_id == user_id,
                    Launch.created_at >= since,
                    Launch.state.not_in(("rejected", "expired")),
                )
                .order_by(Launch.id.desc())
            )
        )

    async def count(self, user_id: int) -> int:
        """How many launches the user has."""
        return int(await self._s.scalar(select(func.count()).where(Launch.user_id == user_id)) or 0)

    async def count_started(self, user_id: int, since: datetime) -> int:
        """How many of the user's launches were started (approved, whatever came of them) since
        `since`; proposals nobody approved do not count."""
        return int(
            await self._s.scalar(
                select(func.count()).where(
                    Launch.user_id == user_id,
                    Launch.decided_at >= since,
                    Launch.state.not_in(NOT_STARTED),
                )
            )
            or 0
        )

    async def items(self, launch_id: int) -> list[LaunchItem]:
        """A launch's plan in creation order."""
        return list(
            await self._s.scalars(
                select(LaunchItem).where(LaunchItem.launch_id == launch_id).order_by(LaunchItem.seq)
            )
        )

    async def item_counts(self, launch_id: int) -> dict[str, int]:
        """Items per state."""
        rows = await self._s.execute(
            select(LaunchItem.state, func.count())
            .where(LaunchItem.launch_id == launch_id)
            .group_by(LaunchItem.state)
        )
        return {state: int(n) for state, n in rows}

    async def transition(
        self,
        launch_id: int,
        user_id: int | None,
        from_states: Sequence[str],
        to_state: str,
        *,
        not_expired_at: datetime | None = None,
        **values: Any,
    ) -> Launch | None:
        """Move a launch between states if it is still in `from_states` (one conditional
        UPDATE: a decision counts once however often it is pressed)."""
        where = [Launch.id == launch_id, Launch.state.in_(list(from_states))]
        if user_id is not None:
            where.append(Launch.user_id == user_id)
        if not_expired_at is not None:
            where.append(Launch.expires_at > not_expired_at)
        done = await self._s.scalar(
            update(Launch).where(*where).values(state=to_state, **values).returning(Launch.id)
        )
        if done is None:
            return None
        return await self._s.get(Launch, launch_id, populate_existing=True)

    async def expire_due(self, now: datetime) -> list[Launch]:
        """Close proposals nobody approved in time; the launches closed."""
        ids = list(
            await self._s.scalars(
                update(Launch)
                .where(Launch.state == "proposed", Launch.expires_at <= now)
                .values(state="expired")
                .returning(Launch.id)
            )
        )
        if not ids:
            return []
        return list(await self._s.scalars(select(Launch).where(Launch.id.in_(ids))))

    async def claim(self, now: datetime, owner: str, lease_until: datetime) -> Launch | None:
        """Lease one launch that is due: approved, scheduled and its time has come, or running
        with a lapsed lease (its worker died: resume it)."""
        free = or_(Launch.lease_until.is_(None), Launch.lease_until < now)
        due = or_(Launch.run_at.is_(None), Launch.run_at <= now)
        pick = (
            select(Launch.id, Launch.lease_until)
            .where(Launch.state.in_(RUNNABLE), due, free)
            .order_by(Launch.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        values = {"lease_owner": owner, "lease_until": lease_until}
        ids = await leases.claim_ids(self._s, Launch, pick, free, values, "launches")
        if not ids:
            return None
        launch_id = ids[0]
        return await self._s.get(Launch, launch_id, populate_existing=True)

    async def renew(self, launch_id: int, owner: str, lease_until: datetime) -> bool:
        """Extend a held lease; False when another worker took the launch over."""
        result = await self._s.execute(
            update(Launch)
            .where(Launch.id == launch_id, Launch.lease_owner == owner)
            .values(lease_until=lease_until)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def release_all(self, owner: str) -> None:
        """Give back every lease this worker holds (clean shutdown)."""
        await self._s.execute(
            update(Launch)
            .where(Launch.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )

    async def update(self, launch_id: int, **values: Any) -> None:
        """Write fields of a launch."""
        await self._s.execute(update(Launch).where(Launch.id == launch_id).values(**values))

    async def update_item(self, item_id: int, **values: Any) -> None:
        """Write fields of one planned item."""
        await self._s.execute(update(LaunchItem).where(LaunchItem.id == item_id).values(**values))
