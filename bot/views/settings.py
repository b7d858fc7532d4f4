"""Settings screens."""

from __future__ import annotations

from datetime import datetime

from aiogram import html
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import MenuCb, SettingsCb
from bot.views import Screen
from bot.views.common import LANGUAGE_NAMES, add_zone_buttons, yes_no, zone_label
from storage.models import User


def overview(user: User, now: datetime) -> Screen:
    """Current settings with a button per setting."""
    text = "\n".join(
        [
            _("<b>Settings</b>"),
            "",
            _("Language: {value}").format(value=LANGUAGE_NAMES.get(user.language, user.language)),
            _("Time zone: {value}").format(value=zone_label(user.time_zone, now)),
            _("Email: {value}").format(value=html.quote(user.email) if user.email else "—"),
            _("News and offers: {value}").format(value=yes_no(user.marketing_opt_in)),
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
    kb.button(text=_("« Main menu"), callback_data=MenuCb(section="home"))
    kb.adjust(2, 2, 1, 1)
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


def alerts_placeholder() -> Screen:
    """Alert preferences arrive with automation rules."""
    return _(
        "<b>Alerts</b>\n\nAlert preferences arrive together with automation rules in a "
        "next release. Nothing to set here yet."
    ), _back().as_markup()


def saved() -> str:
    """A short confirmation shown as a callback answer."""
    return _("Saved ✓")
