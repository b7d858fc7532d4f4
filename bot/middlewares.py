"""Outer middlewares: load the stored user once per update for handlers and the locale."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _

from core.users import get_user, mark_returned, profile_changes, refresh_profile
from storage.uow import UnitOfWorkFactory


class UserMiddleware(BaseMiddleware):
    """Puts `db_user` (the registered user or None) into handler data (`uow` comes from there)."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Load the user, then continue."""
        tg_user = data.get("event_from_user")
        uow: UnitOfWorkFactory = data["uow"]
        user = await get_user(uow, tg_user.id) if tg_user else None
        if user is not None and user.blocked_at is not None:
            # Writing to the bot means it is unblocked, even if the my_chat_member update
            # saying so was lost (bot/routers/membership.py handles that update).
            await mark_returned(uow, data["clock"], user.id)
            user.blocked_at = None
        if user is not None and tg_user is not None and profile_changes(
            user, tg_user.first_name, tg_user.last_name, tg_user.username
        ):
            # Rectification: the name and username follow the Telegram profile (written only
            # when they changed, so an ordinary update costs no write).
            user = await refresh_profile(
                uow, data["clock"], user.id, tg_user.first_name, tg_user.last_name,
                tg_user.username,
            ) or user
        data["db_user"] = user
        return await handler(event, data)


class PrivateChatsOnly(BaseMiddleware):
    """TTPulse talks to each user in their private chat; a press is honoured only from its owner.

    In a private chat the chat id is the user's id, so a callback whose message belongs to another
    chat (a group the bot was added to, a forwarded keyboard) is refused before any handler runs.
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Drop group messages; answer foreign button presses with a refusal."""
        if isinstance(event, Message):
            if event.chat.type != "private":
                return None
        elif isinstance(event, CallbackQuery):
            msg = event.message
            if msg is None or msg.chat.type != "private" or msg.chat.id != event.from_user.id:
                await event.answer(_("This button is not yours."), show_alert=True)
                return None
        return await handler(event, data)
