"""Settings → Web sign-in: link a Google account for the dashboard's "Sign in with Google"
(a one-time link, core/google_signin.py), or unlink it. The buttons act on the presser's own
account only."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery

from bot.callbacks import WebSigninCb
from bot.routers.menu import sign_up_first
from bot.screens import show
from bot.views import web_signin as view
from core import google_signin
from core.clock import Clock
from core.settings import Settings
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="web_signin")


@router.callback_query(WebSigninCb.filter())
async def web_signin_action(
    query: CallbackQuery, callback_data: WebSigninCb, db_user: User | None,
    uow: UnitOfWorkFactory, clock: Clock, settings: Settings,
) -> None:
    """Show the screen, send a link offer, or unlink (a second unlink says nothing is linked)."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    action, toast = callback_data.a, None
    if action == "link" and settings.google_signin:
        token = await google_signin.offer_link(uow, clock, db_user.id)
        if token is None:
            await query.answer(sign_up_first(), show_alert=True)
            return
        await show(query, view.link_offer(f"{settings.public_url}/app/google/link/{token}"))
        await query.answer()
        return
    if action == "unlink":
        toast = view.unlinked() if await google_signin.unlink(uow, db_user.id) \
            else view.nothing_linked()
    found = await google_signin.linked(uow, db_user.id)
    await show(query, view.overview(settings.google_signin,
                                    found.email if found is not None else None,
                                    found is not None))
    await query.answer(toast)
