"""Showing a screen: edit the pressed message in place, or send a new one."""

from __future__ import annotations

import html as _html
import re
from collections.abc import Awaitable

from aiogram.exceptions import TelegramBadRequest
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


def not_modified(exc: TelegramBadRequest) -> bool:
    """Whether Telegram refused an edit only because it would change nothing.

    Matched by substring, case-insensitively, as the wording has changed over time
    (shared/spec/telegram-bot-platform.md §2.2: "Bad Request: message is not modified: ...").
    """
    return "message is not modified" in exc.message.lower()


async def edit(call: Awaitable[object]) -> bool:
    """Run one edit call; an edit refused as "not modified" is the harmless outcome it is.

    The message a button press carries is the one the user saw, which can be older than our
    last edit: a double tap sends two presses of the same message before the first edit lands,
    so the second one edits to content the message already has. The comparison in `show` cannot
    see edits in flight; this is the one place that treats Telegram's refusal as "done".
    Returns False when the message already showed this content."""
    try:
        await call
    except TelegramBadRequest as exc:
        if not not_modified(exc):
            raise
        return False
    return True


async def show(event: Message | CallbackQuery, screen: Screen) -> None:
    """Edit the message a button was pressed on (skipping edits that would change nothing,
    which Telegram refuses with "message is not modified"), or answer a text message."""
    text, markup = screen
    if isinstance(event, CallbackQuery):
        msg = event.message
        if isinstance(msg, Message):
            if not _same(msg, text, markup):
                await edit(msg.edit_text(text, reply_markup=markup))
            return
        if event.from_user is not None and event.bot is not None:
            await event.bot.send_message(event.from_user.id, text, reply_markup=markup)
        return
    await event.answer(text, reply_markup=markup)
