"""Showing a screen: edit the pressed message in place, or send a new one."""

from __future__ import annotations

import html as _html
import re

from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.views import Screen

_TAG = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """What Telegram shows for our HTML: tags dropped, entities decoded."""
    return _html.unescape(_TAG.sub("", text))


def _same(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> bool:
    old = message.reply_markup.model_dump(exclude_none=True) if message.reply_markup else None
    new = markup.model_dump(exclude_none=True) if markup else None
    return (message.text or "") == plain(text).strip() and old == new


async def show(event: Message | CallbackQuery, screen: Screen) -> None:
    """Edit the message a button was pressed on (skipping edits that would change nothing,
    which Telegram refuses with "message is not modified"), or answer a text message."""
    text, markup = screen
    if isinstance(event, CallbackQuery):
        msg = event.message
        if isinstance(msg, Message):
            if not _same(msg, text, markup):
                await msg.edit_text(text, reply_markup=markup)
            return
        if event.from_user is not None and event.bot is not None:
            await event.bot.send_message(event.from_user.id, text, reply_markup=markup)
        return
    await event.answer(text, reply_markup=markup)
