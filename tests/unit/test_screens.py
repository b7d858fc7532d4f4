"""bot.screens: an edit Telegram refuses as "message is not modified" is the harmless outcome
of a double tap; every other refusal still reaches the error handler."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import EditMessageText, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery

from bot.screens import show
from tests.unit.test_dispatcher import RecordingSession

# shared/spec/telegram-bot-platform.md §2.2, as Telegram words it.
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class Refusing(RecordingSession):
    """Refuses every editMessageText with one description."""

    def __init__(self, description: str) -> None:
        super().__init__()
        self.description = description

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's BaseSession signature
    ) -> TelegramType:
        self.calls.append(method)
        if isinstance(method, EditMessageText):
            raise TelegramBadRequest(method=method, message=self.description)
        return True  # type: ignore[return-value]


def _press(bot: Bot, text_seen: str) -> CallbackQuery:
    """A press on a message that still showed `text_seen` when the button was tapped."""
    raw = {
        "id": "q",
        "chat_instance": "c",
        "data": "x",
        "from": {"id": 5, "is_bot": False, "first_name": "Ann"},
        "message": {
            "message_id": 9,
            "date": 0,
            "chat": {"id": 5, "type": "private"},
            "text": text_seen,
        },
    }
    return CallbackQuery.model_validate(raw, context={"bot": bot})


async def test_a_second_tap_editing_to_what_the_message_already_shows_is_fine() -> None:
    session = Refusing(NOT_MODIFIED)
    bot = Bot("42:TEST", session=session)
    # The first tap's edit already made it "Name the template"; the second tap's copy is older.
    await show(_press(bot, "Templates"), ("Name the template", None))
    assert [type(c) for c in session.calls] == [EditMessageText]


@pytest.mark.parametrize(
    "description",
    ["Bad Request: message to edit not found", "Bad Request: message is too long"],
)
async def test_other_refusals_are_still_errors(description: str) -> None:
    bot = Bot("42:TEST", session=Refusing(description))
    with pytest.raises(TelegramBadRequest):
        await show(_press(bot, "Templates"), ("Name the template", None))


async def test_an_edit_to_the_content_the_copy_shows_is_not_sent() -> None:
    session: Any = RecordingSession()
    bot = Bot("42:TEST", session=session)
    await show(_press(bot, "Templates"), ("<b>Templates</b>", None))
    assert session.calls == []
