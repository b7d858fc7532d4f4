"""The rule builder: level → metric → comparison → (typed value or status) → window → more
(and / or) or the action, a button at a time; the finished rule opens as the draft
(bot/routers/rules.py). Every step is checked against the presser's own conversation state."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiogram import Router, html
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import BuildCb
from bot.filters import TYPED
from bot.routers.menu import sign_up_first
from bot.routers.rules import BUILD, DRAFT, get_draft, open_draft
from bot.screens import show
from bot.states import RuleStates
from bot.views import Screen
from bot.views import rule_builder as builder_view
from bot.views import rules as view
from core.rules import builder, service
from core.rules.model import STATUS, ActionKind, Level
from core.rules.settings import RuleSettings
from core.rules.text import RuleSyntaxError, format_conditions, format_rule
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="rule_builder")


def _picks(build: dict[str, Any]) -> list[builder.Pick]:
    """The conditions picked so far (ValueError if the state is not the builder's)."""
    conds = build.get("conds")
    if not isinstance(conds, list) or not all(isinstance(c, dict) for c in conds):
        raise ValueError("not a builder state")  # e.g. kept by an older version of the bot
    return [builder.Pick.from_json(c) for c in conds]


def _sofar(build: dict[str, Any]) -> str:
    picks = _picks(build)
    if not picks:
        return ""
    when = format_conditions(builder.conditions(Level(build["level"]), picks))
    return f"<code>{html.quote(build['level'] + ': ' + when)}</code>"


async def _build(state: FSMContext) -> dict[str, Any]:
    return dict((await state.get_data()).get(BUILD) or {})


def _build_screen(build: dict[str, Any], a: str, v: str) -> Screen | None:
    """Apply one builder button to `build` (in place) and the next screen; None when the
    button does not fit this state (a stale or forged press)."""
    level = Level(build["level"])
    pending: dict[str, str] = build.get("pending") or {}
    if a == "met" and v in builder.metrics(level):
        build["pending"] = {"m": v, "j": build.get("next", "and")}
        return builder_view.build_op(_sofar(build), v)
    if a == "op" and pending.get("m") == STATUS:
        if v not in {op.value for op in builder.STATUS_OPS}:
            return None
        pending["op"] = v
        return builder_view.build_status(_sofar(build), v)
    if a in ("word", "win") and "op" in pending and (a == "word") == (pending["m"] == STATUS):
        pick = builder.Pick(
            pending["m"],
            pending["op"],
            v if a == "word" else pending.get("v", ""),
            "today" if a == "word" else v,
            pending["j"],
        )
        try:
            builder.condition(level, pick)
        except (RuleSyntaxError, ValueError):
            return None
        build["conds"] = [*build["conds"], pick.to_json()]
        build.pop("pending", None)
        return builder_view.build_more(_sofar(build))
    if a == "grp" and v in ("", "tracker") and "op" not in pending:
        return builder_view.build_metric(_sofar(build), level.value, v)
    if a == "more" and v in builder.JOINERS and build["conds"] and not pending:
        build["next"] = v
        return builder_view.build_metric(_sofar(build), level.value)
    if a == "done" and build["conds"] and not pending:
        return builder_view.build_action(_sofar(build), level.value)
    return None


def _typed_op(build: dict[str, Any], v: str) -> bool:
    """Take comparison `v` for a pending metric whose value is typed; False if it does not fit."""
    pending = build.get("pending") or {}
    if pending.get("m") in (None, STATUS) or "v" in pending:
        return False
    if v not in {op.value for op in builder.OPS}:
        return False
    pending["op"] = v
    return True


@router.callback_query(BuildCb.filter())
async def build_step(
    query: CallbackQuery,
    callback_data: BuildCb,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    state: FSMContext,
) -> None:
    """A builder button: level → metric → comparison → (typed value or status) → window →
    more (and / or) or the action."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    a, v = callback_data.a, callback_data.v
    build = await _build(state)
    if a == "start":
        if v == "new":  # from the list: a new rule, not a rebuild of an open draft
            await state.update_data({DRAFT: None})
        await state.update_data({BUILD: {}})
        await show(query, builder_view.build_level())
        await query.answer()
        return
    if a == "lvl" and v in {lv.value for lv in builder.LEVELS}:
        build = {"level": v, "conds": [], "next": "and"}
        screen: Screen | None = builder_view.build_metric("", v)
    elif not build or "level" not in build:
        screen = None
    elif a == "act" and build.get("conds") and not build.get("pending"):
        word, _at, aim = v.partition("@")  # "budget@campaign": the campaign's budget
        kind = ActionKind(word) if word in {k.value for k in ActionKind} else None
        on = aim or None
        if kind is None or (kind, on) not in builder.targets(Level(build["level"])):
            screen = None
        elif kind in builder.TYPED_ACTIONS:
            build["action"], build["on"] = word, on
            await state.update_data({BUILD: build})
            await state.set_state(RuleStates.action_value)
            await show(query, (builder_view.ask_action_value(kind), None))
            await query.answer()
            return
        else:
            await query.answer()
            await _finish_build(query, state, uow, db_user, build, kind, "")
            return
    elif a == "op" and _typed_op(build, v):
        # A threshold is typed next (a number, a metric times a factor, or two for between).
        await state.update_data({BUILD: build})
        await state.set_state(RuleStates.cond_value)
        await show(query, (builder_view.ask_cond_value(build["pending"]["m"], v), None))
        await query.answer()
        return
    else:
        try:
            screen = _build_screen(build, a, v)
        except ValueError:
            screen = None
    if screen is None:
        await query.answer(view.draft_closed(), show_alert=True)
        return
    await state.update_data({BUILD: build})
    await show(query, screen)
    await query.answer()


@router.message(StateFilter(RuleStates.cond_value, RuleStates.action_value), TYPED)
async def typed_build_value(
    message: Message, state: FSMContext, db_user: User | None, uow: UnitOfWorkFactory
) -> None:
    """A typed threshold or budget/bid change, checked by building the condition or rule."""
    build = await _build(state)
    if db_user is None or not build or "level" not in build:
        await state.clear()
        await message.answer(view.draft_closed())
        return
    value = " ".join((message.text or "").split())
    if await state.get_state() == RuleStates.action_value.state:
        await _finish_build(message, state, uow, db_user, build, ActionKind(build["action"]), value)
        return
    pending = build.get("pending") or {}
    if "op" not in pending:
        await state.clear()
        await message.answer(view.draft_closed())
        return
    try:
        pick = builder.Pick(pending["m"], pending["op"], value, "today", pending["j"])
        builder.condition(Level(build["level"]), pick)
    except RuleSyntaxError as exc:
        await message.answer(view.bad_value_why(exc))
        return
    except ValueError:
        await message.answer(view.bad_value())
        return
    pending["v"] = value
    await state.update_data({BUILD: build})
    await state.set_state(None)
    windows = builder.windows(pending["m"], value)
    await show(message, builder_view.build_window(_sofar(build), windows))


async def _finish_build(
    event: Message | CallbackQuery,
    state: FSMContext,
    uow: UnitOfWorkFactory,
    user: User,
    build: dict[str, Any],
    kind: ActionKind,
    typed: str,
) -> None:
    """Turn the picks into the rule and open it as the draft."""
    try:
        spec = builder.spec(Level(build["level"]), _picks(build), kind, typed, build.get("on"))
        canonical = service.canonical(format_rule(spec))
    except RuleSyntaxError as exc:
        if isinstance(event, Message):
            await event.answer(view.bad_value_why(exc))
        return
    except service.RuleInvalid as exc:
        if isinstance(event, Message):
            await event.answer(view.invalid(exc.reason))
        return
    except ValueError:
        if isinstance(event, Message):
            await event.answer(view.bad_value())
        return
    draft = await get_draft(state)
    draft = replace(draft, text=canonical) if draft else service.Draft(canonical, RuleSettings())
    await state.update_data({BUILD: {}})
    await open_draft(event, state, uow, user, draft)
