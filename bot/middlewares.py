"""Outer middlewares: load the stored user once per update for handlers and the locale."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from core.users import get_user
from storage.uow import UnitOfWorkFactory


class UserMiddleware(BaseMiddleware):
    """Puts `db_user` (the registered user or None) into handler data."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Load the user, then continue."""
        tg_user = data.get("event_from_user")
        data["db_user"] = await get_user(self._uow, tg_user.id) if tg_user else None
        return await handler(event, data)
