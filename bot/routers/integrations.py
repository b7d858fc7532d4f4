"""Integrations: affiliate trackers — add (tested before anything is stored), card, edit,
disconnect, mapping, Push now / Pull now, push log, currency rates.

Every tracker id in a button is only a lookup key: the use-cases in core.trackers check it
against the presser (TrackerNotFound otherwise). The API key typed in the wizard is deleted from
the chat at once and kept in the conversation state sealed by the vault until it is saved.
"""

from __future__ import annotations

import base64
import contextlib
from datetime import date, timedelta
from typing import Any

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import MenuCb, TrackerCb
from bot.filters import TYPED
from bot.progress import every_second, final
from bot.routers import tracker_mapping
from bot.routers.menu import sign_up_first
from bot.routers.tracker_mapping import clients
from bot.screens import plain, show
from bot.states import TrackerStates
from bot.views import Screen
from bot.views import limits as limits_view
from bot.views.common import stale
from bot.views.integrations import common as common_view
from bot.views.integrations import fx as fx_view
from bot.views.integrations import overview as list_view
from bot.views.integrations import push_log as log_view
from bot.views.integrations import tracker as card_view
from bot.views.integrations import wizard as wizard_view
from core import stats
from core.billing.limits import TRACKERS, LimitReached, can_add, plan_of
from core.billing.plans import Catalogue, PlanBook
from core.clock import Clock
from core.periods import local_today
from core.settings import Settings
from core.timezones import is_valid, parse_time_zone
from core.trackers import connect, fx, jobs, mapping, push
from core.trackers.base import KINDS, TrackerError
from core.trackers.connect import ClientFactory
from core.trackers.pull import PullReport
from core.trackers.push import PushReport
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="integrations")
DRAFT = "trk_draft"  # the Add tracker form: kind, url, sealed key, tz, cur, name
EDIT = "trk_edit"  # {"id", "f"}: the tracker setting being typed


# Helpers ---------------------------------------------------------------------------------------


def _aad(user_id: int) -> bytes:
    return f"tracker-draft:{user_id}".encode()


def _seal(uow: UnitOfWorkFactory, user_id: int, key: str) -> str:
    """The typed key, encrypted for the conversation state (never kept in plain text)."""
    assert uow.vault is not None
    return base64.b64encode(uow.vault.seal(key, _aad(user_id))).decode()


def _unseal(uow: UnitOfWorkFactory, user_id: int, sealed: str) -> str:
    assert uow.vault is not None
    return uow.vault.open(base64.b64decode(sealed), _aad(user_id))


async def _delete(message: Message) -> bool:
    """Delete a message carrying a secret; False if Telegram would not."""
    try:
        await message.delete()
    except TelegramBadRequest:
        return False
    return True


async def _rows(uow: UnitOfWorkFactory, user_id: int) -> list[list_view.TrackerRow]:
    trackers = await connect.list_trackers(uow, user_id)
    pushed = await stats.last_pushes(uow, user_id)
    return [list_view.TrackerRow(t, pushed.get(t.id), t.last_ok_at) for t in trackers]


async def list_screen(uow: UnitOfWorkFactory, user: User) -> Screen:
    """The Integrations screen."""
    return list_view.overview(await _rows(uow, user.id), user.time_zone)


async def card_screen(uow: UnitOfWorkFactory, clock: Clock, user: User, tracker_id: int,
                      catalogue: Catalogue) -> Screen:
    """One tracker's card; TrackerNotFound if it is not the user's."""
    t = await connect.get_tracker(uow, user.id, tracker_id)
    links = await mapping.mapping(uow, user.id, tracker_id) if t.status != "disconnected" else []
    pushed = await stats.last_pushes(uow, user.id)
    row = list_view.TrackerRow(t, pushed.get(t.id), t.last_ok_at)
    plan = await plan_of(uow, catalogue, clock, user.id)
    return card_view.card(row, len(links), user.time_zone, clock.now(), plan)


async def _draft(state: FSMContext) -> dict[str, Any] | None:
    value = await state.get_value(DRAFT)
    return dict(value) if isinstance(value, dict) else None


async def _put(state: FSMContext, draft: dict[str, Any]) -> None:
    await state.update_data({DRAFT: draft})


async def _next_step(event: Message | CallbackQuery, state: FSMContext, draft: dict[str, Any],
                     clock: Clock, key_deleted: bool = False) -> None:
    """Ask for the first thing the form still lacks, or show it for the test."""
    kind = str(draft["kind"])
    if not draft.get("url"):
        await state.set_state(TrackerStates.url)
        await show(event, wizard_view.ask_url(kind))
    elif not draft.get("key"):
        await state.set_state(TrackerStates.key)
        await show(event, wizard_view.ask_key(kind))
    elif not draft.get("tz"):
        await state.set_state(TrackerStates.time_zone)
        await show(event, wizard_view.ask_zone(kind, clock.now(), key_deleted))
    elif not draft.get("cur"):
        await state.set_state(TrackerStates.currency)
        await show(event, wizard_view.ask_currency(kind))
    else:
        await state.set_state(None)
        await show(event, wizard_view.review(draft, clock.now()))


# Entry -----------------------------------------------------------------------------------------


@router.callback_query(MenuCb.filter(F.section == "integrations"))
async def open_integrations(
    query: CallbackQuery, db_user: User | None, uow: UnitOfWorkFactory
) -> None:
    """Integrations from the main menu."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    await show(query, await list_screen(uow, db_user))
    await query.answer()


@router.callback_query(TrackerCb.filter())
async def tracker_action(
    query: CallbackQuery,
    callback_data: TrackerCb,
    db_user: User | None,
    state: FSMContext,
    uow: UnitOfWorkFactory,
    clock: Clock,
    settings: Settings,
    worker: str,
    plans: PlanBook,
) -> None:
    """Every Integrations button; tracker ids are checked against the presser in core."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    try:
        handled = await _dispatch(query, callback_data, db_user, state, uow, clock, settings,
                                  worker, plans.current())
    except connect.TrackerNotFound:
        await query.answer(common_view.not_found(), show_alert=True)
        return
    if handled is False:
        await query.answer(stale(), show_alert=True)
    elif handled is True:
        await query.answer()


async def _dispatch(
    query: CallbackQuery, cb: TrackerCb, user: User, state: FSMContext, uow: UnitOfWorkFactory,
    clock: Clock, settings: Settings, worker: str, catalogue: Catalogue,
) -> bool | None:
    """Route one press; True: answer plainly, False: stale, None: already answered."""
    a = cb.a
    if a == "ls":
        await state.set_state(None)
        await state.update_data({DRAFT: None, EDIT: None, tracker_mapping.PICK: None})
        await show(query, await list_screen(uow, user))
        return True
    if a in ("add", "kind", "demo", "tz", "cur", "wurl", "wkey", "test", "save"):
        return await _wizard(query, cb, user, state, uow, clock, settings, catalogue)
    if a == "tr":
        await state.set_state(None)
        await show(query, await card_screen(uow, clock, user, cb.id, catalogue))
        return True
    if a == "resume":  # a tracker a plan paused, taken back by hand: the limit is checked
        try:
            await connect.resume_tracker(uow, catalogue, clock, user.id, cb.id)
        except LimitReached as exc:
            await show(query, limits_view.reached(exc.hit, TrackerCb(a="tr", id=cb.id)))
            return True
        await show(query, await card_screen(uow, clock, user, cb.id, catalogue))
        return True
    if a in ("ed", "ef", "etz", "ecur"):
        return await _edit_press(query, cb, user, state, uow, clock, clients(settings))
    if a == "dc":
        t = await connect.get_tracker(uow, user.id, cb.id)
        if t.status == "disconnected":
            raise connect.TrackerNotFound(cb.id)
        await show(query, card_view.confirm_disconnect(t))
        return True
    if a == "dcy":
        t = await connect.get_tracker(uow, user.id, cb.id)
        purge_at = await connect.disconnect_tracker(uow, clock, user.id, cb.id)
        await show(query, card_view.disconnected(t, purge_at, user.time_zone))
        return True
    if a in ("map", "auto", "lk", "lkt", "lkp", "lkc", "pat", "ul"):
        return await tracker_mapping.mapping_press(
            query, cb, user, state, uow, clock, clients(settings)
        )
    if a in ("push", "pull"):
        return await _sync_now(query, cb, user, uow, clock, worker, clients(settings), catalogue,
                               settings.leases.trackers)
    if a == "log":
        return await _push_log(query, cb, user, uow, clock)
    if a in ("fx", "fxs", "fxd"):
        return await _rates_press(query, cb, user, state, uow)
    return False


# Add tracker -----------------------------------------------------------------------------------


async def _wizard(
    query: CallbackQuery, cb: TrackerCb, user: User, state: FSMContext, uow: UnitOfWorkFactory,
    clock: Clock, settings: Settings, catalogue: Catalogue,
) -> bool | None:
    """The steps of Add tracker driven by buttons (refused at once when the plan allows no
    more trackers, and checked again when saving)."""
    a = cb.a
    if a == "add":
        hit = await can_add(uow, catalogue, clock, user.id, TRACKERS)
        if hit is not None:
            await show(query, limits_view.reached(hit, TrackerCb(a="ls")))
            return True
        await state.set_state(None)
        await _put(state, {})
        await show(query, wizard_view.choose_kind(settings.demo_trackers))
        return True
    if a == "kind":
        if cb.v not in KINDS:
            return False
        await _put(state, {"kind": cb.v})
        await _next_step(query, state, {"kind": cb.v}, clock)
        return True
    if a == "demo":
        if not 0 <= cb.n < len(settings.demo_trackers):
            return False
        demo = settings.demo_trackers[cb.n]
        if demo.get("kind") not in KINDS:
            return False
        zone = str(demo.get("time_zone") or "UTC")
        draft = {
            "kind": demo["kind"], "url": str(demo["url"]), "name": str(demo.get("name") or ""),
            "key": _seal(uow, user.id, str(demo["api_key"])),
            "tz": zone if is_valid(zone) else "UTC", "cur": str(demo.get("currency") or "USD"),
        }
        await _put(state, draft)
        await _next_step(query, state, draft, clock)
        return True
    draft = await _draft(state)
    if not draft or "kind" not in draft:
        await query.answer(wizard_view.draft_gone(), show_alert=True)
        return None
    if a == "tz":
        if not is_valid(cb.v):
            return False
        draft["tz"] = cb.v
    elif a == "cur":
        try:
            draft["cur"] = fx.currency_code(cb.v)
        except fx.BadRate:
            return False
    elif a == "wurl":
        draft.pop("url", None)
    elif a == "wkey":
        draft.pop("key", None)
    elif a in ("test", "save"):
        return await _test_or_save(query, a, user, state, uow, clock, draft, clients(settings),
                                   catalogue)
    await _put(state, draft)
    await _next_step(query, state, draft, clock)
    return True


async def _test_or_save(
    query: CallbackQuery, a: str, user: User, state: FSMContext, uow: UnitOfWorkFactory,
    clock: Clock, draft: dict[str, Any], clients: ClientFactory, catalogue: Catalogue,
) -> bool | None:
    """Test connection (lists campaigns), or Save (tests again, then stores)."""
    if not all(draft.get(k) for k in ("url", "key", "tz", "cur")):
        await _next_step(query, state, draft, clock)
        return True
    kind = str(draft["kind"])
    key = _unseal(uow, user.id, str(draft["key"]))
    await query.answer(wizard_view.testing(kind))
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_text(wizard_view.testing(kind))
    try:
        if a == "test":
            campaigns = await connect.test_tracker(kind, str(draft["url"]), key, clients)
            await final(query, wizard_view.test_ok(kind, campaigns))
            return None
        added = await connect.add_tracker(
            uow, clock, user.id, kind, str(draft.get("name") or common_view.kind_name(kind)),
            str(draft["url"]), key,
            str(draft["tz"]), str(draft["cur"]), clients, catalogue,
        )
    except TrackerError as exc:
        await final(query, wizard_view.test_failed(exc.reason, exc.detail))
        return None
    except LimitReached as exc:  # another tracker was added meanwhile: nothing is stored
        await final(query, limits_view.reached(exc.hit, TrackerCb(a="ls")))
        return None
    except connect.BadInput:
        draft.pop("tz", None)
        await _put(state, draft)
        await _next_step(query, state, draft, clock)
        return None
    await state.update_data({DRAFT: None})
    await final(query, wizard_view.saved(added.tracker))
    return None


@router.message(StateFilter(TrackerStates.url), TYPED)
async def typed_url(
    message: Message, state: FSMContext, db_user: User | None, clock: Clock
) -> None:
    """The tracker's base URL (checked to be http(s) now, tested with the key later)."""
    draft = await _draft(state)
    if db_user is None or not draft or "kind" not in draft:
        await state.set_state(None)
        await message.answer(wizard_view.draft_gone())
        return
    url = (message.text or "").strip()
    if not url.lower().startswith(("http://", "https://")) or " " in url or len(url) > 500:
        await message.answer(common_view.reason_text("bad_url"))
        return
    draft["url"] = url
    await _put(state, draft)
    await _next_step(message, state, draft, clock)


@router.message(StateFilter(TrackerStates.key), TYPED)
async def typed_key(
    message: Message, state: FSMContext, db_user: User | None, uow: UnitOfWorkFactory,
    clock: Clock,
) -> None:
    """The API key: deleted from the chat at once, sealed into the form."""
    key = (message.text or "").strip()
    deleted = await _delete(message)
    draft = await _draft(state)
    if db_user is None or not draft or "kind" not in draft:
        await state.set_state(None)
        await message.answer(wizard_view.draft_gone())
        return
    if not deleted:
        await message.answer(wizard_view.key_not_deleted())
    if not key or len(key) > 500:
        await message.answer(common_view.reason_text("bad_key"))
        return
    draft["key"] = _seal(uow, db_user.id, key)
    await _put(state, draft)
    await _next_step(message, state, draft, clock, key_deleted=deleted)


@router.message(StateFilter(TrackerStates.time_zone), TYPED)
async def typed_zone(message: Message, state: FSMContext, clock: Clock) -> None:
    """The tracker's zone typed as a city or an offset."""
    draft = await _draft(state)
    if not draft or "kind" not in draft:
        await state.set_state(None)
        await message.answer(wizard_view.draft_gone())
        return
    zone = parse_time_zone(message.text or "")
    if zone is None:
        await message.answer(card_view.bad_value("tz"))
        return
    draft["tz"] = zone
    await _put(state, draft)
    await _next_step(message, state, draft, clock)


@router.message(StateFilter(TrackerStates.currency), TYPED)
async def typed_currency(message: Message, state: FSMContext, clock: Clock) -> None:
    """The tracker's currency typed as a code."""
    draft = await _draft(state)
    if not draft or "kind" not in draft:
        await state.set_state(None)
        await message.answer(wizard_view.draft_gone())
        return
    try:
        draft["cur"] = fx.currency_code(message.text or "")
    except fx.BadRate:
        await message.answer(wizard_view.bad_currency())
        return
    await _put(state, draft)
    await _next_step(message, state, draft, clock)


# Edit ------------------------------------------------------------------------------------------


async def _edit_press(
    query: CallbackQuery, cb: TrackerCb, user: User, state: FSMContext, uow: UnitOfWorkFactory,
    clock: Clock, clients: ClientFactory,
) -> bool | None:
    """The edit menu, a setting's prompt, or a zone / currency picked by button."""
    t = await connect.get_tracker(uow, user.id, cb.id)
    if t.status == "disconnected":
        raise connect.TrackerNotFound(cb.id)
    if cb.a == "ed":
        await state.set_state(None)
        await show(query, card_view.edit_menu(t))
        return True
    if cb.a == "ef":
        if cb.v not in card_view.EDIT_FIELDS:
            return False
        await state.set_state(TrackerStates.edit)
        await state.update_data({EDIT: {"id": t.id, "f": cb.v}})
        await show(query, card_view.ask_field(t, cb.v, clock.now()))
        return True
    field = "time_zone" if cb.a == "etz" else "currency"
    try:
        saved = await connect.edit_tracker(uow, clock, user.id, t.id, clients,
                                           **{field: cb.v})
    except connect.BadInput:
        return False
    await state.set_state(None)
    await show(query, card_view.edit_menu(saved))
    await query.answer(plain(card_view.edited(saved))[:200])
    return None


@router.message(StateFilter(TrackerStates.edit), TYPED)
async def typed_setting(
    message: Message, state: FSMContext, db_user: User | None, uow: UnitOfWorkFactory,
    clock: Clock, settings: Settings,
) -> None:
    """A typed tracker setting; a new URL or key is tested before it is saved."""
    ask = await state.get_value(EDIT)
    if db_user is None or not isinstance(ask, dict):
        await state.set_state(None)
        await message.answer(stale())
        return
    field, tracker_id, text = str(ask["f"]), int(ask["id"]), (message.text or "").strip()
    if field == "key" and not await _delete(message):
        await message.answer(wizard_view.key_not_deleted())
    values: dict[str, Any] = {}
    if field == "name":
        if not 1 <= len(text) <= 60:
            await message.answer(card_view.bad_value(field))
            return
        values["name"] = text
    elif field == "pct":
        if not text.isdigit() or not 1 <= int(text) <= 100:
            await message.answer(card_view.bad_value(field))
            return
        values["discrepancy_pct"] = int(text)
    elif field == "tz":
        zone = parse_time_zone(text)
        if zone is None:
            await message.answer(card_view.bad_value(field))
            return
        values["time_zone"] = zone
    elif field == "cur":
        try:
            values["currency"] = fx.currency_code(text)
        except fx.BadRate:
            await message.answer(card_view.bad_value(field))
            return
    elif field == "url":
        values["url"] = text
    elif field == "key":
        values["api_key"] = text
    else:
        await state.set_state(None)
        await message.answer(stale())
        return
    try:
        saved = await connect.edit_tracker(uow, clock, db_user.id, tracker_id,
                                           clients(settings), **values)
    except connect.TrackerNotFound:
        await state.set_state(None)
        await message.answer(common_view.not_found())
        return
    except TrackerError as exc:
        await message.answer(card_view.edit_failed(exc.reason, exc.detail))
        return
    except connect.BadInput as exc:
        await message.answer(card_view.bad_value(exc.field))
        return
    await state.set_state(None)
    await state.update_data({EDIT: None})
    text, markup = card_view.edit_menu(saved)
    await message.answer(card_view.edited(saved) + "\n\n" + text, reply_markup=markup)


# Push now / Pull now / push log ----------------------------------------------------------------


async def _sync_now(
    query: CallbackQuery, cb: TrackerCb, user: User, uow: UnitOfWorkFactory, clock: Clock,
    worker: str, clients: ClientFactory, catalogue: Catalogue, lease: timedelta,
) -> bool | None:
    """Push now or Pull now, with progress in the pressed message (at most one edit a second);
    a tracker a plan paused shows its card (Resume / ⭐ Upgrade) instead."""
    t = await connect.get_tracker(uow, user.id, cb.id)
    if t.status == "disconnected":
        raise connect.TrackerNotFound(cb.id)
    if t.plan_paused_at is not None:
        await show(query, await card_screen(uow, clock, user, t.id, catalogue))
        return True
    what = cb.a
    await query.answer()
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_text(card_view.working(what, t, 0, 1))
    pace = every_second(query, lambda d, n: card_view.working(what, t, d, n))
    report: PushReport | PullReport | None
    if what == "push":
        report = await jobs.push_now(uow, clock, user.id, t.id, clients, worker,
                                     progress=pace, lease=lease)
        if report is not None:
            note = card_view.pushed(report.sent, report.accepted, report.rejected,
                                    report.refused)
    else:
        report = await jobs.pull_now(uow, clock, user.id, t.id, clients, worker,
                                     progress=pace, lease=lease)
        if report is not None:
            note = card_view.pulled(report.rows, report.unmapped, report.unread)
    if report is None:  # another worker is pushing or pulling it right now
        text, markup = await card_screen(uow, clock, user, t.id, catalogue)
        await final(query, (card_view.busy(t) + "\n\n" + text, markup))
        return None
    if report.error:
        reason, _sep, detail = report.error.partition(": ")
        await final(query, card_view.failed(what, t, reason, detail))
        return None
    text, markup = await card_screen(uow, clock, user, t.id, catalogue)
    await final(query, (note + "\n\n" + text, markup))
    return None


async def _push_log(
    query: CallbackQuery, cb: TrackerCb, user: User, uow: UnitOfWorkFactory, clock: Clock
) -> bool | None:
    """The push log of one day (today in the tracker's zone unless the button says)."""
    t = await connect.get_tracker(uow, user.id, cb.id)
    today = local_today(clock.now(), t.time_zone)
    try:
        day = date.fromisoformat(cb.v) if cb.v else today
    except ValueError:
        return False
    entries = await push.push_log(uow, user.id, t.id, day)
    await show(query, log_view.day_log(t, day, entries, today))
    return True


# Currency rates --------------------------------------------------------------------------------


async def _rates_press(
    query: CallbackQuery, cb: TrackerCb, user: User, state: FSMContext, uow: UnitOfWorkFactory
) -> bool | None:
    """The rates screen, Set a rate, or forget one."""
    if cb.a == "fxs":
        await state.set_state(TrackerStates.rate)
        await show(query, fx_view.ask_rate())
        return True
    if cb.a == "fxd":
        if len(cb.v) != 6:
            return False
        await fx.delete_rate(uow, user.id, cb.v[:3], cb.v[3:])
    await state.set_state(None)
    await show(query, fx_view.rates(await fx.list_rates(uow, user.id), user.time_zone))
    return True


@router.message(StateFilter(TrackerStates.rate), TYPED)
async def typed_rate(
    message: Message, state: FSMContext, db_user: User | None, uow: UnitOfWorkFactory,
    clock: Clock,
) -> None:
    """A typed rate: `EUR USD 1.0842` (1 EUR = 1.0842 USD)."""
    if db_user is None:
        await state.set_state(None)
        await message.answer(sign_up_first())
        return
    parts = (message.text or "").replace("=", " ").replace("/", " ").split()
    if len(parts) != 3:
        await message.answer(fx_view.bad_rate(""))
        return
    try:
        rate = await fx.set_rate(uow, clock, db_user.id, parts[0], parts[1], parts[2])
    except fx.BadRate as exc:
        await message.answer(fx_view.bad_rate(exc.reason))
        return
    await state.set_state(None)
    text, markup = fx_view.rates(await fx.list_rates(uow, db_user.id), db_user.time_zone)
    await message.answer(fx_view.rate_set(rate.base, rate.quote, rate.rate) + "\n\n" + text,
                         reply_markup=markup)
