"""Integrations, a tracker's mapping: which TikTok campaigns feed which tracker campaigns —
automatic matches, manual links picked from the tracker's campaigns (with search), name
patterns, unlinking. Every id in a button is only a lookup key checked in core.trackers."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import TrackerCb
from bot.filters import TYPED
from bot.progress import final
from bot.screens import plain, show
from bot.states import TrackerStates
from bot.views import Screen
from bot.views.common import stale
from bot.views.integrations import common as common_view
from bot.views.integrations import mapping as map_view
from core import stats
from core.clock import Clock
from core.settings import Settings
from core.trackers import connect, mapping
from core.trackers.base import TrackerError
from core.trackers.connect import ClientFactory
from core.trackers.factory import client_factory
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="tracker_mapping")
PICK = "trk_pick"  # the manual link being made: tracker id, TikTok campaign, candidates, query
MAX_CANDIDATES = 200  # tracker campaigns kept for the picker (a search narrows them)


def clients(settings: Settings) -> ClientFactory:
    """Tracker clients with the configured per-call timeout (TRACKER_TIMEOUT_SECONDS)."""
    return client_factory(settings.tracker_timeout_seconds)


async def map_screen(
    uow: UnitOfWorkFactory, clock: Clock, user: User, tracker_id: int, page: int = 0,
    note: str | None = None,
) -> Screen:
    """The mapping screen of one tracker; TrackerNotFound if it is not the user's."""
    t = await connect.get_tracker(uow, user.id, tracker_id)
    linked = await mapping.mapping(uow, user.id, tracker_id)
    links = await mapping.list_links(uow, user.id, tracker_id)
    patterns = [(lk.id, lk.pattern or "", lk.tracker_campaign_name) for lk in links
                if lk.pattern]
    direct = [lk for lk in linked if lk.source != "pattern"]
    left = await stats.unmapped(uow, clock, user.id, tracker_id,
                                {(lk.ad_account_id, lk.campaign_id) for lk in linked})
    spend = left.spend if left else []
    revenue = {t.currency: left.revenue} if left and left.revenue else {}
    return map_view.overview(t, direct, patterns, spend, revenue, page, note)





async def mapping_press(
    query: CallbackQuery, cb: TrackerCb, user: User, state: FSMContext, uow: UnitOfWorkFactory,
    clock: Clock, clients: ClientFactory,
) -> bool | None:
    """The mapping screen and its actions."""
    a, tracker_id = cb.a, cb.id
    if a == "map":
        await state.set_state(None)
        await show(query, await map_screen(uow, clock, user, tracker_id, cb.n))
        return True
    if a == "auto":
        await query.answer(map_view.auto_running())
        try:
            report = await mapping.auto_map(uow, clock, tracker_id, clients, user_id=user.id)
            note = map_view.auto_result(report.new)
        except TrackerError as exc:
            note = common_view.reason_text(exc.reason, exc.detail)
        await final(query, await map_screen(uow, clock, user, tracker_id, 0, note))
        return None
    if a == "ul":
        try:
            await mapping.unlink(uow, clock, user.id, tracker_id, int(cb.v or 0))
            note = map_view.unlinked()
        except mapping.LinkError as exc:
            note = map_view.link_error(exc.reason)
        await show(query, await map_screen(uow, clock, user, tracker_id, cb.n, note))
        return True
    t = await connect.get_tracker(uow, user.id, tracker_id)
    if t.status == "disconnected":
        raise connect.TrackerNotFound(tracker_id)
    if a == "lk":
        await state.set_state(None)
        campaigns = await mapping.tiktok_campaigns(uow, user.id)
        # The list shown is kept, so a number pressed means the campaign that was shown even
        # when a sync has added or renamed campaigns since.
        shown = [[c.ad_account_id, c.campaign_id] for c in campaigns]
        await state.update_data({PICK: {"id": tracker_id, "tt": shown}})
        await show(query, map_view.pick_tiktok(t, campaigns, cb.n))
        return True
    if a == "pat":
        await state.set_state(TrackerStates.pattern)
        await state.update_data({PICK: {"id": tracker_id}})
        await show(query, map_view.ask_pattern(t))
        return True
    pick = await state.get_value(PICK)
    if not isinstance(pick, dict) or pick.get("id") != tracker_id:
        return False
    if a == "lkt":
        shown = pick.get("tt") or []
        if not 0 <= cb.n < len(shown):
            return False
        acc, cid = shown[cb.n]
        campaigns = await mapping.tiktok_campaigns(uow, user.id)
        c = next((c for c in campaigns if (c.ad_account_id, c.campaign_id) == (acc, cid)), None)
        if c is None:
            return False
        pick.update(acc=c.ad_account_id, cid=c.campaign_id, target=c.name, query="")
        return await _show_candidates(query, state, uow, user, t, pick, 0, clients)
    if a == "lkp":
        return await _show_candidates(query, state, uow, user, t, pick, cb.n, clients,
                                      reload=False)
    if a == "lkc":
        ids = pick.get("ids") or []
        if not 0 <= cb.n < len(ids):
            return False
        return await _link(query, state, uow, clock, user, tracker_id, pick, str(ids[cb.n]),
                           clients)
    return False


async def _show_candidates(
    event: CallbackQuery | Message, state: FSMContext, uow: UnitOfWorkFactory, user: User,
    t: Any, pick: dict[str, Any], page: int, clients: ClientFactory, reload: bool = True,
) -> bool | None:
    """The tracker campaigns to pick from (searched by `pick["query"]`), kept in the state so a
    number pressed means the campaign that was shown."""
    try:
        found = await mapping.tracker_campaigns(uow, user.id, t.id, clients,
                                                str(pick.get("query") or ""))
    except TrackerError as exc:
        text = common_view.reason_text(exc.reason, exc.detail)
        if isinstance(event, CallbackQuery):
            await event.answer(plain(text)[:200], show_alert=True)
            return None
        await event.answer(text)
        return None
    found = found[:MAX_CANDIDATES]
    if reload or "ids" not in pick:
        pick["ids"] = [c.id for c in found]
    await state.set_state(TrackerStates.search)
    await state.update_data({PICK: pick})
    target = str(pick.get("target") or pick.get("pattern") or "")
    await show(event, map_view.pick_tracker(t, target, found, page, str(pick.get("query") or "")))
    return True


async def _link(
    event: CallbackQuery | Message, state: FSMContext, uow: UnitOfWorkFactory, clock: Clock,
    user: User, tracker_id: int, pick: dict[str, Any], tracker_campaign_id: str,
    clients: ClientFactory,
) -> bool | None:
    """Save the manual or pattern link being made, then show the mapping."""
    try:
        if pick.get("pattern"):
            info, matched = await mapping.link_pattern(
                uow, clock, user.id, tracker_id, str(pick["pattern"]), tracker_campaign_id,
                clients)
            note = map_view.pattern_linked(str(pick["pattern"]), info.tracker_campaign_name,
                                           [c.name for c in matched])
        elif pick.get("cid"):
            info = await mapping.link_campaign(
                uow, clock, user.id, tracker_id, int(pick["acc"]), str(pick["cid"]),
                tracker_campaign_id, clients)
            note = map_view.linked(str(pick.get("target") or ""), info.tracker_campaign_name)
        else:
            return False
    except mapping.LinkError as exc:
        note = map_view.link_error(exc.reason)
    except TrackerError as exc:
        note = common_view.reason_text(exc.reason, exc.detail)
    await state.set_state(None)
    await state.update_data({PICK: None})
    await show(event, await map_screen(uow, clock, user, tracker_id, 0, note))
    return True


@router.message(StateFilter(TrackerStates.search), TYPED)
async def typed_search(
    message: Message, state: FSMContext, db_user: User | None, uow: UnitOfWorkFactory,
    settings: Settings,
) -> None:
    """Text typed while picking a tracker campaign: search by name or id."""
    pick = await state.get_value(PICK)
    if db_user is None or not isinstance(pick, dict) or "id" not in pick:
        await state.set_state(None)
        await message.answer(stale())
        return
    try:
        t = await connect.get_tracker(uow, db_user.id, int(pick["id"]))
    except connect.TrackerNotFound:
        await state.set_state(None)
        await message.answer(common_view.not_found())
        return
    pick["query"] = (message.text or "").strip()[:60]
    await _show_candidates(message, state, uow, db_user, t, pick, 0, clients(settings))


@router.message(StateFilter(TrackerStates.pattern), TYPED)
async def typed_pattern(
    message: Message, state: FSMContext, db_user: User | None, uow: UnitOfWorkFactory,
    settings: Settings,
) -> None:
    """A TikTok campaign name pattern; then the tracker campaign it goes to."""
    pick = await state.get_value(PICK)
    text = " ".join((message.text or "").split())
    if db_user is None or not isinstance(pick, dict) or "id" not in pick:
        await state.set_state(None)
        await message.answer(stale())
        return
    if not 1 <= len(text) <= 128:
        await message.answer(map_view.link_error("pattern"))
        return
    try:
        t = await connect.get_tracker(uow, db_user.id, int(pick["id"]))
    except connect.TrackerNotFound:
        await state.set_state(None)
        await message.answer(common_view.not_found())
        return
    pick.update(pattern=text, query="")
    pick.pop("cid", None)
    await _show_candidates(message, state, uow, db_user, t, pick, 0, clients(settings))
