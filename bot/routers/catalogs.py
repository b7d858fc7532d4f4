"""Catalogs (issue 17), reached from Settings → Optional features. Only with the "catalogs"
switch on does anything reach TikTok; the screen only ever reads the presser's own
connections, so its buttons carry no id to check."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery

from bot.callbacks import CatalogCb
from bot.routers.menu import sign_up_first
from bot.screens import show
from bot.views import accounts as accounts_view
from bot.views import catalogs as view
from bot.views import permissions as permissions_view
from core import catalogs
from core.features import grants, is_on
from core.tiktok import ScopeMissingError, TikTokClient, TikTokError
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="catalogs")


@router.callback_query(CatalogCb.filter())
async def catalog_action(
    query: CallbackQuery,
    callback_data: CatalogCb,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    tiktok: TikTokClient | None,
) -> None:
    """Every Catalogs button: the list (a page of it), read live."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    if not is_on(db_user, catalogs.FEATURE):
        await show(query, view.feature_off())
        await query.answer()
        return
    if tiktok is None:
        await query.answer(accounts_view.not_configured(), show_alert=True)
        return
    try:
        found = await catalogs.user_catalogs(uow, tiktok, db_user.id)
    except catalogs.CatalogsError as exc:
        await query.answer(view.error(exc), show_alert=True)
        return
    except ScopeMissingError as exc:
        await query.answer()
        await show(query, permissions_view.scope_missing(exc.group, await grants(uow, db_user.id)))
        return
    except TikTokError:
        await query.answer(view.error(catalogs.CatalogsError()), show_alert=True)
        return
    await show(query, view.catalog_list(found, callback_data.n))
    await query.answer()
