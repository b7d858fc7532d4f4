"""/help (/privacy is generated from the inventory: bot/routers/privacy_rights.py)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.views import info as view

router = Router(name="info")


@router.message(Command("help"))
async def help_command(message: Message) -> None:
    """What TTPulse does and its commands."""
    await message.answer(view.help_text())

