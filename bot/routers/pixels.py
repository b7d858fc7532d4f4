"""Pixels per ad account (issue 17), reached from Accounts and Settings → Optional features.
Only with the "pixels" switch on does anything reach TikTok; every ad account id in a button
is re-checked against the presser."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery

from bot.callbacks import PixelCb
from bot.routers.feature_gate import open_feature, pick_account, scope_missing
from bot.screens import show
from bot.views import pixels as view
from core import pixels
from core.clock import Clock
from core.feature_access import FeatureError
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
    opened = await open_feature(query, db_user, tiktok, pixels.FEATURE, view.feature_off)
    if opened is None:
        return
    user, client = opened
    async with uow() as u:
        accounts = list(await u.connections.accounts(user.id, tracked_only=False))
    a, account_id = callback_data.a, callback_data.id
    if a == "pick":
        picked = await pick_account(query, accounts, callback_data.n, view.pick_account,
                                    view.error)
        if picked is None:
            return
        account_id = picked
    try:
        found = await pixels.account_pixels(uow, clock, client, user.id, account_id)
    except FeatureError as exc:
        await query.answer(view.error(exc), show_alert=True)
        return
    except ScopeMissingError as exc:
        await scope_missing(query, uow, user.id, exc)
        return
    except TikTokError:
        await query.answer(view.error(FeatureError()), show_alert=True)
        return
    await show(query, view.pixel_list(found, len(accounts) > 1))
    await query.answer()
