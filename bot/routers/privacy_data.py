"""/mydata and /export: what is stored about the user, and all of it as a ZIP."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.callbacks import PrivacyDataCb
from bot.routers.menu import sign_up_first
from bot.screens import edit
from bot.views import privacy_data as view
from core.clock import Clock
from core.privacy import export
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="privacy_data")


@router.message(Command("mydata"))
async def my_data(message: Message, db_user: User | None, uow: UnitOfWorkFactory) -> None:
    """Show what is stored about the user, by category, with counts, dates and consents."""
    if db_user is None:
        await message.answer(sign_up_first())
        return
    found = await export.inventory(uow, db_user.id)
    text, markup = view.my_data(db_user, found)
    await message.answer(text, reply_markup=markup)


@router.message(Command("export"))
async def export_command(
    message: Message, db_user: User | None, bot: Bot, uow: UnitOfWorkFactory, clock: Clock
) -> None:
    """Queue an export of all the user's data."""
    if db_user is None:
        await message.answer(sign_up_first())
        return
    await _start(bot, db_user, uow, clock)


@router.callback_query(PrivacyDataCb.filter(F.a == "export"))
async def export_pressed(
    query: CallbackQuery, db_user: User | None, bot: Bot, uow: UnitOfWorkFactory, clock: Clock
) -> None:
    """/mydata's "📦 Export": the same as /export, for the presser's own data only."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    await query.answer()
    await _start(bot, db_user, uow, clock)


async def _start(bot: Bot, user: User, uow: UnitOfWorkFactory, clock: Clock) -> None:
    # The progress message goes out first and its id is queued with the export, so the worker
    # (which may claim it at once) always has the message to edit; a refusal replaces it.
    message = await bot.send_message(user.id, view.export_starting())
    result = await export.request_export(uow, clock, user.id, message.message_id)
    if isinstance(result, export.Queued):
        return
    if isinstance(result, export.Busy):
        text = view.export_busy(result.requested_at, user.time_zone)
    else:
        text = view.export_rate_limited(result.next_at, user.time_zone)
    await edit(bot.edit_message_text(text, chat_id=user.id, message_id=message.message_id))
