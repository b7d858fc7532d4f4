"""/delete_account, and operators' erasure on a support request or a report of a minor."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.types import CallbackQuery, Message

from bot.callbacks import EraseCb
from bot.filters import NOT_TEXT, TYPED
from bot.routers.billing import editor
from bot.routers.menu import sign_up_first
from bot.states import DeleteStates
from bot.views import privacy_delete as view
from bot.views.common import stale
from core.billing import subscription
from core.clock import Clock
from core.privacy.erase import erasure_target, request_erasure
from core.settings import Settings
from core.tiktok import TikTokClient
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="privacy_delete")
CONFIRM_WITHIN = view.CONFIRM_WITHIN  # a confirmation typed much later is not taken as one


async def stop_renewal(bot: Bot, uow: UnitOfWorkFactory, clock: Clock, user_id: int) -> str | None:
    """Stop the Stars subscription of an account about to be deleted (Telegram would go on
    charging it every period): the line saying how that went, None when nothing renewed."""
    outcome = await subscription.cancel(uow, clock, user_id, editor(bot, user_id))
    if outcome.done:
        return view.renewal_stopped()
    if outcome.problem == subscription.REFUSED:
        return view.renewal_left(outcome.error or "?")
    return None


def _with(text: str, line: str | None) -> str:
    return text if line is None else f"{text}\n\n{line}"


@router.message(Command("delete_account"))
async def delete_account(
    message: Message, state: FSMContext, db_user: User | None, clock: Clock
) -> None:
    """Explain what deleting the account does and ask for the typed confirmation word."""
    if db_user is None:
        await state.clear()
        await message.answer(sign_up_first())
        return
    await state.set_state(DeleteStates.confirm)
    await state.update_data(delete_asked=clock.now().timestamp())
    await message.answer(view.explain())


@router.message(DeleteStates.confirm, TYPED)
async def confirmation(
    message: Message,
    state: FSMContext,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    clock: Clock,
    settings: Settings,
    bot: Bot,
    tiktok: TikTokClient | None = None,
) -> None:
    """The confirmation word deletes the account; anything else deletes nothing."""
    asked = float(await state.get_value("delete_asked", 0))
    await state.clear()
    if db_user is None:
        await message.answer(sign_up_first())
        return
    # Exactly the word, capitals too: a casual "delete" must not erase an account for good.
    if (message.text or "").strip() != view.confirm_word():
        await message.answer(view.not_deleted())
        return
    if clock.now().timestamp() - asked > CONFIRM_WITHIN:
        await message.answer(view.expired())
        return
    renewal = await stop_renewal(bot, uow, clock, db_user.id)
    await request_erasure(uow, clock, tiktok, db_user.id, pause=settings.erase_pause_seconds)
    # The database's conversation state went with the erasure; Redis's is the bot's to clear.
    await state.clear()
    await message.answer(_with(view.deleted(), renewal))


@router.message(DeleteStates.confirm, NOT_TEXT)
async def confirmation_not_text(message: Message, state: FSMContext) -> None:
    """A sticker or photo is not a confirmation: nothing is deleted."""
    await state.clear()
    await message.answer(view.not_deleted())


@router.message(Command("erase"))
async def erase_command(
    message: Message, command: CommandObject, uow: UnitOfWorkFactory, settings: Settings
) -> None:
    """An operator's /erase TELEGRAM_ID support|minor: confirm with a button first."""
    if message.from_user is None or message.from_user.id not in settings.admin_id_set:
        await message.answer(view.operators_only())
        return
    parts = (command.args or "").split()
    if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in view.REASONS:
        await message.answer(view.erase_usage())
        return
    target = await erasure_target(uow, int(parts[0]))
    if target is None:
        await message.answer(view.no_such_account(int(parts[0])))
        return
    text, kb = view.erase_confirm(target.user_id, target.first_name, target.username, parts[1],
                                  target.deleting)
    await message.answer(text, reply_markup=kb)


@router.callback_query(EraseCb.filter())
async def erase_pressed(
    query: CallbackQuery,
    callback_data: EraseCb,
    uow: UnitOfWorkFactory,
    clock: Clock,
    settings: Settings,
    bot: Bot,
    fsm_storage: BaseStorage,
    tiktok: TikTokClient | None = None,
) -> None:
    """Erase now (or cancel); only an operator's press counts, checked on every press."""
    if query.from_user.id not in settings.admin_id_set:
        await query.answer(view.operators_only(), show_alert=True)
        return
    message = query.message if isinstance(query.message, Message) else None
    if not callback_data.ok:
        await query.answer()
        if message is not None:
            await message.edit_text(view.erase_cancelled(callback_data.u))
        return
    if callback_data.r not in view.REASONS:  # a forged payload
        await query.answer(stale(), show_alert=True)
        return
    await query.answer()
    renewal = await stop_renewal(bot, uow, clock, callback_data.u)
    try:
        info = await request_erasure(uow, clock, tiktok, callback_data.u, callback_data.r,
                                     query.from_user.id, pause=settings.erase_pause_seconds)
    except LookupError:  # erased meanwhile (pressed twice, or by another operator)
        if message is not None:
            await message.edit_text(view.no_such_account(callback_data.u))
        return
    # Their conversation state, wherever the FSM lives (Redis is not reached by the erasure).
    key = StorageKey(bot_id=bot.id, chat_id=callback_data.u, user_id=callback_data.u)
    await fsm_storage.set_state(key, None)
    await fsm_storage.set_data(key, {})
    if message is not None:
        await message.edit_text(_with(view.erased(callback_data.u, callback_data.r,
                                                  info.pseudonym, info.rows), renewal))
