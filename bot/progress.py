"""Progress of long work shown by editing the pressed message, at most about once a second
(design.md, Long work)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message

from bot.screens import edit, show
from bot.views import Screen

EVERY_SECONDS = 1.0


def every_second(
    query: CallbackQuery, text: Callable[[int, int], str]
) -> Callable[[int, int], Awaitable[None]]:
    """A `progress(done, total)` that edits the pressed message to `text(done, total)` when a
    second has passed since the last edit (the final result is drawn by the caller)."""
    last = time.monotonic()

    async def progress(done: int, total: int) -> None:
        nonlocal last
        if done >= total or time.monotonic() - last < EVERY_SECONDS:
            return
        last = time.monotonic()
        if isinstance(query.message, Message):
            # A progress edit Telegram refuses (not modified, the message gone) must not stop
            # the work it reports on: the final screen follows.
            with contextlib.suppress(TelegramBadRequest):
                await query.message.edit_text(text(done, total))

    return progress


async def final(query: CallbackQuery, screen: Screen) -> None:
    """Draw the result over the progress. Always an edit: the pressed message as the press
    carried it predates the progress edits, so comparing with it (bot.screens.show) could skip
    a needed edit; Telegram's "message is not modified" is harmless here."""
    text, markup = screen
    if isinstance(query.message, Message):
        await edit(query.message.edit_text(text, reply_markup=markup))
    else:
        await show(query, screen)
