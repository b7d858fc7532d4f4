"""Router gates (bot/gates.py): a router is passed by only when none of its handlers could take
the update, so the handler that takes each update is the one that took it without gates."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, Update, User

from bot import callbacks, states
from bot.filters import TYPED, run_sync_filters_inline
from bot.gates import gate_of, gate_routers
from bot.routers import all_routers
from bot.views.menu import SECTIONS
from tests.unit.test_dispatcher import RecordingSession

USER = User(id=7, is_bot=False, first_name="Ann")
CHAT = Chat(id=7, type="private")


class Flow(StatesGroup):
    name = State()
    amount = State()


class Pick(CallbackData, prefix="pk"):
    kind: str


def _message(text: str | None = None, caption: str | None = None) -> Message:
    return Message(
        message_id=1, date=datetime.now(UTC), chat=CHAT, from_user=USER, text=text, caption=caption
    )


def _press(data: str) -> CallbackQuery:
    return CallbackQuery(
        id="1", from_user=USER, chat_instance="1", data=data, message=_message("x")
    )


def _build() -> tuple[Dispatcher, list[str], list[Router]]:
    """Four routers ahead of a catch-all, each recording which of its handlers took what."""
    taken: list[str] = []
    buttons, flow, commands, payments, rest = (
        Router(name=n) for n in ("buttons", "flow", "commands", "payments", "rest")
    )

    @buttons.callback_query(Pick.filter(F.kind == "a"))
    async def pick_a(query: CallbackQuery) -> None:
        taken.append("pick a")

    @flow.message(Flow.name, TYPED)
    async def name(message: Message) -> None:
        taken.append("name")

    @flow.message(StateFilter(None, Flow.amount), F.text.isdigit())
    async def amount(message: Message) -> None:
        taken.append("amount")

    @commands.message(CommandStart())
    async def start(message: Message) -> None:
        taken.append("start")

    @commands.message(Command("go", prefix="!/"))
    async def go(message: Message) -> None:
        taken.append("go")

    @payments.message(F.successful_payment)
    async def paid(message: Message) -> None:
        taken.append("paid")

    @rest.message()
    async def other(message: Message) -> None:
        taken.append("other message")

    @rest.callback_query()
    async def stale(query: CallbackQuery) -> None:
        taken.append("stale press")

    dp = Dispatcher(storage=MemoryStorage())
    dp.include_routers(buttons, flow, commands, payments, rest)
    return dp, taken, [buttons, flow, commands, payments, rest]


async def _feed(dp: Dispatcher, event: TelegramObject, state: State | None = None) -> None:
    bot = Bot("42:TEST", session=RecordingSession())
    key = StorageKey(bot_id=42, chat_id=CHAT.id, user_id=USER.id)
    await dp.storage.set_state(key, state)
    kind = "message" if isinstance(event, Message) else "callback_query"
    await dp.feed_update(bot, Update(update_id=1, **{kind: event}))


CASES: list[tuple[TelegramObject, State | None, str]] = [
    (_press("pk:a"), None, "pick a"),
    (_press("pk:b"), None, "stale press"),  # the prefix matches, the rule does not
    (_press("zz:a"), None, "stale press"),
    (_message("Ann"), Flow.name, "name"),
    (_message("12"), Flow.amount, "amount"),
    (_message("12"), None, "amount"),  # StateFilter(None, …): no state is one of its states
    (_message("Ann"), None, "other message"),
    (_message("/start"), Flow.name, "start"),
    (_message("!go"), None, "go"),
    (_message(caption="/go now"), None, "go"),  # commands are read from captions too
    (_message("go"), None, "other message"),
]


@pytest.mark.parametrize(("event", "state", "handler"), CASES)
async def test_each_update_is_taken_by_the_handler_that_took_it_without_gates(
    event: TelegramObject, state: State | None, handler: str
) -> None:
    for gated in (False, True):
        dp, taken, _ = _build()
        if gated:
            assert gate_routers(dp) == 4  # all but the catch-all
        await _feed(dp, event, state)
        assert taken == [handler], ("gated" if gated else "plain", event)


async def test_a_gate_lets_in_only_what_one_of_its_handlers_could_take() -> None:
    _, _, (buttons, flow, commands, payments, rest) = _build()
    press, typed = gate_of(buttons, "callback_query"), gate_of(flow, "message")
    assert press is not None and typed is not None
    assert await press.admits(_press("pk:a"), None)
    assert not await press.admits(_press("pk:b"), None)
    assert not await press.admits(_press("mn:a"), "Flow:name")
    assert await typed.admits(_message("x"), "Flow:name")
    assert await typed.admits(_message("x"), None)
    assert not await typed.admits(_message("x"), "Other:state")
    commands_gate = gate_of(commands, "message")
    assert commands_gate is not None
    assert await commands_gate.admits(_message("!go"), None)
    assert not await commands_gate.admits(_message("go"), None)
    assert not await commands_gate.admits(_message(), None)  # a photo without a caption
    # A handler whose filters do not say what it takes: every message may be its.
    assert gate_of(payments, "message") is None
    assert gate_of(rest, "message") is None and gate_of(rest, "callback_query") is None


def test_a_router_with_its_own_middleware_or_routers_under_it_is_not_gated() -> None:
    watched, parent = Router(name="watched"), Router(name="parent")
    watched.callback_query(Pick.filter())(_noop)
    watched.callback_query.outer_middleware(_passthrough)
    parent.include_router(Router(name="child"))
    assert gate_of(watched, "callback_query") is None
    assert gate_of(parent, "callback_query") is None


async def _noop(query: CallbackQuery) -> None:
    return None


async def _passthrough(handler: Any, event: Any, data: dict[str, Any]) -> Any:
    return await handler(event, data)


def _all_states() -> list[str | None]:
    groups = [
        g
        for _, g in inspect.getmembers(states, inspect.isclass)
        if issubclass(g, StatesGroup) and g is not StatesGroup
    ]
    return [None, *(name for g in groups for name in g.__all_states_names__)]


def _samples() -> list[TelegramObject]:
    presses = [_press(callbacks.MenuCb(section=s).pack()) for s in (*SECTIONS, "home")]
    presses += [
        _press(callbacks.StatsCb(v="sum").pack()),
        _press(callbacks.StatsCb(v="lvl", a=1, l="c").pack()),
        _press(callbacks.SettingsCb(action="tz").pack()),
        _press("zz:forged"),
    ]
    texts = ["/start", "/stats", "/settings", "/cancel", "/help", "hello", "Europe/Berlin", "12"]
    return [*presses, *(_message(t) for t in texts), _message(caption="/rules")]


async def test_no_gate_of_the_real_routers_turns_away_what_one_of_its_handlers_takes() -> None:
    """Every router of the service, every conversation state, a sample of presses and messages:
    whenever a handler's filters pass, its router's gate lets the update in."""
    bot = Bot("42:TEST", session=RecordingSession())
    checked = 0
    for router in all_routers():
        for update_type in ("callback_query", "message"):
            gate = gate_of(router, update_type)
            if gate is None:
                continue
            for event in _samples():
                if (update_type == "message") != isinstance(event, Message):
                    continue
                for raw_state in _all_states():
                    data = {"raw_state": raw_state, "bot": bot, "event_from_user": USER}
                    takes = [
                        await h.check(event, **data) for h in router.observers[update_type].handlers
                    ]
                    if any(ok for ok, _ in takes):
                        checked += 1
                        assert await gate.admits(event, raw_state), (router.name, event, raw_state)
    assert checked > 50


async def test_gates_read_state_filters_that_run_inline() -> None:
    router = Router(name="inlined")
    router.message(Flow.name)(_noop)
    assert run_sync_filters_inline(router) == 1
    gate = gate_of(router, "message")
    assert gate is not None
    assert await gate.admits(_message("x"), "Flow:name")
    assert not await gate.admits(_message("x"), None)
