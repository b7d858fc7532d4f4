"""The rule being built: the draft's summary and its scope, schedule and modes screens."""

from __future__ import annotations

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.callbacks import BuildCb, DraftCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import tick_mark
from bot.views.rules import conflict_warning, mode_name, settings_lines, weekday_name
from core.rules.settings import EVERY_MINUTES, RuleSettings
from storage.models import AdAccount, Rule

FRESHNESS = (30, 60, 90, 180, 360)
APPROVAL = (30, 60, 120, 360)
FREQUENCIES = {"1/24": (1, 24), "1/48": (1, 48), "1/168": (1, 168), "1/0": (1, None)}


def draft(
    text: str,
    settings: RuleSettings,
    name: str,
    accounts: list[AdAccount],
    user_tz: str,
    conflicts: list[Rule],
    editing: bool,
) -> Screen:
    """The rule being built: everything it will do, and where to change it."""
    head = (
        _("<b>✏️ Editing «{name}»</b>").format(name=html.quote(name))
        if editing
        else _("<b>✏️ New rule</b>")
    )
    lines = [
        head,
        f"<code>{html.quote(text)}</code>",
        _("<i>Amounts are in each ad account's own currency.</i>"),
        "",
        *settings_lines(settings, accounts, user_tz),
    ]
    if name:
        lines.insert(1, _("Name: {name}").format(name=html.quote(name)))
    if conflicts:
        lines += ["", conflict_warning(conflicts)]
    kb = InlineKeyboardBuilder()
    kb.button(text=_("⌨️ Retype"), callback_data=DraftCb(a="retype"))
    kb.button(text=_("🧱 Rebuild"), callback_data=BuildCb(a="start"))
    kb.button(text=_("🎯 Scope"), callback_data=DraftCb(a="scope"))
    kb.button(text=_("⏰ Schedule & limit"), callback_data=DraftCb(a="sched"))
    kb.button(text=_("🛡 Modes"), callback_data=DraftCb(a="modes"))
    kb.button(text=_("🏷 Name"), callback_data=DraftCb(a="name"))
    kb.button(text=_("🔎 Preview"), callback_data=DraftCb(a="prev"))
    kb.button(text=_("🧪 Backtest"), callback_data=DraftCb(a="bt", v="7"))
    kb.button(text=_("💾 Save"), callback_data=DraftCb(a="save"))
    kb.button(text=_("✅ Save and switch on"), callback_data=DraftCb(a="save_on"))
    kb.button(text=_("✖ Discard"), callback_data=DraftCb(a="cancel"))
    kb.adjust(2, 2, 2, 2, 2, 1)
    return "\n".join(lines)[:4000], kb.as_markup()


def scope_screen(settings: RuleSettings, accounts: list[AdAccount]) -> Screen:
    """Pick accounts, the object filter and how objects are evaluated."""
    sc = settings.scope
    kb = InlineKeyboardBuilder()
    kb.button(
        text=tick_mark(sc.accounts is None) + _("All tracked accounts"),
        callback_data=DraftCb(a="acc_all"),
    )
    for acc in accounts[:20]:
        chosen = sc.accounts is not None and acc.id in sc.accounts
        kb.button(
            text=tick_mark(chosen) + acc.name[:40], callback_data=DraftCb(a="acc", v=str(acc.id))
        )
    matches = {
        "all": _("All objects"),
        "contains": _("Name contains…"),
        "starts": _("Name starts with…"),
        "pattern": _("Name matches pattern…"),
        "ids": _("Object ids…"),
    }
    for key, label in matches.items():
        kb.button(text=tick_mark(sc.match == key) + label, callback_data=DraftCb(a="match", v=key))
    kb.button(
        text=tick_mark(settings.aggregate == "each") + _("Each object on its own"),
        callback_data=DraftCb(a="agg", v="each"),
    )
    kb.button(
        text=tick_mark(settings.aggregate == "sum") + _("Sum over the account"),
        callback_data=DraftCb(a="agg", v="sum"),
    )
    kb.button(text=_("« Draft"), callback_data=DraftCb(a="show"))
    kb.adjust(1, *([1] * min(len(accounts), 20)), 1, 2, 2, 2, 1)
    return _(
        "<b>🎯 Scope</b>\n\nWhich accounts and objects the rule looks at. New objects "
        "that fit join by themselves."
    ), kb.as_markup()


def ask_values(match: str) -> str:
    """What to type for a name filter."""
    if match == "ids":
        return _("Send the object ids, separated by commas or spaces. /cancel to stop.")
    if match == "pattern":
        return _("Send a regular expression, e.g. <code>^US_.*_v2$</code>. /cancel to stop.")
    return _("Send one or more words, separated by commas. /cancel to stop.")


def schedule_screen(settings: RuleSettings) -> Screen:
    """How often the rule runs and how often it may act on one object."""
    s, f = settings.schedule, settings.frequency
    kb = InlineKeyboardBuilder()
    for n in EVERY_MINUTES:
        kb.button(
            text=tick_mark(s.every_minutes == n) + _("every {n} min").format(n=n),
            callback_data=DraftCb(a="every", v=str(n)),
        )
    kb.button(
        text=tick_mark(s.every_minutes is None) + _("At set times…"),
        callback_data=DraftCb(a="times"),
    )
    for d in range(7):
        kb.button(
            text=tick_mark(d in s.weekdays) + weekday_name(d),
            callback_data=DraftCb(a="wd", v=str(d)),
        )
    labels = {
        "1/24": _("once per 24 h"),
        "1/48": _("once per 48 h"),
        "1/168": _("once per week"),
        "1/0": _("once, ever"),
    }
    for key, (times, hours) in FREQUENCIES.items():
        kb.button(
            text=tick_mark((f.times, f.hours) == (times, hours)) + labels[key],
            callback_data=DraftCb(a="freq", v=key),
        )
    kb.button(text=_("N times per M hours…"), callback_data=DraftCb(a="freq_n"))
    kb.button(text=_("« Draft"), callback_data=DraftCb(a="show"))
    kb.adjust(3, 1, 4, 3, 2, 2, 1, 1)
    return _(
        "<b>⏰ Schedule &amp; limit</b>\n\nWhen the rule runs (on the ticked weekdays, in "
        "your time zone) and how often it may act on the same object."
    ), kb.as_markup()


def ask_times() -> str:
    """How to type times of day."""
    return _(
        "Send times of day in your time zone, e.g. <code>09:00, 18:30</code>. /cancel to stop."
    )


def ask_frequency() -> str:
    """How to type a frequency limit."""
    return _(
        "Send the limit as <code>N per M</code> hours, e.g. <code>2 per 12</code>. /cancel to stop."
    )


def modes_screen(settings: RuleSettings) -> Screen:
    """Per risk: act, ask or alert; data freshness tolerance; approval expiry."""
    kb = InlineKeyboardBuilder()
    for mode in ("auto", "approve", "alert"):
        kb.button(
            text=tick_mark(settings.safe_mode == mode) + mode_name(mode),
            callback_data=DraftCb(a="safe", v=mode),
        )
    for mode in ("auto", "approve", "alert"):
        kb.button(
            text=tick_mark(settings.risky_mode == mode) + mode_name(mode),
            callback_data=DraftCb(a="risky", v=mode),
        )
    for n in FRESHNESS:
        kb.button(
            text=tick_mark(settings.freshness_minutes == n) + _("{n} min").format(n=n),
            callback_data=DraftCb(a="fresh", v=str(n)),
        )
    for n in APPROVAL:
        kb.button(
            text=tick_mark(settings.approval_minutes == n) + _("{n} min").format(n=n),
            callback_data=DraftCb(a="appr", v=str(n)),
        )
    kb.button(text=_("« Draft"), callback_data=DraftCb(a="show"))
    kb.adjust(3, 3, 5, 4, 1)
    return _(
        "<b>🛡 Modes</b>\n\nRow 1 — pauses and cuts: act, ask me, or alert only.\n"
        "Row 2 — switching on and raises.\nRow 3 — skip a run when the data is older "
        "than…\nRow 4 — an approval expires after…"
    ), kb.as_markup()


def ask_name() -> str:
    """How to name a rule."""
    return _("Send a name for the rule (up to 64 characters). /cancel to stop.")
