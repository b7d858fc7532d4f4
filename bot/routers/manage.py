"""Manage: pause, enable, budget and bid changes from the stats drill-down, one object or a
ticked selection, confirmed with before and after, undoable for 24 hours. Ids in buttons are
only lookup keys: core checks every one against the presser."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import ManageCb
from bot.filters import TYPED
from bot.routers.menu import sign_up_first
from bot.routers.stats import custom_range
from bot.screens import edit, show
from bot.states import ManageStates
from bot.views import manage as view
from bot.views.common import stale
from bot.views.stats import CODE_LEVEL
from core import manage
from core.clock import Clock
from core.money import parse_amount
from core.periods import DateRange, Period
from core.rules.acting import Changer
from core.rules.model import Action, ActionKind
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="manage")
SELECTION_KEY = "manage_selection"
AMOUNT_KEY = "manage_amount"
STEPS = {"b": view.BUDGET_STEPS, "d": view.BID_STEPS}


def action_of(code: str) -> Action | None:
    """The change a button asks for: p, e, b±N or d±N (N one of the offered steps)."""
    if code == "p":
        return Action(ActionKind.PAUSE)
    if code == "e":
        return Action(ActionKind.ENABLE)
    if code[:1] in STEPS and code[1:] in STEPS[code[:1]]:
        kind = ActionKind.BUDGET if code[0] == "b" else ActionKind.BID
        return Action(kind, "pct", Decimal(code[1:]))
    return None


@dataclass(frozen=True)
class _Ctx:
    """What one manage button press works with."""

    query: CallbackQuery
    cb: ManageCb
    user: User
    period: Period
    custom: DateRange | None
    state: FSMContext
    uow: UnitOfWorkFactory
    clock: Clock
    changer: Changer | None

    @property
    def level(self) -> str:
        return CODE_LEVEL.get(self.cb.l, "")


@router.callback_query(ManageCb.filter())
async def manage_action(
    query: CallbackQuery,
    callback_data: ManageCb,
    db_user: User | None,
    state: FSMContext,
    uow: UnitOfWorkFactory,
    clock: Clock,
    changer: Changer | None,
) -> None:
    """Every manage button; a press that matches nothing of the presser's is refused."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    try:
        period = Period(callback_data.p)
    except ValueError:
        await query.answer(stale(), show_alert=True)
        return
    custom = await custom_range(state) if period == Period.CUSTOM else None
    if period == Period.CUSTOM and custom is None:
        period = Period.LAST_7
    ctx = _Ctx(query, callback_data, db_user, period, custom, state, uow, clock, changer)
    handler = _HANDLERS.get(callback_data.a)
    said = await handler(ctx) if handler is not None else stale()
    if said is None:
        await query.answer()
    else:
        await query.answer(said[:200], show_alert=said == stale() or len(said) > 60)


async def _list(ctx: _Ctx) -> str | None:
    """The objects of a level to open one by one."""
    data = await manage.object_page(
        ctx.uow,
        ctx.clock,
        ctx.user.id,
        ctx.cb.id,
        ctx.level,
        ctx.cb.o or None,
        ctx.period,
        ctx.custom,
        ctx.cb.n,
    )
    if data is None:
        return stale()
    await show(ctx.query, view.object_list(data, ctx.period, None))
    return None


async def _selection(ctx: _Ctx) -> dict[str, Any] | None:
    """The ticked objects of this list: `where` is [account, level code, parent]. A toggle
    (whose `o` is the object, not the parent) needs the list it was ticked in; other presses
    start a fresh selection when the kept one belongs to another list."""
    kept = await ctx.state.get_value(SELECTION_KEY) or {}
    where = kept.get("where") or [None, None, ""]
    if ctx.cb.a == "tg":
        return kept if where[:2] == [ctx.cb.id, ctx.cb.l] else None
    if where != [ctx.cb.id, ctx.cb.l, ctx.cb.o]:
        kept = {"where": [ctx.cb.id, ctx.cb.l, ctx.cb.o], "ids": []}
    return kept


async def _select(ctx: _Ctx) -> str | None:
    """Tick mode: start, select all, clear, or toggle one object."""
    kept = await _selection(ctx)
    if kept is None:
        return stale()
    parent, ids, said = kept["where"][2] or None, kept["ids"], None
    if ctx.cb.x in ("new", "none"):
        ids.clear()
    elif ctx.cb.x == "all":
        ids[:] = await manage.object_ids(
            ctx.uow, ctx.clock, ctx.user.id, ctx.cb.id, ctx.level, parent, ctx.period, ctx.custom
        )
    elif ctx.cb.a == "tg":
        if ctx.cb.o in ids:
            ids.remove(ctx.cb.o)
        elif len(ids) >= manage.MAX_SELECTION:
            said = view.too_many()
        else:
            ids.append(ctx.cb.o)
    data = await manage.object_page(
        ctx.uow,
        ctx.clock,
        ctx.user.id,
        ctx.cb.id,
        ctx.level,
        parent,
        ctx.period,
        ctx.custom,
        ctx.cb.n,
    )
    if data is None:
        return stale()
    await ctx.state.update_data({SELECTION_KEY: kept})
    await show(ctx.query, view.object_list(data, ctx.period, set(ids)))
    return said


async def _card(ctx: _Ctx) -> str | None:
    """One object with the changes it can take."""
    found = await manage.object_card(
        ctx.uow, ctx.clock, ctx.user.id, ctx.cb.id, ctx.level, ctx.cb.o, ctx.period, ctx.custom
    )
    if found is None:
        return stale()
    await show(ctx.query, view.card(found, ctx.period, ctx.user.time_zone, ctx.clock.now()))
    return None


async def _propose(ctx: _Ctx, ids: list[str], action: Action, back: ManageCb) -> str | None:
    """Read the objects live and show the change for confirmation."""
    if ctx.changer is None:
        return view.no_access()
    proposal = await manage.propose(
        ctx.uow, ctx.clock, ctx.changer, ctx.user.id, ctx.cb.id, ctx.level, ids, action
    )
    if proposal is None:
        return stale()
    await show(ctx.query, view.proposal(proposal, action.kind.value, ctx.level, ctx.period, back))
    return None


async def _do(ctx: _Ctx) -> str | None:
    """A change to the object on the card."""
    action = action_of(ctx.cb.x)
    if action is None:
        return stale()
    back = ctx.cb.model_copy(update={"a": "card", "x": ""})
    return await _propose(ctx, [ctx.cb.o], action, back)


async def _bulk(ctx: _Ctx) -> str | None:
    """A change to every ticked object of the list."""
    action = action_of(ctx.cb.x)
    kept = await _selection(ctx)
    if action is None or kept is None or not kept["ids"]:
        return stale()
    back = ctx.cb.model_copy(update={"a": "sel", "x": ""})
    return await _propose(ctx, list(kept["ids"]), action, back)


async def _ask_amount(ctx: _Ctx) -> str | None:
    """Ask for a budget or bid to type."""
    kind = {"b": "budget", "d": "bid"}.get(ctx.cb.x)
    found = await manage.object_card(
        ctx.uow, ctx.clock, ctx.user.id, ctx.cb.id, ctx.level, ctx.cb.o, ctx.period, ctx.custom
    )
    if kind is None or found is None:
        return stale()
    await ctx.state.set_state(ManageStates.amount)
    await ctx.state.update_data({AMOUNT_KEY: ctx.cb.model_copy(update={"x": kind}).pack()})
    if ctx.query.message is not None:
        await ctx.query.message.answer(view.ask_amount(kind, found.obj, found.account.currency))
    return None


def _pacer(ctx: _Ctx, kind: str, level: str, undoing: bool) -> manage.Progress:
    """Progress on the pressed message, at most once a second (design.md, Long work)."""
    last = {"t": time.monotonic()}

    async def progress(done: int, total: int) -> None:
        if total > 1 and done < total and time.monotonic() - last["t"] >= 1.0:
            last["t"] = time.monotonic()
            text = view.progress(kind, level, done, total, undoing)
            if isinstance(ctx.query.message, Message):
                await edit(ctx.query.message.edit_text(text))

    return progress


async def _decide(ctx: _Ctx) -> str | None:
    """Confirm, cancel or undo a change (once, by its owner only)."""
    if ctx.cb.a in ("ok", "un") and ctx.changer is None:
        return view.no_access()
    if ctx.cb.a == "no":
        result = await manage.cancel(ctx.uow, ctx.clock, ctx.user.id, ctx.cb.id)
    else:
        assert ctx.changer is not None
        current = await manage.batch(ctx.uow, ctx.user.id, ctx.cb.id)
        if not current.rows:
            return stale()
        first = current.rows[0]
        undoing = ctx.cb.a == "un"
        pace = _pacer(ctx, first.kind, first.level, undoing)
        step = manage.undo if undoing else manage.confirm
        result = await step(ctx.uow, ctx.clock, ctx.changer, ctx.user.id, ctx.cb.id, pace)
    if result.outcome is manage.Outcome.GONE:
        return stale()
    await show(ctx.query, view.decision(result, ctx.period))
    return view.answer(result.outcome)


_HANDLERS = {
    "ls": _list,
    "sel": _select,
    "tg": _select,
    "card": _card,
    "do": _do,
    "bulk": _bulk,
    "set": _ask_amount,
    "ok": _decide,
    "no": _decide,
    "un": _decide,
}


@router.message(ManageStates.amount, TYPED)
async def typed_amount(
    message: Message,
    state: FSMContext,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    clock: Clock,
    changer: Changer | None,
) -> None:
    """A typed budget or bid: propose setting it, for confirmation."""
    packed = await state.get_value(AMOUNT_KEY)
    if db_user is None or packed is None:
        await state.set_state(None)
        await message.answer(stale())
        return
    if changer is None:
        await state.set_state(None)
        await message.answer(view.no_access())
        return
    value = parse_amount(message.text or "")
    if value is None:
        await message.answer(view.bad_amount())
        return
    await state.set_state(None)
    await state.update_data({AMOUNT_KEY: None})
    cb = ManageCb.unpack(packed)
    kind = ActionKind.BUDGET if cb.x == "budget" else ActionKind.BID
    level = CODE_LEVEL.get(cb.l, "")
    proposal = await manage.propose(
        uow, clock, changer, db_user.id, cb.id, level, [cb.o], Action(kind, "set", value)
    )
    if proposal is None:
        await message.answer(stale())
        return
    back = cb.model_copy(update={"a": "card", "x": ""})
    await show(message, view.proposal(proposal, kind.value, level, Period(cb.p), back))


@router.message(ManageStates.amount, ~F.text)
async def not_an_amount(message: Message) -> None:
    """Anything but text while an amount is expected."""
    await message.answer(view.bad_amount())
