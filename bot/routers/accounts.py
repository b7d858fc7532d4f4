"""Accounts: connect TikTok, see connections and ad accounts, track, disconnect."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery

from bot.callbacks import AccountsCb, MenuCb
from bot.routers.menu import sign_up_first
from bot.screens import show
from bot.views import accounts as view
from bot.views import limits as limits_view
from core.billing.limits import LimitReached, plan_of
from core.billing.plans import Plan, PlanBook
from core.clock import Clock
from core.connections import begin_connect, disconnect, set_tracking
from core.features import is_on
from core.oauth_state import StateSigner
from core.settings import Settings
from core.tiktok import TikTokClient
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="accounts")


async def overview_screen(uow: UnitOfWorkFactory, clock: Clock, user: User, page: int = 0,
                          plan: Plan | None = None) -> view.Screen:
    """The user's connections and ad accounts (`plan`: whose limit paused what it paused)."""
    async with uow() as u:
        connections = await u.connections.connections(user.id)
        accounts = {c.id: await u.connections.accounts_of(c.id) for c in connections}
    return view.overview(connections, accounts, user.time_zone, clock.now(), page, plan,
                         pixels_on=is_on(user, "pixels"),
                         audiences_on=is_on(user, "audiences"),
                         catalogs_on=is_on(user, "catalogs"))


@router.callback_query(MenuCb.filter(F.section == "accounts"))
async def open_accounts(query: CallbackQuery, db_user: User | None, uow: UnitOfWorkFactory,
                        clock: Clock, plans: PlanBook) -> None:
    """Accounts from the main menu."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    plan = await plan_of(uow, plans.current(), clock, db_user.id)
    await show(query, await overview_screen(uow, clock, db_user, 0, plan))
    await query.answer()


@router.callback_query(AccountsCb.filter())
async def accounts_action(
    query: CallbackQuery,
    callback_data: AccountsCb,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    clock: Clock,
    settings: Settings,
    tiktok: TikTokClient | None,
    signer: StateSigner,
    plans: PlanBook,
) -> None:
    """Every Accounts button; ids are checked against the presser before anything happens."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    action, target = callback_data.action, callback_data.id
    catalogue = plans.current()
    if action in ("show", "page"):
        plan = await plan_of(uow, catalogue, clock, db_user.id)
        await show(query, await overview_screen(uow, clock, db_user, callback_data.page, plan))
    elif action in ("connect", "reconnect"):
        if tiktok is None:
            await query.answer(view.not_configured(), show_alert=True)
            return
        if action == "reconnect":
            async with uow() as u:
                if await u.connections.connection(db_user.id, target) is None:
                    await query.answer(view.not_found(), show_alert=True)
                    return
        url = await begin_connect(
            uow,
            clock,
            signer,
            tiktok,
            settings.oauth_redirect_uri,
            db_user.id,
            target if action == "reconnect" else None,
        )
        await show(query, view.consent_link(url))
    elif action == "track":
        async with uow() as u:
            account = await u.connections.account(db_user.id, target)
        if account is None:
            await query.answer(view.not_found(), show_alert=True)
            return
        try:
            await set_tracking(uow, clock, db_user.id, target, not account.tracked, catalogue)
        except LimitReached as exc:
            back = AccountsCb(action="show", page=callback_data.page)
            await show(query, limits_view.reached(exc.hit, back))
            await query.answer()
            return
        except LookupError:
            await query.answer(view.not_found(), show_alert=True)
            return
        plan = await plan_of(uow, catalogue, clock, db_user.id)
        await show(query, await overview_screen(uow, clock, db_user, callback_data.page, plan))
    elif action in ("disconnect", "disconnect_yes"):
        async with uow() as u:
            conn = await u.connections.connection(db_user.id, target)
        if conn is None or conn.status == "disconnected" or tiktok is None:
            await query.answer(view.not_found(), show_alert=True)
            return
        if action == "disconnect":
            await show(query, view.confirm_disconnect(conn))
        else:
            purge_at = await disconnect(uow, clock, tiktok, db_user.id, target)
            await show(
                query, (view.disconnected(conn.display_name, purge_at, db_user.time_zone), None)
            )
    else:
        await query.answer(view.not_found(), show_alert=True)
        return
    await query.answer()
