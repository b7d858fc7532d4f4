"""The catch-all, last in order: anything no feature took gets a clear reply."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.states import BUTTON_STATES
from bot.views import signup as signup_view
from bot.views.common import stale
from storage.models import User

router = Router(name="fallback")


@router.message(StateFilter(*BUTTON_STATES))
async def expected_button(message: Message) -> None:
    """Typed text where only a button moves forward."""
    await message.answer(signup_view.use_buttons())


@router.message()
async def unknown_message(message: Message, db_user: User | None) -> None:
    """Text, commands or media nothing else handled."""
    if db_user is None:
        await message.answer(_("Send /start to sign up for TTPulse."))
    else:
        await message.answer(_("I didn't understand that. Open /menu or see /help."))


@router.callback_query()
async def stale_button(query: CallbackQuery) -> None:
    """A button from an old message, a finished flow, or a forged payload."""
    await query.answer(stale(), show_alert=True)
