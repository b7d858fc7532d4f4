"""The main menu: one message edited in place."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import MenuCb
from bot.screens import show
from bot.views import info as info_view
from bot.views import menu as view
from bot.views import settings as settings_view
from bot.views.common import stale
from core.billing.plans import PlanBook
from core.clock import Clock
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="menu")


def sign_up_first() -> str:
    """Said to someone who has not signed up yet."""
    return _("Please send /start to sign up first.")


@router.message(Command("menu"))
async def open_menu(message: Message, db_user: User | None) -> None:
    """Send the main menu."""
    if db_user is None:
        await message.answer(sign_up_first())
        return
    await show(message, view.main_menu(paused=db_user.paused_at is not None))


@router.callback_query(MenuCb.filter())
async def open_section(
    query: CallbackQuery,
    callback_data: MenuCb,
    db_user: User | None,
    clock: Clock,
    uow: UnitOfWorkFactory,
    plans: PlanBook,
) -> None:
    """Switch the menu message to a section."""
    section = callback_data.section
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    if section == "home":
        await show(query, view.main_menu(paused=db_user.paused_at is not None))
    elif section == "settings":
        await show(query, settings_view.overview(db_user, clock.now()))
    elif section == "billing":
        from bot.routers.billing import billing_screen  # billing imports this module

        await show(query, await billing_screen(uow, plans, clock, db_user))
    elif section == "help":
        await show(query, (info_view.help_text(), view.back_to_menu_kb().as_markup()))
    elif section in view.NOT_BUILT:
        await show(query, view.not_built(section))
    else:
        await query.answer(stale(), show_alert=True)
        return
    await query.answer()
