"""The button builder's screens: level → metric → comparison → value or status → window →
more conditions or the action (the options themselves live in core.rules.builder)."""

from __future__ import annotations

from aiogram import html
from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _

from bot.callbacks import BuildCb, RulesCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.rules import action_name, level_name, metric_name, span_name, status_name
from core.rules import builder
from core.rules.model import STATUSES, TRACKER_METRICS, Level, Window

# How the comparisons read on a button (the rule's text keeps its ASCII form).
OP_LABELS = {"!=": "≠"}


def op_label(op: str) -> str:
    """A comparison as a button shows it."""
    return _("between") if op == "between" else OP_LABELS.get(op, op)


def build_level() -> Screen:
    """Builder step 1: what the rule looks at."""
    kb = InlineKeyboardBuilder()
    for level in builder.LEVELS:
        kb.button(
            text=level_name(level.value).capitalize(), callback_data=BuildCb(a="lvl", v=level)
        )
    kb.button(text=_("✖ Cancel"), callback_data=RulesCb(a="list"))
    kb.adjust(3, 1)
    return _("<b>🧱 New rule</b>\n\nWhat should the rule look at?"), kb.as_markup()


def build_metric(sofar: str, level: str, group: str = "") -> Screen:
    """Builder: pick a metric (or the status) for the next condition; the tracker's metrics
    are a group of their own behind one button (`group="tracker"` shows them)."""
    kb = InlineKeyboardBuilder()
    tracker = group == "tracker"
    for m in builder.metrics(Level(level)):
        if (m in TRACKER_METRICS) != tracker:
            continue
        label = _("status") if m == "status" else metric_name(m)
        kb.button(text=label, callback_data=BuildCb(a="met", v=m))
    kb.adjust(3)
    if tracker:
        back = BuildCb(a="grp", v="").pack()
        kb.row(InlineKeyboardButton(text=_("« TikTok metrics"), callback_data=back))
        text = _(
            "<b>🧱 Condition</b>\n{sofar}\n\nWhich tracker metric? They come from your "
            "affiliate tracker (approved revenue, in the ad account's currency); ads the "
            "tracker has no data for are skipped, never counted as zero revenue."
        ).format(sofar=sofar)
        return text, kb.as_markup()
    group = BuildCb(a="grp", v="tracker").pack()
    kb.row(InlineKeyboardButton(text=_("🎯 Tracker: revenue, profit, ROI…"), callback_data=group))
    return _("<b>🧱 Condition</b>\n{sofar}\n\nWhich metric?").format(sofar=sofar), kb.as_markup()


def build_op(sofar: str, metric: str) -> Screen:
    """Builder: pick a comparison (a status is equal or not)."""
    kb = InlineKeyboardBuilder()
    ops = builder.STATUS_OPS if metric == "status" else builder.OPS
    for op in ops:
        kb.button(text=op_label(op.value), callback_data=BuildCb(a="op", v=op.value))
    kb.adjust(6, 1)
    name = _("status") if metric == "status" else metric_name(metric)
    return _("<b>🧱 Condition</b>\n{sofar}\n\n{metric} is…").format(
        sofar=sofar, metric=name
    ), kb.as_markup()


def build_status(sofar: str, op: str) -> Screen:
    """Builder: which status (as it is now)."""
    kb = InlineKeyboardBuilder()
    for word in STATUSES:
        kb.button(text=status_name(word), callback_data=BuildCb(a="word", v=word))
    kb.adjust(2)
    return _("<b>🧱 Condition</b>\n{sofar}\n\nStatus {op}…").format(
        sofar=sofar, op=op_label(op)
    ), kb.as_markup()


def ask_cond_value(metric: str, op: str) -> str:
    """Builder: type the threshold (two of them for between)."""
    if op == "between":
        return _(
            "Send the two bounds for <b>{metric} between</b>, joined by <code>and</code>: "
            "<code>10 and 20</code>, or with metrics, <code>1 x target and 2 x target</code>. "
            "/cancel to stop."
        ).format(metric=metric_name(metric))
    return _(
        "Send the value for <b>{metric} {op}</b>: a number (<code>20</code>), or a metric "
        "times a factor (<code>1.5 x cpa</code>, <code>1.5 x target</code> for the ad "
        "group's bid). /cancel to stop."
    ).format(metric=metric_name(metric), op=html.quote(op_label(op)))


def build_window(sofar: str, windows: tuple[Window, ...] = builder.WINDOWS) -> Screen:
    """Builder: pick the condition's window (of `windows`: builder.windows for the metric)."""
    kb = InlineKeyboardBuilder()
    for window in windows:
        kb.button(
            text=span_name(window.span, window.include_today),
            callback_data=BuildCb(a="win", v=builder.window_key(window)),
        )
    kb.adjust(3)
    return _("<b>🧱 Condition</b>\n{sofar}\n\nOver which time window?").format(
        sofar=sofar
    ), kb.as_markup()


def build_more(sofar: str) -> Screen:
    """Builder: another condition, or on to the action."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("➕ AND another condition"), callback_data=BuildCb(a="more", v="and"))
    kb.button(text=_("➕ OR another condition"), callback_data=BuildCb(a="more", v="or"))
    kb.button(text=_("➡️ Choose the action"), callback_data=BuildCb(a="done"))
    kb.adjust(1)
    return (
        _("<b>🧱 Conditions</b>\n{sofar}").format(sofar=sofar)
        + "\n\n"
        + _("<i>AND binds tighter than OR: a and b or c means (a and b) or c.</i>"),
        kb.as_markup(),
    )


def build_action(sofar: str, level: str) -> Screen:
    """Builder: what to do."""
    kb = InlineKeyboardBuilder()
    # A budget or bid may live one level up (an ad group under campaign budget optimisation):
    # "… of the campaign" changes the parent's, once for all its matched children.
    for kind, on in builder.targets(Level(level)):
        text = action_name(kind.value)
        if on:
            text = _("{what} of the {level}").format(what=text, level=level_name(on))
        kb.button(
            text=text, callback_data=BuildCb(a="act", v=kind.value + (f"@{on}" if on else ""))
        )
    kb.adjust(2)
    return _("<b>🧱 Action</b>\n{sofar}\n\nWhat should happen to a match?").format(
        sofar=sofar
    ), kb.as_markup()


def ask_action_value(kind: str) -> str:
    """Builder: type the change."""
    return _(
        "How should the {what} change? Send <code>= 100</code> to set it, <code>+20%</code> "
        "or <code>-10%</code> by percent, <code>+5</code> by an amount; add <code>min 10"
        "</code> or <code>max 500</code> for bounds. /cancel to stop."
    ).format(what=metric_name("budget") if kind == "budget" else _("bid"))
