"""Campaign templates: a user's saved template documents, by name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Template


class TemplatesRepo:
    """Reads and writes the user's templates; every lookup is by owner; never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def of_user(self, user_id: int, limit: int = 100, offset: int = 0) -> list[Template]:
        """A page of the user's templates, by name (case-insensitive)."""
        return list(
            await self._s.scalars(
                select(Template)
                .where(Template.user_id == user_id)
                .order_by(func.lower(Template.name), Template.name, Template.id)
                .limit(limit)
                .offset(offset)
            )
        )

    async def count(self, user_id: int) -> int:
        """How many templates the user has."""
        return int(
            await self._s.scalar(
                select(func.count()).select_from(Template).where(Template.user_id == user_id)
            )
            or 0
        )

    async def get(self, user_id: int, template_id: int) -> Template | None:
        """One of the user's templates (None if someone else's or gone)."""
        return await self._s.scalar(
            select(Template).where(Template.id == template_id, Template.user_id == user_id)
        )

    async def by_name(self, user_id: int, name: str) -> Template | None:
        """The user's template with exactly this name."""
        return await self._s.scalar(
            select(Template).where(Template.user_id == user_id, Template.name == name)
        )

    async def names(self, user_id: int) -> set[str]:
        """Every name the user's templates have."""
        return set(await self._s.scalars(select(Template.name).where(Template.user_id == user_id)))

    def add(self, template: Template) -> None:
        """Stage a new template."""
        self._s.add(template)

    async def update(
        self,
        user_id: int,
        template_id: int,
        *,
        name: str | None = None,
        document: dict[str, Any] | None = None,
    ) -> Template | None:
        """Change one of the user's templates' name and/or document (None if not theirs)."""
        row = await self.get(user_id, template_id)
        if row is None:
            return None
        if name is not None:
            row.name = name
        if document is not None:
            row.document = document
        return row

    async def remove(self, user_id: int, template_id: int) -> bool:
        """Delete one of the user's templates; launches made from it keep their own copy."""
        result = await self._s.execute(
            delete(Template).where(Template.id == template_id, Template.user_id == user_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
