"""Catalogs (issue 17), reached from Settings → Optional features. Only with the "catalogs"
switch on does anything reach TikTok; the screen only ever reads the presser's own
connections, so its buttons carry no id to check."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery

from bot.callbacks import CatalogCb, TplEditCb
from bot.routers.feature_gate import open_feature, scope_missing
from bot.screens import show
from bot.views import accounts as accounts_view
from bot.views import catalogs as view
from bot.views import permissions as permissions_view
from bot.views import templates as templates_view
from core import catalogs
from core.feature_access import FeatureError
from core.features import grants, is_on
from core.templates import draft as fields
from core.templates.model import CatalogTarget
from core.tiktok import ScopeMissingError, TikTokClient, TikTokError
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="catalogs")
SETS_KEY = "catalog_sets"  # the product sets last offered to the presser's template draft


@router.callback_query(CatalogCb.filter())
async def catalog_action(
    query: CallbackQuery,
    callback_data: CatalogCb,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    tiktok: TikTokClient | None,
) -> None:
    """Every Catalogs button: the list (a page of it), read live."""
    opened = await open_feature(query, db_user, tiktok, catalogs.FEATURE, view.feature_off)
    if opened is None:
        return
    user, client = opened
    try:
        found = await catalogs.user_catalogs(uow, client, user.id)
    except FeatureError as exc:
        await query.answer(view.error(exc), show_alert=True)
        return
    except ScopeMissingError as exc:
        await scope_missing(query, uow, user.id, exc)
        return
    except TikTokError:
        await query.answer(view.error(FeatureError()), show_alert=True)
        return
    await show(query, view.catalog_list(found, callback_data.n))
    await query.answer()


async def template_step(query: CallbackQuery, cb: TplEditCb, state: FSMContext,
                        uow: UnitOfWorkFactory, user: User, tiktok: TikTokClient | None,
                        draft: Any, put: Callable[[FSMContext, Any], Awaitable[None]]) -> bool:
    """A template draft's catalog buttons (bot/routers/templates.py hands them over): list the
    user's product sets (only with catalogs on), pick one by its index in the list kept in the
    presser's own state, or drop the catalog. False when it answered the press itself."""
    t = draft.template
    if cb.a == "catn":
        draft = replace(draft, template=fields.with_catalog(t, None))
        await put(state, draft)
        await show(query, templates_view.campaign_screen(draft.template))
        return True
    if not is_on(user, catalogs.FEATURE):
        await show(query, view.feature_off())
        return True
    if cb.a == "catp":
        options = (await state.get_data()).get(SETS_KEY) or []
        index = int(cb.v) if cb.v.isdigit() else -1
        if not 0 <= index < len(options):
            await query.answer(view.error(FeatureError()), show_alert=True)
            return False
        bc_id, catalog_id, set_id = options[index]
        draft = replace(draft, template=fields.with_catalog(
            t, CatalogTarget(bc_id, catalog_id, set_id)))
        await put(state, draft)
        await show(query, templates_view.campaign_screen(draft.template))
        return True
    if tiktok is None:
        await query.answer(accounts_view.not_configured(), show_alert=True)
        return False
    try:
        found = await catalogs.user_catalogs(uow, tiktok, user.id)
    except FeatureError as exc:
        await query.answer(view.error(exc), show_alert=True)
        return False
    except ScopeMissingError as exc:
        await show(query, permissions_view.scope_missing(exc.group, await grants(uow, user.id)))
        return True
    except TikTokError:
        await query.answer(view.error(FeatureError()), show_alert=True)
        return False
    options = catalogs.set_choices(found)[:view.TEMPLATE_SETS]
    await state.update_data({SETS_KEY: [[o.bc_id, o.catalog_id, o.product_set_id]
                                        for o in options]})
    current = t.catalog.product_set_id if t.catalog is not None else None
    await show(query, view.template_sets(options, current))
    return True
