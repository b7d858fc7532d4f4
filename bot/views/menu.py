"""Main menu and section screens."""

from __future__ import annotations

from functools import cache

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.callbacks import MenuCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen

SECTIONS = {
    "accounts": __("📊 Accounts"),
    "stats": __("📈 Stats"),
    "launch": __("🚀 Launch"),
    "creatives": __("🎞 Creatives"),
    "rules": __("🤖 Rules"),
    "integrations": __("🔗 Integrations"),
    "billing": __("⭐ Billing"),
    "settings": __("⚙️ Settings"),
    "help": __("❓ Help"),
}
# Sections whose features have not been built yet say so plainly instead of doing nothing.
NOT_BUILT: tuple[str, ...] = ()


def main_menu(greeting_name: str | None = None, paused: bool = False) -> Screen:
    """The main menu; with a name, the welcome after sign-up; a banner while paused."""
    head = ""
    if greeting_name is not None:
        head = _("✅ You're all set, {name}!").format(name=html.quote(greeting_name)) + "\n\n"
    if paused:
        head += _(
            "⏸ <b>Your account is paused</b>: no syncs, rules or alerts. Resume in /settings."
        ) + "\n\n"
    text = head + _("<b>TTPulse</b> — main menu. Choose a section:")
    return text, _sections_keyboard(get_i18n().current_locale)


@cache
def _sections_keyboard(locale: str) -> InlineKeyboardMarkup:
    """The sections' buttons in one language, built once: the same for everyone, and a markup
    cannot change (aiogram's types are frozen). Building them took a fifth of a menu press's
    CPU (bench/README.md, "Updates, fourth pass")."""
    kb = InlineKeyboardBuilder()
    for key, label in SECTIONS.items():
        kb.button(text=str(label), callback_data=MenuCb(section=key))
    kb.adjust(2)
    return kb.as_markup()


def back_to_menu_kb() -> InlineKeyboardBuilder:
    """A keyboard holding only "« Main menu"."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("« Main menu"), callback_data=MenuCb(section="home"))
    return kb


def not_built(section: str) -> Screen:
    """A section that later releases fill."""
    text = _(
        "<b>{section}</b>\n\nThis section is not built yet — it is coming in a next "
        "release. Everything else in the menu works."
    ).format(section=str(SECTIONS[section]))
    return text, back_to_menu_kb().as_markup()
