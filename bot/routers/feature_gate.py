"""The gate in front of every optional TikTok feature's buttons (pixels, audiences, catalogs):
signed up, the feature switched on (else its off screen, and nothing reaches TikTok), TikTok
configured; and the one answer for a permission the user's consent withheld."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.types import CallbackQuery

from bot.routers.menu import sign_up_first
from bot.screens import show
from bot.views import Screen
from bot.views import accounts as accounts_view
from bot.views import permissions as permissions_view
from core.feature_access import AccountNotFound, FeatureError
from core.features import grants, is_on
from core.tiktok import ScopeMissingError, TikTokClient
from storage.models import AdAccount, User
from storage.uow import UnitOfWorkFactory


async def open_feature(
    query: CallbackQuery, db_user: User | None, tiktok: TikTokClient | None, feature: str,
    off: Callable[[], Screen],
) -> tuple[User, TikTokClient] | None:
    """The presser and the TikTok client when the feature may run; else None, the reason said."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return None
    if not is_on(db_user, feature):
        await show(query, off())
        await query.answer()
        return None
    if tiktok is None:
        await query.answer(accounts_view.not_configured(), show_alert=True)
        return None
    return db_user, tiktok


async def scope_missing(query: CallbackQuery, uow: UnitOfWorkFactory, user_id: int,
                        exc: ScopeMissingError) -> None:
    """TikTok refused for a permission not granted: which connections lack it, and Reconnect."""
    await query.answer()
    await show(query, permissions_view.scope_missing(exc.group, await grants(uow, user_id)))


async def pick_account(query: CallbackQuery, accounts: list[AdAccount], page: int,
                       picker: Callable[[list[AdAccount], int], Screen],
                       error: Callable[[FeatureError], str]) -> int | None:
    """"Pick" on a per-account feature: the one account at once, else the picker (None)."""
    if not accounts:
        await query.answer(error(AccountNotFound()), show_alert=True)
        return None
    if len(accounts) > 1:
        await show(query, picker(accounts, page))
        await query.answer()
        return None
    return accounts[0].id
