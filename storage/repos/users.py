"""Users repository."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import User


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
