"""/cancel leaves any flow."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

router = Router(name="cancel")


@router.message(Command("cancel"))
async def cancel(message: Message, state: FSMContext) -> None:
    """Forget the current flow's state and say what that means."""
    current = await state.get_state()
    await state.clear()
    if current is None:
        text = _("There is nothing to cancel. Open /menu or see /help.")
    elif current.startswith("SignUpStates"):
        text = _("Sign-up cancelled. Nothing was stored. Send /start to begin again.")
    else:
        text = _("Cancelled. Nothing was changed. Open /menu to continue.")
    await message.answer(text)
