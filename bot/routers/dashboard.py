"""/web: a one-time sign-in link to the web dashboard (web/), and its Mini App button."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.routers.menu import sign_up_first
from bot.views import dashboard as view
from core.clock import Clock
from core.settings import Settings
from core.web_auth import issue_link
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="dashboard")


@router.message(Command("web"))
async def web_command(
    message: Message, db_user: User | None, uow: UnitOfWorkFactory, clock: Clock,
    settings: Settings,
) -> None:
    """Send a sign-in link (signed-up users only) and the Mini App button."""
    token = await issue_link(uow, clock, db_user.id) if db_user is not None else None
    if token is None:
        await message.answer(sign_up_first())
        return
    text, keyboard = view.signin(f"{settings.public_url}/app/signin/{token}",
                                 settings.dashboard_url)
    await message.answer(text, reply_markup=keyboard)
