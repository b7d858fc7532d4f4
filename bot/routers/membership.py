"""The user blocking and unblocking the bot (my_chat_member updates in their private chat)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated

from core.clock import Clock
from core.users import mark_blocked, mark_returned
from storage.uow import UnitOfWorkFactory

router = Router(name="membership")
router.my_chat_member.filter(F.chat.type == "private")


@router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=KICKED))
async def blocked(event: ChatMemberUpdated, uow: UnitOfWorkFactory, clock: Clock) -> None:
    """The user blocked the bot: hold their alerts."""
    await mark_blocked(uow, clock, event.from_user.id)


@router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=MEMBER))
async def returned(event: ChatMemberUpdated, uow: UnitOfWorkFactory, clock: Clock) -> None:
    """The user unblocked the bot: what waited goes out."""
    await mark_returned(uow, clock, event.from_user.id)
