"""Users repository."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import User


def paused_ids() -> Select[tuple[int]]:
    """The ids of users who paused their account (restriction): automatic work skips them."""
    return select(User.id).where(User.paused_at.is_not(None))


class UserRepo:
    """Reads and writes users."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, user_id: int) -> User | None:
        """A user who has not been deleted, by Telegram id."""
        user = await self._s.get(User, user_id)
        return user if user is not None and user.deleted_at is None else None

    async def get_any(self, user_id: int) -> User | None:
        """A user by Telegram id, deleted or not."""
        return await self._s.get(User, user_id)

    def add(self, user: User) -> None:
        """Stage a new user."""
        self._s.add(user)

    async def by_ids(self, ids: list[int]) -> list[User]:
        """Live users with these ids."""
        rows = await self._s.scalars(
            select(User).where(User.id.in_(ids), User.deleted_at.is_(None))
        )
        return list(rows)

    async def marketing_audience(self, after_id: int, limit: int) -> list[User]:
        """Live users who opted in to news and neither paused their account nor blocked the
        bot, above `after_id` in id order (a broadcast walks them a page at a time)."""
        return list(
            await self._s.scalars(
                select(User)
                .where(
                    User.id > after_id,
                    User.marketing_opt_in.is_(True),
                    User.deleted_at.is_(None),
                    User.paused_at.is_(None),
                    User.blocked_at.is_(None),
                )
                .order_by(User.id)
                .limit(limit)
            )
        )

    async def set_paused(self, user_id: int, paused_at: datetime | None) -> bool:
        """Pause (a time) or resume (None) a live user; False if it was so already."""
        user = await self.get(user_id)
        if user is None or (user.paused_at is None) == (paused_at is None):
            return False
        user.paused_at = paused_at
        return True
