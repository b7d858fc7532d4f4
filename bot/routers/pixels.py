"""Pixels per ad account (issue 17), reached from Accounts and Settings → Optional features.
Only with the "pixels" switch on does anything reach TikTok; every ad account id in a button
is re-checked against the presser."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery

from bot.callbacks import PixelCb
from bot.routers.menu import sign_up_first
from bot.screens import show
from bot.views import accounts as accounts_view
from bot.views import permissions as permissions_view
from bot.views import pixels as view
from core import pixels
from core.clock import Clock
from core.features import grants, is_on
from core.tiktok import ScopeMissingError, TikTokClient, TikTokError
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="pixels")


@router.callback_query(PixelCb.filter())
async def pixel_action(
    query: CallbackQuery,
    callback_data: PixelCb,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    clock: Clock,
    tiktok: TikTokClient | None,
) -> None:
    """Every Pixels button: pick an ad account, or show one's pixels."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    if not is_on(db_user, pixels.FEATURE):
        await show(query, view.feature_off())
        await query.answer()
        return
    if tiktok is None:
        await query.answer(accounts_view.not_configured(), show_alert=True)
        return
    async with uow() as u:
        accounts = list(await u.connections.accounts(db_user.id, tracked_only=False))
    a, account_id = callback_data.a, callback_data.id
    if a == "pick":
        if not accounts:
            await query.answer(view.error(pixels.AccountNotFound()), show_alert=True)
            return
        if len(accounts) > 1:
            await show(query, view.pick_account(accounts, callback_data.n))
            await query.answer()
            return
        account_id = accounts[0].id
    try:
        found = await pixels.account_pixels(uow, clock, tiktok, db_user.id, account_id)
    except pixels.PixelsError as exc:
        await query.answer(view.error(exc), show_alert=True)
        return
    except ScopeMissingError as exc:
        await query.answer()
        await show(query, permissions_view.scope_missing(exc.group, await grants(uow, db_user.id)))
        return
    except TikTokError:
        await query.answer(view.error(pixels.PixelsError()), show_alert=True)
        return
    await show(query, view.pixel_list(found, len(accounts) > 1))
    await query.answer()
