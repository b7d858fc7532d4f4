"""One place for errors no handler caught: log them once, tell the user plainly."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import gettext as _

from bot.once_sends import SendInDoubt

log = logging.getLogger(__name__)


async def on_error(event: ErrorEvent) -> bool:
    """Log with the traceback (it is a bug) and apologise to whoever sent the update."""
    if isinstance(event.exception, SendInDoubt):
        # A repeat of an update whose first handling was cut off mid-send: not a bug, and the
        # user may already have the answer; an apology would be the doubled message.
        return True
    log.exception(
        "handler.failed", exc_info=event.exception, extra={"update_id": event.update.update_id}
    )
    text = _("Something went wrong on our side; nothing was changed. Please try again.")
    try:
        if event.update.callback_query is not None:
            await event.update.callback_query.answer(text, show_alert=True)
        elif event.update.message is not None:
            await event.update.message.answer(text)
    except TelegramAPIError:
        log.warning("handler.apology_failed", extra={"update_id": event.update.update_id})
    return True
