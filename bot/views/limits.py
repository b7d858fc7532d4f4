"""Plan limits in words: the message where a limit bites (which limit, the use now, what the plan
allows, and an "⭐ Upgrade" button), the "paused by plan" mark on what a lower plan paused, and
the cadence a plan runs a faster rule at. Counts are real plurals (ngettext: Russian has three
forms)."""

from __future__ import annotations

from aiogram import html
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.callbacks import BillingCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from core.billing.limits import (
    AD_ACCOUNTS,
    ADS_PER_LAUNCH,
    LAUNCHES,
    RULE_EVERY,
    RULES_ON,
    TRACKERS,
    LimitHit,
    allowance,
)
from core.billing.plans import Plan


def amount(limit: str, n: int) -> str:
    """How much of a limit, as a counted phrase: "3 rules", "1 ad account"."""
    if limit == AD_ACCOUNTS:
        return ngettext("{n} ad account", "{n} ad accounts", n).format(n=n)
    if limit == RULES_ON:
        return ngettext("{n} rule", "{n} rules", n).format(n=n)
    if limit == LAUNCHES:
        return ngettext("{n} bulk launch", "{n} bulk launches", n).format(n=n)
    if limit == ADS_PER_LAUNCH:
        return ngettext("{n} ad", "{n} ads", n).format(n=n)
    if limit == TRACKERS:
        return ngettext("{n} tracker", "{n} trackers", n).format(n=n)
    return _("every {n} min").format(n=n)


def explain(hit: LimitHit) -> str:
    """Which limit, the use now, what the plan allows, and the way out."""
    plan = html.quote(hit.plan.name)
    allows = amount(hit.limit, hit.allowed)
    if hit.limit == AD_ACCOUNTS:
        return _(
            "⛔ <b>Ad account limit reached</b>\n{plan} lets you track {allows}; you track "
            "{used} now.\nStop tracking one, or upgrade to track more."
        ).format(plan=plan, allows=allows, used=hit.used)
    if hit.limit == RULES_ON:
        return _(
            "⛔ <b>Rules switched on: limit reached</b>\n{plan} lets you keep {allows} switched "
            "on; switched on now: {used}.\nSwitch one off, or upgrade to run more."
        ).format(plan=plan, allows=allows, used=hit.used)
    if hit.limit == RULE_EVERY:
        return _(
            "⛔ <b>Rule cadence</b>\n{plan} runs a rule at most every {allowed} min; you chose "
            "every {used} min.\nPick a slower schedule, or upgrade to run rules more often."
        ).format(plan=plan, allowed=hit.allowed, used=hit.used)
    if hit.limit == LAUNCHES:
        return _(
            "⛔ <b>Bulk launches this month: limit reached</b>\n{plan} allows {allows} a month; "
            "you started {used} this month.\nThe count starts again on the 1st, or upgrade for "
            "more. Nothing was sent to TikTok."
        ).format(plan=plan, allows=allows, used=hit.used)
    if hit.limit == ADS_PER_LAUNCH:
        return _(
            "⛔ <b>Too many ads in one launch</b>\n{plan} allows {allows} per launch; this one "
            "would create {used}.\nChoose fewer ad accounts or creatives, or upgrade. Nothing "
            "was sent to TikTok."
        ).format(plan=plan, allows=allows, used=hit.used)
    return _(
        "⛔ <b>Tracker limit reached</b>\n{plan} lets you connect {allows}; connected now: "
        "{used}.\nDisconnect one, or upgrade to connect more."
    ).format(plan=plan, allows=allows, used=hit.used)


def upgrade_button(kb: InlineKeyboardBuilder) -> None:
    """The "⭐ Upgrade" button: the plans and what each allows (the billing screen)."""
    kb.button(text=_("⭐ Upgrade"), callback_data=BillingCb(action="plans"))


def upgrade_kb(back: CallbackData | None = None) -> InlineKeyboardMarkup:
    """⭐ Upgrade, and « Back to where the user was."""
    kb = InlineKeyboardBuilder()
    upgrade_button(kb)
    if back is not None:
        kb.button(text=_("« Back"), callback_data=back)
    kb.adjust(1)
    return kb.as_markup()


def reached(hit: LimitHit, back: CallbackData | None = None) -> Screen:
    """The limit message with ⭐ Upgrade (and « Back)."""
    return explain(hit), upgrade_kb(back)


def paused_mark(plan: Plan, limit: str) -> str:
    """On an item a lower plan paused: "⏸ paused by plan (Free allows 3 rules)"."""
    allowed = allowance(plan, limit)
    if allowed is None:
        return _("⏸ paused by plan")
    return _("⏸ paused by plan ({plan} allows {allows})").format(
        plan=html.quote(plan.name), allows=amount(limit, allowed)
    )


def cadence_note(plan: Plan) -> str:
    """On a rule set to run faster than the plan allows."""
    return _("⏱ runs every {n} min on {plan}").format(
        n=plan.limits.rule_every_minutes, plan=html.quote(plan.name)
    )


def left_untracked(names: list[str], hit: LimitHit) -> str:
    """After a connection that brought more ad accounts than the plan tracks."""
    shown = ", ".join(f"«{html.quote(n)}»" for n in names[:20])
    if len(names) > 20:
        shown += " " + _("…and {count} more").format(count=len(names) - 20)
    return _(
        "⏸ Not tracked: {names}.\n{plan} lets you track {allows} and you track {used}. They "
        "are kept, paused by the plan, and tracked as soon as your plan allows."
    ).format(names=shown, plan=html.quote(hit.plan.name), allows=amount(AD_ACCOUNTS, hit.allowed),
             used=hit.used)
