"""The template editor's audience picker (issue 17), handed over by bot/routers/templates.py:
choose one of the presser's tracked ad accounts (the ones a launch goes into), then toggle that
account's audiences for an ad group. Only with the "audiences" switch on is TikTok asked
anything; the ad account id in a button is re-checked against the presser
(core.feature_access), and an audience id must be one of that account's at TikTok (or one
already picked, to drop it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery

from bot.callbacks import TplEditCb
from bot.routers.feature_gate import scope_missing
from bot.screens import show
from bot.views import accounts as accounts_view
from bot.views import audience_picker as view
from bot.views import audiences as audiences_view
from bot.views.common import stale
from core import audiences
from core.feature_access import AccountNotFound, FeatureError
from core.features import is_on
from core.templates import draft as fields
from core.tiktok import ScopeMissingError, TikTokClient, TikTokError
from storage.models import User
from storage.uow import UnitOfWorkFactory

ACTIONS = frozenset({"aud", "audl", "audt"})
Put = Callable[[FSMContext, Any], Awaitable[None]]


def _ints(value: str, count: int) -> list[int]:
    """`count` dot-separated non-negative numbers from a button (a forged one: ValueError)."""
    parts = value.split(".")
    if len(parts) != count or not all(p.isascii() and p.isdigit() for p in parts):
        raise ValueError(value)
    return [int(p) for p in parts]


async def template_step(query: CallbackQuery, cb: TplEditCb, state: FSMContext,
                        uow: UnitOfWorkFactory, user: User, tiktok: TikTokClient | None,
                        draft: Any, put: Put) -> bool:
    """One audience-picker button of a template draft; False when it answered the press."""
    t, g = draft.template, cb.g
    if not 0 <= g < len(t.adgroups):
        raise ValueError(g)
    if not is_on(user, audiences.FEATURE):
        await show(query, view.feature_off(g))
        return True
    if tiktok is None:
        await query.answer(accounts_view.not_configured(), show_alert=True)
        return False
    async with uow() as u:
        accounts = list(await u.connections.accounts(user.id, tracked_only=True))
    if cb.a == "aud":
        page = _ints(cb.v, 1)[0] if cb.v else 0
        if not accounts:
            await show(query, view.no_accounts(g))
        elif len(accounts) == 1:
            return await _page(query, state, uow, user, tiktok, draft, put, g,
                               accounts[0].id, 0, None, False)
        else:
            await show(query, view.pick_account(t, g, accounts, page))
        return True
    if cb.a == "audl":
        account_id, page = _ints(cb.v, 2)
        toggle = None
    else:  # audt: account.audience.mode.page
        parts = cb.v.split(".")
        if len(parts) != 4 or parts[2] not in fields.AUDIENCE_MODES:
            raise ValueError(cb.v)
        account_id, page = _ints(f"{parts[0]}.{parts[3]}", 2)
        if not (parts[1].isascii() and parts[1].isdigit()):
            raise ValueError(cb.v)
        toggle = (parts[1], parts[2])
    if account_id not in {a.id for a in accounts}:  # another user's id, or one gone since
        await query.answer(audiences_view.error(AccountNotFound()), show_alert=True)
        return False
    return await _page(query, state, uow, user, tiktok, draft, put, g, account_id, page,
                       toggle, len(accounts) > 1)


async def _page(query: CallbackQuery, state: FSMContext, uow: UnitOfWorkFactory, user: User,
                tiktok: TikTokClient, draft: Any, put: Put, g: int, account_id: int, page: int,
                toggle: tuple[str, str] | None, many: bool) -> bool:
    """Read the account's audiences live, apply a toggle if any, and show the page."""
    try:
        found = await audiences.account_audiences(uow, tiktok, user.id, account_id)
    except FeatureError as exc:
        await query.answer(audiences_view.error(exc), show_alert=True)
        return False
    except ScopeMissingError as exc:
        await scope_missing(query, uow, user.id, exc)
        return False
    except TikTokError:
        await query.answer(audiences_view.error(FeatureError()), show_alert=True)
        return False
    t = draft.template
    if toggle is not None:
        audience_id, mode = toggle
        adv = found.account.advertiser_id
        listed = {a.audience_id for a in found.audiences}
        picked = fields.audience_mode(t, g, adv, audience_id) != "o"
        if audience_id not in listed and not (picked and mode == "o"):
            await query.answer(stale(), show_alert=True)
            return False
        draft = replace(draft, template=fields.pick_audience(t, g, adv, audience_id, mode))
        await put(state, draft)
    await show(query, view.audience_page(draft.template, g, found, page, many))
    return True

