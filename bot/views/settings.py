"""Settings screens."""

from __future__ import annotations

from datetime import datetime

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.callbacks import MenuCb, PrivacyCb, SettingsCb, WebSigninCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import LANGUAGE_NAMES, add_zone_buttons, local_when, yes_no, zone_label
from storage.models import User


def overview(user: User, now: datetime) -> Screen:
    """Current settings with a button per setting."""
    head = [_("⏸ Your account is paused since {date}: no syncs, rules or alerts.").format(
        date=local_when(user.paused_at, user.time_zone)), ""] if user.paused_at is not None else []
    text = "\n".join(
        [
            *head,
            _("<b>Settings</b>"),
            "",
            _("Language: {value}").format(value=LANGUAGE_NAMES.get(user.language, user.language)),
            _("Time zone: {value}").format(value=zone_label(user.time_zone, now)),
            _("Email: {value}").format(value=html.quote(user.email) if user.email else "—"),
            _("News and offers: {value}").format(value=yes_no(user.marketing_opt_in)),
            _("Quiet hours: {value}").format(value=quiet_label(user)),
        ]
    )
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🌐 Language"), callback_data=SettingsCb(action="lang"))
    kb.button(text=_("🕒 Time zone"), callback_data=SettingsCb(action="tz"))
    kb.button(text=_("✉️ Email"), callback_data=SettingsCb(action="email"))
    kb.button(
        text=_("📣 News: {value}").format(value=yes_no(user.marketing_opt_in)),
        callback_data=SettingsCb(action="mkt", value="off" if user.marketing_opt_in else "on"),
    )
    kb.button(text=_("🔔 Alerts"), callback_data=SettingsCb(action="alerts"))
    kb.button(text=_("🧩 Optional features"), callback_data=SettingsCb(action="features"))
    kb.button(text=_("🔑 Web sign-in"), callback_data=WebSigninCb(a="show"))
    if user.paused_at is None:
        kb.button(text=_("⏸ Pause my account"), callback_data=PrivacyCb(a="pause"))
    else:
        kb.button(text=_("▶ Resume"), callback_data=PrivacyCb(a="resume"))
    kb.button(text=_("🕒 Activity"), callback_data=PrivacyCb(a="activity"))
    kb.button(text=_("🔒 Privacy"), callback_data=PrivacyCb(a="page"))
    kb.button(text=_("« Main menu"), callback_data=MenuCb(section="home"))
    kb.adjust(2, 2, 2, 2, 2, 1)
    return text, kb.as_markup()


def _back() -> InlineKeyboardBuilder:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("« Back"), callback_data=SettingsCb(action="show"))
    return kb


def language_picker() -> Screen:
    """Choose the interface language."""
    kb = InlineKeyboardBuilder()
    for code, name in LANGUAGE_NAMES.items():
        kb.button(text=name, callback_data=SettingsCb(action="setlang", value=code))
    kb.button(text=_("« Back"), callback_data=SettingsCb(action="show"))
    kb.adjust(2, 1)
    return _("Choose the interface language:"), kb.as_markup()


def zone_picker(now: datetime) -> Screen:
    """Choose or type a time zone."""
    kb = InlineKeyboardBuilder()
    add_zone_buttons(kb, SettingsCb, now, action="settz")
    kb.button(text=_("« Back"), callback_data=SettingsCb(action="show"))
    kb.adjust(2)
    return _(
        "Pick your time zone, or type a city (e.g. <i>Berlin</i>) or an offset (e.g. <i>UTC+3</i>):"
    ), kb.as_markup()


def email_prompt(has_email: bool) -> Screen:
    """Ask for a new email address."""
    kb = InlineKeyboardBuilder()
    if has_email:
        kb.button(text=_("Remove my email"), callback_data=SettingsCb(action="rmemail"))
    kb.button(text=_("« Back"), callback_data=SettingsCb(action="show"))
    kb.adjust(1)
    return _("Send your email address:"), kb.as_markup()


QUIET: dict[str, tuple[int | None, int | None]] = {
    "off": (None, None),
    "22-8": (22, 8),
    "23-7": (23, 7),
    "0-8": (0, 8),
    "21-9": (21, 9),
}


def quiet_label(user: User) -> str:
    """`22:00–08:00` or off."""
    if user.quiet_from is None or user.quiet_to is None:
        return _("off")
    return f"{user.quiet_from:02d}:00–{user.quiet_to:02d}:00"


def alerts(user: User) -> Screen:
    """Quiet hours: when alerts that can wait, wait."""
    text = _(
        "<b>Alerts</b>\n\nQuiet hours: {value}\n\nDuring quiet hours (your time zone) alerts "
        "that can wait — changes already made, alert-only rules, digests, skipped runs — are "
        "held and arrive when the quiet hours end. Approval requests still arrive at once, "
        "because they expire."
    ).format(value=quiet_label(user))
    kb = InlineKeyboardBuilder()
    current = next((k for k, v in QUIET.items() if v == (user.quiet_from, user.quiet_to)), None)
    for key, (start, end) in QUIET.items():
        label = _("No quiet hours") if start is None else f"{start:02d}:00–{end:02d}:00"
        mark = "✅ " if key == current else ""
        kb.button(text=mark + label, callback_data=SettingsCb(action="quiet", value=key))
    kb.button(text=_("« Back"), callback_data=SettingsCb(action="show"))
    kb.adjust(1, 2, 2, 1)
    return text, kb.as_markup()


def saved() -> str:
    """A short confirmation shown as a callback answer."""
    return _("Saved ✓")
