"""The 🚀 Launch hub: the main menu's Launch section, one button per row."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.utils.i18n import gettext as _

from bot.callbacks import LaunchCb, MenuCb, TemplatesCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen

HubRow = tuple[str, CallbackData]


def hub_rows() -> list[HubRow]:
    """The hub's buttons, in order (label, payload); each launch feature adds its row here."""
    return [
        (_("🚀 New launch"), LaunchCb(a="new")),
        (_("📋 Templates"), TemplatesCb(a="list")),
        (_("🕘 Launch history"), LaunchCb(a="hist")),
    ]


def hub() -> Screen:
    """What the Launch section offers."""
    text = _(
        "<b>🚀 Launch</b>\n\nLaunch campaigns in bulk. A template says what to create — the "
        "campaign, one ad group per geo, the ads and their names — and a launch creates it in "
        "the ad accounts and with the creatives you choose."
    )
    kb = InlineKeyboardBuilder()
    for label, payload in hub_rows():
        kb.button(text=label, callback_data=payload)
    kb.button(text=_("« Main menu"), callback_data=MenuCb(section="home"))
    kb.adjust(1)
    return text, kb.as_markup()
