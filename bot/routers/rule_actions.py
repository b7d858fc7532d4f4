"""Decisions on what rules did or propose: Approve, Reject, Other amount, Undo, and a digest's
pages and Approve all / Reject all. The ids in a button are only lookup keys: the owner check
and the once-only state change are in core."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import ActionCb, DigestCb
from bot.filters import TYPED
from bot.progress import every_second, final
from bot.routers.menu import sign_up_first
from bot.screens import show
from bot.states import RuleStates
from bot.views import rule_alerts, rule_digest
from bot.views import rules as rules_view
from bot.views.common import stale
from core.clock import Clock
from core.money import parse_amount
from core.rules import approvals, digests, service
from core.rules.acting import Changer
from storage.models import RuleAction, User
from storage.uow import UnitOfWorkFactory

router = Router(name="rule_actions")
EDIT_KEY = "edit_action"


async def _redraw(
    query: CallbackQuery,
    uow: UnitOfWorkFactory,
    clock: Clock,
    user: User,
    row: RuleAction,
    where: str,
) -> None:
    """Show the action's message (or its run's list, or the digest's page it was pressed on)
    as it stands after the decision."""
    digest = rule_digest.parse_handle(where)
    if digest is not None:
        async with uow() as u:
            screen = await rule_digest.render(u, user.id, digest[0], clock.now(), digest[1])
        if screen is not None:
            await show(query, screen)
        return
    if where == "r" and row.run_id is not None:
        detail = await service.run_detail(uow, user.id, row.run_id)
        if detail is not None:
            await show(query, rules_view.run_detail(*detail, user.time_zone, clock.now()))
        return
    async with uow() as u:
        screen = await rule_alerts.render(
            u, "rule_action", user.id, {"action_id": row.id}, clock.now()
        )
    if screen is not None:
        await show(query, screen)


def _said(result: approvals.Result) -> str:
    o = approvals.Outcome
    return {
        o.APPLIED: rules_view.decision_applied(),
        o.REJECTED: rules_view.decision_rejected(),
        o.UNDONE: rules_view.decision_undone(),
        o.EXPIRED: rules_view.decision_expired(),
        o.DECIDED: rules_view.decision_taken(),
        o.FAILED: rules_view.decision_failed(result.error or ""),
        o.GONE: rules_view.decision_gone(),
    }[result.outcome]


@router.callback_query(ActionCb.filter())
async def decide(
    query: CallbackQuery,
    callback_data: ActionCb,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    clock: Clock,
    changer: Changer | None,
    state: FSMContext,
) -> None:
    """Approve / Reject / Undo (once, by the owner only), or ask for another amount."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    a, action_id = callback_data.a, callback_data.id
    if a == "ed":
        async with uow() as u:
            row = await u.rules.action(db_user.id, action_id)
        if row is None or row.state != "proposed" or row.kind not in ("budget", "bid"):
            await query.answer(
                rules_view.decision_gone() if row is None else rules_view.decision_taken(),
                show_alert=True,
            )
            return
        await state.update_data({EDIT_KEY: action_id})
        await state.set_state(RuleStates.edit_value)
        await query.answer()
        if query.message is not None:
            await query.message.answer(rules_view.ask_amount(row.kind))
        return
    if changer is None and a in ("ok", "un"):
        await query.answer(rules_view.decision_failed(""), show_alert=True)
        return
    if a == "ok":
        assert changer is not None
        result = await approvals.approve(uow, clock, changer, db_user.id, action_id)
    elif a == "no":
        result = await approvals.reject(uow, clock, db_user.id, action_id)
    elif a == "un":
        assert changer is not None
        result = await approvals.undo(uow, clock, changer, db_user.id, action_id)
    else:
        await query.answer(rules_view.decision_gone(), show_alert=True)
        return
    alert = result.outcome in (
        approvals.Outcome.FAILED,
        approvals.Outcome.GONE,
        approvals.Outcome.EXPIRED,
    )
    await query.answer(_said(result)[:200], show_alert=alert)
    if result.action is not None:
        await _redraw(query, uow, clock, db_user, result.action, callback_data.v)


@router.callback_query(DigestCb.filter())
async def digest_action(
    query: CallbackQuery,
    callback_data: DigestCb,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    clock: Clock,
    changer: Changer | None,
) -> None:
    """A digest's page, or Approve all / Reject all (each approval once, by the owner only)."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    cb, note = callback_data, None
    async with uow() as u:
        mine = await digests.actions_in(u, db_user.id, cb.id)
    if mine is None or cb.a not in ("pg", "all", "none"):
        await query.answer(stale(), show_alert=True)
        return
    if cb.a == "all" and changer is None:
        await query.answer(rules_view.decision_failed(""), show_alert=True)
        return
    if cb.a in ("all", "none"):
        approve = cb.a == "all"
        # Answered at once: applying many changes takes longer than a button may spin.
        await query.answer(rule_digest.deciding_all(approve))
        pace = every_second(query, lambda d, t: rule_digest.progress_all(approve, d, t))
        tally = await digests.decide_all(uow, clock, changer, db_user.id, cb.id, approve, pace)
        note = rule_digest.all_result(tally) if tally is not None else None
    else:
        await query.answer()
    async with uow() as u:
        screen = await rule_digest.render(u, db_user.id, cb.id, clock.now(), cb.n, note)
    if screen is not None:
        await (final(query, screen) if note is not None else show(query, screen))


@router.message(StateFilter(RuleStates.edit_value), TYPED)
async def typed_amount(
    message: Message,
    state: FSMContext,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    clock: Clock,
    changer: Changer | None,
) -> None:
    """The owner's own amount for a proposed budget or bid change: approve with it."""
    action_id = (await state.get_data()).get(EDIT_KEY)
    if db_user is None or action_id is None or changer is None:
        await state.set_state(None)
        await message.answer(rules_view.decision_gone())
        return
    value = parse_amount(message.text or "")
    if value is None:
        await message.answer(rules_view.bad_value())
        return
    await state.set_state(None)
    await state.update_data({EDIT_KEY: None})
    result = await approvals.approve(uow, clock, changer, db_user.id, int(action_id), value)
    text = _said(result)
    if result.action is not None:
        async with uow() as u:
            screen = await rule_alerts.render(
                u, "rule_action", db_user.id, {"action_id": result.action.id}, clock.now()
            )
        if screen is not None:
            await message.answer(text + "\n\n" + screen[0], reply_markup=screen[1])
            return
    await message.answer(text)
