"""The creative library: videos, images and links sent to the bot, listed, opened, renamed and
deleted. Every creative id in a button is re-checked against the presser."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

import aiohttp
from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    Animation,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    Video,
)

from bot import downloads
from bot.callbacks import CreativeCb, MenuCb
from bot.filters import TYPED
from bot.routers.menu import sign_up_first
from bot.screens import edit, show
from bot.states import CreativeStates
from bot.views import creatives as view
from bot.views.common import stale
from core.creatives import (
    IMAGE_FORMATS,
    VIDEO_FORMATS,
    CreativeError,
    KindUnknown,
    add_creative,
    add_creative_from_url,
    creative_card,
    delete_creative,
    library,
    rename_creative,
)
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="creatives")
PROGRESS_FROM = 1024 * 1024  # files bigger than this show a progress message
LINK_KEY, RENAME_KEY = "creative_link", "creative_rename"
_LINK = re.compile(r"^https?://\S+$", re.IGNORECASE)


@dataclass(frozen=True)
class Incoming:
    """A video or image a user sent, as Telegram describes it."""

    kind: str
    file_id: str
    size: int | None
    file_name: str | None
    mime_type: str | None
    duration: int | None = None
    width: int | None = None
    height: int | None = None
    thumb_id: str | None = None


def incoming(message: Message) -> Incoming | None:
    """The video or image of a message (a video, a photo, an animation or a document whose
    type or name says video or image), or None."""
    if message.video is not None:
        return _video(message.video)
    if message.photo:
        p = message.photo[-1]  # the largest size
        return Incoming("image", p.file_id, p.file_size, None, None, None, p.width, p.height)
    if message.animation is not None and (message.animation.mime_type or "").startswith("video/"):
        return _video(message.animation)
    if message.document is not None:
        d = message.document
        mime = (d.mime_type or "").lower()
        ext = (d.file_name or "").rsplit(".", 1)[-1].lower() if "." in (d.file_name or "") else ""
        ext = {"jpeg": "jpg", "mpg": "mpeg", "m4v": "mp4"}.get(ext, ext)
        if mime.startswith("video/") or (not mime.startswith("image/") and ext in VIDEO_FORMATS):
            kind = "video"
        elif mime.startswith("image/") or ext in IMAGE_FORMATS:
            kind = "image"
        else:
            return None
        thumb = d.thumbnail.file_id if d.thumbnail else None
        return Incoming(kind, d.file_id, d.file_size, d.file_name, d.mime_type, thumb_id=thumb)
    return None


def _video(v: Video | Animation) -> Incoming:
    thumb = v.thumbnail.file_id if v.thumbnail else None
    return Incoming(
        "video", v.file_id, v.file_size, v.file_name, v.mime_type, v.duration, v.width, v.height,
        thumb,
    )  # fmt: skip


def is_media(message: Message) -> bool:
    """Filter: the message carries a video or an image."""
    return incoming(message) is not None


async def _replace(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None, photo: bytes | None
) -> None:
    """Show a screen instead of the pressed message: edited when both are text; otherwise the
    message is deleted and a new one sent (a photo message cannot become a text message)."""
    msg = query.message
    if photo is None and isinstance(msg, Message) and not msg.photo:
        await show(query, (text, markup))
        return
    if isinstance(msg, Message):
        with contextlib.suppress(TelegramBadRequest):  # too old to delete: leave it
            await msg.delete()
    if query.bot is None:
        return
    chat = query.from_user.id
    if photo is not None:
        await query.bot.send_photo(
            chat, BufferedInputFile(photo, "thumbnail.jpg"), caption=text, reply_markup=markup
        )
    else:
        await query.bot.send_message(chat, text, reply_markup=markup)


async def _edit_here(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup) -> None:
    """Change the pressed message in place: its caption if it is a photo, else its text."""
    msg = query.message
    if isinstance(msg, Message) and msg.photo:
        await edit(msg.edit_caption(caption=text, reply_markup=markup))
    else:
        await show(query, (text, markup))


async def _send_card(message: Message, uow: UnitOfWorkFactory, user: User, cid: int) -> None:
    found = await creative_card(uow, user.id, cid)
    if found is None:
        await message.answer(view.not_found())
        return
    text, markup = view.card(found, user.time_zone)
    if found.creative.thumbnail:
        photo = BufferedInputFile(found.creative.thumbnail, "thumbnail.jpg")
        await message.answer_photo(photo, caption=text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


# Entry points -------------------------------------------------------------------------------


@router.message(Command("creatives"))
async def creatives_command(
    message: Message, db_user: User | None, uow: UnitOfWorkFactory, state: FSMContext
) -> None:
    """/creatives: the library; files and links sent now are added to it."""
    if db_user is None:
        await message.answer(sign_up_first())
        return
    await state.set_state(CreativeStates.library)
    await show(message, view.library(await library(uow, db_user.id)))


@router.callback_query(MenuCb.filter(F.section == "creatives"))
async def creatives_from_menu(
    query: CallbackQuery, db_user: User | None, uow: UnitOfWorkFactory, state: FSMContext
) -> None:
    """The library from the main menu."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    await state.set_state(CreativeStates.library)
    await show(query, view.library(await library(uow, db_user.id)))
    await query.answer()


# Adding -------------------------------------------------------------------------------------


@router.message(StateFilter(None, CreativeStates.library), is_media)
async def receive_file(
    message: Message, db_user: User | None, uow: UnitOfWorkFactory, bot: Bot, state: FSMContext
) -> None:
    """A video or an image sent to the bot: downloaded from Telegram and added to the library."""
    if db_user is None:
        await message.answer(sign_up_first())
        return
    item = incoming(message)
    assert item is not None
    if downloads.too_big(item.size):
        # telegram-bot-platform §1: getFile refuses files over 20 MB; say so before trying.
        await state.set_state(CreativeStates.library)
        await message.answer(view.too_big(item.size or 0))
        return
    label = item.file_name or view.kind_word(item.kind)
    progress_msg: Message | None = None
    report: downloads.Progress | None = None
    if item.size and item.size > PROGRESS_FROM:
        first = view.receiving(label, 0, item.size)
        progress_msg = shown = await message.answer(first)
        last = [first]

        async def edit(done: int, total: int) -> None:
            text = view.receiving(label, done, total)
            if text != last[0]:  # Telegram refuses an edit that changes nothing
                last[0] = text
                with contextlib.suppress(TelegramBadRequest):
                    await shown.edit_text(text)

        report = edit

    try:
        data = await downloads.download(bot, item.file_id, item.size, report)
    except downloads.TooBigToDownload:
        await _answer(message, progress_msg, view.too_big(item.size or 0), None)
        return
    except (TelegramAPIError, aiohttp.ClientError, TimeoutError):
        await _answer(message, progress_msg, view.download_failed(), None)
        return
    thumbnail = None
    if item.thumb_id:  # Telegram's own small JPEG of a video; the library does without it
        with contextlib.suppress(
            TelegramAPIError, aiohttp.ClientError, TimeoutError, downloads.TooBigToDownload
        ):
            thumbnail = await downloads.download(bot, item.thumb_id)
    try:
        result = await add_creative(
            uow,
            db_user.id,
            item.kind,
            message.caption,
            data,
            file_name=item.file_name,
            mime_type=item.mime_type,
            duration=item.duration,
            width=item.width,
            height=item.height,
            tg_file_id=item.file_id,
            thumbnail=thumbnail,
        )
    except CreativeError as exc:
        await _answer(message, progress_msg, view.error(exc), None)
        return
    await state.set_state(CreativeStates.library)
    await _answer(message, progress_msg, *view.added(result))


async def _answer(
    message: Message, progress: Message | None, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """The outcome: in the progress message when there is one, else a new message."""
    if progress is not None:
        await edit(progress.edit_text(text, reply_markup=markup))
    else:
        await message.answer(text, reply_markup=markup)


@router.message(CreativeStates.library, TYPED)
async def receive_link(
    message: Message, db_user: User | None, uow: UnitOfWorkFactory, state: FSMContext
) -> None:
    """A link typed in the library (how files over 20 MB come in)."""
    if db_user is None:
        await message.answer(sign_up_first())
        return
    text = (message.text or "").strip()
    if not _LINK.match(text):
        await message.answer(view.library_hint())
        return
    try:
        result = await add_creative_from_url(uow, db_user.id, text)
    except KindUnknown:
        await state.update_data({LINK_KEY: text})
        await show(message, view.ask_kind(text))
        return
    except CreativeError as exc:
        await message.answer(view.error(exc))
        return
    await show(message, view.added(result))


@router.message(CreativeStates.library, ~F.text)
async def receive_other(message: Message) -> None:
    """A file in the library that is neither a video nor an image."""
    await message.answer(view.not_media())


@router.message(CreativeStates.rename, TYPED)
async def receive_name(
    message: Message, db_user: User | None, uow: UnitOfWorkFactory, state: FSMContext
) -> None:
    """The new name of a creative."""
    if db_user is None:
        await message.answer(sign_up_first())
        return
    cid = int((await state.get_data()).get(RENAME_KEY) or 0)
    try:
        creative = await rename_creative(uow, db_user.id, cid, message.text or "")
    except CreativeError as exc:
        await message.answer(view.error(exc))
        if exc.code == "not_found":
            await state.set_state(CreativeStates.library)
        return
    await state.set_state(CreativeStates.library)
    await message.answer(view.renamed(creative))
    await _send_card(message, uow, db_user, creative.id)


# Buttons ------------------------------------------------------------------------------------


@router.callback_query(CreativeCb.filter())
async def creative_action(
    query: CallbackQuery,
    callback_data: CreativeCb,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    state: FSMContext,
) -> None:
    """Every library button; a creative id is checked against the presser first."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    a, cid, page = callback_data.a, callback_data.id, callback_data.n
    if a == "list":
        await state.set_state(CreativeStates.library)
        text, markup = view.library(await library(uow, db_user.id, page))
        await _replace(query, text, markup, None)
    elif a == "kind":
        link = (await state.get_data()).get(LINK_KEY)
        if not link or callback_data.v not in ("video", "image"):
            await query.answer(stale(), show_alert=True)
            return
        try:
            result = await add_creative_from_url(uow, db_user.id, link, kind=callback_data.v)
        except CreativeError as exc:
            await query.answer(view.error(exc), show_alert=True)
            return
        await state.update_data({LINK_KEY: None})
        await show(query, view.added(result))
    elif a == "delok":
        if not await delete_creative(uow, db_user.id, cid):
            await query.answer(view.not_found(), show_alert=True)
            return
        text, markup = view.library(await library(uow, db_user.id, page))
        await _replace(query, text, markup, None)
        await query.answer(view.deleted())
        return
    else:
        found = await creative_card(uow, db_user.id, cid)
        if found is None or a not in ("open", "ren", "del"):
            await query.answer(view.not_found(), show_alert=True)
            return
        if a == "open":
            text, markup = view.card(found, db_user.time_zone, page)
            await _replace(query, text, markup, found.creative.thumbnail)
        elif a == "ren":
            await state.set_state(CreativeStates.rename)
            await state.update_data({RENAME_KEY: cid})
            if isinstance(query.message, Message):
                await query.message.answer(view.ask_rename(found.creative))
        else:
            await _edit_here(query, *view.confirm_delete(found.creative, page))
    await query.answer()
