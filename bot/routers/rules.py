"""Rules: list, view, build from one typed line (the button builder is rule_builder.py),
presets, draft settings, preview, backtest, run now, run log, switch on/off, duplicate, delete.
Every id in a button is re-checked against the presser; a draft lives in the presser's own
conversation state."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import DraftCb, MenuCb, RulesCb
from bot.filters import TYPED
from bot.progress import every_second, final
from bot.routers.menu import sign_up_first
from bot.screens import show
from bot.states import RuleStates
from bot.views import Screen
from bot.views import limits as limits_view
from bot.views import privacy as privacy_view
from bot.views import rule_checks as checks_view
from bot.views import rule_draft as draft_view
from bot.views import rules as view
from core.billing.limits import LimitHit, LimitReached, check_cadence, plan_of
from core.billing.plans import Catalogue, Plan, PlanBook
from core.clock import Clock
from core.rules import service
from core.rules.acting import Changer
from core.rules.backtest import backtest
from core.rules.engine import LEASE as RULES_LEASE
from core.rules.presets import preset
from core.rules.run_now import Outcome as RunOutcome
from core.rules.run_now import run_now
from core.rules.schedule import at_cadence, fastest
from core.rules.settings import (
    Frequency,
    RuleSettings,
    Schedule,
    Scope,
    from_json,
    to_json,
    validate,
)
from core.rules.text import RuleSyntaxError
from core.settings import Settings
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="rules")
DRAFT, BUILD = "rule_draft", "rule_build"
_FREQ = re.compile(r"^\s*(\d{1,3})\s*(?:per|/|в|за)\s*(\d{1,4})\s*h?\s*$", re.IGNORECASE)
_TIMES = re.compile(r"([01]?\d|2[0-3])[:.]([0-5]\d)")


# Loading and showing ------------------------------------------------------------------------


async def _accounts(uow: UnitOfWorkFactory, user: User) -> list[Any]:
    async with uow() as u:
        return await u.connections.accounts(user.id, tracked_only=True)


async def list_screen(uow: UnitOfWorkFactory, user: User, page: int = 0) -> Screen:
    """The user's rules."""
    return view.rules_list(await service.rules_of(uow, user.id), page)


async def rule_screen(
    uow: UnitOfWorkFactory, user: User, rule_id: int, now: datetime | None = None,
    plan: Plan | None = None,
) -> Screen | None:
    """One rule with its last run and conflicts (and what the `plan` does to it); None if not
    the user's."""
    rule = await service.get(uow, user.id, rule_id)
    if rule is None:
        return None
    log = await service.runs(uow, user.id, rule_id, 1, 0)
    last = log[0][0] if log and log[0] else None
    draft = service.draft_of(rule)
    clash = await service.conflicts(uow, user.id, draft)
    return view.rule_view(
        rule, draft.settings, await _accounts(uow, user), user.time_zone, last, clash, now, plan
    )


async def get_draft(state: FSMContext) -> service.Draft | None:
    """The rule draft kept in the presser's conversation state, if any."""
    doc = (await state.get_data()).get(DRAFT)
    if not doc:
        return None
    return service.Draft(
        doc["text"], from_json(doc["settings"]), doc.get("name", ""), doc.get("rule_id")
    )


async def _put_draft(state: FSMContext, draft: service.Draft) -> None:
    await state.update_data(
        {
            DRAFT: {
                "text": draft.text,
                "settings": to_json(draft.settings),
                "name": draft.name,
                "rule_id": draft.rule_id,
            }
        }
    )


async def draft_screen(uow: UnitOfWorkFactory, user: User, draft: service.Draft) -> Screen:
    """The draft review screen."""
    clash = await service.conflicts(uow, user.id, draft)
    return draft_view.draft(
        draft.text,
        draft.settings,
        draft.name,
        await _accounts(uow, user),
        user.time_zone,
        clash,
        draft.rule_id is not None,
    )


async def open_draft(
    event: Message | CallbackQuery,
    state: FSMContext,
    uow: UnitOfWorkFactory,
    user: User,
    draft: service.Draft,
) -> None:
    """Keep `draft` as the presser's draft and show it (leaving any typing state)."""
    await _put_draft(state, draft)
    await state.set_state(None)
    await show(event, await draft_screen(uow, user, draft))


# Entry points -------------------------------------------------------------------------------


@router.message(Command("rules"))
async def rules_command(message: Message, db_user: User | None, uow: UnitOfWorkFactory) -> None:
    """/rules: the list."""
    if db_user is None:
        await message.answer(sign_up_first())
        return
    await show(message, await list_screen(uow, db_user))


@router.callback_query(MenuCb.filter(F.section == "rules"))
async def rules_from_menu(
    query: CallbackQuery, db_user: User | None, uow: UnitOfWorkFactory
) -> None:
    """Rules from the main menu."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    await show(query, await list_screen(uow, db_user))
    await query.answer()


@router.callback_query(RulesCb.filter())
async def rules_action(
    query: CallbackQuery,
    callback_data: RulesCb,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    clock: Clock,
    state: FSMContext,
    changer: Changer | None,
    plans: PlanBook,
    worker: str = "chat",
    settings: Settings | None = None,
) -> None:
    """Every button of the list, a rule and its log."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    a, rid = callback_data.a, callback_data.id
    catalogue = plans.current()
    if a == "now":
        lease = settings.leases.rules if settings is not None else RULES_LEASE
        await _run_now(query, callback_data, db_user, uow, clock, changer, worker, catalogue,
                       lease)
        return
    if a == "list":
        await show(query, await list_screen(uow, db_user, callback_data.n))
    elif a == "type":
        await state.update_data({DRAFT: None})  # a new rule, not an edit of an open draft
        await state.set_state(RuleStates.text)
        await show(query, (view.ask_text(), None))
    elif a == "presets":
        await show(query, view.presets())
    elif a == "preset":
        found = preset(callback_data.v)
        if found is None:
            await query.answer(view.not_yours(), show_alert=True)
            return
        draft = service.Draft(service.canonical(found.text), RuleSettings())
        await open_draft(query, state, uow, db_user, draft)
    elif a == "run":
        detail = await service.run_detail(uow, db_user.id, rid)
        if detail is None:
            await query.answer(view.not_yours(), show_alert=True)
            return
        await show(query, view.run_detail(*detail, db_user.time_zone, clock.now(), callback_data.n))
    elif not await _rule_action(query, callback_data, db_user, uow, clock, state, catalogue):
        await query.answer(view.not_yours(), show_alert=True)
        return
    await query.answer()


async def _rule_action(
    query: CallbackQuery,
    cb: RulesCb,
    user: User,
    uow: UnitOfWorkFactory,
    clock: Clock,
    state: FSMContext,
    catalogue: Catalogue,
) -> bool:
    """Actions on one rule; False when the rule is not the presser's."""
    rule = await service.get(uow, user.id, cb.id)
    if rule is None:
        return False
    if cb.a in ("on", "off"):
        try:
            await service.set_enabled(uow, clock, user.id, rule.id, cb.a == "on", catalogue)
        except LimitReached as exc:
            await show(query, limits_view.reached(exc.hit, RulesCb(a="view", id=rule.id)))
            return True
    elif cb.a == "dup":
        copy = await service.duplicate(uow, clock, user.id, rule.id)
        if copy is not None:
            rule = copy
    elif cb.a == "del":
        await show(query, view.confirm_delete(rule))
        return True
    elif cb.a == "del_yes":
        await service.delete(uow, user.id, rule.id)
        await show(query, await list_screen(uow, user))
        return True
    elif cb.a == "edit":
        await open_draft(query, state, uow, user, service.draft_of(rule))
        return True
    elif cb.a == "prev":
        await _preview(
            query, uow, clock, user, service.draft_of(rule), RulesCb(a="view", id=rule.id)
        )
        return True
    elif cb.a == "bt":
        await _backtest(
            query,
            uow,
            clock,
            user,
            service.draft_of(rule),
            cb.v,
            lambda d: RulesCb(a="bt", id=rule.id, v=d),
            RulesCb(a="view", id=rule.id),
            catalogue,
        )
        return True
    elif cb.a == "runs":
        page = await service.runs(
            uow, user.id, rule.id, view.RUNS_PER_PAGE, cb.n * view.RUNS_PER_PAGE
        )
        runs, total = page or ([], 0)
        await show(query, view.runs_page(rule, runs, total, cb.n, user.time_zone))
        return True
    elif cb.a != "view":
        return False
    plan = await plan_of(uow, catalogue, clock, user.id)
    screen = await rule_screen(uow, user, rule.id, clock.now(), plan)
    if screen is None:
        return False
    await show(query, screen)
    return True


def _drawn_at(value: str) -> datetime | None:
    """When the screen with a "Run now" was drawn, from its button (None if forged)."""
    try:
        return datetime.fromtimestamp(int(value), UTC) if value.isdigit() else None
    except (OverflowError, OSError, ValueError):
        return None


async def _run_now(
    query: CallbackQuery,
    cb: RulesCb,
    user: User,
    uow: UnitOfWorkFactory,
    clock: Clock,
    changer: Changer | None,
    worker: str,
    catalogue: Catalogue,
    lease: timedelta,
) -> None:
    """Run the rule once, now, as its schedule would, showing progress and then the result."""
    rule = await service.get(uow, user.id, cb.id)
    if rule is None:
        await query.answer(view.not_yours(), show_alert=True)
        return
    if changer is None:
        await query.answer(view.decision_failed(""), show_alert=True)
        return
    if user.paused_at is not None:
        # A paused account gets no alerts, so the approvals this run asks would only expire.
        await query.answer(privacy_view.run_while_paused(), show_alert=True)
        return
    await query.answer()
    await show(query, (view.running(rule), None))
    drawn = _drawn_at(cb.v)
    pace = every_second(query, lambda done, total: view.running(rule, done, total))
    result = await run_now(uow, clock, changer, user.id, rule.id, worker, drawn, pace, catalogue,
                           lease)
    if result.outcome is RunOutcome.GONE:
        await final(query, (view.not_yours(), None))
    elif result.outcome is RunOutcome.BUSY:
        await final(query, view.run_busy(rule))
    elif result.outcome is RunOutcome.FAILED or result.run is None:
        await final(query, view.run_failed(rule))
    else:
        await final(query, view.run_result(rule, result.run, user.time_zone, clock.now()))


async def _preview(
    query: CallbackQuery,
    uow: UnitOfWorkFactory,
    clock: Clock,
    user: User,
    draft: service.Draft,
    back: Any,
) -> None:
    ev = await service.preview(uow, clock, user.id, draft)
    currencies = {a.id: a.currency for a in await _accounts(uow, user)}
    await show(query, (checks_view.preview(ev, currencies, user.time_zone), view.back_kb(back)))


async def _backtest(
    query: CallbackQuery,
    uow: UnitOfWorkFactory,
    clock: Clock,
    user: User,
    draft: service.Draft,
    days: str,
    again: Any,
    back: Any,
    catalogue: Catalogue,
) -> None:
    """What the rule would have done, run at no faster a cadence than the plan allows (as it
    will run)."""
    n = int(days) if days in ("7", "14", "30") else 7
    await show(query, (view.backtesting(n), None))
    floor = (await plan_of(uow, catalogue, clock, user.id)).limits.rule_every_minutes
    settings = replace(draft.settings, schedule=at_cadence(draft.settings.schedule, floor))
    async with uow() as u:
        result = await backtest(u, user.id, draft.text, settings, clock.now(), n)
    await show(query, checks_view.backtest(result, n, user.time_zone, again, back))


# Typed input --------------------------------------------------------------------------------


@router.message(StateFilter(RuleStates.text), TYPED)
async def typed_rule(
    message: Message, state: FSMContext, db_user: User | None, uow: UnitOfWorkFactory
) -> None:
    """The one-line form: parse it, say where it is wrong, or open the draft."""
    if db_user is None:
        return
    text = message.text or ""
    try:
        canonical = service.canonical(text)
    except RuleSyntaxError as exc:
        await message.answer(view.syntax_error(text, exc))
        return
    except service.RuleInvalid as exc:
        await message.answer(view.invalid(exc.reason))
        return
    draft = await get_draft(state)
    draft = replace(draft, text=canonical) if draft else service.Draft(canonical, RuleSettings())
    await open_draft(message, state, uow, db_user, draft)


@router.message(
    StateFilter(RuleStates.name, RuleStates.values, RuleStates.times, RuleStates.frequency), TYPED
)
async def typed_setting(
    message: Message, state: FSMContext, db_user: User | None, uow: UnitOfWorkFactory,
    clock: Clock, plans: PlanBook,
) -> None:
    """A typed draft setting: name, filter values, times of day (no closer together than the
    plan runs rules), or a frequency limit."""
    draft = await get_draft(state)
    if db_user is None or draft is None:
        await state.clear()
        await message.answer(view.draft_closed())
        return
    current, text = await state.get_state(), (message.text or "").strip()
    s = draft.settings
    try:
        if current == RuleStates.name.state:
            if not text or len(text) > 64:
                raise ValueError
            draft = replace(draft, name=text)
        elif current == RuleStates.values.state:
            pending = (await state.get_data()).get("rule_match", "contains")
            split = r"[,\s]+" if pending == "ids" else r"\s*,\s*"
            values = tuple(v for v in re.split(split, text) if v)[:20]
            if not values:
                raise ValueError
            s = validate(replace(s, scope=Scope(s.scope.accounts, pending, values)))
        elif current == RuleStates.times.state:
            times = sorted({f"{int(h):02d}:{m}" for h, m in _TIMES.findall(text)})
            if not times or len(times) > 12:
                raise ValueError
            s = replace(s, schedule=replace(s.schedule, every_minutes=None, times=tuple(times)))
            hit = await _cadence_hit(uow, plans, clock, db_user, s.schedule)
            if hit is not None:
                text, markup = limits_view.reached(hit)
                await message.answer(text, reply_markup=markup)
                return
        else:
            m = _FREQ.match(text)
            if m is None:
                raise ValueError
            s = validate(replace(s, frequency=Frequency(int(m[1]), int(m[2]))))
    except ValueError:  # re.error (a bad pattern) is a ValueError too
        await message.answer(view.bad_value())
        return
    await open_draft(message, state, uow, db_user, replace(draft, settings=s))


# The draft ----------------------------------------------------------------------------------


def _toggle(items: tuple[int, ...], item: int) -> tuple[int, ...]:
    return tuple(sorted(set(items) ^ {item}))


@router.callback_query(DraftCb.filter())
async def draft_action(
    query: CallbackQuery,
    callback_data: DraftCb,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    clock: Clock,
    state: FSMContext,
    plans: PlanBook,
) -> None:
    """Every button of the draft and its settings screens."""
    draft = await get_draft(state)
    if db_user is None or draft is None:
        await query.answer(view.draft_closed(), show_alert=True)
        return
    a, v, s = callback_data.a, callback_data.v, draft.settings
    accounts = await _accounts(uow, db_user)
    screen: Screen | None = None
    if a == "retype":
        await state.set_state(RuleStates.text)
        screen = (view.ask_text(draft.text), None)
    elif a == "name":
        await state.set_state(RuleStates.name)
        screen = (draft_view.ask_name(), None)
    elif a in ("scope", "acc", "acc_all", "match", "agg"):
        sc = s.scope
        if a == "acc_all":
            sc = replace(sc, accounts=None)
        elif a == "acc" and v.isdigit() and int(v) in {x.id for x in accounts}:
            sc = replace(sc, accounts=_toggle(sc.accounts or (), int(v)) or None)
        elif a == "match" and v == "all":
            sc = replace(sc, match="all", values=())
        elif a == "match" and v in ("contains", "starts", "pattern", "ids"):
            await state.update_data(rule_match=v)
            await state.set_state(RuleStates.values)
            await show(query, (draft_view.ask_values(v), None))
            await query.answer()
            return
        elif a == "agg" and v in ("each", "sum"):
            s = replace(s, aggregate=v)
        s = replace(s, scope=sc)
        screen = draft_view.scope_screen(s, accounts)
    elif a in ("sched", "every", "wd", "freq"):
        if a == "every" and v in ("15", "30", "60"):
            hit = await _cadence_hit(uow, plans, clock, db_user, Schedule(int(v)))
            if hit is not None:  # refused with the reason; the draft keeps its schedule
                await show(query, limits_view.reached(hit, DraftCb(a="sched")))
                await query.answer()
                return
            s = replace(s, schedule=Schedule(int(v), (), s.schedule.weekdays))
        elif a == "wd" and v.isdigit() and int(v) < 7:
            days = _toggle(s.schedule.weekdays, int(v))
            s = replace(s, schedule=replace(s.schedule, weekdays=days or s.schedule.weekdays))
        elif a == "freq" and v in draft_view.FREQUENCIES:
            times, hours = draft_view.FREQUENCIES[v]
            s = replace(s, frequency=Frequency(times, hours))
        screen = draft_view.schedule_screen(s)
    elif a == "times":
        await state.set_state(RuleStates.times)
        screen = (draft_view.ask_times(), None)
    elif a == "freq_n":
        await state.set_state(RuleStates.frequency)
        screen = (draft_view.ask_frequency(), None)
    elif a in ("modes", "safe", "risky", "fresh", "appr"):
        if a == "safe" and v in ("auto", "approve", "alert"):
            s = replace(s, safe_mode=v)
        elif a == "risky" and v in ("auto", "approve", "alert"):
            s = replace(s, risky_mode=v)
        elif a == "fresh" and v.isdigit() and int(v) in draft_view.FRESHNESS:
            s = replace(s, freshness_minutes=int(v))
        elif a == "appr" and v.isdigit() and int(v) in draft_view.APPROVAL:
            s = replace(s, approval_minutes=int(v))
        screen = draft_view.modes_screen(s)
    elif a == "prev":
        await _preview(query, uow, clock, db_user, draft, DraftCb(a="show"))
    elif a == "bt":
        await _backtest(
            query, uow, clock, db_user, draft, v, lambda d: DraftCb(a="bt", v=d), DraftCb(a="show"),
            plans.current(),
        )
    elif a in ("save", "save_on"):
        await _save(query, state, uow, clock, db_user, draft, a == "save_on", plans.current())
        return
    elif a == "cancel":
        await state.clear()
        screen = await list_screen(uow, db_user)
    else:  # "show"
        screen = await draft_screen(uow, db_user, draft)
    if s != draft.settings:
        await _put_draft(state, replace(draft, settings=s))
    if screen is not None:
        await show(query, screen)
    await query.answer()


async def _save(
    query: CallbackQuery,
    state: FSMContext,
    uow: UnitOfWorkFactory,
    clock: Clock,
    user: User,
    draft: service.Draft,
    enable: bool,
    catalogue: Catalogue,
) -> None:
    """Save the draft (and switch it on, if the plan allows one more rule on: otherwise it is
    kept switched off and the limit is said)."""
    try:
        rule = await service.save(uow, clock, user.id, draft, catalogue)
    except service.RuleInvalid as exc:
        await query.answer(view.invalid(exc.reason), show_alert=True)
        return
    except ValueError as exc:
        await query.answer(view.invalid(str(exc)), show_alert=True)
        return
    await state.clear()
    if enable:
        try:
            await service.set_enabled(uow, clock, user.id, rule.id, True, catalogue)
        except LimitReached as exc:
            await query.answer(view.saved(False))
            await show(query, limits_view.reached(exc.hit, RulesCb(a="view", id=rule.id)))
            return
    await query.answer(view.saved(enable))
    plan = await plan_of(uow, catalogue, clock, user.id)
    screen = await rule_screen(uow, user, rule.id, clock.now(), plan)
    if screen is not None:
        await show(query, screen)


async def _cadence_hit(
    uow: UnitOfWorkFactory, plans: PlanBook, clock: Clock, user: User, schedule: Schedule
) -> LimitHit | None:
    """Whether the user's plan runs rules as often as `schedule` asks."""
    quickest = fastest(schedule)
    if quickest is None:
        return None
    return check_cadence(await plan_of(uow, plans.current(), clock, user.id), quickest)
