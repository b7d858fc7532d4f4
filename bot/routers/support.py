"""/support: a user's message becomes a ticket; an operator answers it from their own chat."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n

from bot.callbacks import TicketCb
from bot.filters import NOT_TEXT, TYPED
from bot.i18n import guess_language
from bot.routers.menu import sign_up_first
from bot.states import SupportStates
from bot.views import support as view
from core.settings import Settings
from core.support import MAX_TEXT, TicketNotFound, open_ticket, reply_to_ticket
from core.users import get_user
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="support")
log = logging.getLogger(__name__)


@router.message(Command("support"))
async def support_command(message: Message, state: FSMContext, db_user: User | None) -> None:
    """Ask for the question."""
    if db_user is None:
        await message.answer(sign_up_first())
        return
    await state.set_state(SupportStates.question)
    await message.answer(view.ask_question())


@router.message(SupportStates.question, TYPED)
async def question(
    message: Message,
    state: FSMContext,
    db_user: User | None,
    bot: Bot,
    uow: UnitOfWorkFactory,
    settings: Settings,
    i18n: I18n,
) -> None:
    """Store the ticket, confirm it, and forward it to every operator."""
    if db_user is None:
        await state.clear()
        await message.answer(sign_up_first())
        return
    text = message.text or ""
    if len(text) > MAX_TEXT:  # the copy for the operators must fit one message with its header
        await message.answer(view.too_long(len(text), MAX_TEXT))
        return
    ticket_id = await open_ticket(uow, db_user.id, text)
    await state.clear()
    await message.answer(view.ticket_opened(ticket_id))
    for admin_id in settings.admin_id_set:
        admin = await get_user(uow, admin_id)
        with i18n.use_locale(admin.language if admin else "en"):
            body, kb = view.for_operator(
                ticket_id, db_user.first_name, db_user.id, db_user.username, text
            )
        try:
            await bot.send_message(admin_id, body, reply_markup=kb)
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            # The ticket is stored either way; an operator who never opened the bot is skipped.
            log.warning(
                "support.forward_failed", extra={"admin_id": admin_id, "error": exc.message}
            )


@router.message(SupportStates.question, NOT_TEXT)
async def question_not_text(message: Message) -> None:
    """Only text makes a ticket."""
    await message.answer(view.text_only())


@router.callback_query(TicketCb.filter())
async def reply_pressed(
    query: CallbackQuery, callback_data: TicketCb, state: FSMContext, settings: Settings
) -> None:
    """An operator starts answering a ticket; anyone else is refused."""
    if query.from_user.id not in settings.admin_id_set:
        await query.answer(view.operators_only(), show_alert=True)
        return
    await state.set_state(SupportStates.operator_reply)
    await state.update_data(ticket_id=callback_data.ticket_id, ticket_user=callback_data.user_id)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(view.operator_prompt(callback_data.ticket_id))


@router.message(SupportStates.operator_reply, TYPED)
async def operator_answer(
    message: Message,
    state: FSMContext,
    bot: Bot,
    uow: UnitOfWorkFactory,
    settings: Settings,
    i18n: I18n,
) -> None:
    """Store the operator's answer and deliver it to the user in the user's language."""
    if message.from_user is None or message.from_user.id not in settings.admin_id_set:
        await state.clear()
        await message.answer(view.operators_only())
        return
    text = message.text or ""
    if len(text) > MAX_TEXT:  # the answer must fit one message with its header (stay in state)
        await message.answer(view.too_long(len(text), MAX_TEXT))
        return
    ticket_id = int(await state.get_value("ticket_id", 0))
    owner = await state.get_value("ticket_user")
    await state.clear()
    try:
        ref = await reply_to_ticket(uow, ticket_id, message.from_user.id, text,
                                    int(owner) if owner is not None else None)
    except TicketNotFound:
        await message.answer(view.no_ticket(ticket_id))
        return
    with i18n.use_locale(guess_language(ref.user_language)):
        answer = view.answer_for_user(ref.ticket_id, text)
    try:
        await bot.send_message(ref.user_id, answer)
    except (TelegramForbiddenError, TelegramBadRequest):
        await message.answer(view.not_delivered(ref.ticket_id))
        return
    await message.answer(view.delivered(ref.ticket_id))


@router.message(SupportStates.operator_reply, NOT_TEXT)
async def operator_not_text(message: Message) -> None:
    """Only text answers are delivered."""
    await message.answer(view.text_only())
