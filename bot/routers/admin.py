"""/admin: the operators' console (ADMIN_IDS) — the dashboard, looking a user up, grant, refund,
their tickets, broadcasts and reconciliation. The presser is checked on every press, and a
non-operator's press gets exactly the stale-button reply."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import AdminCb
from bot.filters import NOT_TEXT, TYPED
from bot.operator_calls import cancel_renewal_call, refund_call, star_transactions
from bot.screens import show
from bot.states import AdminStates
from bot.views import admin as view
from bot.views.common import stale
from core import admin
from core.billing import account, reconcile
from core.billing.plans import PlanBook
from core.clock import Clock
from core.privacy import rights
from core.settings import Settings
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="admin")
log = logging.getLogger(__name__)
REASON_MAX = 200


def _operator(settings: Settings, user_id: int | None) -> bool:
    return user_id is not None and user_id in settings.admin_id_set


@router.message(Command("admin"))
async def admin_command(message: Message, command: CommandObject, state: FSMContext,
                        db_user: User | None, uow: UnitOfWorkFactory, clock: Clock,
                        settings: Settings, plans: PlanBook) -> None:
    """The dashboard; with an argument, look that user up (id, @username or email)."""
    if message.from_user is None or not _operator(settings, message.from_user.id):
        await message.answer(view.operators_only())
        return
    await state.clear()
    query = (command.args or "").strip()
    if query:
        await _lookup(message, query, db_user, uow, clock, plans)
        return
    await _send(message, view.dashboard(await admin.dashboard(uow, clock), plans.current(),
                                        view.zone_of(db_user)))


@router.message(AdminStates.find, TYPED)
async def find_typed(message: Message, state: FSMContext, db_user: User | None,
                     uow: UnitOfWorkFactory, clock: Clock, settings: Settings,
                     plans: PlanBook) -> None:
    """The user to look up, typed after "🔎 Find user"."""
    if message.from_user is None or not _operator(settings, message.from_user.id):
        await state.clear()
        await message.answer(view.operators_only())
        return
    if await _lookup(message, message.text or "", db_user, uow, clock, plans):
        await state.clear()


@router.message(AdminStates.grant_reason, TYPED)
async def grant_reason_typed(message: Message, state: FSMContext, db_user: User | None,
                             uow: UnitOfWorkFactory, clock: Clock, settings: Settings,
                             plans: PlanBook) -> None:
    """The reason for a grant: record it (audited under the operator's id)."""
    if message.from_user is None or not _operator(settings, message.from_user.id):
        await state.clear()
        await message.answer(view.operators_only())
        return
    reason = (message.text or "").strip()
    if not reason or len(reason) > REASON_MAX:
        await message.answer(view.reason_bad())
        return
    data = await state.get_data()
    await state.clear()
    user_id, plan, days = int(data["u"]), str(data["plan"]), int(data["days"])
    catalogue = plans.current()
    try:
        change = await account.grant(uow, catalogue, clock, message.from_user.id, user_id, plan,
                                     days, reason)
    except ValueError:  # the plan left the catalogue meanwhile
        await message.answer(stale())
        return
    await _send(message, view.granted(user_id, change, catalogue, plan, days,
                                      view.zone_of(db_user)))


@router.message(AdminStates.broadcast_text, TYPED)
async def broadcast_typed(message: Message, state: FSMContext, uow: UnitOfWorkFactory,
                          clock: Clock, settings: Settings) -> None:
    """A new broadcast's text: store it as a draft and show the preview."""
    if message.from_user is None or not _operator(settings, message.from_user.id):
        await state.clear()
        await message.answer(view.operators_only())
        return
    kind = str(await state.get_value("kind", "news"))
    await state.clear()
    await preview_broadcast(message, uow, clock, message.from_user.id, kind, message.text or "")


@router.message(AdminStates.find, NOT_TEXT)
@router.message(AdminStates.grant_reason, NOT_TEXT)
@router.message(AdminStates.broadcast_text, NOT_TEXT)
async def not_text(message: Message) -> None:
    """Only typed text moves these steps."""
    await message.answer(view.text_please())


async def preview_broadcast(message: Message, uow: UnitOfWorkFactory, clock: Clock,
                            operator_id: int, kind: str, text: str) -> None:
    """Store a draft and show it exactly as users will see it, then Send / Cancel."""
    try:
        draft = await rights.draft_broadcast(uow, clock, operator_id, kind, text)
    except ValueError:
        await message.answer(view.broadcast_bad(len(text.strip()), rights.BROADCAST_MAX))
        return
    await _send(message, view.preview(draft))
    await _send(message, view.preview_controls(draft))


@router.callback_query(AdminCb.filter())
async def admin_pressed(query: CallbackQuery, callback_data: AdminCb, state: FSMContext,
                        db_user: User | None, uow: UnitOfWorkFactory, clock: Clock,
                        settings: Settings, plans: PlanBook, bot: Bot, worker: str) -> None:
    """Every console button; only an operator's press counts, checked on every press."""
    if not _operator(settings, query.from_user.id):
        await query.answer(stale(), show_alert=True)
        return
    a, zone, catalogue = callback_data.a, view.zone_of(db_user), plans.current()
    operator = query.from_user.id
    if a == "home":
        await show(query, view.dashboard(await admin.dashboard(uow, clock), catalogue, zone))
    elif a == "find":
        await state.set_state(AdminStates.find)
        await _say(query, view.find_prompt())
    elif a == "user":
        await _card(query, uow, clock, plans, operator, callback_data.u, zone)
    elif a in ("grant", "gp", "gd"):
        await _grant_step(query, callback_data, state, uow, plans)
        return
    elif a in ("refund", "rf", "rfok"):
        await _refund_step(query, callback_data, uow, clock, plans, bot, zone)
        return
    elif a == "tickets":
        target = await _target(query, uow, callback_data.u)
        if target is None:
            return
        found = await admin.tickets_of(uow, operator, target.id)
        await show(query, view.tickets(target, found, zone))
    elif a == "recon":
        await _reconcile(query, uow, clock, settings, plans, bot, worker)
        return
    elif a in ("bc", "bnew", "bsend", "bkind", "bcancel", "bs", "pv"):
        await _broadcast_step(query, callback_data, state, uow, clock, zone)
        return
    else:
        await query.answer(stale(), show_alert=True)
        return
    await query.answer()


# Helpers ------------------------------------------------------------------------------------


async def _send(message: Message, screen: view.Screen) -> None:
    """A screen as a new message."""
    text, markup = screen
    await message.answer(text, reply_markup=markup)


async def _say(query: CallbackQuery, text: str) -> None:
    """A new message under the pressed one (a prompt that waits for typed input)."""
    if isinstance(query.message, Message):
        await query.message.answer(text)


async def _lookup(message: Message, text: str, db_user: User | None, uow: UnitOfWorkFactory,
                  clock: Clock, plans: PlanBook) -> bool:
    """Find the user and show their card (or the matches, or why not); False when the text
    is not a query at all (the prompt stays)."""
    try:
        found = await admin.find_users(uow, text)
    except admin.BadQuery:
        await message.answer(view.bad_query())
        return False
    zone = view.zone_of(db_user)
    if not found:
        await _send(message, view.not_found(text.strip()))
    elif len(found) > 1:
        await _send(message, view.matches(found, zone))
    else:
        assert message.from_user is not None
        card = await admin.user_card(uow, plans.current(), clock, message.from_user.id,
                                     found[0].id)
        await _send(message, view.user_card(card, plans.current(), zone))
    return True


async def _card(query: CallbackQuery, uow: UnitOfWorkFactory, clock: Clock, plans: PlanBook,
                operator: int, user_id: int, zone: str) -> None:
    """A user's card in place of the pressed message."""
    try:
        card = await admin.user_card(uow, plans.current(), clock, operator, user_id)
    except admin.NoSuchUser:
        await show(query, (view.no_such_user(user_id), None))
        return
    await show(query, view.user_card(card, plans.current(), zone))


async def _target(query: CallbackQuery, uow: UnitOfWorkFactory, user_id: int) -> User | None:
    """The user a button is about (deleted ones too); None (answered) when gone entirely."""
    user = await admin.user_by_id(uow, user_id)
    if user is None:
        await query.answer(view.no_such_user_plain(user_id), show_alert=True)
    return user


async def _grant_step(query: CallbackQuery, cb: AdminCb, state: FSMContext,
                      uow: UnitOfWorkFactory, plans: PlanBook) -> None:
    """Grant: choose the plan, then the days, then the reason is typed."""
    target = await _target(query, uow, cb.u)
    if target is None:
        return
    if target.deleted_at is not None:  # the card offers no grant for a deleted account
        await query.answer(stale(), show_alert=True)
        return
    catalogue = plans.current()
    if cb.a == "grant":
        await show(query, view.grant_plans(target, catalogue))
        await query.answer()
        return
    plan, _, days = cb.v.partition(".")
    chosen = catalogue.get(plan)
    if chosen is None or not chosen.paid or (cb.a == "gd" and (
            not days.isdigit() or int(days) not in view.GRANT_DAYS)):
        await query.answer(stale(), show_alert=True)  # a forged or outdated payload
        return
    if cb.a == "gp":
        await show(query, view.grant_days(target, catalogue, plan))
        await query.answer()
        return
    await state.set_state(AdminStates.grant_reason)
    await state.update_data(u=target.id, plan=plan, days=int(days))
    await query.answer()
    await _say(query, view.grant_reason(target, catalogue, plan, int(days)))


async def _refund_step(query: CallbackQuery, cb: AdminCb, uow: UnitOfWorkFactory,
                       clock: Clock, plans: PlanBook, bot: Bot, zone: str) -> None:
    """Refund: choose a Stars charge, confirm, then Telegram refunds it and the ledger follows."""
    target = await _target(query, uow, cb.u)
    if target is None:
        return
    catalogue = plans.current()
    if cb.a == "refund":
        card = await admin.user_card(uow, catalogue, clock, query.from_user.id, target.id)
        await show(query, view.refund_list(target, card.payments, catalogue, zone))
        await query.answer()
        return
    charge = await admin.payment(uow, target.id, int(cb.v)) if cb.v.isdigit() else None
    if charge is None:
        await query.answer(stale(), show_alert=True)
        return
    if cb.a == "rf":
        if charge.kind != "stars" or charge.refunded_at is not None:
            reason = "refunded" if charge.refunded_at is not None else "not_stars"
            await show(query, view.refund_impossible(target.id, reason))
        else:
            await show(query, view.refund_confirm(target, charge, catalogue, zone))
        await query.answer()
        return
    await query.answer()
    try:
        done = await admin.refund(uow, catalogue, clock, query.from_user.id, target.id,
                                  charge.id, refund_call(bot), cancel_renewal_call(bot))
    except admin.TelegramRefusal as refused:
        await show(query, view.refund_refused(target.id, refused.message))
        return
    except admin.RefundImpossible as impossible:
        await show(query, view.refund_impossible(target.id, impossible.reason))
        return
    await show(query, view.refunded(target.id, charge.total_amount, done.already,
                                    done.subscription, done.renewal_canceled, done.cancel_error,
                                    done.change, catalogue, zone))


async def _reconcile(query: CallbackQuery, uow: UnitOfWorkFactory, clock: Clock,
                     settings: Settings, plans: PlanBook, bot: Bot, worker: str) -> None:
    """🔁 Reconcile now: the report (also "0 differences") comes to the presser as a message."""
    await query.answer(view.reconcile_started())
    try:
        report = await reconcile.run(
            uow, plans.current(), clock, star_transactions(bot),
            [k.secret for k in settings.keyring.keys], worker, settings.admin_id_set,
            started_by=query.from_user.id)
    except TelegramAPIError as exc:
        log.warning("billing.reconcile_failed", extra={"error": exc.message})
        await _say(query, view.reconcile_failed(exc.message))
        return
    if report is None:
        await _say(query, view.reconcile_busy())


async def _broadcast_step(query: CallbackQuery, cb: AdminCb, state: FSMContext,
                          uow: UnitOfWorkFactory, clock: Clock, zone: str) -> None:
    """Broadcasts: the list, a new one (its text is typed), preview → send / switch kind /
    cancel, and one broadcast's delivery status."""
    a, operator = cb.a, query.from_user.id
    if a == "pv":
        await query.answer(view.preview_button(), show_alert=True)
        return
    if a == "bc":
        await show(query, view.broadcasts(await rights.recent_broadcasts(uow), zone))
    elif a == "bnew":
        if cb.v not in rights.BROADCAST_KINDS:
            await query.answer(stale(), show_alert=True)
            return
        await state.set_state(AdminStates.broadcast_text)
        await state.update_data(kind=cb.v)
        await _say(query, view.broadcast_prompt(cb.v))
    elif a == "bs":
        status = await rights.broadcast_status(uow, cb.v)
        if status is None or status.queued_at is None:
            await query.answer(stale(), show_alert=True)
            return
        await show(query, view.broadcast_status(status, zone))
    elif a == "bkind":
        try:
            draft = await rights.switch_kind(uow, cb.v)
        except rights.NotADraft:
            await query.answer(view.broadcast_gone(), show_alert=True)
            return
        # The preview above is now out of date: show the new one below, with its controls.
        if isinstance(query.message, Message):
            await query.message.edit_text(view.switched(draft.kind))
            await _send(query.message, view.preview(draft))
            await _send(query.message, view.preview_controls(draft))
    elif a == "bcancel":
        if not await rights.cancel_broadcast(uow, clock, operator, cb.v):
            await query.answer(view.broadcast_gone(), show_alert=True)
            return
        await show(query, (view.broadcast_cancelled(), None))
    elif a == "bsend":
        await query.answer()
        try:
            sent = await rights.send_broadcast(uow, clock, operator, cb.v)
        except rights.NotADraft:
            if isinstance(query.message, Message):
                await query.message.answer(view.broadcast_gone())
            return
        log.info("admin.broadcast", extra={"broadcast": sent.key, "recipients": sent.recipients})
        await show(query, view.broadcast_queued(sent.key, sent.recipients))
        return
    await query.answer()
