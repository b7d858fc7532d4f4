"""Bulk launch: template → ad accounts → creatives → options → pre-flight → approval; then the
runner creates everything, showing progress on the approved message. And the history.

The choices live in the presser's conversation state; every id is re-checked in core."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import LaunchCb
from bot.filters import TYPED
from bot.routers.menu import sign_up_first
from bot.screens import show
from bot.states import LaunchStates
from bot.views import Screen, launch_hub
from bot.views import launch as view
from bot.views import limits as limits_view
from bot.views.common import stale
from core.billing.limits import LimitReached
from core.billing.plans import Catalogue, PlanBook
from core.clock import Clock
from core.launch import service
from core.tiktok import TikTokClient
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="launch")
DRAFT = "launch_draft"


async def _draft(state: FSMContext) -> dict[str, Any]:
    return dict(await state.get_value(DRAFT) or {"a": [], "c": [], "on": True, "at": None})


def _toggle(ids: list[int], one: int) -> list[int]:
    return [i for i in ids if i != one] if one in ids else [*ids, one]


@router.message(Command("launch"))
async def launch_command(
    message: Message, db_user: User | None, state: FSMContext, uow: UnitOfWorkFactory
) -> None:
    """Start a new launch."""
    if db_user is None:
        await message.answer(sign_up_first())
        return
    await state.update_data({DRAFT: None})
    await show(message, view.choose_template(await service.choices(uow, db_user.id)))


@router.callback_query(LaunchCb.filter())
async def launch_action(
    query: CallbackQuery,
    callback_data: LaunchCb,
    db_user: User | None,
    state: FSMContext,
    uow: UnitOfWorkFactory,
    clock: Clock,
    tiktok: TikTokClient | None,
    plans: PlanBook,
) -> None:
    """Every launch button; ids are lookup keys, checked against the presser in core."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    # A forged page below 0 is the first page (a negative OFFSET is refused by PostgreSQL).
    cb, draft = callback_data.model_copy(update={"n": max(callback_data.n, 0)}), await _draft(state)
    if cb.a != "when" and await state.get_state() == LaunchStates.when:
        await state.set_state(None)  # another button: text typed later is not a start time
    said: str | None = None
    if cb.a == "hub":
        await show(query, launch_hub.hub())
    elif cb.a == "new":
        await state.update_data({DRAFT: None})
        await show(query, view.choose_template(await service.choices(uow, db_user.id), cb.n))
    elif cb.a in ("tpl", "acc", "crs_back"):
        said = await _accounts(query, cb, draft, state, uow, db_user)
    elif cb.a in ("crs", "cr", "opt_back"):
        choices = await service.choices(uow, db_user.id)
        if cb.a == "cr" and any(c.id == cb.id for c in choices.creatives):
            draft["c"] = _toggle(draft["c"], cb.id)
        await state.update_data({DRAFT: draft})
        page = cb.n if cb.a == "cr" else 0
        await show(query, view.choose_creatives(choices, draft["c"], page))
    elif cb.a in ("opt", "onoff", "now"):
        if cb.a == "onoff":
            draft["on"] = not draft["on"]
        if cb.a == "now":
            draft["at"] = None
        await state.update_data({DRAFT: draft})
        await show(query, _options(draft, db_user))
    elif cb.a == "when":
        await state.set_state(LaunchStates.when)
        if query.message is not None:
            await query.message.answer(view.ask_when())
    elif cb.a == "check":
        await _check(query, draft, uow, clock, tiktok, db_user, plans.current())
        return  # answered by _check before its pre-flight
    elif cb.a in ("ok", "no"):
        said = await _decide(query, cb, uow, clock, db_user, plans.current())
    elif cb.a == "hist":
        rows, pages = await service.history(uow, db_user.id, cb.n)
        await show(query, view.history(rows, cb.n, pages, db_user.time_zone))
    elif cb.a == "show":
        found = await service.detail(uow, db_user.id, cb.id)
        if found is None:
            said = stale()
        else:
            await show(query, view.detail(found, cb.n, db_user.time_zone))
    else:
        said = stale()
    await query.answer(said, show_alert=said is not None and said == stale())


def _run_at(draft: dict[str, Any]) -> datetime | None:
    """The scheduled start kept in the draft (None: start once approved)."""
    return datetime.fromisoformat(draft["at"]) if draft.get("at") else None


def _options(draft: dict[str, Any], user: User) -> Screen:
    """Step 4 for the draft as it stands."""
    counts = (len(draft["a"]), len(draft["c"]))
    return view.options(draft["on"], _run_at(draft), user.time_zone, counts)


async def _accounts(
    query: CallbackQuery,
    cb: LaunchCb,
    draft: dict[str, Any],
    state: FSMContext,
    uow: UnitOfWorkFactory,
    user: User,
) -> str | None:
    """Step 2: the template picked (or kept), accounts toggled."""
    choices = await service.choices(uow, user.id)
    if cb.a == "tpl":
        if not any(t.id == cb.id for t in choices.templates):
            return stale()
        draft = {"t": cb.id, "a": [], "c": [], "on": True, "at": None}
    if "t" not in draft:
        return stale()
    if cb.a == "acc" and any(a.id == cb.id for a in choices.accounts):
        draft["a"] = _toggle(draft["a"], cb.id)
    await state.update_data({DRAFT: draft})
    name = next((t.name for t in choices.templates if t.id == draft["t"]), "")
    await show(query, view.choose_accounts(choices, name, draft["a"], cb.n if cb.a == "acc" else 0))
    return None


async def _check(
    query: CallbackQuery,
    draft: dict[str, Any],
    uow: UnitOfWorkFactory,
    clock: Clock,
    tiktok: TikTokClient | None,
    user: User,
    catalogue: Catalogue,
) -> None:
    """Pre-flight, then the plan for approval (or the problems, or the plan limit it hits)."""
    if tiktok is None or "t" not in draft or not draft["a"] or not draft["c"]:
        await query.answer(stale(), show_alert=True)
        return
    # Pre-flight asks TikTok about every account and can outlast the time Telegram waits for
    # a button's answer (telegram-bot-platform.md §2.4): answer now, show progress instead.
    await query.answer()
    await show(query, (view.checking(), None))
    req = service.Request(draft["t"], draft["a"], draft["c"], draft["on"], _run_at(draft))
    try:
        result = await service.propose(uow, clock, tiktok, user.id, req, catalogue)
    except LimitReached as exc:
        await show(query, limits_view.reached(exc.hit, LaunchCb(a="opt")))
        return
    if result is None:  # the template or an account went away meanwhile
        await show(query, (stale(), launch_hub.hub()[1]))
        return
    choices = await service.choices(uow, user.id)
    names = {a.id: a.name for a in choices.accounts}
    if isinstance(result, list):
        await show(query, view.issues(result, names))
        return
    await show(
        query,
        view.proposal(result.launch, result.summary, names, user.time_zone, result.warnings,
                      result.twin),
    )


async def _decide(
    query: CallbackQuery,
    cb: LaunchCb,
    uow: UnitOfWorkFactory,
    clock: Clock,
    user: User,
    catalogue: Catalogue,
) -> str | None:
    """Approve (once) or reject; the approved message then shows the progress. A plan limit
    reached meanwhile is said in a message of its own: the proposal stays, to approve after an
    upgrade."""
    message_id = query.message.message_id if query.message is not None else None
    if cb.a == "ok":
        try:
            outcome, launch = await service.approve(
                uow, clock, user.id, cb.id, message_id, catalogue
            )
        except LimitReached as exc:
            if query.message is not None:
                text, markup = limits_view.reached(exc.hit)
                await query.message.answer(text, reply_markup=markup)
            return None
    else:
        outcome, launch = await service.reject(uow, clock, user.id, cb.id)
    if launch is None:
        return stale()
    if outcome in (service.Outcome.APPROVED, service.Outcome.REJECTED, service.Outcome.EXPIRED):
        await show(query, (view.decided(launch, user.time_zone), None))
    return view.decision_answer(outcome.value)


@router.message(LaunchStates.when, TYPED)
async def typed_when(
    message: Message, state: FSMContext, db_user: User | None, clock: Clock
) -> None:
    """A scheduled start typed in the user's time zone."""
    if db_user is None:
        await state.clear()
        await message.answer(sign_up_first())
        return
    when = service.parse_when(message.text or "", clock.now(), db_user.time_zone)
    if when is None:
        await message.answer(view.bad_when())
        return
    draft = await _draft(state)
    draft["at"] = when.isoformat()
    await state.set_state(None)
    await state.update_data({DRAFT: draft})
    await show(message, _options(draft, db_user))
