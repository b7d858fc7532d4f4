"""The real dispatcher fed raw updates through a recording Bot API session (aiogram's habit)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType

from bot.app import build_dispatcher
from bot.i18n import make_i18n
from core.billing.plans import PlanBook
from core.clock import FixedClock
from core.settings import load_settings
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.uow import UnitOfWorkFactory


class RecordingSession(BaseSession):
    """Records every method the bot calls and answers True (enough for answers and no-ops)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[TelegramMethod[Any]] = []

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's BaseSession signature
    ) -> TelegramType:
        self.calls.append(method)
        return True  # type: ignore[return-value]

    async def stream_content(self, *args: Any, **kwargs: Any) -> AsyncGenerator[bytes, None]:
        yield b""

    async def close(self) -> None:
        pass


# The feature routers are module-level, so one dispatcher per process; deps go in per update.
DP = build_dispatcher(make_i18n(), MemoryStorage(), SimpleEventIsolation())


class Harness:
    """Feeds raw updates with this test's database and records what the bot calls."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow, self.session = uow, RecordingSession()
        self.bot = Bot("42:TEST", session=self.session)

    async def feed(self, update: dict[str, Any]) -> None:
        await DP.feed_raw_update(
            self.bot,
            update,
            uow=self.uow,
            settings=load_settings(),
            clock=FixedClock(datetime.now(UTC)),
            plans=PlanBook(),
            worker="test",
        )


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    await upgrade(engine)
    yield Harness(UnitOfWorkFactory(session_factory(engine), None))
    await engine.dispose()


def _callback(from_id: int, chat_id: int, chat_type: str = "private") -> dict[str, Any]:
    return {
        "update_id": 1,
        "callback_query": {
            "id": "cb1",
            "chat_instance": "x",
            "data": "mn:home",
            "from": {"id": from_id, "is_bot": False, "first_name": "Eve", "language_code": "ru"},
            "message": {
                "message_id": 5,
                "date": 0,
                "text": "menu",
                "chat": {"id": chat_id, "type": chat_type},
            },
        },
    }


async def test_a_press_on_someone_elses_message_is_refused(harness: Harness) -> None:
    await harness.feed(_callback(from_id=666, chat_id=101))
    [answer] = harness.session.calls
    assert answer.__api_method__ == "answerCallbackQuery"
    assert answer.text == "Эта кнопка не ваша." and answer.show_alert is True


async def test_a_press_in_a_group_is_refused(harness: Harness) -> None:
    await harness.feed(_callback(from_id=-100, chat_id=-100, chat_type="group"))
    assert [c.__api_method__ for c in harness.session.calls] == ["answerCallbackQuery"]
    assert harness.session.calls[0].text == "Эта кнопка не ваша."


async def test_group_messages_are_ignored(harness: Harness) -> None:
    await harness.feed(
        {
            "update_id": 2,
            "message": {
                "message_id": 1,
                "date": 0,
                "text": "/start",
                "chat": {"id": -5, "type": "supergroup", "title": "Team"},
                "from": {"id": 7, "is_bot": False, "first_name": "G"},
            },
        }
    )
    assert harness.session.calls == []


async def test_own_press_goes_through(harness: Harness) -> None:
    await harness.feed(_callback(from_id=101, chat_id=101))
    # Not signed up: the menu handler itself answers, asking to /start.
    assert harness.session.calls[-1].text == "Сначала зарегистрируйтесь: отправьте /start."


def test_no_filter_waits_for_a_worker_thread() -> None:
    # aiogram runs a plain-function filter (F.text, a State) through asyncio.to_thread; ours are
    # pure checks and run on the loop (bot/filters.py: run_sync_filters_inline).
    threaded = [
        f
        for router in DP.chain_tail
        for observer in router.observers.values()
        for handler in (observer._handler, *observer.handlers)
        for f in handler.filters or ()
        if not f.awaitable
    ]
    assert threaded == []


async def test_an_operators_answer_never_reaches_whoever_got_an_erased_users_ticket_number(
    harness: Harness,
) -> None:
    """SQLite gives an erased account's last ticket number to the next ticket: the Reply the
    operator pressed for the first user must not deliver the answer to the second."""
    from aiogram.methods import SendMessage

    from bot.views import support as support_view
    from core.privacy import erase
    from core.support import open_ticket
    from core.users import SignUp, register_user

    operator, ann, bob = 900, 201, 202
    clock = FixedClock(datetime.now(UTC))
    settings = load_settings().model_copy(update={"admin_ids": str(operator)})
    for uid in (ann, bob):
        await register_user(harness.uow, clock, SignUp(uid, "U", None, None, "en", "UTC", None,
                                                       False))

    async def feed(kind: str, payload: dict[str, Any]) -> None:
        await DP.feed_raw_update(
            harness.bot, {"update_id": 7, kind: payload}, uow=harness.uow, settings=settings,
            clock=clock, plans=PlanBook(), worker="test",
        )

    who = {"id": operator, "is_bot": False, "first_name": "Olga", "language_code": "en"}
    chat = {"id": operator, "type": "private"}
    first = await open_ticket(harness.uow, ann, "My card is wrong")
    i18n = make_i18n()
    with i18n.context():
        _text, markup = support_view.for_operator(first, "Ann", ann, None, "My card is wrong")
    press = markup.inline_keyboard[0][0].callback_data
    await feed("callback_query", {"id": "cb", "chat_instance": "x", "data": press, "from": who,
                                  "message": {"message_id": 5, "date": 0, "text": "t",
                                              "chat": chat}})
    await erase.request_erasure(harness.uow, clock, None, ann, "support", operator)
    assert await open_ticket(harness.uow, bob, "Hello") == first  # the number came back

    harness.session.calls.clear()
    await feed("message", {"message_id": 6, "date": 0, "text": "Ann, your card ends in 4242",
                           "chat": chat, "from": who})
    sent = [c for c in harness.session.calls if isinstance(c, SendMessage)]
    assert [c.chat_id for c in sent] == [operator]
    assert sent[0].text == f"Ticket #{first} does not exist."


async def test_changing_the_time_zone_keeps_a_launch_being_prepared(harness: Harness) -> None:
    """A user half-way through the launch wizard sees its start time in their time zone, finds
    the zone wrong and fixes it in Settings: the launch they prepared is still there."""
    from aiogram.fsm.context import FSMContext
    from aiogram.fsm.storage.base import StorageKey

    from bot.callbacks import SettingsCb
    from bot.routers.launch import DRAFT
    from core.users import SignUp, register_user

    uid = 301
    await register_user(harness.uow, FixedClock(datetime.now(UTC)),
                        SignUp(uid, "U", None, None, "en", "UTC", None, False))
    ctx = FSMContext(storage=DP.storage, key=StorageKey(bot_id=42, chat_id=uid, user_id=uid))
    draft = {"t": 7, "a": [1, 2, 3], "c": [4, 5], "on": True, "at": "2026-03-02T09:00:00+00:00"}
    await ctx.set_data({DRAFT: draft})
    who = {"id": uid, "is_bot": False, "first_name": "U", "language_code": "en"}
    chat = {"id": uid, "type": "private"}
    for n, data in enumerate((SettingsCb(action="tz"), SettingsCb(action="settz",
                                                                   value="Europe/Berlin"))):
        await harness.feed({"update_id": 20 + n, "callback_query": {
            "id": f"cb{n}", "chat_instance": "x", "data": data.pack(), "from": who,
            "message": {"message_id": 5, "date": 0, "text": "t", "chat": chat}}})
    async with harness.uow() as u:
        user = await u.users.get(uid)
    assert user is not None and user.time_zone == "Europe/Berlin"
    assert await ctx.get_state() is None  # no longer waiting for a typed zone
    assert await ctx.get_value(DRAFT) == draft
