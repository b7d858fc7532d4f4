"""Identities per ad account (under Accounts): list them, create a custom identity from a
display name and an avatar. Every ad account id in a button is re-checked against the presser."""

from __future__ import annotations

import contextlib

import aiohttp
from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot import downloads
from bot.callbacks import IdentityCb
from bot.filters import TYPED
from bot.routers.menu import sign_up_first
from bot.screens import edit, show
from bot.states import IdentityStates
from bot.views import Screen
from bot.views import accounts as accounts_view
from bot.views import identities as view
from bot.views.common import stale
from core.feature_access import FeatureError
from core.identities import (
    check_display_name,
    create_identity,
    identities,
    identity_accounts,
)
from core.tiktok import TikTokClient
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="identities")
ACCOUNT_KEY, NAME_KEY = "identity_account", "identity_name"


async def list_screen(
    uow: UnitOfWorkFactory, client: TikTokClient, user: User, account_id: int
) -> Screen:
    """An ad account's identities (raises FeatureError)."""
    found = await identities(uow, client, user.id, account_id)
    many = len(await identity_accounts(uow, user.id)) > 1
    return view.identity_list(found, many)


@router.callback_query(IdentityCb.filter())
async def identity_action(
    query: CallbackQuery,
    callback_data: IdentityCb,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    tiktok: TikTokClient | None,
    state: FSMContext,
) -> None:
    """Every Identities button; the ad account is checked against the presser first."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    if tiktok is None:
        await query.answer(accounts_view.not_configured(), show_alert=True)
        return
    a, account_id = callback_data.a, callback_data.id
    accounts = await identity_accounts(uow, db_user.id)
    if a == "pick":
        if not accounts:
            await query.answer(view.not_found(), show_alert=True)
            return
        if len(accounts) > 1:
            await show(query, view.pick_account(accounts, callback_data.n))
            await query.answer()
            return
        a, account_id = "list", accounts[0].id
    account = next((acc for acc in accounts if acc.id == account_id), None)
    if account is None or a not in ("list", "new", "skip"):
        await query.answer(view.not_found(), show_alert=True)
        return
    if a == "list":
        if await state.get_state() in (IdentityStates.name.state, IdentityStates.avatar.state):
            await state.set_state(None)  # "Cancel" of a new identity
        try:
            await show(query, await list_screen(uow, tiktok, db_user, account.id))
        except FeatureError as exc:
            await query.answer(view.error(exc), show_alert=True)
            return
    elif a == "new":
        await state.set_state(IdentityStates.name)
        await state.update_data({ACCOUNT_KEY: account.id, NAME_KEY: None})
        await show(query, view.ask_name(account))
    else:  # skip the avatar
        data = await state.get_data()
        if (
            await state.get_state() != IdentityStates.avatar.state
            or data.get(ACCOUNT_KEY) != account.id
            or not data.get(NAME_KEY)
        ):
            await query.answer(stale(), show_alert=True)
            return
        await query.answer()
        if isinstance(query.message, Message):
            await _create(query.message, uow, tiktok, db_user, state, None)
        return
    await query.answer()


@router.message(IdentityStates.name, TYPED)
async def receive_name(message: Message, db_user: User | None, state: FSMContext) -> None:
    """The display name of a new identity."""
    if db_user is None:
        await message.answer(sign_up_first())
        return
    try:
        name = check_display_name(message.text or "")
    except FeatureError as exc:
        await message.answer(view.error(exc))
        return
    account_id = int((await state.get_data()).get(ACCOUNT_KEY) or 0)
    await state.update_data({NAME_KEY: name})
    await state.set_state(IdentityStates.avatar)
    await show(message, view.ask_avatar(account_id, name))


def _image(message: Message) -> tuple[str, int | None] | None:
    """(file_id, size) of the photo or image file of a message, or None."""
    if message.photo:
        return message.photo[-1].file_id, message.photo[-1].file_size
    doc = message.document
    if doc is not None and (doc.mime_type or "").lower().startswith("image/"):
        return doc.file_id, doc.file_size
    return None


@router.message(IdentityStates.avatar, F.photo | F.document)
async def receive_avatar(
    message: Message,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    tiktok: TikTokClient | None,
    bot: Bot,
    state: FSMContext,
) -> None:
    """The avatar of a new identity: downloaded from Telegram, then the identity is created."""
    if db_user is None:
        await message.answer(sign_up_first())
        return
    found = _image(message)
    if found is None:
        await message.answer(view.avatar_hint())
        return
    file_id, size = found
    if downloads.too_big(size):
        await message.answer(view.too_big())  # telegram-bot-platform §1: getFile ≤ 20 MB
        return
    if tiktok is None:
        await message.answer(accounts_view.not_configured())
        return
    try:
        data = await downloads.download(bot, file_id, size)
    except downloads.TooBigToDownload:
        await message.answer(view.too_big())
        return
    except (TelegramAPIError, aiohttp.ClientError, TimeoutError):
        await message.answer(view.download_failed())
        return
    await _create(message, uow, tiktok, db_user, state, data)


@router.message(IdentityStates.avatar)
async def avatar_expected(message: Message) -> None:
    """Anything else where the avatar is expected."""
    await message.answer(view.avatar_hint())


async def _create(
    message: Message,
    uow: UnitOfWorkFactory,
    client: TikTokClient | None,
    user: User,
    state: FSMContext,
    avatar: bytes | None,
) -> None:
    """Create the identity from the conversation's name and this avatar; show the list."""
    data = await state.get_data()
    account_id, name = int(data.get(ACCOUNT_KEY) or 0), str(data.get(NAME_KEY) or "")
    if client is None:
        await message.answer(accounts_view.not_configured())
        return
    progress = await message.answer(view.creating())
    try:
        made = await create_identity(uow, client, user.id, account_id, name, avatar)
    except FeatureError as exc:
        with contextlib.suppress(TelegramBadRequest):
            await progress.edit_text(view.error(exc))
        if exc.code in ("account", "reconnect", "display_name"):
            await state.set_state(None)  # nothing more to send for this identity
        return
    await state.set_state(None)
    await edit(progress.edit_text(view.created(made)))
    try:
        await show(message, await list_screen(uow, client, user, account_id))
    except FeatureError as exc:
        await message.answer(view.error(exc))
