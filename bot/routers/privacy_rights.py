"""/privacy generated from the inventory, pause/resume, consent withdrawal, the activity list,
and the operator's /broadcast of news (only to users who opted in; previewed first)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.callbacks import NewsCb, PrivacyCb
from bot.routers.admin import preview_broadcast
from bot.routers.menu import sign_up_first
from bot.screens import show
from bot.views import privacy as view
from bot.views import settings as settings_view
from bot.views.common import stale
from core.clock import Clock
from core.privacy import rights
from core.settings import Settings
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="privacy_rights")


async def _policy(
    uow: UnitOfWorkFactory, clock: Clock, user: User | None, page: int
) -> view.Screen:
    purges = await rights.pending_purges(uow, user.id) if user is not None else []
    return view.policy_page(user, purges, clock.now(), page)


@router.message(Command("privacy"))
async def privacy_command(
    message: Message, db_user: User | None, uow: UnitOfWorkFactory, clock: Clock
) -> None:
    """The privacy policy; for a signed-up user with the dates that apply to them now."""
    await show(message, await _policy(uow, clock, db_user, 0))


@router.callback_query(PrivacyCb.filter())
async def privacy_action(
    query: CallbackQuery,
    callback_data: PrivacyCb,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    clock: Clock,
) -> None:
    """Policy pages (anyone), and for the presser's own account: activity, pause, resume."""
    action, n = callback_data.a, callback_data.n
    if action == "page":
        await show(query, await _policy(uow, clock, db_user, n))
        await query.answer()
        return
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    answer: str | None = None
    if action == "activity":
        page = await rights.activity(uow, db_user.id, n)
        screen = view.activity(page, db_user.time_zone, clock.now())
    elif action == "pause":
        screen = view.pause_confirm() if db_user.paused_at is None else view.paused_done(db_user)
    elif action == "pause_ok":
        user = await rights.pause(uow, clock, db_user.id)
        screen = view.paused_done(user)
    elif action == "resume":
        if db_user.paused_at is None:
            screen = settings_view.overview(db_user, clock.now())
        else:
            screen = view.resume_confirm(db_user)
    elif action == "resume_ok":
        user = await rights.resume(uow, clock, db_user.id)
        text, markup = settings_view.overview(user, clock.now())
        screen = (view.resumed_done() + "\n\n" + text, markup)
        answer = view.resumed_done()
    else:
        await query.answer(stale(), show_alert=True)
        return
    await show(query, screen)
    await query.answer(answer)


@router.callback_query(NewsCb.filter())
async def news_action(
    query: CallbackQuery,
    callback_data: NewsCb,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    clock: Clock,
) -> None:
    """🔕 Unsubscribe: withdraw news consent at once; only the recipient may press it."""
    if callback_data.a != "unsub":
        await query.answer(stale(), show_alert=True)
        return
    if db_user is None or query.from_user.id != callback_data.u:
        await query.answer(view.not_your_button(), show_alert=True)
        return
    try:
        was_on = await rights.unsubscribe(uow, clock, db_user.id)
    except rights.AccountMissing:
        await query.answer(sign_up_first(), show_alert=True)
        return
    await query.answer(view.unsubscribed(was_on), show_alert=True)
    if isinstance(query.message, Message):
        # The button has done its job: drop it, and say so in the chat as well.
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(view.unsubscribed(was_on))


@router.message(Command("broadcast"))
async def broadcast_command(
    message: Message,
    command: CommandObject,
    uow: UnitOfWorkFactory,
    clock: Clock,
    settings: Settings,
) -> None:
    """An operator's news (`/broadcast text`): previewed first, then sent from the preview to
    every user who opted in, through the outbox, with Unsubscribe (/admin → Broadcasts also
    makes service notices)."""
    if message.from_user is None or message.from_user.id not in settings.admin_id_set:
        await message.answer(view.operators_only())
        return
    text = (command.args or "").strip()
    if not text:
        await message.answer(view.broadcast_usage())
        return
    await preview_broadcast(message, uow, clock, message.from_user.id, "news", text)
