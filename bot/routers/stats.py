"""Stats: summary across accounts, drill-down, periods, charts, CSV export, refresh now."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from datetime import date

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.chat_action import ChatActionSender
from aiogram.utils.i18n import gettext as _

from bot.callbacks import MenuCb, StatsCb
from bot.filters import TYPED
from bot.routers.menu import sign_up_first
from bot.screens import edit, show
from bot.states import StatsStates
from bot.views import Screen
from bot.views import stats as view
from bot.views.common import stale
from core.charts import (
    ChartRenderer,
    daily_performance,
    daily_profit,
    hourly_today_vs_yesterday,
    top_campaigns,
)
from core.clock import Clock
from core.periods import DateRange, Period, PeriodError, local_today, parse_custom
from core.stats import breakdown, chart_data, csv_table, export_rows, summary
from core.sync import Cadence, refresh_now
from core.tiktok import TikTokClient
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="stats")
CUSTOM_KEY = "stats_custom"
# Where "Custom range" was pressed (a packed StatsCb of that drill-down level, or None for the
# summary): the typed range opens there again.
RETURN_KEY = "stats_custom_from"


async def custom_range(state: FSMContext) -> DateRange | None:
    """The custom range the user typed last (kept in their conversation state)."""
    raw = await state.get_value(CUSTOM_KEY)
    if not raw:
        return None
    start, end = raw.split("..")
    return DateRange(date.fromisoformat(start), date.fromisoformat(end))


async def summary_screen(
    uow: UnitOfWorkFactory,
    clock: Clock,
    user: User,
    period: Period,
    custom: DateRange | None,
    page: int = 0,
) -> Screen:
    """The stats summary for a period."""
    data = await summary(uow, clock, user.id, period, custom)
    return view.summary(data, period, user.time_zone, page, clock.now())


@router.message(Command("stats"))
async def stats_command(
    message: Message, db_user: User | None, uow: UnitOfWorkFactory, clock: Clock
) -> None:
    """The summary for the last 7 days."""
    if db_user is None:
        await message.answer(sign_up_first())
        return
    await show(message, await summary_screen(uow, clock, db_user, Period.LAST_7, None))


@router.callback_query(MenuCb.filter(F.section == "stats"))
async def open_stats(
    query: CallbackQuery, db_user: User | None, uow: UnitOfWorkFactory, clock: Clock
) -> None:
    """Stats from the main menu."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    await show(query, await summary_screen(uow, clock, db_user, Period.LAST_7, None))
    await query.answer()


@dataclass(frozen=True)
class _Ctx:
    """What one stats button press works with."""

    user: User
    period: Period
    custom: DateRange | None
    uow: UnitOfWorkFactory
    clock: Clock
    bot: Bot
    charts: ChartRenderer
    tiktok: TikTokClient | None
    worker: str
    cadence: Cadence


@router.callback_query(StatsCb.filter())
async def stats_action(
    query: CallbackQuery,
    callback_data: StatsCb,
    db_user: User | None,
    state: FSMContext,
    uow: UnitOfWorkFactory,
    clock: Clock,
    bot: Bot,
    charts: ChartRenderer,
    tiktok: TikTokClient | None,
    worker: str,
    cadence: Cadence,
) -> None:
    """Every stats button; the account id is checked against the presser in each use-case."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    cb = callback_data
    try:
        period = Period(cb.p)
    except ValueError:
        await query.answer(stale(), show_alert=True)
        return
    if cb.v == "custom":
        await state.set_state(StatsStates.custom_range)
        back = cb.model_copy(update={"v": "lvl", "n": 0}).pack() if cb.l and cb.a else None
        await state.update_data({RETURN_KEY: back})
        today = local_today(clock.now(), db_user.time_zone)
        await query.answer()
        await bot.send_message(db_user.id, view.ask_custom_range(today))
        return
    custom = await custom_range(state) if period == Period.CUSTOM else None
    if period == Period.CUSTOM and custom is None:
        period = Period.LAST_7
    ctx = _Ctx(db_user, period, custom, uow, clock, bot, charts, tiktok, worker, cadence)
    handled = await _dispatch(query, cb, ctx)
    await query.answer(None if handled else stale(), show_alert=not handled)


async def _dispatch(query: CallbackQuery, cb: StatsCb, ctx: _Ctx) -> bool:
    if cb.v == "sum":
        screen = await summary_screen(ctx.uow, ctx.clock, ctx.user, ctx.period, ctx.custom, cb.n)
        await show(query, screen)
        return True
    if cb.v in ("lvl", "up"):
        return await _show_level(query, cb, ctx)
    if cb.v == "chart":
        return await _send_charts(cb, ctx)
    if cb.v == "csv":
        return await _send_csv(cb, ctx)
    if cb.v == "refresh":
        return await _refresh(cb, ctx)
    return False


async def _show_level(query: CallbackQuery, cb: StatsCb, ctx: _Ctx) -> bool:
    level, parent = view.CODE_LEVEL.get(cb.l), cb.o or None
    if level is None:
        return False
    if cb.v == "up":
        level, parent = await _parent_of(ctx, cb.a, level, parent)
        if level is None:
            await show(query, await summary_screen(ctx.uow, ctx.clock, ctx.user, ctx.period,
                                                   ctx.custom))
            return True
    screen = await level_screen(ctx.uow, ctx.clock, ctx.user, cb.a, level, parent, ctx.period,
                                ctx.custom, cb.n)
    if screen is None:
        return False
    await show(query, screen)
    return True


async def level_screen(
    uow: UnitOfWorkFactory,
    clock: Clock,
    user: User,
    account_id: int,
    level: str,
    parent: str | None,
    period: Period,
    custom: DateRange | None,
    page: int = 0,
) -> Screen | None:
    """One drill-down level of an account for a period; None if the account is not the user's
    (or no longer tracked)."""
    data = await breakdown(uow, clock, user.id, account_id, level, parent, period, custom, page)
    return None if data is None else view.breakdown(data, period, user.time_zone, clock.now())


async def _parent_of(ctx: _Ctx, account_id: int, level: str,
                     parent: str | None) -> tuple[str | None, str | None]:
    """Where "Back" leads from a level: the level above and its own parent."""
    if level == "adgroup":
        return "campaign", None
    if level == "ad" and parent is not None:
        async with ctx.uow() as u:
            if await u.connections.account(ctx.user.id, account_id) is None:
                return None, None
            group = await u.stats.object(account_id, "adgroup", parent)
        return ("adgroup", group.campaign_id) if group else ("campaign", None)
    return None, None


async def _send_charts(cb: StatsCb, ctx: _Ctx) -> bool:
    data = await chart_data(ctx.uow, ctx.clock, ctx.user.id, cb.a, ctx.period, ctx.custom)
    if data is None:
        return False
    labels = view.chart_labels(data.account, ctx.period)
    hourly_labels = replace(labels, subtitle=_("Today by hour, cumulative"))
    async with ChatActionSender.upload_photo(bot=ctx.bot, chat_id=ctx.user.id):
        images = await asyncio.gather(
            ctx.charts.render(daily_performance, data.daily, labels),
            ctx.charts.render(hourly_today_vs_yesterday, data.today, data.yesterday,
                              hourly_labels),
            ctx.charts.render(top_campaigns, data.top, labels),
        )
    ratio = labels.roas if data.daily.ratio.value == "roas" else labels.cpa
    captions = (
        _("Spend, conversions and {ratio} by day").format(ratio=ratio),
        _("Spend today by hour against yesterday"),
        _("Top campaigns by spend"),
    )
    for png, name, caption in zip(images, ("daily", "today", "top"), captions, strict=True):
        await ctx.bot.send_photo(ctx.user.id, BufferedInputFile(png, f"{name}.png"),
                                 caption=caption)
    if data.profit is not None:  # only where the tracker has numbers for this period
        async with ChatActionSender.upload_photo(bot=ctx.bot, chat_id=ctx.user.id):
            png = await ctx.charts.render(daily_profit, data.profit, labels)
        await ctx.bot.send_photo(ctx.user.id, BufferedInputFile(png, "profit.png"),
                                 caption=_("Profit by day: tracker revenue minus TikTok spend"))
    return True


async def _send_csv(cb: StatsCb, ctx: _Ctx) -> bool:
    level = view.CODE_LEVEL.get(cb.l)
    if level is None:
        return False
    found = await export_rows(ctx.uow, ctx.clock, ctx.user.id, cb.a, level, cb.o or None,
                              ctx.period, ctx.custom)
    if found is None:
        return False
    head, rows = found
    data = csv_table(rows, view.csv_header())
    name = f"ttpulse_{head.advertiser_id}_{level}_{head.days.start}_{head.days.end}.csv"
    caption = _("{level} · {period}: {count} rows").format(
        level=view.level_name(level), period=view.period_name(ctx.period), count=len(rows))
    await ctx.bot.send_document(ctx.user.id, BufferedInputFile(data, name), caption=caption)
    return True


async def _refresh(cb: StatsCb, ctx: _Ctx) -> bool:
    if ctx.tiktok is None:
        return False
    async with ctx.uow() as u:
        account = await u.connections.account(ctx.user.id, cb.a)
        conn = (await u.connections.connection(ctx.user.id, account.connection_id)
                if account is not None else None)
    if account is None or conn is None:
        return False
    if conn.status != "active":  # TikTok refused its token: nothing syncs until a reconnect
        await ctx.bot.send_message(ctx.user.id, view.refreshed(account.name, False, False, "token"))
        return True
    message = await ctx.bot.send_message(ctx.user.id, view.progress(account.name, 0, 1))
    last = {"t": time.monotonic(), "text": message.text or ""}

    async def progress(done: int, total: int) -> None:
        # One edit per second at most (design.md, Long work; Telegram's per-chat pace).
        text = view.progress(account.name, done, total)
        if time.monotonic() - last["t"] >= 1.0 and text != last["text"]:
            last.update(t=time.monotonic(), text=text)
            await edit(message.edit_text(text))

    outcomes = await refresh_now(ctx.uow, ctx.clock, ctx.tiktok, ctx.worker, account.id,
                                 progress, ctx.cadence)
    failed = next((o.reason for o in outcomes if not o.ok), None)
    final = view.refreshed(account.name, all(o.ok for o in outcomes), not outcomes, failed)
    if final != last["text"]:
        await edit(message.edit_text(final))
    return True


@router.message(StatsStates.custom_range, TYPED)
async def typed_range(
    message: Message, state: FSMContext, db_user: User | None, uow: UnitOfWorkFactory, clock: Clock
) -> None:
    """A typed custom range, then the stats for it."""
    if db_user is None:
        await state.clear()
        await message.answer(sign_up_first())
        return
    today = local_today(clock.now(), db_user.time_zone)
    try:
        custom = parse_custom(message.text or "", today)
    except PeriodError as exc:
        await message.answer(view.bad_range(exc.code))
        return
    await state.set_state(None)
    await state.update_data(**{CUSTOM_KEY: f"{custom.start}..{custom.end}"})
    # Back where "Custom range" was pressed: the same drill-down level, now for the range.
    screen = None
    if back := await state.get_value(RETURN_KEY):
        cb = StatsCb.unpack(back)
        level = view.CODE_LEVEL.get(cb.l)
        if level is not None:
            screen = await level_screen(
                uow, clock, db_user, cb.a, level, cb.o or None, Period.CUSTOM, custom
            )
    if screen is None:
        screen = await summary_screen(uow, clock, db_user, Period.CUSTOM, custom)
    await show(message, screen)
