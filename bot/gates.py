"""Routers pass by the updates none of their handlers can take, without entering them.

aiogram hands every update to each router in turn until one handles it, and entering a router
costs its own middleware chain, root filters and one filter check per handler (~25 µs of CPU
each). A menu press passed twenty routers and a typed message thirty before theirs: about a third
of their handling (bench/updates.py profile). Yet most handlers name what they can take in a
filter that must pass: a button's callback-data prefix, a conversation state, a command. From
those, `gate_routers` gives each router a check that lets an update in only when one of its
handlers could take it. It only ever skips what would come back unhandled, so the order in which
routers see updates, and which handler takes one, are unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache
from inspect import isclass
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, TelegramObject

Propagate = Callable[..., Awaitable[Any]]

ANY_STATE = "*"


@dataclass
class Gate:
    """What may reach one router's handlers of one update type (a union over its handlers)."""

    buttons: list[CallbackQueryFilter] = field(default_factory=list)  # their data and rule
    commands: set[str] = field(default_factory=set)  # the characters a command starts with
    states: set[str | None] = field(default_factory=set)  # conversation states (raw names)

    async def admits(self, event: TelegramObject, raw_state: str | None) -> bool:
        """Whether any handler could take this event in this state."""
        if raw_state in self.states:
            return True
        if isinstance(event, CallbackQuery):
            data = event.data or ""
            for button in self.buttons:
                # The prefix first: unpacking another kind of data raises, at ~2 µs a try.
                if not data.startswith(button.callback_data.__prefix__):
                    continue
                # What CallbackQueryFilter checks, on data unpacked once for every gate the
                # press passes (a menu press met eight routers' MenuCb filters, ~8 µs each).
                found = _unpacked(button.callback_data, data)
                if found is not None and (button.rule is None or button.rule.resolve(found)):
                    return True
            return False
        if isinstance(event, Message):
            # aiogram.filters.command reads the command from the text or the caption.
            text = event.text or event.caption
            return bool(text) and text.startswith(tuple(self.commands))
        return True


@lru_cache(maxsize=1024)
def _unpacked(kind: type[CallbackData], data: str) -> CallbackData | None:
    """A press's data as `kind`, or None when it is not one. Shared by the gates, which only
    read it; handlers get their own from their filters."""
    try:
        return kind.unpack(data)
    except (TypeError, ValueError):
        return None


def gate_routers(root: Router) -> int:
    """Give every router under `root` its gates for presses and messages; returns how many."""
    count = 0
    for router in root.sub_routers:
        gates = {kind: gate_of(router, kind) for kind in ("callback_query", "message")}
        gates = {kind: gate for kind, gate in gates.items() if gate is not None}
        if gates and "propagate_event" not in vars(router):  # not gated twice
            router.propagate_event = _gated(router.propagate_event, gates)  # type: ignore[method-assign]
            count += 1
    return count


def gate_of(router: Router, update_type: str) -> Gate | None:
    """The gate for one update type, or None when some handler could take anything of it (or
    the router has routers under it or middlewares around it, which see every update)."""
    observer = router.observers[update_type]
    if router.sub_routers or len(observer.outer_middleware):
        return None
    gate = Gate()
    for handler in observer.handlers:
        if not _narrow(handler, gate):
            return None
    return gate


def _narrow(handler: HandlerObject, gate: Gate) -> bool:
    """Add what one handler can take to the gate; False when one of its filters that must pass
    is not one whose reach is known (it could take anything)."""
    for flt in handler.filters or ():
        check = getattr(flt.callback, "__wrapped__", flt.callback)  # bot/filters.py inlines some
        if isinstance(check, CallbackQueryFilter):
            gate.buttons.append(check)
            return True
        if isinstance(check, Command):
            gate.commands.update(check.prefix)
            return True
        states = _state_names(check)
        if states is not None:
            gate.states.update(states)
            return True
    return False


def _state_names(check: object) -> set[str | None] | None:
    """The raw state names a state filter passes, or None (not a state filter, or any state)."""
    if isinstance(check, StateFilter):
        wanted: tuple[Any, ...] = tuple(check.states)
    elif isinstance(check, State | StatesGroup) or (
        isclass(check) and issubclass(check, StatesGroup)
    ):
        wanted = (check,)
    else:
        return None
    names: set[str | None] = set()
    for state in wanted:
        if isinstance(state, State):
            names.add(state.state)
        elif isinstance(state, StatesGroup):
            names.update(type(state).__all_states_names__)
        elif isclass(state) and issubclass(state, StatesGroup):
            names.update(state.__all_states_names__)
        else:
            names.add(state)  # a raw name, or None: no state
    return None if ANY_STATE in names else names


def _gated(propagate: Propagate, gates: dict[str, Gate]) -> Propagate:
    async def gated(update_type: str, event: TelegramObject, **kwargs: Any) -> Any:
        gate = gates.get(update_type)
        if gate is not None and not await gate.admits(event, kwargs.get("raw_state")):
            return UNHANDLED
        return await propagate(update_type=update_type, event=event, **kwargs)

    return gated
