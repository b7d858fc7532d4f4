"""What a rule would do, shown before it is saved: the preview of what matches now and the
backtest over stored hours."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import html
from aiogram.filters.callback_data import CallbackData
from aiogram.utils.i18n import gettext as _

from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import blocked_reason, skipped_line, tick_mark
from bot.views.rules import (
    current_locale,
    local_time,
    reading_text,
    triggered_by,
)
from core.money import money, number
from core.rules.backtest import Backtest
from core.rules.engine import Evaluation


def preview(ev: Evaluation, currency_of: dict[int, str], user_tz: str) -> str:
    """Which objects match right now."""
    lines = [
        _("<b>🔎 Preview</b> — nothing is changed"),
        _("Matches now: {n} of {checked} checked").format(n=len(ev.matched), checked=ev.checked),
    ]
    if ev.data_as_of is not None:
        lines.append(_("Data as of {when}").format(when=local_time(ev.data_as_of, user_tz)))
    if ev.no_bid:
        lines.append(
            _(
                "{n} of them have no bid of their own (automatic bidding): a condition on the "
                "bid never holds for them."
            ).format(n=ev.no_bid)
        )
    for sa in ev.stale:
        if sa.account.id in ev.tracker_stale:
            pulled = ev.tracker_stale[sa.account.id]
            lines.append(
                _("⚠️ {name}: tracker data too old (last pulled {when}), would be skipped").format(
                    name=html.quote(sa.account.name), when=local_time(pulled, user_tz)
                )
                if pulled is not None
                else _("⚠️ {name}: the tracker has not pulled yet, would be skipped").format(
                    name=html.quote(sa.account.name)
                )
            )
            continue
        lines.append(
            _("⚠️ {name}: data too old, would be skipped").format(name=html.quote(sa.account.name))
        )
    for hit in ev.hits[:15]:
        cur = currency_of.get(hit.target.account_id, "USD")
        read = ", ".join(
            reading_text(r.metric, r.window.span, r.window.include_today, r.value, cur, r.word)
            for r in hit.readings
        )
        lines.append(f"• {html.quote(hit.name)} — {read}")
        if hit.triggers:
            lines.append("   " + triggered_by(list(hit.triggers[:5]), len(hit.triggers)))
    if len(ev.hits) > 15:
        lines.append(_("…and {n} more").format(n=len(ev.hits) - 15))
    skipped = skipped_line(ev.skipped_counts())
    if skipped:
        lines += ["", skipped]
        lines += [
            f"• {html.quote(skip.name)} — {blocked_reason(skip.reason)}" for skip in ev.skipped[:5]
        ]
    return "\n".join(lines)[:4000]


def backtest(
    bt: Backtest,
    days: int,
    user_tz: str,
    again: Callable[[str], CallbackData],
    back: CallbackData,
) -> Screen:
    """What the rule would have done over the last days, per currency."""
    loc = current_locale()
    lines = [
        _("<b>🧪 Backtest — last {n} days</b> (nothing is changed)").format(n=days),
        _(
            "Replayed {runs} runs over {objects} objects; hourly data for {hours} of {n} days."
        ).format(runs=bt.runs, objects=bt.objects, hours=bt.hourly_days, n=days),
    ]
    if bt.coarse_days:
        lines.append(
            _("{n} days had only daily totals and were checked once, at their end.").format(
                n=len(bt.coarse_days)
            )
        )
    if bt.empty_days:
        lines.append(_("{n} days had no data at all.").format(n=len(bt.empty_days)))
    if bt.tracker_days is not None:
        lines.append(
            _("Tracker data for {k} of {n} days (tracker days are spread by hourly spend).").format(
                k=bt.tracker_days, n=days
            )
        )
    if bt.bids_assumed and bt.bids_known_from is None:
        lines.append(_("No bid history is recorded yet: every run read today's bids."))
    elif bt.bids_assumed:
        lines.append(
            _(
                "Bids are recorded since {when}; runs before that read the earliest recorded bid."
            ).format(when=local_time(bt.bids_known_from, user_tz))
        )
    lines += [
        "",
        _("Would have fired {n} times on {m} objects.").format(
            n=bt.firing_count, m=len(bt.per_object)
        ),
    ]
    for currency, totals in bt.saved.items():
        lines.append(
            _(
                "Saved spend: {spend} (it brought {conv} conversions, {value} purchase value)"
            ).format(
                spend=money(totals.spend, currency, loc),
                conv=number(totals.conversions, loc),
                value=money(totals.purchase_value, currency, loc),
            )
        )
    for currency, delta in bt.budget_change.items():
        sign = "+" if delta >= 0 else "−"
        lines.append(
            _("Daily budgets changed by {amount}").format(
                amount=sign + money(abs(delta), currency, loc)
            )
        )
    skipped = skipped_line(bt.skipped)
    if skipped:
        lines.append(skipped)
    if bt.per_object:
        lines += ["", _("Most often:")]
        lines += [f"• {html.quote(o.name)} ×{o.count}" for o in bt.per_object[:5]]
    if bt.firings:
        lines += ["", _("Latest:")]
        for f in bt.firings[:5]:
            read = ", ".join(
                reading_text(
                    r.metric, r.window.span, r.window.include_today, r.value, f.currency, r.word
                )
                for r in f.readings
            )
            lines.append(f"• {local_time(f.at, user_tz)} {html.quote(f.name)} — {read}")
    kb = InlineKeyboardBuilder()
    for n in ("7", "14", "30"):
        kb.button(
            text=tick_mark(n == str(days)) + _("{n} days").format(n=n), callback_data=again(n)
        )
    kb.button(text=_("« Back"), callback_data=back)
    kb.adjust(3, 1)
    return "\n".join(lines)[:4000], kb.as_markup()
